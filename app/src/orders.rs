//! Checkout and the customer's live order history.

pub mod api;
mod list_page;
mod order_page;

pub use list_page::OrdersPage;
pub use order_page::OrderPage;
