//! The one tailer of `change_log` per process. Reads facts after the last seq
//! it published, has the mapper make them into frames, hands those to the hub
//! in seq order, and never hands out a seq while an earlier one may still commit.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use app::protocol::Seq;
use app::server::{ChangeBatch, Db, InFlight};

use super::frame::Published;
use super::hub::Hub;
use super::mapper;
use crate::faults::Faults;

const BATCH: i64 = 1000;
/// How soon to look again while a gap may still fill.
const GAP_RECHECK: Duration = Duration::from_millis(5);
const RETRY: Duration = Duration::from_millis(500);
/// How long a gap may hold the feed back before it says so (and again after as long).
const HOLD_WARNING: Duration = Duration::from_secs(10);

/// When the feed last read the log successfully, for `/healthz`.
#[derive(Debug, Clone, Default)]
pub struct FeedHealth(Arc<AtomicI64>);

impl FeedHealth {
    fn now_ms() -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    fn beat(&self) {
        self.0.store(Self::now_ms(), Ordering::Release);
    }

    /// Milliseconds since the last successful read, or `None` before the first.
    pub fn age_ms(&self) -> Option<i64> {
        match self.0.load(Ordering::Acquire) {
            0 => None,
            at => Some(Self::now_ms().saturating_sub(at)),
        }
    }
}

/// Decides how much of a batch is safe to publish.
///
/// On PostgreSQL a seq is taken inside the writing transaction, so seq N+1 can
/// commit while N is still running. A gap before a visible row is *settled*
/// (its seq will never appear) once every transaction that could own it has
/// ended. Owners take their xid before their seq (see `log_fact()`), so the
/// owner of a seq missing below a visible row took its xid before the snapshot
/// that saw the gap, hence before an xid assigned after that read (the
/// *bound*, from [`Db::xid_bound`]). So a gap is settled when a later
/// snapshot's `xmin` has passed the bound (and its `xmax` is above it, so the
/// bound's own transaction counts as ended).
///
/// Not enough, and wrong before the multi-host test caught it: "the snapshot
/// that saw the gap listed no running transaction", or "a later `xmin` passed
/// that snapshot's `xmax`". A snapshot's `xmax` is one above the latest
/// *completed* xid, and a transaction that took its xid after the latest commit is in no
/// snapshot's list: its seq was skipped for good.
#[derive(Debug, Default, Clone)]
pub struct GapRule {
    hold: Option<Hold>,
}

#[derive(Debug, Clone, Copy)]
struct Hold {
    /// The first row after the gap.
    row: i64,
    /// An xid assigned after the gap was seen; `None` until the feed asked.
    bound: Option<i64>,
}

impl GapRule {
    /// How many leading rows of `batch` (read after `last`) may be published now.
    pub fn publishable(&mut self, last: i64, batch: &ChangeBatch) -> usize {
        let mut expected = last + 1;
        for (i, row) in batch.facts.iter().enumerate() {
            if row.seq != expected && !self.settled(row.seq, batch.in_flight) {
                return i;
            }
            expected = row.seq + 1;
        }
        // Published past the row a hold waited for: that gap is behind us.
        if self.hold.is_some_and(|h| h.row < expected) {
            self.hold = None;
        }
        batch.facts.len()
    }

    /// Whether the gap just below `row` can be skipped.
    fn settled(&mut self, row: i64, in_flight: Option<InFlight>) -> bool {
        let Some(snap) = in_flight else { return true }; // seq order is commit order
        match self.hold {
            // Every owner of a seq below `h.row` has an xid below the bound.
            Some(h) if row <= h.row => match h.bound {
                Some(bound) if snap.xmin >= bound && snap.xmax > bound => {
                    self.hold = None;
                    true
                }
                _ => false,
            },
            // A new gap, further on: hold it and ask for a bound.
            _ => {
                self.hold = Some(Hold { row, bound: None });
                false
            }
        }
    }

    /// Whether the gap held needs its bound: an xid assigned from now on.
    pub fn needs_bound(&self) -> bool {
        self.hold.is_some_and(|h| h.bound.is_none())
    }

    /// The bound for the gap held (see [`Db::xid_bound`]).
    pub fn set_bound(&mut self, xid: i64) {
        if let Some(hold) = self.hold.as_mut().filter(|h| h.bound.is_none()) {
            hold.bound = Some(xid);
        }
    }

    pub fn is_holding(&self) -> bool {
        self.hold.is_some()
    }
}

/// Start the feed ([`run_feed`]): on SQLite, on a thread of its own running
/// nothing else.
///
/// On the server's runtime, a change arriving while the previous one was being
/// written to 10,000 sockets woke the feed behind those sockets' tasks in the
/// runtime's queue: it read the change ~100 ms late, often together with the
/// next one (the first reached no socket on its own). On its own thread the
/// feed reads each change as it commits, and the operating system shares the
/// cores between it and the runtime's workers. The thread ends with the
/// runtime that called this (a task there holds it alive).
///
/// PostgreSQL's feed stays on the server's runtime: a pooled connection is
/// served by the runtime that opened it, so connections the feed opened on a
/// thread of its own would serve requests only when that thread is idle.
pub fn spawn_feed(db: Db, hub: Arc<Hub>, poll: Duration, health: FeedHealth, faults: Faults) {
    if db.is_postgres() {
        tokio::spawn(run_feed(db, hub, poll, health, faults));
        return;
    }
    let (alive, ended) = tokio::sync::oneshot::channel::<()>();
    let here = tokio::runtime::Handle::current();
    let fallback = (db.clone(), hub.clone(), health.clone(), faults.clone());
    let thread = std::thread::Builder::new().name("feed".into()).spawn(move || {
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime.block_on(async move {
                tokio::select! {
                    () = run_feed(db, hub, poll, health, faults) => {}
                    _ = ended => {}
                }
            }),
            Err(err) => {
                tracing::warn!(error = %err, "no runtime for the feed's thread; the feed runs with the requests");
                drop(here.spawn(run_feed(db, hub, poll, health, faults)));
            }
        }
    });
    match thread {
        Ok(_) => {
            tokio::spawn(async move {
                let _alive = alive;
                std::future::pending::<()>().await;
            });
        }
        Err(err) => {
            tracing::warn!(error = %err, "no thread for the feed; it runs with the requests");
            let (db, hub, health, faults) = fallback;
            tokio::spawn(run_feed(db, hub, poll, health, faults));
        }
    }
}

/// Tail the change log forever, publishing to the hub.
pub async fn run_feed(db: Db, hub: Arc<Hub>, poll: Duration, health: FeedHealth, faults: Faults) {
    let mut last = loop {
        match db.feed_start().await {
            Ok(seq) => break seq,
            Err(err) => {
                tracing::error!(error = ?err, "feed: cannot read the change log; retrying");
                tokio::time::sleep(RETRY).await;
            }
        }
    };
    hub.publish(&[], Seq(last));
    tracing::info!(seq = last, "feed started");
    let mut wakeups = loop {
        match db.wakeups(poll).await {
            Ok(w) => break w,
            Err(err) => {
                tracing::error!(error = ?err, "feed: cannot listen for changes; retrying");
                tokio::time::sleep(RETRY).await;
            }
        }
    };
    let mut gaps = GapRule::default();
    // Since when the feed holds a gap, to say so when it lasts: one long open
    // transaction anywhere on the server holds every live update back.
    let mut held_since: Option<(std::time::Instant, std::time::Instant)> = None;
    loop {
        faults.feed_pause().await;
        match db.read_changes(last, BATCH).await {
            Ok(batch) => {
                let n = gaps.publishable(last, &batch);
                let facts = &batch.facts[..n];
                if let Some(fact) = facts.last() {
                    match mapper::published(&db, facts).await {
                        Ok(items) => {
                            last = fact.seq;
                            for item in &items {
                                if let Published::SignOut { session, .. } = item {
                                    // Made on any instance: stop using what this one remembers of it.
                                    db.identities().forget_signed_out(*session);
                                }
                            }
                            hub.publish(&items, Seq(last));
                        }
                        Err(err) => {
                            // Nothing published: the same facts are read again.
                            tracing::error!(error = ?err, "feed: reading the changed rows failed; retrying");
                            tokio::time::sleep(RETRY).await;
                            continue;
                        }
                    }
                }
                health.beat();
                if gaps.needs_bound() {
                    match db.xid_bound().await {
                        Ok(xid) => gaps.set_bound(xid),
                        Err(err) => tracing::error!(error = ?err, "feed: cannot take an xid to settle a gap; retrying"),
                    }
                }
                if n == BATCH as usize {
                    continue; // more to read right away
                }
                if gaps.is_holding() {
                    let now = std::time::Instant::now();
                    let (since, told) = held_since.get_or_insert((now, now));
                    if now.duration_since(*told) >= HOLD_WARNING {
                        *told = now;
                        tracing::warn!(
                            after = last,
                            held_for = ?now.duration_since(*since),
                            "feed: live updates wait for a transaction that may still write an earlier change; \
                             a long-open transaction on the database server (idle in transaction, a prepared \
                             transaction, a long report) holds them back until it ends"
                        );
                    }
                    tokio::time::sleep(GAP_RECHECK).await;
                    continue;
                }
                held_since = None;
            }
            // The server is stopping (its pool closed after the drain): not a failure.
            Err(_) if db.is_closed() => {
                tracing::debug!("feed: the database was closed; stopping");
                return;
            }
            Err(err) => {
                tracing::error!(error = ?err, "feed: reading the change log failed; retrying");
                tokio::time::sleep(RETRY).await;
            }
        }
        wakeups.next().await;
    }
}

/// Prune the change log now and then, never past what the feed has published.
pub async fn run_pruner(db: Db, hub: Arc<Hub>, max_age: Duration, max_rows: i64) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        every.tick().await;
        match db.prune_log(max_age, max_rows, hub.position().0).await {
            Ok(through) => tracing::debug!(through, "pruned the change log"),
            Err(_) if db.is_closed() => return,
            Err(err) => tracing::warn!(error = ?err, "pruning the change log failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use app::server::db::{Fact, FactKind, FactOp};

    use super::*;

    fn facts(seqs: &[i64]) -> Vec<Fact> {
        seqs.iter()
            .map(|&seq| Fact {
                seq,
                kind: FactKind::Product,
                op: FactOp::Removed,
                entity_id: 1,
                parent_id: None,
                parent_slug: None,
                product: None,
            })
            .collect()
    }

    fn batch(seqs: &[i64], in_flight: Option<(i64, i64)>) -> ChangeBatch {
        ChangeBatch { facts: facts(seqs), in_flight: in_flight.map(|(xmin, xmax)| InFlight { xmin, xmax }) }
    }

    #[test]
    fn sqlite_batches_are_always_publishable() {
        let mut rule = GapRule::default();
        assert_eq!(rule.publishable(0, &batch(&[1, 2, 5], None)), 3);
        assert!(!rule.needs_bound());
    }

    #[test]
    fn a_gap_holds_back_later_rows_until_its_owner_commits() {
        let mut rule = GapRule::default();
        // seq 2 is missing: hold, and ask for a bound.
        assert_eq!(rule.publishable(0, &batch(&[1, 3, 4], Some((100, 105)))), 1);
        assert!(rule.is_holding() && rule.needs_bound());
        rule.set_bound(110);
        assert!(!rule.needs_bound());
        // Transactions below the bound still run: hold.
        assert_eq!(rule.publishable(1, &batch(&[3, 4], Some((104, 111)))), 0);
        // It committed: seq 2 is there now, everything flows.
        assert_eq!(rule.publishable(1, &batch(&[2, 3, 4], Some((106, 111)))), 3);
        assert!(!rule.is_holding());
    }

    #[test]
    fn a_gap_from_a_rolled_back_transaction_is_skipped_once_everything_below_the_bound_ended() {
        let mut rule = GapRule::default();
        assert_eq!(rule.publishable(0, &batch(&[1, 3], Some((100, 105)))), 1);
        rule.set_bound(107);
        // xmin 106: an xid below the bound still runs, and may own seq 2.
        assert_eq!(rule.publishable(1, &batch(&[3], Some((106, 109)))), 0, "xid 106 may own seq 2");
        assert_eq!(rule.publishable(1, &batch(&[3], Some((107, 109)))), 1);
        assert!(!rule.is_holding());
    }

    /// The bug scripts/multihost.sh found: the owner of seq 2 took xid 724
    /// after the latest commit (723), so the snapshot reads "724:724:" (nothing
    /// listed as running) while it runs. That used to settle the gap at once.
    #[test]
    fn a_snapshot_listing_nothing_running_does_not_settle_a_gap() {
        let mut rule = GapRule::default();
        assert_eq!(rule.publishable(0, &batch(&[1, 3], Some((724, 724)))), 1);
        // Not even before the bound is known, nor while xmin has not passed it.
        assert_eq!(rule.publishable(1, &batch(&[3], Some((724, 724)))), 0);
        rule.set_bound(726);
        assert_eq!(rule.publishable(1, &batch(&[3], Some((724, 727)))), 0, "724 still runs");
        // 724 committed: its row is there.
        assert_eq!(rule.publishable(1, &batch(&[2, 3], Some((727, 727)))), 2);
    }

    #[test]
    fn a_bound_from_before_a_later_gap_is_not_reused_for_it() {
        let mut rule = GapRule::default();
        assert_eq!(rule.publishable(0, &batch(&[1, 3], Some((10, 12)))), 1);
        rule.set_bound(20);
        assert_eq!(rule.publishable(1, &batch(&[2, 3, 5], Some((21, 21)))), 2, "gap 2 filled; a new gap at 4");
        assert!(rule.needs_bound(), "the gap at 4 waits for an xid assigned after it was seen");
        assert_eq!(rule.publishable(3, &batch(&[5], Some((21, 22)))), 0);
        rule.set_bound(30);
        assert_eq!(rule.publishable(3, &batch(&[5], Some((31, 31)))), 1);
    }
}
