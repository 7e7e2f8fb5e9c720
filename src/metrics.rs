//! `/metrics`: Prometheus text for operators, and the request measurements
//! behind it. Labels are few and bounded (route templates, status classes,
//! outcome words), never ids or user input. Answered only to clients whose
//! address (as `--trusted-proxies` resolves it) is loopback or in
//! `--metrics-allow`; everyone else gets 404, so a public shop leaks nothing.
//!
//! | metric | kind | what |
//! |---|---|---|
//! | `livecart_http_requests_total{method,route,status}` | counter | requests answered |
//! | `livecart_http_request_duration_seconds{method,route}` | histogram | time to the response head |
//! | `livecart_sockets` / `livecart_subscriptions` | gauge | open now |
//! | `livecart_frames_sent_total` | counter | frames written to sockets |
//! | `livecart_resyncs_total` | counter | slow sockets re-synced by snapshot |
//! | `livecart_feed_seq` / `livecart_feed_lag` | gauge | published position; log rows not yet published |
//! | `livecart_feed_last_read_seconds` | gauge | since the feed last read the log |
//! | `livecart_checkouts_total{outcome}` | counter | placed, out_of_stock, refused, failed |
//! | `livecart_limited_total{limit}` | counter | refusals by sign_in, register, api, socket |
//! | `livecart_draining` | gauge | 1 while the server drains |

use std::time::Instant;

use app::server::auth::ClientAddr;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Measure every request; count checkouts and limiter refusals by their answer.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request.extensions().get::<MatchedPath>().map_or("other", |p| p.as_str()).to_owned();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    let class = match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics::counter!("livecart_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => class).increment(1);
    metrics::histogram!("livecart_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    if path == "/api/checkout" {
        let outcome = match status.as_u16() {
            200..=399 => "placed",
            409 => "out_of_stock",
            400..=499 => "refused",
            _ => "failed",
        };
        metrics::counter!("livecart_checkouts_total", "outcome" => outcome).increment(1);
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        let limit = match path.as_str() {
            "/api/login" => "sign_in",
            "/api/register" => "register",
            p if p.starts_with("/api/v1") => "api",
            _ => "other",
        };
        metrics::counter!("livecart_limited_total", "limit" => limit).increment(1);
    }
    response
}

/// Whether this client may read `/metrics`.
fn allowed(state: &AppState, client: Option<ClientAddr>) -> bool {
    client.is_some_and(|ClientAddr(ip)| ip.is_loopback() || state.config.metrics_allow.iter().any(|net| net.contains(&ip)))
}

/// `GET /metrics`
pub async fn scrape(State(state): State<AppState>, client: Option<axum::Extension<ClientAddr>>) -> Response {
    if !allowed(&state, client.map(|c| c.0)) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let (sockets, subscriptions) = state.hub.stats();
    let counts = state.hub.counts();
    let position = state.hub.position().0;
    metrics::gauge!("livecart_sockets").set(sockets as f64);
    metrics::gauge!("livecart_subscriptions").set(subscriptions as f64);
    metrics::counter!("livecart_frames_sent_total").absolute(counts.frames_sent);
    metrics::counter!("livecart_resyncs_total").absolute(counts.resyncs);
    metrics::counter!("livecart_limited_total", "limit" => "socket").absolute(counts.rate_limited);
    metrics::gauge!("livecart_feed_seq").set(position as f64);
    if let Ok(newest) = state.db.newest_seq().await {
        metrics::gauge!("livecart_feed_lag").set(newest.saturating_sub(position).max(0) as f64);
    }
    if let Some(age) = state.feed.age_ms() {
        metrics::gauge!("livecart_feed_last_read_seconds").set(age as f64 / 1000.0);
    }
    metrics::gauge!("livecart_draining").set(if state.drain.is_draining() { 1.0 } else { 0.0 });
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], crate::telemetry::metrics().render()).into_response()
}
