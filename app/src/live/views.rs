//! Which views follow which topic, and what each has applied. Several views may
//! follow one topic (two parts of a page, or the page being left and the one
//! replacing it); each keeps its own position, so none freezes another. Pure
//! bookkeeping, so it is tested natively; the socket lives in `client.rs`.

use std::collections::HashMap;

use crate::protocol::{Seq, Topic};

struct View<H> {
    id: u64,
    /// The last seq applied for this view: frames at or below it are duplicates.
    last: Option<Seq>,
    handler: H,
}

pub struct Views<H> {
    topics: HashMap<Topic, Vec<View<H>>>,
    next_id: u64,
}

impl<H> Default for Views<H> {
    fn default() -> Self {
        Self { topics: HashMap::new(), next_id: 0 }
    }
}

impl<H: Clone> Views<H> {
    /// A new view of `topic` that has applied everything up to `since`.
    pub fn add(&mut self, topic: Topic, since: Option<Seq>, handler: H) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.topics.entry(topic).or_default().push(View { id, last: since, handler });
        id
    }

    /// Drop a view; the topic, when it was the last one following it.
    pub fn remove(&mut self, id: u64) -> Option<Topic> {
        let topic = self.topics.iter().find(|(_, views)| views.iter().any(|v| v.id == id)).map(|(t, _)| t.clone())?;
        let views = self.topics.get_mut(&topic)?;
        views.retain(|v| v.id != id);
        if views.is_empty() {
            self.topics.remove(&topic);
            return Some(topic);
        }
        None
    }

    /// Drop every view of a topic (the server refused it).
    pub fn remove_topic(&mut self, topic: &Topic) {
        self.topics.remove(topic);
    }

    /// The handlers a frame at `seq` goes to: every view of the topic for a
    /// snapshot, else those that have not applied it yet. Moves their position.
    pub fn deliver(&mut self, topic: &Topic, seq: Seq, is_snapshot: bool) -> Vec<H> {
        let Some(views) = self.topics.get_mut(topic) else { return Vec::new() };
        views
            .iter_mut()
            .filter(|v| is_snapshot || v.last.is_none_or(|last| seq > last))
            .map(|v| {
                v.last = Some(seq);
                v.handler.clone()
            })
            .collect()
    }

    /// Every handler of a topic, positions unchanged (for ephemeral frames).
    pub fn handlers(&self, topic: &Topic) -> Vec<H> {
        self.topics.get(topic).map(|views| views.iter().map(|v| v.handler.clone()).collect()).unwrap_or_default()
    }

    /// Every followed topic with the position to resume it from: the oldest of
    /// its views' (a view that has nothing yet asks for a snapshot).
    pub fn resume_points(&self) -> Vec<(Topic, Option<Seq>)> {
        self.topics.iter().map(|(topic, views)| (topic.clone(), views.iter().map(|v| v.last).min().flatten())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProductId;

    #[test]
    fn a_second_view_of_a_topic_does_not_freeze_the_first() {
        let topic = Topic::Product(ProductId(1));
        let mut views = Views::default();
        let first = views.add(topic.clone(), Some(Seq(10)), "first");
        assert_eq!(views.deliver(&topic, Seq(11), false), vec!["first"]);
        // A second view, rendered at seq 11: both get what comes after.
        let second = views.add(topic.clone(), Some(Seq(11)), "second");
        assert_eq!(views.deliver(&topic, Seq(12), false), vec!["first", "second"]);
        // A replay for the newer view's sake is not applied twice by the older.
        assert_eq!(views.deliver(&topic, Seq(12), false), Vec::<&str>::new());
        // Leaving one view keeps the topic for the other.
        assert_eq!(views.remove(first), None);
        assert_eq!(views.deliver(&topic, Seq(13), false), vec!["second"]);
        assert_eq!(views.remove(second), Some(topic.clone()), "the last view leaves the topic");
        assert!(views.deliver(&topic, Seq(14), false).is_empty());
    }

    #[test]
    fn a_reconnect_resumes_each_topic_from_its_oldest_view() {
        let topic = Topic::Catalog;
        let mut views = Views::default();
        views.add(topic.clone(), Some(Seq(20)), ());
        views.add(topic.clone(), Some(Seq(15)), ());
        assert_eq!(views.resume_points(), vec![(topic.clone(), Some(Seq(15)))]);
        views.add(topic.clone(), None, ());
        assert_eq!(views.resume_points(), vec![(topic.clone(), None)], "a view with nothing asks for a snapshot");
        // A snapshot goes to every view and sets them all to its seq.
        assert_eq!(views.deliver(&topic, Seq(30), true).len(), 3);
        assert_eq!(views.resume_points(), vec![(topic, Some(Seq(30)))]);
    }
}
