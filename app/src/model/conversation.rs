//! Order conversations: the messages between a customer and the shop's staff
//! about one order, on the `conversation:{order}` topic.

use std::cmp::Reverse;

use serde::{Deserialize, Serialize};

use super::{Keyed, MessageId, OrderId, OrderSummary, has_control};

/// One message of an order's conversation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: MessageId,
    pub order_id: OrderId,
    /// Written by the shop's staff (else by the order's customer).
    pub from_staff: bool,
    /// Who wrote it: the customer's username, or "The shop" for staff.
    pub author: String,
    pub body: String,
    pub sent_at: String,
    /// When the other side read it.
    pub read_at: Option<String>,
}

/// Oldest first, as a conversation reads.
impl Keyed for Message {
    type Sort = i64;
    fn key(&self) -> i64 {
        self.id.0
    }
    fn sort_key(&self) -> i64 {
        self.id.0
    }
}

/// One of a customer's orders with messages from the shop they have not read:
/// all the header's link needs of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UnreadOrder {
    pub order: OrderId,
    /// Staff messages the customer has not read (more than 0).
    pub messages: i64,
}

impl UnreadOrder {
    /// What the header shows of an order (as `orders:{customer}` sends it):
    /// `None` once everything in its conversation is read.
    pub fn of(order: &OrderSummary) -> Option<Self> {
        let messages = order.conversation.unread_by_customer;
        (messages > 0).then_some(Self { order: order.id, messages })
    }
}

impl Keyed for UnreadOrder {
    type Sort = OrderId;
    fn key(&self) -> i64 {
        self.order.0
    }
    fn sort_key(&self) -> OrderId {
        self.order
    }
}

/// What an order's lists show of its conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConversationCounts {
    pub messages: i64,
    /// Staff messages the customer has not read.
    pub unread_by_customer: i64,
    /// Customer messages no staff member has read.
    pub unread_by_staff: i64,
    pub last_message_at: Option<String>,
}

/// An order in the staff inbox: conversations with the newest message first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InboxEntry(pub OrderSummary);

impl Keyed for InboxEntry {
    type Sort = Reverse<(Option<String>, i64)>;
    fn key(&self) -> i64 {
        self.0.id.0
    }
    fn sort_key(&self) -> Self::Sort {
        Reverse((self.0.conversation.last_message_at.clone(), self.0.id.0))
    }
}

/// A conversation as a page opens it: its newest messages (oldest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationView {
    pub order_id: OrderId,
    pub messages: Vec<Message>,
    /// Whether older messages exist than the first of `messages`.
    pub has_older: bool,
    /// Whether the viewer writes as the shop.
    pub as_staff: bool,
}

/// Messages a page loads at once (the newest first, then older on request).
pub const MESSAGE_PAGE: i64 = 50;
pub const MAX_MESSAGE: usize = 2000;

/// A message, trimmed: plain text of 1 to [`MAX_MESSAGE`] characters.
pub fn check_message(body: &str) -> Result<String, (&'static str, String)> {
    let body = body.trim();
    let n = body.chars().count();
    if n == 0 {
        return Err(("body", "Your message is empty".into()));
    }
    if n > MAX_MESSAGE {
        return Err(("body", format!("Your message is {n} characters; at most {MAX_MESSAGE} fit")));
    }
    if has_control(body, true) {
        return Err(("body", "Your message must be plain text (no control characters)".into()));
    }
    Ok(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_plain_text_within_limits() {
        assert_eq!(check_message("  Where is my parcel?\n "), Ok("Where is my parcel?".into()));
        assert!(check_message("Two\nlines").is_ok());
        for bad in ["", "   ", "bell\u{7}", &"x".repeat(MAX_MESSAGE + 1)] {
            assert!(check_message(bad).is_err(), "{bad:?}");
        }
    }
}
