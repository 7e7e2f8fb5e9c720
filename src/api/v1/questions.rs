//! `/api/v1/questions` and an order's messages: read what shoppers ask and
//! write, and answer as the shop.

use app::model::{Message, OrderId, ProductId, Question, QuestionId, check_answer, check_message};
use app::server::queries::{conversations, questions};
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::extract::{ApiError, ApiJson, ApiResult, Caller};
use super::products::path_id;
use crate::state::AppState;

/// An answer to a question.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// Plain text, 1 to 2000 characters; an empty answer takes the answer back.
    answer: String,
}

/// A product's questions, most voted first (at most 200).
#[utoipa::path(get, path = "/products/{id}/questions", tag = "questions", security(("token" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Question>), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn product_questions(
    State(state): State<AppState>,
    _caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Vec<Question>>> {
    let id = ProductId(path_id(id, "product")?);
    match questions::board(&state.db, id).await.map_err(app::error::AppError::internal)? {
        Some(list) => Ok(Json(list)),
        None => Err(ApiError::not_found(format!("product {id} was not found"))),
    }
}

/// Every product's questions, unanswered first, then newest (at most 200).
#[utoipa::path(get, path = "/questions", tag = "questions", security(("token" = [])),
    responses((status = 200, body = Vec<Question>), (status = 401, body = ApiError)))]
pub async fn question_queue(State(state): State<AppState>, _caller: Caller) -> ApiResult<Json<Vec<Question>>> {
    Ok(Json(questions::queue(&state.db).await.map_err(app::error::AppError::internal)?))
}

/// Answer a question, or change its answer; everyone viewing the product sees it at once.
#[utoipa::path(put, path = "/questions/{id}/answer", tag = "questions", security(("token" = [])), params(("id" = i64, Path)),
    request_body = AnswerBody,
    responses((status = 200, body = Question), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
               (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn answer_question(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<AnswerBody>,
) -> ApiResult<Json<Question>> {
    caller.require_write()?;
    let id = QuestionId(path_id(id, "question")?);
    let answer = match body.answer.trim() {
        "" => None,
        text => Some(check_answer(text).map_err(|(field, message)| ApiError::invalid(field, format!("{field}: {message}")))?),
    };
    let internal = app::error::AppError::internal;
    if !state.db.answer_question(id, answer.as_deref()).await.map_err(internal)? {
        return Err(ApiError::not_found(format!("question {id} was not found")));
    }
    match state.db.question(id).await.map_err(internal)? {
        Some(q) => Ok(Json(q.question())),
        None => Err(ApiError::not_found(format!("question {id} was not found"))),
    }
}

/// A message from the shop.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    /// Plain text, 1 to 2000 characters.
    body: String,
}

/// An order's conversation with its customer, oldest first (the newest 50).
#[utoipa::path(get, path = "/orders/{id}/messages", tag = "orders", security(("token" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Message>), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn order_messages(
    State(state): State<AppState>,
    _caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Vec<Message>>> {
    let id = OrderId(path_id(id, "order")?);
    match conversations::latest(&state.db, id).await.map_err(app::error::AppError::internal)? {
        Some(messages) => Ok(Json(messages)),
        None => Err(ApiError::not_found(format!("order {id} was not found"))),
    }
}

/// Write to an order's customer as the shop; they see it at once, and it
/// counts as unread for them until they open the order.
#[utoipa::path(post, path = "/orders/{id}/messages", tag = "orders", security(("token" = [])), params(("id" = i64, Path)),
    request_body = MessageBody,
    responses((status = 201, body = Message), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
               (status = 404, body = ApiError), (status = 422, body = ApiError)))]
pub async fn send_order_message(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<MessageBody>,
) -> ApiResult<(StatusCode, Json<Message>)> {
    caller.require_write()?;
    let id = OrderId(path_id(id, "order")?);
    let body = check_message(&body.body).map_err(|(field, message)| ApiError::invalid(field, message))?;
    let internal = app::error::AppError::internal;
    let Some(message) = state.db.send_message(id, None, true, &body).await.map_err(internal)? else {
        return Err(ApiError::not_found(format!("order {id} was not found")));
    };
    match state.db.messages_by_ids(&[message]).await.map_err(internal)?.pop() {
        Some(m) => Ok((StatusCode::CREATED, Json(m.message()))),
        None => Err(ApiError::not_found(format!("order {id} was not found"))),
    }
}
