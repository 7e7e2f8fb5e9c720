//! What wakes the feed between reads of the change log: this process's own
//! commits, PostgreSQL notifications, and on SQLite a watch on the -wal file
//! (an outside writer's commit) with a poll as the safety net.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;

use super::{Backend, Db};

/// How often the feed reads the log on PostgreSQL without a notification.
const PG_FALLBACK_POLL: Duration = Duration::from_millis(500);

impl Db {
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
                listener.listen(super::postgres::CHANGES_CHANNEL).await.context("LISTEN on the change channel")?;
                // NOTIFY wakes the feed; the poll only covers lost notifications.
                Wakeups::Notify { listener, commits: self.commits.clone(), poll: poll.max(PG_FALLBACK_POLL) }
            }
        })
    }
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
