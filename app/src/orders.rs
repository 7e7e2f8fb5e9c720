//! Checkout, the customer's live order history, and each order's conversation.

pub mod api;
mod conversation;
pub mod conversation_api;
mod list_page;
mod order_page;

pub use conversation::Conversation;
pub use list_page::OrdersPage;
pub use order_page::OrderPage;
