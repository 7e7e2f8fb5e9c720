//! The livecart server: configuration, the axum host, the live feed.

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
