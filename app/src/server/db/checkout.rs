//! Checkout: every line of an order bought in one transaction, all or
//! nothing, idempotent per key.
//!
//! On SQLite purchases are committed in groups. There is one writer, so a
//! purchase waits for the write turn anyway; purchases that arrive while one
//! group is being written queue up and go into the next group: one
//! transaction (one `BEGIN`, one `COMMIT`, one WAL write) for all of them,
//! and a handful of statements however many it holds. The group reads
//! every product its purchases name and every order already placed with their
//! keys, decides each purchase in memory in queue order (a refusal — sold out,
//! unknown product, a key used before — takes nothing), then inserts the
//! placed orders, takes their stock and adds their lines, one statement each
//! (lines in inserts of up to 1,000; an address kept on an account is one
//! update per order that asks):
//! under the write turn nobody else can change stock between the read and the
//! writes. Should a statement fail all the same, the group is undone and each
//! of its purchases is tried again alone.
//!
//! On PostgreSQL purchases run side by side in transactions of their own; a
//! hot product's buyers meet on its row lock.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use tokio::sync::{mpsc, oneshot};

use super::core::{Runs, Tx, placeholders, sql};
use super::{Db, PlaceOutcome};
use crate::model::{Address, CartLine, CustomerId, OrderId, ProductId};

/// Purchases one group may hold (one transaction).
const MAX_GROUP: usize = 64;
/// Purchases that may wait for the next group; more wait to join the queue.
const MAX_WAITING: usize = 1024;

/// Order lines one insert may hold (6 values each, well under SQLite's
/// 32,766 variables a statement).
const LINES_PER_INSERT: usize = 1000;

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
        let outcome = if self.is_postgres() { self.buy(&order).await } else { self.buy_in_group(order).await };
        if save_address {
            // Whether or not it was written: the account is read again.
            self.identities.forget_user(customer);
        }
        outcome
    }

    /// SQLite: queue the purchase for the next group and wait for its outcome.
    async fn buy_in_group(&self, order: NewOrder) -> anyhow::Result<PlaceOutcome> {
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

    /// One transaction for the whole group; if a statement fails, each
    /// purchase alone. If no transaction can begin, every purchase hears so.
    async fn buy_group(&self, group: Vec<Purchase>) {
        let orders: Vec<&NewOrder> = group.iter().map(|p| &p.order).collect();
        match self.buy_in_one_transaction(&orders).await {
            Ok(outcomes) => {
                for (purchase, outcome) in group.into_iter().zip(outcomes) {
                    // A caller that went away misses its answer; its order stands.
                    let _ = purchase.reply.send(Ok(outcome));
                }
            }
            Err(err) if group.len() == 1 || err.is::<NoTransaction>() => {
                let why = format!("{err:#}");
                for purchase in group {
                    let _ = purchase.reply.send(Err(anyhow::anyhow!("{why}")));
                }
            }
            Err(err) => {
                tracing::warn!(error = ?err, purchases = group.len(), "a checkout group failed; trying each purchase alone");
                for purchase in group {
                    let alone = self.buy_in_one_transaction(&[&purchase.order]).await;
                    let _ = purchase.reply.send(alone.map(|mut outcomes| outcomes.remove(0)));
                }
            }
        }
    }

    /// Decide and write `orders` in one transaction (SQLite, holding the
    /// write turn), in a handful of statements whatever their number:
    /// one read of every product they name and one of the orders already
    /// placed with their keys; each purchase is then decided in memory, in
    /// queue order, against the stock the earlier ones left; then one insert
    /// of the placed orders, one update of the stock, one insert of their
    /// lines. Refusals write nothing.
    async fn buy_in_one_transaction(&self, orders: &[&NewOrder]) -> anyhow::Result<Vec<PlaceOutcome>> {
        let mut tx = self.begin().await.map_err(|err| anyhow::Error::new(NoTransaction(err)))?;
        let outcomes = self.buy_within(&mut tx, orders).await?;
        tx.commit().await?;
        Ok(outcomes)
    }

    async fn buy_within(&self, tx: &mut Tx, orders: &[&NewOrder]) -> anyhow::Result<Vec<PlaceOutcome>> {
        let ids: BTreeSet<ProductId> = orders.iter().flat_map(|o| o.lines.iter().map(|l| l.product_id)).collect();
        let mut stock = stocked(&mut *tx, ids.into_iter()).await?;
        let pairs: Vec<String> = (0..orders.len()).map(|i| format!("({})", placeholders(2 * i + 1, 2))).collect();
        let mut keys = sql(format!(
            "SELECT customer_id, idempotency_key, id FROM orders WHERE (customer_id, idempotency_key) IN (VALUES {})",
            pairs.join(", ")
        ));
        for o in orders {
            keys = keys.bind(o.customer).bind(o.key.as_str());
        }
        let mut placed_with: HashMap<(CustomerId, String), OrderId> =
            keys.fetch_all::<(CustomerId, String, OrderId)>(&mut *tx).await?.into_iter().map(|(c, k, id)| ((c, k), id)).collect();

        // Decide, in queue order. A twin of a purchase placed earlier in this
        // group (same customer and key) gets that order once it has an id.
        let mut decided = Vec::with_capacity(orders.len());
        let mut placing: HashMap<(CustomerId, &str), usize> = HashMap::new();
        for (i, o) in orders.iter().enumerate() {
            let key = (o.customer, o.key.as_str());
            decided.push(if let Some(&id) = placed_with.get(&(o.customer, o.key.clone())) {
                Decision::Decided(PlaceOutcome::Existing(id))
            } else if let Some(&first) = placing.get(&key) {
                Decision::TwinOf(first)
            } else {
                match take(&mut stock, &o.lines)? {
                    Ok(total) => {
                        placing.insert(key, i);
                        Decision::Place(total)
                    }
                    Err(refused) => Decision::Decided(refused),
                }
            });
        }
        let to_place: Vec<(&NewOrder, i64)> = orders
            .iter()
            .zip(&decided)
            .filter_map(|(o, d)| if let Decision::Place(total) = d { Some((*o, *total)) } else { None })
            .collect();
        if !to_place.is_empty() {
            self.write_orders(tx, &to_place, &stock, &mut placed_with).await?;
        }
        let id_of = |o: &NewOrder| placed_with.get(&(o.customer, o.key.clone())).copied().context("a placed order has no id");
        decided
            .into_iter()
            .enumerate()
            .map(|(i, d)| match d {
                Decision::Decided(outcome) => Ok(outcome),
                Decision::Place(_) => Ok(PlaceOutcome::Placed(id_of(orders[i])?)),
                Decision::TwinOf(first) => Ok(PlaceOutcome::Existing(id_of(orders[first])?)),
            })
            .collect()
    }

    /// Insert the orders decided on, take their stock and add their lines:
    /// three statements for the whole group (lines in inserts of up to
    /// 1,000, plus an address kept per order that asks). `placed_with` gains
    /// each new order's id.
    async fn write_orders(
        &self,
        tx: &mut Tx,
        to_place: &[(&NewOrder, i64)],
        stock: &HashMap<ProductId, Stocked>,
        placed_with: &mut HashMap<(CustomerId, String), OrderId>,
    ) -> anyhow::Result<()> {
        let rows: Vec<String> = (0..to_place.len()).map(|i| format!("({})", placeholders(i * 9 + 1, 9))).collect();
        let mut insert = sql(format!(
            "INSERT INTO orders (customer_id, recipient, street, city, region, postal_code, country, idempotency_key, total_cents) \
             VALUES {} RETURNING customer_id, idempotency_key, id",
            rows.join(", ")
        ));
        for (o, total) in to_place {
            insert = insert.bind(o.customer).bind_each(address_fields(&o.address)).bind(o.key.as_str()).bind(*total);
        }
        // Matched by key, not by position: SQLite does not promise RETURNING's row order.
        placed_with.extend(insert.fetch_all::<(CustomerId, String, OrderId)>(&mut *tx).await?.into_iter().map(|(c, k, id)| ((c, k), id)));

        let taken: Vec<(ProductId, i64)> = stock.iter().filter(|(_, s)| s.taken > 0).map(|(id, s)| (*id, s.taken)).collect();
        let pairs: Vec<String> = (0..taken.len()).map(|i| format!("({})", placeholders(2 * i + 1, 2))).collect();
        let mut update = sql(format!(
            "UPDATE products SET stock = stock - t.quantity, units_sold = units_sold + t.quantity \
             FROM (SELECT column1 AS id, column2 AS quantity FROM (VALUES {})) AS t \
             WHERE products.id = t.id AND products.stock >= t.quantity AND products.archived_at IS NULL",
            pairs.join(", ")
        ));
        for (id, quantity) in &taken {
            update = update.bind(*id).bind(*quantity);
        }
        let updated = update.execute(&mut *tx).await?;
        anyhow::ensure!(updated == taken.len() as u64, "stock changed under the write turn ({updated} of {} products)", taken.len());

        let mut lines = Vec::new();
        for (o, _) in to_place {
            let order = placed_with.get(&(o.customer, o.key.clone())).copied().context("an inserted order came back without its key")?;
            lines.extend((1..).zip(&o.lines).map(|(n, l)| (order, n, l, stock[&l.product_id].name.as_str(), stock[&l.product_id].price)));
        }
        for chunk in lines.chunks(LINES_PER_INSERT) {
            self.add_lines(tx, chunk).await?;
        }
        for (o, _) in to_place.iter().filter(|(o, _)| o.save_address) {
            self.keep_address(tx, o.customer, &o.address).await?;
        }
        Ok(())
    }

    /// Lines of one or more orders in one statement: (order, line number,
    /// line, name and unit price as sold).
    async fn add_lines(&self, tx: &mut Tx, lines: &[(OrderId, i64, &CartLine, &str, i64)]) -> anyhow::Result<()> {
        let rows: Vec<String> = (0..lines.len()).map(|i| format!("({})", placeholders(i * 6 + 1, 6))).collect();
        let mut insert = sql(format!(
            "INSERT INTO order_lines (order_id, line_no, product_id, name, unit_price_cents, quantity) VALUES {}",
            rows.join(", ")
        ));
        for &(order, line_no, line, name, price) in lines {
            insert = insert.bind(order).bind(line_no).bind(line.product_id).bind(name).bind(price).bind(line.quantity);
        }
        insert.execute(&mut *tx).await?;
        Ok(())
    }

    /// Keep the address on the customer's account for next time.
    async fn keep_address(&self, tx: &mut Tx, customer: CustomerId, a: &Address) -> anyhow::Result<()> {
        sql("UPDATE users SET recipient = $1, street = $2, city = $3, region = $4, postal_code = $5, country = $6 WHERE id = $7")
            .bind_each(address_fields(a))
            .bind(customer)
            .execute(&mut *tx)
            .await?;
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
        let mut stock = stocked(self, lines.iter().map(|l| l.product_id)).await?;
        Ok(take(&mut stock, lines)?.err())
    }
}

/// The products `ids` names that are on sale, with what is left of each.
async fn stocked(on: impl Runs, ids: impl ExactSizeIterator<Item = ProductId>) -> anyhow::Result<HashMap<ProductId, Stocked>> {
    Ok(sql(format!(
        "SELECT id, name, price_cents, stock FROM products WHERE id IN ({}) AND archived_at IS NULL",
        placeholders(1, ids.len())
    ))
    .bind_each(ids)
    .fetch_all::<(ProductId, String, i64, i64)>(on)
    .await?
    .into_iter()
    .map(|(id, name, price, left)| (id, Stocked { name, price, left, taken: 0 }))
    .collect())
}

/// An address's columns in the order every statement here lists them:
/// recipient, street, city, region, postal code, country.
fn address_fields(a: &Address) -> [&str; 6] {
    [&a.name, &a.street, &a.city, &a.region, &a.postal_code, &a.country]
}

/// A product a group buys from: as read, and what the group's purchases took so far.
struct Stocked {
    name: String,
    price: i64,
    left: i64,
    taken: i64,
}

/// What one purchase of a group comes to.
enum Decision {
    Decided(PlaceOutcome),
    /// Place it, with this total.
    Place(i64),
    /// The same customer and key as the purchase at this index, placed earlier in the group.
    TwinOf(usize),
}

/// The group's transaction could not begin: every purchase in it fails at once.
#[derive(Debug, thiserror::Error)]
#[error("starting the checkout transaction: {0}")]
struct NoTransaction(sqlx::Error);

/// Take every line of one purchase from what is left, or none: its total, or
/// why it is refused (the first line that is unknown or does not fit).
fn take(stock: &mut HashMap<ProductId, Stocked>, lines: &[CartLine]) -> anyhow::Result<Result<i64, PlaceOutcome>> {
    let mut total: i64 = 0;
    for line in lines {
        let Some(s) = stock.get(&line.product_id) else {
            return Ok(Err(PlaceOutcome::UnknownProduct(line.product_id)));
        };
        if s.left < line.quantity {
            return Ok(Err(PlaceOutcome::OutOfStock { product: s.name.clone(), available: s.left }));
        }
        total = s.price.checked_mul(line.quantity).and_then(|t| t.checked_add(total)).context("order total overflows")?;
    }
    for line in lines {
        if let Some(s) = stock.get_mut(&line.product_id) {
            s.left -= line.quantity;
            s.taken += line.quantity;
        }
    }
    Ok(Ok(total))
}
