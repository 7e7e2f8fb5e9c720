//! The one tailer of `change_log` per process. Reads rows after the last seq it
//! published, hands them to the hub in seq order, and never hands out a seq
//! while an earlier one may still commit.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use app::protocol::Seq;
use app::server::{ChangeBatch, Db, InFlight};

use super::frame::published;
use super::hub::Hub;
use crate::faults::Faults;

const BATCH: i64 = 1000;
/// How soon to look again while a gap may still fill.
const GAP_RECHECK: Duration = Duration::from_millis(5);
const RETRY: Duration = Duration::from_millis(500);

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
/// ended. Owners take their xid before their seq (see `log_change()`), so any
/// owner of a missing seq below a visible row had an xid below the reading
/// snapshot's `xmax`. So a gap is settled when the reading snapshot had no
/// running transactions, or when a later snapshot's `xmin` has passed the `xmax`
/// of the snapshot that first saw the gap.
#[derive(Debug, Default, Clone)]
pub struct GapRule {
    hold: Option<Hold>,
}

#[derive(Debug, Clone, Copy)]
struct Hold {
    /// The first row after the gap.
    row: i64,
    /// `xmax` of the snapshot that saw the gap.
    xmax: i64,
}

impl GapRule {
    /// How many leading rows of `batch` (read after `last`) may be published now.
    pub fn publishable(&mut self, last: i64, batch: &ChangeBatch) -> usize {
        let mut expected = last + 1;
        for (i, row) in batch.rows.iter().enumerate() {
            if row.seq != expected && !self.settled(row.seq, batch.in_flight) {
                return i;
            }
            expected = row.seq + 1;
        }
        // Published past the row a hold waited for: that gap is behind us.
        if self.hold.is_some_and(|h| h.row < expected) {
            self.hold = None;
        }
        batch.rows.len()
    }

    /// Whether the gap just below `row` can be skipped.
    fn settled(&mut self, row: i64, in_flight: Option<InFlight>) -> bool {
        let Some(snap) = in_flight else { return true }; // seq order is commit order
        if snap.running == 0 {
            self.hold = None;
            return true;
        }
        match self.hold {
            Some(h) if snap.xmin >= h.xmax && row <= h.row => {
                self.hold = None;
                true
            }
            // Still waiting on the transactions of an earlier look.
            Some(h) if snap.xmin < h.xmax => false,
            _ => {
                self.hold = Some(Hold { row, xmax: snap.xmax });
                false
            }
        }
    }

    pub fn is_holding(&self) -> bool {
        self.hold.is_some()
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
    loop {
        faults.feed_pause().await;
        match db.read_changes(last, BATCH).await {
            Ok(batch) => {
                let n = gaps.publishable(last, &batch);
                let rows = &batch.rows[..n];
                if let Some(row) = rows.last() {
                    last = row.seq;
                    hub.publish(&published(rows), Seq(last));
                }
                health.beat();
                if n == BATCH as usize {
                    continue; // more to read right away
                }
                if gaps.is_holding() {
                    tokio::time::sleep(GAP_RECHECK).await;
                    continue;
                }
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
            Err(err) => tracing::warn!(error = ?err, "pruning the change log failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use app::server::ChangeRow;

    use super::*;

    fn rows(seqs: &[i64]) -> Vec<ChangeRow> {
        seqs.iter().map(|&seq| ChangeRow { seq, topic: "catalog".into(), op: "removed".into(), entity_id: 1, payload: None }).collect()
    }

    fn batch(seqs: &[i64], in_flight: Option<(i64, i64, i64)>) -> ChangeBatch {
        ChangeBatch { rows: rows(seqs), in_flight: in_flight.map(|(xmin, xmax, running)| InFlight { xmin, xmax, running }) }
    }

    #[test]
    fn sqlite_batches_are_always_publishable() {
        let mut rule = GapRule::default();
        assert_eq!(rule.publishable(0, &batch(&[1, 2, 5], None)), 3);
    }

    #[test]
    fn a_gap_holds_back_later_rows_while_transactions_run() {
        let mut rule = GapRule::default();
        // seq 2 is missing and a transaction (xid 100) is still running.
        assert_eq!(rule.publishable(0, &batch(&[1, 3, 4], Some((100, 105, 1)))), 1);
        assert!(rule.is_holding());
        // Still running: hold.
        assert_eq!(rule.publishable(1, &batch(&[3, 4], Some((100, 106, 2)))), 0);
        // It committed: seq 2 is there now, everything flows.
        assert_eq!(rule.publishable(1, &batch(&[2, 3, 4], Some((106, 106, 0)))), 3);
        assert!(!rule.is_holding());
    }

    #[test]
    fn a_gap_from_a_rolled_back_transaction_is_skipped_once_it_ended() {
        let mut rule = GapRule::default();
        assert_eq!(rule.publishable(0, &batch(&[1, 3], Some((100, 105, 3)))), 1);
        // Other transactions started meanwhile (xip not empty), but all those that
        // ran at the first look (xid < 105) have ended: the gap is settled.
        assert_eq!(rule.publishable(1, &batch(&[3], Some((105, 110, 2)))), 1);
        assert!(!rule.is_holding());
    }

    #[test]
    fn a_gap_with_nothing_running_is_settled_at_once() {
        let mut rule = GapRule::default();
        assert_eq!(rule.publishable(0, &batch(&[2, 3], Some((50, 50, 0)))), 2);
    }
}
