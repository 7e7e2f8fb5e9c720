//! Facts -> frames: the one place the change log becomes topics and wire JSON.
//!
//! For a batch of facts it reads the entities' current rows by id (one query
//! per entity kind), then for each fact says what every topic that showed the
//! entity before, or shows it now, should do: `change` with the entity's JSON
//! (the shared model types, serialised here) or `removed`. A frame therefore
//! carries the entity as it is when the feed reads it, which may be newer than
//! at the fact's commit; the newer state's own fact follows it, so a view that
//! applies every frame converges to the database.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use app::model::{CustomerId, OrderId, ProductId};
use app::protocol::{Seq, ServerMsg, Topic};
use app::server::Db;
use app::server::db::{Fact, FactKind, FactOp, OrderRecord, ProductRecord};
use serde_json::value::{RawValue, to_raw_value};

use super::frame::{Frame, Published, encode};

/// The current state of every entity a batch of facts names.
#[derive(Debug, Default)]
pub struct Current {
    pub products: HashMap<ProductId, ProductRecord>,
    /// Category slugs by id: products' current categories and the ones they left.
    pub categories: HashMap<i64, String>,
    pub orders: HashMap<OrderId, OrderRecord>,
}

impl Current {
    /// Read what `facts` name: one query per entity kind.
    pub async fn load(db: &Db, facts: &[Fact]) -> anyhow::Result<Current> {
        let ids = |kind: FactKind| -> Vec<i64> {
            let set: HashSet<i64> = facts.iter().filter(|f| f.kind == kind).map(|f| f.entity_id).collect();
            set.into_iter().collect()
        };
        let product_ids: Vec<ProductId> = ids(FactKind::Product).into_iter().map(ProductId).collect();
        let order_ids: Vec<OrderId> = ids(FactKind::Order).into_iter().map(OrderId).collect();
        let products = db.products_by_ids(&product_ids).await?;
        let mut categories: HashMap<i64, String> = products.iter().map(|p| (p.category_id, p.category.clone())).collect();
        let left: Vec<i64> = facts
            .iter()
            .filter(|f| f.kind == FactKind::Product)
            .filter_map(|f| f.parent_id)
            .filter(|c| !categories.contains_key(c))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        categories.extend(db.category_slugs(&left).await?);
        let orders = db.orders_by_ids(&order_ids).await?;
        Ok(Current {
            products: products.into_iter().map(|p| (p.id, p)).collect(),
            categories,
            orders: orders.into_iter().map(|o| (o.id, o)).collect(),
        })
    }
}

/// What the hub should offer for `facts` (in seq order): every topic's frame, encoded once.
pub async fn published(db: &Db, facts: &[Fact]) -> anyhow::Result<Vec<Published>> {
    if facts.is_empty() {
        return Ok(Vec::new());
    }
    Ok(map(facts, &Current::load(db, facts).await?))
}

/// The frames of one topic for a replay of `facts` (see `Db::facts_for`).
pub async fn replay(db: &Db, topic: &Topic, facts: &[Fact]) -> anyhow::Result<Vec<Arc<Frame>>> {
    Ok(published(db, facts)
        .await?
        .into_iter()
        .filter_map(|item| match item {
            Published::Frame(frame) if frame.topic == *topic => Some(frame),
            _ => None,
        })
        .collect())
}

/// The frames for `facts`, given the entities' current state.
pub fn map(facts: &[Fact], now: &Current) -> Vec<Published> {
    let mut out = Vec::with_capacity(facts.len() * 3);
    for fact in facts {
        let seq = Seq(fact.seq);
        let mut emit = |topic: Topic, data: Option<&RawValue>| {
            let msg = match data {
                Some(data) => ServerMsg::Change { topic: topic.clone(), seq, data: data.to_owned() },
                None => ServerMsg::Removed { topic: topic.clone(), seq, id: fact.entity_id },
            };
            out.push(Published::Frame(Arc::new(Frame { topic, seq, text: encode(&msg) })));
        };
        let mapped = match fact.kind {
            FactKind::SignOut => {
                out.push(Published::SignOut { seq, session: fact.entity_id });
                Ok(())
            }
            FactKind::Product => product(fact, now, &mut emit),
            FactKind::Order => order(fact, now, &mut emit),
        };
        if let Err(err) = mapped {
            tracing::warn!(seq = fact.seq, error = ?err, "a change could not be made into frames; skipped");
        }
    }
    out
}

/// A product is shown on `catalog`, its category's topic and its own while it
/// is not archived.
fn product(fact: &Fact, now: &Current, emit: &mut impl FnMut(Topic, Option<&RawValue>)) -> anyhow::Result<()> {
    let id = ProductId(fact.entity_id);
    let listed = now.products.get(&id).filter(|p| !p.archived);
    let left = fact.parent_id.and_then(|c| now.categories.get(&c));
    if let Some(left) = left
        && listed.is_none_or(|p| &p.category != left)
    {
        emit(Topic::Category(left.parse()?), None);
    }
    match listed {
        Some(p) => {
            let summary = to_raw_value(&p.summary()?)?;
            emit(Topic::Catalog, Some(&summary));
            emit(Topic::Category(p.category.parse()?), Some(&summary));
            emit(Topic::Product(id), Some(&to_raw_value(&p.product()?)?));
        }
        // Shown until this change (or deleted): gone now.
        None if fact.parent_id.is_some() || fact.op == FactOp::Removed => {
            emit(Topic::Catalog, None);
            emit(Topic::Product(id), None);
        }
        None => {}
    }
    Ok(())
}

/// An order is shown on its customer's `orders:{customer}`, the staff's
/// `orders` and its own `order:{id}`.
fn order(fact: &Fact, now: &Current, emit: &mut impl FnMut(Topic, Option<&RawValue>)) -> anyhow::Result<()> {
    let id = OrderId(fact.entity_id);
    let current = now.orders.get(&id);
    if let Some(before) = fact.parent_id.map(CustomerId)
        && current.is_none_or(|o| o.customer_id != before)
    {
        emit(Topic::Orders(before), None);
    }
    match current {
        Some(o) => {
            let summary = to_raw_value(&o.summary()?)?;
            emit(Topic::Orders(o.customer_id), Some(&summary));
            emit(Topic::AllOrders, Some(&summary));
            emit(Topic::Order(id), Some(&to_raw_value(&o.order()?)?));
        }
        None => {
            emit(Topic::AllOrders, None);
            emit(Topic::Order(id), None);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use app::model::{Order, OrderSummary, Product, ProductSummary};
    use app::protocol::ServerMsg;

    use super::*;

    fn fact(seq: i64, kind: FactKind, op: FactOp, id: i64, parent: Option<i64>) -> Fact {
        Fact { seq, kind, op, entity_id: id, parent_id: parent }
    }

    fn record(id: i64, category: (i64, &str), archived: bool) -> ProductRecord {
        ProductRecord {
            id: ProductId(id),
            category_id: category.0,
            category: category.1.into(),
            name: format!("Product {id}"),
            description: "Words".into(),
            price_cents: 1250,
            currency: "USD".into(),
            stock: 3,
            units_sold: 4,
            image: "/img.svg".into(),
            archived,
            version: 1,
        }
    }

    /// As `Current::load` would read it: the products, their categories and `others`.
    fn current(products: Vec<ProductRecord>, others: &[(i64, &str)]) -> Current {
        let mut categories: HashMap<i64, String> = others.iter().map(|(id, slug)| (*id, (*slug).to_string())).collect();
        categories.extend(products.iter().map(|p| (p.category_id, p.category.clone())));
        Current { products: products.into_iter().map(|p| (p.id, p)).collect(), categories, orders: HashMap::new() }
    }

    /// (topic, "change" | "removed") of each frame, decoded from its bytes.
    fn shown(items: &[Published]) -> Vec<(String, &'static str)> {
        items
            .iter()
            .map(|item| match item {
                Published::Frame(f) => match serde_json::from_str::<ServerMsg>(&f.text).expect("a frame the browser reads") {
                    ServerMsg::Change { topic, .. } => (topic.to_string(), "change"),
                    ServerMsg::Removed { topic, .. } => (topic.to_string(), "removed"),
                    other => panic!("unexpected {other:?}"),
                },
                Published::SignOut { .. } => ("signout".into(), "signout"),
            })
            .collect()
    }

    #[test]
    fn a_changed_product_reaches_its_three_topics_as_the_shared_model_types() {
        let now = current(vec![record(7, (2, "books"), false)], &[]);
        let items = map(&[fact(10, FactKind::Product, FactOp::Change, 7, Some(2))], &now);
        assert_eq!(shown(&items), [("catalog".into(), "change"), ("category:books".into(), "change"), ("product:7".into(), "change")]);
        let Published::Frame(f) = &items[2] else { panic!() };
        let Ok(ServerMsg::Change { data, seq, .. }) = serde_json::from_str::<ServerMsg>(&f.text) else { panic!() };
        assert_eq!(seq, Seq(10));
        let product: Product = serde_json::from_str(data.get()).expect("a Product");
        assert_eq!(product.summary.price.minor, 1250);
        assert_eq!(product.description, "Words");
        let Published::Frame(f) = &items[0] else { panic!() };
        let Ok(ServerMsg::Change { data, .. }) = serde_json::from_str::<ServerMsg>(&f.text) else { panic!() };
        let summary: ProductSummary = serde_json::from_str(data.get()).expect("a ProductSummary");
        assert_eq!((summary.stock, summary.units_sold, summary.category.as_str()), (3, 4, "books"));
    }

    #[test]
    fn a_move_removes_the_product_from_the_category_it_left() {
        let now = current(vec![record(7, (3, "games"), false)], &[(2, "books")]);
        let items = map(&[fact(11, FactKind::Product, FactOp::Change, 7, Some(2))], &now);
        assert_eq!(
            shown(&items),
            [
                ("category:books".into(), "removed"),
                ("catalog".into(), "change"),
                ("category:games".into(), "change"),
                ("product:7".into(), "change")
            ]
        );
    }

    #[test]
    fn archiving_or_deleting_removes_it_everywhere_it_was_shown() {
        let archived = current(vec![record(7, (2, "books"), true)], &[]);
        let removed = [("category:books".into(), "removed"), ("catalog".into(), "removed"), ("product:7".into(), "removed")];
        assert_eq!(shown(&map(&[fact(12, FactKind::Product, FactOp::Change, 7, Some(2))], &archived)), removed);
        let deleted = current(vec![], &[(2, "books")]);
        assert_eq!(shown(&map(&[fact(13, FactKind::Product, FactOp::Removed, 7, Some(2))], &deleted)), removed);
        // An edit of a product that stays archived shows nowhere.
        assert!(map(&[fact(14, FactKind::Product, FactOp::Change, 7, None)], &archived).is_empty());
    }

    #[test]
    fn a_replayed_fact_carries_the_current_state() {
        // seq 10 changed the price while listed; by the time the feed reads it,
        // the product was archived (seq 12): both say "removed", so a view ends as the database.
        let now = current(vec![record(7, (2, "books"), true)], &[(2, "books")]);
        let facts = [fact(10, FactKind::Product, FactOp::Change, 7, Some(2)), fact(12, FactKind::Product, FactOp::Change, 7, Some(2))];
        let items = map(&facts, &now);
        assert!(shown(&items).iter().all(|(_, op)| *op == "removed"));
    }

    #[test]
    fn orders_reach_their_customer_staff_and_own_topics_and_sign_outs_pass_through() {
        let order = OrderRecord {
            id: OrderId(5),
            customer_id: CustomerId(9),
            customer: "ann".into(),
            status: "paid".into(),
            total_cents: 500,
            currency: "USD".into(),
            street: "1 Main St".into(),
            city: "Springfield".into(),
            region: "IL".into(),
            postal_code: "62701".into(),
            items: 2,
            created_at: "2026-11-30T10:00:00Z".into(),
            updated_at: "2026-11-30T10:01:00Z".into(),
            paid_at: Some("2026-11-30T10:01:00Z".into()),
            shipped_at: None,
            delivered_at: None,
            cancelled_at: None,
            lines: Vec::new(),
        };
        let mut now = current(vec![], &[]);
        now.orders.insert(order.id, order);
        let facts = [fact(20, FactKind::Order, FactOp::Change, 5, Some(9)), fact(21, FactKind::SignOut, FactOp::Removed, 77, None)];
        let items = map(&facts, &now);
        assert_eq!(
            shown(&items),
            [("orders:9".into(), "change"), ("orders".into(), "change"), ("order:5".into(), "change"), ("signout".into(), "signout")]
        );
        let Published::Frame(f) = &items[0] else { panic!() };
        let Ok(ServerMsg::Change { data, .. }) = serde_json::from_str::<ServerMsg>(&f.text) else { panic!() };
        let summary: OrderSummary = serde_json::from_str(data.get()).expect("an OrderSummary");
        assert_eq!((summary.items, summary.customer.as_str()), (2, "ann"));
        let Published::Frame(f) = &items[2] else { panic!() };
        let Ok(ServerMsg::Change { data, .. }) = serde_json::from_str::<ServerMsg>(&f.text) else { panic!() };
        let full: Order = serde_json::from_str(data.get()).expect("an Order");
        assert_eq!(full.paid_at.as_deref(), Some("2026-11-30T10:01:00Z"));
        // Deleted: gone from every topic that showed it.
        let gone = map(&[fact(22, FactKind::Order, FactOp::Removed, 5, Some(9))], &current(vec![], &[]));
        assert_eq!(shown(&gone), [("orders:9".into(), "removed"), ("orders".into(), "removed"), ("order:5".into(), "removed")]);
    }
}
