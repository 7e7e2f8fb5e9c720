//! Staff server functions. Every one checks the staff role first: a shopper gets
//! `Forbidden`, a visitor `Unauthorized`.

// `save_product` takes one argument per form field (the form posts them by
// name), and the code `#[server]` generates for it does not carry an item-level allow.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::{Category, Order, OrderSummary, StaffProduct};
use crate::protocol::Snapshot;

/// An API token as the console lists it (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use crate::error::AppError;
    use crate::server::{ServerContext, Viewer};

    /// The server context, once the caller is known to be staff.
    pub async fn staff() -> Result<(ServerContext, i64), AppError> {
        let ctx = crate::server::context::server_context()?;
        match crate::server::auth::request_viewer(&ctx.db).await? {
            Viewer::Staff(id) => Ok((ctx, id.0)),
            Viewer::Customer(_) => Err(AppError::Forbidden),
            Viewer::Anonymous => Err(AppError::Unauthorized),
        }
    }
}

/// Run a staff action: check the role, run `f`, report errors with their status.
#[cfg(feature = "ssr")]
async fn as_staff<T, F, Fut>(f: F) -> Result<T, AppError>
where
    F: FnOnce(crate::server::ServerContext, i64) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    let run = async {
        let (ctx, me) = ssr::staff().await?;
        f(ctx, me).await
    };
    run.await.map_err(AppError::respond)
}

/// Every product, archived ones too.
#[server(endpoint = "admin/products")]
pub async fn admin_products() -> Result<Vec<StaffProduct>, AppError> {
    as_staff(|ctx, _| async move { crate::server::staff::list_products(&ctx.db).await }).await
}

#[server(endpoint = "admin/product")]
pub async fn admin_product(id: i64) -> Result<StaffProduct, AppError> {
    use crate::model::ProductId;
    as_staff(|ctx, _| async move { crate::server::staff::get_product(&ctx.db, ProductId(id)).await }).await
}

/// Create (`id` empty) or update a product. Price is typed as money, e.g.
/// `12.90`. A new product takes its `stock`; an edit never writes the stock it
/// was shown, only `stock_change` units added or taken away, and is refused
/// (409) when the product changed after `version` was read.
#[server(endpoint = "admin/save_product")]
pub async fn save_product(
    id: Option<i64>,
    version: Option<i64>,
    name: String,
    description: String,
    category: String,
    price: String,
    stock: Option<String>,
    stock_change: Option<String>,
    image: String,
) -> Result<StaffProduct, AppError> {
    use crate::model::{Money, ProductDraft, ProductId};
    use crate::server::staff::{self, ProductEdit, Stock};
    as_staff(|ctx, _| async move {
        let price_minor = Money::parse_minor(&price).map_err(|m| AppError::validation("price", m))?;
        let whole = |field: &'static str, text: Option<String>| -> Result<Option<i64>, AppError> {
            match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                None => Ok(None),
                Some(t) => t
                    .trim_start_matches('+')
                    .parse::<i64>()
                    .map(Some)
                    .map_err(|_| AppError::validation(field, "enter a whole number of units")),
            }
        };
        match id {
            None => {
                let stock = whole("stock", stock)?.ok_or_else(|| AppError::validation("stock", "enter how many are in stock"))?;
                staff::create_product(&ctx.db, &ProductDraft { name, description, category, price_minor, stock, image }).await
            }
            Some(id) => {
                let changes = ProductEdit {
                    name: Some(name),
                    description: Some(description),
                    category: Some(category),
                    price_minor: Some(price_minor),
                    image: Some(image),
                    archived: None,
                    stock: whole("stock_change", stock_change)?.map(Stock::Adjust),
                    expected_version: version,
                };
                staff::edit_product(&ctx.db, ProductId(id), changes).await
            }
        }
    })
    .await
}

/// Add units to (or take them from) the stock.
#[server(endpoint = "admin/restock")]
pub async fn restock(id: i64, delta: String) -> Result<StaffProduct, AppError> {
    use crate::model::ProductId;
    use crate::server::staff::{self, Stock};
    as_staff(|ctx, _| async move {
        let delta = delta.trim().parse::<i64>().map_err(|_| AppError::validation("delta", "enter a whole number of units"))?;
        staff::change_stock(&ctx.db, ProductId(id), Stock::Adjust(delta)).await
    })
    .await
}

/// Archive a product (it leaves the catalog and cannot be bought) or bring it back.
#[server(endpoint = "admin/archive")]
pub async fn archive_product(id: i64, archived: bool) -> Result<StaffProduct, AppError> {
    use crate::model::ProductId;
    as_staff(|ctx, _| async move { crate::server::staff::set_archived(&ctx.db, ProductId(id), archived).await }).await
}

#[server(endpoint = "admin/categories")]
pub async fn admin_categories() -> Result<Vec<Category>, AppError> {
    as_staff(|ctx, _| async move { crate::server::queries::catalog::list_categories(&ctx.db).await.map_err(AppError::internal) }).await
}

#[server(endpoint = "admin/create_category")]
pub async fn create_category(slug: String, name: String) -> Result<(), AppError> {
    as_staff(|ctx, _| async move { crate::server::staff::create_category(&ctx.db, &slug, &name).await.map(|_| ()) }).await
}

#[server(endpoint = "admin/rename_category")]
pub async fn rename_category(slug: String, name: String) -> Result<(), AppError> {
    use crate::model::CategorySlug;
    as_staff(|ctx, _| async move {
        let slug = CategorySlug::parse(&slug).map_err(|_| AppError::NotFound(format!("Category {slug}")))?;
        crate::server::staff::rename_category(&ctx.db, &slug, &name).await
    })
    .await
}

/// Every customer's newest orders, with the seq to follow the `orders` topic from.
#[server(endpoint = "admin/orders")]
pub async fn admin_orders() -> Result<Snapshot<Vec<OrderSummary>>, AppError> {
    use crate::server::staff;
    as_staff(|ctx, _| async move {
        let seq = ctx.watermark.get();
        let data = staff::list_orders(&ctx.db, None, staff::ORDER_LIST_LIMIT).await?;
        Ok(Snapshot { seq, data })
    })
    .await
}

/// Move an order along its lifecycle (`status`: paid, shipped, delivered, cancelled).
#[server(endpoint = "admin/move_order", input = Json)]
pub async fn move_order(id: i64, status: String) -> Result<Order, AppError> {
    use crate::model::{OrderId, OrderStatus};
    as_staff(|ctx, _| async move {
        let to: OrderStatus = status.parse().map_err(|m: String| AppError::validation("status", m))?;
        crate::server::staff::move_order(&ctx.db, OrderId(id), to).await
    })
    .await
}

#[server(endpoint = "admin/tokens")]
pub async fn api_tokens() -> Result<Vec<TokenInfo>, AppError> {
    as_staff(|ctx, _| async move {
        let rows = ctx.db.tokens().await.map_err(AppError::internal)?;
        Ok(rows
            .into_iter()
            .map(|r| TokenInfo {
                id: r.id,
                name: r.name,
                scope: r.scope,
                created_at: r.created_at,
                last_used_at: r.last_used_at,
                revoked: r.revoked_at.is_some(),
            })
            .collect())
    })
    .await
}

/// Make a token; the answer is the token itself, shown once.
#[server(endpoint = "admin/create_token")]
pub async fn create_api_token(name: String, scope: String) -> Result<String, AppError> {
    use crate::server::tokens::{self, Scope};
    as_staff(|ctx, me| async move {
        let scope = Scope::parse(&scope)?;
        tokens::create(&ctx.db, &name, scope, Some(me)).await.map(|(_, token)| token)
    })
    .await
}

#[server(endpoint = "admin/revoke_token")]
pub async fn revoke_api_token(id: i64) -> Result<(), AppError> {
    as_staff(|ctx, _| async move {
        if ctx.db.revoke_token(id).await.map_err(AppError::internal)? {
            Ok(())
        } else {
            Err(AppError::NotFound(format!("Live token {id}")))
        }
    })
    .await
}
