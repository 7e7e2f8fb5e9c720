//! The one error type that crosses the wire between server functions and the browser.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// What went wrong, in words a shopper can read. Carries no SQL, paths or traces.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    #[error("{0} was not found")]
    NotFound(String),
    #[error("please sign in")]
    Unauthorized,
    #[error("you are not allowed to do that")]
    Forbidden,
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    #[error("only {available} of {product} left")]
    OutOfStock { product: String, available: i64 },
    #[error("{0}")]
    Conflict(String),
    #[error("something went wrong on our side; please try again")]
    Internal,
    /// The request never reached the server function, or its answer did not arrive.
    #[error("could not reach the shop: {0}")]
    Transport(String),
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation { field: field.into(), message: message.into() }
    }

    /// The HTTP status this error is reported with.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::NotFound(_) => 404,
            AppError::Unauthorized => 401,
            AppError::Forbidden => 403,
            AppError::Validation { .. } => 422,
            AppError::OutOfStock { .. } | AppError::Conflict(_) => 409,
            AppError::Internal => 500,
            AppError::Transport(_) => 502,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::Deserialization(msg) => {
                AppError::Validation { field: "request".into(), message: msg }
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// Log an internal failure and hide its details from the caller.
    pub fn internal(err: anyhow::Error) -> Self {
        tracing::error!(error = ?err, "internal error");
        AppError::Internal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_round_trip_as_json_and_map_to_statuses() {
        let e = AppError::OutOfStock { product: "Espresso beans".into(), available: 2 };
        let json = serde_json::to_string(&e).expect("encodes");
        assert_eq!(serde_json::from_str::<AppError>(&json).expect("decodes"), e);
        assert_eq!(e.status_code(), 409);
        assert_eq!(e.to_string(), "only 2 of Espresso beans left");
        assert_eq!(AppError::NotFound("product 9".into()).status_code(), 404);
        assert_eq!(AppError::Internal.to_string(), "something went wrong on our side; please try again");
    }
}
