//! Catalog server functions. Each returns its data with the seq it is current
//! as of, so the page can subscribe from there without missing a change.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{CatalogQuery, Category, Product, ProductPage, ProductSummary};
use crate::protocol::Snapshot;

#[server(endpoint = "list_categories")]
pub async fn list_categories() -> Result<Vec<Category>, AppError> {
    let ctx = crate::server::context::server_context()?;
    crate::server::queries::catalog::list_categories(&ctx.db).await.map_err(AppError::internal)
}

/// The products on sale among `ids` (a cart's lines), by name; those taken
/// off sale or deleted are simply missing. At most 100 ids; none may be
/// sent as no field at all (how an empty list is form-encoded).
#[server(endpoint = "products_by_id")]
pub async fn products_by_id(#[server(default)] ids: Vec<i64>) -> Result<Snapshot<Vec<ProductSummary>>, AppError> {
    use crate::model::ProductId;

    const MAX_IDS: usize = 100;
    if ids.len() > MAX_IDS {
        return Err(AppError::validation("ids", format!("at most {MAX_IDS} products at once")));
    }
    let ctx = crate::server::context::server_context()?;
    let seq = ctx.watermark.get();
    let ids: Vec<ProductId> = ids.into_iter().map(ProductId).collect();
    let rows = ctx.db.products_by_ids(&ids).await.map_err(AppError::internal)?;
    let mut data =
        rows.iter().filter(|p| !p.archived).map(|p| p.summary()).collect::<anyhow::Result<Vec<_>>>().map_err(AppError::internal)?;
    data.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.0.cmp(&b.id.0)));
    Ok(Snapshot { seq, data })
}

/// One page of the catalog as the query asks: searched, filtered, sorted,
/// starting after a cursor. Costs what the page shows, whatever the catalog's size.
#[server(endpoint = "catalog_page")]
pub async fn catalog_page(query: CatalogQuery) -> Result<Snapshot<ProductPage>, AppError> {
    use crate::model::{CategorySlug, PAGE_SIZE};
    use crate::server::db::Listing;
    use crate::server::queries::catalog;

    let ctx = crate::server::context::server_context()?;
    let category = match query.category.as_str() {
        "" => None,
        c => {
            let missing = || AppError::NotFound(format!("The category '{}'", c.chars().take(40).collect::<String>()));
            let slug = CategorySlug::parse(c).map_err(|_| missing())?;
            if !catalog::category_exists(&ctx.db, &slug).await.map_err(AppError::internal)? {
                return Err(missing());
            }
            Some(slug)
        }
    };
    let (min_price, max_price) = query.price_range().map_err(|(field, message)| AppError::validation(field, message))?;
    let words = query.words();
    let listing = Listing {
        words: &words,
        category: category.as_ref().map(CategorySlug::as_str),
        min_price,
        max_price,
        in_stock: query.in_stock,
        sort: query.sort,
        after: Some(query.after.as_str()).filter(|a| !a.is_empty()),
        limit: PAGE_SIZE,
    };
    let seq = ctx.watermark.get();
    let (mut rows, mut next, mut total) = ctx.db.list_page(&listing).await.map_err(AppError::internal)?;
    let mut corrected = None;
    if total == 0 && !words.is_empty() {
        // Nothing found: a slip of the keyboard? Search the closest known words.
        if let Some(better) = ctx.db.corrected_words(&words).await.map_err(AppError::internal)? {
            (rows, next, total) = ctx.db.list_page(&Listing { words: &better, ..listing }).await.map_err(AppError::internal)?;
            corrected = (total > 0).then(|| better.join(" "));
        }
    }
    let items = rows.iter().map(|p| p.summary()).collect::<anyhow::Result<_>>().map_err(AppError::internal)?;
    Ok(Snapshot { seq, data: ProductPage { items, next, total, corrected } })
}

/// One product in full.
#[server(endpoint = "get_product")]
pub async fn get_product(id: i64) -> Result<Snapshot<Product>, AppError> {
    use crate::model::ProductId;
    use crate::server::queries::catalog;

    let ctx = crate::server::context::server_context()?;
    let seq = ctx.watermark.get();
    match catalog::get_product(&ctx.db, ProductId(id)).await.map_err(AppError::internal)? {
        Some(data) => Ok(Snapshot { seq, data }),
        None => Err(AppError::NotFound(format!("Product {id}"))),
    }
}
