//! Checkout: every line of an order bought in one transaction, all or
//! nothing, idempotent per key.
//!
//! On SQLite purchases are committed in groups. There is one writer, so a
//! purchase waits for the write turn anyway; purchases that arrive while one
//! group is being written queue up and go into the next group: one
//! transaction (one `BEGIN`, one `COMMIT`, one WAL write) for all of them.
//! Each purchase in a group first reads its products and any order already
//! placed with its key, and writes only when every line can be filled, so a
//! refusal (sold out, unknown product, a key used before) changes nothing and
//! needs no savepoint: under the write turn nobody else can change stock
//! between that read and the writes. Should a statement fail all the same,
//! the group is undone and each of its purchases is tried again alone.
//!
//! On PostgreSQL purchases run side by side in transactions of their own; a
//! hot product's buyers meet on its row lock.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use tokio::sync::{mpsc, oneshot};

use super::core::{Tx, placeholders, sql};
use super::{Db, PlaceOutcome};
use crate::model::{Address, CartLine, CustomerId, OrderId, ProductId};

/// Purchases one group may hold (one transaction).
const MAX_GROUP: usize = 64;
/// Purchases that may wait for the next group; more wait to join the queue.
const MAX_WAITING: usize = 1024;

/// The SQLite checkout queue of one `Db` (started at its first purchase).
pub(super) type CheckoutQueue = Arc<OnceLock<mpsc::Sender<Purchase>>>;

/// One checkout: what to buy, and where its outcome goes.
pub(super) struct Purchase {
    customer: CustomerId,
    lines: Vec<CartLine>,
    address: Address,
    key: String,
    save_address: bool,
    reply: oneshot::Sender<anyhow::Result<PlaceOutcome>>,
}

impl Db {
    /// Buy every line in one transaction, all or nothing. `lines` are merged
    /// per product and validated by the caller; `save_address` keeps the
    /// address on the account for next time. Retrying with the same `key`
    /// returns the order it placed.
    pub async fn place_order(
        &self,
        customer: CustomerId,
        lines: &[CartLine],
        address: &Address,
        key: &str,
        save_address: bool,
    ) -> anyhow::Result<PlaceOutcome> {
        if self.is_postgres() {
            return self.buy(customer, lines, address, key, save_address).await;
        }
        let queue = self.checkout.get_or_init(|| {
            let (queue, purchases) = mpsc::channel(MAX_WAITING);
            // The group writer holds a `Db` without the queue: once every other
            // handle is gone, the queue closes and the writer ends.
            let writer = Db { checkout: CheckoutQueue::default(), ..self.clone() };
            super::sqlite::spawn_on_writer_thread(writer.commit_in_groups(purchases));
            queue
        });
        let (reply, outcome) = oneshot::channel();
        let purchase =
            Purchase { customer, lines: lines.to_vec(), address: address.clone(), key: key.to_owned(), save_address, reply };
        queue.send(purchase).await.map_err(|_| anyhow::anyhow!("the checkout queue has stopped"))?;
        outcome.await.context("the checkout queue dropped a purchase")?
    }

    /// Write queued purchases in groups until the queue closes (SQLite, on
    /// the writer thread).
    async fn commit_in_groups(self, mut queue: mpsc::Receiver<Purchase>) {
        let mut group = Vec::with_capacity(MAX_GROUP);
        while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
            self.buy_group(std::mem::take(&mut group)).await;
        }
    }

    /// One transaction for the whole group; if it fails, each purchase alone.
    async fn buy_group(&self, group: Vec<Purchase>) {
        let together = async {
            let mut tx = self.begin().await?;
            let mut outcomes = Vec::with_capacity(group.len());
            for purchase in &group {
                outcomes.push(self.buy_within(&mut tx, purchase).await?);
            }
            tx.commit().await?;
            anyhow::Ok(outcomes)
        }
        .await;
        match together {
            Ok(outcomes) => {
                for (purchase, outcome) in group.into_iter().zip(outcomes) {
                    // A caller that went away misses its answer; its order stands.
                    let _ = purchase.reply.send(Ok(outcome));
                }
            }
            Err(err) if group.len() == 1 => {
                let _ = group.into_iter().next().map(|p| p.reply.send(Err(err)));
            }
            Err(err) => {
                tracing::warn!(error = ?err, purchases = group.len(), "a checkout group failed; trying each purchase alone");
                for purchase in group {
                    let alone = async {
                        let mut tx = self.begin().await?;
                        let outcome = self.buy_within(&mut tx, &purchase).await?;
                        tx.commit().await?;
                        anyhow::Ok(outcome)
                    }
                    .await;
                    let _ = purchase.reply.send(alone);
                }
            }
        }
    }

    /// One purchase inside a group's transaction (SQLite, holding the write
    /// turn). Refusals write nothing.
    async fn buy_within(&self, tx: &mut Tx, p: &Purchase) -> anyhow::Result<PlaceOutcome> {
        // One read: an order already placed with this key, and every line's product.
        let read = sql(format!(
            "SELECT o.id, p.id, p.name, p.price_cents, p.stock FROM (SELECT 1) AS one \
             LEFT JOIN orders o ON o.customer_id = $1 AND o.idempotency_key = $2 \
             LEFT JOIN products p ON p.id IN ({}) AND p.archived_at IS NULL",
            placeholders(3, p.lines.len())
        ))
        .bind(p.customer)
        .bind(p.key.as_str())
        .bind_each(p.lines.iter().map(|l| l.product_id));
        let rows = read.fetch_all::<(Option<OrderId>, Option<ProductId>, Option<String>, Option<i64>, Option<i64>)>(&mut *tx).await?;
        if let Some(existing) = rows.first().and_then(|r| r.0) {
            return Ok(PlaceOutcome::Existing(existing));
        }
        let products: HashMap<ProductId, (String, i64, i64)> = rows
            .into_iter()
            .filter_map(|(_, id, name, price, stock)| Some((id?, (name?, price?, stock?))))
            .collect();
        let mut total: i64 = 0;
        for line in &p.lines {
            let Some((name, price, stock)) = products.get(&line.product_id) else {
                return Ok(PlaceOutcome::UnknownProduct(line.product_id));
            };
            if *stock < line.quantity {
                return Ok(PlaceOutcome::OutOfStock { product: name.clone(), available: *stock });
            }
            total = price
                .checked_mul(line.quantity)
                .and_then(|t| t.checked_add(total))
                .ok_or_else(|| anyhow::anyhow!("order total overflows"))?;
        }
        let a = &p.address;
        let order = sql("INSERT INTO orders (customer_id, recipient, street, city, region, postal_code, country, idempotency_key) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
        .bind(p.customer)
        .bind(&a.name)
        .bind(&a.street)
        .bind(&a.city)
        .bind(&a.region)
        .bind(&a.postal_code)
        .bind(&a.country)
        .bind(p.key.as_str())
        .scalar::<OrderId>(&mut *tx)
        .await?;
        for line in &p.lines {
            let taken = sql("UPDATE products SET stock = stock - $1, units_sold = units_sold + $1 \
                             WHERE id = $2 AND stock >= $1 AND archived_at IS NULL")
            .bind(line.quantity)
            .bind(line.product_id)
            .execute(&mut *tx)
            .await?;
            anyhow::ensure!(taken == 1, "product {} changed under the write turn", line.product_id);
        }
        let sold = p.lines.iter().map(|l| {
            let (name, price, _) = &products[&l.product_id];
            (l, name.as_str(), *price)
        });
        self.add_lines(tx, order, sold).await?;
        self.finish_order(tx, order, total, p.customer, p.save_address.then_some(a)).await?;
        Ok(PlaceOutcome::Placed(order))
    }

    /// Every line in one statement.
    async fn add_lines<'a>(
        &self,
        tx: &mut Tx,
        order: OrderId,
        sold: impl ExactSizeIterator<Item = (&'a CartLine, &'a str, i64)>,
    ) -> anyhow::Result<()> {
        let rows: Vec<String> = (0..sold.len()).map(|i| format!("({})", placeholders(i * 6 + 1, 6))).collect();
        let mut insert = sql(format!(
            "INSERT INTO order_lines (order_id, line_no, product_id, name, unit_price_cents, quantity) VALUES {}",
            rows.join(", ")
        ));
        for (line_no, (line, name, price)) in (1_i64..).zip(sold) {
            insert = insert.bind(order).bind(line_no).bind(line.product_id).bind(name).bind(price).bind(line.quantity);
        }
        insert.execute(&mut *tx).await?;
        Ok(())
    }

    /// Set the total, which logs the complete order (the `orders_updated`
    /// trigger), and keep the address on the account when asked.
    async fn finish_order(
        &self,
        tx: &mut Tx,
        order: OrderId,
        total: i64,
        customer: CustomerId,
        save_address: Option<&Address>,
    ) -> anyhow::Result<()> {
        sql("UPDATE orders SET total_cents = $1 WHERE id = $2").bind(total).bind(order).execute(&mut *tx).await?;
        if let Some(a) = save_address {
            sql("UPDATE users SET recipient = $1, street = $2, city = $3, region = $4, postal_code = $5, country = $6 WHERE id = $7")
                .bind(&a.name)
                .bind(&a.street)
                .bind(&a.city)
                .bind(&a.region)
                .bind(&a.postal_code)
                .bind(&a.country)
                .bind(customer)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }
    /// One purchase in a transaction of its own (PostgreSQL): the order row
    /// first, which claims the idempotency key, so a concurrent retry waits
    /// for it and then finds this order instead of buying again.
    async fn buy(
        &self,
        customer: CustomerId,
        lines: &[CartLine],
        a: &Address,
        key: &str,
        save_address: bool,
    ) -> anyhow::Result<PlaceOutcome> {
        let mut tx = self.begin().await?;
        // The order row first: it claims the idempotency key, so a retry (even
        // a concurrent one, which waits here) finds this order instead of
        // buying again.
        let inserted = sql("INSERT INTO orders (customer_id, recipient, street, city, region, postal_code, country, idempotency_key) \
                            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
        .bind(customer)
        .bind(&a.name)
        .bind(&a.street)
        .bind(&a.city)
        .bind(&a.region)
        .bind(&a.postal_code)
        .bind(&a.country)
        .bind(key)
        .scalar::<OrderId>(&mut tx)
        .await;
        let order = match inserted {
            Ok(id) => id,
            Err(e) if super::core::is_unique_violation(&e) => {
                tx.rollback().await?;
                let existing = sql("SELECT id FROM orders WHERE customer_id = $1 AND idempotency_key = $2")
                    .bind(customer)
                    .bind(key)
                    .scalar_optional::<OrderId>(self)
                    .await?;
                return match existing {
                    Some(id) => Ok(PlaceOutcome::Existing(id)),
                    None => anyhow::bail!("idempotency key conflict without an order"),
                };
            }
            Err(e) => return Err(e.into()),
        };
        let mut sold = Vec::with_capacity(lines.len());
        let mut total: i64 = 0;
        for line in lines {
            let taken = sql("UPDATE products SET stock = stock - $1, units_sold = units_sold + $1 \
                             WHERE id = $2 AND stock >= $1 AND archived_at IS NULL RETURNING name, price_cents")
            .bind(line.quantity)
            .bind(line.product_id)
            .fetch_optional::<(String, i64)>(&mut tx)
            .await?;
            let Some((name, price)) = taken else {
                let left = sql("SELECT name, stock FROM products WHERE id = $1 AND archived_at IS NULL")
                    .bind(line.product_id)
                    .fetch_optional::<(String, i64)>(&mut tx)
                    .await?;
                tx.rollback().await?;
                return Ok(match left {
                    Some((product, available)) => PlaceOutcome::OutOfStock { product, available },
                    None => PlaceOutcome::UnknownProduct(line.product_id),
                });
            };
            total = price
                .checked_mul(line.quantity)
                .and_then(|t| t.checked_add(total))
                .ok_or_else(|| anyhow::anyhow!("order total overflows"))?;
            sold.push((line, name, price));
        }
        self.add_lines(&mut tx, order, sold.iter().map(|(line, name, price)| (*line, name.as_str(), *price))).await?;
        self.finish_order(&mut tx, order, total, customer, save_address.then_some(a)).await?;
        tx.commit().await?;
        Ok(PlaceOutcome::Placed(order))
    }

}
