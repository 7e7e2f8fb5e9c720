//! Presence: how many people have a product page open, over every instance,
//! and which staff have the console open. Counted from the hub's
//! subscriptions (no row is written per page view). Instances sharing
//! PostgreSQL tell each other their counts on a NOTIFY channel: what changed,
//! once a second at most, and everything every few seconds; an instance not
//! heard from for [`FORGET_AFTER`] is forgotten. Sockets hear a `presence`
//! frame when their page's figure changes (at most once a second) and when
//! they subscribe. Shoppers get counts only; staff names travel only to staff.
//! The same channel carries "typing" to the other instances' sockets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use app::model::ProductId;
use app::protocol::{PresenceFigure, ServerMsg, Topic};
use app::server::Db;
use serde::{Deserialize, Serialize};

use super::frame::{Frame, encode};
use super::hub::Hub;

/// How often counts are compared and sent.
const TICK: Duration = Duration::from_secs(1);
/// How often an instance announces everything (not only what changed).
const FULL_EVERY: Duration = Duration::from_secs(3);
/// An instance not heard from for this long has stopped (or lost its network).
pub const FORGET_AFTER: Duration = Duration::from_secs(8);
/// Products per announcement: a NOTIFY payload holds at most 8,000 bytes, and
/// an entry is at most ~42 (two 20-digit numbers), leaving room for staff names.
const PER_ANNOUNCEMENT: usize = 120;

/// One instance's announcement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Announcement {
    /// The announcing instance.
    i: u64,
    /// Everything this instance counts starts here (forget what it said before).
    #[serde(default)]
    f: bool,
    /// (product, sockets); 0: none any more.
    #[serde(default)]
    p: Vec<(i64, u64)>,
    /// Staff with the console open there (when it changed, or in full).
    #[serde(default)]
    s: Option<Vec<String>>,
    /// Someone there is typing in this conversation (and whether as staff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<(String, bool)>,
}

#[derive(Debug)]
struct Remote {
    products: HashMap<ProductId, u64>,
    staff: Vec<String>,
    heard: Instant,
}

#[derive(Debug, Default)]
struct State {
    remote: HashMap<u64, Remote>,
    /// What this instance's sockets were last told, per topic.
    shown: HashMap<Topic, (u64, Vec<String>)>,
    /// What this instance last announced.
    announced: HashMap<ProductId, u64>,
    announced_staff: Vec<String>,
    last_full: Option<Instant>,
}

pub struct Presence {
    hub: Arc<Hub>,
    instance: u64,
    state: Mutex<State>,
}

impl Presence {
    pub fn new(hub: Arc<Hub>) -> Arc<Self> {
        let instance = rand_id();
        Arc::new(Self { hub, instance, state: Mutex::default() })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The figure a socket subscribing to `topic` gets as its snapshot
    /// (`presence:{product}`, or the console's `staff`); `None` for other topics.
    pub fn current(&self, topic: &Topic) -> Option<PresenceFigure> {
        match topic {
            Topic::Presence(id) => {
                let local = self.hub.followers(topic);
                let remote: u64 = self.lock().remote.values().filter_map(|r| r.products.get(id)).sum();
                Some(PresenceFigure { count: local + remote, names: Vec::new() })
            }
            Topic::Staff => {
                let (_, local) = self.hub.presence();
                let names = merged_names(local, &self.lock());
                Some(PresenceFigure { count: names.len() as u64, names })
            }
            _ => None,
        }
    }

    /// Compare, announce, and tell this instance's sockets what changed.
    async fn tick(&self, db: &Db) {
        let (local, staff) = self.hub.presence();
        for announcement in self.announcements(&local, &staff) {
            match serde_json::to_string(&announcement) {
                Ok(text) => {
                    if let Err(err) = db.announce_presence(&text).await {
                        tracing::warn!(error = ?err, "presence: announcing failed");
                    }
                }
                Err(err) => tracing::warn!(error = ?err, "presence: encoding an announcement failed"),
            }
        }
        for (topic, count, names) in self.changed(&local, staff) {
            let text = encode(&ServerMsg::Presence { topic: topic.clone(), count, names });
            self.hub.signal(Arc::new(Frame::ephemeral(topic, text)), None);
        }
    }

    /// What to tell the other instances now: what changed since the last
    /// announcement, or everything every [`FULL_EVERY`].
    fn announcements(&self, local: &HashMap<ProductId, u64>, staff: &[String]) -> Vec<Announcement> {
        let mut state = self.lock();
        let now = Instant::now();
        let full = state.last_full.is_none_or(|at| now.duration_since(at) >= FULL_EVERY);
        let mut products: Vec<(i64, u64)> = if full {
            local.iter().map(|(id, n)| (id.0, *n)).collect()
        } else {
            let mut changed: Vec<(i64, u64)> =
                local.iter().filter(|(id, n)| state.announced.get(id) != Some(n)).map(|(id, n)| (id.0, *n)).collect();
            changed.extend(state.announced.keys().filter(|id| !local.contains_key(id)).map(|id| (id.0, 0)));
            changed
        };
        products.sort_unstable();
        let staff_changed = state.announced_staff != staff;
        if !full && products.is_empty() && !staff_changed {
            return Vec::new();
        }
        if full {
            state.last_full = Some(now);
        }
        state.announced = local.clone();
        state.announced_staff = staff.to_vec();
        let mut out: Vec<Announcement> = products
            .chunks(PER_ANNOUNCEMENT)
            .map(|chunk| Announcement { i: self.instance, p: chunk.to_vec(), ..Announcement::default() })
            .collect();
        if out.is_empty() {
            out.push(Announcement { i: self.instance, ..Announcement::default() });
        }
        out[0].f = full;
        out[0].s = (full || staff_changed).then(|| staff.to_vec());
        out
    }

    /// Tell the other instances that someone here is typing in `topic`
    /// (their sockets following it hear it too).
    pub fn relay_typing(&self, db: &Db, topic: &Topic, from_staff: bool) {
        if !db.is_postgres() {
            return;
        }
        let announcement = Announcement { i: self.instance, t: Some((topic.to_string(), from_staff)), ..Announcement::default() };
        let (db, text) = (db.clone(), serde_json::to_string(&announcement).unwrap_or_default());
        tokio::spawn(async move {
            if let Err(err) = db.announce_presence(&text).await {
                tracing::debug!(error = ?err, "presence: relaying typing failed");
            }
        });
    }

    /// Take in another instance's announcement.
    fn heard(&self, announcement: Announcement) {
        if announcement.i == self.instance {
            return;
        }
        if let Some((topic, from_staff)) = announcement.t {
            if let Ok(topic @ Topic::Conversation(_)) = topic.parse::<Topic>() {
                let text = encode(&ServerMsg::Typing { topic: topic.clone(), from_staff });
                self.hub.signal(Arc::new(Frame::ephemeral(topic, text)), None);
            }
            return;
        }
        let mut state = self.lock();
        let remote = state.remote.entry(announcement.i).or_insert_with(|| Remote {
            products: HashMap::new(),
            staff: Vec::new(),
            heard: Instant::now(),
        });
        remote.heard = Instant::now();
        if announcement.f {
            remote.products.clear();
        }
        for (id, n) in announcement.p {
            if n == 0 {
                remote.products.remove(&ProductId(id));
            } else {
                remote.products.insert(ProductId(id), n);
            }
        }
        if let Some(staff) = announcement.s {
            remote.staff = staff;
        }
    }

    /// The figures that differ from what this instance's sockets were last
    /// told (forgetting instances gone quiet).
    fn changed(&self, local: &HashMap<ProductId, u64>, staff: Vec<String>) -> Vec<(Topic, u64, Vec<String>)> {
        let mut state = self.lock();
        let now = Instant::now();
        state.remote.retain(|_, r| now.duration_since(r.heard) < FORGET_AFTER);
        let mut out = Vec::new();
        let mut followed: std::collections::HashSet<Topic> = std::collections::HashSet::with_capacity(local.len() + 1);
        for (id, n) in local {
            let total = n + state.remote.values().filter_map(|r| r.products.get(id)).sum::<u64>();
            let topic = Topic::Presence(*id);
            followed.insert(topic.clone());
            if state.shown.get(&topic).map(|s| s.0) != Some(total) {
                state.shown.insert(topic.clone(), (total, Vec::new()));
                out.push((topic, total, Vec::new()));
            }
        }
        if self.hub.followers(&Topic::Staff) > 0 {
            let names = merged_names(staff, &state);
            followed.insert(Topic::Staff);
            if state.shown.get(&Topic::Staff).map(|s| &s.1) != Some(&names) {
                state.shown.insert(Topic::Staff, (names.len() as u64, names.clone()));
                out.push((Topic::Staff, names.len() as u64, names));
            }
        }
        state.shown.retain(|topic, _| followed.contains(topic));
        out
    }
}

fn merged_names(mut names: Vec<String>, state: &State) -> Vec<String> {
    names.extend(state.remote.values().flat_map(|r| r.staff.iter().cloned()));
    names.sort_unstable();
    names.dedup();
    names
}

fn rand_id() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// Count, announce and listen, for as long as the server runs.
pub async fn run_presence(presence: Arc<Presence>, db: Db) {
    if db.is_postgres() {
        tokio::spawn(listen(presence.clone(), db.clone()));
    }
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        presence.tick(&db).await;
    }
}

/// Hear the other instances; a LISTEN connection that cannot be made is tried
/// again (meanwhile this instance counts only itself).
async fn listen(presence: Arc<Presence>, db: Db) {
    loop {
        match db.presence_listener().await {
            Ok(Some(mut listener)) => loop {
                if let Some(text) = listener.next().await {
                    match serde_json::from_str::<Announcement>(&text) {
                        Ok(announcement) => presence.heard(announcement),
                        Err(err) => tracing::warn!(error = ?err, "presence: an announcement that does not parse; ignored"),
                    }
                }
            },
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(error = ?err, "presence: no LISTEN connection yet; counting this instance only, trying again");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(i64, u64)]) -> HashMap<ProductId, u64> {
        pairs.iter().map(|(id, n)| (ProductId(*id), *n)).collect()
    }

    #[test]
    fn announcements_say_what_changed_and_everything_now_and_then() {
        let presence = Presence::new(Arc::new(Hub::new(8)));
        let first = presence.announcements(&counts(&[(1, 2), (2, 1)]), &["ann".into()]);
        assert_eq!(first.len(), 1);
        assert!(first[0].f, "the first announcement is in full");
        assert_eq!(first[0].p, [(1, 2), (2, 1)]);
        assert_eq!(first[0].s.as_deref(), Some(&["ann".to_string()][..]));
        assert!(presence.announcements(&counts(&[(1, 2), (2, 1)]), &["ann".into()]).is_empty(), "nothing changed");
        let next = presence.announcements(&counts(&[(1, 3)]), &["ann".into()]);
        assert_eq!((next[0].f, next[0].p.clone(), next[0].s.clone()), (false, vec![(1, 3), (2, 0)], None));
        // A big catalog's counts are split to fit NOTIFY's payload limit.
        presence.lock().last_full = None;
        let many: HashMap<ProductId, u64> = (1..=600).map(|i| (ProductId(i), 1)).collect();
        let parts = presence.announcements(&many, &[]);
        assert_eq!(parts.len(), 5);
        assert!(parts.iter().all(|p| serde_json::to_string(p).expect("json").len() < 8000));
        assert!(parts[0].f && !parts[1].f);
    }

    #[test]
    fn other_instances_add_to_the_count_until_they_go_quiet() {
        let presence = Presence::new(Arc::new(Hub::new(8)));
        let local = counts(&[(1, 2)]);
        assert_eq!(presence.changed(&local, Vec::new()), [(Topic::Presence(ProductId(1)), 2, Vec::new())]);
        presence.heard(Announcement { i: 77, f: true, p: vec![(1, 5), (9, 1)], s: Some(vec!["bo".into()]), t: None });
        assert_eq!(presence.changed(&local, Vec::new()), [(Topic::Presence(ProductId(1)), 7, Vec::new())]);
        assert!(presence.changed(&local, Vec::new()).is_empty(), "told once");
        presence.heard(Announcement { i: 77, p: vec![(1, 0)], ..Announcement::default() });
        assert_eq!(presence.changed(&local, Vec::new()), [(Topic::Presence(ProductId(1)), 2, Vec::new())]);
        // Its own announcements echo back through NOTIFY: not counted twice.
        presence.heard(Announcement { i: presence.instance, f: true, p: vec![(1, 2)], ..Announcement::default() });
        assert!(presence.changed(&local, Vec::new()).is_empty());
        // An instance not heard from is forgotten.
        presence.heard(Announcement { i: 78, f: true, p: vec![(1, 4)], ..Announcement::default() });
        assert_eq!(presence.changed(&local, Vec::new())[0].1, 6);
        if let Some(r) = presence.lock().remote.get_mut(&78) {
            r.heard = Instant::now().checked_sub(FORGET_AFTER).expect("an instant in the past");
        }
        assert_eq!(presence.changed(&local, Vec::new())[0].1, 2);
    }
}
