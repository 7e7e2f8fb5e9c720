//! Who may follow which topic.

use app::model::CustomerId;
use app::protocol::{ErrorCode, Topic};
use app::server::Viewer;

/// Whether `viewer` may subscribe to `topic`. For `order:{id}` and
/// `conversation:{id}` the caller looks up the order's customer (`None`: no such order, which is refused the same way,
/// so ids of other customers' orders reveal nothing).
pub fn may_subscribe(viewer: &Viewer, topic: &Topic, order_owner: Option<CustomerId>) -> Result<(), ErrorCode> {
    match (viewer, topic) {
        (_, topic) if topic.is_public() => Ok(()),
        // Staff follow everything.
        (Viewer::Staff(_), _) => Ok(()),
        (Viewer::Customer(me), Topic::Orders(customer)) if me == customer => Ok(()),
        (Viewer::Customer(me), Topic::Order(_) | Topic::Conversation(_)) if order_owner.as_ref() == Some(me) => Ok(()),
        // Every other topic is private.
        (Viewer::Anonymous | Viewer::Customer(_), _) => Err(ErrorCode::Forbidden),
    }
}

#[cfg(test)]
mod tests {
    use app::model::{CategorySlug, OrderId, ProductId};

    use super::*;

    #[test]
    fn the_authorisation_table_holds() {
        let alice = CustomerId(1);
        let bob = CustomerId(2);
        let slug = CategorySlug::parse("home").expect("slug");
        let public = [
            Topic::Catalog,
            Topic::Category(slug.clone()),
            Topic::Product(ProductId(3)),
            Topic::Card(ProductId(3)),
            Topic::Listing(None),
            Topic::Listing(Some(slug)),
            Topic::Questions(ProductId(3)),
            Topic::Presence(ProductId(3)),
            Topic::Carts(ProductId(3)),
        ];
        for viewer in [Viewer::Anonymous, Viewer::Customer(alice), Viewer::Staff(bob)] {
            for topic in &public {
                assert_eq!(may_subscribe(&viewer, topic, None), Ok(()), "{viewer:?} {topic}");
            }
        }
        let order = Topic::Order(OrderId(5));
        let cases = [
            (Viewer::Anonymous, Topic::Orders(alice), None, Err(ErrorCode::Forbidden)),
            (Viewer::Anonymous, order.clone(), Some(alice), Err(ErrorCode::Forbidden)),
            (Viewer::Customer(alice), Topic::Orders(alice), None, Ok(())),
            (Viewer::Customer(alice), Topic::Orders(bob), None, Err(ErrorCode::Forbidden)),
            (Viewer::Customer(alice), order.clone(), Some(alice), Ok(())),
            (Viewer::Customer(alice), order.clone(), Some(bob), Err(ErrorCode::Forbidden)),
            (Viewer::Customer(alice), order.clone(), None, Err(ErrorCode::Forbidden)),
            (Viewer::Staff(bob), Topic::Orders(alice), None, Ok(())),
            (Viewer::Staff(bob), Topic::AllOrders, None, Ok(())),
            (Viewer::Customer(alice), Topic::AllOrders, None, Err(ErrorCode::Forbidden)),
            (Viewer::Anonymous, Topic::AllOrders, None, Err(ErrorCode::Forbidden)),
            (Viewer::Staff(bob), order, Some(alice), Ok(())),
            (Viewer::Staff(bob), Topic::QuestionQueue, None, Ok(())),
            (Viewer::Customer(alice), Topic::QuestionQueue, None, Err(ErrorCode::Forbidden)),
            (Viewer::Anonymous, Topic::QuestionQueue, None, Err(ErrorCode::Forbidden)),
            (Viewer::Customer(alice), Topic::Conversation(OrderId(5)), Some(alice), Ok(())),
            (Viewer::Customer(alice), Topic::Conversation(OrderId(5)), Some(bob), Err(ErrorCode::Forbidden)),
            (Viewer::Anonymous, Topic::Conversation(OrderId(5)), Some(alice), Err(ErrorCode::Forbidden)),
            (Viewer::Staff(bob), Topic::Conversation(OrderId(5)), Some(alice), Ok(())),
            (Viewer::Staff(bob), Topic::Inbox, None, Ok(())),
            (Viewer::Customer(alice), Topic::Inbox, None, Err(ErrorCode::Forbidden)),
            (Viewer::Staff(bob), Topic::Staff, None, Ok(())),
            (Viewer::Customer(alice), Topic::Staff, None, Err(ErrorCode::Forbidden)),
        ];
        for (viewer, topic, owner, expected) in cases {
            assert_eq!(may_subscribe(&viewer, &topic, owner), expected, "{viewer:?} {topic} {owner:?}");
        }
    }
}
