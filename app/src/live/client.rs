//! The WebSocket transport (browser only).

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::mpsc::{UnboundedSender, unbounded};
use futures::{SinkExt as _, StreamExt as _, stream};
use gloo_net::websocket::Message;
use gloo_net::websocket::futures::WebSocket;
use leptos::prelude::*;

use super::{ConnStatus, LiveClient, LiveEvent, SubscriptionId};
use crate::protocol::{ClientMsg, Seq, ServerMsg, Topic};

const PING_EVERY: Duration = Duration::from_secs(25);
const BACKOFF_FIRST: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(15);

type Handler = Rc<dyn Fn(LiveEvent<'_>)>;

struct Sub {
    id: u64,
    /// The last seq applied for this topic: frames at or below it are duplicates.
    last: Option<Seq>,
    handler: Handler,
}

#[derive(Default)]
pub(super) struct Inner {
    subs: HashMap<Topic, Sub>,
    next_id: u64,
    /// The open socket's outbox, while one is open.
    out: Option<UnboundedSender<Outgoing>>,
    started: bool,
}

/// What the socket task is asked to do.
enum Outgoing {
    Send(ClientMsg),
    /// Close and reconnect now.
    Reconnect,
}

fn push(client: LiveClient, item: Outgoing) {
    client.inner.with_value(|inner| {
        if let Some(out) = &inner.out {
            let _ = out.unbounded_send(item);
        }
    });
}

fn send(client: LiveClient, msg: ClientMsg) {
    push(client, Outgoing::Send(msg));
}

pub(super) fn reconnect(client: LiveClient) {
    push(client, Outgoing::Reconnect);
}

pub(super) fn subscribe(client: LiveClient, topic: Topic, since: Option<Seq>, handler: impl Fn(LiveEvent<'_>) + 'static) -> SubscriptionId {
    let id = client.inner.try_update_value(|inner| {
        inner.next_id += 1;
        let id = inner.next_id;
        inner.subs.insert(topic.clone(), Sub { id, last: since, handler: Rc::new(handler) });
        id
    });
    send(client, ClientMsg::Subscribe { topic, since });
    SubscriptionId(id.unwrap_or_default())
}

pub(super) fn unsubscribe(client: LiveClient, id: SubscriptionId) {
    let topic = client.inner.try_update_value(|inner| {
        let topic = inner.subs.iter().find(|(_, s)| s.id == id.0).map(|(t, _)| t.clone())?;
        inner.subs.remove(&topic);
        Some(topic)
    });
    if let Some(topic) = topic.flatten() {
        send(client, ClientMsg::Unsubscribe { topic });
    }
}

pub(super) fn start(client: LiveClient) {
    let first = client.inner.try_update_value(|inner| !std::mem::replace(&mut inner.started, true));
    if first == Some(true) {
        leptos::task::spawn_local(run(client));
    }
}

fn ws_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
    Some(format!("{scheme}://{}/ws", location.host().ok()?))
}

/// Exponential backoff with jitter: 0.5 s, 1 s, 2 s ... up to 15 s, each scaled
/// by a random factor in [0.5, 1) so a restarted server is not hit by every tab at once.
fn backoff(failures: u32) -> Duration {
    let base = BACKOFF_FIRST.saturating_mul(1 << failures.min(5)).min(BACKOFF_MAX);
    base.mul_f64(0.5 + js_sys::Math::random() / 2.0)
}

async fn run(client: LiveClient) {
    let mut failures = 0_u32;
    loop {
        client.status.set(if failures == 0 { ConnStatus::Connecting } else { ConnStatus::Reconnecting });
        match ws_url().map(|url| WebSocket::open(&url)) {
            Some(Ok(ws)) => match session(client, ws).await {
                End::Asked => {
                    failures = 0;
                    continue;
                }
                End::Dropped { was_live } => {
                    if was_live {
                        failures = 0;
                    }
                }
            },
            Some(Err(err)) => leptos::logging::warn!("live feed: could not open the socket: {err}"),
            None => leptos::logging::warn!("live feed: no window location"),
        }
        failures = failures.saturating_add(1);
        client.status.set(ConnStatus::Reconnecting);
        gloo_timers::future::sleep(backoff(failures)).await;
    }
}

/// How a connection ended.
enum End {
    /// `reconnect()` asked for a new one.
    Asked,
    Dropped { was_live: bool },
}

enum Event {
    Outgoing(Outgoing),
    Incoming(Option<Result<Message, gloo_net::websocket::WebSocketError>>),
    Tick,
}

/// One connection, until it drops or a reconnect is asked for.
async fn session(client: LiveClient, ws: WebSocket) -> End {
    let (mut sink, incoming) = ws.split();
    let (out, outbox) = unbounded::<Outgoing>();
    // Resume every topic from the last seq applied, then say hello.
    let resume: Vec<ClientMsg> = client
        .inner
        .try_update_value(|inner| {
            inner.out = Some(out.clone());
            inner.subs.iter().map(|(topic, sub)| ClientMsg::Subscribe { topic: topic.clone(), since: sub.last }).collect()
        })
        .unwrap_or_default();
    let _ = out.unbounded_send(Outgoing::Send(ClientMsg::Ping));
    for msg in resume {
        let _ = out.unbounded_send(Outgoing::Send(msg));
    }

    let incoming = incoming.map(|m| Event::Incoming(Some(m))).chain(stream::iter([Event::Incoming(None)]));
    let ticks = gloo_timers::future::IntervalStream::new(PING_EVERY.as_millis() as u32).map(|()| Event::Tick);
    let mut events = stream::select(incoming, stream::select(outbox.map(Event::Outgoing), ticks));
    let mut live = false;
    let mut end = End::Dropped { was_live: false };

    while let Some(event) = events.next().await {
        match event {
            Event::Outgoing(Outgoing::Reconnect) => {
                let _ = sink.close().await;
                end = End::Asked;
                break;
            }
            Event::Outgoing(Outgoing::Send(msg)) => {
                let Ok(text) = serde_json::to_string(&msg) else { continue };
                if sink.send(Message::Text(text)).await.is_err() {
                    break;
                }
            }
            Event::Tick => {
                let _ = out.unbounded_send(Outgoing::Send(ClientMsg::Ping));
            }
            Event::Incoming(Some(Ok(Message::Text(text)))) => {
                if !live {
                    live = true;
                    client.status.set(ConnStatus::Live);
                }
                on_frame(client, &text);
            }
            Event::Incoming(Some(Ok(Message::Bytes(_)))) => {}
            Event::Incoming(Some(Err(_)) | None) => break,
        }
    }
    client.inner.update_value(|inner| inner.out = None);
    match end {
        End::Asked => End::Asked,
        End::Dropped { .. } => End::Dropped { was_live: live },
    }
}

fn on_frame(client: LiveClient, text: &str) {
    let msg = match serde_json::from_str::<ServerMsg>(text) {
        Ok(msg) => msg,
        Err(err) => {
            leptos::logging::warn!("live feed: unreadable frame ({err})");
            return;
        }
    };
    match msg {
        ServerMsg::Snapshot { topic, seq, data } => deliver(client, &topic, seq, true, LiveEvent::Snapshot(&data)),
        ServerMsg::Change { topic, seq, data } => deliver(client, &topic, seq, false, LiveEvent::Change(&data)),
        ServerMsg::Removed { topic, seq, id } => deliver(client, &topic, seq, false, LiveEvent::Removed(id)),
        ServerMsg::Error { topic, code, message } => {
            leptos::logging::warn!("live feed: {code:?} for {}: {message}", topic.as_deref().unwrap_or("-"));
        }
        ServerMsg::Pong => {}
    }
}

/// Apply a frame once: a change at or below the topic's last seq was already applied.
fn deliver(client: LiveClient, topic: &Topic, seq: Seq, is_snapshot: bool, event: LiveEvent<'_>) {
    let handler = client
        .inner
        .try_update_value(|inner| {
            let sub = inner.subs.get_mut(topic)?;
            if !is_snapshot && sub.last.is_some_and(|last| seq <= last) {
                return None;
            }
            sub.last = Some(seq);
            Some(sub.handler.clone())
        })
        .flatten();
    if let Some(handler) = handler {
        handler(event);
    }
}
