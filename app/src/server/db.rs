//! The one database handle. SQLite (embedded, the default) or PostgreSQL
//! (several instances, one database); callers never match on the backend.

mod postgres;
pub(crate) mod shared;
mod sqlite;

pub use shared::{EditOutcome, MoveOutcome, PlaceOutcome, ProductEdit, ProductRow, StockChange, StockOutcome, TokenRow, UserRow};

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::postgres::{PgListener, PgPool};
use sqlx::sqlite::SqlitePool;
use tokio::sync::Notify;

/// One row of `change_log`, as the feed reads it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChangeRow {
    pub seq: i64,
    pub topic: String,
    pub op: String,
    pub entity_id: i64,
    /// The topic's JSON for the entity (`op = 'change'`), or `None` (`op = 'removed'`).
    pub payload: Option<String>,
}

/// The snapshot a batch was read in (PostgreSQL only). `xmin`: every xid below
/// it had ended. `xmax`: the latest *completed* xid + 1, which is not the next
/// xid to be assigned: a transaction that took its xid after the latest commit
/// is running but below no snapshot's `xmax` and in no list of running ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlight {
    pub xmin: i64,
    pub xmax: i64,
}

/// Change-log rows after a position, in seq order.
#[derive(Debug, Clone, Default)]
pub struct ChangeBatch {
    pub rows: Vec<ChangeRow>,
    /// `None` where seq order is commit order (SQLite: one writer), so a gap in
    /// seq can never fill later.
    pub in_flight: Option<InFlight>,
}

/// The change-log topic of sign-outs (`entity_id` = the session's
/// `sessions::sign_out_key`). Not a client topic: every instance's feed hands
/// these rows to its hub, in seq order, as "this session's sockets lose their
/// private topics".
pub const SIGN_OUT_TOPIC: &str = "signout";

/// How often the feed reads the log on PostgreSQL without a notification.
const PG_FALLBACK_POLL: Duration = Duration::from_millis(500);

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
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Db({})", self.backend_name())
    }
}

macro_rules! dispatch {
    ($self:ident . $f:ident ( $($arg:expr),* )) => {
        match &$self.backend {
            Backend::Sqlite(pool) => sqlite::$f(pool $(, $arg)*).await,
            Backend::Postgres(pool) => postgres::$f(pool $(, $arg)*).await,
        }
    };
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
        Ok(Db { backend, commits: Arc::new(Notify::new()) })
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Apply the backend's migrations. A failure stops the start.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match &self.backend {
            Backend::Sqlite(pool) => sqlx::migrate!("../migrations/sqlite").run(pool).await,
            Backend::Postgres(pool) => sqlx::migrate!("../migrations/postgres").run(pool).await,
        }
        .with_context(|| format!("applying the {} migrations", self.backend_name()))
    }

    /// Close every pooled connection (tests and shutdown).
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(pool) => pool.close().await,
            Backend::Postgres(pool) => pool.close().await,
        }
    }

    pub async fn ping(&self) -> anyhow::Result<()> {
        dispatch!(self.ping())
    }

    /// Tell the feed that this process committed a change, so it reads the log now
    /// instead of at its next poll.
    pub fn notify_commit(&self) {
        self.commits.notify_one();
    }

    /// The wake-ups the feed waits on between reads of the log.
    pub async fn wakeups(&self, poll: Duration) -> anyhow::Result<Wakeups> {
        Ok(match &self.backend {
            Backend::Sqlite(pool) => {
                // A connection of its own, outside the pool: its data_version moves
                // whenever any other connection (an outside `sqlite3` too) commits.
                let conn = pool.acquire().await.context("opening the data_version connection")?.detach();
                let mut wal = pool.connect_options().get_filename().as_os_str().to_owned();
                wal.push("-wal");
                let wal = std::path::PathBuf::from(wal);
                let files = FileWatch::start(&wal);
                let mut watch = DataVersion { conn, last: 0, wal, wal_seen: None, hot_until: None };
                watch.changed().await;
                Wakeups::Local { commits: self.commits.clone(), poll, watch, files }
            }
            Backend::Postgres(pool) => {
                let mut listener = PgListener::connect_with(pool).await.context("connecting the LISTEN connection")?;
                listener.listen(postgres::CHANGES_CHANNEL).await.context("LISTEN on the change channel")?;
                // NOTIFY wakes the feed; the poll only covers lost notifications.
                Wakeups::Notify { listener, commits: self.commits.clone(), poll: poll.max(PG_FALLBACK_POLL) }
            }
        })
    }

    pub async fn categories(&self) -> anyhow::Result<Vec<(String, String)>> {
        dispatch!(self.categories())
    }

    pub async fn category_exists(&self, slug: &str) -> anyhow::Result<bool> {
        dispatch!(self.category_exists(slug))
    }

    /// A JSON array of product summaries ordered by name.
    pub async fn products_json(&self, category: Option<&str>) -> anyhow::Result<String> {
        dispatch!(self.products_json(category))
    }

    /// One product's full JSON.
    pub async fn product_json(&self, id: i64) -> anyhow::Result<Option<String>> {
        dispatch!(self.product_json(id))
    }

    /// Rows with `seq > after`, at most `limit`, in seq order.
    pub async fn read_changes(&self, after: i64, limit: i64) -> anyhow::Result<ChangeBatch> {
        dispatch!(self.read_changes(after, limit))
    }

    /// One topic's rows with `after < seq <= upto`, in seq order.
    pub async fn topic_changes(&self, topic: &str, after: i64, upto: i64) -> anyhow::Result<Vec<ChangeRow>> {
        dispatch!(self.topic_changes(topic, after, upto))
    }

    /// Everything at or below this seq may have been pruned from the log.
    pub async fn pruned_through(&self) -> anyhow::Result<i64> {
        dispatch!(self.pruned_through())
    }

    /// Where a fresh feed starts reading: past every change that is already
    /// settled, before any that may still commit.
    pub async fn feed_start(&self) -> anyhow::Result<i64> {
        dispatch!(self.feed_start())
    }

    /// PostgreSQL: an xid assigned now, so above every xid assigned before this
    /// call (the feed's gap rule waits until a snapshot's `xmin` passes it).
    /// SQLite has no concurrent writers and never asks: 0.
    pub async fn xid_bound(&self) -> anyhow::Result<i64> {
        dispatch!(self.xid_bound())
    }

    /// Delete log rows older than `max_age` or beyond the newest `max_rows`, never
    /// above `not_above` (what the feed has not published yet). Returns the new
    /// `pruned_through`.
    pub async fn prune_log(&self, max_age: Duration, max_rows: i64, not_above: i64) -> anyhow::Result<i64> {
        let max_age_secs = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
        dispatch!(self.prune_log(max_age_secs, max_rows, not_above))
    }

    /// The new user's id, or `None` when the username is taken.
    pub async fn create_user(&self, username: &str, password_hash: &str, staff: bool) -> anyhow::Result<Option<i64>> {
        dispatch!(self.create_user(username, password_hash, staff))
    }

    pub async fn user_by_name(&self, username: &str) -> anyhow::Result<Option<UserRow>> {
        dispatch!(self.user_by_name(username))
    }

    pub async fn user_by_id(&self, id: i64) -> anyhow::Result<Option<UserRow>> {
        dispatch!(self.user_by_id(id))
    }

    pub async fn order_owner(&self, order: i64) -> anyhow::Result<Option<i64>> {
        dispatch!(self.order_owner(order))
    }

    /// Buy `lines` for `customer` in one transaction (see `shared::place_order`).
    pub async fn place_order(
        &self,
        customer: i64,
        lines: &[crate::model::CartLine],
        address: &crate::model::Address,
        key: &str,
        save_address: bool,
    ) -> anyhow::Result<PlaceOutcome> {
        let outcome = match &self.backend {
            Backend::Sqlite(pool) => {
                let (pool, lines, address, key) = (pool.clone(), lines.to_vec(), address.clone(), key.to_owned());
                sqlite::on_writer_thread(async move { sqlite::place_order(&pool, customer, &lines, &address, &key, save_address).await })
                    .await?
            }
            Backend::Postgres(pool) => postgres::place_order(pool, customer, lines, address, key, save_address).await?,
        };
        if matches!(outcome, PlaceOutcome::Placed(_)) {
            self.notify_commit();
        }
        Ok(outcome)
    }

    /// A JSON array of the customer's order summaries, newest first.
    pub async fn orders_json(&self, customer: i64) -> anyhow::Result<String> {
        dispatch!(self.orders_json(customer))
    }

    /// One order's full JSON.
    pub async fn order_json(&self, id: i64) -> anyhow::Result<Option<String>> {
        dispatch!(self.order_json(id))
    }

    /// Every customer's newest orders (at most `limit`), as a JSON array of summaries.
    pub async fn all_orders_json(&self, status: Option<&str>, limit: i64) -> anyhow::Result<String> {
        dispatch!(self.all_orders_json(status, limit))
    }

    pub async fn staff_products(&self) -> anyhow::Result<Vec<ProductRow>> {
        dispatch!(self.staff_products())
    }

    pub async fn staff_product(&self, id: i64) -> anyhow::Result<Option<ProductRow>> {
        dispatch!(self.staff_product(id))
    }

    /// The new product's id; `None` when its category does not exist.
    pub async fn create_product(&self, draft: &crate::model::ProductDraft) -> anyhow::Result<Option<i64>> {
        let id = dispatch!(self.create_product(draft))?;
        self.notify_commit();
        Ok(id)
    }

    /// Apply a checked staff edit in one transaction (see `shared::edit_product`).
    pub async fn edit_product(&self, id: i64, edit: &ProductEdit, max_stock: i64) -> anyhow::Result<EditOutcome> {
        let outcome = dispatch!(self.edit_product(id, edit, max_stock))?;
        self.notify_commit();
        Ok(outcome)
    }

    /// Set the stock to `value`, or add `value` to it (`set` false), within 0..=`max`.
    pub async fn change_stock(&self, id: i64, value: i64, set: bool, max: i64) -> anyhow::Result<StockOutcome> {
        let outcome = dispatch!(self.change_stock(id, value, set, max))?;
        self.notify_commit();
        Ok(outcome)
    }

    pub async fn set_archived(&self, id: i64, archived: bool) -> anyhow::Result<bool> {
        let done = dispatch!(self.set_archived(id, archived))?;
        self.notify_commit();
        Ok(done)
    }

    pub async fn create_category(&self, slug: &str, name: &str) -> anyhow::Result<bool> {
        dispatch!(self.create_category(slug, name))
    }

    pub async fn rename_category(&self, slug: &str, name: &str) -> anyhow::Result<bool> {
        dispatch!(self.rename_category(slug, name))
    }

    /// Move an order along its lifecycle (see `shared::move_order`).
    pub async fn move_order(&self, id: i64, to: crate::model::OrderStatus) -> anyhow::Result<MoveOutcome> {
        let outcome = dispatch!(self.move_order(id, to))?;
        self.notify_commit();
        Ok(outcome)
    }

    pub async fn create_token(&self, name: &str, hash: &str, scope: &str, created_by: Option<i64>) -> anyhow::Result<i64> {
        dispatch!(self.create_token(name, hash, scope, created_by))
    }

    pub async fn tokens(&self) -> anyhow::Result<Vec<TokenRow>> {
        dispatch!(self.tokens())
    }

    pub async fn revoke_token(&self, id: i64) -> anyhow::Result<bool> {
        dispatch!(self.revoke_token(id))
    }

    /// The id and scope of the live token with this hash.
    pub async fn token_by_hash(&self, hash: &str) -> anyhow::Result<Option<(i64, String)>> {
        dispatch!(self.token_by_hash(hash))
    }

    pub async fn touch_token(&self, id: i64) -> anyhow::Result<()> {
        dispatch!(self.touch_token(id))
    }

    pub async fn insert_image(&self, content_type: &str, bytes: &[u8]) -> anyhow::Result<i64> {
        dispatch!(self.insert_image(content_type, bytes))
    }

    pub async fn image(&self, id: i64) -> anyhow::Result<Option<(String, Vec<u8>)>> {
        dispatch!(self.image(id))
    }

    /// The session store on this database, with its table created.
    pub async fn session_store(&self) -> anyhow::Result<super::sessions::SessionBackend> {
        use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};
        Ok(match &self.backend {
            Backend::Sqlite(pool) => {
                let store = SqliteStore::new(pool.clone());
                store.migrate().await.context("creating the session table")?;
                super::sessions::SessionBackend::Sqlite(store)
            }
            Backend::Postgres(pool) => {
                let store = PostgresStore::new(pool.clone());
                store.migrate().await.context("creating the session table")?;
                super::sessions::SessionBackend::Postgres(store)
            }
        })
    }

    /// Record that the session with this `sessions::sign_out_key` signed out, so
    /// every instance's sockets of that session lose their private topics
    /// (through the feed, in order with the changes around it).
    pub async fn log_sign_out(&self, session_key: i64) -> anyhow::Result<()> {
        dispatch!(self.log_sign_out(session_key))?;
        self.notify_commit();
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
        let Backend::Sqlite(pool) = &self.backend else { anyhow::bail!("backups of PostgreSQL are made with pg_dump") };
        let path = file.to_str().context("the backup path is not valid UTF-8")?;
        sqlx::query("VACUUM INTO $1").bind(path).execute(pool).await.with_context(|| format!("writing the backup to {path}"))?;
        Ok(std::fs::metadata(file).map(|m| m.len()).unwrap_or(0))
    }

    /// The newest seq in the change log (published or not), for the feed's lag.
    pub async fn newest_seq(&self) -> anyhow::Result<i64> {
        const SQL: &str = "SELECT coalesce(max(seq), 0) FROM change_log";
        Ok(match &self.backend {
            Backend::Sqlite(pool) => sqlx::query_scalar(SQL).fetch_one(pool).await?,
            Backend::Postgres(pool) => sqlx::query_scalar(SQL).fetch_one(pool).await?,
        })
    }

    /// Whether this database has livecart's migrations table (a backup of ours, not any file).
    pub async fn has_migrations(&self) -> anyhow::Result<bool> {
        let n: i64 = match &self.backend {
            Backend::Sqlite(pool) => {
                sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = '_sqlx_migrations'").fetch_one(pool).await?
            }
            Backend::Postgres(pool) => {
                sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE tablename = '_sqlx_migrations'").fetch_one(pool).await?
            }
        };
        Ok(n > 0)
    }

    /// SQLite: whether `PRAGMA integrity_check` finds the database sound.
    pub async fn integrity_check(&self) -> anyhow::Result<bool> {
        let Backend::Sqlite(pool) = &self.backend else { return Ok(true) };
        let result: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(pool).await?;
        Ok(result == "ok")
    }

    /// Fault injection: end the PostgreSQL LISTEN connection (SQLite has none: 0).
    pub async fn drop_listen_connection(&self) -> anyhow::Result<i64> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(0),
            Backend::Postgres(pool) => postgres::drop_listen_connection(pool).await,
        }
    }

    /// Whether any staff account exists.
    pub async fn has_staff(&self) -> anyhow::Result<bool> {
        dispatch!(self.has_staff())
    }

    /// True when the catalog has no categories yet (a fresh database).
    pub async fn catalog_is_empty(&self) -> anyhow::Result<bool> {
        dispatch!(self.catalog_is_empty())
    }

    /// How many products there are (archived ones too).
    pub async fn product_count(&self) -> anyhow::Result<i64> {
        dispatch!(self.product_count())
    }

    /// Insert made-up products (`livecart seed --products`) in one transaction,
    /// through the same triggers as every other write.
    pub async fn insert_generated(&self, products: &[crate::server::catalog_gen::GeneratedProduct]) -> anyhow::Result<()> {
        dispatch!(self.insert_generated(products))?;
        self.notify_commit();
        Ok(())
    }

    /// Insert the demo catalog in one transaction, if the catalog is still empty.
    pub async fn insert_catalog(&self, categories: &[SeedCategory], products: &[SeedProduct]) -> anyhow::Result<bool> {
        let seeded = dispatch!(self.insert_catalog(categories, products))?;
        self.notify_commit();
        Ok(seeded)
    }
}

/// A category to seed.
#[derive(Debug, Clone)]
pub struct SeedCategory {
    pub slug: &'static str,
    pub name: &'static str,
}

/// A product to seed.
#[derive(Debug, Clone)]
pub struct SeedProduct {
    pub category: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub price_cents: i64,
    pub stock: i64,
    pub image: String,
}

/// How often the SQLite feed looks at the write-ahead log for another
/// connection's commit: a `stat` of the -wal file (about a microsecond, no
/// thread hop); when that moved, the feed reads the log, then keeps asking
/// `PRAGMA data_version` for a while in case the commit was not visible yet.
/// Outside writers' changes then arrive about as fast as the app's own.
const DATA_VERSION_EVERY: Duration = Duration::from_millis(1);
/// How long to keep asking after the -wal file moved.
const DATA_VERSION_HOT: Duration = Duration::from_millis(30);

/// Whether anyone else committed to a SQLite database since the last look.
pub struct DataVersion {
    conn: sqlx::sqlite::SqliteConnection,
    last: i64,
    wal: std::path::PathBuf,
    wal_seen: Option<(std::time::SystemTime, u64)>,
    hot_until: Option<tokio::time::Instant>,
}

impl DataVersion {
    /// Whether the -wal file moved lately, so a commit may still become visible.
    fn is_hot(&self) -> bool {
        self.hot_until.is_some_and(|until| tokio::time::Instant::now() <= until)
    }

    /// The -wal file was written: look closely for a while.
    fn heat(&mut self) {
        self.hot_until = Some(tokio::time::Instant::now() + DATA_VERSION_HOT);
    }

    /// Whether the -wal file was written since the last look (true when unsure).
    fn wal_moved(&mut self) -> bool {
        let now = std::fs::metadata(&self.wal).ok().and_then(|m| Some((m.modified().ok()?, m.len())));
        match now {
            Some(stat) => self.wal_seen.replace(stat) != Some(stat),
            None => true,
        }
    }

    /// Whether another connection committed since the last look.
    async fn changed(&mut self) -> bool {
        // The -wal file moves as a transaction writes, possibly before its commit
        // is visible; a commit that then lands within the same timestamp tick
        // without growing the file would go unseen. So after the file moves,
        // keep asking for a few ticks.
        let now = tokio::time::Instant::now();
        if self.wal_moved() {
            self.hot_until = Some(now + DATA_VERSION_HOT);
            // Usually the file moved because someone committed: read the log
            // now (one round trip to SQLite) rather than ask first (two). A
            // commit not yet visible is caught by the asking that follows.
            return true;
        } else if self.hot_until.is_none_or(|until| now > until) {
            self.hot_until = None;
            return false;
        }
        match sqlx::query_scalar::<_, i64>("PRAGMA data_version").fetch_one(&mut self.conn).await {
            Ok(v) if v != self.last => {
                self.last = v;
                self.hot_until = None;
                true
            }
            Ok(_) => false,
            Err(err) => {
                tracing::warn!(error = %err, "PRAGMA data_version failed; falling back to the poll");
                false
            }
        }
    }
}

/// A watch (inotify on Linux) on the database's directory: any write to the
/// -wal file wakes the feed, so an idle server sleeps instead of looking at
/// the file every millisecond. `None` where the platform has no such watch;
/// then the feed polls as before.
pub struct FileWatch {
    written: Arc<Notify>,
    _watcher: notify::RecommendedWatcher,
}

impl FileWatch {
    fn start(wal: &std::path::Path) -> Option<FileWatch> {
        use notify::Watcher as _;
        // For comparing the two (docs/benchmarks.md), or a filesystem whose watches lie.
        if std::env::var_os("LIVECART_SQLITE_POLL").is_some() {
            tracing::info!("LIVECART_SQLITE_POLL is set: the feed polls the SQLite log instead of watching it");
            return None;
        }
        let written = Arc::new(Notify::new());
        let wake = written.clone();
        let name = wal.file_name()?.to_owned();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event
                && event.paths.iter().any(|p| p.file_name() == Some(name.as_os_str()))
            {
                wake.notify_one();
            }
        })
        .map_err(|err| tracing::warn!(error = %err, "no file watch for the SQLite log; polling it instead"))
        .ok()?;
        let dir = wal.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        watcher
            .watch(dir, notify::RecursiveMode::NonRecursive)
            .map_err(|err| tracing::warn!(error = %err, dir = %dir.display(), "cannot watch the database directory; polling instead"))
            .ok()?;
        Some(FileWatch { written, _watcher: watcher })
    }
}

/// How long an idle feed with a file watch sleeps between looks at the log
/// when nothing woke it (a safety net; every write wakes it at once).
const WATCHED_POLL: Duration = Duration::from_secs(1);

/// What wakes the feed: this process's own commits, PostgreSQL notifications, and
/// a poll for everything else (outside writers on SQLite, lost notifications).
pub enum Wakeups {
    Local { commits: Arc<Notify>, poll: Duration, watch: DataVersion, files: Option<FileWatch> },
    Notify { listener: PgListener, commits: Arc<Notify>, poll: Duration },
}

impl Wakeups {
    /// Wait until the log may hold something new.
    pub async fn next(&mut self) {
        match self {
            Wakeups::Local { commits, poll, watch, files } => {
                // With a file watch and nothing written lately: sleep until a
                // commit here, a write to the -wal file, or the safety poll.
                if let Some(files) = files
                    && !watch.is_hot()
                {
                    tokio::select! {
                        () = commits.notified() => {}
                        () = files.written.notified() => watch.heat(),
                        () = tokio::time::sleep(WATCHED_POLL) => {}
                    }
                    return;
                }
                let deadline = tokio::time::Instant::now() + *poll;
                let notified = commits.notified();
                tokio::pin!(notified);
                loop {
                    tokio::select! {
                        () = &mut notified => return,
                        () = tokio::time::sleep(DATA_VERSION_EVERY) => {}
                    }
                    if watch.changed().await || tokio::time::Instant::now() >= deadline {
                        return;
                    }
                }
            }
            Wakeups::Notify { listener, commits, poll } => {
                tokio::select! {
                    got = listener.try_recv() => match got {
                        Ok(Some(_)) => {}
                        // The connection dropped and was re-made: notifications sent
                        // meanwhile are gone, so the caller re-reads the log anyway.
                        Ok(None) => tracing::warn!("LISTEN connection lost; reconnected, re-reading the change log"),
                        Err(err) => {
                            tracing::warn!(error = %err, "LISTEN connection failed; retrying");
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    },
                    () = commits.notified() => {}
                    () = tokio::time::sleep(*poll) => {}
                }
            }
        }
    }
}
