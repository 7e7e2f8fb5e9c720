//! Product questions and answers: what the `questions:{product}` and staff
//! `questions` topics carry, and the rules for what people may write.

use std::cmp::Reverse;

use serde::{Deserialize, Serialize};

use super::{Keyed, ProductId, QuestionId, has_control};

/// A question about a product, as everyone viewing it sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Question {
    pub id: QuestionId,
    pub product_id: ProductId,
    /// The product's name, for lists that span products (the staff queue).
    pub product_name: String,
    /// Who asked, as they chose to be shown ("A shopper" when staff hid it,
    /// "A former shopper" once the account is gone). Never an account id.
    pub author: String,
    /// Whether staff hid the author's name (then `author` is "A shopper").
    pub author_hidden: bool,
    pub body: String,
    /// Upvotes, the author's own counted from the start.
    pub votes: i64,
    pub asked_at: String,
    /// The shop's answer, once there is one.
    pub answer: Option<String>,
    pub answered_at: Option<String>,
}

/// Votes first, then the oldest: the order everyone viewing a product sees.
impl Keyed for Question {
    type Sort = (Reverse<i64>, i64);
    fn key(&self) -> i64 {
        self.id.0
    }
    fn sort_key(&self) -> Self::Sort {
        (Reverse(self.votes), self.id.0)
    }
}

/// A question as the staff queue lists it: unanswered first, then newest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QueuedQuestion(pub Question);

impl Keyed for QueuedQuestion {
    type Sort = (bool, Reverse<i64>);
    fn key(&self) -> i64 {
        self.0.id.0
    }
    fn sort_key(&self) -> Self::Sort {
        (self.0.answer.is_some(), Reverse(self.0.id.0))
    }
}

/// The product page's question section: the questions (as of the snapshot's
/// seq) and what the viewer may do with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionBoard {
    pub questions: Vec<Question>,
    /// How many there are in all (`questions` holds at most [`BOARD_LIMIT`]).
    pub total: i64,
    /// The questions the viewer has upvoted (empty for visitors).
    pub my_votes: Vec<QuestionId>,
    /// The viewer, when signed in: how their questions are signed.
    pub asker: Option<Asker>,
    pub is_staff: bool,
}

/// How a signed-in viewer's questions are signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asker {
    pub username: String,
    pub display_name: Option<String>,
}

impl Asker {
    pub fn shown_as(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.username)
    }
}

/// Questions a product page shows at most (the most voted).
pub const BOARD_LIMIT: i64 = 200;
/// Questions the staff queue shows at most (unanswered first).
pub const QUEUE_LIMIT: i64 = 200;

pub const MAX_QUESTION: usize = 500;
pub const MAX_ANSWER: usize = 2000;
pub const MAX_DISPLAY_NAME: usize = 40;
/// Shorter than this is not a question anyone can answer.
pub const MIN_QUESTION: usize = 5;

/// What a bad text was and why, for the form field it came from.
pub type TextError = (&'static str, String);

fn plain(field: &'static str, text: &str, min: usize, max: usize, multiline: bool, what: &str) -> Result<String, TextError> {
    let text = text.trim();
    let n = text.chars().count();
    if n < min {
        return Err((field, if min <= 1 { format!("{what} is empty") } else { format!("{what} needs at least {min} characters") }));
    }
    if n > max {
        return Err((field, format!("{what} is {n} characters; at most {max} fit")));
    }
    if has_control(text, multiline) {
        return Err((field, format!("{what} must be plain text (no control characters)")));
    }
    Ok(text.to_string())
}

/// A question, trimmed: plain text of [`MIN_QUESTION`] to [`MAX_QUESTION`] characters.
pub fn check_question(body: &str) -> Result<String, TextError> {
    plain("body", body, MIN_QUESTION, MAX_QUESTION, true, "Your question")
}

/// An answer, trimmed: plain text of 1 to [`MAX_ANSWER`] characters.
pub fn check_answer(answer: &str) -> Result<String, TextError> {
    plain("answer", answer, 1, MAX_ANSWER, true, "The answer")
}

/// A display name, trimmed: one line of 1 to [`MAX_DISPLAY_NAME`] characters;
/// empty means "show my username" (`None`).
pub fn check_display_name(name: &str) -> Result<Option<String>, TextError> {
    if name.trim().is_empty() {
        return Ok(None);
    }
    let name = plain("display_name", name, 1, MAX_DISPLAY_NAME, false, "A display name")?;
    if RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(&name)) {
        return Err(("display_name", format!("\"{name}\" is how the shop signs; choose another name")));
    }
    Ok(Some(name))
}

/// Names the shop signs with: nobody may take them.
const RESERVED_NAMES: [&str; 4] = ["The shop", "A shopper", "A former shopper", "livecart"];

/// "12 questions, 9 answered", "1 question", or nothing.
pub fn question_counts(questions: i64, answered: i64) -> Option<String> {
    match (questions, answered) {
        (q, _) if q <= 0 => None,
        (1, 1) => Some("1 question, answered".into()),
        (1, _) => Some("1 question".into()),
        (q, 0) => Some(format!("{q} questions")),
        (q, a) => Some(format!("{q} questions, {a} answered")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(id: i64, votes: i64, answered: bool) -> Question {
        Question {
            id: QuestionId(id),
            product_id: ProductId(1),
            product_name: "Tea".into(),
            author: "ann".into(),
            author_hidden: false,
            body: "Is it loose leaf?".into(),
            votes,
            asked_at: "2026-11-30T10:00:00Z".into(),
            answer: answered.then(|| "Yes.".into()),
            answered_at: None,
        }
    }

    #[test]
    fn questions_sort_by_votes_then_age_and_the_queue_by_unanswered_then_newest() {
        let mut board = [question(3, 1, false), question(1, 5, true), question(2, 1, false)];
        board.sort_by_key(Keyed::sort_key);
        assert_eq!(board.iter().map(|q| q.id.0).collect::<Vec<_>>(), [1, 2, 3]);
        let mut queue: Vec<QueuedQuestion> = board.into_iter().map(QueuedQuestion).collect();
        queue.sort_by_key(Keyed::sort_key);
        assert_eq!(queue.iter().map(|q| q.0.id.0).collect::<Vec<_>>(), [3, 2, 1]);
    }

    #[test]
    fn what_people_write_is_plain_text_within_limits() {
        assert_eq!(check_question("  Does it fit a 60 cm shelf?  "), Ok("Does it fit a 60 cm shelf?".into()));
        assert!(check_question("Two lines?\nYes.").is_ok());
        for bad in ["", "Hm?", "NUL\0in it?", &"x".repeat(MAX_QUESTION + 1)] {
            assert_eq!(check_question(bad).map_err(|e| e.0), Err("body"), "{bad:?}");
        }
        assert_eq!(check_display_name("  "), Ok(None));
        assert_eq!(check_display_name(" Ann L. "), Ok(Some("Ann L.".into())));
        assert!(check_display_name("Ann\nL").is_err());
        assert!(check_display_name(&"n".repeat(41)).is_err());
        assert!(check_display_name(" the SHOP ").is_err(), "nobody signs as the shop");
        assert!(check_answer("").is_err());
        assert!(check_answer("Yes, it does.").is_ok());
    }

    #[test]
    fn counts_read_as_words() {
        assert_eq!(question_counts(0, 0), None);
        assert_eq!(question_counts(1, 0).as_deref(), Some("1 question"));
        assert_eq!(question_counts(1, 1).as_deref(), Some("1 question, answered"));
        assert_eq!(question_counts(12, 9).as_deref(), Some("12 questions, 9 answered"));
        assert_eq!(question_counts(3, 0).as_deref(), Some("3 questions"));
    }
}
