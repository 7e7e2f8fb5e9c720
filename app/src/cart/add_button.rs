use std::time::Duration;

use leptos::prelude::*;

use super::{Cart, CartAdd, Toast};
use crate::model::ProductId;
use leptos::server_fn::ServerFn as _;

/// How long "Added ✓" shows before the button offers to add another.
const ADDED_FOR: Duration = Duration::from_millis(1500);

/// "Add to cart": disabled when nothing is left, or when the cart already
/// holds all there is; says "Added ✓" for a moment after each tap.
///
/// A form that posts to the session's cart (`cart_add`) until the page's code
/// runs, so a tap works without JavaScript and before hydration; from then on
/// the tap adds to the browser's cart and the post is not sent.
#[component]
pub fn AddToCart(
    product_id: ProductId,
    /// The product's name, for the "Added … to your cart" message.
    #[prop(into)]
    name: String,
    #[prop(into)] stock: Signal<i64>,
    #[prop(optional)] large: bool,
    /// On a card: out of the Tab order (the card's link is its one stop).
    #[prop(optional)]
    quick: bool,
) -> impl IntoView {
    let cart = expect_context::<Cart>();
    let toast = use_context::<Toast>();
    let name = StoredValue::new(name);
    // Counts taps, so a second tap keeps "Added ✓" up for its own moment.
    let added = RwSignal::new(0_u32);
    let ready = cart.ready_here();
    let in_cart = move || if ready.get() { cart.quantity_of(product_id) } else { 0 };
    let all_in_cart = move || stock.get() > 0 && in_cart() >= stock.get();
    let full = move || ready.get() && !cart.lines().with(|_| cart.has_room_for(product_id));
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !ready.get_untracked() || !cart.add(product_id, 1) {
            return;
        }
        if let Some(toast) = toast {
            let count = cart.count();
            let items = if count == 1 { "1 item".to_string() } else { format!("{count} items") };
            toast.show(format!("Added {} to your cart ({items}).", name.get_value()));
        }
        added.update(|n| *n += 1);
        let tap = added.get_untracked();
        set_timeout(
            move || {
                if added.try_get_untracked() == Some(tap) {
                    added.set(0);
                }
            },
            ADDED_FOR,
        );
    };
    view! {
        <form method="post" action=CartAdd::url() class="add-to-cart-form" on:submit=add>
            <input type="hidden" name="product" value=product_id.0/>
            <button
                type="submit"
                class="add-to-cart"
                class:button-large=large
                data-test-id="add-to-cart"
                tabindex=quick.then_some("-1")
                disabled=move || stock.get() <= 0 || (ready.get() && (all_in_cart() || full()))
            >
                {move || {
                    if stock.get() <= 0 {
                        "Sold out".to_string()
                    } else if all_in_cart() {
                        format!("All {} in your cart", stock.get())
                    } else if full() {
                        format!("Cart full ({} products)", Cart::MAX_LINES)
                    } else if added.get() > 0 {
                        "Added ✓".to_string()
                    } else {
                        "Add to cart".to_string()
                    }
                }}
            </button>
        </form>
    }
}
