//! The livecart server: configuration, the axum host, the live feed.

// Rendering the app here builds its whole view type; pages are erased to
// `AnyView` at their seams, and this leaves room for a fresh (non-incremental)
// build of the deepest one.
#![recursion_limit = "256"]

pub mod api;
pub mod assets;
pub mod cli;
pub mod config;
pub mod faults;
pub mod media;
pub mod metrics;
pub mod realtime;
pub mod security;
pub mod startup;
pub mod state;
pub mod telemetry;
