//! Plain HTTP endpoints beside the pages: health now, the JSON API later.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

/// How stale the feed's last successful read may be before the instance is unhealthy.
const FEED_STALE_MS: i64 = 10_000;

/// 200 when the database answers and the feed is reading the log; 503 otherwise.
pub async fn healthz(State(state): State<AppState>) -> Response {
    let db_ok = state.db.ping().await.is_ok();
    let feed_age = state.feed.age_ms();
    let feed_ok = feed_age.is_some_and(|age| age < FEED_STALE_MS);
    let (sockets, subscriptions) = state.hub.stats();
    let body = json!({
        "status": if db_ok && feed_ok { "ok" } else { "unavailable" },
        "database": { "backend": state.db.backend_name(), "ok": db_ok },
        "feed": { "ok": feed_ok, "seq": state.hub.position().0, "last_read_ms_ago": feed_age },
        "sockets": sockets,
        "subscriptions": subscriptions,
    });
    let status = if db_ok && feed_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}
