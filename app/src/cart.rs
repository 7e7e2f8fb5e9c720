//! The cart: kept in the browser (localStorage), so it survives reloads and
//! signing in; bought through `place_order`. Without JavaScript, kept in the
//! session instead and changed by form posts (`session_cart`).

mod add_button;
mod holders;
mod page;
mod session_cart;
mod store;
mod toast;

pub use add_button::AddToCart;
pub use holders::{CartHolders, in_other_carts};
pub use page::CartPage;
pub use session_cart::{
    CartAdd, CartCheckout, CartUpdate, Notice, SessionCart, SessionCartView, TakeSessionCart, session_cart, take_session_cart,
};
pub use store::Cart;
pub use toast::{Toast, ToastRegion};
