//! `/api/v1/products`: list, read, create, update, archive, and stock.

use app::model::{ProductDraft, ProductId, StaffProduct};
use app::server::staff::{self, Stock};
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::extract::{ApiError, ApiJson, ApiResult, Caller, Int};
use crate::state::AppState;

/// A product id from the path: a positive whole number.
pub(super) fn path_id(path: Result<Path<String>, PathRejection>, what: &str) -> ApiResult<i64> {
    let Path(raw) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    match raw.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        Ok(n) => Err(ApiError::not_found(format!("{what} {n} was not found"))),
        Err(_) => Err(ApiError::bad_request(format!("'{}' is not a {what} id (a positive whole number)", raw.chars().take(40).collect::<String>()))),
    }
}

/// A new product.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    name: String,
    #[serde(default)]
    description: String,
    /// A category slug, e.g. `coffee-tea`.
    category: String,
    /// Price in minor units (cents), 0 to 1,000,000,000.
    #[schema(value_type = i64)]
    price_minor: Int,
    /// Units in stock, 0 to 1,000,000,000.
    #[schema(value_type = i64)]
    stock: Int,
    /// A path on this site, e.g. `/media/12` (upload through the staff console).
    #[serde(default)]
    image: String,
}

/// Fields to change; the rest stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    name: Option<String>,
    description: Option<String>,
    category: Option<String>,
    #[schema(value_type = Option<i64>)]
    price_minor: Option<Int>,
    #[schema(value_type = Option<i64>)]
    stock: Option<Int>,
    image: Option<String>,
    /// true: leave the catalog and stop selling (past orders keep their lines); false: back on sale.
    archived: Option<bool>,
}

/// Set the stock to a level.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockLevel {
    #[schema(value_type = i64)]
    stock: Int,
}

/// Change the stock by a non-zero amount (negative takes units away).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockDelta {
    #[schema(value_type = i64)]
    delta: Int,
}

/// Every product, archived ones too, by name.
#[utoipa::path(get, path = "/products", tag = "products", security(("token" = [])),
    responses((status = 200, body = Vec<StaffProduct>), (status = 401, body = ApiError), (status = 429, body = ApiError)))]
pub async fn list_products(State(state): State<AppState>, _caller: Caller) -> ApiResult<Json<Vec<StaffProduct>>> {
    Ok(Json(staff::list_products(&state.db).await?))
}

/// Create a product; it appears in the catalog live.
#[utoipa::path(post, path = "/products", tag = "products", security(("token" = [])), request_body = NewProduct,
    responses((status = 201, body = StaffProduct), (status = 400, body = ApiError), (status = 401, body = ApiError),
               (status = 403, body = ApiError), (status = 415, body = ApiError), (status = 422, body = ApiError)))]
pub async fn create_product(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewProduct>,
) -> ApiResult<(StatusCode, Json<StaffProduct>)> {
    caller.require_write()?;
    let draft = ProductDraft {
        name: body.name,
        description: body.description,
        category: body.category,
        price_minor: body.price_minor.get("price_minor")?,
        stock: body.stock.get("stock")?,
        image: body.image,
    };
    Ok((StatusCode::CREATED, Json(staff::create_product(&state.db, &draft).await?)))
}

/// One product, archived or not.
#[utoipa::path(get, path = "/products/{id}", tag = "products", security(("token" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = StaffProduct), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn get_product(State(state): State<AppState>, _caller: Caller, id: Result<Path<String>, PathRejection>) -> ApiResult<Json<StaffProduct>> {
    let id = ProductId(path_id(id, "product")?);
    Ok(Json(staff::get_product(&state.db, id).await?))
}

/// Change some fields of a product, or archive it / bring it back.
#[utoipa::path(patch, path = "/products/{id}", tag = "products", security(("token" = [])), params(("id" = i64, Path)), request_body = ProductPatch,
    responses((status = 200, body = StaffProduct), (status = 400, body = ApiError), (status = 401, body = ApiError),
               (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn update_product(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    ApiJson(patch): ApiJson<ProductPatch>,
) -> ApiResult<Json<StaffProduct>> {
    caller.require_write()?;
    let id = ProductId(path_id(id, "product")?);
    let mut current = staff::get_product(&state.db, id).await?;
    if let Some(draft) = patch.draft(&current)? {
        current = staff::update_product(&state.db, id, &draft).await?;
    }
    if let Some(archived) = patch.archived.filter(|a| *a != current.archived) {
        current = staff::set_archived(&state.db, id, archived).await?;
    }
    Ok(Json(current))
}

impl ProductPatch {
    /// The product with this patch's fields changed, or `None` when it changes none
    /// (an archive-only patch then writes nothing else).
    fn draft(&self, current: &StaffProduct) -> ApiResult<Option<ProductDraft>> {
        let edits = self.name.is_some()
            || self.description.is_some()
            || self.category.is_some()
            || self.price_minor.is_some()
            || self.stock.is_some()
            || self.image.is_some();
        if !edits {
            return Ok(None);
        }
        let p = &current.product;
        let or = |new: &Option<String>, old: &str| new.clone().unwrap_or_else(|| old.to_string());
        Ok(Some(ProductDraft {
            name: or(&self.name, &p.summary.name),
            description: or(&self.description, &p.description),
            category: or(&self.category, p.summary.category.as_str()),
            price_minor: self.price_minor.as_ref().map(|n| n.get("price_minor")).transpose()?.unwrap_or(p.summary.price.minor),
            stock: self.stock.as_ref().map(|n| n.get("stock")).transpose()?.unwrap_or(p.summary.stock),
            image: or(&self.image, &p.summary.image),
        }))
    }
}

/// Set the stock to a level (0 to 1,000,000,000).
#[utoipa::path(put, path = "/products/{id}/stock", tag = "products", security(("token" = [])), params(("id" = i64, Path)), request_body = StockLevel,
    responses((status = 200, body = StaffProduct), (status = 400, body = ApiError), (status = 401, body = ApiError),
               (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn set_stock(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<StockLevel>,
) -> ApiResult<Json<StaffProduct>> {
    caller.require_write()?;
    let id = ProductId(path_id(id, "product")?);
    Ok(Json(staff::change_stock(&state.db, id, Stock::Set(body.stock.get("stock")?)).await?))
}

/// Add to or take from the stock, atomically; refused (422) if it would go below 0.
#[utoipa::path(post, path = "/products/{id}/stock", tag = "products", security(("token" = [])), params(("id" = i64, Path)), request_body = StockDelta,
    responses((status = 200, body = StaffProduct), (status = 400, body = ApiError), (status = 401, body = ApiError),
               (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn adjust_stock(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<StockDelta>,
) -> ApiResult<Json<StaffProduct>> {
    caller.require_write()?;
    let id = ProductId(path_id(id, "product")?);
    Ok(Json(staff::change_stock(&state.db, id, Stock::Adjust(body.delta.get("delta")?)).await?))
}
