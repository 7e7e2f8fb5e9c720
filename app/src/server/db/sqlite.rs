//! SQLite SQL. One writer at a time, so seq order is commit order.

use std::collections::HashMap;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, LazyLock, PoisonError};

use anyhow::Context as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use tokio::runtime::Handle;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The queue this process' write transactions on one database file wait in
/// before they ask SQLite.
///
/// SQLite has one writer anyway; a connection that finds the database locked
/// sleeps in SQLite's busy handler (1, 2, 5, 10 … 100 ms) and retries, so with
/// several buyers at once most of a checkout was spent asleep (~1,000 orders/s,
/// p50 34 ms). A queue in the process hands the turn over the moment the last
/// writer commits. One queue per file: every pool on that file (a second `Db`,
/// a backup) shares it, and writers to different files (tests that open
/// several databases in one process) never wait for each other. Other
/// processes (the CLI, an outside writer) still meet the busy handler.
pub(super) fn write_turn(pool: &SqlitePool) -> Arc<Mutex<()>> {
    static TURNS: LazyLock<std::sync::Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = LazyLock::new(Default::default);
    let file = pool.connect_options().get_filename().to_path_buf();
    TURNS.lock().unwrap_or_else(PoisonError::into_inner).entry(file).or_default().clone()
}

/// Run `work` on the SQLite writer thread, a runtime of its own, for as long
/// as it runs (on the caller's runtime when that thread could not be made).
///
/// One thread for the process, shared by every database file: it runs write
/// work and nothing else (the checkout's group writer), and the turn (per
/// file) orders the writers.
///
/// Each statement is a round trip to the connection's thread, whose answer wakes
/// the waiting task from outside the runtime; under load that task then queued
/// behind every other request before it sent its next statement, all the while
/// holding the write turn (one buyer: ~0.5 ms per order in the turn; fifty:
/// ~0.8 ms). A runtime that runs nothing else sends the next statement at once.
pub fn spawn_on_writer_thread(work: impl Future<Output = ()> + Send + 'static) {
    match writer() {
        Ok(writer) => drop(writer.spawn(work)),
        Err(err) => {
            tracing::warn!(error = %err, "no SQLite writer thread; writing on the caller's");
            drop(tokio::spawn(work));
        }
    }
}

fn writer() -> Result<&'static Handle, &'static std::io::Error> {
    static WRITER: LazyLock<std::io::Result<Handle>> = LazyLock::new(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        std::thread::Builder::new().name("sqlite-writer".into()).spawn(move || runtime.block_on(std::future::pending::<()>()))?;
        Ok(handle)
    });
    WRITER.as_ref()
}

/// A write transaction holding this process' write turn until it ends.
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    // Declared after `tx`: fields drop in order, so the turn passes on only
    // after the transaction has ended (or its rollback is queued).
    _turn: OwnedMutexGuard<()>,
}

impl WriteTx {
    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> sqlx::Result<()> {
        self.tx.rollback().await
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }
}

/// A write transaction. SQLite needs BEGIN IMMEDIATE: a deferred transaction that
/// reads and then writes fails with SQLITE_BUSY, which busy_timeout does not cover.
pub async fn begin_write(pool: &SqlitePool) -> sqlx::Result<WriteTx> {
    let turn = write_turn(pool).lock_owned().await;
    Ok(WriteTx { tx: pool.begin_with("BEGIN IMMEDIATE").await?, _turn: turn })
}

/// The pool, opened lazily: no pooled connection exists before [`migrate`]
/// has run, so every one reads the finished schema when it opens. (One
/// connection is opened and closed here, so a file that cannot be opened is
/// reported now, with its path.)
pub async fn connect(url: &str, pool: &super::PoolSettings) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("parsing the SQLite URL '{url}'"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(pool.busy_timeout)
        // Read pages straight from the OS's file cache, shared by every
        // connection, instead of copying each into a 2 MB cache per
        // connection with a system call (a third of a search page's CPU at
        // 100,000 products).
        .pragma("mmap_size", (256 * 1024 * 1024).to_string());
    if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the data directory {}", dir.display()))?;
    }
    let file = options.get_filename().display().to_string();
    let probe = sqlx::ConnectOptions::connect(&options).await.with_context(|| format!("opening the SQLite database at {file}"))?;
    sqlx::Connection::close(probe).await?;
    Ok(SqlitePoolOptions::new()
        .max_connections(pool.max_connections.unwrap_or(8))
        // A connection to a local file does not go stale: no ping (a round
        // trip to its thread) before each use.
        .test_before_acquire(false)
        .acquire_timeout(pool.acquire_timeout)
        .connect_lazy_with(options))
}

/// Apply the migrations and create the session table on a connection of their
/// own, closed before the pool opens any: schema changes never happen under
/// pooled connections that are already running statements. (With the pool
/// open during migrations, a write on another connection intermittently
/// failed with "no such table: products" under parallel load.)
pub async fn migrate(pool: &SqlitePool) -> anyhow::Result<()> {
    let options = pool.connect_options();
    let file = options.get_filename().display().to_string();
    let once = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with((*options).clone())
        .await
        .with_context(|| format!("opening the SQLite database at {file}"))?;
    let migrated = async {
        sqlx::migrate!("../migrations/sqlite").run(&once).await.context("applying the sqlite migrations")?;
        tower_sessions_sqlx_store::SqliteStore::new(once.clone()).migrate().await.context("creating the session table")
    }
    .await;
    once.close().await;
    migrated
}
