//! A keyed token bucket for sign-in and registration attempts, where only some
//! outcomes count: an attempt takes a token before it runs (so parallel
//! attempts cannot slip past the limit) and a sign-in that succeeds gives it
//! back. `governor` has no way to give a token back, hence this small one.
//! Keys are chosen by whoever is asking (usernames, addresses), so the map is
//! bounded: keys whose bucket has refilled are forgotten by [`Limiter::prune`],
//! and past `max_keys` new keys are not tracked until pruning makes room.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most this many keys per limiter (about 48 bytes each).
pub const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug)]
pub struct Limiter<K> {
    burst: f64,
    per_second: f64,
    max_keys: usize,
    buckets: Mutex<HashMap<K, Bucket>>,
}

/// A token taken for an attempt; [`Limiter::refund`] gives it back.
#[derive(Debug)]
#[must_use]
pub struct Taken<K>(Option<K>);

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// `burst` attempts at once, then one more every `every`.
    pub fn new(burst: u32, every: Duration) -> Self {
        Self::with_capacity(burst, every, MAX_KEYS)
    }

    pub fn with_capacity(burst: u32, every: Duration, max_keys: usize) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            per_second: 1.0 / every.as_secs_f64().max(1e-9),
            max_keys,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Bucket>> {
        self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.tokens + elapsed * self.per_second).min(self.burst)
    }

    /// Take a token for `key`, or say how long until one is free.
    pub fn take(&self, key: &K, now: Instant) -> Result<Taken<K>, Duration> {
        let mut buckets = self.lock();
        let tokens = match buckets.get(key) {
            Some(b) => self.refilled(*b, now),
            None if buckets.len() >= self.max_keys => return Ok(Taken(None)), // not tracked until pruned
            None => self.burst,
        };
        if tokens < 1.0 {
            let wait = (1.0 - tokens) / self.per_second;
            return Err(Duration::from_secs_f64(wait.max(0.001)));
        }
        buckets.insert(key.clone(), Bucket { tokens: tokens - 1.0, at: now });
        Ok(Taken(Some(key.clone())))
    }

    /// Give a token back (the attempt did not count).
    pub fn refund(&self, taken: Taken<K>, now: Instant) {
        let Some(key) = taken.0 else { return };
        let mut buckets = self.lock();
        if let Some(b) = buckets.get_mut(&key) {
            let tokens = self.refilled(*b, now);
            *b = Bucket { tokens: (tokens + 1.0).min(self.burst), at: now };
        }
    }

    /// Forget every key whose bucket is full again: it behaves as if never seen.
    pub fn prune(&self, now: Instant) {
        let mut buckets = self.lock();
        buckets.retain(|_, b| self.refilled(*b, now) < self.burst);
        let keep = buckets.len().max(1024);
        buckets.shrink_to(keep);
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_more_every_interval() {
        let limiter = Limiter::new(3, Duration::from_secs(6));
        let t0 = Instant::now();
        for _ in 0..3 {
            let _ = limiter.take(&"ann", t0).expect("within the burst");
        }
        let wait = limiter.take(&"ann", t0).expect_err("over the burst");
        assert!(wait <= Duration::from_secs(6) && wait > Duration::from_secs(5), "{wait:?}");
        assert!(limiter.take(&"bob", t0).is_ok(), "other keys are not affected");
        let _ = limiter.take(&"ann", t0 + Duration::from_secs(6)).expect("refilled one");
    }

    #[test]
    fn a_refunded_attempt_does_not_count() {
        let limiter = Limiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..10 {
            let taken = limiter.take(&"ann", t0).expect("successes never run out");
            limiter.refund(taken, t0);
        }
        let _ = limiter.take(&"ann", t0).expect("first failure");
        let _ = limiter.take(&"ann", t0).expect("second failure");
        assert!(limiter.take(&"ann", t0).is_err(), "the third failure in a row is refused");
    }

    #[test]
    fn memory_stays_flat_under_100000_distinct_usernames() {
        let limiter = Limiter::new(10, Duration::from_secs(6));
        let t0 = Instant::now();
        // An attacker tries 100,000 made-up usernames, once each, three times over.
        for round in 0..3u64 {
            let now = t0 + Duration::from_secs(60 * round);
            for i in 0..100_000 {
                let _ = limiter.take(&format!("user{round}-{i}"), now);
            }
            assert!(limiter.len() <= MAX_KEYS, "bounded while the flood lasts: {}", limiter.len());
            limiter.prune(now + Duration::from_secs(7));
            assert_eq!(limiter.len(), 0, "every bucket refilled, every key forgotten");
        }
        // Past the bound new keys are simply not tracked; known ones still are.
        let small = Limiter::with_capacity(1, Duration::from_secs(60), 2);
        let _ = small.take(&"a", t0).expect("a");
        let _ = small.take(&"b", t0).expect("b");
        assert!(small.take(&"a", t0).is_err(), "a is still limited");
        assert!(small.take(&"c", t0).is_ok() && small.len() == 2, "c is not tracked");
    }
}
