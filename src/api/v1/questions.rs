//! `/api/v1/questions`: read the questions shoppers ask, and answer them.

use app::model::{ProductId, Question, QuestionId, check_answer};
use app::server::queries::questions;
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
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
