//! Small components shared by pages. Leaf components take props and never talk
//! to the server or the live feed.

mod announcer;
mod confirm;
#[cfg(feature = "hydrate")]
mod crash_notice;
mod error_template;
mod fragment;
mod layout;
mod local_time;
mod money;
mod status_badge;
mod stock_badge;

pub use announcer::{Announcer, AnnouncerRegion, announce_changes, stock_change};
pub use confirm::ConfirmButton;
#[cfg(feature = "hydrate")]
pub use crash_notice::show_crash_notice;
pub use error_template::{ErrorBox, NotFound};
pub use fragment::scroll_to_fragment;
pub use layout::{ConnectionBadge, Footer, Header};
pub use local_time::{LocalTime, utc_time};
pub use money::Price;
pub use status_badge::StatusBadge;
pub use stock_badge::StockBadge;
