//! Frames: what the mapper makes of change-log facts and the hub hands to
//! sockets. Encoded once per change, shared by every subscriber, and the one
//! place server messages become bytes. The arrows run one way: feed ->
//! mapper -> hub -> ws, each using this file.

use std::sync::Arc;

use app::protocol::{Seq, ServerMsg, Topic};
use axum::extract::ws::Utf8Bytes;

/// One encoded server frame for one topic, shared by every subscriber.
#[derive(Debug)]
pub struct Frame {
    pub topic: Topic,
    pub seq: Seq,
    pub text: Utf8Bytes,
    /// Not from the log (a "typing" signal): no seq of its own, sent to whoever
    /// follows the topic now and never replayed.
    pub ephemeral: bool,
}

impl Frame {
    /// A frame of the change log at `seq`.
    pub fn logged(topic: Topic, seq: Seq, text: Utf8Bytes) -> Self {
        Self { topic, seq, text, ephemeral: false }
    }

    pub fn ephemeral(topic: Topic, text: Utf8Bytes) -> Self {
        Self { topic, seq: Seq(0), text, ephemeral: true }
    }
}

/// What the feed hands the hub, in seq order.
#[derive(Debug, Clone)]
pub enum Published {
    Frame(Arc<Frame>),
    /// The session with this `sign_out_key` signed out at `seq`.
    SignOut {
        seq: Seq,
        session: i64,
    },
}

/// Encode a server frame. Every frame the server sends goes through here.
pub fn encode(msg: &ServerMsg) -> Utf8Bytes {
    // ServerMsg holds only strings, integers and already-valid JSON.
    serde_json::to_string(msg).unwrap_or_else(|_| r#"{"type":"error","code":"bad_request","message":"unencodable"}"#.to_owned()).into()
}
