//! What server functions get from the host: the database and the feed's position.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use leptos::prelude::use_context;

use super::Db;
use super::auth::{Auth, SignInLimits};
use crate::error::AppError;
use crate::model::CustomerId;
use crate::protocol::Seq;

/// Who is asking: decides which topics and records they may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Anonymous,
    Customer(CustomerId),
    Staff(CustomerId),
}

/// The change-log position the feed has published through: every change with
/// `seq <= watermark` has been handed to the hub, and no change at or below it can
/// still commit. A snapshot read after loading the watermark holds all of them,
/// so `since = watermark` misses nothing.
#[derive(Debug, Clone, Default)]
pub struct Watermark(Arc<AtomicI64>);

impl Watermark {
    pub fn get(&self) -> Seq {
        Seq(self.0.load(Ordering::Acquire))
    }

    pub fn advance(&self, seq: Seq) {
        self.0.fetch_max(seq.0, Ordering::AcqRel);
    }
}

/// Provided to every server function and SSR render by the host.
#[derive(Debug, Clone)]
pub struct ServerContext {
    pub db: Db,
    pub watermark: Watermark,
    pub auth: Arc<Auth>,
}

impl ServerContext {
    pub fn new(db: Db, watermark: Watermark, limits: SignInLimits) -> anyhow::Result<Self> {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Self { db, watermark, auth: Arc::new(Auth::new(cores, limits)?) })
    }
}

/// The server context, or an internal error when a server function runs without it.
pub fn server_context() -> Result<ServerContext, AppError> {
    use_context::<ServerContext>().ok_or_else(|| {
        tracing::error!("ServerContext missing from the Leptos context");
        AppError::Internal
    })
}
