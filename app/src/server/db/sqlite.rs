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

use super::{ChangeBatch, ChangeRow};

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
fn write_turn(pool: &SqlitePool) -> Arc<Mutex<()>> {
    static TURNS: LazyLock<std::sync::Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = LazyLock::new(Default::default);
    let file = pool.connect_options().get_filename().to_path_buf();
    TURNS.lock().unwrap_or_else(PoisonError::into_inner).entry(file).or_default().clone()
}

/// Run a write transaction on the SQLite writer thread, a runtime of its own.
///
/// One thread for the process, shared by every database file: it runs write
/// work and nothing else, and the turn (per file) orders the writers.
///
/// Each statement is a round trip to the connection's thread, whose answer wakes
/// the waiting task from outside the runtime; under load that task then queued
/// behind every other request before it sent its next statement, all the while
/// holding the write turn (one buyer: ~0.5 ms per order in the turn; fifty:
/// ~0.8 ms). A runtime that runs nothing else sends the next statement at once.
/// The work finishes even if the caller goes away (a purchase is all or nothing
/// either way).
pub async fn on_writer_thread<T, F>(work: F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: Future<Output = anyhow::Result<T>> + Send + 'static,
{
    static WRITER: LazyLock<std::io::Result<Handle>> = LazyLock::new(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        std::thread::Builder::new().name("sqlite-writer".into()).spawn(move || runtime.block_on(std::future::pending::<()>()))?;
        Ok(handle)
    });
    match &*WRITER {
        Ok(writer) => writer.spawn(work).await.context("the SQLite writer thread failed")?,
        Err(err) => {
            tracing::warn!(error = %err, "no SQLite writer thread; writing on the caller's");
            work.await
        }
    }
}

/// A write transaction holding this process' write turn until it ends.
struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    // Declared after `tx`: fields drop in order, so the turn passes on only
    // after the transaction has ended (or its rollback is queued).
    _turn: OwnedMutexGuard<()>,
}

impl WriteTx {
    async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }

    async fn rollback(self) -> sqlx::Result<()> {
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
async fn begin_write(pool: &SqlitePool) -> sqlx::Result<WriteTx> {
    let turn = write_turn(pool).lock_owned().await;
    Ok(WriteTx { tx: pool.begin_with("BEGIN IMMEDIATE").await?, _turn: turn })
}

/// The current time as stored (RFC 3339 text, UTC).
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')";

/// A stored time column as RFC 3339 text (already text here).
fn text_time(column: &str) -> String {
    column.to_string()
}

/// BEGIN IMMEDIATE already makes seeding one writer at a time.
const SERIALIZE_SEEDING: &str = "SELECT 1";

super::shared::shared_queries!(SqlitePool, sqlx::Sqlite);

/// The newest orders of every customer (optionally in one status), as summaries.
pub async fn all_orders_json(pool: &SqlitePool, status: Option<&str>, limit: i64) -> anyhow::Result<String> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(json_group_array(json(summary)), '[]') FROM \
         (SELECT j.summary FROM order_json j JOIN orders o ON o.id = j.id \
          WHERE ?1 IS NULL OR o.status = ?1 ORDER BY j.id DESC LIMIT ?2)",
    )
    .bind(status)
    .bind(limit)
    .fetch_one(pool)
    .await?)
}

pub async fn orders_json(pool: &SqlitePool, customer: i64) -> anyhow::Result<String> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(json_group_array(json(summary)), '[]') FROM \
         (SELECT summary FROM order_json WHERE customer_id = $1 ORDER BY id DESC)",
    )
    .bind(customer)
    .fetch_one(pool)
    .await?)
}

pub async fn order_json(pool: &SqlitePool, id: i64) -> anyhow::Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT full FROM order_json WHERE id = $1").bind(id).fetch_optional(pool).await?)
}

pub async fn connect(url: &str, pool: &super::PoolSettings) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("parsing the SQLite URL '{url}'"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(pool.busy_timeout);
    if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the data directory {}", dir.display()))?;
    }
    SqlitePoolOptions::new()
        .max_connections(pool.max_connections.unwrap_or(8))
        .acquire_timeout(pool.acquire_timeout)
        .connect_with(options)
        .await
        .with_context(|| format!("opening the SQLite database at {url}"))
}

pub async fn products_json(pool: &SqlitePool, category: Option<&str>) -> anyhow::Result<String> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(json_group_array(json(summary)), '[]') FROM \
         (SELECT summary FROM product_json WHERE ?1 IS NULL OR category_slug = ?1 ORDER BY name COLLATE NOCASE, id)",
    )
    .bind(category)
    .fetch_one(pool)
    .await?)
}

pub async fn product_json(pool: &SqlitePool, id: i64) -> anyhow::Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT full FROM product_json WHERE id = ?").bind(id).fetch_optional(pool).await?)
}

pub async fn read_changes(pool: &SqlitePool, after: i64, limit: i64) -> anyhow::Result<ChangeBatch> {
    let rows =
        sqlx::query_as::<_, ChangeRow>("SELECT seq, topic, op, entity_id, payload FROM change_log WHERE seq > ? ORDER BY seq LIMIT ?")
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?;
    Ok(ChangeBatch { rows, in_flight: None })
}

pub async fn topic_changes(pool: &SqlitePool, topic: &str, after: i64, upto: i64) -> anyhow::Result<Vec<ChangeRow>> {
    Ok(sqlx::query_as(
        "SELECT seq, topic, op, entity_id, payload FROM change_log \
         WHERE topic = ? AND seq > ? AND seq <= ? ORDER BY seq",
    )
    .bind(topic)
    .bind(after)
    .bind(upto)
    .fetch_all(pool)
    .await?)
}

pub async fn feed_start(pool: &SqlitePool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT max(coalesce((SELECT max(seq) FROM change_log), 0), (SELECT pruned_through FROM feed_state WHERE id = 1))",
    )
    .fetch_one(pool)
    .await?)
}

pub async fn xid_bound(_pool: &SqlitePool) -> anyhow::Result<i64> {
    Ok(0)
}

pub async fn prune_log(pool: &SqlitePool, max_age_secs: i64, max_rows: i64, not_above: i64) -> anyhow::Result<i64> {
    let mut tx = begin_write(pool).await?;
    let cutoff: i64 = sqlx::query_scalar(
        "SELECT min(?3, max(\
            coalesce((SELECT max(seq) FROM change_log WHERE created_at < unixepoch() - ?1), 0), \
            coalesce((SELECT max(seq) FROM change_log), 0) - ?2))",
    )
    .bind(max_age_secs)
    .bind(max_rows)
    .bind(not_above)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM change_log WHERE seq <= ?").bind(cutoff).execute(&mut *tx).await?;
    let through: i64 =
        sqlx::query_scalar("UPDATE feed_state SET pruned_through = max(pruned_through, ?) WHERE id = 1 RETURNING pruned_through")
            .bind(cutoff)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(through)
}

pub async fn log_sign_out(pool: &SqlitePool, user: i64) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO change_log (topic, op, entity_id) VALUES ($1, 'removed', $2)")
        .bind(super::SIGN_OUT_TOPIC)
        .bind(user)
        .execute(pool)
        .await?;
    Ok(())
}
