//! Question server functions. Reading is for everyone; asking and voting need
//! an account; answering, deleting and hiding names need staff. Each write
//! changes rows only: the triggers log it and the feed tells every viewer.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::{Question, QuestionBoard, QuestionId};
use crate::protocol::Snapshot;

/// A vote as it stands after a vote or an un-vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteState {
    pub question: QuestionId,
    pub voted: bool,
    pub votes: i64,
}

#[cfg(feature = "ssr")]
mod ssr {
    use crate::error::AppError;
    use crate::model::{CustomerId, QuestionId};
    use crate::server::{ServerContext, Viewer};

    /// Run `f` for a signed-in account (shopper or staff), reporting errors with their status.
    pub async fn signed_in<T, Fut>(f: impl FnOnce(ServerContext, CustomerId, bool) -> Fut) -> Result<T, AppError>
    where
        Fut: std::future::Future<Output = Result<T, AppError>>,
    {
        let run = async {
            let ctx = crate::server::context::server_context()?;
            match crate::server::auth::request_viewer(&ctx.db).await? {
                Viewer::Customer(id) => f(ctx, id, false).await,
                Viewer::Staff(id) => f(ctx, id, true).await,
                Viewer::Anonymous => Err(AppError::Unauthorized),
            }
        };
        run.await.map_err(AppError::respond)
    }

    /// Run `f` for staff only.
    pub async fn staff<T, Fut>(f: impl FnOnce(ServerContext) -> Fut) -> Result<T, AppError>
    where
        Fut: std::future::Future<Output = Result<T, AppError>>,
    {
        signed_in(|ctx, _, is_staff| async move { if is_staff { f(ctx).await } else { Err(AppError::Forbidden) } }).await
    }

    pub fn question_id(id: i64) -> Result<QuestionId, AppError> {
        if id > 0 { Ok(QuestionId(id)) } else { Err(AppError::NotFound("This question".into())) }
    }

    pub fn too_many(wait: std::time::Duration) -> AppError {
        AppError::TooManyRequests { retry_after_secs: wait.as_secs().max(1) }
    }
}

/// A product's questions (the most voted [`crate::model::BOARD_LIMIT`]) as of
/// a seq, with what the viewer voted and how they are signed.
#[server(endpoint = "product_questions")]
pub async fn product_questions(product: i64) -> Result<Snapshot<QuestionBoard>, AppError> {
    use crate::model::{Asker, ProductId};
    use crate::server::Viewer;
    use crate::server::queries::questions;

    let run = async {
        let ctx = crate::server::context::server_context()?;
        let product = ProductId(product);
        let seq = ctx.watermark.get();
        let viewer = crate::server::auth::request_viewer(&ctx.db).await?;
        let Some(listed) = questions::board(&ctx.db, product).await.map_err(AppError::internal)? else {
            return Err(AppError::NotFound("This product".into()));
        };
        let total = ctx.db.product(product).await.map_err(AppError::internal)?.map_or(0, |p| p.questions);
        let (my_votes, asker, is_staff) = match viewer {
            Viewer::Anonymous => (Vec::new(), None, false),
            Viewer::Customer(me) | Viewer::Staff(me) => {
                let votes = ctx.db.my_votes(me, product).await.map_err(AppError::internal)?;
                let asker = ctx.db.asker(me).await.map_err(AppError::internal)?;
                let asker = asker.map(|a| Asker { username: a.username, display_name: a.display_name });
                (votes, asker, matches!(viewer, Viewer::Staff(_)))
            }
        };
        Ok(Snapshot { seq, data: QuestionBoard { questions: listed, total, my_votes, asker, is_staff } })
    };
    run.await.map_err(AppError::respond)
}

/// Ask about a product. The asker's own vote counts from the start.
#[server(endpoint = "ask_question")]
pub async fn ask_question(product: i64, body: String) -> Result<QuestionId, AppError> {
    use crate::model::{ProductId, check_question};
    use crate::server::db::AskOutcome;

    ssr::signed_in(|ctx, me, _| async move {
        let body = check_question(&body).map_err(|(field, message)| AppError::validation(field, message))?;
        ctx.auth.begin_question(me).map_err(ssr::too_many)?;
        match ctx.db.ask(me, ProductId(product), &body).await.map_err(AppError::internal)? {
            AskOutcome::Asked(id) => Ok(id),
            AskOutcome::NoSuchProduct => Err(AppError::NotFound("This product".into())),
        }
    })
    .await
}

/// Upvote a question (`up`) or take the vote back. Voting twice counts once.
#[server(endpoint = "vote_question")]
pub async fn vote_question(question: i64, up: bool) -> Result<VoteState, AppError> {
    ssr::signed_in(|ctx, me, _| async move {
        let id = ssr::question_id(question)?;
        ctx.auth.begin_vote(me).map_err(ssr::too_many)?;
        match ctx.db.set_vote(id, me, up).await.map_err(AppError::internal)? {
            Some(votes) => Ok(VoteState { question: id, voted: up, votes }),
            None => Err(AppError::NotFound("This question".into())),
        }
    })
    .await
}

/// How the signed-in account's questions are signed; empty: their username.
#[server(endpoint = "set_display_name")]
pub async fn set_display_name(display_name: String) -> Result<Option<String>, AppError> {
    use crate::model::check_display_name;

    ssr::signed_in(|ctx, me, _| async move {
        let name = check_display_name(&display_name).map_err(|(field, message)| AppError::validation(field, message))?;
        ctx.auth.begin_rename(me).map_err(ssr::too_many)?;
        ctx.db.set_display_name(me, name.as_deref()).await.map_err(AppError::internal)?;
        Ok(name)
    })
    .await
}

/// Staff: answer a question or change the answer (an empty answer takes it back).
#[server(endpoint = "admin/answer_question")]
pub async fn answer_question(question: i64, answer: String) -> Result<(), AppError> {
    use crate::model::check_answer;

    ssr::staff(|ctx| async move {
        let id = ssr::question_id(question)?;
        let answer = if answer.trim().is_empty() {
            None
        } else {
            Some(check_answer(&answer).map_err(|(field, message)| AppError::validation(field, message))?)
        };
        if ctx.db.answer_question(id, answer.as_deref()).await.map_err(AppError::internal)? {
            Ok(())
        } else {
            Err(AppError::NotFound("This question".into()))
        }
    })
    .await
}

/// Staff: delete a question; it is gone for everyone at once.
#[server(endpoint = "admin/delete_question")]
pub async fn delete_question(question: i64) -> Result<(), AppError> {
    ssr::staff(|ctx| async move {
        let id = ssr::question_id(question)?;
        if ctx.db.delete_question(id).await.map_err(AppError::internal)? { Ok(()) } else { Err(AppError::NotFound("This question".into())) }
    })
    .await
}

/// Staff: hide (or show again) the name of a question's author, on every
/// question they asked.
#[server(endpoint = "admin/hide_author")]
pub async fn hide_author(question: i64, hidden: bool) -> Result<(), AppError> {
    ssr::staff(|ctx| async move {
        let id = ssr::question_id(question)?;
        match ctx.db.question_author(id).await.map_err(AppError::internal)? {
            None => Err(AppError::NotFound("This question".into())),
            Some(None) => Err(AppError::Conflict("the account that asked this question was deleted; no name is shown".into())),
            Some(Some(author)) => ctx.db.set_name_hidden(author, hidden).await.map_err(AppError::internal),
        }
    })
    .await
}

/// Staff: every product's questions, unanswered first, then newest.
#[server(endpoint = "admin/question_queue")]
pub async fn question_queue() -> Result<Snapshot<Vec<Question>>, AppError> {
    ssr::staff(|ctx| async move {
        let seq = ctx.watermark.get();
        let data = crate::server::queries::questions::queue(&ctx.db).await.map_err(AppError::internal)?;
        Ok(Snapshot { seq, data })
    })
    .await
}
