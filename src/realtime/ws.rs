//! `/ws`: the upgrade (Origin checked), then one task per socket that decodes
//! client frames, answers subscriptions from the database and forwards the
//! hub's frames. The only place frames become bytes and back.

use std::num::NonZeroU32;
use std::sync::Arc;

use app::model::COUNT_CAP;
use app::protocol::{ClientMsg, ErrorCode, Seq, ServerMsg, Topic};
use app::server::Viewer;
use app::server::queries::catalog::{topic_exists, topic_snapshot_json};
use app::server::sessions::sign_out_key;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt as _, StreamExt as _};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rustc_hash::FxHashMap;
use serde_json::value::RawValue;

use super::authz::may_subscribe;
use super::frame::{Frame, encode};
use super::mapper::replay;
use crate::state::AppState;

/// Whether a request's `Origin` (if any) is this site or one explicitly allowed.
/// Requests without `Origin` come from non-browser clients and pass.
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    if allowed.iter().any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin)) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

pub async fn ws_handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: tower_sessions::Session,
    ws: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&headers, &state.config.allowed_origins) {
        tracing::info!(origin = ?headers.get(header::ORIGIN), "refused a cross-site WebSocket upgrade");
        return (StatusCode::FORBIDDEN, "WebSocket connections from other sites are not allowed").into_response();
    }
    let viewer = match app::server::auth::viewer(&state.db, &session).await {
        Ok(viewer) => viewer,
        Err(err) => {
            // Not "anonymous": a signed-in shopper would lose their topics. Try again later.
            tracing::warn!(error = ?err, "refused a WebSocket upgrade: the session could not be read");
            return (StatusCode::SERVICE_UNAVAILABLE, "the shop cannot read your session right now; try again shortly").into_response();
        }
    };
    // Which session this socket belongs to, for sign-outs (read after `viewer`
    // loaded it: an unknown or ended session has no id).
    let session_key = session.id().map(|id| sign_out_key(&id));
    let hard_limit = state.config.limits.ws_hard_message_bytes;
    // The state is one shared allocation: holding it costs a socket 8 bytes.
    ws.max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        // Client frames are small; a small read buffer keeps idle sockets cheap.
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            // Staff are named in the console's presence; shoppers never are.
            let staff_name = match viewer {
                // Boxed: a database read's future would otherwise size the socket's task for its life.
                Viewer::Staff(id) => Box::pin(state.db.user_by_id(id)).await.ok().flatten().map(|u| Arc::<str>::from(u.username)),
                _ => None,
            };
            let mut session = Session::new(state, viewer);
            session.staff_name = staff_name;
            session.run(socket, session_key).await;
        })
}

/// One socket's state.
struct Session {
    state: AppState,
    staff_name: Option<Arc<str>>,
    viewer: Viewer,
    /// Per subscribed topic, the highest seq already sent: queued frames at or
    /// below it are duplicates and dropped.
    /// At most `max_subscriptions` entries, looked up for every frame: a
    /// fast hash (a client choosing colliding topics only slows its own socket).
    subs: FxHashMap<Topic, Seq>,
    /// When this socket last passed "typing" on (one a socket at most every
    /// [`TYPING_EVERY`], whatever a client sends).
    typed_at: Option<std::time::Instant>,
    limiter: DefaultDirectRateLimiter,
    conn_id: u64,
}

/// Why the socket loop stopped.
struct Closed;

impl Session {
    fn new(state: AppState, viewer: Viewer) -> Self {
        let rate = NonZeroU32::new(state.config.limits.frames_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = rate.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN));
        Self {
            state,
            staff_name: None,
            viewer,
            subs: FxHashMap::default(),
            typed_at: None,
            limiter: RateLimiter::direct(Quota::per_second(rate).allow_burst(burst)),
            conn_id: 0,
        }
    }

    async fn run(&mut self, socket: WebSocket, session_key: Option<i64>) {
        // One task owns the whole socket: no split halves (their shared lock cost
        // ~3% of a 5,000-socket fan-out profile). `select!` drops the read future
        // before a branch sends.
        let mut socket = socket;
        let mut conn = self.state.hub.connect_named(session_key, self.staff_name.clone());
        let id = conn.id;
        self.conn_id = id;
        // Waiting registers a waker. As a stream the wait persists across loop
        // turns instead of being registered and dropped again for every frame
        // sent. One wait for every kind of signal: each costs an idle socket.
        let mut signals = std::pin::pin!(futures::stream::unfold(conn.signals.clone(), |s| async move {
            let bits = s.wait().await;
            Some((bits, s))
        }));
        let mut dropped = self.state.faults.socket_drops();
        let result: Result<(), Closed> = async {
            loop {
                tokio::select! {
                    incoming = socket.next() => match incoming {
                        Some(Ok(Message::Text(text))) => {
                            // Boxed, as is `resync`: their futures (database reads) are
                            // large, and inline they would size every idle socket's task.
                            let answers = Box::pin(self.on_text(id, &text)).await;
                            send_all(&mut socket, answers).await?;
                        }
                        Some(Ok(Message::Binary(_))) => {
                            let e = ServerMsg::error(None, ErrorCode::BadRequest, "binary frames are not supported; send JSON text");
                            send_all(&mut socket, vec![encode(&e)]).await?;
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        Some(Err(err)) if is_too_big(&err) => {
                            // RFC 6455: say why before closing, so the client can tell.
                            let reason = format!("message over the {} byte limit", self.state.config.limits.ws_hard_message_bytes);
                            let close = Message::Close(Some(CloseFrame { code: close_code::SIZE, reason: reason.into() }));
                            let _ = Box::pin(socket.send(close)).await;
                            return Err(Closed);
                        }
                        Some(Ok(Message::Close(_)) | Err(_)) | None => return Err(Closed),
                    },
                    frame = conn.frames.recv() => {
                        let Some(frame) = frame else { return Err(Closed) };
                        // Whatever else is already queued goes out with it, in one flush.
                        let mut texts: Vec<Utf8Bytes> = self.admit(&frame).into_iter().collect();
                        while texts.len() < DRAIN_AT_ONCE {
                            let Ok(more) = conn.frames.try_recv() else { break };
                            texts.extend(self.admit(&more));
                        }
                        if !texts.is_empty() {
                            self.state.faults.delay_frames().await;
                            self.state.hub.count_sent(texts.len());
                            send_all(&mut socket, texts).await?;
                        }
                    }
                    Some(bits) = signals.next() => {
                        use super::hub::Signals;
                        if bits & Signals::DRAINING != 0 {
                            // Going away: say so (1012, service restart), so the browser
                            // reconnects at once, to another instance, and resumes by seq.
                            let bye = CloseFrame { code: close_code::RESTART, reason: "the server is restarting; reconnect".into() };
                            let _ = Box::pin(socket.send(Message::Close(Some(bye)))).await;
                            return Err(Closed);
                        }
                        let mut answers = Vec::new();
                        if bits & Signals::SIGNED_OUT != 0 {
                            // The hub already took this socket off its private topics, in
                            // seq order; now tell the browser.
                            answers = self.on_signed_out();
                        }
                        if bits & Signals::OVERFLOW != 0 {
                            answers.extend(Box::pin(self.resync(&mut conn.frames)).await);
                        }
                        send_all(&mut socket, answers).await?;
                    }
                    Some(()) = dropped.next() => return Err(Closed), // fault injection: a dead network
                }
            }
        }
        .await;
        let _ = result;
        self.state.hub.disconnect(id);
    }

    /// This socket's session signed out: it is anonymous from now on and loses
    /// every private topic.
    fn on_signed_out(&mut self) -> Vec<Utf8Bytes> {
        self.viewer = Viewer::Anonymous;
        self.drop_forbidden_topics("you signed out")
    }

    /// Unsubscribe every topic the viewer may no longer follow, saying so.
    fn drop_forbidden_topics(&mut self, why: &str) -> Vec<Utf8Bytes> {
        let gone: Vec<Topic> = self.subs.keys().filter(|t| !t.is_public()).cloned().collect();
        gone.into_iter()
            .map(|topic| {
                self.state.hub.unsubscribe(self.conn_id, &topic);
                self.subs.remove(&topic);
                encode(&ServerMsg::error(Some(topic.to_string()), ErrorCode::Forbidden, format!("{why}: {topic} is private")))
            })
            .collect()
    }

    /// A hub frame to send, unless the socket no longer follows its topic or has
    /// already sent it (in a snapshot or replay).
    fn admit(&mut self, frame: &Frame) -> Option<Utf8Bytes> {
        let sent = self.subs.get_mut(&frame.topic)?;
        if frame.ephemeral {
            return Some(frame.text.clone());
        }
        if frame.seq <= *sent {
            return None;
        }
        *sent = frame.seq;
        Some(frame.text.clone())
    }

    async fn on_text(&mut self, id: u64, text: &str) -> Vec<Utf8Bytes> {
        if self.limiter.check().is_err() {
            self.state.hub.count_rate_limited();
            return vec![encode(&ServerMsg::error(None, ErrorCode::RateLimited, "too many messages; slow down"))];
        }
        if text.len() > self.state.config.limits.ws_message_bytes {
            let msg = format!("message of {} bytes is over the {} byte limit", text.len(), self.state.config.limits.ws_message_bytes);
            return vec![encode(&ServerMsg::error(None, ErrorCode::TooLarge, msg))];
        }
        let msg = match decode(text) {
            Ok(msg) => msg,
            Err(err) => return vec![encode(&err)],
        };
        match msg {
            ClientMsg::Ping => vec![encode(&ServerMsg::Pong)],
            ClientMsg::Unsubscribe { topic } => {
                self.state.hub.unsubscribe(id, &topic);
                self.subs.remove(&topic);
                Vec::new()
            }
            ClientMsg::Subscribe { topic, since } => self.subscribe(id, topic, since).await,
            ClientMsg::Typing { topic } => self.typing(id, topic),
        }
    }

    /// Pass "typing" on to the conversation's other followers, here and (on
    /// PostgreSQL) on the other instances (ephemeral: not logged, not
    /// replayed, dropped when a queue is full).
    fn typing(&mut self, id: u64, topic: Topic) -> Vec<Utf8Bytes> {
        if !matches!(topic, Topic::Conversation(_)) {
            return vec![encode(&ServerMsg::error(Some(topic.to_string()), ErrorCode::BadRequest, "only conversations carry typing"))];
        }
        if !self.subs.contains_key(&topic) {
            let message = format!("follow {topic} before saying you are typing in it");
            return vec![encode(&ServerMsg::error(Some(topic.to_string()), ErrorCode::Forbidden, message))];
        }
        let now = std::time::Instant::now();
        if self.typed_at.is_some_and(|at| now.duration_since(at) < TYPING_EVERY) {
            return Vec::new();
        }
        self.typed_at = Some(now);
        let from_staff = matches!(self.viewer, Viewer::Staff(_));
        self.state.presence.relay_typing(&self.state.db, &topic, from_staff);
        let text = encode(&ServerMsg::Typing { topic: topic.clone(), from_staff });
        self.state.hub.signal(Arc::new(Frame::ephemeral(topic, text)), Some(id));
        Vec::new()
    }

    async fn subscribe(&mut self, id: u64, topic: Topic, since: Option<Seq>) -> Vec<Utf8Bytes> {
        let error = |code, message: String| vec![encode(&ServerMsg::error(Some(topic.to_string()), code, message))];
        let unavailable = || error(ErrorCode::Unavailable, "the shop could not answer this subscription; try again".into());
        let owner = match &topic {
            Topic::Order(order) | Topic::Conversation(order) if matches!(self.viewer, Viewer::Customer(_)) => {
                match self.state.db.order_owner(*order).await {
                    Ok(owner) => owner,
                    Err(err) => {
                        tracing::error!(error = ?err, "looking up an order's owner failed");
                        return unavailable();
                    }
                }
            }
            _ => None,
        };
        if let Err(code) = may_subscribe(&self.viewer, &topic, owner) {
            return error(code, format!("you may not follow {topic}"));
        }
        // A page's cart follows one `carts:` topic per line (up to a cart's
        // lines) beside what the page shows: those are counted apart.
        let is_cart = |t: &Topic| matches!(t, Topic::Carts(_));
        let (limit, what) = if is_cart(&topic) {
            (app::cart::Cart::MAX_LINES, "cart products")
        } else {
            (self.state.config.limits.subscriptions_per_socket, "subscriptions")
        };
        if !self.subs.contains_key(&topic) && self.subs.keys().filter(|t| is_cart(t) == is_cart(&topic)).count() >= limit {
            return error(ErrorCode::TooLarge, format!("at most {limit} {what} per socket"));
        }
        // A whole-collection topic snapshots every product in it: refused once
        // that is more than a page of results could count, so a subscription's
        // cost stays bounded however big the catalog grows.
        if let Topic::Catalog | Topic::Category(_) = &topic {
            let category = match &topic {
                Topic::Category(slug) => Some(slug.as_str()),
                _ => None,
            };
            match self.state.db.listed_count(category).await {
                Ok(n) if n > COUNT_CAP => {
                    return error(
                        ErrorCode::TooLarge,
                        format!(
                            "{topic} has more than {COUNT_CAP} products, too many to send at once; \
                             follow `listing` and the `card:{{id}}` of each product shown, as the catalog page does"
                        ),
                    );
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::error!(error = ?err, %topic, "counting a collection failed");
                    return unavailable();
                }
            }
        }
        // Already followed (a second view in the browser): frames queued for the
        // first view but not sent yet are dropped once the answer covers
        // them, so the answer starts where this socket's sending stopped when
        // that is older than the new view's `since` (the browser's views each
        // drop what they have already applied).
        let since = match (self.subs.get(&topic), since) {
            (Some(&sent), Some(since)) => Some(since.min(sent)),
            (_, since) => since,
        };
        let followed = self.subs.contains_key(&topic);
        // Register first, then read: anything committed after `position` is queued.
        let Some(position) = self.state.hub.subscribe(id, &topic) else {
            // The session signed out after this socket looked at the viewer.
            self.viewer = Viewer::Anonymous;
            return error(ErrorCode::Forbidden, format!("you signed out: {topic} is private"));
        };
        let answer = if self.state.faults.take_subscribe_failure(&topic) {
            Err(anyhow::anyhow!("fault injected: this subscribe fails"))
        } else {
            self.answer(&topic, since, position).await
        };
        match answer {
            Ok(Some(frames)) => {
                self.subs.insert(topic, position);
                frames
            }
            Ok(None) => {
                self.state.hub.unsubscribe(id, &topic);
                self.subs.remove(&topic);
                error(ErrorCode::UnknownTopic, format!("{topic} does not exist"))
            }
            Err(err) => {
                tracing::error!(error = ?err, %topic, "answering a subscription failed");
                // A topic the socket already followed stays followed (its other
                // views in the browser keep getting frames); the browser asks again.
                if !followed {
                    self.state.hub.unsubscribe(id, &topic);
                    self.subs.remove(&topic);
                }
                unavailable()
            }
        }
    }

    /// The replay after `since` up to `position`, or a snapshot at `position` when
    /// there is no `since` or the log no longer reaches back to it. `None` when
    /// the topic names nothing.
    async fn answer(&self, topic: &Topic, since: Option<Seq>, position: Seq) -> anyhow::Result<Option<Vec<Utf8Bytes>>> {
        if let Some(since) = since.filter(|_| !topic.is_presence()) {
            let floor = self.state.db.pruned_through().await?;
            if since.0 >= floor && since <= position {
                let facts = self.state.db.facts_for(topic, since.0, position.0).await?;
                if facts.is_empty() && !topic_exists(&self.state.db, topic).await? {
                    return Ok(None);
                }
                return Ok(Some(replay(&self.state.db, topic, &facts).await?.iter().map(|f| f.text.clone()).collect()));
            }
        }
        self.snapshot(topic, position).await.map(|s| s.map(|text| vec![text]))
    }

    async fn snapshot(&self, topic: &Topic, seq: Seq) -> anyhow::Result<Option<Utf8Bytes>> {
        let Some(json) = topic_snapshot_json(&self.state.db, topic).await? else { return Ok(None) };
        // A presence figure lives in the hub, not the database (which only said the topic exists).
        let json = match self.state.presence.current(topic) {
            Some(figure) => serde_json::to_string(&figure)?,
            None => json,
        };
        let data = RawValue::from_string(json)?;
        Ok(Some(encode(&ServerMsg::Snapshot { topic: topic.clone(), seq, data })))
    }

    /// The queue overflowed: skip what is queued and send a fresh snapshot of
    /// every topic instead, then whatever arrived after it.
    async fn resync(&mut self, queue: &mut tokio::sync::mpsc::Receiver<Arc<Frame>>) -> Vec<Utf8Bytes> {
        let position = self.state.hub.position();
        let mut later = Vec::new();
        while let Ok(frame) = queue.try_recv() {
            if frame.seq > position {
                later.push(frame);
            }
        }
        let topics: Vec<Topic> = self.subs.keys().cloned().collect();
        tracing::debug!(topics = topics.len(), %position, "socket fell behind; re-syncing");
        self.state.hub.count_resync();
        let mut out = Vec::with_capacity(topics.len() + later.len());
        for topic in topics {
            match self.snapshot(&topic, position).await {
                Ok(Some(text)) => {
                    out.push(text);
                    self.subs.insert(topic, position);
                }
                Ok(None) => {
                    self.subs.remove(&topic);
                }
                Err(err) => tracing::error!(error = ?err, %topic, "re-sync snapshot failed"),
            }
        }
        out.extend(later.iter().filter_map(|f| self.admit(f)));
        out
    }
}

/// Whether a read failed because the client's message was over the hard limit.
fn is_too_big(err: &axum::Error) -> bool {
    // tungstenite's CapacityError ("Space limit exceeded: Message too long: …").
    let text = err.to_string();
    text.contains("Space limit exceeded") || text.contains("too long") || text.contains("too big")
}

/// A socket's "typing" is passed on at most this often (the browser sends it
/// every two seconds while one types; more is dropped without a word).
const TYPING_EVERY: std::time::Duration = std::time::Duration::from_millis(1500);

/// Frames a socket takes from its queue before one flush.
const DRAIN_AT_ONCE: usize = 32;

async fn send_all(sink: &mut WebSocket, frames: Vec<Utf8Bytes>) -> Result<(), Closed> {
    for text in frames {
        sink.feed(Message::Text(text)).await.map_err(|_| Closed)?;
    }
    sink.flush().await.map_err(|_| Closed)
}

/// Decode a client frame, telling an unknown topic from a malformed frame.
fn decode(text: &str) -> Result<ClientMsg, ServerMsg> {
    serde_json::from_str::<ClientMsg>(text).map_err(|err| {
        let value: Option<serde_json::Value> = serde_json::from_str(text).ok();
        let topic = value.as_ref().and_then(|v| v.get("topic")).and_then(|t| t.as_str());
        match topic.map(|t| (t, t.parse::<Topic>())) {
            Some((t, Err(e))) => ServerMsg::error(Some(t.chars().take(80).collect()), ErrorCode::UnknownTopic, e.to_string()),
            _ if value.is_none() => ServerMsg::error(None, ErrorCode::BadRequest, "frames must be JSON objects"),
            _ => ServerMsg::error(None, ErrorCode::BadRequest, format!("malformed message: {err}")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"), v.parse().expect("value"));
        }
        h
    }

    #[test]
    fn same_site_and_allowed_origins_pass_others_do_not() {
        let allowed = vec!["https://shop.example.com".to_string()];
        assert!(origin_allowed(&headers(&[("host", "127.0.0.1:3000")]), &allowed));
        assert!(origin_allowed(&headers(&[("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3000")]), &allowed));
        assert!(origin_allowed(&headers(&[("host", "internal:80"), ("origin", "https://shop.example.com")]), &allowed));
        assert!(!origin_allowed(&headers(&[("host", "127.0.0.1:3000"), ("origin", "http://evil.example")]), &allowed));
        assert!(!origin_allowed(&headers(&[("host", "127.0.0.1:3000"), ("origin", "null")]), &allowed));
    }

    #[test]
    fn bad_frames_get_the_right_error_code() {
        let code = |text: &str| match decode(text) {
            Err(ServerMsg::Error { code, .. }) => Some(code),
            _ => None,
        };
        assert_eq!(code("garbage"), Some(ErrorCode::BadRequest));
        assert_eq!(code(r#"{"type":"subscribe"}"#), Some(ErrorCode::BadRequest));
        assert_eq!(code(r#"{"type":"subscribe","topic":"weather"}"#), Some(ErrorCode::UnknownTopic));
        assert_eq!(code(r#"{"type":"subscribe","topic":"catalog","since":"x"}"#), Some(ErrorCode::BadRequest));
        assert_eq!(code(r#"{"type":"subscribe","topic":"catalog"}"#), None);
    }
}

/// Property tests: whatever a socket sends, decoding answers (a message or an
/// error frame that is itself valid JSON) and never panics.
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_decodes_or_gets_an_error_frame(s in "\\PC{0,300}") {
            if let Err(e) = decode(&s) {
                let text = encode(&e);
                prop_assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
            }
        }

        #[test]
        fn json_objects_with_hostile_fields_decode_or_get_an_error_frame(
            kind in "\\PC{0,12}", topic in "\\PC{0,100}", since in any::<f64>(), extra in "\\PC{0,8}",
        ) {
            let v = serde_json::json!({"type": kind, "topic": topic, "since": since, extra: [1, {"a": null}]});
            if let Err(e) = decode(&v.to_string()) {
                let is_error = matches!(e, ServerMsg::Error { .. });
                prop_assert!(is_error);
            }
        }
    }
}
