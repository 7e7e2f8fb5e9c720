//! Presence: how many people have a product page open and how many carts
//! hold a product, over every instance, and which staff have the console
//! open. Counted from the hub's subscriptions (no row is written per page
//! view): a page follows `presence:{product}` while it shows the product, and
//! `carts:{product}` while its cart holds it. Instances sharing PostgreSQL
//! tell each other their counts on a NOTIFY channel: what changed, once a
//! second at most, and everything every few seconds; an instance not heard
//! from for [`FORGET_AFTER`] is forgotten. Sockets hear a `presence` frame
//! when their topic's figure changes (at most once a second) and when they
//! subscribe. Shoppers get counts only; staff names travel only to staff.
//! The same channel carries "typing" to the other instances' sockets.

use std::collections::{HashMap, HashSet};
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
/// Counts per announcement: a NOTIFY payload holds at most 8,000 bytes, and
/// an entry is at most ~42 (two 20-digit numbers), leaving room for staff names.
const PER_ANNOUNCEMENT: usize = 120;

/// Sockets per counted topic (`presence:{product}`, `carts:{product}`).
type Counts = HashMap<Topic, u64>;

/// One instance's announcement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Announcement {
    /// The announcing instance.
    i: u64,
    /// Everything this instance counts starts here (forget what it said before).
    #[serde(default)]
    f: bool,
    /// (product, pages showing it); 0: none any more.
    #[serde(default)]
    p: Vec<(i64, u64)>,
    /// (product, carts holding it); 0: none any more.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    c: Vec<(i64, u64)>,
    /// Staff with the console open there (when it changed, or in full).
    #[serde(default)]
    s: Option<Vec<String>>,
    /// Someone there is typing in this conversation (and whether as staff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<(String, bool)>,
}

impl Announcement {
    fn counts(&self) -> impl Iterator<Item = (Topic, u64)> + '_ {
        let pages = self.p.iter().map(|(id, n)| (Topic::Presence(ProductId(*id)), *n));
        pages.chain(self.c.iter().map(|(id, n)| (Topic::Carts(ProductId(*id)), *n)))
    }

    fn push(&mut self, topic: &Topic, n: u64) {
        match topic {
            Topic::Presence(id) => self.p.push((id.0, n)),
            Topic::Carts(id) => self.c.push((id.0, n)),
            _ => {}
        }
    }
}

#[derive(Debug)]
struct Remote {
    counts: Counts,
    staff: Vec<String>,
    heard: Instant,
}

#[derive(Debug, Default)]
struct State {
    remote: HashMap<u64, Remote>,
    /// What this instance's sockets were last told, per topic.
    shown: HashMap<Topic, PresenceFigure>,
    /// What this instance last announced.
    announced: Counts,
    announced_staff: Vec<String>,
    last_full: Option<Instant>,
}

impl State {
    /// Sockets following `topic` over every instance, given this one's count.
    fn total(&self, topic: &Topic, here: u64) -> u64 {
        here + self.remote.values().filter_map(|r| r.counts.get(topic)).sum::<u64>()
    }

    /// The figure of a counted topic, given how many follow what here.
    fn figure(&self, topic: &Topic, here: impl Fn(&Topic) -> u64) -> PresenceFigure {
        let count = self.total(topic, here(topic));
        let carts = match topic {
            Topic::Presence(id) => {
                let carts = Topic::Carts(*id);
                self.total(&carts, here(&carts))
            }
            _ => 0,
        };
        PresenceFigure { count, carts, names: Vec::new() }
    }
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
    /// (`presence:{product}`, `carts:{product}`, or the console's `staff`);
    /// `None` for other topics.
    pub fn current(&self, topic: &Topic) -> Option<PresenceFigure> {
        match topic {
            Topic::Presence(_) | Topic::Carts(_) => Some(self.lock().figure(topic, |t| self.hub.followers(t))),
            Topic::Staff => {
                let (_, local) = self.hub.presence();
                let names = merged_names(local, &self.lock());
                Some(PresenceFigure { count: names.len() as u64, carts: 0, names })
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
        for (topic, PresenceFigure { count, carts, names }) in self.changed(&local, staff) {
            let text = encode(&ServerMsg::Presence { topic: topic.clone(), count, carts, names });
            self.hub.signal(Arc::new(Frame::ephemeral(topic, text)), None);
        }
    }

    /// What to tell the other instances now: what changed since the last
    /// announcement, or everything every [`FULL_EVERY`].
    fn announcements(&self, local: &Counts, staff: &[String]) -> Vec<Announcement> {
        let mut state = self.lock();
        let now = Instant::now();
        let full = state.last_full.is_none_or(|at| now.duration_since(at) >= FULL_EVERY);
        let mut counts: Vec<(Topic, u64)> = if full {
            local.iter().map(|(topic, n)| (topic.clone(), *n)).collect()
        } else {
            let mut changed: Vec<(Topic, u64)> =
                local.iter().filter(|(topic, n)| state.announced.get(topic) != Some(n)).map(|(topic, n)| (topic.clone(), *n)).collect();
            changed.extend(state.announced.keys().filter(|topic| !local.contains_key(topic)).map(|topic| (topic.clone(), 0)));
            changed
        };
        counts.sort_unstable();
        let staff_changed = state.announced_staff != staff;
        if !full && counts.is_empty() && !staff_changed {
            return Vec::new();
        }
        if full {
            state.last_full = Some(now);
        }
        let mut out: Vec<Announcement> = counts
            .chunks(PER_ANNOUNCEMENT)
            .map(|chunk| {
                let mut announcement = Announcement { i: self.instance, ..Announcement::default() };
                for (topic, n) in chunk {
                    announcement.push(topic, *n);
                }
                announcement
            })
            .collect();
        state.announced = local.clone();
        state.announced_staff = staff.to_vec();
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
            counts: HashMap::new(),
            staff: Vec::new(),
            heard: Instant::now(),
        });
        remote.heard = Instant::now();
        if announcement.f {
            remote.counts.clear();
        }
        for (topic, n) in announcement.counts() {
            if n == 0 {
                remote.counts.remove(&topic);
            } else {
                remote.counts.insert(topic, n);
            }
        }
        if let Some(staff) = announcement.s {
            remote.staff = staff;
        }
    }

    /// The figures that differ from what this instance's sockets were last
    /// told (forgetting instances gone quiet).
    fn changed(&self, local: &Counts, staff: Vec<String>) -> Vec<(Topic, PresenceFigure)> {
        let mut state = self.lock();
        let now = Instant::now();
        state.remote.retain(|_, r| now.duration_since(r.heard) < FORGET_AFTER);
        let mut out = Vec::new();
        let mut followed: HashSet<Topic> = HashSet::with_capacity(local.len() + 1);
        for topic in local.keys() {
            let figure = state.figure(topic, |t| local.get(t).copied().unwrap_or(0));
            followed.insert(topic.clone());
            if state.shown.get(topic) != Some(&figure) {
                state.shown.insert(topic.clone(), figure.clone());
                out.push((topic.clone(), figure));
            }
        }
        if self.hub.followers(&Topic::Staff) > 0 {
            let names = merged_names(staff, &state);
            let figure = PresenceFigure { count: names.len() as u64, carts: 0, names };
            followed.insert(Topic::Staff);
            if state.shown.get(&Topic::Staff) != Some(&figure) {
                state.shown.insert(Topic::Staff, figure.clone());
                out.push((Topic::Staff, figure));
            }
        }
        state.shown.retain(|topic, _| followed.contains(topic));
        out.sort_by(|a, b| a.0.cmp(&b.0));
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

    fn pages(pairs: &[(i64, u64)]) -> Counts {
        pairs.iter().map(|(id, n)| (Topic::Presence(ProductId(*id)), *n)).collect()
    }

    fn looking(n: u64, carts: u64) -> PresenceFigure {
        PresenceFigure { count: n, carts, names: Vec::new() }
    }

    #[test]
    fn announcements_say_what_changed_and_everything_now_and_then() {
        let presence = Presence::new(Arc::new(Hub::new(8)));
        let mut local = pages(&[(1, 2), (2, 1)]);
        local.insert(Topic::Carts(ProductId(2)), 3);
        let first = presence.announcements(&local, &["ann".into()]);
        assert_eq!(first.len(), 1);
        assert!(first[0].f, "the first announcement is in full");
        assert_eq!((first[0].p.clone(), first[0].c.clone()), (vec![(1, 2), (2, 1)], vec![(2, 3)]));
        assert_eq!(first[0].s.as_deref(), Some(&["ann".to_string()][..]));
        assert!(presence.announcements(&local, &["ann".into()]).is_empty(), "nothing changed");
        let next = presence.announcements(&pages(&[(1, 3)]), &["ann".into()]);
        assert_eq!((next[0].f, next[0].p.clone(), next[0].c.clone(), next[0].s.clone()), (false, vec![(1, 3), (2, 0)], vec![(2, 0)], None));
        // A big catalog's counts are split to fit NOTIFY's payload limit.
        presence.lock().last_full = None;
        let mut many = pages(&(1..=300).map(|i| (i, 1)).collect::<Vec<_>>());
        many.extend((1..=300).map(|i| (Topic::Carts(ProductId(i)), 1)));
        let parts = presence.announcements(&many, &[]);
        assert_eq!(parts.len(), 5);
        assert!(parts.iter().all(|p| serde_json::to_string(p).expect("json").len() < 8000));
        assert!(parts[0].f && !parts[1].f);
        assert_eq!(parts.iter().map(|p| p.p.len() + p.c.len()).sum::<usize>(), 600);
    }

    #[test]
    fn other_instances_add_to_the_count_until_they_go_quiet() {
        let presence = Presence::new(Arc::new(Hub::new(8)));
        let local = pages(&[(1, 2)]);
        let one = Topic::Presence(ProductId(1));
        assert_eq!(presence.changed(&local, Vec::new()), [(one.clone(), looking(2, 0))]);
        presence.heard(Announcement { i: 77, f: true, p: vec![(1, 5), (9, 1)], s: Some(vec!["bo".into()]), ..Announcement::default() });
        assert_eq!(presence.changed(&local, Vec::new()), [(one.clone(), looking(7, 0))]);
        assert!(presence.changed(&local, Vec::new()).is_empty(), "told once");
        presence.heard(Announcement { i: 77, p: vec![(1, 0)], ..Announcement::default() });
        assert_eq!(presence.changed(&local, Vec::new()), [(one.clone(), looking(2, 0))]);
        // Its own announcements echo back through NOTIFY: not counted twice.
        presence.heard(Announcement { i: presence.instance, f: true, p: vec![(1, 2)], ..Announcement::default() });
        assert!(presence.changed(&local, Vec::new()).is_empty());
        // An instance not heard from is forgotten.
        presence.heard(Announcement { i: 78, f: true, p: vec![(1, 4)], ..Announcement::default() });
        assert_eq!(presence.changed(&local, Vec::new())[0].1, looking(6, 0));
        if let Some(r) = presence.lock().remote.get_mut(&78) {
            r.heard = Instant::now().checked_sub(FORGET_AFTER).expect("an instant in the past");
        }
        assert_eq!(presence.changed(&local, Vec::new())[0].1, looking(2, 0));
    }

    #[test]
    fn a_product_page_hears_how_many_carts_hold_it_here_and_elsewhere() {
        let presence = Presence::new(Arc::new(Hub::new(8)));
        let (page, carts) = (Topic::Presence(ProductId(1)), Topic::Carts(ProductId(1)));
        let mut local = pages(&[(1, 1)]);
        local.insert(carts.clone(), 2);
        assert_eq!(presence.changed(&local, Vec::new()), [(page.clone(), looking(1, 2)), (carts.clone(), looking(2, 0))]);
        // Another instance's carts count; only the cart figures change.
        presence.heard(Announcement { i: 5, f: true, c: vec![(1, 3)], ..Announcement::default() });
        assert_eq!(presence.changed(&local, Vec::new()), [(page.clone(), looking(1, 5)), (carts.clone(), looking(5, 0))]);
        // Nobody here holds it any more: the page still hears the others'.
        local.remove(&carts);
        assert_eq!(presence.changed(&local, Vec::new()), [(page, looking(1, 3))]);
    }
}
