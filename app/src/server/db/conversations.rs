//! Order conversations: messages between an order's customer and the staff.
//! The wire shape ([`Message`]) is made here from one row type,
//! [`MessageRecord`]. Each order's counts (messages, unread on each side, the
//! last message's time) are kept by triggers, so they are order changes.

use super::Db;
use super::core::{placeholders, sql};
use super::orders::OrderRecord;
use crate::model::{CustomerId, Message, MessageId, OrderId, UnreadOrder};

/// A message as stored, with its author as shown: the customer's username,
/// or "The shop" for every staff member (customers never see staff names).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MessageRecord {
    pub id: MessageId,
    pub order_id: OrderId,
    pub from_staff: bool,
    pub author: String,
    pub body: String,
    pub sent_at: String,
    pub read_at: Option<String>,
}

impl MessageRecord {
    pub fn message(&self) -> Message {
        Message {
            id: self.id,
            order_id: self.order_id,
            from_staff: self.from_staff,
            author: self.author.clone(),
            body: self.body.clone(),
            sent_at: self.sent_at.clone(),
            read_at: self.read_at.clone(),
        }
    }
}

impl Db {
    fn message_select(&self) -> String {
        let d = self.dialect();
        format!(
            "SELECT m.id, m.order_id, m.from_staff, \
                    CASE WHEN m.from_staff THEN 'The shop' ELSE coalesce(u.username, 'A former shopper') END AS author, \
                    m.body, {} AS sent_at, {} AS read_at \
             FROM order_messages m LEFT JOIN users u ON u.id = m.author_id",
            d.time("m.created_at"),
            d.time("m.read_at"),
        )
    }

    /// The messages among `ids` that exist.
    pub async fn messages_by_ids(&self, ids: &[MessageId]) -> anyhow::Result<Vec<MessageRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let query = format!("{} WHERE m.id IN ({})", self.message_select(), placeholders(1, ids.len()));
        Ok(sql(query).bind_each(ids.iter().copied()).fetch_all(self).await?)
    }

    /// Up to `limit` of an order's messages before `before` (all: `None`),
    /// oldest first, and whether there are older ones still.
    pub async fn conversation(&self, order: OrderId, before: Option<MessageId>, limit: i64) -> anyhow::Result<(Vec<MessageRecord>, bool)> {
        let query = format!("{} WHERE m.order_id = $1 AND m.id < $2 ORDER BY m.id DESC LIMIT $3", self.message_select());
        let mut rows: Vec<MessageRecord> =
            sql(query).bind(order).bind(before.map_or(i64::MAX, |b| b.0)).bind(limit.saturating_add(1)).fetch_all(self).await?;
        let has_older = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        rows.reverse();
        Ok((rows, has_older))
    }

    /// Write a message on an order's conversation (`author` `None`: the shop
    /// through the API). `None` when there is no such order.
    pub async fn send_message(
        &self,
        order: OrderId,
        author: Option<CustomerId>,
        from_staff: bool,
        body: &str,
    ) -> anyhow::Result<Option<MessageId>> {
        let mut tx = self.begin().await?;
        let id = sql("INSERT INTO order_messages (order_id, author_id, from_staff, body) \
                      SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM orders WHERE id = $1) RETURNING id")
        .bind(order)
        .bind(author.map(|a| a.0))
        .bind(from_staff)
        .bind(body)
        .scalar_optional(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The reader's side has read every message of the other side: how many
    /// were new to it.
    pub async fn mark_read(&self, order: OrderId, reader_is_staff: bool) -> anyhow::Result<u64> {
        let now = self.dialect().now;
        let statement = format!("UPDATE order_messages SET read_at = {now} WHERE order_id = $1 AND from_staff = $2 AND read_at IS NULL");
        Ok(self.write(sql(statement).bind(order).bind(!reader_is_staff)).await?)
    }

    /// A customer's orders with messages from the shop they have not read,
    /// and how many each (what the header's link shows), in the order the
    /// link's live list keeps them (`UnreadOrder`'s sort key, the id).
    pub async fn orders_with_unread(&self, customer: CustomerId) -> anyhow::Result<Vec<UnreadOrder>> {
        let query = "SELECT id, unread_by_customer FROM orders WHERE customer_id = $1 AND unread_by_customer > 0 ORDER BY id";
        let rows: Vec<(OrderId, i64)> = sql(query).bind(customer).fetch_all(self).await?;
        Ok(rows.into_iter().map(|(order, messages)| UnreadOrder { order, messages }).collect())
    }

    /// Orders with a conversation, newest message first (at most `limit`).
    pub async fn inbox(&self, limit: i64) -> anyhow::Result<Vec<OrderRecord>> {
        let query =
            format!("{} WHERE o.last_message_at IS NOT NULL ORDER BY o.last_message_at DESC, o.id DESC LIMIT $1", self.order_select());
        Ok(sql(query).bind(limit).fetch_all(self).await?)
    }
}
