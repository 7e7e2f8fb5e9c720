//! Facts -> frames: the one place the change log becomes topics and wire JSON.
//!
//! A batch of facts comes with each product's current row (read by the same
//! statement as the facts); orders and questions are read by id, one query
//! per kind per batch. For
//! each entity the mapper says what every topic that showed it before, or
//! shows it now, should do: `change` with the entity's JSON (the shared model
//! types, serialised here) or `removed`. An entity changed several times in
//! one batch gets its frames once, at its last seq: they would all carry the
//! same row. A frame therefore carries the entity as it is when the feed reads
//! it, which may be newer than the commit its seq stands for; that newer state
//! has a fact of its own, so a view that applies every frame converges to the
//! database.

use std::collections::HashMap;
use std::sync::Arc;

use app::model::{CustomerId, MessageId, OrderId, ProductId, QuestionId};
use app::protocol::{Seq, ServerMsg, Topic};
use app::server::Db;
use app::server::db::{Fact, FactKind, FactOp, MessageRecord, OrderRecord, ProductRecord, QuestionRecord};
use serde_json::value::{RawValue, to_raw_value};

use super::frame::{Frame, Published, encode};

/// The entities a batch's facts are about, as they are now (products come with their facts).
#[derive(Debug, Default)]
pub struct Current {
    pub orders: HashMap<OrderId, OrderRecord>,
    pub questions: HashMap<QuestionId, QuestionRecord>,
    pub messages: HashMap<MessageId, MessageRecord>,
}

/// The distinct ids of the facts of one kind.
fn ids_of<T: Ord>(facts: &[Fact], kind: FactKind, id: impl Fn(i64) -> T) -> Vec<T> {
    let mut ids: Vec<T> = facts.iter().filter(|f| f.kind == kind).map(|f| id(f.entity_id)).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// What the hub should offer for `facts` (in seq order): every topic's frame, encoded once.
pub async fn published(db: &Db, facts: &[Fact]) -> anyhow::Result<Vec<Published>> {
    let orders = db.orders_by_ids(&ids_of(facts, FactKind::Order, OrderId)).await?;
    let questions = db.questions_by_ids(&ids_of(facts, FactKind::Question, QuestionId)).await?;
    let messages = db.messages_by_ids(&ids_of(facts, FactKind::Message, MessageId)).await?;
    let current = Current {
        orders: orders.into_iter().map(|o| (o.id, o)).collect(),
        questions: questions.into_iter().map(|q| (q.id, q)).collect(),
        messages: messages.into_iter().map(|m| (m.id, m)).collect(),
    };
    Ok(map(facts, &current))
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

/// One entity's facts in a batch, merged.
struct Merged<'a> {
    /// The last of them: its seq is the frames' seq.
    last: &'a Fact,
    /// Whether any of them was a delete.
    removed: bool,
    /// Where it was shown before each of them (product: category ids; order: customers).
    parents: Vec<i64>,
    /// Product: those categories' slugs.
    left: Vec<&'a str>,
}

/// The frames for `facts`, given the entities as they are now.
pub fn map(facts: &[Fact], current: &Current) -> Vec<Published> {
    let mut merged: Vec<Merged> = Vec::with_capacity(facts.len());
    let mut at: HashMap<(FactKind, i64), usize> = HashMap::new();
    for fact in facts {
        let i = match at.get(&(fact.kind, fact.entity_id)) {
            // A sign-out is an event, never merged.
            Some(&i) if fact.kind != FactKind::SignOut => i,
            _ => {
                at.insert((fact.kind, fact.entity_id), merged.len());
                merged.push(Merged { last: fact, removed: false, parents: Vec::new(), left: Vec::new() });
                merged.len() - 1
            }
        };
        let m = &mut merged[i];
        m.last = fact;
        m.removed |= fact.op == FactOp::Removed;
        if let Some(parent) = fact.parent_id.filter(|p| !m.parents.contains(p)) {
            m.parents.push(parent);
            m.left.extend(fact.parent_slug.as_deref());
        }
    }
    merged.sort_by_key(|m| m.last.seq);
    let mut out = Vec::with_capacity(merged.len() * 3);
    for m in &merged {
        let seq = Seq(m.last.seq);
        let mut emit = |topic: Topic, data: Option<&RawValue>| {
            let msg = match data {
                Some(data) => ServerMsg::Change { topic: topic.clone(), seq, data: data.to_owned() },
                None => ServerMsg::Removed { topic: topic.clone(), seq, id: m.last.entity_id },
            };
            out.push(Published::Frame(Arc::new(Frame::logged(topic, seq, encode(&msg)))));
        };
        let mapped = match m.last.kind {
            FactKind::SignOut => {
                out.push(Published::SignOut { seq, session: m.last.entity_id });
                Ok(())
            }
            FactKind::Product => product(m, &mut emit),
            FactKind::Order => order(m, current.orders.get(&OrderId(m.last.entity_id)), &mut emit),
            FactKind::Question => question(m, current.questions.get(&QuestionId(m.last.entity_id)), &mut emit),
            FactKind::Message => message(m, current.messages.get(&MessageId(m.last.entity_id)), &mut emit),
        };
        if let Err(err) = mapped {
            tracing::warn!(seq = m.last.seq, error = ?err, "a change could not be made into frames; skipped");
        }
    }
    out
}

/// A product is shown on `catalog`, its category's topic, its own and its
/// card's while it is not archived; `listing` topics hear only when it joins
/// or leaves them.
fn product(m: &Merged, emit: &mut impl FnMut(Topic, Option<&RawValue>)) -> anyhow::Result<()> {
    let id = ProductId(m.last.entity_id);
    let listed: Option<&ProductRecord> = m.last.product.as_ref().filter(|p| !p.archived);
    for left in &m.left {
        if listed.is_none_or(|p| p.category != *left) {
            let slug: app::model::CategorySlug = left.parse()?;
            emit(Topic::Category(slug.clone()), None);
            emit(Topic::Listing(Some(slug)), None);
        }
    }
    match listed {
        Some(p) => {
            let summary = to_raw_value(&p.summary()?)?;
            let slug: app::model::CategorySlug = p.category.parse()?;
            emit(Topic::Catalog, Some(&summary));
            emit(Topic::Category(slug.clone()), Some(&summary));
            emit(Topic::Product(id), Some(&to_raw_value(&p.product()?)?));
            emit(Topic::Card(id), Some(&summary));
            if !m.left.contains(&p.category.as_str()) {
                emit(Topic::Listing(Some(slug)), Some(&summary));
            }
            if m.parents.is_empty() {
                emit(Topic::Listing(None), Some(&summary));
            }
        }
        // Shown until now (or deleted): gone.
        None if !m.parents.is_empty() || m.removed => {
            emit(Topic::Catalog, None);
            emit(Topic::Product(id), None);
            emit(Topic::Card(id), None);
            if !m.parents.is_empty() {
                emit(Topic::Listing(None), None);
            }
        }
        None => {}
    }
    Ok(())
}

/// An order is shown on its customer's `orders:{customer}`, the staff's
/// `orders` and its own `order:{id}`; once it has a conversation, on the
/// staff's `inbox` too.
fn order(m: &Merged, current: Option<&OrderRecord>, emit: &mut impl FnMut(Topic, Option<&RawValue>)) -> anyhow::Result<()> {
    let id = OrderId(m.last.entity_id);
    for before in m.parents.iter().copied().map(CustomerId) {
        if current.is_none_or(|o| o.customer_id != before) {
            emit(Topic::Orders(before), None);
        }
    }
    match current {
        Some(o) => {
            let summary = to_raw_value(&o.summary()?)?;
            emit(Topic::Orders(o.customer_id), Some(&summary));
            emit(Topic::AllOrders, Some(&summary));
            emit(Topic::Order(id), Some(&to_raw_value(&o.order()?)?));
            // The inbox lists orders once written about (as its snapshot does).
            if o.last_message_at.is_some() {
                emit(Topic::Inbox, Some(&summary));
            }
        }
        None => {
            emit(Topic::AllOrders, None);
            emit(Topic::Order(id), None);
            emit(Topic::Inbox, None);
        }
    }
    Ok(())
}

/// A question is shown on its product's `questions:{product}` and the staff's
/// `questions` queue.
fn question(m: &Merged, current: Option<&QuestionRecord>, emit: &mut impl FnMut(Topic, Option<&RawValue>)) -> anyhow::Result<()> {
    for before in m.parents.iter().copied().map(ProductId) {
        if current.is_none_or(|q| q.product_id != before) {
            emit(Topic::Questions(before), None);
        }
    }
    match current {
        Some(q) => {
            let json = to_raw_value(&q.question())?;
            emit(Topic::Questions(q.product_id), Some(&json));
            emit(Topic::QuestionQueue, Some(&json));
        }
        None => emit(Topic::QuestionQueue, None),
    }
    Ok(())
}

/// A message is shown on its order's `conversation:{order}` (the order's
/// counts travel as an order change of their own).
fn message(m: &Merged, current: Option<&MessageRecord>, emit: &mut impl FnMut(Topic, Option<&RawValue>)) -> anyhow::Result<()> {
    for before in m.parents.iter().copied().map(OrderId) {
        if current.is_none_or(|msg| msg.order_id != before) {
            emit(Topic::Conversation(before), None);
        }
    }
    if let Some(msg) = current {
        emit(Topic::Conversation(msg.order_id), Some(&to_raw_value(&msg.message())?));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use app::model::{Order, OrderSummary, Product, ProductSummary};
    use app::protocol::ServerMsg;

    use super::*;

    /// A product fact: it was listed in `left` (id, slug) before; `now` is its row.
    fn product_fact(seq: i64, op: FactOp, id: i64, left: Option<(i64, &str)>, now: Option<ProductRecord>) -> Fact {
        Fact {
            seq,
            kind: FactKind::Product,
            op,
            entity_id: id,
            parent_id: left.map(|l| l.0),
            parent_slug: left.map(|l| l.1.to_string()),
            product: now,
        }
    }

    fn fact(seq: i64, kind: FactKind, op: FactOp, id: i64, parent: Option<i64>) -> Fact {
        Fact { seq, kind, op, entity_id: id, parent_id: parent, parent_slug: None, product: None }
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
            questions: 0,
            answered: 0,
        }
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
        let fact = product_fact(10, FactOp::Change, 7, Some((2, "books")), Some(record(7, (2, "books"), false)));
        let items = map(&[fact], &Current::default());
        assert_eq!(
            shown(&items),
            [
                ("catalog".into(), "change"),
                ("category:books".into(), "change"),
                ("product:7".into(), "change"),
                ("card:7".into(), "change")
            ],
            "listed before and still there: no listing frame"
        );
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
        let fact = product_fact(11, FactOp::Change, 7, Some((2, "books")), Some(record(7, (3, "games"), false)));
        assert_eq!(
            shown(&map(&[fact], &Current::default())),
            [
                ("category:books".into(), "removed"),
                ("listing:books".into(), "removed"),
                ("catalog".into(), "change"),
                ("category:games".into(), "change"),
                ("product:7".into(), "change"),
                ("card:7".into(), "change"),
                ("listing:games".into(), "change"),
            ]
        );
        // New (or back from the archive): it joins both listings.
        let fact = product_fact(12, FactOp::Change, 9, None, Some(record(9, (3, "games"), false)));
        let joined: Vec<_> = shown(&map(&[fact], &Current::default())).into_iter().filter(|(t, _)| t.starts_with("listing")).collect();
        assert_eq!(joined, [("listing:games".into(), "change"), ("listing".into(), "change")]);
    }

    #[test]
    fn archiving_or_deleting_removes_it_everywhere_it_was_shown() {
        let removed = [
            ("category:books".into(), "removed"),
            ("listing:books".into(), "removed"),
            ("catalog".into(), "removed"),
            ("product:7".into(), "removed"),
            ("card:7".into(), "removed"),
            ("listing".into(), "removed"),
        ];
        let archived = || Some(record(7, (2, "books"), true));
        assert_eq!(shown(&map(&[product_fact(12, FactOp::Change, 7, Some((2, "books")), archived())], &Current::default())), removed);
        assert_eq!(shown(&map(&[product_fact(13, FactOp::Removed, 7, Some((2, "books")), None)], &Current::default())), removed);
        // An edit of a product that stays archived shows nowhere.
        assert!(map(&[product_fact(14, FactOp::Change, 7, None, archived())], &Current::default()).is_empty());
    }

    #[test]
    fn an_entity_changed_twice_in_a_batch_is_sent_once_at_its_last_seq_with_every_category_it_left() {
        // Moved books -> games (seq 10), another product changed (11), then its
        // price changed while in games (12): one set of frames at 12, and books
        // still hears that it left.
        let now = || Some(record(7, (3, "games"), false));
        let facts = [
            product_fact(10, FactOp::Change, 7, Some((2, "books")), now()),
            product_fact(11, FactOp::Change, 8, Some((2, "books")), Some(record(8, (2, "books"), false))),
            product_fact(12, FactOp::Change, 7, Some((3, "games")), now()),
        ];
        let items = map(&facts, &Current::default());
        let seqs: Vec<i64> = items
            .iter()
            .map(|i| match i {
                Published::Frame(f) => f.seq.0,
                Published::SignOut { seq, .. } => seq.0,
            })
            .collect();
        assert_eq!(seqs, [11, 11, 11, 11, 12, 12, 12, 12, 12, 12], "in seq order, product 7 once");
        assert_eq!(
            shown(&items)[4..],
            [
                ("category:books".into(), "removed"),
                ("listing:books".into(), "removed"),
                ("catalog".into(), "change"),
                ("category:games".into(), "change"),
                ("product:7".into(), "change"),
                ("card:7".into(), "change"),
            ]
        );
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
            recipient: "Ann Lee".into(),
            street: "1 Main St".into(),
            city: "Springfield".into(),
            region: "IL".into(),
            postal_code: "62701".into(),
            country: "United States".into(),
            items: 2,
            created_at: "2026-11-30T10:00:00Z".into(),
            updated_at: "2026-11-30T10:01:00Z".into(),
            paid_at: Some("2026-11-30T10:01:00Z".into()),
            shipped_at: None,
            delivered_at: None,
            cancelled_at: None,
            messages: 0,
            unread_by_customer: 0,
            unread_by_staff: 0,
            last_message_at: None,
            lines: Vec::new(),
        };
        let now = Current { orders: HashMap::from([(order.id, order)]), ..Current::default() };
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
        let gone = map(&[fact(22, FactKind::Order, FactOp::Removed, 5, Some(9))], &Current::default());
        assert_eq!(
            shown(&gone),
            [("orders:9".into(), "removed"), ("orders".into(), "removed"), ("order:5".into(), "removed"), ("inbox".into(), "removed")]
        );
    }

    #[test]
    fn messages_reach_their_conversation_only() {
        let record = MessageRecord {
            id: MessageId(4),
            order_id: OrderId(5),
            from_staff: true,
            author: "The shop".into(),
            body: "It ships today.".into(),
            sent_at: "2026-11-30T10:00:00Z".into(),
            read_at: None,
        };
        let now = Current { messages: HashMap::from([(record.id, record)]), ..Current::default() };
        let items = map(&[fact(40, FactKind::Message, FactOp::Change, 4, Some(5))], &now);
        assert_eq!(shown(&items), [("conversation:5".into(), "change")]);
        let Published::Frame(f) = &items[0] else { panic!() };
        let Ok(ServerMsg::Change { data, .. }) = serde_json::from_str::<ServerMsg>(&f.text) else { panic!() };
        let message: app::model::Message = serde_json::from_str(data.get()).expect("a Message");
        assert_eq!((message.from_staff, message.body.as_str()), (true, "It ships today."));
        let gone = map(&[fact(41, FactKind::Message, FactOp::Removed, 4, Some(5))], &Current::default());
        assert_eq!(shown(&gone), [("conversation:5".into(), "removed")]);
    }

    #[test]
    fn questions_reach_their_product_and_the_staff_queue_and_leave_both_when_deleted() {
        let record = QuestionRecord {
            id: QuestionId(3),
            product_id: ProductId(7),
            product_name: "Tea".into(),
            author: "Ann".into(),
            author_hidden: false,
            body: "Loose leaf?".into(),
            votes: 2,
            asked_at: "2026-11-30T10:00:00Z".into(),
            answer: None,
            answered_at: None,
        };
        let now = Current { questions: HashMap::from([(record.id, record)]), ..Current::default() };
        let items = map(&[fact(30, FactKind::Question, FactOp::Change, 3, Some(7))], &now);
        assert_eq!(shown(&items), [("questions:7".into(), "change"), ("questions".into(), "change")]);
        let Published::Frame(f) = &items[0] else { panic!() };
        let Ok(ServerMsg::Change { data, .. }) = serde_json::from_str::<ServerMsg>(&f.text) else { panic!() };
        let question: app::model::Question = serde_json::from_str(data.get()).expect("a Question");
        assert_eq!((question.votes, question.author.as_str()), (2, "Ann"));
        // Moved to another product by an outside writer: gone from the first.
        let moved = map(&[fact(31, FactKind::Question, FactOp::Change, 3, Some(5))], &now);
        assert_eq!(shown(&moved)[0], ("questions:5".into(), "removed"));
        let gone = map(&[fact(32, FactKind::Question, FactOp::Removed, 3, Some(7))], &Current::default());
        assert_eq!(shown(&gone), [("questions:7".into(), "removed"), ("questions".into(), "removed")]);
    }
}
