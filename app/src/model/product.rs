use serde::{Deserialize, Serialize};

use super::{CategorySlug, Money, ProductId};

/// What a catalog card shows. Sent on the `catalog` and `category:{slug}` topics.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProductSummary {
    pub id: ProductId,
    pub name: String,
    pub category: CategorySlug,
    pub price: Money,
    pub stock: i64,
    pub units_sold: i64,
    /// Path of the product image under the site root, e.g. `/images/p/headphones.svg`.
    pub image: String,
}

/// One product in full. Sent on the `product:{id}` topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Product {
    #[serde(flatten)]
    pub summary: ProductSummary,
    pub description: String,
}

/// A product category.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Category {
    pub slug: CategorySlug,
    pub name: String,
}

/// An item of a live collection: how it is identified and ordered.
pub trait Keyed {
    fn key(&self) -> i64;
    fn sort_key(&self) -> String;
}

impl Keyed for ProductSummary {
    fn key(&self) -> i64 {
        self.id.0
    }
    fn sort_key(&self) -> String {
        self.name.to_lowercase()
    }
}
