//! `/api/v1/orders`: list, read, and move along the lifecycle.

use app::model::{Order, OrderId, OrderStatus, OrderSummary};
use app::server::staff;
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiError, ApiJson, ApiResult, Caller};
use super::products::path_id;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderFilter {
    /// Only orders in this status: placed, paid, shipped, delivered, cancelled.
    status: Option<String>,
    /// At most this many, newest first (1 to 1000, default 200).
    limit: Option<i64>,
}

/// Where to move an order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// paid, shipped, delivered or cancelled. Allowed moves: placed → paid → shipped →
    /// delivered; placed or paid → cancelled (the stock comes back).
    status: String,
}

fn status(s: &str) -> ApiResult<OrderStatus> {
    s.parse().map_err(|m: String| ApiError::invalid("status", m))
}

/// Every customer's orders, newest first.
#[utoipa::path(get, path = "/orders", tag = "orders", security(("token" = [])), params(OrderFilter),
    responses((status = 200, body = Vec<OrderSummary>), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
pub async fn list_orders(
    State(state): State<AppState>,
    _caller: Caller,
    filter: Result<Query<OrderFilter>, QueryRejection>,
) -> ApiResult<Json<Vec<OrderSummary>>> {
    let Query(filter) = filter.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let wanted = filter.status.as_deref().map(status).transpose()?;
    let limit = filter.limit.unwrap_or(staff::ORDER_LIST_LIMIT);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit: must be between 1 and 1000"));
    }
    Ok(Json(staff::list_orders(&state.db, wanted, limit).await?))
}

/// One order in full, with its timeline.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders", security(("token" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Order), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn get_order(State(state): State<AppState>, _caller: Caller, id: Result<Path<String>, PathRejection>) -> ApiResult<Json<Order>> {
    let id = OrderId(path_id(id, "order")?);
    Ok(Json(staff::get_order(&state.db, id).await?))
}

/// Move an order along its lifecycle; the customer sees it live.
#[utoipa::path(post, path = "/orders/{id}/status", tag = "orders", security(("token" = [])), params(("id" = i64, Path)), request_body = StatusChange,
    responses((status = 200, body = Order), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
               (status = 404, body = ApiError), (status = 409, description = "not allowed from the order's current status", body = ApiError),
               (status = 422, body = ApiError)))]
pub async fn move_order(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<StatusChange>,
) -> ApiResult<Json<Order>> {
    caller.require_write()?;
    let id = OrderId(path_id(id, "order")?);
    let to = status(&body.status)?;
    Ok(Json(staff::move_order(&state.db, id, to).await?))
}
