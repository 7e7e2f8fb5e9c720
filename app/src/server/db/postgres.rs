//! PostgreSQL SQL. Several writers commit at once, so a later seq can commit
//! before an earlier one; `read_changes` hands the feed the snapshot it read in,
//! so the feed can tell a gap that may still fill from one that never will.

use anyhow::Context as _;
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::InFlight;
use super::core::{Conn, Record, Runs, Sql};

/// The NOTIFY channel `log_fact()` wakes the feeds on (the migration names it too).
pub const CHANGES_CHANNEL: &str = "livecart_changes";

/// A pool whose connections show as `application_name` in `pg_stat_activity`
/// (the host names each instance after its listen address).
/// A pool on the database at `url`. TLS as the URL asks (`sslmode=disable`,
/// `prefer` (the default), `require`, `verify-ca`, `verify-full`; the CA in
/// `sslrootcert=FILE`), with rustls.
pub async fn connect(url: &str, application_name: &str, pool: &super::PoolSettings) -> anyhow::Result<PgPool> {
    let options = url
        .parse::<sqlx::postgres::PgConnectOptions>()
        .context("parsing DATABASE_URL as a PostgreSQL URL")?
        .application_name(application_name);
    PgPoolOptions::new()
        .max_connections(pool.max_connections.unwrap_or(16))
        .acquire_timeout(pool.acquire_timeout)
        .connect_with(options)
        .await
        .map_err(|err| {
            let text = err.to_string().to_lowercase();
            let why = if ["certificate", "tls", "ssl", "handshake"].iter().any(|w| text.contains(w)) {
                "connecting to PostgreSQL over TLS failed: with sslmode=verify-full (or verify-ca) the server's certificate must be \
                 signed by the CA in sslrootcert=FILE and name the host in DATABASE_URL (sslmode=require encrypts without checking it)"
            } else {
                "connecting to PostgreSQL (is it running, and is DATABASE_URL right?)"
            };
            anyhow::Error::new(err).context(why)
        })
}

/// Run `query` in a read-only REPEATABLE READ snapshot, returning that
/// snapshot's `xmin`/`xmax` with its rows, so `in_flight` describes exactly
/// the transactions the rows could not see.
pub(super) async fn in_snapshot<T: Record>(pool: &PgPool, query: Sql<'_>) -> anyhow::Result<(Vec<T>, InFlight)> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    let (xmin, xmax): (i64, i64) =
        sqlx::query_as("SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint FROM pg_current_snapshot() AS s")
            .fetch_one(&mut *tx)
            .await?;
    let rows = query.fetch_all(Snapshot(&mut tx)).await?;
    tx.commit().await?;
    Ok((rows, InFlight { xmin, xmax }))
}

struct Snapshot<'t>(&'t mut sqlx::Transaction<'static, sqlx::Postgres>);

impl Runs for Snapshot<'_> {
    fn conn(&mut self) -> Conn<'_> {
        Conn::Pg(&mut *self.0)
    }
}

/// A fresh xid: above every xid assigned before this call. Its transaction
/// writes nothing; its commit is not waited for on disk.
pub async fn xid_bound(pool: &PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT pg_current_xact_id()::text::bigint FROM (SELECT set_config('synchronous_commit', 'off', true)) AS quiet")
        .fetch_one(pool)
        .await?)
}

/// How long a starting feed waits for the transactions running at its start
/// before it falls back to reading from the oldest retained change.
const FEED_START_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Where a new feed starts: the highest seq visible at its start, once every
/// transaction that may own a lower seq has ended. Such an owner took its xid
/// before its seq, so before the highest row's seq: it is below an xid
/// assigned after that row was read ([`xid_bound`]). Once a snapshot's `xmin`
/// passes that bound, everything at or below the start is settled (committed,
/// or never will be): nothing older than the start is published and nothing
/// after it is lost. (A snapshot's list of running transactions is not enough:
/// it leaves out those that took their xid after the latest commit.) A
/// transaction still running after [`FEED_START_WAIT`] (an idle session
/// holding one open) makes it start at the oldest retained change instead,
/// replaying what is retained.
pub async fn feed_start(pool: &PgPool) -> anyhow::Result<i64> {
    let (highest, pruned): (i64, i64) =
        sqlx::query_as("SELECT coalesce((SELECT max(seq) FROM change_log), 0), f.pruned_through FROM feed_state f WHERE f.id = 1")
            .fetch_one(pool)
            .await?;
    let bound = xid_bound(pool).await?;
    let deadline = tokio::time::Instant::now() + FEED_START_WAIT;
    loop {
        let (xmin, xmax): (i64, i64) =
            sqlx::query_as("SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint FROM pg_current_snapshot() AS s")
                .fetch_one(pool)
                .await?;
        if xmin >= bound && xmax > bound {
            return Ok(highest.max(pruned));
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(xmin, bound, "transactions open since before the feed started are still running; replaying the retained log");
            return Ok(pruned);
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Fault injection: end this instance's LISTEN connection from the server side,
/// as a network blip or a restarted PostgreSQL would. How many were ended.
pub async fn drop_listen_connection(pool: &PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE application_name = current_setting('application_name') AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'",
    )
    .fetch_one(pool)
    .await?)
}
