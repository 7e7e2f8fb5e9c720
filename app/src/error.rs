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
    #[error("wrong username or password")]
    BadCredentials,
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
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
    /// The request never reached the server function, or its answer did not
    /// arrive. The text says why for developers (logged in the browser's
    /// console); shoppers see only the sentence.
    #[error("We could not reach the shop. Check your connection and try again.")]
    Transport(String),
    /// The request body is over the limit.
    #[error("that request is too large ({0})")]
    TooLarge(String),
    /// The body is not in the type the endpoint takes.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The endpoint exists but not with this method.
    #[error("{0}")]
    MethodNotAllowed(String),
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation { field: field.into(), message: message.into() }
    }

    /// Whether trying the same thing again may work (the shop could not be reached).
    pub fn is_retryable(&self) -> bool {
        matches!(self, AppError::Transport(_) | AppError::Internal)
    }

    /// The message to show next to a form field, when the error is about that field.
    /// What a shopper or staff member reads: a sentence for people, with no
    /// field names, codes or transport details (the JSON `message` keeps the
    /// terse form for programs).
    pub fn sentence(&self) -> String {
        match self {
            AppError::NotFound(what) => format!("{} could not be found.", capitalised(what)),
            AppError::Unauthorized => "Please sign in first.".to_string(),
            AppError::BadCredentials => "That username and password do not match. Check both and try again.".to_string(),
            AppError::TooManyRequests { retry_after_secs: 1 } => "Too many attempts. Try again in a second.".to_string(),
            AppError::TooManyRequests { retry_after_secs: s @ 2..120 } => format!("Too many attempts. Try again in {s} seconds."),
            AppError::TooManyRequests { retry_after_secs } => {
                format!("Too many attempts. Try again in {} minutes.", retry_after_secs.div_ceil(60))
            }
            AppError::Forbidden => "You are not allowed to do that.".to_string(),
            AppError::Validation { message, .. } => as_sentence(message),
            AppError::OutOfStock { product, available: 0 } => format!("{product} has just sold out. Remove it to place your order."),
            AppError::OutOfStock { product, available } => {
                format!("Only {available} of {product} left. Lower the quantity to {available} or fewer and try again.")
            }
            AppError::Internal => "Something went wrong on our side. Please try again in a moment.".to_string(),
            AppError::Transport(_) => self.to_string(),
            AppError::TooLarge(what) => format!("That is too large to send ({what})."),
            AppError::Conflict(text) | AppError::UnsupportedMediaType(text) | AppError::MethodNotAllowed(text) => as_sentence(text),
        }
    }

    pub fn field_message(&self, name: &str) -> Option<String> {
        match self {
            AppError::Validation { field, message } if field == name => Some(as_sentence(message)),
            _ => None,
        }
    }

    /// The HTTP status this error is reported with.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::NotFound(_) => 404,
            AppError::Unauthorized | AppError::BadCredentials => 401,
            AppError::TooManyRequests { .. } => 429,
            AppError::Forbidden => 403,
            AppError::Validation { .. } => 422,
            AppError::OutOfStock { .. } | AppError::Conflict(_) => 409,
            AppError::Internal => 500,
            AppError::Transport(_) => 502,
            AppError::TooLarge(_) => 413,
            AppError::UnsupportedMediaType(_) => 415,
            AppError::MethodNotAllowed(_) => 405,
        }
    }
}

/// An error as it travels: the typed error for the browser to decode, and the
/// same error in words for anyone else (curl, other systems).
#[derive(Serialize, Deserialize)]
struct WireError {
    error: AppError,
    message: String,
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::Deserialization(msg) => {
                AppError::Validation { field: "request".into(), message: msg }
            }
            other => {
                // Shoppers see a sentence; the transport's own words go to the console.
                #[cfg(feature = "hydrate")]
                leptos::logging::warn!("server function failed: {other}");
                AppError::Transport(other.to_string())
            }
        }
    }

    fn ser(&self) -> leptos::server_fn::Bytes {
        let wire = WireError { error: self.clone(), message: self.to_string() };
        serde_json::to_vec(&wire).map(Into::into).unwrap_or_default()
    }

    fn de(data: leptos::server_fn::Bytes) -> Self {
        serde_json::from_slice::<WireError>(&data)
            .map(|w| w.error)
            .unwrap_or_else(|e| AppError::Transport(format!("unreadable error from the server: {e}")))
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// Log an internal failure and hide its details from the caller.
    pub fn internal(err: anyhow::Error) -> Self {
        tracing::error!(error = ?err, "internal error");
        AppError::Internal
    }

    /// Set this error's status on the server function's response, and return it.
    /// A plain HTML form post (no wasm) keeps Leptos' redirect back to the form,
    /// which carries the error in the URL for the page to show; a page rendering
    /// on the server sets its own status.
    pub fn respond(self) -> Self {
        let Some(parts) = leptos::prelude::use_context::<axum::http::request::Parts>() else { return self };
        let form_post =
            parts.headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
        // A page rendering on the server calls server functions directly: the page
        // decides its own status (a redirect to the login page, a 403 or 404 notice).
        let page_render = !parts.uri.path().starts_with("/api/");
        if form_post || page_render {
            return self;
        }
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
            && let Ok(status) = axum::http::StatusCode::from_u16(self.status_code())
        {
            response.set_status(status);
        }
        self
    }
}

/// `text` with a capital first letter.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

/// `text` as a sentence: a capital first letter and a full stop; `a; b`
/// becomes two sentences.
fn as_sentence(text: &str) -> String {
    let parts: Vec<String> = text
        .split("; ")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let p = capitalised(p);
            if p.ends_with(['.', '!', '?', '…']) { p } else { format!("{p}.") }
        })
        .collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_reads_as_a_sentence_for_people() {
        let all = [
            AppError::NotFound("product 9".into()),
            AppError::Unauthorized,
            AppError::BadCredentials,
            AppError::TooManyRequests { retry_after_secs: 7 },
            AppError::Forbidden,
            AppError::validation("delta", "stock cannot go below 0"),
            AppError::validation("min", "'cheap' is not a price; write it like 12 or 12.50"),
            AppError::OutOfStock { product: "Gummy Bears".into(), available: 1 },
            AppError::OutOfStock { product: "Gummy Bears".into(), available: 0 },
            AppError::Conflict("someone else changed this product; reload to see their change".into()),
            AppError::Internal,
            AppError::Transport("error reaching server to call server function: TypeError: Failed to fetch".into()),
            AppError::TooLarge("over 5 MB".into()),
            AppError::UnsupportedMediaType("send a form".into()),
            AppError::MethodNotAllowed("use POST".into()),
        ];
        for e in &all {
            let s = e.sentence();
            let first = s.chars().next().expect("not empty");
            assert!(first.is_uppercase() || first == '\'', "{s}");
            assert!(s.ends_with('.'), "{s}");
            for raw in ["delta:", "min:", "TypeError", "server function", "Validation", "OutOfStock", "_"] {
                assert!(!s.contains(raw), "{s} shows {raw}");
            }
        }
        assert_eq!(all[5].sentence(), "Stock cannot go below 0.");
        assert_eq!(all[6].sentence(), "'cheap' is not a price. Write it like 12 or 12.50.");
        assert_eq!(all[7].sentence(), "Only 1 of Gummy Bears left. Lower the quantity to 1 or fewer and try again.");
    }

    #[test]
    fn errors_round_trip_as_json_and_map_to_statuses() {
        let e = AppError::OutOfStock { product: "Espresso beans".into(), available: 2 };
        let json = serde_json::to_string(&e).expect("encodes");
        assert_eq!(serde_json::from_str::<AppError>(&json).expect("decodes"), e);
        assert_eq!(e.status_code(), 409);
        assert_eq!(e.to_string(), "only 2 of Espresso beans left");
        assert_eq!(AppError::NotFound("product 9".into()).status_code(), 404);
        assert_eq!(AppError::Internal.to_string(), "something went wrong on our side; please try again");
        let wire = AppError::BadCredentials.ser();
        assert_eq!(&wire[..], br#"{"error":"BadCredentials","message":"wrong username or password"}"#);
        assert_eq!(AppError::de(wire), AppError::BadCredentials);
        let offline = AppError::Transport("error reaching server to call server function: TypeError: Failed to fetch".into());
        assert!(!offline.to_string().contains("TypeError") && offline.is_retryable());
    }
}
