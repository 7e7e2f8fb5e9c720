//! Who may follow which topic.

use app::protocol::{ErrorCode, Topic};
use app::server::Viewer;

/// Whether `viewer` may subscribe to `topic`.
pub fn may_subscribe(viewer: &Viewer, topic: &Topic) -> Result<(), ErrorCode> {
    match (viewer, topic) {
        (_, Topic::Catalog | Topic::Category(_) | Topic::Product(_)) => Ok(()),
        (Viewer::Staff(_), Topic::Orders(_) | Topic::Order(_)) => Ok(()),
        (Viewer::Customer(me), Topic::Orders(owner)) if me == owner => Ok(()),
        // Whether an order is the customer's own is decided against the database
        // when the order topics land; until then no customer may follow one.
        (Viewer::Anonymous | Viewer::Customer(_), Topic::Orders(_) | Topic::Order(_)) => Err(ErrorCode::Forbidden),
    }
}

#[cfg(test)]
mod tests {
    use app::model::{CategorySlug, CustomerId, OrderId, ProductId};

    use super::*;

    #[test]
    fn the_authorisation_table_holds() {
        let alice = CustomerId(1);
        let bob = CustomerId(2);
        let slug = CategorySlug::parse("home").expect("slug");
        let public = [Topic::Catalog, Topic::Category(slug), Topic::Product(ProductId(3))];
        for viewer in [Viewer::Anonymous, Viewer::Customer(alice), Viewer::Staff(bob)] {
            for topic in &public {
                assert_eq!(may_subscribe(&viewer, topic), Ok(()), "{viewer:?} {topic}");
            }
        }
        let cases = [
            (Viewer::Anonymous, Topic::Orders(alice), Err(ErrorCode::Forbidden)),
            (Viewer::Anonymous, Topic::Order(OrderId(5)), Err(ErrorCode::Forbidden)),
            (Viewer::Customer(alice), Topic::Orders(alice), Ok(())),
            (Viewer::Customer(alice), Topic::Orders(bob), Err(ErrorCode::Forbidden)),
            (Viewer::Staff(bob), Topic::Orders(alice), Ok(())),
            (Viewer::Staff(bob), Topic::Order(OrderId(5)), Ok(())),
        ];
        for (viewer, topic, expected) in cases {
            assert_eq!(may_subscribe(&viewer, &topic), expected, "{viewer:?} {topic}");
        }
    }
}
