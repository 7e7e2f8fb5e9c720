//! Sessions in the database (any instance can serve any request), through
//! tower-sessions' sqlx stores on whichever backend is in use.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use tower_sessions::cookie::time;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{ExpiredDeletion, Result, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use super::identities::Identities;

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

/// How long a session lives without being used. Its row and its cookie are
/// renewed (see [`renewal_due`]) at most once a day while it is in use.
pub const IDLE_EXPIRY: time::Duration = time::Duration::days(14);

/// How long after its last renewal a session in use is renewed again.
const RENEW_EVERY: time::Duration = time::Duration::days(1);

/// The session key under which [`SessionBackend::load`] puts when the row was
/// going to expire (unix seconds). Written back with the record, overwritten
/// at every load: it only tells a request how old its session's row is.
const ROW_EXPIRES_KEY: &str = "row_expires";

/// Whether this session should be saved now to push its expiry (and its
/// cookie's) back to [`IDLE_EXPIRY`] from now. tower-sessions saves only a
/// modified session, so without this a shopper who kept shopping would be
/// signed out [`IDLE_EXPIRY`] after signing in. Loads the session's record.
pub async fn renewal_due(session: &tower_sessions::Session) -> bool {
    let Ok(Some(expires)) = session.get::<i64>(ROW_EXPIRES_KEY).await else { return false };
    let renewed_by = time::OffsetDateTime::now_utc() + IDLE_EXPIRY - RENEW_EVERY;
    expires < renewed_by.unix_timestamp()
}

/// The sessions table of either backend, telling [`Identities`] when a
/// session's record changes or ends.
#[derive(Debug, Clone)]
pub struct SessionBackend {
    store: Store,
    identities: Arc<Identities>,
}

/// Each backend's store, and its pool for [`SessionBackend::save`]'s update.
#[derive(Debug, Clone)]
enum Store {
    Sqlite(SqliteStore, SqlitePool),
    Postgres(PostgresStore, PgPool),
}

impl SessionBackend {
    pub(crate) fn sqlite(pool: SqlitePool, identities: Arc<Identities>) -> Self {
        Self { store: Store::Sqlite(SqliteStore::new(pool.clone()), pool), identities }
    }

    pub(crate) fn postgres(pool: PgPool, identities: Arc<Identities>) -> Self {
        Self { store: Store::Postgres(PostgresStore::new(pool.clone()), pool), identities }
    }
}

#[async_trait]
impl SessionStore for SessionBackend {
    async fn create(&self, record: &mut Record) -> Result<()> {
        match &self.store {
            Store::Sqlite(s, _) => s.create(record).await,
            Store::Postgres(s, _) => s.create(record).await,
        }
    }

    /// An update, never an insert: tower-sessions saves only a session it
    /// loaded (a new one is created), so a row that is gone was deleted by a
    /// sign-out (or a sign-in's new id) while this request ran, and must stay
    /// gone. The stores' own save would write it back, signed in, for 14 days.
    async fn save(&self, record: &Record) -> Result<()> {
        use tower_sessions::session_store::Error;

        self.identities.forget_session(&record.id);
        let data = rmp_serde::to_vec(record).map_err(|e| Error::Encode(e.to_string()))?;
        let id = record.id.to_string();
        let updated = match &self.store {
            Store::Sqlite(_, pool) => {
                // The table `SqliteStore::new` names.
                sqlx::query("UPDATE tower_sessions SET data = ?, expiry_date = ? WHERE id = ?")
                    .bind(data)
                    .bind(record.expiry_date)
                    .bind(id)
                    .execute(pool)
                    .await
                    .map(drop)
            }
            Store::Postgres(_, pool) => {
                // The schema and table `PostgresStore::new` names.
                sqlx::query(r#"UPDATE "tower_sessions"."session" SET data = $1, expiry_date = $2 WHERE id = $3"#)
                    .bind(data)
                    .bind(record.expiry_date)
                    .bind(id)
                    .execute(pool)
                    .await
                    .map(drop)
            }
        };
        // Again once written: a lookup that began before it may have read the old row.
        self.identities.forget_session(&record.id);
        updated.map_err(|e| Error::Backend(e.to_string()))
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let mut record = match &self.store {
            Store::Sqlite(s, _) => s.load(id).await?,
            Store::Postgres(s, _) => s.load(id).await?,
        };
        if let Some(record) = &mut record {
            record.data.insert(ROW_EXPIRES_KEY.to_owned(), record.expiry_date.unix_timestamp().into());
        }
        Ok(record)
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.identities.forget_session(id);
        let deleted = match &self.store {
            Store::Sqlite(s, _) => s.delete(id).await,
            Store::Postgres(s, _) => s.delete(id).await,
        };
        // Again once deleted: a lookup that began before it may have read the row.
        self.identities.forget_session(id);
        deleted
    }
}

#[async_trait]
impl ExpiredDeletion for SessionBackend {
    async fn delete_expired(&self) -> Result<()> {
        match &self.store {
            Store::Sqlite(s, _) => s.delete_expired().await,
            Store::Postgres(s, _) => s.delete_expired().await,
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
