//! The browser's live feed: one WebSocket per tab, shared by every view through
//! context. Pages subscribe with the seq of the data they rendered; the client
//! resumes from the last applied seq per topic after a reconnect and drops any
//! frame it has already applied.

#[cfg(feature = "hydrate")]
mod client;
mod use_topic;
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
mod views;

use leptos::prelude::*;
use serde_json::value::RawValue;

use crate::protocol::{Seq, Topic};
pub use use_topic::{follow_collection, use_live_cards, use_live_collection, use_live_entity, use_presence};

/// The socket's state, for the connection indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnStatus {
    /// Rendered on the server, or the first connection is being made.
    Connecting,
    /// Connected and answering.
    Live,
    /// The connection dropped; retrying with backoff.
    Reconnecting,
    /// The browser says it has no network; retrying when it is back.
    Offline,
}

impl ConnStatus {
    pub fn label(self) -> &'static str {
        match self {
            ConnStatus::Connecting => "Connecting…",
            ConnStatus::Live => "Live",
            ConnStatus::Reconnecting => "Reconnecting…",
            ConnStatus::Offline => "Offline",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConnStatus::Connecting => "connecting",
            ConnStatus::Live => "live",
            ConnStatus::Reconnecting => "reconnecting",
            ConnStatus::Offline => "offline",
        }
    }
}

/// What a subscription's handler receives, already checked for order and duplicates.
#[derive(Debug, Clone, Copy)]
pub enum LiveEvent<'a> {
    /// The topic's full state (first answer, or a re-sync).
    Snapshot(&'a RawValue),
    /// One item upserted (collections) or the entity's new state.
    Change(&'a RawValue),
    /// An item or the entity is gone.
    Removed(i64),
    /// Someone else following the topic is typing (a conversation's staff, or
    /// its customer). Ephemeral: it moves no position.
    Typing { from_staff: bool },
    /// How many follow the topic now (`presence:{product}`: people looking at
    /// it, and carts holding it; `carts:{product}`: carts holding it), and on
    /// `staff` who. Ephemeral: it moves no position.
    Presence(&'a crate::protocol::PresenceFigure),
}

/// A subscription's handle, for [`LiveClient::unsubscribe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionId(u64);

/// The tab's one live connection. Cheap to copy; created once in `App`.
#[derive(Clone, Copy)]
pub struct LiveClient {
    status: RwSignal<ConnStatus>,
    /// Why the page stopped updating, when the server refused one of its topics.
    notice: RwSignal<Option<String>>,
    #[cfg(feature = "hydrate")]
    inner: StoredValue<client::Inner, LocalStorage>,
}

impl LiveClient {
    pub fn new() -> Self {
        Self {
            status: RwSignal::new(ConnStatus::Connecting),
            notice: RwSignal::new(None),
            #[cfg(feature = "hydrate")]
            inner: StoredValue::new_local(client::Inner::default()),
        }
    }

    pub fn status(&self) -> Signal<ConnStatus> {
        self.status.into()
    }

    /// Why the page stopped updating (a topic was refused), in words for shoppers.
    pub fn notice(&self) -> Signal<Option<String>> {
        self.notice.into()
    }

    /// Open the socket (in the browser; on the server this does nothing). Call it
    /// from an `Effect`, which runs only after hydration.
    pub fn start(&self) {
        #[cfg(feature = "hydrate")]
        client::start(*self);
    }

    /// Follow `topic` from `since` (the seq of the data already shown; `None`
    /// asks for a snapshot first). Several views may follow the same topic;
    /// each gets every frame after its own `since`, once.
    pub fn subscribe(&self, topic: Topic, since: Option<Seq>, handler: impl Fn(LiveEvent<'_>) + 'static) -> SubscriptionId {
        #[cfg(feature = "hydrate")]
        {
            client::subscribe(*self, topic, since, handler)
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (topic, since, handler);
            SubscriptionId(0)
        }
    }

    /// Drop the socket and open a new one at once (after signing in or out, so
    /// the server sees the new session). Subscriptions resume from their seq.
    pub fn reconnect(&self) {
        #[cfg(feature = "hydrate")]
        client::reconnect(*self);
    }

    /// Tell the others following `topic` (a conversation this tab follows)
    /// that one is typing.
    pub fn typing(&self, topic: Topic) {
        #[cfg(feature = "hydrate")]
        client::typing(*self, topic);
        #[cfg(not(feature = "hydrate"))]
        let _ = topic;
    }

    pub fn unsubscribe(&self, id: SubscriptionId) {
        #[cfg(feature = "hydrate")]
        client::unsubscribe(*self, id);
        #[cfg(not(feature = "hydrate"))]
        let _ = id;
    }
}

impl Default for LiveClient {
    fn default() -> Self {
        Self::new()
    }
}

/// Call in each routed page's component: once that page has hydrated, the
/// document says so (`<html data-hydrated="true">`), for tests and for CSS that
/// should only apply once the page is interactive. Per page, not in the app: a
/// lazy page hydrates after its code arrives, well after the app's effects ran.
pub fn page_hydrated() {
    Effect::new(move |_| mark_hydrated());
}

fn mark_hydrated() {
    #[cfg(feature = "hydrate")]
    if let Some(el) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = el.set_attribute("data-hydrated", "true");
    }
}
