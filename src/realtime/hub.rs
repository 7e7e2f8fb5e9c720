//! Topic -> subscribers, with a bounded queue per socket. The only holder of
//! subscriber queues. A socket whose queue overflows is flagged and re-synced
//! with snapshots instead of growing without bound.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use app::protocol::{Seq, Topic};
use app::server::Watermark;
use axum::extract::ws::Utf8Bytes;
use tokio::sync::{Notify, mpsc};

/// One encoded server frame for one topic, shared by every subscriber.
#[derive(Debug)]
pub struct Frame {
    pub topic: Topic,
    pub seq: Seq,
    pub text: Utf8Bytes,
}

/// Raised when a socket's queue was full and frames were skipped.
#[derive(Debug, Default)]
pub struct Overflow {
    flag: AtomicBool,
    notify: Notify,
}

impl Overflow {
    fn raise(&self) {
        if !self.flag.swap(true, Ordering::AcqRel) {
            self.notify.notify_one();
        }
    }

    fn is_raised(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Wait until raised, then lower it.
    pub async fn wait(&self) {
        loop {
            if self.flag.swap(false, Ordering::AcqRel) {
                return;
            }
            self.notify.notified().await;
        }
    }
}

type ConnId = u64;

struct Conn {
    tx: mpsc::Sender<Arc<Frame>>,
    overflow: Arc<Overflow>,
    topics: HashSet<Topic>,
}

#[derive(Default)]
struct Inner {
    /// Every frame with `seq <= position` has been offered to the subscribers
    /// registered when it was published.
    position: Seq,
    topics: HashMap<Topic, HashSet<ConnId>>,
    conns: HashMap<ConnId, Conn>,
    next_id: ConnId,
}

pub struct Hub {
    inner: Mutex<Inner>,
    watermark: Watermark,
    queue: usize,
}

/// A socket's end of the hub.
pub struct Connection {
    pub id: ConnId,
    pub frames: mpsc::Receiver<Arc<Frame>>,
    pub overflow: Arc<Overflow>,
}

impl Hub {
    pub fn new(queue: usize) -> Self {
        Self { inner: Mutex::default(), watermark: Watermark::default(), queue: queue.max(1) }
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

    pub fn connect(&self) -> Connection {
        let (tx, frames) = mpsc::channel(self.queue);
        let overflow = Arc::new(Overflow::default());
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.conns.insert(id, Conn { tx, overflow: overflow.clone(), topics: HashSet::new() });
        Connection { id, frames, overflow }
    }

    /// Start queueing `topic`'s frames for the socket. Returns the position at that
    /// moment: frames above it will be queued, frames at or below it are already
    /// in the database for a snapshot or replay to read.
    pub fn subscribe(&self, id: ConnId, topic: &Topic) -> Seq {
        let mut inner = self.lock();
        if let Some(conn) = inner.conns.get_mut(&id) {
            conn.topics.insert(topic.clone());
            inner.topics.entry(topic.clone()).or_default().insert(id);
        }
        inner.position
    }

    pub fn unsubscribe(&self, id: ConnId, topic: &Topic) {
        let mut inner = self.lock();
        if let Some(conn) = inner.conns.get_mut(&id) {
            conn.topics.remove(topic);
        }
        remove_subscriber(&mut inner.topics, topic, id);
    }

    pub fn disconnect(&self, id: ConnId) {
        let mut inner = self.lock();
        if let Some(conn) = inner.conns.remove(&id) {
            for topic in &conn.topics {
                remove_subscriber(&mut inner.topics, topic, id);
            }
        }
    }

    /// Offer `frames` (in seq order) to their topics' subscribers and move the
    /// position to `upto`. Never blocks: a full queue flags its socket for re-sync.
    pub fn publish(&self, frames: &[Arc<Frame>], upto: Seq) {
        let mut inner = self.lock();
        for frame in frames {
            let Some(ids) = inner.topics.get(&frame.topic) else { continue };
            for id in ids {
                let Some(conn) = inner.conns.get(id) else { continue };
                if conn.overflow.is_raised() {
                    continue; // it will re-sync from a snapshot
                }
                if let Err(mpsc::error::TrySendError::Full(_)) = conn.tx.try_send(frame.clone()) {
                    conn.overflow.raise();
                }
            }
        }
        inner.position = inner.position.max(upto);
        self.watermark.advance(inner.position);
    }

    /// (sockets, subscriptions), for health and benchmarks.
    pub fn stats(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.conns.len(), inner.topics.values().map(HashSet::len).sum())
    }
}

fn remove_subscriber(topics: &mut HashMap<Topic, HashSet<ConnId>>, topic: &Topic, id: ConnId) {
    if let Some(ids) = topics.get_mut(topic) {
        ids.remove(&id);
        if ids.is_empty() {
            topics.remove(topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(topic: Topic, seq: i64) -> Arc<Frame> {
        Arc::new(Frame { topic, seq: Seq(seq), text: Utf8Bytes::from(format!("{seq}")) })
    }

    #[tokio::test]
    async fn frames_reach_only_the_topics_subscribers() {
        let hub = Hub::new(8);
        let mut a = hub.connect();
        let mut b = hub.connect();
        assert_eq!(hub.subscribe(a.id, &Topic::Catalog), Seq(0));
        hub.publish(&[frame(Topic::Catalog, 1), frame(Topic::Product(app::model::ProductId(1)), 2)], Seq(2));
        assert_eq!(a.frames.recv().await.map(|f| f.seq), Some(Seq(1)));
        assert!(a.frames.try_recv().is_err());
        assert!(b.frames.try_recv().is_err());
        assert_eq!(hub.subscribe(b.id, &Topic::Catalog), Seq(2));
        hub.disconnect(a.id);
        assert_eq!(hub.stats(), (1, 1));
    }

    #[tokio::test]
    async fn a_full_queue_raises_overflow_instead_of_growing() {
        let hub = Hub::new(2);
        let conn = hub.connect();
        hub.subscribe(conn.id, &Topic::Catalog);
        let frames: Vec<_> = (1..=5).map(|s| frame(Topic::Catalog, s)).collect();
        hub.publish(&frames, Seq(5));
        assert_eq!(conn.frames.len(), 2);
        tokio::time::timeout(std::time::Duration::from_secs(1), conn.overflow.wait()).await.expect("overflow raised");
        assert!(!conn.overflow.is_raised(), "waiting lowers the flag");
    }
}
