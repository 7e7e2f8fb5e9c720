//! Fault injection for end-to-end tests (`--fault-injection`, off by default):
//! a control endpoint that breaks the running server on purpose, so a test can
//! prove that browsers recover. Without the flag every hook here is a no-op
//! and `/_faults/*` does not exist (404).
//!
//! `POST /_faults/drop-sockets`           every open socket is cut, no close frame
//! `POST /_faults/pause-feed?ms=N`        the feed reads nothing for N ms
//! `POST /_faults/delay-frames?ms=N`      every frame sent waits N ms (0: off)
//! `POST /_faults/fail-next-checkout`     the next checkout is placed, then answered 503
//! `POST /_faults/fail-next-subscribe?topic=T`  the next subscribe to T fails, as when the database errs
//! `POST /_faults/drop-listen`            PostgreSQL: end the LISTEN connection
//! `POST /_faults/reset`                  back to normal
//!
//! Only loopback clients may call it (as `--trusted-proxies` resolves them).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use app::error::AppError;
use app::server::auth::ClientAddr;
use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use crate::state::AppState;

#[derive(Clone, Default)]
pub struct Faults(Option<Arc<Inner>>);

struct Inner {
    paused_until: std::sync::Mutex<Option<Instant>>,
    frame_delay_ms: AtomicU64,
    fail_checkouts: AtomicU32,
    /// Topics whose next subscribe is to fail, once each.
    fail_subscribes: std::sync::Mutex<Vec<app::protocol::Topic>>,
    drops: watch::Sender<u64>,
}

impl Faults {
    /// Armed (`--fault-injection`) or inert.
    pub fn new(enabled: bool) -> Self {
        if !enabled {
            return Self(None);
        }
        tracing::warn!("fault injection is ON: POST /_faults/* breaks this server on purpose; never use this in production");
        Self(Some(Arc::new(Inner {
            paused_until: std::sync::Mutex::new(None),
            frame_delay_ms: AtomicU64::new(0),
            fail_checkouts: AtomicU32::new(0),
            fail_subscribes: std::sync::Mutex::new(Vec::new()),
            drops: watch::channel(0).0,
        })))
    }

    pub fn is_enabled(&self) -> bool {
        self.0.is_some()
    }

    /// The feed waits here while paused.
    pub async fn feed_pause(&self) {
        let Some(inner) = &self.0 else { return };
        loop {
            let until = *inner.paused_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match until {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until.into()).await,
                _ => return,
            }
        }
    }

    /// A socket waits here before sending frames.
    pub async fn delay_frames(&self) {
        let Some(inner) = &self.0 else { return };
        let ms = inner.frame_delay_ms.load(Ordering::Relaxed);
        if ms > 0 {
            // Boxed: a timer inline would make every socket's task larger.
            Box::pin(tokio::time::sleep(Duration::from_millis(ms))).await;
        }
    }

    /// Yields each time every socket is to be cut (never when inert). Boxed:
    /// when inert it allocates nothing and takes a socket's task 16 bytes.
    pub fn socket_drops(&self) -> futures::stream::BoxStream<'static, ()> {
        use futures::StreamExt as _;
        let Some(inner) = &self.0 else { return futures::stream::pending().boxed() };
        futures::stream::unfold(inner.drops.subscribe(), |mut rx| async move {
            rx.changed().await.ok()?;
            Some(((), rx))
        })
        .boxed()
    }

    /// Whether this checkout's answer is to be replaced by a 503 (after it ran).
    fn take_checkout_failure(&self) -> bool {
        let Some(inner) = &self.0 else { return false };
        inner.fail_checkouts.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok()
    }

    /// Whether this subscribe to `topic` is to fail (once per time asked).
    pub fn take_subscribe_failure(&self, topic: &app::protocol::Topic) -> bool {
        let Some(inner) = &self.0 else { return false };
        let mut topics = inner.fail_subscribes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match topics.iter().position(|t| t == topic) {
            Some(at) => {
                topics.swap_remove(at);
                true
            }
            None => false,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Params {
    ms: Option<u64>,
    topic: Option<String>,
}

/// `POST /_faults/{action}`.
pub async fn control(
    State(state): State<AppState>,
    client: Option<axum::Extension<ClientAddr>>,
    Path(action): Path<String>,
    Query(params): Query<Params>,
) -> Response {
    let Some(inner) = &state.faults.0 else { return StatusCode::NOT_FOUND.into_response() };
    if !client.is_some_and(|c| c.0.0.is_loopback()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let ms = params.ms.unwrap_or(0).min(60_000);
    let done = match action.as_str() {
        "drop-sockets" => {
            inner.drops.send_modify(|n| *n += 1);
            json!({"dropped": state.hub.stats().0})
        }
        "pause-feed" => {
            *inner.paused_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some(Instant::now() + Duration::from_millis(ms));
            json!({"paused_ms": ms})
        }
        "delay-frames" => {
            inner.frame_delay_ms.store(ms, Ordering::Relaxed);
            json!({"delay_ms": ms})
        }
        "fail-next-checkout" => {
            inner.fail_checkouts.fetch_add(1, Ordering::AcqRel);
            json!({"fail_checkouts": inner.fail_checkouts.load(Ordering::Acquire)})
        }
        "fail-next-subscribe" => {
            let Some(topic) = params.topic.as_deref().and_then(|t| t.parse::<app::protocol::Topic>().ok()) else {
                return (StatusCode::BAD_REQUEST, Json(json!({"error": "name a topic: ?topic=product:1"}))).into_response();
            };
            let mut topics = inner.fail_subscribes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if topics.len() < 100 {
                topics.push(topic);
            }
            json!({"failing": topics.len()})
        }
        "drop-listen" => match state.db.drop_listen_connection().await {
            Ok(n) => json!({"ended": n}),
            Err(err) => return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": err.to_string()}))).into_response(),
        },
        "reset" => {
            *inner.paused_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
            inner.frame_delay_ms.store(0, Ordering::Relaxed);
            inner.fail_checkouts.store(0, Ordering::Release);
            inner.fail_subscribes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
            json!({"reset": true})
        }
        other => return (StatusCode::NOT_FOUND, Json(json!({"error": format!("no fault '{other}'")}))).into_response(),
    };
    tracing::warn!(%action, ms, "fault injected");
    Json(done).into_response()
}

/// A checkout that is to fail mid-way: the order is placed, then the answer is
/// lost (503), as when a proxy or the network gives up after the commit. The
/// shopper's retry with the same idempotency key must find the same order.
pub async fn failing_checkout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !(state.faults.is_enabled() && request.uri().path() == "/api/checkout") {
        return next.run(request).await;
    }
    if !state.faults.take_checkout_failure() {
        return next.run(request).await;
    }
    let placed = next.run(request).await;
    tracing::warn!(status = %placed.status(), "fault injection: dropping a checkout's answer");
    let error = AppError::Transport("the shop did not answer (fault injection)".into());
    let body = leptos::server_fn::error::FromServerFnError::ser(&error);
    (StatusCode::SERVICE_UNAVAILABLE, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}
