use crate::model::{MESSAGE_PAGE, Message, OrderId, OrderSummary};
use crate::server::Db;
use crate::server::db::OrderRecord;

/// Conversations the staff inbox lists at most.
pub const INBOX_LIMIT: i64 = 200;

/// An order's newest messages, oldest first, or `None` when there is no such order.
pub async fn latest(db: &Db, order: OrderId) -> anyhow::Result<Option<Vec<Message>>> {
    if db.order_owner(order).await?.is_none() {
        return Ok(None);
    }
    let (rows, _) = db.conversation(order, None, MESSAGE_PAGE).await?;
    Ok(Some(rows.iter().map(|m| m.message()).collect()))
}

/// Orders with a conversation, newest message first.
pub async fn inbox(db: &Db) -> anyhow::Result<Vec<OrderSummary>> {
    db.inbox(INBOX_LIMIT).await?.iter().map(OrderRecord::summary).collect()
}
