//! The WebSocket transport (browser only).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures::stream::SplitStream;
use futures::{FutureExt as _, SinkExt as _, StreamExt as _};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, State};
use leptos::prelude::*;

use super::views::Views;
use super::{ConnStatus, LiveClient, LiveEvent, SubscriptionId};
use crate::protocol::{ClientMsg, ErrorCode, Seq, ServerMsg, Topic};

/// A ping goes out this often; a socket that has not answered the previous
/// one by the next is taken for dead (a connection the OS keeps open after
/// the network went away), closed and re-opened.
const PING_EVERY: Duration = Duration::from_secs(8);
const BACKOFF_FIRST: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(15);

type Handler = Rc<dyn Fn(LiveEvent<'_>)>;

#[derive(Default)]
pub(super) struct Inner {
    views: Views<Handler>,
    /// The open socket's outbox, while one is open.
    out: Option<UnboundedSender<Outgoing>>,
    /// Wakes the reconnect loop out of its backoff (the browser came back online).
    wake: Option<UnboundedSender<()>>,
    started: bool,
    /// Pings sent and pongs received on the open socket: a view catches up
    /// until the pong to the first ping sent after its subscribe (see `views`).
    pings: u64,
    pongs: u64,
    /// A ping is queued to follow the subscribes being sent now.
    ping_queued: bool,
    /// Subscribes the server could not answer on this connection, per topic.
    failures: std::collections::HashMap<Topic, u32>,
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

/// Send a ping and count it (nothing when no socket is open).
fn ping(client: LiveClient) {
    client.inner.update_value(|inner| {
        if let Some(out) = &inner.out {
            let _ = out.unbounded_send(Outgoing::Send(ClientMsg::Ping));
            inner.pings += 1;
        }
    });
}

/// One ping after the subscribes made together (a page subscribing to each
/// of its cards), once they are queued, so their views know when they are answered.
fn ping_after_subscribes(client: LiveClient) {
    let first = client.inner.try_update_value(|inner| !std::mem::replace(&mut inner.ping_queued, true));
    if first == Some(true) {
        leptos::task::spawn_local(async move {
            client.inner.update_value(|inner| inner.ping_queued = false);
            ping(client);
        });
    }
}

pub(super) fn reconnect(client: LiveClient) {
    push(client, Outgoing::Reconnect);
}

pub(super) fn subscribe(client: LiveClient, topic: Topic, since: Option<Seq>, handler: impl Fn(LiveEvent<'_>) + 'static) -> SubscriptionId {
    // Asked again from this view's position: the server answers from there
    // (or from where it stopped sending, when the topic is followed already
    // and that is older), and each view drops what it already applied. The
    // view catches up until the pong to the next ping (see `views`).
    let id = client.inner.try_update_value(|inner| inner.views.add(topic.clone(), since, inner.pings + 1, Rc::new(handler) as Handler));
    send(client, ClientMsg::Subscribe { topic, since });
    ping_after_subscribes(client);
    SubscriptionId(id.unwrap_or_default())
}

pub(super) fn typing(client: LiveClient, topic: Topic) {
    send(client, ClientMsg::Typing { topic });
}

pub(super) fn unsubscribe(client: LiveClient, id: SubscriptionId) {
    let Some((emptied, any_refused)) = client.inner.try_update_value(|inner| (inner.views.remove(id.0), inner.views.any_refused())) else {
        return;
    };
    if let Some(topic) = emptied {
        send(client, ClientMsg::Unsubscribe { topic });
    }
    // The notice is about what is on screen: gone with the last refused view.
    if !any_refused && client.notice.get_untracked().is_some() {
        client.notice.set(None);
    }
}

pub(super) fn start(client: LiveClient) {
    let first = client.inner.try_update_value(|inner| !std::mem::replace(&mut inner.started, true));
    if first == Some(true) {
        watch_network(client);
        leptos::task::spawn_local(run(client));
    }
}

fn ws_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
    Some(format!("{scheme}://{}/ws", location.host().ok()?))
}

fn online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

/// Offline: close the socket and say so. Online again: reconnect at once
/// rather than after the backoff (the old socket may be dead without knowing).
fn watch_network(client: LiveClient) {
    use wasm_bindgen::JsCast as _;
    use wasm_bindgen::closure::Closure;
    let Some(window) = web_sys::window() else { return };
    let on_online = Closure::<dyn Fn()>::new(move || {
        client.inner.with_value(|inner| {
            if let Some(wake) = &inner.wake {
                let _ = wake.unbounded_send(());
            }
        });
        reconnect(client);
    });
    let on_offline = Closure::<dyn Fn()>::new(move || {
        client.status.set(ConnStatus::Offline);
        reconnect(client);
    });
    let _ = window.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
    let _ = window.add_event_listener_with_callback("offline", on_offline.as_ref().unchecked_ref());
    // Listeners for the page's lifetime.
    on_online.forget();
    on_offline.forget();
}

/// Exponential backoff with jitter: 0.5 s, 1 s, 2 s ... up to 15 s, each scaled
/// by a random factor in [0.5, 1) so a restarted server is not hit by every tab at once.
fn backoff(failures: u32) -> Duration {
    let base = BACKOFF_FIRST.saturating_mul(1 << failures.min(5)).min(BACKOFF_MAX);
    base.mul_f64(0.5 + js_sys::Math::random() / 2.0)
}

async fn run(client: LiveClient) {
    let (wake, mut woken) = unbounded::<()>();
    client.inner.update_value(|inner| inner.wake = Some(wake));
    let mut failures = 0_u32;
    loop {
        if online() {
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
        }
        client.status.set(if online() { ConnStatus::Reconnecting } else { ConnStatus::Offline });
        // Wait out the backoff, or less if the browser says it is back online.
        while woken.try_recv().is_ok() {}
        let sleep = gloo_timers::future::sleep(backoff(failures)).fuse();
        let wake = woken.next().fuse();
        futures::pin_mut!(sleep, wake);
        futures::select! {
            () = sleep => {}
            _ = wake => failures = 0,
        }
    }
}

/// How a connection ended.
enum End {
    /// `reconnect()` asked for a new one.
    Asked,
    Dropped {
        was_live: bool,
    },
}

enum Event {
    Outgoing(Outgoing),
    Incoming(Option<Result<Message, gloo_net::websocket::WebSocketError>>),
    Tick,
    Idle,
}

/// The next thing to act on. The futures are made anew each time and dropped
/// before the caller acts, so the socket's halves stay free to send and to be
/// put back together for closing.
async fn next_event(
    stream: &mut SplitStream<WebSocket>,
    outbox: &mut UnboundedReceiver<Outgoing>,
    ticks: &mut gloo_timers::future::IntervalStream,
) -> Event {
    let waits: Vec<Pin<Box<dyn Future<Output = Event> + '_>>> = vec![
        Box::pin(stream.next().map(Event::Incoming)),
        Box::pin(outbox.next().map(|o| o.map_or(Event::Idle, Event::Outgoing))),
        Box::pin(ticks.next().map(|_| Event::Tick)),
    ];
    futures::future::select_all(waits).await.0
}

/// Wait until the socket is open (true) or failed to open (false), so nothing
/// is ever sent into a socket that is already closed.
async fn opened(ws: &mut WebSocket) -> bool {
    let _ = futures::future::poll_fn(|cx| futures::Sink::<Message>::poll_ready(Pin::new(&mut *ws), cx)).await;
    matches!(ws.state(), State::Open)
}

/// One connection, until it drops or a reconnect is asked for.
async fn session(client: LiveClient, mut ws: WebSocket) -> End {
    if !opened(&mut ws).await {
        let _ = ws.close(None, None);
        return End::Dropped { was_live: false };
    }
    let (mut sink, mut stream) = ws.split();
    let (out, mut outbox) = unbounded::<Outgoing>();
    // Say hello, resume every topic from the last seq applied, then ping
    // again: views still catching up are answered by its pong.
    let resume: Vec<ClientMsg> = client
        .inner
        .try_update_value(|inner| {
            inner.out = Some(out.clone());
            inner.pings = 2;
            inner.pongs = 0;
            inner.failures.clear();
            inner.views.reticket(2);
            inner.views.resume_points().into_iter().map(|(topic, since)| ClientMsg::Subscribe { topic, since }).collect()
        })
        .unwrap_or_default();
    let _ = out.unbounded_send(Outgoing::Send(ClientMsg::Ping));
    for msg in resume {
        let _ = out.unbounded_send(Outgoing::Send(msg));
    }
    let _ = out.unbounded_send(Outgoing::Send(ClientMsg::Ping));

    let mut ticks = gloo_timers::future::IntervalStream::new(PING_EVERY.as_millis() as u32);
    let mut live = false;
    let mut awaiting_pong = false;
    let mut end = End::Dropped { was_live: false };

    loop {
        match next_event(&mut stream, &mut outbox, &mut ticks).await {
            Event::Outgoing(Outgoing::Reconnect) => {
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
                if awaiting_pong {
                    leptos::logging::warn!("live feed: no answer to the last ping; reconnecting");
                    break;
                }
                awaiting_pong = true;
                ping(client);
            }
            Event::Incoming(Some(Ok(Message::Text(text)))) => {
                awaiting_pong = false;
                if !live {
                    live = true;
                    client.status.set(ConnStatus::Live);
                }
                on_frame(client, &text);
            }
            Event::Incoming(Some(Ok(Message::Bytes(_)))) => awaiting_pong = false,
            Event::Incoming(Some(Err(_)) | None) => break,
            Event::Idle => {}
        }
    }
    client.inner.update_value(|inner| inner.out = None);
    // Close it for real (dropping the halves would leave it open until collected).
    if let Ok(ws) = sink.reunite(stream) {
        let _ = ws.close(Some(1000), Some("reconnecting"));
    }
    match end {
        End::Asked => End::Asked,
        End::Dropped { .. } => End::Dropped { was_live: live },
    }
}

fn on_frame(client: LiveClient, text: &str) {
    let msg = match crate::json::decode::<ServerMsg>(text) {
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
        ServerMsg::Typing { topic, from_staff } => signal(client, &topic, LiveEvent::Typing { from_staff }),
        ServerMsg::Presence { topic, count, carts, names } => {
            signal(client, &topic, LiveEvent::Presence(&crate::protocol::PresenceFigure { count, carts, names }))
        }
        ServerMsg::Error { topic, code, message } => refused(client, topic, code, &message),
        ServerMsg::Pong => client.inner.update_value(|inner| {
            inner.pongs += 1;
            inner.views.answered(inner.pongs);
        }),
    }
}

/// The server refused or dropped a topic: the page says so instead of going on
/// as if live. One it could not answer (its database, say) is asked for again.
/// (Rate limits and the like are only logged.)
fn refused(client: LiveClient, topic: Option<String>, code: ErrorCode, message: &str) {
    leptos::logging::warn!("live feed: {code:?} for {}: {message}", topic.as_deref().unwrap_or("-"));
    let Some(topic) = topic.and_then(|t| t.parse::<Topic>().ok()) else { return };
    if code == ErrorCode::Unavailable {
        ask_again(client, topic);
        return;
    }
    let notice = match code {
        ErrorCode::Forbidden if message.starts_with("you signed out") => {
            "You signed out, so this page no longer updates. Sign in again to follow it live."
        }
        ErrorCode::Forbidden => "This page no longer updates: you may not follow it. Reload to see the latest.",
        ErrorCode::UnknownTopic => "What this page shows no longer exists. Reload to see the latest.",
        _ => return,
    };
    // Said only while something on screen followed it (the page may have
    // been left before the refusal came).
    if client.inner.try_update_value(|inner| inner.views.refuse(&topic)) == Some(true) {
        client.notice.set(Some(notice.to_string()));
    }
}

/// How often a topic the server could not answer is asked for again on one
/// connection before the page says it stopped updating.
const ASK_AGAIN: u32 = 5;

/// Ask again for a topic the server could not answer, after the reconnect's
/// backoff (0.5 s, 1 s, 2 s, ... jittered, so tabs hit by one database blip do
/// not ask together), from each of its views' positions, a few times; then
/// say the page stopped updating.
fn ask_again(client: LiveClient, topic: Topic) {
    let Some(failures) = client.inner.try_update_value(|inner| {
        // Its views keep catching up from where they were until it is asked again.
        inner.views.catch_up_again(&topic, u64::MAX);
        let n = inner.failures.entry(topic.clone()).or_insert(0);
        *n += 1;
        *n
    }) else {
        return;
    };
    if failures > ASK_AGAIN {
        if client.inner.try_update_value(|inner| inner.views.refuse(&topic)) == Some(true) {
            client.notice.set(Some("This page stopped updating because the shop did not answer. Reload to see the latest.".to_string()));
        }
        return;
    }
    leptos::task::spawn_local(async move {
        gloo_timers::future::sleep(backoff(failures - 1)).await;
        let asked = client.inner.try_update_value(|inner| {
            let ticket = inner.pings + 1;
            inner.views.catch_up_again(&topic, ticket)
        });
        // Nothing to do when the page that followed it is gone.
        if let Some(since) = asked.flatten() {
            send(client, ClientMsg::Subscribe { topic, since });
            ping_after_subscribes(client);
        }
    });
}

/// An ephemeral frame: every view of the topic hears it; no position moves.
fn signal(client: LiveClient, topic: &Topic, event: LiveEvent<'_>) {
    let handlers = client.inner.try_with_value(|inner| inner.views.handlers(topic)).unwrap_or_default();
    for handler in handlers {
        handler(event);
    }
}

/// Apply a frame once per view: a change at or below a view's last seq was
/// already applied there.
fn deliver(client: LiveClient, topic: &Topic, seq: Seq, is_snapshot: bool, event: LiveEvent<'_>) {
    let handlers = client.inner.try_update_value(|inner| inner.views.deliver(topic, seq, is_snapshot)).unwrap_or_default();
    for handler in handlers {
        handler(event);
    }
}
