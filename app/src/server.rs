//! Everything that touches the database. Compiled for the server only (`ssr`).

pub mod context;
pub mod db;
pub mod queries;
pub mod seed;

pub use context::{ServerContext, Viewer, Watermark};
pub use db::{ChangeBatch, ChangeRow, Db, InFlight, Wakeups};
