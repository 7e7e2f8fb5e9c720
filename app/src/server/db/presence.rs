//! The presence bus: how instances sharing a PostgreSQL database tell each
//! other who is looking at what. NOTIFY on a channel of its own, never a row:
//! presence is gone when nobody repeats it. SQLite serves one instance, which
//! knows everything itself: no bus.

use anyhow::Context as _;
use sqlx::postgres::PgListener;

use super::core::sql;
use super::{Backend, Db};

/// The NOTIFY channel instances announce their presence counts on.
pub const PRESENCE_CHANNEL: &str = "livecart_presence";

/// What other instances announce.
pub struct PresenceListener(PgListener);

impl PresenceListener {
    /// The next announcement's text; `None` when the connection dropped (the
    /// next call connects again, and announcements repeat every few seconds).
    pub async fn next(&mut self) -> Option<String> {
        match self.0.try_recv().await {
            Ok(Some(notification)) => Some(notification.payload().to_string()),
            Ok(None) => None,
            Err(err) => {
                tracing::warn!(error = ?err, "presence: the LISTEN connection failed; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                None
            }
        }
    }
}

impl Db {
    /// Listen to other instances (`None` on SQLite).
    pub async fn presence_listener(&self) -> anyhow::Result<Option<PresenceListener>> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(None),
            Backend::Postgres(pool) => {
                let mut listener = PgListener::connect_with(pool).await.context("connecting the presence LISTEN connection")?;
                listener.listen(PRESENCE_CHANNEL).await.context("LISTEN on the presence channel")?;
                Ok(Some(PresenceListener(listener)))
            }
        }
    }

    /// Tell the other instances (a NOTIFY payload: at most 8,000 bytes). Nothing on SQLite.
    pub async fn announce_presence(&self, payload: &str) -> anyhow::Result<()> {
        if let Backend::Postgres(_) = self.backend {
            sql("SELECT pg_notify($1, $2)").bind(PRESENCE_CHANNEL).bind(payload).execute(self).await?;
        }
        Ok(())
    }
}
