use std::fmt;

use serde::{Deserialize, Serialize};

use super::{ConversationCounts, CustomerId, Keyed, Money, OrderId, ProductId};

/// Where an order is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum OrderStatus {
    Placed,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] =
        [OrderStatus::Placed, OrderStatus::Paid, OrderStatus::Shipped, OrderStatus::Delivered, OrderStatus::Cancelled];

    /// The name on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Paid => "paid",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// The statuses an order may move to from `self`: placed → paid → shipped →
    /// delivered, and cancelled from placed or paid.
    pub fn next(self) -> &'static [OrderStatus] {
        match self {
            OrderStatus::Placed => &[OrderStatus::Paid, OrderStatus::Cancelled],
            OrderStatus::Paid => &[OrderStatus::Shipped, OrderStatus::Cancelled],
            OrderStatus::Shipped => &[OrderStatus::Delivered],
            OrderStatus::Delivered | OrderStatus::Cancelled => &[],
        }
    }

    /// The statuses an order may reach `self` from.
    pub fn previous(self) -> Vec<OrderStatus> {
        Self::ALL.into_iter().filter(|s| s.next().contains(&self)).collect()
    }

    pub fn can_move_to(self, to: OrderStatus) -> bool {
        self.next().contains(&to)
    }

    /// What staff press to move an order here.
    pub fn action(self) -> &'static str {
        match self {
            OrderStatus::Placed => "Place",
            OrderStatus::Paid => "Mark paid",
            OrderStatus::Shipped => "Ship",
            OrderStatus::Delivered => "Mark delivered",
            OrderStatus::Cancelled => "Cancel",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::Placed => "Placed",
            OrderStatus::Paid => "Paid",
            OrderStatus::Shipped => "Shipped",
            OrderStatus::Delivered => "Delivered",
            OrderStatus::Cancelled => "Cancelled",
        }
    }
}

impl std::str::FromStr for OrderStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            format!("unknown status '{}' (expected placed, paid, shipped, delivered or cancelled)", s.chars().take(40).collect::<String>())
        })
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A delivery address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Address {
    /// Whom to deliver to (empty on orders placed before it was asked).
    #[serde(default)]
    pub name: String,
    pub street: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    /// Empty on orders placed before it was asked.
    #[serde(default)]
    pub country: String,
}

impl Address {
    pub const MAX_FIELD: usize = 200;

    /// Trimmed, every field present and not over-long; the first problem otherwise.
    pub fn validated(&self) -> Result<Address, (&'static str, String)> {
        let mut out = Address::default();
        for (field, label, value, slot) in [
            ("name", "Full name", &self.name, &mut out.name),
            ("street", "Street", &self.street, &mut out.street),
            ("city", "City", &self.city, &mut out.city),
            ("region", "Region", &self.region, &mut out.region),
            ("postal_code", "Postal code", &self.postal_code, &mut out.postal_code),
            ("country", "Country", &self.country, &mut out.country),
        ] {
            let v = value.trim();
            if v.is_empty() {
                return Err((field, format!("{label} is required")));
            }
            if v.chars().count() > Self::MAX_FIELD {
                return Err((field, format!("{label} is over {} characters", Self::MAX_FIELD)));
            }
            if super::has_control(v, false) {
                return Err((field, format!("{label} must be plain text on one line")));
            }
            *slot = v.to_string();
        }
        Ok(out)
    }
}

/// One line of an order, with the name and unit price as sold.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderLine {
    pub product_id: ProductId,
    pub name: String,
    pub unit_price: Money,
    pub quantity: i64,
    pub line_total: Money,
}

/// What the order list shows. Sent on `orders:{customer}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderSummary {
    pub id: OrderId,
    pub status: OrderStatus,
    pub total: Money,
    /// Units over all lines.
    pub items: i64,
    /// The customer's username (staff see every customer's orders).
    #[serde(default)]
    pub customer: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Its conversation's counts (unread messages on each side).
    pub conversation: ConversationCounts,
}

/// One order in full. Sent on `order:{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Order {
    pub id: OrderId,
    pub customer_id: CustomerId,
    pub status: OrderStatus,
    pub total: Money,
    pub address: Address,
    pub lines: Vec<OrderLine>,
    pub created_at: String,
    pub updated_at: String,
    /// When each later step of the lifecycle happened (RFC 3339, UTC).
    #[serde(default)]
    pub paid_at: Option<String>,
    #[serde(default)]
    pub shipped_at: Option<String>,
    #[serde(default)]
    pub delivered_at: Option<String>,
    #[serde(default)]
    pub cancelled_at: Option<String>,
    /// Its conversation's counts (unread messages on each side).
    pub conversation: ConversationCounts,
}

impl Order {
    /// The steps the order went through, oldest first, with when they happened.
    pub fn timeline(&self) -> Vec<(OrderStatus, String)> {
        let steps = [
            (OrderStatus::Placed, Some(&self.created_at)),
            (OrderStatus::Paid, self.paid_at.as_ref()),
            (OrderStatus::Shipped, self.shipped_at.as_ref()),
            (OrderStatus::Delivered, self.delivered_at.as_ref()),
            (OrderStatus::Cancelled, self.cancelled_at.as_ref()),
        ];
        steps.into_iter().filter_map(|(status, at)| at.map(|at| (status, at.clone()))).collect()
    }
}

impl Keyed for OrderSummary {
    type Sort = std::cmp::Reverse<i64>;
    fn key(&self) -> i64 {
        self.id.0
    }
    /// Newest first.
    fn sort_key(&self) -> Self::Sort {
        std::cmp::Reverse(self.id.0)
    }
}

/// A line of a cart being checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CartLine {
    pub product_id: ProductId,
    pub quantity: i64,
}

impl CartLine {
    pub const MAX_QUANTITY: i64 = 99;
}

/// The signed-in user, as the browser sees them (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct User {
    pub id: CustomerId,
    pub username: String,
    pub is_staff: bool,
    pub address: Option<Address>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_need_every_field() {
        let a = Address {
            name: " Ann Lee ".into(),
            street: " 1 Main St ".into(),
            city: "Springfield".into(),
            region: "IL".into(),
            postal_code: "62701".into(),
            country: "United States".into(),
        };
        assert_eq!(a.validated().map(|a| (a.name, a.street)), Ok(("Ann Lee".to_string(), "1 Main St".to_string())));
        let nameless = Address { name: String::new(), ..a.clone() };
        assert_eq!(nameless.validated().map_err(|e| e.1), Err("Full name is required".to_string()));
        let no_country = Address { country: " ".into(), ..a.clone() };
        assert_eq!(no_country.validated().map_err(|e| e.0), Err("country"));
        let missing = Address { city: " ".into(), ..a.clone() };
        assert_eq!(missing.validated().map_err(|e| e.0), Err("city"));
        let nul = Address { street: "1 Main\0St".into(), ..a.clone() };
        assert_eq!(nul.validated().map_err(|e| e.0), Err("street"));
        let long = Address { region: "x".repeat(201), ..a };
        assert_eq!(long.validated().map_err(|e| e.0), Err("region"));
    }

    #[test]
    fn order_summaries_sort_newest_first() {
        let s = |id| OrderSummary {
            id: OrderId(id),
            status: OrderStatus::Placed,
            total: Money::usd(0),
            items: 1,
            customer: String::new(),
            created_at: String::new(),
            conversation: ConversationCounts::default(),
        };
        assert!(s(10).sort_key() < s(9).sort_key());
    }

    #[test]
    fn the_lifecycle_only_moves_forward() {
        use OrderStatus::*;
        let legal = [(Placed, Paid), (Placed, Cancelled), (Paid, Shipped), (Paid, Cancelled), (Shipped, Delivered)];
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                assert_eq!(from.can_move_to(to), legal.contains(&(from, to)), "{from} -> {to}");
            }
        }
        assert_eq!(Cancelled.previous(), vec![Placed, Paid]);
        assert_eq!("shipped".parse::<OrderStatus>(), Ok(Shipped));
        assert!("lost".parse::<OrderStatus>().is_err());
    }
}
