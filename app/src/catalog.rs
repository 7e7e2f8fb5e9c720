//! The catalog: the product list with its category filter, and product pages.

pub mod api;
mod list_page;
mod product_card;
mod product_page;

pub use list_page::CatalogPage;
pub use product_card::ProductCard;
pub use product_page::ProductPage;
