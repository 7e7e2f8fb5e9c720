//! Wire types shared by the server and the browser, defined once.
//!
//! The server makes every frame, snapshot and page from these types
//! (`server::db` reads the rows, `src/realtime/mapper.rs` turns change-log
//! facts into frames); the database holds no JSON. Adding a field is a change
//! here, in the row that fills it, and a column migration.

mod conversation;
mod ids;
mod listing;
mod money;
mod order;
mod product;
mod question;

pub use conversation::{ConversationCounts, ConversationView, InboxEntry, MAX_MESSAGE, MESSAGE_PAGE, Message, UnreadOrder, check_message};
pub use ids::{CategorySlug, CustomerId, IdError, MessageId, OrderId, ProductId, QuestionId};
pub use listing::{COUNT_CAP, CatalogQuery, MAX_SEARCH_CHARS, MAX_SEARCH_WORDS, PAGE_SIZE, ProductPage, Sort};
pub use money::{Currency, Money};
pub use order::{Address, CartLine, Order, OrderLine, OrderStatus, OrderSummary, User};
pub use product::{Category, Keyed, PLACEHOLDER_IMAGES, Product, ProductDraft, ProductSummary, StaffProduct, check_stock};
pub use question::{
    Asker, BOARD_LIMIT, MAX_ANSWER, MAX_DISPLAY_NAME, MAX_QUESTION, MIN_QUESTION, QUEUE_LIMIT, Question, QuestionBoard, QueuedQuestion,
    check_answer, check_display_name, check_question, question_counts,
};

/// Whether `text` holds a control character (NUL, escape, bidi overrides are not
/// controls but are harmless once escaped): nothing people type on a keyboard,
/// and SQLite's `length()` stops at a NUL. Line breaks and tabs are allowed
/// where `multiline`.
pub fn has_control(text: &str, multiline: bool) -> bool {
    text.chars().any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
}
