//! Frames: what the feed makes of change-log rows and the hub hands to
//! sockets. Encoded once per change, shared by every subscriber, and the one
//! place server messages become bytes. The feed and `/ws` both build frames
//! here, so the arrows run one way: feed -> hub -> ws, each using this file.

use std::str::FromStr as _;
use std::sync::Arc;

use app::protocol::{Seq, ServerMsg, Topic};
use app::server::ChangeRow;
use app::server::db::SIGN_OUT_TOPIC;
use axum::extract::ws::Utf8Bytes;
use serde_json::value::RawValue;

/// One encoded server frame for one topic, shared by every subscriber.
#[derive(Debug)]
pub struct Frame {
    pub topic: Topic,
    pub seq: Seq,
    pub text: Utf8Bytes,
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

/// What change-log rows mean for the hub, in seq order: frames, encoded once
/// each, and sign-outs.
pub fn published(rows: &[ChangeRow]) -> Vec<Published> {
    rows.iter()
        .filter_map(|row| {
            if row.topic == SIGN_OUT_TOPIC {
                Some(Published::SignOut { seq: Seq(row.seq), session: row.entity_id })
            } else {
                frame(row).map(Published::Frame)
            }
        })
        .collect()
}

/// Encode change-log rows into frames, once each (a replay for one topic).
pub fn frames(rows: &[ChangeRow]) -> Vec<Arc<Frame>> {
    rows.iter().filter(|row| row.topic != SIGN_OUT_TOPIC).filter_map(frame).collect()
}

fn frame(row: &ChangeRow) -> Option<Arc<Frame>> {
    let topic = match Topic::from_str(&row.topic) {
        Ok(t) => t,
        Err(err) => {
            tracing::warn!(seq = row.seq, %err, "change_log row with an unknown topic; skipped");
            return None;
        }
    };
    let seq = Seq(row.seq);
    let msg = match (row.op.as_str(), &row.payload) {
        ("change", Some(payload)) => match RawValue::from_string(payload.clone()) {
            Ok(data) => ServerMsg::Change { topic: topic.clone(), seq, data },
            Err(err) => {
                tracing::warn!(seq = row.seq, %err, "change_log payload is not JSON; skipped");
                return None;
            }
        },
        _ => ServerMsg::Removed { topic: topic.clone(), seq, id: row.entity_id },
    };
    Some(Arc::new(Frame { topic, seq, text: encode(&msg) }))
}
