//! Checkout: every line of an order bought in one transaction, all or
//! nothing, idempotent per key.
//!
//! On SQLite purchases are committed in groups. There is one writer, so a
//! purchase waits for the write turn anyway; purchases that arrive while one
//! group is being written queue up and go into the next group: one
//! transaction (one `BEGIN`, one `COMMIT`, one WAL write) for all of them,
//! in two round trips to SQLite however many it holds. The group reads
//! every product its purchases name and every order already placed with their
//! keys, decides each purchase in memory in queue order (a refusal — sold out,
//! unknown product, a key used before — takes nothing), then inserts the
//! placed orders, takes their stock, adds their lines and keeps the addresses
//! asked for, one statement each, and commits:
//! under the write turn nobody else can change stock between the read and the
//! writes. Should a statement fail all the same, nothing after it runs, the
//! group is rolled back and each of its purchases is tried again alone
//! (unless the transaction could not even begin).
//!
//! On PostgreSQL each instance groups its purchases the same way: one
//! statement reads the group's products and keys, the group is decided in
//! memory, and one more statement, its own transaction, locks the products
//! (in id order), takes their stock where it still covers the group at the
//! price and name read, and writes the orders, their lines and the
//! addresses, or nothing at all. A hot product's row lock is taken once per
//! group and held for one statement, and PostgreSQL flushes its log once
//! per group. A group that writes nothing (its products moved since they
//! were read, a unique key met on another instance's order, a lost
//! connection) has its purchases bought side by side, each in one statement
//! of its own; if the database cannot be read at all, every purchase of the
//! group hears so at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use tokio::sync::{mpsc, oneshot};

use sqlx::sqlite::SqliteConnection;

use super::core::{Arg, Runs, Step, placeholders, sql};
use super::{Backend, Db, PlaceOutcome};
use crate::model::{Address, CartLine, CustomerId, OrderId, ProductId};

/// Purchases one group may hold (one transaction).
const MAX_GROUP: usize = 64;
/// Groups written between checkpoints of the write-ahead log (a group of 25
/// purchases adds ~125 pages to it, ~1,000 for eight: SQLite's own default).
const GROUPS_PER_CHECKPOINT: u32 = 8;
/// Purchases that may wait for the next group; more wait to join the queue.
const MAX_WAITING: usize = 1024;

/// The checkout queue of one `Db` (started at its first purchase).
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
        let outcome = self.buy_in_group(order).await;
        if save_address {
            // Whether or not it was written: the account is read again.
            self.identities.forget_user(customer);
        }
        outcome
    }

    /// Queue the purchase for the next group and wait for its outcome.
    async fn buy_in_group(&self, order: NewOrder) -> anyhow::Result<PlaceOutcome> {
        let queue = self.checkout.get_or_init(|| {
            let (queue, purchases) = mpsc::channel(MAX_WAITING);
            // The group writer holds a `Db` without the queue: once every other
            // handle is gone, the queue closes and the writer ends.
            let writer = Db { checkout: CheckoutQueue::default(), ..self.clone() };
            if self.is_postgres() {
                // Pooled PostgreSQL connections are served by the runtime
                // that opened them: this one.
                drop(tokio::spawn(writer.commit_pg_groups(purchases)));
            } else {
                super::sqlite::spawn_on_writer_thread(writer.commit_in_groups(purchases));
            }
            queue
        });
        let (reply, outcome) = oneshot::channel();
        queue.send(Purchase { order, reply }).await.map_err(|_| anyhow::anyhow!("the checkout queue has stopped"))?;
        outcome.await.context("the checkout queue dropped a purchase")?
    }

    /// Write queued purchases in groups until the queue closes (SQLite, on
    /// the writer thread), on a connection of the writer's own.
    async fn commit_in_groups(self, mut queue: mpsc::Receiver<Purchase>) {
        let mut group = Vec::with_capacity(MAX_GROUP);
        let mut conn = None;
        let mut checkpoint = Checkpoint::default();
        while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
            // A task per group: a panic fails that group's purchases (their
            // answers are dropped, the connection dropped, which closes it and
            // so rolls its transaction back, though only after the turn has
            // passed on: the next writer may meet SQLite's busy wait), never
            // the queue.
            let (db, purchases) = (self.clone(), std::mem::take(&mut group));
            let mut taken = conn.take();
            conn = match tokio::spawn(async move { db.buy_group(&mut taken, purchases).await.then_some(taken).flatten() }).await {
                Ok(conn) => conn,
                Err(_) => {
                    tracing::error!("a checkout group panicked; its purchases failed, the queue goes on");
                    None
                }
            };
            checkpoint.after_group(&self, &mut conn).await;
        }
    }

    /// One transaction for the whole group; if a statement fails, each
    /// purchase alone. If no transaction can begin, every purchase hears so.
    /// `false`: the connection was closed (after a failure).
    async fn buy_group(&self, conn: &mut Option<GroupConnection>, group: Vec<Purchase>) -> bool {
        let orders: Vec<&NewOrder> = group.iter().map(|p| &p.order).collect();
        match self.buy_in_one_transaction(conn, &orders).await {
            Ok(outcomes) => answer(group, outcomes),
            Err(err) if group.len() == 1 || err.is::<NoTransaction>() => fail(group, &err),
            Err(err) => {
                tracing::warn!(error = ?err, purchases = group.len(), "a checkout group failed; trying each purchase alone");
                for purchase in group {
                    let alone = self.buy_in_one_transaction(conn, &[&purchase.order]).await;
                    let _ = purchase.reply.send(alone.map(|mut outcomes| outcomes.remove(0)));
                }
            }
        }
        conn.is_some()
    }

    /// Decide and write `orders` in one transaction (SQLite, holding the
    /// write turn) in two round trips to SQLite whatever their number: the
    /// transaction's start with one read of every product they name and one
    /// of the orders already placed with their keys; each purchase is then
    /// decided in memory, in queue order, against the stock the earlier ones
    /// left; then one insert of the placed orders, one update of the stock,
    /// one insert of their lines, and the commit. Refusals write nothing.
    ///
    /// The transaction is begun and committed by statements sent with the
    /// reads and the writes, not by sqlx (whose `BEGIN` and `COMMIT` are a
    /// round trip each): each round trip is a hand-over to the connection's
    /// thread and back, ~1–2 ms on two busy cores, all of it spent holding
    /// the write turn. After any failure the connection is closed, which
    /// rolls back whatever it had begun, before the turn passes on.
    async fn buy_in_one_transaction(&self, conn: &mut Option<GroupConnection>, orders: &[&NewOrder]) -> anyhow::Result<Vec<PlaceOutcome>> {
        let Backend::Sqlite(pool) = &self.backend else { anyhow::bail!("checkout groups are for SQLite") };
        let _turn = super::sqlite::write_turn(pool).lock_owned().await;
        if conn.is_none() {
            *conn = Some(GroupConnection::open(pool).await.map_err(|err| anyhow::Error::new(NoTransaction(err)))?);
        }
        let Some(open) = conn.as_mut() else { unreachable!("opened above") };
        let outcomes = self.buy_within(&mut open.0, orders).await;
        if outcomes.is_err() {
            if let Some(broken) = conn.take() {
                let _ = sqlx::Connection::close(broken.0).await;
            }
        } else {
            self.commits.notify_one();
        }
        outcomes
    }

    async fn buy_within(&self, conn: &mut SqliteConnection, orders: &[&NewOrder]) -> anyhow::Result<Vec<PlaceOutcome>> {
        let ids: BTreeSet<ProductId> = orders.iter().flat_map(|o| o.lines.iter().map(|l| l.product_id)).collect();
        let keys: Vec<(CustomerId, &str)> = orders.iter().map(|o| (o.customer, o.key.as_str())).collect();
        let steps = sql(GROUP_READS)
            .bind(json(&ids)?)
            .bind(json(&keys)?)
            .batch(&mut *conn)
            .await
            .map_err(|err| if super::core::is_busy(&err) { anyhow::Error::new(NoTransaction(err)) } else { err.into() })?;
        let [_begun, products, placed] =
            <[Step; 3]>::try_from(steps).ok().context("the checkout's reads gave the wrong number of answers")?;
        let mut stock = stocked_from(products.decode()?);
        let mut placed_with: PlacedWith =
            placed.decode::<(CustomerId, String, OrderId)>()?.into_iter().map(|(c, k, id)| ((c, k), id)).collect();
        let decided = decide(orders, &mut stock, &placed_with)?;
        let to_place = to_place(orders, &decided);
        if to_place.is_empty() {
            sql("COMMIT").execute(&mut *conn).await?;
        } else {
            write_orders(conn, &to_place, &stock, &mut placed_with).await?;
        }
        outcomes(orders, decided, &placed_with)
    }
}

/// Checkpoints of the write-ahead log for the group writer, whose own
/// connection does not checkpoint in its commits: a checkpoint copies and
/// syncs ~1,000 pages, 10–30 ms during which no purchase could be written.
///
/// Every [`GROUPS_PER_CHECKPOINT`] groups a passive checkpoint starts on
/// another connection and copies what is in the log while the writer goes
/// on. Once it is done, the writer checkpoints again between two groups:
/// only what was written meanwhile is left to copy, and with nothing written
/// during it the log is fully copied (tried again after each group until it
/// is: a reader may hold an older part), so the next transaction starts it
/// from the beginning again. (With only the first, the writer never stops
/// adding to the log, it is never fully copied and it grew by ~70 MB a
/// second.)
#[derive(Default)]
struct Checkpoint {
    groups: u32,
    copying: Option<tokio::task::JoinHandle<()>>,
    /// The copy is done: the writer finishes it after each group until the
    /// whole log is copied (a reader may still hold an older part of it).
    finishing: bool,
}

impl Checkpoint {
    async fn after_group(&mut self, db: &Db, conn: &mut Option<GroupConnection>) {
        let Backend::Sqlite(pool) = &db.backend else { return };
        self.groups += 1;
        match &self.copying {
            None if self.groups >= GROUPS_PER_CHECKPOINT => {
                let pool = pool.clone();
                self.copying = Some(tokio::spawn(async move {
                    if let Err(err) = sqlx::query(CHECKPOINT).execute(&pool).await {
                        tracing::warn!(error = %err, "checkpointing the write-ahead log failed; the writer tries again later");
                    }
                }));
            }
            Some(copying) if copying.is_finished() => {
                self.copying = None;
                self.finishing = true;
            }
            _ => {}
        }
        if self.finishing {
            let _turn = super::sqlite::write_turn(pool).lock_owned().await;
            let Some(open) = conn.as_mut() else { return };
            match sqlx::query_as::<_, (i64, i64, i64)>(CHECKPOINT).fetch_one(&mut open.0).await {
                // (busy, frames in the log, frames copied)
                Ok((0, log, copied)) if copied >= log => (self.finishing, self.groups) = (false, 0),
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "checkpointing the write-ahead log failed; the writer tries again later");
                    (self.finishing, self.groups) = (false, 0);
                }
            }
        }
    }
}

const CHECKPOINT: &str = "PRAGMA wal_checkpoint(PASSIVE)";

/// The group writer's own connection, which leaves checkpoints to
/// [`Checkpoint`] (its own only past 10,000 pages, ~40 MB: should those
/// never copy the whole log, the log still stays bounded).
struct GroupConnection(SqliteConnection);

impl GroupConnection {
    async fn open(pool: &sqlx::SqlitePool) -> sqlx::Result<Self> {
        let mut conn = pool.acquire().await?.detach();
        sqlx::query("PRAGMA wal_autocheckpoint = 10000").execute(&mut conn).await?;
        Ok(Self(conn))
    }
}

/// Each purchase of a group its outcome, in queue order. (A caller that went
/// away misses its answer; its order stands.)
fn answer(group: Vec<Purchase>, outcomes: Vec<PlaceOutcome>) {
    for (purchase, outcome) in group.into_iter().zip(outcomes) {
        let _ = purchase.reply.send(Ok(outcome));
    }
}

/// Every purchase of a group the same failure.
fn fail(group: Vec<Purchase>, err: &anyhow::Error) {
    let why = format!("{err:#}");
    for purchase in group {
        let _ = purchase.reply.send(Err(anyhow::anyhow!("{why}")));
    }
}

/// Orders placed, by customer and key.
type PlacedWith = HashMap<(CustomerId, String), OrderId>;

/// Decide each purchase of a group, in queue order, against `stock` (which
/// the placed ones take from) and the orders already placed with their keys.
/// A twin of a purchase placed earlier in the group (same customer and key)
/// gets that order once it has an id.
fn decide(orders: &[&NewOrder], stock: &mut HashMap<ProductId, Stocked>, placed_with: &PlacedWith) -> anyhow::Result<Vec<Decision>> {
    let mut decided = Vec::with_capacity(orders.len());
    let mut placing: HashMap<(CustomerId, &str), usize> = HashMap::new();
    for (i, o) in orders.iter().enumerate() {
        let key = (o.customer, o.key.as_str());
        decided.push(if let Some(&id) = placed_with.get(&(o.customer, o.key.clone())) {
            Decision::Decided(PlaceOutcome::Existing(id))
        } else if let Some(&first) = placing.get(&key) {
            Decision::TwinOf(first)
        } else {
            match take(stock, &o.lines)? {
                Ok(total) => {
                    placing.insert(key, i);
                    Decision::Place(total)
                }
                Err(refused) => Decision::Decided(refused),
            }
        });
    }
    Ok(decided)
}

/// The purchases of a group decided to be placed, with their totals.
fn to_place<'o>(orders: &[&'o NewOrder], decided: &[Decision]) -> Vec<(&'o NewOrder, i64)> {
    orders.iter().zip(decided).filter_map(|(o, d)| if let Decision::Place(total) = d { Some((*o, *total)) } else { None }).collect()
}

/// Each purchase's outcome once the placed ones have ids.
fn outcomes(orders: &[&NewOrder], decided: Vec<Decision>, placed_with: &PlacedWith) -> anyhow::Result<Vec<PlaceOutcome>> {
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

/// A group's values for [`GROUP_WRITES`] and [`PG_GROUP_WRITES`]: its
/// orders, the stock taken from each product, its lines, and the addresses
/// to keep (one per customer, the last asked for in queue order: `UPDATE …
/// FROM` would pick any of several rows for one account).
fn group_values(to_place: &[(&NewOrder, i64)], stock: &HashMap<ProductId, Stocked>) -> anyhow::Result<[Arg<'static>; 4]> {
    // Sorted by customer and key: two PostgreSQL instances inserting orders
    // meet on the key index in one order, never in a circle.
    let mut orders: Vec<_> = to_place
        .iter()
        .map(|(o, total)| {
            let [recipient, street, city, region, postal_code, country] = address_fields(&o.address);
            (o.customer, recipient, street, city, region, postal_code, country, o.key.as_str(), *total)
        })
        .collect();
    orders.sort_by(|a, b| (a.0, a.7).cmp(&(b.0, b.7)));
    // Sorted by product, with the price and name read (PostgreSQL takes
    // stock only from a product still sold under them).
    let taken: BTreeMap<ProductId, &Stocked> = stock.iter().filter(|(_, s)| s.taken > 0).map(|(id, s)| (*id, s)).collect();
    let taken: Vec<(ProductId, i64, i64, &str)> = taken.into_iter().map(|(id, s)| (id, s.taken, s.price, s.name.as_str())).collect();
    let lines: Vec<_> = to_place
        .iter()
        .flat_map(|(o, _)| {
            (1_i64..).zip(&o.lines).map(|(n, l)| {
                let product = &stock[&l.product_id];
                (o.customer, o.key.as_str(), n, l.product_id, product.name.as_str(), product.price, l.quantity)
            })
        })
        .collect();
    let addresses: BTreeMap<CustomerId, _> = to_place
        .iter()
        .filter(|(o, _)| o.save_address)
        .map(|(o, _)| {
            let [recipient, street, city, region, postal_code, country] = address_fields(&o.address);
            (o.customer, (o.customer, recipient, street, city, region, postal_code, country))
        })
        .collect();
    Ok([json(&orders)?, json(&taken)?, json(&lines)?, json(&addresses.into_values().collect::<Vec<_>>())?])
}

/// Insert the orders decided on, take their stock, add their lines, keep the
/// addresses asked for and commit: [`GROUP_WRITES`], one batch whatever the
/// group's size. `placed_with` gains each new order's id.
async fn write_orders(
    conn: &mut SqliteConnection,
    to_place: &[(&NewOrder, i64)],
    stock: &HashMap<ProductId, Stocked>,
    placed_with: &mut PlacedWith,
) -> anyhow::Result<()> {
    let [orders, taken, lines, addresses] = group_values(to_place, stock)?;
    let steps = sql(GROUP_WRITES)
        .bind(orders)
        .bind(taken)
        .bind(lines)
        .bind(addresses)
        .batch(conn)
        .await
        .context("writing the checkout group (a stock or line count that did not add up stops it before its commit)")?;
    anyhow::ensure!(steps.len() == 7, "the checkout's writes gave {} answers, not 7", steps.len());
    // Matched by key, not by position: SQLite does not promise RETURNING's row order.
    placed_with.extend(steps[0].decode::<(CustomerId, String, OrderId)>()?.into_iter().map(|(c, k, id)| ((c, k), id)));
    Ok(())
}

impl Db {
    /// PostgreSQL: write queued purchases in groups until the queue closes,
    /// each group one read and one write, its own transaction (one commit,
    /// one flush of PostgreSQL's log for all of them). One writer per
    /// instance: a second one, measured, added nothing, as a group's write
    /// waits on the products the one before it holds.
    async fn commit_pg_groups(self, mut queue: mpsc::Receiver<Purchase>) {
        let mut group = Vec::with_capacity(MAX_GROUP);
        while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
            // A task per group: a panic fails that group's purchases, never the queue.
            let (db, purchases) = (self.clone(), std::mem::take(&mut group));
            if tokio::spawn(async move { db.buy_pg_group(purchases).await }).await.is_err() {
                tracing::error!("a checkout group panicked; its purchases failed, the queue goes on");
            }
        }
    }

    /// One write for the whole group; if it writes nothing (its products
    /// moved since they were read, a key met on another instance's order),
    /// each purchase is bought alone by
    /// [`Db::buy`], side by side; if the database cannot be read at all,
    /// all hear so at once.
    async fn buy_pg_group(&self, group: Vec<Purchase>) {
        let orders: Vec<&NewOrder> = group.iter().map(|p| &p.order).collect();
        match self.buy_pg_in_one_write(&orders).await {
            Ok(outcomes) => answer(group, outcomes),
            Err(err) if err.is::<NoTransaction>() => fail(group, &err),
            Err(err) => {
                if group.len() > 1 {
                    tracing::warn!(error = ?err, purchases = group.len(), "a checkout group failed; buying each purchase alone");
                }
                // Side by side, as before groups: each waits only for its own products.
                futures::future::join_all(group.into_iter().map(|purchase| async move {
                    let _ = purchase.reply.send(self.buy(&purchase.order).await);
                }))
                .await;
            }
        }
    }

    /// Decide and write `orders` in two statements (PostgreSQL). The first
    /// reads the products they name and the orders already placed with their
    /// keys; each purchase is decided in memory in queue order against what
    /// it read; the second, its own transaction, locks the products in id
    /// order (as every buyer does, so no two wait for each other in a
    /// circle), takes the stock only where what is left still covers it at
    /// the price read, inserts the placed orders (sorted by customer and
    /// key) with their lines, keeps the addresses (sorted by account), and
    /// fails as a whole unless every product and every line was written. So
    /// no lock is held between round trips, and a group whose products moved
    /// after its read (a staff edit, another instance's sale of the last
    /// units) writes nothing and is bought purchase by purchase. If the
    /// database cannot be read at all, every purchase hears so at once.
    async fn buy_pg_in_one_write(&self, orders: &[&NewOrder]) -> anyhow::Result<Vec<PlaceOutcome>> {
        let ids: BTreeSet<ProductId> = orders.iter().flat_map(|o| o.lines.iter().map(|l| l.product_id)).collect();
        let keys: Vec<(CustomerId, &str)> = orders.iter().map(|o| (o.customer, o.key.as_str())).collect();
        let rows = sql(PG_GROUP_READS)
            .bind(json(&ids)?)
            .bind(json(&keys)?)
            .fetch_all::<(i64, Option<String>, Option<i64>, Option<i64>, Option<CustomerId>, Option<String>)>(self)
            .await
            .map_err(|err| anyhow::Error::new(NoTransaction(err)))?;
        let (mut products, mut placed_with) = (Vec::new(), PlacedWith::new());
        for row in rows {
            match row {
                (id, Some(name), Some(price), Some(left), None, None) => products.push((ProductId(id), name, price, left)),
                (id, None, None, None, Some(customer), Some(key)) => drop(placed_with.insert((customer, key), OrderId(id))),
                _ => anyhow::bail!("the checkout group's reads gave a row that is neither a product nor an order"),
            }
        }
        let mut stock = stocked_from(products);
        let decided = decide(orders, &mut stock, &placed_with)?;
        let to_place = to_place(orders, &decided);
        if !to_place.is_empty() {
            let taken = stock.values().filter(|s| s.taken > 0).count() as i64;
            let lines = to_place.iter().map(|(o, _)| o.lines.len()).sum::<usize>() as i64;
            let [placing, taking, adding, keeping] = group_values(&to_place, &stock)?;
            let placed = sql(PG_GROUP_WRITES)
                .bind(placing)
                .bind(taking)
                .bind(adding)
                .bind(keeping)
                .bind(taken)
                .bind(lines)
                .fetch_all::<(CustomerId, String, OrderId)>(self)
                .await
                .context("writing the checkout group (it writes nothing if its products moved since they were read)")?;
            anyhow::ensure!(placed.len() == to_place.len(), "the checkout group placed {} orders, not {}", placed.len(), to_place.len());
            // Its own transaction, not `Tx::commit`: wake this instance's feed as that does.
            self.commits.notify_one();
            placed_with.extend(placed.into_iter().map(|(c, k, id)| ((c, k), id)));
        }
        outcomes(orders, decided, &placed_with)
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
    let rows =
        sql(format!("{STOCKED} WHERE id IN ({}) AND archived_at IS NULL", placeholders(1, ids.len()))).bind_each(ids).fetch_all(on).await?;
    Ok(stocked_from(rows))
}

/// The columns [`stocked_from`] reads.
const STOCKED: &str = "SELECT id, name, price_cents, stock FROM products";

fn stocked_from(rows: Vec<(ProductId, String, i64, i64)>) -> HashMap<ProductId, Stocked> {
    rows.into_iter().map(|(id, name, price, left)| (id, Stocked { name, price, left, taken: 0 })).collect()
}

/// A group's values bound as one JSON array (SQLite reads it with
/// `json_each`): the statement's text is then the same for every group,
/// prepared once per connection, instead of a new text (and a new
/// compilation of the tables' triggers) for every group size.
fn json(values: &impl serde::Serialize) -> anyhow::Result<Arg<'static>> {
    Ok(Arg::Owned(serde_json::to_string(values)?))
}

/// A group's reads in one statement (PostgreSQL), locking nothing: its
/// products on sale (`$1`: their ids), each as `id, name, price, stock`,
/// then the orders already placed with its keys (`$2`: `[customer, key]`
/// pairs), each as `id, customer, key`. Both are looked up by index, one id
/// or key at a time, however large the tables: the planner, which guesses
/// 100 elements for any JSON array, would otherwise read every order to
/// hash-join a group's 25 keys (2.5 ms a group at 20,000 orders, growing).
const PG_GROUP_READS: &str = "SELECT id, name, price_cents, stock, NULL::bigint, NULL::text FROM products \
        WHERE id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)::bigint)) AND archived_at IS NULL \
    UNION ALL \
    SELECT o.id, NULL, NULL, NULL, o.customer_id, o.idempotency_key FROM jsonb_array_elements($2::jsonb) AS k(e) \
    CROSS JOIN LATERAL (SELECT id, customer_id, idempotency_key FROM orders \
        WHERE customer_id = (k.e ->> 0)::bigint AND idempotency_key = k.e ->> 1 LIMIT 1) AS o";

/// A group's writes as one statement, its own transaction (PostgreSQL), with
/// [`GROUP_WRITES`]'s values (`$2` also carries each product's price and
/// name as read) and the number of products whose stock is taken (`$5`) and
/// of lines (`$6`): each placed order's customer, key and id.
///
/// The products are locked in id order before their stock is taken (`taken`
/// joins `locked`, which yields its rows in that order); a product is taken
/// from only if what is left covers it, it is on sale, and its price and
/// name are the ones the group read. The accounts whose addresses are kept
/// are locked in id order too. Products and accounts are found by their ids
/// (`= ANY`), not by a join the planner might make by reading the whole
/// table.
///
/// Unless every product and every line was written, the last `SELECT`
/// divides by zero and the statement writes nothing. That guard is checked
/// once, before `placed` is read, and `taken` comes first in it: so the
/// products are locked (through `taken`) before the orders and their keys
/// are inserted (through `added`), the order every buyer takes (`Db::buy`
/// too), and two instances meeting on one key never wait for each other in
/// a circle. Keep `taken` first.
const PG_GROUP_WRITES: &str = "WITH locked AS MATERIALIZED ( \
        SELECT id FROM products \
        WHERE id = ANY (ARRAY(SELECT (x.e ->> 0)::bigint FROM jsonb_array_elements($2::jsonb) AS x(e))) \
        ORDER BY id FOR NO KEY UPDATE), \
    placed AS ( \
        INSERT INTO orders (customer_id, recipient, street, city, region, postal_code, country, idempotency_key, total_cents) \
        SELECT (e ->> 0)::bigint, e ->> 1, e ->> 2, e ->> 3, e ->> 4, e ->> 5, e ->> 6, e ->> 7, (e ->> 8)::bigint \
        FROM jsonb_array_elements($1::jsonb) AS o(e) \
        RETURNING customer_id, idempotency_key, id), \
    taken AS ( \
        UPDATE products AS p SET stock = p.stock - (t.e ->> 1)::bigint, units_sold = p.units_sold + (t.e ->> 1)::bigint \
        FROM jsonb_array_elements($2::jsonb) AS t(e), locked \
        WHERE p.id = locked.id AND p.id = (t.e ->> 0)::bigint AND p.stock >= (t.e ->> 1)::bigint \
            AND p.price_cents = (t.e ->> 2)::bigint AND p.name = t.e ->> 3 AND p.archived_at IS NULL \
        RETURNING p.id), \
    added AS ( \
        INSERT INTO order_lines (order_id, line_no, product_id, name, unit_price_cents, quantity) \
        SELECT placed.id, (l.e ->> 2)::bigint, (l.e ->> 3)::bigint, l.e ->> 4, (l.e ->> 5)::bigint, (l.e ->> 6)::bigint \
        FROM jsonb_array_elements($3::jsonb) AS l(e) \
        JOIN placed ON placed.customer_id = (l.e ->> 0)::bigint AND placed.idempotency_key = l.e ->> 1 \
        RETURNING 1), \
    accounts AS MATERIALIZED ( \
        SELECT id FROM users \
        WHERE id = ANY (ARRAY(SELECT (x.e ->> 0)::bigint FROM jsonb_array_elements($4::jsonb) AS x(e))) \
        ORDER BY id FOR NO KEY UPDATE), \
    kept AS ( \
        UPDATE users AS u SET recipient = a.e ->> 1, street = a.e ->> 2, city = a.e ->> 3, region = a.e ->> 4, \
            postal_code = a.e ->> 5, country = a.e ->> 6 \
        FROM jsonb_array_elements($4::jsonb) AS a(e), accounts \
        WHERE u.id = accounts.id AND u.id = (a.e ->> 0)::bigint \
        RETURNING 1) \
    SELECT customer_id, idempotency_key, id FROM placed \
    WHERE 1 / ((SELECT count(*) FROM taken) = $5 AND (SELECT count(*) FROM added) = $6)::int = 1";

/// A group's transaction begun, and its two reads (SQLite): the products it
/// names that are on sale (`$1`: their ids), and the orders already placed
/// with its keys (`$2`: `[customer, key]` pairs).
const GROUP_READS: &str = "BEGIN IMMEDIATE;
    SELECT id, name, price_cents, stock FROM products \
        WHERE id IN (SELECT value FROM json_each($1)) AND archived_at IS NULL;
    SELECT o.customer_id, o.idempotency_key, o.id FROM json_each($2) AS k \
        JOIN orders AS o ON o.customer_id = (k.value ->> 0) AND o.idempotency_key = (k.value ->> 1)";

/// A group's writes (SQLite), in one batch: insert its orders (`$1`:
/// customer, address fields, key, total), take their stock (`$2`: product,
/// quantity; then price and name as read, which only PostgreSQL checks), add their lines (`$3`: customer, key, line number, product,
/// name and unit price as sold, quantity; each finds its order by customer
/// and key), keep the addresses asked for (`$4`: customer, address fields),
/// and commit. Nothing after a failing statement runs, the commit included.
/// The group was decided against the stock read under this transaction's
/// write lock, which no one else can move; should the stock update or the
/// lines insert touch fewer rows than sent all the same, the `SELECT` after
/// it fails (SQLite has no `RAISE` outside triggers: `json()` of text that is
/// not JSON is the error) and the group is rolled back.
const GROUP_WRITES: &str = "INSERT INTO orders \
        (customer_id, recipient, street, city, region, postal_code, country, idempotency_key, total_cents) \
        SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7, value ->> 8 \
        FROM json_each($1) \
        RETURNING customer_id, idempotency_key, id;
    UPDATE products SET stock = stock - (t.value ->> 1), units_sold = units_sold + (t.value ->> 1) \
        FROM json_each($2) AS t \
        WHERE products.id = (t.value ->> 0) AND products.stock >= (t.value ->> 1) AND products.archived_at IS NULL;
    SELECT json('stock moved under the write turn') WHERE changes() <> json_array_length($2);
    INSERT INTO order_lines (order_id, line_no, product_id, name, unit_price_cents, quantity) \
        SELECT o.id, l.value ->> 2, l.value ->> 3, l.value ->> 4, l.value ->> 5, l.value ->> 6 FROM json_each($3) AS l \
        JOIN orders AS o ON o.customer_id = (l.value ->> 0) AND o.idempotency_key = (l.value ->> 1);
    SELECT json('an order line found no order') WHERE changes() <> json_array_length($3);
    UPDATE users SET recipient = a.value ->> 1, street = a.value ->> 2, city = a.value ->> 3, region = a.value ->> 4, \
        postal_code = a.value ->> 5, country = a.value ->> 6 \
        FROM json_each($4) AS a WHERE users.id = (a.value ->> 0);
    COMMIT";

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

/// The group's transaction could not begin (SQLite) or its reads failed
/// (PostgreSQL): every purchase in it fails at once.
#[derive(Debug, thiserror::Error)]
#[error("starting the checkout: {0}")]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh database with one account and one product with one unit left.
    async fn shop(name: &str) -> anyhow::Result<(Db, sqlx::SqlitePool, std::path::PathBuf)> {
        let file = std::env::temp_dir().join(format!("livecart-checkout-{name}-{}.db", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
        let db = Db::connect(&format!("sqlite://{}", file.display())).await?;
        db.migrate().await?;
        let Backend::Sqlite(pool) = &db.backend else { anyhow::bail!("not SQLite") };
        let pool = pool.clone();
        for statement in [
            "INSERT INTO categories (id, slug, name) VALUES (900, 'guard', 'Guard')",
            "INSERT INTO products (id, category_id, name, price_cents, stock) VALUES (900, 900, 'Last one', 500, 1)",
            "INSERT INTO users (id, username, password_hash) VALUES (900, 'guarded', 'x')",
        ] {
            sqlx::query(statement).execute(&pool).await?;
        }
        Ok((db, pool, file))
    }

    /// The group's reads and writes, as `buy_within` and `write_orders` send
    /// them, for one order of `quantity` units of product 900 taking `taken`
    /// from its stock.
    async fn write(conn: &mut SqliteConnection, quantity: i64, taken: i64) -> anyhow::Result<Vec<Step>> {
        sql(GROUP_READS).bind(json(&[900])?).bind(json(&[(900, "k")])?).batch(&mut *conn).await?;
        let order = [(900, "Ann", "1 St", "Town", "TO", "1000", "Land", "k", 500 * quantity)];
        let lines = [(900, "k", 1, 900, "Last one", 500, quantity)];
        Ok(sql(GROUP_WRITES)
            .bind(json(&order)?)
            .bind(json(&[(900, taken)])?)
            .bind(json(&lines)?)
            .bind(json(&Vec::<()>::new())?)
            .batch(conn)
            .await?)
    }

    async fn left_and_orders(pool: &sqlx::SqlitePool) -> anyhow::Result<(i64, i64)> {
        Ok(sqlx::query_as("SELECT (SELECT stock FROM products WHERE id = 900), (SELECT count(*) FROM orders)").fetch_one(pool).await?)
    }

    #[tokio::test]
    async fn a_group_whose_stock_update_falls_short_commits_nothing() -> anyhow::Result<()> {
        let (_db, pool, file) = shop("short").await?;
        let mut conn = GroupConnection::open(&pool).await?;
        // Two units asked of one left: the update touches no row, and the
        // guard after it stops the batch before its commit.
        let Err(err) = write(&mut conn.0, 2, 2).await else { anyhow::bail!("a short stock update must fail the batch") };
        assert!(format!("{err:#}").contains("malformed JSON"), "{err:#}");
        sqlx::Connection::close(conn.0).await?;
        assert_eq!(left_and_orders(&pool).await?, (1, 0), "nothing was committed");

        // The same group when it fits is written and committed whole.
        let mut conn = GroupConnection::open(&pool).await?;
        let steps = write(&mut conn.0, 1, 1).await?;
        assert_eq!(steps.len(), 7);
        assert_eq!(steps[0].rows.len(), 1, "the order's id comes back");
        assert_eq!(left_and_orders(&pool).await?, (0, 1));
        let _ = std::fs::remove_file(file);
        Ok(())
    }
}
