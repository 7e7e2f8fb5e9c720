//! Sessions in the database (any instance can serve any request), through
//! tower-sessions' sqlx stores on whichever backend is in use.

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{ExpiredDeletion, Result, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// The session key holding the signed-in user's id.
pub const USER_KEY: &str = "user_id";
/// The session cookie's name.
pub const COOKIE_NAME: &str = "livecart_session";

/// What the change log and the hub call a session when it signs out: the first
/// 8 bytes of the SHA-256 of its id. Sockets opened with that session drop
/// their private topics when the sign-out passes through the feed, in seq
/// order; the id itself (a bearer secret) is never written to the log.
pub fn sign_out_key(id: &Id) -> i64 {
    use sha2::{Digest as _, Sha256};
    let digest = Sha256::digest(format!("livecart-session:{id}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

#[derive(Debug, Clone)]
pub enum SessionBackend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

#[async_trait]
impl SessionStore for SessionBackend {
    async fn create(&self, record: &mut Record) -> Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.create(record).await,
            SessionBackend::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.save(record).await,
            SessionBackend::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        match self {
            SessionBackend::Sqlite(s) => s.load(id).await,
            SessionBackend::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.delete(id).await,
            SessionBackend::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for SessionBackend {
    async fn delete_expired(&self) -> Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.delete_expired().await,
            SessionBackend::Postgres(s) => s.delete_expired().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_out_keys_are_stable_and_differ_per_session() {
        let (a, b) = (Id(7), Id(8));
        assert_eq!(sign_out_key(&a), sign_out_key(&Id(7)));
        assert_ne!(sign_out_key(&a), sign_out_key(&b));
    }
}
