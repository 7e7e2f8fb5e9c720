//! Wire types shared by the server and the browser, defined once.
//!
//! The JSON shape of [`ProductSummary`] and [`Product`] is also produced by the
//! database (the `product_json` view behind the change-log triggers), so a field
//! renamed here must be renamed in both migrations; the integration tests decode
//! every trigger payload with these types and catch a mismatch.

mod ids;
mod money;
mod order;
mod product;

pub use ids::{CategorySlug, CustomerId, IdError, OrderId, ProductId};
pub use money::{Currency, Money};
pub use order::{Address, CartLine, Order, OrderLine, OrderStatus, OrderSummary, User};
pub use product::{Category, Keyed, Product, ProductDraft, ProductSummary, StaffProduct, check_stock};
