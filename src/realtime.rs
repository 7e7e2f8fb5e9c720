//! The live feed: change log -> Feed -> Hub -> /ws sockets; and presence
//! (who is looking), which never touches the log.

mod authz;
mod feed;
mod frame;
mod hub;
mod mapper;
mod presence;
mod ws;

pub use authz::may_subscribe;
pub use feed::{FeedHealth, GapRule, run_pruner, spawn_feed};
pub use frame::{Frame, Published};
pub use hub::{Hub, Signals};
pub use presence::{Presence, run_presence};
pub use ws::{origin_allowed, ws_handler};
