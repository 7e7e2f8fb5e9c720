//! Topic -> subscribers, with a bounded queue per socket. The only holder of
//! subscriber queues. A socket whose queue overflows is flagged and re-synced
//! with snapshots instead of growing without bound. Sign-outs pass through here
//! in seq order with the frames: from a session's sign-out on, its sockets get
//! no frame of a private topic.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use app::protocol::{Seq, Topic};
use app::server::Watermark;
use rustc_hash::{FxHashMap, FxHashSet};
use tokio::sync::{Notify, mpsc};

use super::frame::{Frame, Published};

/// What a socket is told apart from its frames, as bits one wait delivers
/// together (one waiter per socket, not one per kind: each costs an idle
/// socket's task ~110 bytes).
#[derive(Debug, Default)]
pub struct Signals {
    bits: AtomicU8,
    notify: Notify,
}

impl Signals {
    /// Its queue was full and frames were skipped: re-sync from snapshots.
    pub const OVERFLOW: u8 = 1;
    /// Its session signed out (its private topics are gone).
    pub const SIGNED_OUT: u8 = 2;
    /// The server is shutting down: tell the browser to reconnect elsewhere.
    pub const DRAINING: u8 = 4;

    fn raise(&self, bit: u8) {
        if self.bits.fetch_or(bit, Ordering::AcqRel) & bit == 0 {
            self.notify.notify_one();
        }
    }

    fn is_raised(&self, bit: u8) -> bool {
        self.bits.load(Ordering::Acquire) & bit != 0
    }

    /// Wait until any is raised, then lower them all: the ones that were raised.
    pub async fn wait(&self) -> u8 {
        loop {
            let bits = self.bits.swap(0, Ordering::AcqRel);
            if bits != 0 {
                return bits;
            }
            self.notify.notified().await;
        }
    }
}

type ConnId = u64;

struct Conn {
    tx: mpsc::Sender<Arc<Frame>>,
    signals: Arc<Signals>,
    /// The `sign_out_key` of the session the socket was opened with.
    session: Option<i64>,
    /// Set once the session signed out: private topics are refused from then on.
    anonymous: bool,
    topics: HashSet<Topic>,
    /// A staff member's name, for the console's presence (never a shopper's).
    staff_name: Option<Arc<str>>,
}

#[derive(Default)]
struct Inner {
    /// Every frame with `seq <= position` has been offered to the subscribers
    /// registered when it was published.
    position: Seq,
    /// Connection ids are this hub's own counter, never a client's choice, so
    /// the sets and `conns` use a fast hash (a fan-out looks up each one).
    topics: HashMap<Topic, FxHashSet<ConnId>>,
    conns: FxHashMap<ConnId, Conn>,
    next_id: ConnId,
    /// The server is shutting down: sockets opened from now on hear it at once.
    draining: bool,
}

pub struct Hub {
    inner: Mutex<Inner>,
    watermark: Watermark,
    queue: usize,
    frames_sent: AtomicU64,
    resyncs: AtomicU64,
    rate_limited: AtomicU64,
}

/// What the sockets did so far, for `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub frames_sent: u64,
    pub resyncs: u64,
    pub rate_limited: u64,
}

/// A socket's end of the hub.
pub struct Connection {
    pub id: ConnId,
    pub frames: mpsc::Receiver<Arc<Frame>>,
    pub signals: Arc<Signals>,
}

impl Hub {
    pub fn new(queue: usize) -> Self {
        Self {
            inner: Mutex::default(),
            watermark: Watermark::default(),
            queue: queue.max(1),
            frames_sent: AtomicU64::new(0),
            resyncs: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain maps behind; keep serving.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The position server functions snapshot at.
    pub fn watermark(&self) -> Watermark {
        self.watermark.clone()
    }

    pub fn position(&self) -> Seq {
        self.lock().position
    }

    /// A socket opened with the session whose `sign_out_key` is `session` (if any).
    pub fn connect(&self, session: Option<i64>) -> Connection {
        self.connect_named(session, None)
    }

    /// A staff member's socket: its name shows in the console's presence.
    pub fn connect_named(&self, session: Option<i64>, staff_name: Option<Arc<str>>) -> Connection {
        let (tx, frames) = mpsc::channel(self.queue);
        let signals = Arc::new(Signals::default());
        let mut inner = self.lock();
        if inner.draining {
            signals.raise(Signals::DRAINING);
        }
        inner.next_id += 1;
        let id = inner.next_id;
        let conn = Conn { tx, signals: signals.clone(), session, anonymous: false, topics: HashSet::new(), staff_name };
        inner.conns.insert(id, conn);
        Connection { id, frames, signals }
    }

    /// Start queueing `topic`'s frames for the socket. Returns the position at that
    /// moment: frames above it will be queued, frames at or below it are already
    /// in the database for a snapshot or replay to read. `None` for a private
    /// topic once the socket's session has signed out.
    pub fn subscribe(&self, id: ConnId, topic: &Topic) -> Option<Seq> {
        let mut inner = self.lock();
        if let Some(conn) = inner.conns.get_mut(&id) {
            if conn.anonymous && !topic.is_public() {
                return None;
            }
            conn.topics.insert(topic.clone());
            inner.topics.entry(topic.clone()).or_default().insert(id);
        }
        Some(inner.position)
    }

    pub fn unsubscribe(&self, id: ConnId, topic: &Topic) {
        let mut inner = self.lock();
        if let Some(conn) = inner.conns.get_mut(&id) {
            conn.topics.remove(topic);
        }
        remove_subscriber(&mut inner.topics, topic, id);
    }

    /// The server is shutting down: tell every socket, now and from now on.
    pub fn drain(&self) {
        let mut inner = self.lock();
        inner.draining = true;
        for conn in inner.conns.values() {
            conn.signals.raise(Signals::DRAINING);
        }
    }

    pub fn disconnect(&self, id: ConnId) {
        let mut inner = self.lock();
        if let Some(conn) = inner.conns.remove(&id) {
            for topic in &conn.topics {
                remove_subscriber(&mut inner.topics, topic, id);
            }
        }
    }

    /// Offer `items` (in seq order) to their topics' subscribers and move the
    /// position to `upto`. Never blocks: a full queue flags its socket for re-sync.
    pub fn publish(&self, items: &[Published], upto: Seq) {
        let mut inner = self.lock();
        for item in items {
            let frame = match item {
                Published::Frame(frame) => frame,
                Published::SignOut { session, .. } => {
                    sign_out(&mut inner, *session);
                    continue;
                }
            };
            let Some(ids) = inner.topics.get(&frame.topic) else { continue };
            for id in ids {
                let Some(conn) = inner.conns.get(id) else { continue };
                if conn.signals.is_raised(Signals::OVERFLOW) {
                    continue; // it will re-sync from a snapshot
                }
                if let Err(mpsc::error::TrySendError::Full(_)) = conn.tx.try_send(frame.clone()) {
                    conn.signals.raise(Signals::OVERFLOW);
                }
            }
        }
        inner.position = inner.position.max(upto);
        self.watermark.advance(inner.position);
    }

    /// Offer an ephemeral frame to the topic's other subscribers. Best effort:
    /// a socket whose queue is full misses it (no re-sync for a signal).
    pub fn signal(&self, frame: Arc<Frame>, from: Option<ConnId>) {
        let inner = self.lock();
        let Some(ids) = inner.topics.get(&frame.topic) else { return };
        for id in ids.iter().filter(|&&id| Some(id) != from) {
            if let Some(conn) = inner.conns.get(id) {
                let _ = conn.tx.try_send(frame.clone());
            }
        }
    }

    /// How many sockets here follow `topic`.
    pub fn followers(&self, topic: &Topic) -> u64 {
        self.lock().topics.get(topic).map_or(0, |ids| ids.len() as u64)
    }

    /// Who follows what here, for presence: sockets per counted topic
    /// (`presence:{product}`, `carts:{product}`), and the names of the staff
    /// following the console's `staff` topic (sorted, once each).
    pub fn presence(&self) -> (HashMap<Topic, u64>, Vec<String>) {
        let inner = self.lock();
        let counts = inner
            .topics
            .iter()
            .filter(|(topic, _)| matches!(topic, Topic::Presence(_) | Topic::Carts(_)))
            .map(|(topic, ids)| (topic.clone(), ids.len() as u64))
            .collect();
        let mut names: Vec<String> = inner
            .topics
            .get(&Topic::Staff)
            .into_iter()
            .flatten()
            .filter_map(|id| inner.conns.get(id)?.staff_name.as_deref().map(str::to_string))
            .collect();
        names.sort_unstable();
        names.dedup();
        (counts, names)
    }

    /// A socket wrote `n` frames (counted per flush, not per frame).
    pub fn count_sent(&self, n: usize) {
        self.frames_sent.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn count_resync(&self) {
        self.resyncs.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub fn counts(&self) -> Counts {
        Counts {
            frames_sent: self.frames_sent.load(Ordering::Relaxed),
            resyncs: self.resyncs.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
        }
    }

    /// (sockets, subscriptions), for health and benchmarks.
    pub fn stats(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.conns.len(), inner.topics.values().map(FxHashSet::len).sum())
    }
}

/// The session signed out: its sockets leave every private topic now, before
/// any later frame is offered, and are told so.
fn sign_out(inner: &mut Inner, session: i64) {
    let Inner { conns, topics, .. } = inner;
    for (id, conn) in conns.iter_mut().filter(|(_, c)| c.session == Some(session)) {
        conn.anonymous = true;
        conn.topics.retain(|topic| {
            let keep = topic.is_public();
            if !keep {
                remove_subscriber(topics, topic, *id);
            }
            keep
        });
        conn.signals.raise(Signals::SIGNED_OUT);
    }
}

fn remove_subscriber(topics: &mut HashMap<Topic, FxHashSet<ConnId>>, topic: &Topic, id: ConnId) {
    if let Some(ids) = topics.get_mut(topic) {
        ids.remove(&id);
        if ids.is_empty() {
            topics.remove(topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::extract::ws::Utf8Bytes;

    use super::*;

    fn frame(topic: Topic, seq: i64) -> Published {
        Published::Frame(Arc::new(Frame::logged(topic, Seq(seq), Utf8Bytes::from(format!("{seq}")))))
    }

    #[tokio::test]
    async fn frames_reach_only_the_topics_subscribers() {
        let hub = Hub::new(8);
        let mut a = hub.connect(None);
        let mut b = hub.connect(None);
        assert_eq!(hub.subscribe(a.id, &Topic::Catalog), Some(Seq(0)));
        hub.publish(&[frame(Topic::Catalog, 1), frame(Topic::Product(app::model::ProductId(1)), 2)], Seq(2));
        assert_eq!(a.frames.recv().await.map(|f| f.seq), Some(Seq(1)));
        assert!(a.frames.try_recv().is_err());
        assert!(b.frames.try_recv().is_err());
        assert_eq!(hub.subscribe(b.id, &Topic::Catalog), Some(Seq(2)));
        hub.disconnect(a.id);
        assert_eq!(hub.stats(), (1, 1));
    }

    #[tokio::test]
    async fn a_full_queue_raises_overflow_instead_of_growing() {
        let hub = Hub::new(2);
        let conn = hub.connect(None);
        let _ = hub.subscribe(conn.id, &Topic::Catalog);
        let frames: Vec<_> = (1..=5).map(|s| frame(Topic::Catalog, s)).collect();
        hub.publish(&frames, Seq(5));
        assert_eq!(conn.frames.len(), 2);
        let raised = tokio::time::timeout(std::time::Duration::from_secs(1), conn.signals.wait()).await.expect("overflow raised");
        assert_eq!(raised, Signals::OVERFLOW);
        assert!(!conn.signals.is_raised(Signals::OVERFLOW), "waiting lowers the flag");
    }

    #[tokio::test]
    async fn a_sign_out_stops_private_frames_after_it_for_that_session_only() {
        use app::model::{CustomerId, OrderId};
        let hub = Hub::new(16);
        let mut phone = hub.connect(Some(11));
        let mut laptop = hub.connect(Some(22));
        let (mine, order) = (Topic::Orders(CustomerId(5)), Topic::Order(OrderId(9)));
        for conn in [&phone, &laptop] {
            for topic in [&mine, &order, &Topic::Catalog] {
                assert!(hub.subscribe(conn.id, topic).is_some());
            }
        }
        // Committed before the sign-out: delivered; after it: not, on the phone only.
        let items = [
            frame(mine.clone(), 1),
            Published::SignOut { seq: Seq(2), session: 11 },
            frame(mine.clone(), 3),
            frame(order.clone(), 4),
            frame(Topic::Catalog, 5),
        ];
        hub.publish(&items, Seq(5));
        let seqs = |c: &mut Connection| std::iter::from_fn(|| c.frames.try_recv().ok()).map(|f| f.seq.0).collect::<Vec<_>>();
        assert_eq!(seqs(&mut phone), vec![1, 5]);
        assert_eq!(seqs(&mut laptop), vec![1, 3, 4, 5], "the same user's other device keeps its topics");
        let told = tokio::time::timeout(std::time::Duration::from_secs(1), phone.signals.wait()).await.expect("told");
        assert_eq!(told, Signals::SIGNED_OUT);
        assert!(!laptop.signals.is_raised(Signals::SIGNED_OUT));
        assert_eq!(hub.subscribe(phone.id, &order), None, "no private topic after signing out");
        assert!(hub.subscribe(phone.id, &Topic::Catalog).is_some());
    }
}
