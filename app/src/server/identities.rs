//! Who recently seen sessions belong to, kept for a second so that a signed-in
//! shopper's requests do not each read their session row and their account.
//!
//! An entry is trusted for [`FRESH_FOR`] at most, and dropped at once when
//! this instance learns it may be wrong:
//! - the session store deletes or saves the session (sign-out, sign-in's new
//!   id, any change to its record): [`Identities::forget_session`];
//! - a purchase saves the account's address: [`Identities::forget_user`];
//! - the feed passes a sign-out made on another instance:
//!   [`Identities::forget_signed_out`].
//!
//! What no instance is told of (an outside writer editing `users`, another
//! instance's address save) is seen within [`FRESH_FOR`], as if the request
//! had started a second earlier. A lookup racing a forget never stores what it
//! read: every forget moves a generation that [`Identities::remember`] checks.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tower_sessions::session::Id;

use super::sessions::sign_out_key;
use crate::model::{CustomerId, User};

/// How long a remembered identity is used without reading it again.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// Entries at most. A session is remembered only after its row and account
/// were read, so this bounds the sessions seen within a second, not anything a
/// client can make up; past it, lookups simply go to the database.
const MAX_KNOWN: usize = 100_000;

#[derive(Debug)]
struct Known {
    user: User,
    read_at: Instant,
    /// The session's `sign_out_key`, to match the feed's sign-out facts.
    sign_out_key: i64,
}

#[derive(Debug, Default)]
struct Inner {
    known: HashMap<Id, Known>,
    /// The sessions of each account in `known`.
    by_user: HashMap<CustomerId, Vec<Id>>,
    /// Each entry of `known` by its `sign_out_key`.
    by_key: HashMap<i64, Id>,
    /// Moved by every forget: a read that began before it is not stored.
    generation: u64,
}

impl Inner {
    fn remove(&mut self, session: &Id) {
        let Some(known) = self.known.remove(session) else { return };
        self.by_key.remove(&known.sign_out_key);
        if let Some(sessions) = self.by_user.get_mut(&known.user.id) {
            sessions.retain(|s| s != session);
            if sessions.is_empty() {
                self.by_user.remove(&known.user.id);
            }
        }
    }

    fn prune(&mut self, now: Instant) {
        let stale: Vec<Id> =
            self.known.iter().filter(|(_, k)| now.saturating_duration_since(k.read_at) >= FRESH_FOR).map(|(id, _)| *id).collect();
        for id in &stale {
            self.remove(id);
        }
    }
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Identities(Mutex<Inner>);

/// Where a lookup started, for [`Identities::remember`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookup {
    generation: u64,
}

impl Identities {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves maps that are still valid.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The user behind `session` if it was read less than [`FRESH_FOR`] ago;
    /// otherwise `Err` with what [`Identities::remember`] needs after reading it.
    pub fn get(&self, session: &Id, now: Instant) -> Result<User, Lookup> {
        let inner = self.inner();
        match inner.known.get(session) {
            Some(known) if now.saturating_duration_since(known.read_at) < FRESH_FOR => Ok(known.user.clone()),
            _ => Err(Lookup { generation: inner.generation }),
        }
    }

    /// Keep what was read for `session` since `lookup`, unless something was
    /// forgotten meanwhile (then the read may predate it).
    pub fn remember(&self, lookup: Lookup, session: Id, user: &User, now: Instant) {
        let key = sign_out_key(&session);
        let mut inner = self.inner();
        if inner.generation != lookup.generation {
            return;
        }
        inner.remove(&session);
        if inner.known.len() >= MAX_KNOWN {
            inner.prune(now);
            if inner.known.len() >= MAX_KNOWN {
                return;
            }
        }
        inner.known.insert(session, Known { user: user.clone(), read_at: now, sign_out_key: key });
        inner.by_key.insert(key, session);
        inner.by_user.entry(user.id).or_default().push(session);
    }

    /// The session's record changed or ended.
    pub fn forget_session(&self, session: &Id) {
        let mut inner = self.inner();
        inner.generation += 1;
        inner.remove(session);
    }

    /// The account changed: every session of it reads it again.
    pub fn forget_user(&self, user: CustomerId) {
        let mut inner = self.inner();
        inner.generation += 1;
        for session in inner.by_user.remove(&user).unwrap_or_default() {
            inner.remove(&session);
        }
    }

    /// A session with this `sign_out_key` signed out (on any instance).
    pub fn forget_signed_out(&self, key: i64) {
        let mut inner = self.inner();
        inner.generation += 1;
        if let Some(session) = inner.by_key.get(&key).copied() {
            inner.remove(&session);
        }
    }

    /// Drop entries too old to be used (run now and then).
    pub fn prune(&self, now: Instant) {
        self.inner().prune(now);
    }

    /// Sessions remembered (tests check pruning with it).
    pub fn len(&self) -> usize {
        self.inner().known.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64) -> User {
        User { id: CustomerId(id), username: format!("u{id}"), is_staff: false, address: None }
    }

    #[test]
    fn an_identity_is_used_for_a_second_then_read_again() {
        let ids = Identities::default();
        let t0 = Instant::now();
        let lookup = ids.get(&Id(1), t0).expect_err("not remembered yet");
        ids.remember(lookup, Id(1), &user(7), t0);
        assert_eq!(ids.get(&Id(1), t0 + Duration::from_millis(999)).map(|u| u.id), Ok(CustomerId(7)));
        assert!(ids.get(&Id(1), t0 + FRESH_FOR).is_err());
        assert!(ids.get(&Id(2), t0).is_err(), "another session is not this one");
    }

    #[test]
    fn forgetting_drops_the_entry_and_any_read_that_began_before() {
        let ids = Identities::default();
        let t0 = Instant::now();
        for (forget, what) in [
            (Box::new(|ids: &Identities| ids.forget_session(&Id(1))) as Box<dyn Fn(&Identities)>, "session"),
            (Box::new(|ids: &Identities| ids.forget_user(CustomerId(7))), "user"),
            (Box::new(|ids: &Identities| ids.forget_signed_out(sign_out_key(&Id(1)))), "sign-out"),
        ] {
            let lookup = ids.get(&Id(1), t0).expect_err("not remembered yet");
            ids.remember(lookup, Id(1), &user(7), t0);
            forget(&ids);
            assert!(ids.get(&Id(1), t0).is_err(), "{what}: forgotten");

            // A read that started before the forget must not be stored after it.
            let stale = ids.get(&Id(1), t0).expect_err("not remembered yet");
            forget(&ids);
            ids.remember(stale, Id(1), &user(7), t0);
            assert!(ids.get(&Id(1), t0).is_err(), "{what}: a racing read was kept");
        }
    }

    #[test]
    fn other_users_and_sessions_are_kept() {
        let ids = Identities::default();
        let t0 = Instant::now();
        for (session, who) in [(1, 7), (2, 8)] {
            let lookup = ids.get(&Id(session), t0).expect_err("not remembered yet");
            ids.remember(lookup, Id(session), &user(who), t0);
        }
        ids.forget_user(CustomerId(7));
        assert!(ids.get(&Id(1), t0).is_err());
        assert_eq!(ids.get(&Id(2), t0).map(|u| u.id), Ok(CustomerId(8)));
        ids.prune(t0 + FRESH_FOR);
        assert!(ids.is_empty());
        let users_left = ids.inner().by_user.len();
        let keys_left = ids.inner().by_key.len();
        assert_eq!((users_left, keys_left), (0, 0), "the indexes are pruned with the entries");
    }
}
