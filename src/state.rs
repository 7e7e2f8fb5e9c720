//! What every handler can reach.

use std::sync::Arc;

use app::server::{Db, ServerContext};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::config::Config;
use crate::realtime::{FeedHealth, Hub};

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub hub: Arc<Hub>,
    pub feed: FeedHealth,
    pub config: Arc<Config>,
    /// What server functions get: the same database, plus accounts and sign-outs.
    pub ctx: ServerContext,
    /// Requests per API token.
    pub api_limiter: Arc<governor::DefaultKeyedRateLimiter<i64>>,
    /// When each API token's use was last written.
    pub api_usage: Arc<app::server::tokens::Usage>,
    /// Breakage on purpose, for end-to-end tests (inert unless `--fault-injection`).
    pub faults: crate::faults::Faults,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
