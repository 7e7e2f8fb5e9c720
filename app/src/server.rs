//! Everything that touches the database. Compiled for the server only (`ssr`).

pub mod auth;
pub mod catalog_gen;
pub mod context;
pub mod db;
pub mod endpoints;
pub mod identities;
pub mod limiter;
pub mod passwords;
pub mod placeholder;
pub mod preload;
pub mod queries;
pub mod seed;
pub mod sessions;
pub mod staff;
pub mod tokens;

pub use context::{ServerContext, Viewer, Watermark};
pub use db::{ChangeBatch, Db, InFlight, PlaceOutcome, PoolSettings, UserRow, Wakeups};
