//! Product questions: shoppers ask and upvote, staff answer and delete. The
//! wire shape ([`Question`]) is made here from one row type,
//! [`QuestionRecord`], for pages, snapshots and the feed's frames alike.
//! Vote counts and a product's question counts are kept by triggers, so any
//! writer keeps them right.

use super::Db;
use super::core::{placeholders, sql};
use crate::model::{CustomerId, ProductId, Question, QuestionId};

/// A question as stored, with its product's name and its author as shown.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QuestionRecord {
    pub id: QuestionId,
    pub product_id: ProductId,
    pub product_name: String,
    pub author: String,
    pub author_hidden: bool,
    pub body: String,
    pub votes: i64,
    pub asked_at: String,
    pub answer: Option<String>,
    pub answered_at: Option<String>,
}

impl QuestionRecord {
    pub fn question(&self) -> Question {
        Question {
            id: self.id,
            product_id: self.product_id,
            product_name: self.product_name.clone(),
            author: self.author.clone(),
            author_hidden: self.author_hidden,
            body: self.body.clone(),
            votes: self.votes,
            asked_at: self.asked_at.clone(),
            answer: self.answer.clone(),
            answered_at: self.answered_at.clone(),
        }
    }
}

/// What asking came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskOutcome {
    Asked(QuestionId),
    /// The product does not exist or is not on sale.
    NoSuchProduct,
}

/// How a signed-in shopper's questions are signed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AskerRow {
    pub username: String,
    pub display_name: Option<String>,
}

impl Db {
    fn question_select(&self) -> String {
        let d = self.dialect();
        format!(
            "SELECT q.id, q.product_id, p.name AS product_name, \
                    CASE WHEN u.id IS NULL THEN 'A former shopper' WHEN u.role = 'staff' THEN 'The shop' \
                         WHEN u.name_hidden THEN 'A shopper' \
                         ELSE coalesce(u.display_name, u.username) END AS author, \
                    (u.id IS NOT NULL AND u.name_hidden) AS author_hidden, \
                    q.body, q.votes, {} AS asked_at, q.answer, {} AS answered_at \
             FROM questions q JOIN products p ON p.id = q.product_id LEFT JOIN users u ON u.id = q.author_id",
            d.time("q.created_at"),
            d.time("q.answered_at"),
        )
    }

    /// A product's questions, most voted first (then oldest), at most `limit`.
    pub async fn questions_for(&self, product: ProductId, limit: i64) -> anyhow::Result<Vec<QuestionRecord>> {
        let query = format!("{} WHERE q.product_id = $1 ORDER BY q.votes DESC, q.id LIMIT $2", self.question_select());
        Ok(sql(query).bind(product).bind(limit).fetch_all(self).await?)
    }

    /// Every product's questions for staff: unanswered first, then newest, at most `limit`.
    pub async fn question_queue(&self, limit: i64) -> anyhow::Result<Vec<QuestionRecord>> {
        let query = format!("{} ORDER BY (q.answer IS NOT NULL), q.id DESC LIMIT $1", self.question_select());
        Ok(sql(query).bind(limit).fetch_all(self).await?)
    }

    /// The questions among `ids` that exist.
    pub async fn questions_by_ids(&self, ids: &[QuestionId]) -> anyhow::Result<Vec<QuestionRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let query = format!("{} WHERE q.id IN ({})", self.question_select(), placeholders(1, ids.len()));
        Ok(sql(query).bind_each(ids.iter().copied()).fetch_all(self).await?)
    }

    pub async fn question(&self, id: QuestionId) -> anyhow::Result<Option<QuestionRecord>> {
        Ok(self.questions_by_ids(&[id]).await?.pop())
    }

    /// Ask about a product on sale; the author's own vote is counted from the start.
    pub async fn ask(&self, author: CustomerId, product: ProductId, body: &str) -> anyhow::Result<AskOutcome> {
        let mut tx = self.begin().await?;
        let id: Option<QuestionId> = sql("INSERT INTO questions (product_id, author_id, body) \
             SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM products WHERE id = $1 AND archived_at IS NULL) RETURNING id")
        .bind(product)
        .bind(author)
        .bind(body)
        .scalar_optional(&mut tx)
        .await?;
        let Some(id) = id else {
            tx.rollback().await?;
            return Ok(AskOutcome::NoSuchProduct);
        };
        sql("INSERT INTO question_votes (question_id, user_id) VALUES ($1, $2)").bind(id).bind(author).execute(&mut tx).await?;
        tx.commit().await?;
        Ok(AskOutcome::Asked(id))
    }

    /// Set whether `user` upvotes a question (idempotent: voting twice counts
    /// once). `None` when there is no such question; else its votes now.
    pub async fn set_vote(&self, question: QuestionId, user: CustomerId, up: bool) -> anyhow::Result<Option<i64>> {
        let mut tx = self.begin().await?;
        let statement = if up {
            "INSERT INTO question_votes (question_id, user_id) SELECT $1, $2 \
             WHERE EXISTS (SELECT 1 FROM questions WHERE id = $1) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM question_votes WHERE question_id = $1 AND user_id = $2"
        };
        sql(statement).bind(question).bind(user).execute(&mut tx).await?;
        let votes: Option<i64> = sql("SELECT votes FROM questions WHERE id = $1").bind(question).scalar_optional(&mut tx).await?;
        tx.commit().await?;
        Ok(votes)
    }

    /// The questions about `product` that `user` upvoted.
    pub async fn my_votes(&self, user: CustomerId, product: ProductId) -> anyhow::Result<Vec<QuestionId>> {
        Ok(sql("SELECT v.question_id FROM question_votes v JOIN questions q ON q.id = v.question_id \
                WHERE v.user_id = $1 AND q.product_id = $2 ORDER BY v.question_id")
        .bind(user)
        .bind(product)
        .fetch_all::<(QuestionId,)>(self)
        .await?
        .into_iter()
        .map(|(id,)| id)
        .collect())
    }

    /// Answer a question, replace its answer, or take it back (`None`).
    /// `false` when there is no such question.
    pub async fn answer_question(&self, question: QuestionId, answer: Option<&str>) -> anyhow::Result<bool> {
        let now = self.dialect().now;
        let statement = format!("UPDATE questions SET answer = $2, answered_at = CASE WHEN $3 THEN {now} END WHERE id = $1");
        Ok(self.write(sql(statement).bind(question).bind(answer).bind(answer.is_some())).await? > 0)
    }

    /// `false` when there was no such question.
    pub async fn delete_question(&self, question: QuestionId) -> anyhow::Result<bool> {
        Ok(self.write(sql("DELETE FROM questions WHERE id = $1").bind(question)).await? > 0)
    }

    /// Who asked a question: `None` when there is no such question, `Some(None)`
    /// when the account is gone.
    pub async fn question_author(&self, question: QuestionId) -> anyhow::Result<Option<Option<CustomerId>>> {
        Ok(sql("SELECT author_id FROM questions WHERE id = $1")
            .bind(question)
            .fetch_optional::<(Option<CustomerId>,)>(self)
            .await?
            .map(|r| r.0))
    }

    /// Staff hide (or show again) how an author is named next to their questions.
    pub async fn set_name_hidden(&self, user: CustomerId, hidden: bool) -> anyhow::Result<()> {
        self.write(sql("UPDATE users SET name_hidden = $2 WHERE id = $1 AND name_hidden <> $2").bind(user).bind(hidden)).await?;
        Ok(())
    }

    /// How a shopper's questions are signed (`None`: their username).
    pub async fn set_display_name(&self, user: CustomerId, name: Option<&str>) -> anyhow::Result<()> {
        self.write(sql("UPDATE users SET display_name = $2 WHERE id = $1").bind(user).bind(name)).await?;
        Ok(())
    }

    pub async fn asker(&self, user: CustomerId) -> anyhow::Result<Option<AskerRow>> {
        Ok(sql("SELECT username, display_name FROM users WHERE id = $1").bind(user).fetch_optional(self).await?)
    }
}
