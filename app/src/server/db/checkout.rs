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

/// One checkout: who buys what, where it ships, and its idempotency key.
struct NewOrder {
    customer: CustomerId,
    lines: Vec<CartLine>,
    address: Address,
    key: String,
    /// Keep the address on the account for next time.
    save_address: bool,
}

/// A queued checkout and where its outcome goes.
pub(super) struct Purchase {
    order: NewOrder,
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
        let order = NewOrder { customer, lines: lines.to_vec(), address: address.clone(), key: key.to_owned(), save_address };
        if self.is_postgres() {
            return self.buy(&order).await;
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
        queue.send(Purchase { order, reply }).await.map_err(|_| anyhow::anyhow!("the checkout queue has stopped"))?;
        outcome.await.context("the checkout queue dropped a purchase")?
    }

    /// Write queued purchases in groups until the queue closes (SQLite, on
    /// the writer thread).
    async fn commit_in_groups(self, mut queue: mpsc::Receiver<Purchase>) {
        let mut group = Vec::with_capacity(MAX_GROUP);
        while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
            // A task per group: a panic fails that group's purchases (their
            // answers are dropped, the transaction rolled back), never the queue.
            let (db, purchases) = (self.clone(), std::mem::take(&mut group));
            if tokio::spawn(async move { db.buy_group(purchases).await }).await.is_err() {
                tracing::error!("a checkout group panicked; its purchases failed, the queue goes on");
            }
        }
    }

    /// One transaction for the whole group; if a purchase's statement fails,
    /// each purchase alone. If no transaction can begin, every purchase hears so.
    async fn buy_group(&self, group: Vec<Purchase>) {
        let mut tx = match self.begin().await {
            Ok(tx) => tx,
            Err(err) => {
                let why = format!("{err:#}");
                for purchase in group {
                    let _ = purchase.reply.send(Err(anyhow::anyhow!("starting the checkout transaction: {why}")));
                }
                return;
            }
        };
        let together = async {
            let mut outcomes = Vec::with_capacity(group.len());
            for purchase in &group {
                outcomes.push(self.buy_within(&mut tx, &purchase.order).await?);
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
                        let outcome = self.buy_within(&mut tx, &purchase.order).await?;
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
    async fn buy_within(&self, tx: &mut Tx, p: &NewOrder) -> anyhow::Result<PlaceOutcome> {
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
        let products: HashMap<ProductId, (String, i64, i64)> =
            rows.into_iter().filter_map(|(_, id, name, price, stock)| Some((id?, (name?, price?, stock?)))).collect();
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
        .bind_each(address_fields(a))
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
                .bind_each(address_fields(a))
                .bind(customer)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    /// One purchase as one statement (PostgreSQL): it locks the lines'
    /// products (in id order, so two buyers of the same products never wait
    /// for each other in a circle), and only when no order has this key and
    /// every line can be filled takes the stock, inserts the order with its
    /// total and its lines, and keeps the address. The row locks are held for
    /// this one statement, its own transaction. A concurrent retry with the
    /// same key waits on the key's unique index, fails, and finds the order.
    async fn buy(&self, order: &NewOrder) -> anyhow::Result<PlaceOutcome> {
        // A refusal that finds every line fits (stock came back in between) is tried again.
        for _ in 0..3 {
            if let Some(outcome) = self.buy_once(order).await? {
                return Ok(outcome);
            }
        }
        self.refusal(&order.lines).await?.context("stock keeps moving under this purchase")
    }

    /// [`Db::buy`]'s statement; `None`: refused, yet every line fits now.
    async fn buy_once(&self, order: &NewOrder) -> anyhow::Result<Option<PlaceOutcome>> {
        let NewOrder { customer, ref lines, address: ref a, ref key, save_address } = *order;
        let list = |f: fn(&CartLine) -> i64| lines.iter().map(|l| f(l).to_string()).collect::<Vec<_>>().join(",");
        let bought = sql("WITH line AS ( \
                 SELECT * FROM unnest(string_to_array($1, ',')::bigint[], string_to_array($2, ',')::bigint[]) \
                     WITH ORDINALITY AS l(product_id, quantity, line_no)), \
             existing AS (SELECT id FROM orders WHERE customer_id = $3 AND idempotency_key = $4), \
             available AS ( \
                 SELECT p.id, p.name, p.price_cents, l.quantity, l.line_no FROM products p JOIN line l ON l.product_id = p.id \
                 WHERE p.archived_at IS NULL AND p.stock >= l.quantity AND NOT EXISTS (SELECT 1 FROM existing) \
                 ORDER BY p.id FOR UPDATE OF p), \
             go AS (SELECT (SELECT count(*) FROM available) = (SELECT count(*) FROM line) AS ok), \
             taken AS ( \
                 UPDATE products p SET stock = p.stock - a.quantity, units_sold = p.units_sold + a.quantity \
                 FROM available a WHERE p.id = a.id AND (SELECT ok FROM go) RETURNING p.id), \
             placed AS ( \
                 INSERT INTO orders (customer_id, recipient, street, city, region, postal_code, country, idempotency_key, total_cents) \
                 SELECT $3, $5, $6, $7, $8, $9, $10, $4, (SELECT sum(price_cents * quantity) FROM available) \
                 WHERE (SELECT ok FROM go) RETURNING id), \
             added AS ( \
                 INSERT INTO order_lines (order_id, line_no, product_id, name, unit_price_cents, quantity) \
                 SELECT placed.id, a.line_no, a.id, a.name, a.price_cents, a.quantity FROM placed, available a RETURNING 1), \
             kept AS ( \
                 UPDATE users SET recipient = $5, street = $6, city = $7, region = $8, postal_code = $9, country = $10 \
                 WHERE id = $3 AND $11 AND (SELECT ok FROM go) RETURNING 1) \
             SELECT (SELECT id FROM existing), (SELECT id FROM placed), \
                 (SELECT count(*) FROM taken) + (SELECT count(*) FROM added) + (SELECT count(*) FROM kept)")
        .bind(list(|l| l.product_id.0))
        .bind(list(|l| l.quantity))
        .bind(customer)
        .bind(key)
        .bind_each(address_fields(a))
        .bind(save_address)
        .fetch_optional::<(Option<OrderId>, Option<OrderId>, i64)>(self)
        .await;
        match bought {
            Ok(Some((Some(existing), _, _))) => Ok(Some(PlaceOutcome::Existing(existing))),
            Ok(Some((None, Some(order), _))) => {
                // Its own transaction, not `Tx::commit`: wake this instance's feed as that does.
                self.commits.notify_one();
                Ok(Some(PlaceOutcome::Placed(order)))
            }
            // Nothing was written. A twin request with this key may have
            // placed the order and taken the last units while this one waited
            // on the row lock: its order, then. Else say which line did not fit.
            Ok(Some((None, None, _))) => match self.order_for_key(customer, key).await? {
                Some(id) => Ok(Some(PlaceOutcome::Existing(id))),
                None => self.refusal(lines).await,
            },
            Ok(None) => anyhow::bail!("the checkout statement returned no row"),
            Err(e) if super::core::is_unique_violation(&e) => match self.order_for_key(customer, key).await? {
                Some(id) => Ok(Some(PlaceOutcome::Existing(id))),
                None => anyhow::bail!("idempotency key conflict without an order"),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// Why a purchase that wrote nothing could not be filled (`None`: every
    /// line fits now).
    async fn refusal(&self, lines: &[CartLine]) -> anyhow::Result<Option<PlaceOutcome>> {
        let products: HashMap<ProductId, (String, i64)> =
            sql(format!("SELECT id, name, stock FROM products WHERE id IN ({}) AND archived_at IS NULL", placeholders(1, lines.len())))
                .bind_each(lines.iter().map(|l| l.product_id))
                .fetch_all::<(ProductId, String, i64)>(self)
                .await?
                .into_iter()
                .map(|(id, name, stock)| (id, (name, stock)))
                .collect();
        for line in lines {
            match products.get(&line.product_id) {
                None => return Ok(Some(PlaceOutcome::UnknownProduct(line.product_id))),
                Some((name, stock)) if *stock < line.quantity => {
                    return Ok(Some(PlaceOutcome::OutOfStock { product: name.clone(), available: *stock }));
                }
                Some(_) => {}
            }
        }
        Ok(None)
    }
}

/// An address's columns in the order every statement here lists them:
/// recipient, street, city, region, postal code, country.
fn address_fields(a: &Address) -> [&str; 6] {
    [&a.name, &a.street, &a.city, &a.region, &a.postal_code, &a.country]
}
