//! The change log, as the feed reads it. Triggers (any writer: the app,
//! `sqlite3`/`psql`, another instance) record *facts* in the same transaction
//! as the change: which entity, whether it changed or went away, and what a
//! topic needs that the row may no longer have (a product's category while it
//! was listed; an order's customer). Frames and topics are made from facts in
//! Rust (`src/realtime/mapper.rs`), never in SQL.

use std::time::Duration;

use super::catalog::{MaybeProduct, ProductRecord, product_columns};
use super::core::{Arg, sql};
use super::{Backend, Db};
use crate::protocol::Topic;

/// What a fact is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FactKind {
    Product,
    Order,
    /// A product question (`parent_id`: the product it was about before the change).
    Question,
    /// A message of an order's conversation (`parent_id`: its order).
    Message,
    /// A session signed out (`entity_id` = its `sessions::sign_out_key`). Not
    /// a client topic: every instance's feed hands it to its hub, in seq
    /// order, as "this session's sockets lose their private topics".
    SignOut,
}

/// The `kind` column of a sign-out fact.
pub const SIGN_OUT_KIND: &str = "signout";

impl FactKind {
    fn parse(kind: &str) -> Option<FactKind> {
        match kind {
            "product" => Some(FactKind::Product),
            "order" => Some(FactKind::Order),
            "question" => Some(FactKind::Question),
            "message" => Some(FactKind::Message),
            SIGN_OUT_KIND => Some(FactKind::SignOut),
            _ => None,
        }
    }
}

/// What happened to the entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactOp {
    /// Inserted or updated: read its current row.
    Change,
    /// Deleted.
    Removed,
}

/// One row of `change_log`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub seq: i64,
    pub kind: FactKind,
    pub op: FactOp,
    pub entity_id: i64,
    /// Product: the category it was listed in before the change (`None`: it
    /// was not listed, being new or archived). Order: its customer before the change.
    /// Question: its product before the change.
    pub parent_id: Option<i64>,
    /// Product: the slug of that category.
    pub parent_slug: Option<String>,
    /// Product: its row, read by the same statement as the fact (so as of the
    /// same moment); `None` when it no longer exists.
    pub product: Option<ProductRecord>,
}

#[derive(sqlx::FromRow)]
struct FactRow {
    seq: i64,
    kind: String,
    op: String,
    entity_id: i64,
    parent_id: Option<i64>,
    parent_slug: Option<String>,
    #[sqlx(flatten)]
    product: MaybeProduct,
}

/// Facts with each product's current row and the slug of the category it
/// left, in one statement (one snapshot, one round trip).
const FACTS: &str = concat!(
    "SELECT l.seq, l.kind, l.op, l.entity_id, l.parent_id, pc.slug AS parent_slug, ",
    product_columns!(),
    " FROM change_log l \
     LEFT JOIN products p ON l.kind = 'product' AND p.id = l.entity_id \
     LEFT JOIN categories c ON c.id = p.category_id \
     LEFT JOIN categories pc ON l.kind = 'product' AND pc.id = l.parent_id"
);

/// Facts in seq order; a row of a kind this build does not know is skipped, saying so.
fn facts(rows: Vec<FactRow>) -> Vec<Fact> {
    rows.into_iter()
        .filter_map(|r| {
            let Some(kind) = FactKind::parse(&r.kind) else {
                tracing::warn!(seq = r.seq, kind = r.kind, "change_log row of an unknown kind; skipped");
                return None;
            };
            let op = if r.op == "removed" { FactOp::Removed } else { FactOp::Change };
            Some(Fact {
                seq: r.seq,
                kind,
                op,
                entity_id: r.entity_id,
                parent_id: r.parent_id,
                parent_slug: r.parent_slug,
                product: r.product.0,
            })
        })
        .collect()
}

/// The snapshot a batch was read in (PostgreSQL only). `xmin`: every xid below
/// it had ended. `xmax`: the latest *completed* xid + 1, which is not the next
/// xid to be assigned: a transaction that took its xid after the latest commit
/// is running but below no snapshot's `xmax` and in no list of running ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlight {
    pub xmin: i64,
    pub xmax: i64,
}

/// Facts after a position, in seq order.
#[derive(Debug, Clone, Default)]
pub struct ChangeBatch {
    pub facts: Vec<Fact>,
    /// `None` where seq order is commit order (SQLite: one writer), so a gap in
    /// seq can never fill later.
    pub in_flight: Option<InFlight>,
}

impl Db {
    /// Facts with `seq > after`, at most `limit`, in seq order.
    pub async fn read_changes(&self, after: i64, limit: i64) -> anyhow::Result<ChangeBatch> {
        let query = sql(format!("{FACTS} WHERE l.seq > $1 ORDER BY l.seq LIMIT $2")).bind(after).bind(limit);
        match &self.backend {
            Backend::Sqlite(_) => Ok(ChangeBatch { facts: facts(query.fetch_all(self).await?), in_flight: None }),
            Backend::Postgres(pool) => {
                let (rows, in_flight) = super::postgres::in_snapshot(pool, query).await?;
                Ok(ChangeBatch { facts: facts(rows), in_flight: Some(in_flight) })
            }
        }
    }

    /// The facts with `after < seq <= upto` that may change what `topic` shows
    /// (a replay), in seq order. A product's category topic also gets the facts
    /// of products that were listed in it then and left since; a customer's
    /// orders, those of orders that changed hands.
    pub async fn facts_for(&self, topic: &Topic, after: i64, upto: i64) -> anyhow::Result<Vec<Fact>> {
        let (filter, arg): (&str, Option<Arg<'_>>) = match topic {
            Topic::Catalog | Topic::Listing(None) => ("l.kind = 'product'", None),
            // Listed there at the change, or now.
            Topic::Category(slug) | Topic::Listing(Some(slug)) => {
                ("l.kind = 'product' AND (pc.slug = $3 OR c.slug = $3)", Some(slug.as_str().into()))
            }
            Topic::Product(id) | Topic::Card(id) => ("l.kind = 'product' AND l.entity_id = $3", Some((*id).into())),
            Topic::Orders(customer) => (
                "l.kind = 'order' AND (l.parent_id = $3 OR l.entity_id IN (SELECT id FROM orders WHERE customer_id = $3))",
                Some((*customer).into()),
            ),
            Topic::AllOrders => ("l.kind = 'order'", None),
            Topic::Order(id) => ("l.kind = 'order' AND l.entity_id = $3", Some((*id).into())),
            // About the product at the change, or now.
            Topic::Questions(product) => (
                "l.kind = 'question' AND (l.parent_id = $3 OR l.entity_id IN (SELECT id FROM questions WHERE product_id = $3))",
                Some((*product).into()),
            ),
            Topic::QuestionQueue => ("l.kind = 'question'", None),
            Topic::Conversation(order) => ("l.kind = 'message' AND l.parent_id = $3", Some((*order).into())),
            Topic::Inbox => ("l.kind = 'order'", None),
            // Nothing of it is logged.
            Topic::Staff | Topic::Presence(_) | Topic::Carts(_) => ("1 = 0", None),
        };
        let mut query = sql(format!("{FACTS} WHERE l.seq > $1 AND l.seq <= $2 AND {filter} ORDER BY l.seq")).bind(after).bind(upto);
        if let Some(arg) = arg {
            query = query.bind(arg);
        }
        Ok(facts(query.fetch_all(self).await?))
    }

    /// Everything at or below this seq may have been pruned from the log.
    pub async fn pruned_through(&self) -> anyhow::Result<i64> {
        Ok(sql("SELECT pruned_through FROM feed_state WHERE id = 1").scalar(self).await?)
    }

    /// The newest seq in the change log (published or not), for the feed's lag.
    pub async fn newest_seq(&self) -> anyhow::Result<i64> {
        Ok(sql("SELECT coalesce(max(seq), 0) FROM change_log").scalar(self).await?)
    }

    /// Where a fresh feed starts reading: past every change that is already
    /// settled, before any that may still commit.
    pub async fn feed_start(&self) -> anyhow::Result<i64> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(sql("SELECT max(coalesce((SELECT max(seq) FROM change_log), 0), \
                                              (SELECT pruned_through FROM feed_state WHERE id = 1))")
            .scalar(self)
            .await?),
            Backend::Postgres(pool) => super::postgres::feed_start(pool).await,
        }
    }

    /// PostgreSQL: an xid assigned now, so above every xid assigned before this
    /// call (the feed's gap rule waits until a snapshot's `xmin` passes it).
    /// SQLite has no concurrent writers and never asks: 0.
    pub async fn xid_bound(&self) -> anyhow::Result<i64> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(0),
            Backend::Postgres(pool) => super::postgres::xid_bound(pool).await,
        }
    }

    /// Delete log rows older than `max_age` or beyond the newest `max_rows`, never
    /// above `not_above` (what the feed has not published yet). Returns the new
    /// `pruned_through`.
    pub async fn prune_log(&self, max_age: Duration, max_rows: i64, not_above: i64) -> anyhow::Result<i64> {
        let max_age_secs = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
        let (older_than, min, max) = match self.backend {
            Backend::Sqlite(_) => ("unixepoch() - $1", "min", "max"),
            Backend::Postgres(_) => ("now() - make_interval(secs => $1)", "least", "greatest"),
        };
        let mut tx = self.begin().await?;
        let cutoff: i64 = sql(format!(
            "SELECT {min}($3, {max}(coalesce((SELECT max(seq) FROM change_log WHERE created_at < {older_than}), 0), \
                                   coalesce((SELECT max(seq) FROM change_log), 0) - $2))"
        ))
        .bind(max_age_secs)
        .bind(max_rows)
        .bind(not_above)
        .scalar(&mut tx)
        .await?;
        sql("DELETE FROM change_log WHERE seq <= $1").bind(cutoff).execute(&mut tx).await?;
        let through: i64 =
            sql(format!("UPDATE feed_state SET pruned_through = {max}(pruned_through, $1) WHERE id = 1 RETURNING pruned_through"))
                .bind(cutoff)
                .scalar(&mut tx)
                .await?;
        tx.commit().await?;
        Ok(through)
    }

    /// Record that the session with this `sessions::sign_out_key` signed out, so
    /// every instance's sockets of that session lose their private topics
    /// (through the feed, in order with the changes around it).
    pub async fn log_sign_out(&self, session_key: i64) -> anyhow::Result<()> {
        let statement = match self.backend {
            Backend::Sqlite(_) => "INSERT INTO change_log (kind, op, entity_id) VALUES ($1, 'removed', $2)",
            // Through log_fact(), like every other row: xid before seq, and a NOTIFY.
            Backend::Postgres(_) => "SELECT log_fact($1, 'removed', $2, NULL)",
        };
        self.write(sql(statement).bind(SIGN_OUT_KIND).bind(session_key)).await?;
        Ok(())
    }

    /// Fault injection: end the PostgreSQL LISTEN connection (SQLite has none: 0).
    pub async fn drop_listen_connection(&self) -> anyhow::Result<i64> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(0),
            Backend::Postgres(pool) => super::postgres::drop_listen_connection(pool).await,
        }
    }
}
