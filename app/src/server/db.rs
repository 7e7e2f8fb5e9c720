//! The one database handle. SQLite (embedded, the default) or PostgreSQL
//! (several instances, one database); callers never match on the backend.
//!
//! One file per domain, each an `impl Db` block with its own SQL:
//! `catalog` (categories, products), `seeding`, `checkout` (buying: all
//! or nothing, in groups on SQLite), `orders` (the order lifecycle), `conversations` (messages about an order), `questions` (product Q&A), `accounts` (users, sessions), `tokens`, `media`, and `feed`
//! (the change log: its facts, replays, pruning). `core` runs a statement on
//! either backend; `sqlite` and `postgres` hold what only one of them has;
//! `wakeups` is what the feed waits on.

mod accounts;
mod catalog;
mod checkout;
mod conversations;
mod core;
mod feed;
mod media;
mod orders;
mod postgres;
mod presence;
mod questions;
mod search;
mod seeding;
mod sqlite;
mod tokens;
mod wakeups;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use accounts::{NewUser, UserRow};
use anyhow::Context as _;
pub use catalog::{Created, EditOutcome, ProductEdit, ProductRecord, StockChange, StockOutcome};
pub use conversations::MessageRecord;
pub use feed::{ChangeBatch, Fact, FactKind, FactOp, InFlight, SIGN_OUT_KIND};
pub use orders::{LineRecord, MoveOutcome, OrderRecord, PlaceOutcome};
pub use presence::{PRESENCE_CHANNEL, PresenceListener};
pub use questions::{AskOutcome, AskerRow, QuestionRecord};
pub use search::Listing;
pub use seeding::{SeedCategory, SeedProduct};
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
pub use tokens::TokenRow;
use tokio::sync::Notify;
pub use wakeups::{DataVersion, FileWatch, Wakeups};

use super::identities::Identities;

#[derive(Clone)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The database handle: a pool, plus the wake-up the feed waits on.
#[derive(Clone)]
pub struct Db {
    backend: Backend,
    commits: Arc<Notify>,
    /// The search index's words and when they were read (typo correction).
    vocabulary: Vocabulary,
    /// SQLite: purchases waiting to be committed in the next group.
    checkout: checkout::CheckoutQueue,
    /// Who recently seen sessions belong to (told of this handle's own
    /// writes to sessions and accounts).
    identities: Arc<Identities>,
}

/// Words of the search index, read at most once per interval (see `Db::vocabulary`).
type Vocabulary = Arc<std::sync::Mutex<Option<(std::time::Instant, Arc<Vec<String>>)>>>;

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Db({})", self.backend_name())
    }
}

/// How big the connection pool is and how long to wait for it and for locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    /// Connections at most (`None`: 8 on SQLite, 16 on PostgreSQL).
    pub max_connections: Option<u32>,
    /// How long a request waits for a free connection before it fails.
    pub acquire_timeout: Duration,
    /// SQLite: how long a statement waits for another writer's lock.
    pub busy_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { max_connections: None, acquire_timeout: Duration::from_secs(10), busy_timeout: Duration::from_secs(10) }
    }
}

impl Db {
    /// Connect to `sqlite://path` (created if missing) or `postgres://...`.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        Self::connect_named(url, "livecart", &PoolSettings::default()).await
    }

    /// Connect, naming this process's connections (PostgreSQL `application_name`),
    /// so each instance's sessions, including its LISTEN connection, can be told apart.
    pub async fn connect_named(url: &str, name: &str, pool: &PoolSettings) -> anyhow::Result<Db> {
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(postgres::connect(url, name, pool).await?)
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite(sqlite::connect(url, pool).await?)
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite: or postgres:// (got '{}')", url.split(':').next().unwrap_or_default());
        };
        Ok(Db {
            backend,
            commits: Arc::new(Notify::new()),
            vocabulary: Vocabulary::default(),
            checkout: Default::default(),
            identities: Arc::default(),
        })
    }

    /// Who recently seen sessions belong to: see [`Identities`].
    pub fn identities(&self) -> &Identities {
        &self.identities
    }

    /// Whether several instances may share this database (PostgreSQL).
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Apply the backend's migrations and create the session table. A failure
    /// stops the start.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match &self.backend {
            Backend::Sqlite(pool) => sqlite::migrate(pool).await,
            Backend::Postgres(pool) => {
                sqlx::migrate!("../migrations/postgres").run(pool).await.context("applying the postgres migrations")?;
                tower_sessions_sqlx_store::PostgresStore::new(pool.clone()).migrate().await.context("creating the session table")
            }
        }
    }

    /// Whether [`Db::close`] has run (the server is stopping).
    pub fn is_closed(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(pool) => pool.is_closed(),
            Backend::Postgres(pool) => pool.is_closed(),
        }
    }

    /// Close every pooled connection (tests and shutdown).
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(pool) => pool.close().await,
            Backend::Postgres(pool) => pool.close().await,
        }
    }

    pub async fn ping(&self) -> anyhow::Result<()> {
        core::sql("SELECT 1").execute(self).await?;
        Ok(())
    }

    /// The file behind a `sqlite:` URL; `None` for PostgreSQL.
    pub fn sqlite_file(url: &str) -> anyhow::Result<Option<std::path::PathBuf>> {
        if !url.starts_with("sqlite:") {
            return Ok(None);
        }
        let options: sqlx::sqlite::SqliteConnectOptions = url.parse().with_context(|| format!("parsing the SQLite URL '{url}'"))?;
        Ok(Some(options.get_filename().to_path_buf()))
    }

    /// SQLite: a consistent, compact copy of the database in `file` (VACUUM
    /// INTO reads one snapshot while writers go on). Its size in bytes.
    pub async fn backup_into(&self, file: &std::path::Path) -> anyhow::Result<u64> {
        let Backend::Sqlite(_) = &self.backend else { anyhow::bail!("backups of PostgreSQL are made with pg_dump") };
        let path = file.to_str().context("the backup path is not valid UTF-8")?;
        core::sql("VACUUM INTO $1").bind(path).execute(self).await.with_context(|| format!("writing the backup to {path}"))?;
        Ok(std::fs::metadata(file).map(|m| m.len()).unwrap_or(0))
    }

    /// Whether this database has livecart's migrations table (a backup of ours, not any file).
    pub async fn has_migrations(&self) -> anyhow::Result<bool> {
        let sql = match self.backend {
            Backend::Sqlite(_) => "SELECT count(*) FROM sqlite_master WHERE name = '_sqlx_migrations'",
            Backend::Postgres(_) => "SELECT count(*) FROM pg_tables WHERE tablename = '_sqlx_migrations'",
        };
        Ok(core::sql(sql).scalar::<i64>(self).await? > 0)
    }

    /// SQLite: refresh the query planner's statistics where tables grew or
    /// shrank a lot since (a catalog seeded or imported), so pages and search
    /// keep using their indexes. PostgreSQL's autovacuum does this itself.
    pub async fn optimize(&self) -> anyhow::Result<()> {
        if let Backend::Sqlite(_) = &self.backend {
            // One connection for all three (pragmas are per connection).
            let mut tx = self.begin().await?;
            core::sql("PRAGMA analysis_limit = 1000").execute(&mut tx).await?;
            let analyzed: bool = core::sql("SELECT count(*) > 0 FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar(&mut tx).await?;
            // Never analyzed: `optimize` may judge the tables too small to bother.
            core::sql(if analyzed { "PRAGMA optimize = 0x10002" } else { "ANALYZE" }).execute(&mut tx).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// SQLite: whether `PRAGMA integrity_check` finds the database sound.
    pub async fn integrity_check(&self) -> anyhow::Result<bool> {
        let Backend::Sqlite(_) = &self.backend else { return Ok(true) };
        Ok(core::sql("PRAGMA integrity_check").scalar::<String>(self).await? == "ok")
    }
}
