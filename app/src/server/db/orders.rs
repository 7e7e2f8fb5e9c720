//! Orders: checkout (stock taken atomically, idempotent), the lifecycle staff
//! move them along, and the order shapes ([`OrderSummary`], [`Order`]) made
//! from one row type, [`OrderRecord`], for pages, snapshots and frames alike.

use std::collections::HashMap;

use super::Db;
use super::core::{placeholders, sql};
use crate::model::{
    Address, ConversationCounts, Currency, CustomerId, Money, Order, OrderId, OrderLine, OrderStatus, OrderSummary, ProductId,
};

/// What a checkout came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceOutcome {
    /// A new order.
    Placed(OrderId),
    /// The idempotency key was used before: that order.
    Existing(OrderId),
    /// A line could not be filled; nothing was bought.
    OutOfStock { product: String, available: i64 },
    /// A line names no product.
    UnknownProduct(ProductId),
}

/// What moving an order along its lifecycle came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveOutcome {
    Moved,
    NoSuchOrder,
    /// Not allowed from the order's current status.
    Illegal {
        from: OrderStatus,
    },
}

impl MoveOutcome {
    /// Why a move did not happen, from the order's current status (if it exists).
    fn refused(current: Option<String>) -> anyhow::Result<Self> {
        Ok(match current {
            Some(status) => MoveOutcome::Illegal { from: status.parse().map_err(anyhow::Error::msg)? },
            None => MoveOutcome::NoSuchOrder,
        })
    }
}

/// An order as stored, with its customer's name and its item count; `lines`
/// only where the full order was asked for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderRecord {
    pub id: OrderId,
    pub customer_id: CustomerId,
    pub customer: String,
    pub status: String,
    pub total_cents: i64,
    pub currency: String,
    pub recipient: String,
    pub street: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
    pub items: i64,
    pub created_at: String,
    pub updated_at: String,
    pub paid_at: Option<String>,
    pub shipped_at: Option<String>,
    pub delivered_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub messages: i64,
    pub unread_by_customer: i64,
    pub unread_by_staff: i64,
    pub last_message_at: Option<String>,
    #[sqlx(skip)]
    pub lines: Vec<LineRecord>,
}

/// One line of an order as sold.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LineRecord {
    pub order_id: OrderId,
    pub product_id: ProductId,
    pub name: String,
    pub unit_price_cents: i64,
    pub quantity: i64,
}

impl OrderRecord {
    fn money(&self, minor: i64) -> Money {
        Money::new(minor, if self.currency == "EUR" { Currency::EUR } else { Currency::USD })
    }

    fn status(&self) -> anyhow::Result<OrderStatus> {
        self.status.parse().map_err(anyhow::Error::msg)
    }

    pub fn summary(&self) -> anyhow::Result<OrderSummary> {
        Ok(OrderSummary {
            id: self.id,
            status: self.status()?,
            total: self.money(self.total_cents),
            items: self.items,
            customer: self.customer.clone(),
            created_at: self.created_at.clone(),
            conversation: self.conversation(),
        })
    }

    fn conversation(&self) -> ConversationCounts {
        ConversationCounts {
            messages: self.messages,
            unread_by_customer: self.unread_by_customer,
            unread_by_staff: self.unread_by_staff,
            last_message_at: self.last_message_at.clone(),
        }
    }

    pub fn order(&self) -> anyhow::Result<Order> {
        let lines = self
            .lines
            .iter()
            .map(|l| OrderLine {
                product_id: l.product_id,
                name: l.name.clone(),
                unit_price: self.money(l.unit_price_cents),
                quantity: l.quantity,
                line_total: self.money(l.unit_price_cents.saturating_mul(l.quantity)),
            })
            .collect();
        Ok(Order {
            id: self.id,
            customer_id: self.customer_id,
            status: self.status()?,
            total: self.money(self.total_cents),
            address: Address {
                name: self.recipient.clone(),
                street: self.street.clone(),
                city: self.city.clone(),
                region: self.region.clone(),
                postal_code: self.postal_code.clone(),
                country: self.country.clone(),
            },
            lines,
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            paid_at: self.paid_at.clone(),
            shipped_at: self.shipped_at.clone(),
            delivered_at: self.delivered_at.clone(),
            cancelled_at: self.cancelled_at.clone(),
            conversation: self.conversation(),
        })
    }
}

impl Db {
    pub(super) fn order_select(&self) -> String {
        let d = self.dialect();
        format!(
            "SELECT o.id, o.customer_id, coalesce(u.username, '') AS customer, o.status, o.total_cents, o.currency, \
             o.recipient, o.street, o.city, o.region, o.postal_code, o.country, \
             CAST((SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE order_id = o.id) AS BIGINT) AS items, \
             {} AS created_at, {} AS updated_at, {} AS paid_at, {} AS shipped_at, {} AS delivered_at, {} AS cancelled_at, \
             o.messages, o.unread_by_customer, o.unread_by_staff, {} AS last_message_at \
             FROM orders o LEFT JOIN users u ON u.id = o.customer_id",
            d.time("o.created_at"),
            d.time("o.updated_at"),
            d.time("o.paid_at"),
            d.time("o.shipped_at"),
            d.time("o.delivered_at"),
            d.time("o.cancelled_at"),
            d.time("o.last_message_at"),
        )
    }

    /// Newest first: one customer's orders, or every customer's (at most
    /// `limit`, optionally in one status), without their lines.
    pub async fn order_summaries(
        &self,
        customer: Option<CustomerId>,
        status: Option<OrderStatus>,
        limit: i64,
    ) -> anyhow::Result<Vec<OrderRecord>> {
        let query = sql(format!(
            "{} WHERE ($1 IS NULL OR o.customer_id = $1) AND ($2 IS NULL OR o.status = $2) ORDER BY o.id DESC LIMIT $3",
            self.order_select()
        ));
        Ok(query.bind(customer.map(|c| c.0)).bind(status.map(OrderStatus::as_str)).bind(limit).fetch_all(self).await?)
    }

    /// These orders as they are now, with their lines (missing ids: deleted).
    pub async fn orders_by_ids(&self, ids: &[OrderId]) -> anyhow::Result<Vec<OrderRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = placeholders(1, ids.len());
        let orders = sql(format!("{} WHERE o.id IN ({list})", self.order_select())).bind_each(ids.iter().copied());
        let lines = sql(format!(
            "SELECT order_id, product_id, name, unit_price_cents, quantity FROM order_lines \
             WHERE order_id IN ({list}) ORDER BY order_id, line_no"
        ))
        .bind_each(ids.iter().copied());
        let mut orders: Vec<OrderRecord> = orders.fetch_all(self).await?;
        let mut by_order: HashMap<OrderId, Vec<LineRecord>> = HashMap::new();
        for line in lines.fetch_all::<LineRecord>(self).await? {
            by_order.entry(line.order_id).or_default().push(line);
        }
        for order in &mut orders {
            order.lines = by_order.remove(&order.id).unwrap_or_default();
        }
        Ok(orders)
    }

    /// One order with its lines.
    pub async fn order(&self, id: OrderId) -> anyhow::Result<Option<OrderRecord>> {
        Ok(self.orders_by_ids(&[id]).await?.pop())
    }

    /// The order a checkout with this idempotency key placed, if any.
    pub async fn order_for_key(&self, customer: CustomerId, key: &str) -> anyhow::Result<Option<OrderId>> {
        Ok(sql("SELECT id FROM orders WHERE customer_id = $1 AND idempotency_key = $2")
            .bind(customer)
            .bind(key)
            .scalar_optional::<OrderId>(self)
            .await?)
    }

    pub async fn order_owner(&self, order: OrderId) -> anyhow::Result<Option<CustomerId>> {
        Ok(sql("SELECT customer_id FROM orders WHERE id = $1").bind(order).scalar_optional(self).await?)
    }

    /// Move an order to `to`, stamping when, if its current status allows it.
    /// Cancelling puts every line's units back in stock, in the same
    /// transaction, and only the one time the status actually changes.
    pub async fn move_order(&self, id: OrderId, to: OrderStatus) -> anyhow::Result<MoveOutcome> {
        let status_of = || sql("SELECT status FROM orders WHERE id = $1").bind(id);
        let from: Vec<String> = to.previous().into_iter().map(|s| format!("'{}'", s.as_str())).collect();
        if from.is_empty() {
            return MoveOutcome::refused(status_of().scalar_optional(self).await?);
        }
        let stamp = match to {
            OrderStatus::Paid => "paid_at",
            OrderStatus::Shipped => "shipped_at",
            OrderStatus::Delivered => "delivered_at",
            OrderStatus::Cancelled => "cancelled_at",
            OrderStatus::Placed => "created_at",
        };
        let now = self.dialect().now;
        let mut tx = self.begin().await?;
        let moved = sql(format!(
            "UPDATE orders SET status = $1, {stamp} = {now}, updated_at = {now} WHERE id = $2 AND status IN ({})",
            from.join(", ")
        ))
        .bind(to.as_str())
        .bind(id)
        .execute(&mut tx)
        .await?;
        if moved == 0 {
            let current = status_of().scalar_optional(&mut tx).await?;
            tx.rollback().await?;
            return MoveOutcome::refused(current);
        }
        if to == OrderStatus::Cancelled {
            let lines = sql("SELECT product_id, quantity FROM order_lines WHERE order_id = $1 ORDER BY product_id")
                .bind(id)
                .fetch_all::<(i64, i64)>(&mut tx)
                .await?;
            for (product, quantity) in lines {
                sql(format!(
                    "UPDATE products SET stock = stock + $1, \
                     units_sold = CASE WHEN units_sold >= $1 THEN units_sold - $1 ELSE 0 END, updated_at = {now} WHERE id = $2"
                ))
                .bind(quantity)
                .bind(product)
                .execute(&mut tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(MoveOutcome::Moved)
    }
}
