use anyhow::Context as _;

use crate::model::{Category, CategorySlug, Product, ProductId, ProductSummary};
use crate::protocol::Topic;
use crate::server::Db;

pub async fn list_categories(db: &Db) -> anyhow::Result<Vec<Category>> {
    let rows = db.categories().await?;
    rows.into_iter().map(|(slug, name)| Ok(Category { slug: CategorySlug::parse(&slug)?, name })).collect()
}

/// Products as summaries, by name; one category's when `category` is given.
pub async fn list_products(db: &Db, category: Option<&CategorySlug>) -> anyhow::Result<Vec<ProductSummary>> {
    let json = db.products_json(category.map(CategorySlug::as_str)).await?;
    serde_json::from_str(&json).context("decoding product summaries")
}

pub async fn get_product(db: &Db, id: ProductId) -> anyhow::Result<Option<Product>> {
    match db.product_json(id.0).await? {
        None => Ok(None),
        Some(json) => serde_json::from_str(&json).context("decoding a product").map(Some),
    }
}

pub async fn category_exists(db: &Db, slug: &CategorySlug) -> anyhow::Result<bool> {
    db.category_exists(slug.as_str()).await
}

/// The full state of a topic as the JSON its snapshot frame carries, or
/// `None` when the topic names nothing that exists.
pub async fn topic_snapshot_json(db: &Db, topic: &Topic) -> anyhow::Result<Option<String>> {
    match topic {
        Topic::Catalog => db.products_json(None).await.map(Some),
        Topic::Category(slug) => {
            if db.category_exists(slug.as_str()).await? {
                db.products_json(Some(slug.as_str())).await.map(Some)
            } else {
                Ok(None)
            }
        }
        Topic::Product(id) => db.product_json(id.0).await,
        Topic::Orders(customer) => db.orders_json(customer.0).await.map(Some),
        Topic::AllOrders => db.all_orders_json(None, crate::server::staff::ORDER_LIST_LIMIT).await.map(Some),
        Topic::Order(id) => db.order_json(id.0).await,
    }
}

/// Whether a topic names something that exists (cheaper than its snapshot).
pub async fn topic_exists(db: &Db, topic: &Topic) -> anyhow::Result<bool> {
    match topic {
        Topic::Catalog => Ok(true),
        Topic::Category(slug) => db.category_exists(slug.as_str()).await,
        Topic::Product(id) => Ok(db.product_json(id.0).await?.is_some()),
        Topic::Orders(customer) => Ok(db.user_by_id(customer.0).await?.is_some()),
        Topic::AllOrders => Ok(true),
        Topic::Order(id) => Ok(db.order_owner(id.0).await?.is_some()),
    }
}
