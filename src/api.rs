//! Plain HTTP endpoints beside the pages: health, and the JSON API (`v1`).

pub mod v1;

use std::collections::HashMap;
use std::sync::LazyLock;

use app::error::AppError;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

/// How stale the feed's last successful read may be before the instance is unhealthy.
const FEED_STALE_MS: i64 = 10_000;

/// 200 when the database answers and the feed is reading the log; 503 otherwise,
/// and while the server drains (`"status": "draining"`).
pub async fn healthz(State(state): State<AppState>) -> Response {
    let db_ok = state.db.ping().await.is_ok();
    let feed_age = state.feed.age_ms();
    let feed_ok = feed_age.is_some_and(|age| age < FEED_STALE_MS);
    let (sockets, subscriptions) = state.hub.stats();
    let draining = state.drain.is_draining();
    let body = json!({
        "status": if draining { "draining" } else if db_ok && feed_ok { "ok" } else { "unavailable" },
        "database": { "backend": state.db.backend_name(), "ok": db_ok },
        "feed": { "ok": feed_ok, "seq": state.hub.position().0, "last_read_ms_ago": feed_age },
        "sockets": sockets,
        "subscriptions": subscriptions,
    });
    let status = if db_ok && feed_ok && !draining { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
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

/// A server function's body must be the type it declares (415 otherwise), so a
/// JSON body sent as `text/plain` by a foreign page never reaches it.
pub async fn server_fn_content_type(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    static DECLARED: LazyLock<HashMap<&'static str, &'static str>> =
        LazyLock::new(|| app::server::endpoints::input_types().into_iter().collect());
    if request.method() == axum::http::Method::POST
        && let Some(declared) = DECLARED.get(request.uri().path())
    {
        let headers = request.headers();
        let sent = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        // No body at all (a call without arguments) has nothing to decode.
        let empty = headers.get(header::CONTENT_LENGTH).is_some_and(|l| l.as_bytes() == b"0")
            || (!headers.contains_key(header::CONTENT_LENGTH) && !headers.contains_key(header::TRANSFER_ENCODING));
        let no_body = empty && sent.is_none();
        if !no_body && !app::server::endpoints::content_type_matches(sent, declared) {
            let error = AppError::UnsupportedMediaType(format!("send the body as Content-Type: {declared}"));
            return app_error_response(&error);
        }
    }
    next.run(request).await
}

/// A server function's error as it travels (`{"error": .., "message": ..}`) with its status.
fn app_error_response(error: &AppError) -> Response {
    use leptos::server_fn::error::FromServerFnError as _;
    let status = StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], error.ser()).into_response()
}

/// Answers made outside the handlers (the body limit's 413, the router's 405,
/// a 404 for no such server function, Leptos' own plain-text refusals) come as
/// JSON under `/api` too, like every other API error: in the `/api/v1` shape
/// there, in the server functions' shape elsewhere.
pub async fn api_json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    let is_json =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"));
    if !path.starts_with("/api/") || is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let error = match status {
        // Uploads have a limit of their own (2 MiB); everything else under /api 64 KiB.
        StatusCode::PAYLOAD_TOO_LARGE if path == "/api/images" => AppError::TooLarge("the image is over 2 MiB".into()),
        StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge("the body is over 64 KiB".into()),
        StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed(format!("{path} does not take that method")),
        StatusCode::NOT_FOUND => AppError::NotFound(format!("API route {}", path.chars().take(100).collect::<String>())),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType("this endpoint does not take that body type".into()),
        s if s.is_client_error() => AppError::validation("request", "the request could not be read"),
        _ => AppError::Internal,
    };
    let mut answer = if path.starts_with(v1::PREFIX) {
        let mut api = v1::ApiError::from(error);
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            api.message = "the body is over 64 KiB".into();
        } else if status == StatusCode::METHOD_NOT_ALLOWED {
            api.message = "this route does not take that method; see /api/v1/openapi.json".into();
        }
        api.status = status.as_u16();
        api.into_response()
    } else {
        let mut answer = app_error_response(&error);
        *answer.status_mut() = status;
        answer
    };
    if let Some(allow) = response.headers().get(header::ALLOW) {
        answer.headers_mut().insert(header::ALLOW, allow.clone());
    }
    answer
}
