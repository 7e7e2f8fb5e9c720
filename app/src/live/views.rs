//! Which views follow which topic, and what each has applied. Several views may
//! follow one topic (two parts of a page, or the page being left and the one
//! replacing it); each keeps its own position, so none freezes another. Pure
//! bookkeeping, so it is tested natively; the socket lives in `client.rs`.
//!
//! A view starts by catching up: the server answers its subscribe with the
//! changes after its `since` (or a snapshot), but live frames of the topic may
//! reach the tab before that answer: frames already on the wire for the
//! topic's other views, or for the view this one replaced. Were the view to
//! take its position from such a frame, the answer's older changes (of other
//! items of a collection) would look like duplicates and be dropped. So until
//! the answer is all in, a view applies every frame after its `since`: a frame
//! carries its item's state when the server read it, so applying one twice,
//! or an older one after a newer, ends where the answer ends. The server
//! answers a socket's messages in order, so a pong to a ping sent after the
//! subscribe says the answer is in (its `ticket`).

use std::collections::HashMap;

use crate::protocol::{Seq, Topic};

/// A view waiting for its subscribe's answer.
struct CatchUp {
    /// Where the answer starts: frames after it are applied, duplicates or not.
    from: Option<Seq>,
    /// The number of the first ping sent after the subscribe; its pong ends the catch-up.
    ticket: u64,
}

struct View<H> {
    id: u64,
    /// The last seq applied: once caught up, frames at or below it are duplicates.
    last: Option<Seq>,
    catching_up: Option<CatchUp>,
    handler: H,
}

impl<H> View<H> {
    fn wants(&self, seq: Seq) -> bool {
        match &self.catching_up {
            Some(c) => c.from.is_none_or(|from| seq > from),
            None => self.last.is_none_or(|last| seq > last),
        }
    }

    /// Where a new connection resumes this view from.
    fn resume_point(&self) -> Option<Seq> {
        match &self.catching_up {
            Some(c) => c.from,
            None => self.last,
        }
    }
}

pub struct Views<H> {
    topics: HashMap<Topic, Vec<View<H>>>,
    /// Views of topics the server refused: they get nothing more, and the
    /// page says so while any of them is on screen.
    refused: Vec<u64>,
    next_id: u64,
}

impl<H> Default for Views<H> {
    fn default() -> Self {
        Self { topics: HashMap::new(), refused: Vec::new(), next_id: 0 }
    }
}

impl<H: Clone> Views<H> {
    /// A new view of `topic` that has applied everything up to `since`; it
    /// catches up until the pong to ping number `ticket`.
    pub fn add(&mut self, topic: Topic, since: Option<Seq>, ticket: u64, handler: H) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        let catching_up = Some(CatchUp { from: since, ticket });
        self.topics.entry(topic).or_default().push(View { id, last: since, catching_up, handler });
        id
    }

    /// Drop a view; the topic, when it was the last one following it.
    pub fn remove(&mut self, id: u64) -> Option<Topic> {
        self.refused.retain(|&r| r != id);
        let topic = self.topics.iter().find(|(_, views)| views.iter().any(|v| v.id == id)).map(|(t, _)| t.clone())?;
        let views = self.topics.get_mut(&topic)?;
        views.retain(|v| v.id != id);
        if views.is_empty() {
            self.topics.remove(&topic);
            return Some(topic);
        }
        None
    }

    /// The server refused a topic: its views get nothing more. Whether any
    /// was still on screen (the refusal may come after the page was left).
    pub fn refuse(&mut self, topic: &Topic) -> bool {
        let Some(views) = self.topics.remove(topic) else { return false };
        self.refused.extend(views.iter().map(|v| v.id));
        !views.is_empty()
    }

    /// Whether a view of a refused topic is still on screen.
    pub fn any_refused(&self) -> bool {
        !self.refused.is_empty()
    }

    /// The handlers a frame at `seq` goes to: every view of the topic for a
    /// snapshot, else those that have not applied it yet. Moves their position.
    pub fn deliver(&mut self, topic: &Topic, seq: Seq, is_snapshot: bool) -> Vec<H> {
        let Some(views) = self.topics.get_mut(topic) else { return Vec::new() };
        views
            .iter_mut()
            .filter(|v| is_snapshot || v.wants(seq))
            .map(|v| {
                if is_snapshot {
                    // The whole state at `seq`: what came before it no longer matters.
                    v.last = Some(seq);
                    if let Some(c) = &mut v.catching_up {
                        c.from = Some(seq);
                    }
                } else {
                    v.last = v.last.max(Some(seq));
                }
                v.handler.clone()
            })
            .collect()
    }

    /// Pong number `pongs` arrived: every subscribe sent before its ping has
    /// been answered in full, so those views drop duplicates from now on.
    pub fn answered(&mut self, pongs: u64) {
        for view in self.topics.values_mut().flatten() {
            if view.catching_up.as_ref().is_some_and(|c| c.ticket <= pongs) {
                view.catching_up = None;
            }
        }
    }

    /// A new connection: every view still catching up waits for ping number
    /// `ticket` of it (sent after the connection's subscribes).
    pub fn reticket(&mut self, ticket: u64) {
        for c in self.topics.values_mut().flatten().filter_map(|v| v.catching_up.as_mut()) {
            c.ticket = ticket;
        }
    }

    /// `topic` is to be asked for again (the server could not answer it): its
    /// views catch up until the pong to ping number `ticket`, a view already
    /// catching up from where it started. Where to ask from; `None` when
    /// nothing follows it. Called with `u64::MAX` when the refusal comes, so
    /// the pong after it does not end a catch-up the answer never began.
    pub fn catch_up_again(&mut self, topic: &Topic, ticket: u64) -> Option<Option<Seq>> {
        let views = self.topics.get_mut(topic)?;
        for view in views.iter_mut() {
            let from = view.resume_point();
            view.catching_up = Some(CatchUp { from, ticket });
        }
        views.iter().map(View::resume_point).min()
    }

    /// Every handler of a topic, positions unchanged (for ephemeral frames).
    pub fn handlers(&self, topic: &Topic) -> Vec<H> {
        self.topics.get(topic).map(|views| views.iter().map(|v| v.handler.clone()).collect()).unwrap_or_default()
    }

    /// Every followed topic with the position to resume it from: the oldest of
    /// its views' (a view that has nothing yet asks for a snapshot; one still
    /// catching up, from where its answer started).
    pub fn resume_points(&self) -> Vec<(Topic, Option<Seq>)> {
        self.topics.iter().map(|(topic, views)| (topic.clone(), views.iter().map(View::resume_point).min().flatten())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CustomerId, ProductId};

    /// A view already caught up at `since`.
    fn caught_up<H: Clone>(views: &mut Views<H>, topic: &Topic, since: Option<Seq>, handler: H) -> u64 {
        let id = views.add(topic.clone(), since, 0, handler);
        views.answered(0);
        id
    }

    #[test]
    fn a_second_view_of_a_topic_does_not_freeze_the_first() {
        let topic = Topic::Product(ProductId(1));
        let mut views = Views::default();
        let first = caught_up(&mut views, &topic, Some(Seq(10)), "first");
        assert_eq!(views.deliver(&topic, Seq(11), false), vec!["first"]);
        // A second view, rendered at seq 11: both get what comes after.
        let second = caught_up(&mut views, &topic, Some(Seq(11)), "second");
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
    fn a_late_view_keeps_the_older_changes_its_answer_brings_after_a_live_frame() {
        // The tab follows a customer's orders at seq 20; a page showing them,
        // rendered at seq 10, subscribes. Order 7 changed at 12 and 15 (the
        // tab saw it), then order 8 changes at 21: that frame is on the wire
        // before the server reads the page's subscribe.
        let topic = Topic::Orders(CustomerId(1));
        let mut views = Views::default();
        caught_up(&mut views, &topic, Some(Seq(20)), "header");
        views.add(topic.clone(), Some(Seq(10)), 1, "page");
        assert_eq!(views.deliver(&topic, Seq(21), false), vec!["header", "page"], "the live frame");
        // The answer: every change after 10, in order; the header has them all.
        assert_eq!(views.deliver(&topic, Seq(15), false), vec!["page"], "order 7's change is not taken for a duplicate");
        assert_eq!(views.deliver(&topic, Seq(21), false), vec!["page"], "applied again: the same state");
        // Then the pong to the ping sent after the subscribe: duplicates are dropped again.
        views.answered(1);
        assert!(views.deliver(&topic, Seq(21), false).is_empty());
        assert_eq!(views.deliver(&topic, Seq(22), false), vec!["header", "page"]);
    }

    #[test]
    fn a_view_catches_up_until_the_pong_after_its_subscribe() {
        let topic = Topic::Catalog;
        let mut views = Views::default();
        views.add(topic.clone(), Some(Seq(10)), 3, ());
        views.deliver(&topic, Seq(14), false);
        views.answered(2);
        assert_eq!(views.deliver(&topic, Seq(12), false).len(), 1, "an earlier ping's pong says nothing of this subscribe");
        views.answered(3);
        assert!(views.deliver(&topic, Seq(12), false).is_empty());
    }

    #[test]
    fn a_reconnect_resumes_each_topic_from_its_oldest_view() {
        let topic = Topic::Catalog;
        let mut views = Views::default();
        caught_up(&mut views, &topic, Some(Seq(20)), ());
        caught_up(&mut views, &topic, Some(Seq(15)), ());
        assert_eq!(views.resume_points(), vec![(topic.clone(), Some(Seq(15)))]);
        caught_up(&mut views, &topic, None, ());
        assert_eq!(views.resume_points(), vec![(topic.clone(), None)], "a view with nothing asks for a snapshot");
        // A snapshot goes to every view and sets them all to its seq.
        assert_eq!(views.deliver(&topic, Seq(30), true).len(), 3);
        assert_eq!(views.resume_points(), vec![(topic, Some(Seq(30)))]);
    }

    #[test]
    fn a_view_still_catching_up_resumes_from_where_its_answer_started() {
        let topic = Topic::Catalog;
        let mut views = Views::default();
        caught_up(&mut views, &topic, Some(Seq(20)), ());
        views.add(topic.clone(), Some(Seq(10)), 1, ());
        views.deliver(&topic, Seq(21), false);
        assert_eq!(views.resume_points(), vec![(topic.clone(), Some(Seq(10)))], "not from the live frame's 21");
        // The new connection's ping number 2 ends it.
        views.reticket(2);
        views.answered(1);
        assert_eq!(views.resume_points(), vec![(topic.clone(), Some(Seq(10)))]);
        views.answered(2);
        assert_eq!(views.resume_points(), vec![(topic, Some(Seq(21)))]);
    }

    #[test]
    fn a_topic_asked_for_again_is_caught_up_from_its_oldest_view() {
        let topic = Topic::Catalog;
        let mut views = Views::default();
        caught_up(&mut views, &topic, Some(Seq(20)), "older");
        views.add(topic.clone(), Some(Seq(25)), 1, "newer");
        assert_eq!(views.catch_up_again(&topic, 3), Some(Some(Seq(20))));
        assert_eq!(views.catch_up_again(&Topic::Product(ProductId(9)), 3), None, "nothing follows it");
        // A live frame first, then the answer from 20: nothing in it is taken for a duplicate.
        assert_eq!(views.deliver(&topic, Seq(30), false), vec!["older", "newer"]);
        assert_eq!(views.deliver(&topic, Seq(22), false), vec!["older"], "the newer view rendered at 25 already has it");
        assert_eq!(views.deliver(&topic, Seq(27), false), vec!["older", "newer"]);
        views.answered(3);
        assert!(views.deliver(&topic, Seq(30), false).is_empty());
    }

    #[test]
    fn a_view_whose_subscribe_was_not_answered_asks_again_from_its_since() {
        // The header is at 30; the page subscribes from 25, and the server
        // cannot answer (it keeps the header's subscription). The pong after
        // the refusal and a live frame come before the page asks again.
        let topic = Topic::Orders(CustomerId(1));
        let mut views = Views::default();
        caught_up(&mut views, &topic, Some(Seq(30)), "header");
        views.add(topic.clone(), Some(Seq(25)), 1, "page");
        views.catch_up_again(&topic, u64::MAX);
        views.answered(1);
        views.deliver(&topic, Seq(31), false);
        assert_eq!(views.catch_up_again(&topic, 2), Some(Some(Seq(25))), "not from the live frame's 31");
        assert_eq!(views.resume_points(), vec![(topic, Some(Seq(25)))]);
    }

    #[test]
    fn a_refused_topic_is_on_screen_until_its_last_view_leaves() {
        let topic = Topic::Catalog;
        let other = Topic::Product(ProductId(1));
        let mut views = Views::default();
        let a = caught_up(&mut views, &topic, Some(Seq(1)), ());
        let b = caught_up(&mut views, &topic, Some(Seq(1)), ());
        let c = caught_up(&mut views, &other, Some(Seq(1)), ());
        assert!(views.refuse(&topic));
        assert!(views.any_refused());
        assert!(!views.refuse(&topic), "refused again: nothing on screen follows it any more");
        assert!(views.deliver(&topic, Seq(2), false).is_empty(), "nothing more for a refused topic");
        assert_eq!(views.resume_points(), vec![(other, Some(Seq(1)))], "not asked for again on a reconnect");
        assert_eq!(views.remove(c), Some(Topic::Product(ProductId(1))));
        assert!(views.any_refused(), "another topic's view leaving changes nothing");
        assert_eq!(views.remove(a), None, "the server already dropped the topic");
        assert!(views.any_refused());
        views.remove(b);
        assert!(!views.any_refused());
    }
}
