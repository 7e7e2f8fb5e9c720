use anyhow::Context as _;

use crate::model::{Category, CategorySlug, Product, ProductId, ProductSummary};
use crate::protocol::Topic;
use crate::server::Db;
use crate::server::db::ProductRecord;

pub async fn list_categories(db: &Db) -> anyhow::Result<Vec<Category>> {
    let rows = db.categories().await?;
    rows.into_iter().map(|(slug, name)| Ok(Category { slug: CategorySlug::parse(&slug)?, name })).collect()
}

/// Products on sale as summaries, by name; one category's when `category` is given.
pub async fn list_products(db: &Db, category: Option<&CategorySlug>) -> anyhow::Result<Vec<ProductSummary>> {
    db.products(category.map(CategorySlug::as_str)).await?.iter().map(ProductRecord::summary).collect()
}

/// A product on sale (an archived one is not: `None`).
pub async fn get_product(db: &Db, id: ProductId) -> anyhow::Result<Option<Product>> {
    db.product(id).await?.filter(|p| !p.archived).as_ref().map(ProductRecord::product).transpose()
}

pub async fn category_exists(db: &Db, slug: &CategorySlug) -> anyhow::Result<bool> {
    db.category_exists(slug.as_str()).await
}

/// The full state of a topic as the JSON its snapshot frame carries, or
/// `None` when the topic names nothing that exists.
pub async fn topic_snapshot_json(db: &Db, topic: &Topic) -> anyhow::Result<Option<String>> {
    fn json(value: &impl serde::Serialize) -> anyhow::Result<Option<String>> {
        serde_json::to_string(value).context("encoding a snapshot").map(Some)
    }
    match topic {
        Topic::Catalog => json(&list_products(db, None).await?),
        Topic::Category(slug) => {
            if db.category_exists(slug.as_str()).await? {
                json(&list_products(db, Some(slug)).await?)
            } else {
                Ok(None)
            }
        }
        Topic::Product(id) => match get_product(db, *id).await? {
            Some(product) => json(&product),
            None => Ok(None),
        },
        Topic::Card(id) => match get_product(db, *id).await? {
            Some(product) => json(&product.summary),
            None => Ok(None),
        },
        Topic::Listing(category) => {
            if let Some(slug) = category
                && !db.category_exists(slug.as_str()).await?
            {
                return Ok(None);
            }
            json(&db.listed_count(category.as_ref().map(CategorySlug::as_str)).await?)
        }
        Topic::Orders(customer) => json(&super::orders::list_for_customer(db, *customer).await?),
        Topic::AllOrders => json(&super::orders::list_all(db, None, crate::server::staff::ORDER_LIST_LIMIT).await?),
        Topic::Order(id) => match super::orders::get(db, *id).await? {
            Some(order) => json(&order),
            None => Ok(None),
        },
        Topic::Questions(product) => match super::questions::board(db, *product).await? {
            Some(questions) => json(&questions),
            None => Ok(None),
        },
        Topic::QuestionQueue => json(&super::questions::queue(db).await?),
        Topic::Conversation(order) => match super::conversations::latest(db, *order).await? {
            Some(messages) => json(&messages),
            None => Ok(None),
        },
        Topic::Inbox => json(&super::conversations::inbox(db).await?),
        // Figures that live in the hub: the socket answers these itself.
        Topic::Staff => json(&crate::protocol::PresenceFigure::default()),
        // A cart may hold a product taken off sale since: still counted, never refused.
        Topic::Carts(_) => json(&crate::protocol::PresenceFigure::default()),
        Topic::Presence(product) => match get_product(db, *product).await? {
            Some(_) => json(&crate::protocol::PresenceFigure::default()),
            None => Ok(None),
        },
    }
}

/// Whether a topic names something that exists (cheaper than its snapshot).
pub async fn topic_exists(db: &Db, topic: &Topic) -> anyhow::Result<bool> {
    match topic {
        Topic::Catalog => Ok(true),
        Topic::Category(slug) => db.category_exists(slug.as_str()).await,
        Topic::Product(id) | Topic::Card(id) => Ok(get_product(db, *id).await?.is_some()),
        Topic::Listing(None) => Ok(true),
        Topic::Listing(Some(slug)) => db.category_exists(slug.as_str()).await,
        Topic::Orders(customer) => Ok(db.user_by_id(*customer).await?.is_some()),
        Topic::AllOrders => Ok(true),
        Topic::Order(id) => Ok(db.order_owner(*id).await?.is_some()),
        Topic::Carts(_) => Ok(true),
        Topic::Questions(product) | Topic::Presence(product) => Ok(get_product(db, *product).await?.is_some()),
        Topic::QuestionQueue | Topic::Inbox | Topic::Staff => Ok(true),
        Topic::Conversation(order) => Ok(db.order_owner(*order).await?.is_some()),
    }
}
