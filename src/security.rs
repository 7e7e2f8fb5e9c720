//! Refusals and headers that protect every response.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::realtime::origin_allowed;
use crate::state::AppState;

/// Leptos server functions do no CSRF checking of their own, so refuse any
/// state-changing request that a browser marks as cross-site or whose Origin is
/// another site. GET, HEAD and OPTIONS change nothing and pass.
pub async fn refuse_cross_site(State(state): State<AppState>, request: Request<Body>, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let headers = request.headers();
        let cross_site = headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
        if cross_site || !origin_allowed(headers, &state.config.allowed_origins) {
            tracing::info!(method = %request.method(), path = request.uri().path(), "refused a cross-site request");
            return (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                r#"{"error":"forbidden","message":"requests from other sites are not allowed"}"#,
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// Security headers on every response.
pub async fn headers(request: Request<Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    // Leptos hydration and its resource data are inline scripts, and the wasm
    // needs 'wasm-unsafe-eval'; everything else is same-origin only.
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(
        "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    ));
    h.entry(header::X_CONTENT_TYPE_OPTIONS).or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::REFERRER_POLICY).or_insert(HeaderValue::from_static("strict-origin-when-cross-origin"));
    h.entry(header::X_FRAME_OPTIONS).or_insert(HeaderValue::from_static("DENY"));
    response
}
