//! `/api/v1/products`: list, read, create, update, archive, and stock.

use app::model::{ProductDraft, ProductId, StaffProduct};
use app::server::staff::{self, ProductEdit, Stock};
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
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
        Err(_) => Err(ApiError::bad_request(format!(
            "'{}' is not a {what} id (a positive whole number)",
            raw.chars().take(40).collect::<String>()
        ))),
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

/// Fields to change; the rest stay as they are. `stock` sets the level
/// atomically (use `POST /products/{id}/stock` to add or take units).
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

/// A product's ETag: its version, which moves with every edit of a field
/// (not with stock or sales, which change only atomically). Weak, since stock
/// in the same body may differ.
fn etag(product: &StaffProduct) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("W/\"{}\"", product.version)).ok()
}

/// The product as JSON with its ETag.
fn with_etag(product: StaffProduct) -> Response {
    let tag = etag(&product);
    let mut response = Json(product).into_response();
    if let Some(tag) = tag {
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
}

/// The version an `If-Match` header asks for: `None` without one or for `*`.
fn if_match(headers: &HeaderMap) -> ApiResult<Option<i64>> {
    let Some(value) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let text = value.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    let bare = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    bare.parse::<i64>().map(Some).map_err(|_| {
        ApiError::bad_request(format!(
            "If-Match must be an ETag this API gave, e.g. W/\"3\" (got '{}')",
            text.chars().take(40).collect::<String>()
        ))
    })
}

/// One product, archived or not, with its version as the ETag.
#[utoipa::path(get, path = "/products/{id}", tag = "products", security(("token" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = StaffProduct, headers(("ETag" = String, description = "the product's version, for If-Match"))),
               (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn get_product(State(state): State<AppState>, _caller: Caller, id: Result<Path<String>, PathRejection>) -> ApiResult<Response> {
    let id = ProductId(path_id(id, "product")?);
    Ok(with_etag(staff::get_product(&state.db, id).await?))
}

/// Change some fields of a product, archive it or bring it back, and set or
/// adjust its stock: all in one transaction, all or nothing. Only the fields
/// sent are written. With `If-Match` (the ETag of a GET) the edit is refused
/// with 409 and the current product when someone changed it since.
#[utoipa::path(patch, path = "/products/{id}", tag = "products", security(("token" = [])),
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "an ETag from GET; the edit is refused (409) if the product changed since")),
    request_body = ProductPatch,
    responses((status = 200, body = StaffProduct, headers(("ETag" = String))), (status = 400, body = ApiError), (status = 401, body = ApiError),
               (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 415, body = ApiError),
               (status = 422, body = ApiError)))]
pub async fn update_product(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    ApiJson(patch): ApiJson<ProductPatch>,
) -> ApiResult<Response> {
    caller.require_write()?;
    let id = ProductId(path_id(id, "product")?);
    let int = |n: &Option<Int>, field: &str| n.as_ref().map(|n| n.get(field)).transpose();
    let changes = ProductEdit {
        price_minor: int(&patch.price_minor, "price_minor")?,
        stock: int(&patch.stock, "stock")?.map(Stock::Set),
        name: patch.name,
        description: patch.description,
        category: patch.category,
        image: patch.image,
        archived: patch.archived,
        expected_version: if_match(&headers)?,
    };
    match staff::edit_product(&state.db, id, changes).await {
        Ok(product) => Ok(with_etag(product)),
        Err(err @ app::error::AppError::Conflict(_)) => {
            let mut refusal = ApiError::from(err);
            refusal.current = staff::get_product(&state.db, id).await.ok().and_then(|p| serde_json::to_value(p).ok());
            Err(refusal)
        }
        Err(err) => Err(err.into()),
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

/// Property tests: any JSON body decodes into the API's shapes or is refused,
/// and numbers are whole and in range or refused; nothing panics.
#[cfg(test)]
mod props {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
            "\\PC{0,30}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::hash_map(
                    "(name|description|category|price_minor|stock|image|archived|delta|[a-z]{1,6})",
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_is_a_patch_or_refused(v in json()) {
            if let Ok(patch) = serde_json::from_value::<ProductPatch>(v.clone()) {
                let _ = patch.price_minor.map(|n| n.get("price_minor"));
                let _ = patch.stock.map(|n| n.get("stock"));
            }
            if let Ok(new) = serde_json::from_value::<NewProduct>(v.clone()) {
                let _ = (new.price_minor.get("price_minor"), new.stock.get("stock"));
            }
            if let Ok(delta) = serde_json::from_value::<StockDelta>(v)
                && let Ok(n) = delta.delta.get("delta")
            {
                prop_assert!(serde_json::Number::from(n).is_i64());
            }
        }
    }
}
