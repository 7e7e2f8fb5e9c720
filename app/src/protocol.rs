//! The live feed's wire protocol: topics and the JSON frames on `/ws`.
//!
//! Topics are printed and parsed here and nowhere else.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::model::{CategorySlug, CustomerId, IdError, OrderId, ProductId};

/// A position in the change log. Per topic it only grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seq(pub i64);

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Data as of a position in the change log: what a page renders and then
/// subscribes from (`since = seq`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot<T> {
    pub seq: Seq,
    pub data: T,
}

/// Something a browser can subscribe to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Topic {
    /// Every product, as summaries.
    Catalog,
    /// The products of one category, as summaries.
    Category(CategorySlug),
    /// One product in full.
    Product(ProductId),
    /// One product as its catalog card shows it (a summary): what a page of
    /// the catalog follows for each product on screen.
    Card(ProductId),
    /// Products joining or leaving the catalog (`None`) or one category: a
    /// `change` with the new product's summary, a `removed` with its id; never
    /// price, stock or sales ticks. Its snapshot is how many are listed.
    Listing(Option<CategorySlug>),
    /// One customer's orders, as summaries.
    Orders(CustomerId),
    /// Every customer's orders, as summaries (staff only).
    AllOrders,
    /// One order in full.
    Order(OrderId),
    /// The questions about one product (each a `Question`; `removed` when
    /// deleted). Its snapshot is the product page's board.
    Questions(ProductId),
    /// Every product's questions, unanswered first (staff only).
    QuestionQueue,
    /// One order's conversation between its customer and the staff (each a
    /// `Message`). Also carries ephemeral `typing` frames, never logged.
    Conversation(OrderId),
    /// Orders with a conversation, newest message first, as summaries (staff only).
    Inbox,
    /// How many people have a product page open (anyone): its snapshot is a
    /// `PresenceFigure`, then `presence` frames; following it is being counted.
    Presence(ProductId),
    /// Carts holding a product (anyone): a page whose cart holds the product
    /// follows it, and is counted as one cart; its figures come as for
    /// `Presence`, and a product page hears them in its `presence:` figure.
    Carts(ProductId),
    /// The staff console: who has it open (staff only), as for `Presence`.
    Staff,
}

/// Why a topic name did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error(
        "unknown topic '{0}' (expected catalog, category:<slug>, product:<id>, card:<id>, listing, listing:<slug>, orders, orders:<customer>, order:<id>, questions, questions:<product>, conversation:<order>, inbox, presence:<product>, carts:<product>, staff)"
    )]
    Unknown(String),
    #[error("bad topic '{topic}': {source}")]
    BadId { topic: String, source: IdError },
}

impl Topic {
    /// Whether it carries presence figures (kept in the hub, never logged).
    pub fn is_presence(&self) -> bool {
        matches!(self, Topic::Presence(_) | Topic::Carts(_) | Topic::Staff)
    }

    /// Whether anyone may subscribe, signed in or not.
    pub fn is_public(&self) -> bool {
        matches!(
            self,
            Topic::Catalog
                | Topic::Category(_)
                | Topic::Product(_)
                | Topic::Card(_)
                | Topic::Listing(_)
                | Topic::Questions(_)
                | Topic::Presence(_)
                | Topic::Carts(_)
        )
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::Catalog => f.write_str("catalog"),
            Topic::Category(slug) => write!(f, "category:{slug}"),
            Topic::Product(id) => write!(f, "product:{id}"),
            Topic::Card(id) => write!(f, "card:{id}"),
            Topic::Listing(None) => f.write_str("listing"),
            Topic::Listing(Some(slug)) => write!(f, "listing:{slug}"),
            Topic::Orders(id) => write!(f, "orders:{id}"),
            Topic::AllOrders => f.write_str("orders"),
            Topic::Order(id) => write!(f, "order:{id}"),
            Topic::Questions(id) => write!(f, "questions:{id}"),
            Topic::QuestionQueue => f.write_str("questions"),
            Topic::Conversation(id) => write!(f, "conversation:{id}"),
            Topic::Inbox => f.write_str("inbox"),
            Topic::Presence(id) => write!(f, "presence:{id}"),
            Topic::Carts(id) => write!(f, "carts:{id}"),
            Topic::Staff => f.write_str("staff"),
        }
    }
}

impl FromStr for Topic {
    type Err = TopicError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let short = || s.chars().take(80).collect::<String>();
        let bad = |source| TopicError::BadId { topic: short(), source };
        match s.split_once(':') {
            None if s == "catalog" => Ok(Topic::Catalog),
            None if s == "orders" => Ok(Topic::AllOrders),
            None if s == "listing" => Ok(Topic::Listing(None)),
            None if s == "questions" => Ok(Topic::QuestionQueue),
            None if s == "inbox" => Ok(Topic::Inbox),
            None if s == "staff" => Ok(Topic::Staff),
            Some(("category", slug)) => slug.parse().map(Topic::Category).map_err(bad),
            Some(("product", id)) => id.parse().map(Topic::Product).map_err(bad),
            Some(("card", id)) => id.parse().map(Topic::Card).map_err(bad),
            Some(("listing", slug)) => slug.parse().map(|s| Topic::Listing(Some(s))).map_err(bad),
            Some(("orders", id)) => id.parse().map(Topic::Orders).map_err(bad),
            Some(("order", id)) => id.parse().map(Topic::Order).map_err(bad),
            Some(("questions", id)) => id.parse().map(Topic::Questions).map_err(bad),
            Some(("conversation", id)) => id.parse().map(Topic::Conversation).map_err(bad),
            Some(("presence", id)) => id.parse().map(Topic::Presence).map_err(bad),
            Some(("carts", id)) => id.parse().map(Topic::Carts).map_err(bad),
            _ => Err(TopicError::Unknown(short())),
        }
    }
}

impl TryFrom<String> for Topic {
    type Error = TopicError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Topic> for String {
    fn from(t: Topic) -> Self {
        t.to_string()
    }
}

/// What a presence topic's snapshot carries (its later figures come as
/// `presence` frames).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceFigure {
    pub count: u64,
    /// On `presence:{product}`: how many carts hold the product.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub carts: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

/// A frame from the browser to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    Subscribe {
        topic: Topic,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<Seq>,
    },
    Unsubscribe {
        topic: Topic,
    },
    /// "I am typing" in a conversation the socket follows: passed on to its
    /// other followers at once, never logged, never replayed.
    Typing {
        topic: Topic,
    },
    Ping,
}

/// Why the server refused a frame. An error is an answer, not a disconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    UnknownTopic,
    Forbidden,
    TooLarge,
    RateLimited,
    /// The server could not answer (its database): ask again a little later.
    Unavailable,
}

/// A frame from the server to the browser.
///
/// `data` stays raw JSON: the server serialises each change once (shared by
/// every subscriber) and the browser decodes it into the topic's type.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", try_from = "ServerFrame")]
pub enum ServerMsg {
    Snapshot {
        topic: Topic,
        seq: Seq,
        data: Box<RawValue>,
    },
    Change {
        topic: Topic,
        seq: Seq,
        data: Box<RawValue>,
    },
    Removed {
        topic: Topic,
        seq: Seq,
        id: i64,
    },
    /// Someone following `topic` is typing (ephemeral: no seq, not replayed).
    Typing {
        topic: Topic,
        /// The shop's staff (else the order's customer).
        from_staff: bool,
    },
    /// How many sockets follow `topic` now, over every instance (`presence:`:
    /// people looking at a product), and on `staff` who they are. Ephemeral:
    /// sent when it changes (at most once a second) and on subscribing.
    Presence {
        topic: Topic,
        count: u64,
        /// On `presence:{product}`: how many carts hold the product.
        #[serde(default, skip_serializing_if = "is_zero")]
        carts: u64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        names: Vec<String>,
    },
    Error {
        /// The topic as the client sent it (it may not parse).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<String>,
        code: ErrorCode,
        message: String,
    },
    Pong,
}

/// How a server frame is read. serde buffers internally tagged enums, and a
/// buffered value cannot become a `RawValue`; a flat struct reads `data` raw.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerFrame {
    #[serde(rename = "type")]
    kind: String,
    topic: Option<String>,
    seq: Option<Seq>,
    data: Option<Box<RawValue>>,
    id: Option<i64>,
    code: Option<ErrorCode>,
    message: Option<String>,
    from_staff: Option<bool>,
    count: Option<u64>,
    #[serde(default)]
    carts: u64,
    #[serde(default)]
    names: Vec<String>,
}

impl TryFrom<ServerFrame> for ServerMsg {
    type Error = String;

    fn try_from(f: ServerFrame) -> Result<Self, String> {
        let missing = |field: &str| format!("'{}' frame without '{field}'", f.kind);
        let topic = || -> Result<Topic, String> {
            f.topic.as_deref().ok_or_else(|| missing("topic"))?.parse().map_err(|e: TopicError| e.to_string())
        };
        let seq = f.seq.ok_or_else(|| missing("seq"));
        Ok(match f.kind.as_str() {
            "snapshot" => ServerMsg::Snapshot { topic: topic()?, seq: seq?, data: f.data.ok_or_else(|| missing("data"))? },
            "change" => ServerMsg::Change { topic: topic()?, seq: seq?, data: f.data.ok_or_else(|| missing("data"))? },
            "removed" => ServerMsg::Removed { topic: topic()?, seq: seq?, id: f.id.ok_or_else(|| missing("id"))? },
            "error" => {
                ServerMsg::Error { topic: f.topic, code: f.code.ok_or_else(|| missing("code"))?, message: f.message.unwrap_or_default() }
            }
            "typing" => ServerMsg::Typing { topic: topic()?, from_staff: f.from_staff.ok_or_else(|| missing("from_staff"))? },
            "presence" => {
                ServerMsg::Presence { topic: topic()?, count: f.count.ok_or_else(|| missing("count"))?, carts: f.carts, names: f.names }
            }
            "pong" => ServerMsg::Pong,
            other => return Err(format!("unknown frame type '{other}'")),
        })
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ServerMsg {
    pub fn error(topic: Option<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMsg::Error { topic, code, message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_print_and_parse_back() {
        let topics = [
            Topic::Catalog,
            Topic::Category(CategorySlug::parse("coffee-tea").expect("slug")),
            Topic::Product(ProductId(42)),
            Topic::Orders(CustomerId(7)),
            Topic::AllOrders,
            Topic::Order(OrderId(9)),
            Topic::Card(ProductId(42)),
            Topic::Listing(None),
            Topic::Listing(Some(CategorySlug::parse("coffee-tea").expect("slug"))),
            Topic::Questions(ProductId(42)),
            Topic::QuestionQueue,
            Topic::Conversation(OrderId(9)),
            Topic::Inbox,
            Topic::Presence(ProductId(3)),
            Topic::Carts(ProductId(3)),
            Topic::Staff,
        ];
        let printed: Vec<String> = topics.iter().map(ToString::to_string).collect();
        assert_eq!(
            printed,
            [
                "catalog",
                "category:coffee-tea",
                "product:42",
                "orders:7",
                "orders",
                "order:9",
                "card:42",
                "listing",
                "listing:coffee-tea",
                "questions:42",
                "questions",
                "conversation:9",
                "inbox",
                "presence:3",
                "carts:3",
                "staff"
            ]
        );
        for (topic, text) in topics.iter().zip(&printed) {
            assert_eq!(&text.parse::<Topic>().expect("parses"), topic);
        }
    }

    #[test]
    fn malformed_topics_are_refused_with_a_reason() {
        for bad in ["", "catalog:1", "products", "product:", "product:x", "product:-3", "category:Bad Slug", "order:0"] {
            let err = bad.parse::<Topic>().expect_err(bad);
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn client_frames_match_the_documented_json() {
        let sub: ClientMsg = serde_json::from_str(r#"{"type":"subscribe","topic":"product:42","since":130}"#).expect("subscribe");
        assert_eq!(sub, ClientMsg::Subscribe { topic: Topic::Product(ProductId(42)), since: Some(Seq(130)) });
        let sub: ClientMsg = serde_json::from_str(r#"{"type":"subscribe","topic":"catalog"}"#).expect("no since");
        assert_eq!(sub, ClientMsg::Subscribe { topic: Topic::Catalog, since: None });
        let un: ClientMsg = serde_json::from_str(r#"{"type":"unsubscribe","topic":"product:42"}"#).expect("unsubscribe");
        assert_eq!(un, ClientMsg::Unsubscribe { topic: Topic::Product(ProductId(42)) });
        assert_eq!(serde_json::to_string(&ClientMsg::Ping).ok().as_deref(), Some(r#"{"type":"ping"}"#));
        for bad in [r#"{"type":"subscribe"}"#, r#"{"type":"dance"}"#, r#"{"topic":"catalog"}"#, "[1,2]", "not json"] {
            assert!(serde_json::from_str::<ClientMsg>(bad).is_err(), "{bad} should not decode");
        }
    }

    #[test]
    fn server_frames_match_the_documented_json() {
        let raw = |s: &str| RawValue::from_string(s.to_owned()).expect("raw json");
        let cases = [
            (
                ServerMsg::Snapshot { topic: Topic::Catalog, seq: Seq(130), data: raw("[]") },
                r#"{"type":"snapshot","topic":"catalog","seq":130,"data":[]}"#,
            ),
            (
                ServerMsg::Change { topic: Topic::Catalog, seq: Seq(131), data: raw(r#"{"id":1}"#) },
                r#"{"type":"change","topic":"catalog","seq":131,"data":{"id":1}}"#,
            ),
            (
                ServerMsg::Removed { topic: Topic::Catalog, seq: Seq(132), id: 7 },
                r#"{"type":"removed","topic":"catalog","seq":132,"id":7}"#,
            ),
            (
                ServerMsg::error(Some("order:9".into()), ErrorCode::Forbidden, "sign in"),
                r#"{"type":"error","topic":"order:9","code":"forbidden","message":"sign in"}"#,
            ),
            (ServerMsg::Pong, r#"{"type":"pong"}"#),
            (
                ServerMsg::Typing { topic: Topic::Conversation(OrderId(9)), from_staff: true },
                r#"{"type":"typing","topic":"conversation:9","from_staff":true}"#,
            ),
            (
                ServerMsg::Presence { topic: Topic::Presence(ProductId(3)), count: 4, carts: 0, names: Vec::new() },
                r#"{"type":"presence","topic":"presence:3","count":4}"#,
            ),
            (
                ServerMsg::Presence { topic: Topic::Presence(ProductId(3)), count: 4, carts: 2, names: Vec::new() },
                r#"{"type":"presence","topic":"presence:3","count":4,"carts":2}"#,
            ),
            (
                ServerMsg::Presence { topic: Topic::Staff, count: 2, carts: 0, names: vec!["ann".into(), "bo".into()] },
                r#"{"type":"presence","topic":"staff","count":2,"names":["ann","bo"]}"#,
            ),
        ];
        for (msg, json) in cases {
            assert_eq!(serde_json::to_string(&msg).expect("encodes"), json);
            let back: ServerMsg = serde_json::from_str(json).expect("decodes");
            assert_eq!(serde_json::to_string(&back).expect("encodes"), json);
        }
    }
}

/// Property tests for what reads untrusted text: topics and client frames
/// come straight from any socket.
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;
    use crate::model::{CategorySlug, CustomerId, OrderId, ProductId};

    fn topic() -> impl Strategy<Value = Topic> {
        prop_oneof![
            Just(Topic::Catalog),
            Just(Topic::AllOrders),
            "[a-z0-9][a-z0-9-]{0,30}".prop_filter_map("a slug", |s| CategorySlug::parse(&s).ok().map(Topic::Category)),
            (1..i64::MAX).prop_map(|n| Topic::Product(ProductId(n))),
            (1..i64::MAX).prop_map(|n| Topic::Orders(CustomerId(n))),
            (1..i64::MAX).prop_map(|n| Topic::Order(OrderId(n))),
            (1..i64::MAX).prop_map(|n| Topic::Questions(ProductId(n))),
            Just(Topic::QuestionQueue),
            (1..i64::MAX).prop_map(|n| Topic::Conversation(OrderId(n))),
            Just(Topic::Inbox),
            (1..i64::MAX).prop_map(|n| Topic::Presence(ProductId(n))),
            (1..i64::MAX).prop_map(|n| Topic::Carts(ProductId(n))),
            Just(Topic::Staff),
        ]
    }

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_and_what_parses_prints_back(s in ".{0,120}") {
            if let Ok(t) = s.parse::<Topic>() {
                prop_assert_eq!(t.to_string().parse::<Topic>().ok(), Some(t));
            }
        }

        #[test]
        fn topic_like_text_never_panics(prefix in "(catalog|orders|category|product|order|x)", sep in "[:]{0,2}", rest in "\\PC{0,40}") {
            let _ = format!("{prefix}{sep}{rest}").parse::<Topic>();
        }

        #[test]
        fn every_topic_round_trips(t in topic()) {
            prop_assert_eq!(t.to_string().parse::<Topic>().ok(), Some(t));
        }

        #[test]
        fn any_frame_text_decodes_or_is_refused(s in "\\PC{0,200}") {
            let _ = serde_json::from_str::<ClientMsg>(&s);
        }

        #[test]
        fn frame_shaped_json_decodes_or_is_refused(
            kind in "(subscribe|unsubscribe|ping|pong|)",
            topic in "\\PC{0,40}",
            since in proptest::option::of(any::<i64>()),
            extra in proptest::option::of("[a-z]{1,8}"),
        ) {
            let mut v = serde_json::json!({"type": kind, "topic": topic});
            if let Some(since) = since { v["since"] = since.into(); }
            if let Some(extra) = extra { v[extra] = 1.into(); }
            let _ = serde_json::from_value::<ClientMsg>(v);
        }

        #[test]
        fn every_client_frame_round_trips(t in topic(), since in proptest::option::of(0..i64::MAX)) {
            for msg in [ClientMsg::Subscribe { topic: t.clone(), since: since.map(Seq) }, ClientMsg::Unsubscribe { topic: t.clone() }, ClientMsg::Ping] {
                let text = serde_json::to_string(&msg).expect("encodes");
                prop_assert_eq!(serde_json::from_str::<ClientMsg>(&text).ok(), Some(msg));
            }
        }
    }
}
