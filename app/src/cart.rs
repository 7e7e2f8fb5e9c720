//! The cart: kept in the browser (localStorage), so it survives reloads and
//! signing in; bought through `place_order`.

mod add_button;
mod page;
mod store;
mod toast;

pub use add_button::AddToCart;
pub use page::CartPage;
pub use store::Cart;
pub use toast::{Toast, ToastRegion};
