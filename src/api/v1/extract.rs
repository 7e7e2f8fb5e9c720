//! What every `/api/v1` handler shares: the caller's token, strict JSON bodies,
//! and JSON errors with the right status.

use std::num::NonZeroU32;

use app::error::AppError;
use app::server::tokens::{self, Scope};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::state::AppState;

/// Every error the API answers with: `{"error": code, "message": text}` plus the
/// offending `field` when there is one.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    #[serde(skip)]
    pub status: u16,
    /// bad_request, unauthorized, forbidden, not_found, method_not_allowed, conflict,
    /// payload_too_large, unsupported_media_type, invalid, too_many_requests, internal
    pub error: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// On a 409 for a stale edit: the product as it is now (its `version` is the new ETag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub current: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &str, message: impl Into<String>) -> Self {
        Self { status: status.as_u16(), error: error.to_string(), message: message.into(), field: None, current: None }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self { field: Some(field.to_string()), ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message) }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let status = StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = e.to_string();
        match e {
            AppError::Validation { field, message } => Self::invalid(&field, format!("{field}: {message}")),
            AppError::NotFound(_) => Self::not_found(message),
            AppError::Unauthorized | AppError::BadCredentials => Self::new(status, "unauthorized", message),
            AppError::Forbidden => Self::new(status, "forbidden", message),
            AppError::TooManyRequests { .. } => Self::new(status, "too_many_requests", message),
            AppError::OutOfStock { .. } | AppError::Conflict(_) => Self::new(status, "conflict", message),
            AppError::Internal | AppError::Transport(_) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message),
            AppError::TooLarge(_) => Self::new(status, "payload_too_large", message),
            AppError::UnsupportedMediaType(_) => Self::new(status, "unsupported_media_type", message),
            AppError::MethodNotAllowed(_) => Self::new(status, "method_not_allowed", message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(&self)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Requests per second one token may make (burst: twice that).
pub fn limiter(per_second: u32) -> DefaultKeyedRateLimiter<i64> {
    let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
    let burst = rate.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN));
    RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
}

/// The system calling, known by its API token (`Authorization: Bearer lc_...`).
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub token: i64,
    pub scope: Scope,
}

impl Caller {
    /// Refuse a read-only token on a write.
    pub fn require_write(&self) -> ApiResult<()> {
        match self.scope {
            Scope::Write => {
                tracing::info!(token = self.token, "API write");
                Ok(())
            }
            Scope::Read => {
                Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "this token may only read; create a write token to change things"))
            }
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m);
        let header =
            parts.headers.get(header::AUTHORIZATION).ok_or_else(|| unauthorized("send an API token: Authorization: Bearer <token>"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| unauthorized("the Authorization header must be 'Bearer <token>'"))?;
        let (id, scope) =
            tokens::verify(&state.db, &state.api_usage, token).await?.ok_or_else(|| unauthorized("unknown or revoked API token"))?;
        if let Err(wait) = state.api_limiter.check_key(&id) {
            let secs = wait.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default())).as_secs().max(1);
            return Err(AppError::TooManyRequests { retry_after_secs: secs }.into());
        }
        Ok(Caller { token: id, scope })
    }
}

/// A JSON body, strictly: `application/json`, well-formed (else 400), the right
/// shape and types (else 400). Values are checked by the handler (422).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| ApiError::new(e.status(), "bad_request", e.body_text()))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))?;
        if !value.is_object() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        serde_json::from_value(value).map(ApiJson).map_err(|e| ApiError::bad_request(format!("wrong shape or type: {e}")))
    }
}

/// A JSON number that must turn out to be a whole number in range. Decoding only
/// insists on a number (a string is the wrong type: 400); [`Int::get`] then says
/// what is wrong with the value (422).
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Int(serde_json::Number);

impl Int {
    pub fn get(&self, field: &str) -> ApiResult<i64> {
        if let Some(n) = self.0.as_i64() {
            return Ok(n);
        }
        let whole = self.0.as_f64().is_none_or(|f| f.fract() == 0.0);
        if self.0.is_u64() || whole {
            Err(ApiError::invalid(field, format!("{field}: {} is out of range", self.0)))
        } else {
            Err(ApiError::invalid(field, format!("{field}: must be a whole number, not {}", self.0)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(json: &str) -> Int {
        serde_json::from_str(json).expect("a number")
    }

    #[test]
    fn numbers_are_whole_and_in_range_or_refused_as_invalid() {
        assert_eq!(int("-5").get("delta").ok(), Some(-5));
        for (json, words) in [("1.5", "whole number"), ("18446744073709551615", "out of range"), ("1e30", "out of range")] {
            let e = int(json).get("delta").expect_err(json);
            assert_eq!((e.status, e.field.as_deref()), (422, Some("delta")), "{json}");
            assert!(e.message.contains(words), "{json}: {}", e.message);
        }
        assert!(serde_json::from_str::<Int>("\"5\"").is_err(), "a string is the wrong type");
    }
}
