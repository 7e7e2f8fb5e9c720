use crate::model::{CustomerId, Order, OrderId, OrderStatus, OrderSummary};
use crate::server::Db;
use crate::server::db::OrderRecord;

/// The customer's orders, newest first.
pub async fn list_for_customer(db: &Db, customer: CustomerId) -> anyhow::Result<Vec<OrderSummary>> {
    db.order_summaries(Some(customer), None, i64::MAX).await?.iter().map(OrderRecord::summary).collect()
}

/// Every customer's newest orders (at most `limit`), optionally in one status.
pub async fn list_all(db: &Db, status: Option<OrderStatus>, limit: i64) -> anyhow::Result<Vec<OrderSummary>> {
    db.order_summaries(None, status, limit).await?.iter().map(OrderRecord::summary).collect()
}

pub async fn get(db: &Db, id: OrderId) -> anyhow::Result<Option<Order>> {
    db.order(id).await?.as_ref().map(OrderRecord::order).transpose()
}
