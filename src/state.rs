//! What every handler can reach.

use std::sync::Arc;

use app::server::{Db, ServerContext};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::config::Config;
use crate::realtime::{FeedHealth, Hub, Presence};

/// What every handler can reach: one allocation shared by all requests, so
/// the clones axum makes per request (one per middleware with state, one per
/// extractor) are one reference count each, not a dozen.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    /// Start shutting down: `/healthz` says so, and every socket (and any
    /// opened from now on) is told to reconnect elsewhere.
    pub fn start_drain(&self) {
        self.drain.start();
        self.hub.drain();
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub hub: Arc<Hub>,
    pub presence: Arc<Presence>,
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
    /// Set once the server is shutting down.
    pub drain: Drain,
}

/// Whether the server is draining, and a wake-up for everyone waiting on it.
#[derive(Debug, Clone, Default)]
pub struct Drain(Arc<tokio::sync::watch::Sender<bool>>);

impl Drain {
    pub fn start(&self) {
        self.0.send_replace(true);
    }

    pub fn is_draining(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the drain has started (at once if it has).
    pub async fn started(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|draining| *draining).await;
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
