//! Plain HTTP endpoints beside the pages: health, and the JSON API (`v1`).

pub mod v1;

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

/// Server-function errors raised before the function runs (a body that does not
/// decode) leave Leptos answering 500. The error itself knows its status: use it.
pub async fn server_fn_error_status(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_api || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    };
    if let Ok(wire) = serde_json::from_slice::<serde_json::Value>(&bytes)
        && let Ok(error) = serde_json::from_value::<app::error::AppError>(wire["error"].clone())
    {
        parts.status = StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Answers made outside the API's handlers (the body limit's 413, the router's
/// 405) come as JSON on `/api/v1` too, like every other API error.
pub async fn v1_json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let is_v1 = request.uri().path().starts_with(v1::PREFIX);
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_v1 || is_json {
        return response;
    }
    match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            v1::ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the body is over 64 KiB").into_response()
        }
        StatusCode::METHOD_NOT_ALLOWED => {
            let mut answer =
                v1::ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method; see /api/v1/openapi.json")
                    .into_response();
            if let Some(allow) = response.headers().get(axum::http::header::ALLOW) {
                answer.headers_mut().insert(axum::http::header::ALLOW, allow.clone());
            }
            answer
        }
        _ => response,
    }
}
