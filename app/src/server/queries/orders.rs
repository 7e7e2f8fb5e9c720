use anyhow::Context as _;

use crate::model::{CustomerId, Order, OrderId, OrderSummary};
use crate::server::Db;

/// The customer's orders, newest first.
pub async fn list_for_customer(db: &Db, customer: CustomerId) -> anyhow::Result<Vec<OrderSummary>> {
    let json = db.orders_json(customer.0).await?;
    serde_json::from_str(&json).context("decoding order summaries")
}

pub async fn get(db: &Db, id: OrderId) -> anyhow::Result<Option<Order>> {
    match db.order_json(id.0).await? {
        None => Ok(None),
        Some(json) => serde_json::from_str(&json).context("decoding an order").map(Some),
    }
}
