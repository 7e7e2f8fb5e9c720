//! What staff do to the catalog and the orders, checked and typed. The console's
//! server functions and the JSON API both come through here, so a rule holds for
//! both; every write goes through the same tables and triggers as a purchase, so
//! shoppers see it live.

use super::Db;
pub use super::db::ProductEdit;
use super::db::{Created, EditOutcome, MoveOutcome, StockOutcome};
use crate::error::AppError;
use crate::model::{CategorySlug, Order, OrderId, OrderStatus, OrderSummary, ProductDraft, ProductId, StaffProduct};

/// Set the stock (`Stock::Set`) or change it by a delta (`Stock::Adjust`).
pub use super::db::StockChange as Stock;

fn internal(err: anyhow::Error) -> AppError {
    AppError::internal(err)
}

fn product_not_found(id: ProductId) -> AppError {
    AppError::NotFound(format!("Product {id}"))
}

fn validated(draft: &ProductDraft) -> Result<ProductDraft, AppError> {
    check(draft.validated())
}

fn no_category(slug: &str) -> AppError {
    AppError::validation("category", format!("there is no category '{slug}'"))
}

/// Every product, archived ones too, by name.
pub async fn list_products(db: &Db) -> Result<Vec<StaffProduct>, AppError> {
    db.all_products().await.map_err(internal)?.iter().map(|p| p.staff().map_err(internal)).collect()
}

pub async fn get_product(db: &Db, id: ProductId) -> Result<StaffProduct, AppError> {
    match db.product(id).await.map_err(internal)? {
        Some(row) => row.staff().map_err(internal),
        None => Err(product_not_found(id)),
    }
}

pub async fn create_product(db: &Db, draft: &ProductDraft) -> Result<StaffProduct, AppError> {
    let draft = validated(draft)?;
    match db.create_product(&draft).await.map_err(internal)? {
        Created::Created(id) => get_product(db, id).await,
        Created::Refused => Err(no_category(&draft.category)),
    }
}

/// A staff edit as asked for, checked field by field: `None` leaves a field as
/// it is; the version is the one the editor read (`None`: whatever is there,
/// safe since only the named fields are written).
fn checked(edit: ProductEdit) -> Result<ProductEdit, AppError> {
    let stock = match edit.stock {
        Some(Stock::Adjust(0)) | None => None,
        Some(Stock::Set(n)) => Some(Stock::Set(crate::model::check_stock(n).map_err(|m| AppError::validation("stock", m))?)),
        Some(Stock::Adjust(n)) => Some(Stock::Adjust(check_delta(n)?)),
    };
    Ok(ProductEdit {
        name: edit.name.as_deref().map(ProductDraft::check_name).map(check).transpose()?,
        description: edit.description.as_deref().map(ProductDraft::check_description).map(check).transpose()?,
        category: edit.category.as_deref().map(ProductDraft::check_category).map(check).transpose()?,
        price_minor: edit.price_minor.map(ProductDraft::check_price).map(check).transpose()?,
        image: edit.image.as_deref().map(ProductDraft::check_image).map(check).transpose()?,
        stock,
        ..edit
    })
}

/// A field's check, as the error staff see.
fn check<T>(checked: Result<T, (&'static str, String)>) -> Result<T, AppError> {
    checked.map_err(|(field, message)| AppError::validation(field, message))
}

fn check_delta(n: i64) -> Result<i64, AppError> {
    // Beyond the stock range whatever the stock is (and safe from overflow in SQL).
    if n.unsigned_abs() > ProductDraft::MAX_STOCK.unsigned_abs() {
        return Err(AppError::validation("delta", format!("must be between -{max} and {max}", max = ProductDraft::MAX_STOCK)));
    }
    Ok(n)
}

/// Change a product: the named fields, its archived state and its stock, in one
/// transaction, all or nothing. An edit based on an older version is refused
/// with 409 (`Conflict`) and writes nothing.
pub async fn edit_product(db: &Db, id: ProductId, edit: ProductEdit) -> Result<StaffProduct, AppError> {
    let stock_field = if matches!(edit.stock, Some(Stock::Set(_))) { "stock" } else { "delta" };
    let edit = checked(edit)?;
    match db.edit_product(id, &edit, ProductDraft::MAX_STOCK).await.map_err(internal)? {
        EditOutcome::Edited => get_product(db, id).await,
        EditOutcome::NoSuchProduct => Err(product_not_found(id)),
        EditOutcome::NoSuchCategory => Err(no_category(edit.category.as_deref().unwrap_or_default())),
        EditOutcome::Stale { current } => Err(stale(id, edit.expected_version.unwrap_or_default(), current)),
        EditOutcome::StockOutOfRange { current } => Err(stock_out_of_range(stock_field, edit.stock, current)),
    }
}

fn stale(id: ProductId, seen: i64, current: i64) -> AppError {
    AppError::Conflict(format!(
        "Someone else changed product {id} after you opened it (you edited version {seen}; it is now version {current}). \
         Nothing was saved. Look at their changes, then save again to apply yours."
    ))
}

fn stock_out_of_range(field: &str, change: Option<Stock>, current: i64) -> AppError {
    let would_be = match change {
        Some(Stock::Set(n)) => Some(n),
        Some(Stock::Adjust(n)) => current.checked_add(n),
        None => None,
    };
    let message = match would_be {
        Some(n) if n < 0 => format!("stock cannot go below 0 (it is {current}; this would make it {n})"),
        _ => format!("stock cannot exceed {} (it is {current})", ProductDraft::MAX_STOCK),
    };
    AppError::validation(field, message)
}

pub async fn change_stock(db: &Db, id: ProductId, change: Stock) -> Result<StaffProduct, AppError> {
    let change = match change {
        Stock::Set(n) => Stock::Set(n),
        Stock::Adjust(0) => return Err(AppError::validation("delta", "must not be 0")),
        Stock::Adjust(n) => Stock::Adjust(check_delta(n)?),
    };
    let field = if matches!(change, Stock::Set(_)) { "stock" } else { "delta" };
    match db.change_stock(id, change, ProductDraft::MAX_STOCK).await.map_err(internal)? {
        StockOutcome::Set(_) => get_product(db, id).await,
        StockOutcome::NoSuchProduct => Err(product_not_found(id)),
        StockOutcome::OutOfRange { current } => Err(stock_out_of_range(field, Some(change), current)),
    }
}

/// Archive (hide from the catalog, stop sales) or bring back a product.
pub async fn set_archived(db: &Db, id: ProductId, archived: bool) -> Result<StaffProduct, AppError> {
    if db.set_archived(id, archived).await.map_err(internal)? { get_product(db, id).await } else { Err(product_not_found(id)) }
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
    match db.create_category(slug.as_str(), &name).await.map_err(internal)? {
        Created::Created(()) => Ok(slug),
        Created::Refused => Err(AppError::Conflict(format!("a category '{slug}' already exists"))),
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
    super::queries::orders::list_all(db, status, limit.clamp(1, 1000)).await.map_err(internal)
}

pub async fn get_order(db: &Db, id: OrderId) -> Result<Order, AppError> {
    super::queries::orders::get(db, id).await.map_err(internal)?.ok_or_else(|| AppError::NotFound(format!("Order {id}")))
}

/// Move an order to `to`. Illegal moves are refused with what is allowed instead.
pub async fn move_order(db: &Db, id: OrderId, to: OrderStatus) -> Result<Order, AppError> {
    match db.move_order(id, to).await.map_err(internal)? {
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
