//! API tokens for other systems: random, shown once, stored as a SHA-256 hash.
//! (A token carries 256 random bits, so a fast hash is enough: there is nothing
//! to brute-force the way there is with a password.)

use std::fmt::Write as _;

use argon2::password_hash::rand_core::{OsRng, RngCore as _};
use sha2::{Digest as _, Sha256};

use super::Db;
use crate::error::AppError;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read products and orders.
    Read,
    /// Read, and change products, stock and order status.
    Write,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }

    pub fn parse(s: &str) -> Result<Scope, AppError> {
        match s {
            "read" => Ok(Scope::Read),
            "write" => Ok(Scope::Write),
            _ => Err(AppError::validation("scope", "scope must be read or write")),
        }
    }
}

/// Every token starts with this, so a leaked one is easy to recognise.
pub const PREFIX: &str = "lc_";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Make a token; returns its id and the token itself (shown once, never stored).
pub async fn create(db: &Db, name: &str, scope: Scope, created_by: Option<i64>) -> Result<(i64, String), AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(AppError::validation("name", "name must be 1 to 80 characters"));
    }
    let mut secret = [0_u8; 32];
    OsRng.fill_bytes(&mut secret);
    let token = format!("{PREFIX}{}", hex(&secret));
    let id = db.create_token(name, &hash(&token), scope.as_str(), created_by).await.map_err(AppError::internal)?;
    Ok((id, token))
}

/// How often a token's `last_used_at` is written (per instance): reading the API
/// should not mean a database write per request.
const TOUCH_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// When this instance last wrote each token's `last_used_at`.
#[derive(Debug, Default)]
pub struct Usage(std::sync::Mutex<std::collections::HashMap<i64, std::time::Instant>>);

impl Usage {
    /// Whether `id`'s use should be written now (and note that it is).
    fn due(&self, id: i64) -> bool {
        let now = std::time::Instant::now();
        let mut seen = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match seen.get(&id) {
            Some(at) if now.duration_since(*at) < TOUCH_EVERY => false,
            _ => {
                seen.insert(id, now);
                true
            }
        }
    }
}

/// The token's id and scope when it is live; `None` for unknown or revoked.
/// Notes the use at most once a minute per instance.
pub async fn verify(db: &Db, usage: &Usage, token: &str) -> Result<Option<(i64, Scope)>, AppError> {
    if !token.starts_with(PREFIX) || token.len() > 200 {
        return Ok(None);
    }
    let Some((id, scope)) = db.token_by_hash(&hash(token)).await.map_err(AppError::internal)? else {
        return Ok(None);
    };
    if usage.due(id) {
        db.touch_token(id).await.map_err(AppError::internal)?;
    }
    Ok(Some((id, Scope::parse(&scope)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_is_noted_at_most_once_a_minute() {
        let usage = Usage::default();
        assert!(usage.due(1));
        assert!(!usage.due(1));
        assert!(usage.due(2));
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
