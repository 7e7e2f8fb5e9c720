//! The backend dispatch: one statement type ([`Sql`]) that runs on SQLite or
//! PostgreSQL, on the pool or inside a write transaction ([`Tx`]). The domain
//! files write their SQL once (`$N` placeholders work on both) and never match
//! on the backend; where the dialects differ they ask [`Dialect`].

use std::borrow::Cow;
use std::sync::Arc;

use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{Database, Encode, FromRow, Row as _, Type};
use tokio::sync::Notify;

use super::sqlite::WriteTx;
use super::{Backend, Db};

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    Int(Option<i64>),
    Text(Option<&'a str>),
    /// Text made for this statement (a search expression).
    Owned(String),
    Bool(Option<bool>),
    Bytes(&'a [u8]),
}

macro_rules! arg_from {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {
        $(impl<'a> From<$t> for Arg<'a> { fn from($v: $t) -> Self { $e } })*
    };
}

arg_from! {
    i64 => |v| Arg::Int(Some(v)),
    i32 => |v| Arg::Int(Some(i64::from(v))),
    Option<i64> => |v| Arg::Int(v),
    bool => |v| Arg::Bool(Some(v)),
    Option<bool> => |v| Arg::Bool(v),
    &'a str => |v| Arg::Text(Some(v)),
    String => |v| Arg::Owned(v),
    &'a String => |v| Arg::Text(Some(v.as_str())),
    Option<&'a str> => |v| Arg::Text(v),
    &'a [u8] => |v| Arg::Bytes(v),
    crate::model::ProductId => |v| Arg::Int(Some(v.0)),
    crate::model::OrderId => |v| Arg::Int(Some(v.0)),
    crate::model::CustomerId => |v| Arg::Int(Some(v.0)),
    crate::model::QuestionId => |v| Arg::Int(Some(v.0)),
    crate::model::MessageId => |v| Arg::Int(Some(v.0)),
}

/// A row type both backends can decode.
pub trait Record: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Record for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

/// A column type both backends can decode.
pub trait Value:
    for<'r> sqlx::Decode<'r, sqlx::Sqlite> + Type<sqlx::Sqlite> + for<'r> sqlx::Decode<'r, sqlx::Postgres> + Type<sqlx::Postgres> + Send + Unpin
{
}
impl<T> Value for T where
    T: for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + Type<sqlx::Sqlite>
        + for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + Type<sqlx::Postgres>
        + Send
        + Unpin
{
}

/// One statement and its arguments.
#[derive(Debug)]
pub struct Sql<'a> {
    text: Cow<'a, str>,
    args: Vec<Arg<'a>>,
}

/// A statement to run.
pub fn sql<'a>(text: impl Into<Cow<'a, str>>) -> Sql<'a> {
    Sql { text: text.into(), args: Vec::new() }
}

/// `$first, $first+1, …` for `n` values (an `IN (…)` list).
pub fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Where a statement runs: a pool, or a transaction's connection.
pub enum Conn<'c> {
    SqlitePool(&'c SqlitePool),
    PgPool(&'c PgPool),
    Sqlite(&'c mut SqliteConnection),
    Pg(&'c mut PgConnection),
}

/// Something statements run on: the [`Db`] (a pooled connection each), a
/// [`Tx`], or a connection of a caller's own.
pub trait Runs {
    fn conn(&mut self) -> Conn<'_>;
}

impl Runs for &mut SqliteConnection {
    fn conn(&mut self) -> Conn<'_> {
        Conn::Sqlite(self)
    }
}

impl Runs for &Db {
    fn conn(&mut self) -> Conn<'_> {
        match &self.backend {
            Backend::Sqlite(pool) => Conn::SqlitePool(pool),
            Backend::Postgres(pool) => Conn::PgPool(pool),
        }
    }
}

fn bind_all<'q, DB: Database>(
    mut query: sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>,
    args: &'q [Arg<'q>],
) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    Option<bool>: Encode<'q, DB> + Type<DB>,
    &'q [u8]: Encode<'q, DB> + Type<DB>,
{
    for arg in args {
        query = match arg {
            Arg::Int(v) => query.bind(*v),
            Arg::Text(v) => query.bind(*v),
            Arg::Owned(v) => query.bind(Some(v.as_str())),
            Arg::Bool(v) => query.bind(*v),
            Arg::Bytes(v) => query.bind(*v),
        };
    }
    query
}

/// Run `$query.$method(executor)` on whichever connection `$on` gives, then `$then` on the result.
macro_rules! on_conn {
    ($self:ident, $on:ident, |$r:ident| $method:ident => $then:expr) => {
        match $on.conn() {
            Conn::SqlitePool(p) => {
                let $r = bind_all(sqlx::query(&$self.text), &$self.args).$method(p).await?;
                $then
            }
            Conn::PgPool(p) => {
                let $r = bind_all(sqlx::query(&$self.text), &$self.args).$method(p).await?;
                $then
            }
            Conn::Sqlite(c) => {
                let $r = bind_all(sqlx::query(&$self.text), &$self.args).$method(c).await?;
                $then
            }
            Conn::Pg(c) => {
                let $r = bind_all(sqlx::query(&$self.text), &$self.args).$method(c).await?;
                $then
            }
        }
    };
}

impl<'a> Sql<'a> {
    pub fn bind(mut self, value: impl Into<Arg<'a>>) -> Self {
        self.args.push(value.into());
        self
    }

    /// Bind every value in turn (an `IN (…)` list of [`placeholders`]).
    pub fn bind_each<T: Into<Arg<'a>>>(mut self, values: impl IntoIterator<Item = T>) -> Self {
        self.args.extend(values.into_iter().map(Into::into));
        self
    }

    /// Rows changed.
    pub async fn execute(self, mut on: impl Runs) -> sqlx::Result<u64> {
        on_conn!(self, on, |r| execute => Ok(r.rows_affected()))
    }

    pub async fn fetch_all<T: Record>(self, mut on: impl Runs) -> sqlx::Result<Vec<T>> {
        on_conn!(self, on, |rows| fetch_all => rows.iter().map(T::from_row).collect())
    }

    pub async fn fetch_optional<T: Record>(self, mut on: impl Runs) -> sqlx::Result<Option<T>> {
        on_conn!(self, on, |row| fetch_optional => row.as_ref().map(T::from_row).transpose())
    }

    /// The first column of the only row.
    pub async fn scalar<T: Value>(self, mut on: impl Runs) -> sqlx::Result<T> {
        on_conn!(self, on, |row| fetch_one => row.try_get(0))
    }

    /// The first column of the row, if there is one.
    pub async fn scalar_optional<T: Value>(self, mut on: impl Runs) -> sqlx::Result<Option<T>> {
        on_conn!(self, on, |row| fetch_optional => row.map(|r| r.try_get(0)).transpose())
    }
}

/// The rows one statement of a [`Sql::batch`] gave.
pub struct Step {
    pub rows: Vec<SqliteRow>,
}

impl Step {
    pub fn decode<T: for<'r> FromRow<'r, SqliteRow>>(&self) -> sqlx::Result<Vec<T>> {
        self.rows.iter().map(T::from_row).collect()
    }
}

impl Sql<'_> {
    /// Several `;`-separated statements in one round trip to SQLite's
    /// connection thread: each statement's rows, in order. Each statement
    /// sent alone is a hand-over to that thread and back, ~0.1–2 ms under
    /// load, all of it spent holding the write turn.
    ///
    /// sqlx 0.8 runs every statement of a SQLite query in turn, binding `$N`
    /// against the arguments of the whole text, and stops at the first that
    /// fails; an upgrade that ran only the first would give fewer answers
    /// than statements, which the caller checks.
    pub async fn batch(self, conn: &mut SqliteConnection) -> sqlx::Result<Vec<Step>> {
        use futures::TryStreamExt as _;
        use sqlx::Executor as _;
        let mut answers = conn.fetch_many(bind_all(sqlx::query(&self.text), &self.args));
        let (mut steps, mut rows) = (Vec::new(), Vec::new());
        while let Some(answer) = answers.try_next().await? {
            match answer {
                sqlx::Either::Right(row) => rows.push(row),
                sqlx::Either::Left(_done) => steps.push(Step { rows: std::mem::take(&mut rows) }),
            }
        }
        Ok(steps)
    }
}

/// A write transaction. On SQLite it holds the process's write turn for its
/// database file (see `sqlite::write_turn`). Committing wakes this process's feed.
pub struct Tx {
    inner: TxInner,
    commits: Arc<Notify>,
}

enum TxInner {
    Sqlite(WriteTx),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Runs for &mut Tx {
    fn conn(&mut self) -> Conn<'_> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => Conn::Sqlite(tx),
            TxInner::Postgres(tx) => Conn::Pg(tx),
        }
    }
}

impl Tx {
    /// Commit, and tell the feed to read the log now (the one commit helper:
    /// every write that may fire a change-log trigger commits through here).
    pub async fn commit(self) -> sqlx::Result<()> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await?,
            TxInner::Postgres(tx) => tx.commit().await?,
        }
        self.commits.notify_one();
        Ok(())
    }

    pub async fn rollback(self) -> sqlx::Result<()> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.rollback().await,
            TxInner::Postgres(tx) => tx.rollback().await,
        }
    }
}

impl Db {
    /// Begin a write transaction (SQLite: `BEGIN IMMEDIATE` in this process's turn).
    pub(super) async fn begin(&self) -> sqlx::Result<Tx> {
        let inner = match &self.backend {
            Backend::Sqlite(pool) => TxInner::Sqlite(super::sqlite::begin_write(pool).await?),
            Backend::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        };
        Ok(Tx { inner, commits: self.commits.clone() })
    }

    /// One statement that changes rows, as its own transaction, then the feed's wake-up.
    pub(super) async fn write(&self, statement: Sql<'_>) -> sqlx::Result<u64> {
        let mut tx = self.begin().await?;
        let n = statement.execute(&mut tx).await?;
        tx.commit().await?;
        Ok(n)
    }

    pub(super) fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite(_) => Dialect::SQLITE,
            Backend::Postgres(_) => Dialect::POSTGRES,
        }
    }
}

/// Where the two SQL dialects differ.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// The current time as stored.
    pub now: &'static str,
    /// Wraps a stored time column into RFC 3339 text.
    time_text: (&'static str, &'static str),
    /// Makes instances seeding one empty database at once wait for each other.
    pub serialize_seeding: &'static str,
}

impl Dialect {
    const SQLITE: Dialect = Dialect {
        now: "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
        time_text: ("", ""),
        // BEGIN IMMEDIATE already makes seeding one writer at a time.
        serialize_seeding: "SELECT 1",
    };
    const POSTGRES: Dialect =
        Dialect { now: "now()", time_text: ("rfc3339(", ")"), serialize_seeding: "SELECT pg_advisory_xact_lock(7423010001)" };

    /// A stored time column as RFC 3339 text.
    pub fn time(&self, column: &str) -> String {
        format!("{}{column}{}", self.time_text.0, self.time_text.1)
    }
}

/// Whether SQLite answered that another connection holds the lock it needed
/// (after its busy wait).
pub fn is_busy(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if matches!(e.code().as_deref(), Some("5" | "6" | "517")))
}

/// Whether an error is a unique-key violation (a taken name, a used key).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}
