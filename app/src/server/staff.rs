//! What staff do to the catalog and the orders, checked and typed. The console's
//! server functions and the JSON API both come through here, so a rule holds for
//! both; every write goes through the same tables and triggers as a purchase, so
//! shoppers see it live.

use anyhow::Context as _;

use super::Db;
use super::db::{MoveOutcome, ProductRow, StockOutcome};
use crate::error::AppError;
use crate::model::{
    CategorySlug, Currency, Money, Order, OrderId, OrderStatus, OrderSummary, Product, ProductDraft, ProductId,
    ProductSummary, StaffProduct,
};

fn internal(err: anyhow::Error) -> AppError {
    AppError::internal(err)
}

fn product_not_found(id: ProductId) -> AppError {
    AppError::NotFound(format!("Product {id}"))
}

fn to_staff_product(row: ProductRow) -> Result<StaffProduct, AppError> {
    let currency = match row.currency.as_str() {
        "EUR" => Currency::EUR,
        _ => Currency::USD,
    };
    let category = CategorySlug::parse(&row.category).context("a stored category slug").map_err(internal)?;
    Ok(StaffProduct {
        product: Product {
            summary: ProductSummary {
                id: ProductId(row.id),
                name: row.name,
                category,
                price: Money::new(row.price_cents, currency),
                stock: row.stock,
                units_sold: row.units_sold,
                image: row.image,
            },
            description: row.description,
        },
        archived: row.archived,
    })
}

fn validated(draft: &ProductDraft) -> Result<ProductDraft, AppError> {
    draft.validated().map_err(|(field, message)| AppError::validation(field, message))
}

fn no_category(slug: &str) -> AppError {
    AppError::validation("category", format!("there is no category '{slug}'"))
}

/// Every product, archived ones too, by name.
pub async fn list_products(db: &Db) -> Result<Vec<StaffProduct>, AppError> {
    db.staff_products().await.map_err(internal)?.into_iter().map(to_staff_product).collect()
}

pub async fn get_product(db: &Db, id: ProductId) -> Result<StaffProduct, AppError> {
    match db.staff_product(id.0).await.map_err(internal)? {
        Some(row) => to_staff_product(row),
        None => Err(product_not_found(id)),
    }
}

pub async fn create_product(db: &Db, draft: &ProductDraft) -> Result<StaffProduct, AppError> {
    let draft = validated(draft)?;
    match db.create_product(&draft).await.map_err(internal)? {
        Some(id) => get_product(db, ProductId(id)).await,
        None => Err(no_category(&draft.category)),
    }
}

pub async fn update_product(db: &Db, id: ProductId, draft: &ProductDraft) -> Result<StaffProduct, AppError> {
    let draft = validated(draft)?;
    match db.update_product(id.0, &draft).await.map_err(internal)? {
        Ok(true) => get_product(db, id).await,
        Ok(false) => Err(product_not_found(id)),
        Err(()) => Err(no_category(&draft.category)),
    }
}

/// Set the stock (`Stock::Set`) or change it by a delta (`Stock::Adjust`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stock {
    Set(i64),
    Adjust(i64),
}

pub async fn change_stock(db: &Db, id: ProductId, change: Stock) -> Result<StaffProduct, AppError> {
    let (value, set) = match change {
        Stock::Set(n) => (n, true),
        Stock::Adjust(0) => return Err(AppError::validation("delta", "must not be 0")),
        // Beyond the stock range whatever the stock is (and safe from overflow in SQL).
        Stock::Adjust(n) if n.unsigned_abs() > ProductDraft::MAX_STOCK.unsigned_abs() => {
            return Err(AppError::validation("delta", format!("must be between -{max} and {max}", max = ProductDraft::MAX_STOCK)));
        }
        Stock::Adjust(n) => (n, false),
    };
    match db.change_stock(id.0, value, set, ProductDraft::MAX_STOCK).await.map_err(internal)? {
        StockOutcome::Set(_) => get_product(db, id).await,
        StockOutcome::NoSuchProduct => Err(product_not_found(id)),
        StockOutcome::OutOfRange { current } => {
            let would_be = if set { Some(value) } else { current.checked_add(value) };
            let message = match would_be {
                Some(n) if n < 0 => format!("stock cannot go below 0 (it is {current}; this would make it {n})"),
                _ => format!("stock cannot exceed {} (it is {current})", ProductDraft::MAX_STOCK),
            };
            Err(AppError::validation(if set { "stock" } else { "delta" }, message))
        }
    }
}

/// Archive (hide from the catalog, stop sales) or bring back a product.
pub async fn set_archived(db: &Db, id: ProductId, archived: bool) -> Result<StaffProduct, AppError> {
    if db.set_archived(id.0, archived).await.map_err(internal)? {
        get_product(db, id).await
    } else {
        Err(product_not_found(id))
    }
}

fn category_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(AppError::validation("name", "name must be 1 to 80 characters"));
    }
    Ok(name.to_string())
}

pub async fn create_category(db: &Db, slug: &str, name: &str) -> Result<CategorySlug, AppError> {
    let slug = CategorySlug::parse(slug.trim()).map_err(|e| AppError::validation("slug", e.to_string()))?;
    let name = category_name(name)?;
    if db.create_category(slug.as_str(), &name).await.map_err(internal)? {
        Ok(slug)
    } else {
        Err(AppError::Conflict(format!("a category '{slug}' already exists")))
    }
}

pub async fn rename_category(db: &Db, slug: &CategorySlug, name: &str) -> Result<(), AppError> {
    let name = category_name(name)?;
    if db.rename_category(slug.as_str(), &name).await.map_err(internal)? {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("Category {slug}")))
    }
}

/// How many orders the staff list and the `orders` topic's snapshot hold.
pub const ORDER_LIST_LIMIT: i64 = 200;

/// Every customer's newest orders, optionally in one status.
pub async fn list_orders(db: &Db, status: Option<OrderStatus>, limit: i64) -> Result<Vec<OrderSummary>, AppError> {
    let json = db.all_orders_json(status.map(OrderStatus::as_str), limit.clamp(1, 1000)).await.map_err(internal)?;
    serde_json::from_str(&json).context("decoding order summaries").map_err(internal)
}

pub async fn get_order(db: &Db, id: OrderId) -> Result<Order, AppError> {
    super::queries::orders::get(db, id).await.map_err(internal)?.ok_or_else(|| AppError::NotFound(format!("Order {id}")))
}

/// Move an order to `to`. Illegal moves are refused with what is allowed instead.
pub async fn move_order(db: &Db, id: OrderId, to: OrderStatus) -> Result<Order, AppError> {
    match db.move_order(id.0, to).await.map_err(internal)? {
        MoveOutcome::Moved => get_order(db, id).await,
        MoveOutcome::NoSuchOrder => Err(AppError::NotFound(format!("Order {id}"))),
        MoveOutcome::Illegal { from } => {
            let allowed: Vec<&str> = from.next().iter().map(|s| s.as_str()).collect();
            let hint = if allowed.is_empty() {
                format!("a {} order is final", from.as_str())
            } else {
                format!("from {} it can move to {}", from.as_str(), allowed.join(" or "))
            };
            Err(AppError::Conflict(format!("order {id} is {}; it cannot move to {} ({hint})", from.as_str(), to.as_str())))
        }
    }
}
