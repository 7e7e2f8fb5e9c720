use leptos::prelude::*;

use super::Cart;
use crate::model::ProductId;

/// "Add to cart", disabled when nothing is left.
#[component]
pub fn AddToCart(product_id: ProductId, #[prop(into)] stock: Signal<i64>, #[prop(optional)] large: bool) -> impl IntoView {
    let cart = expect_context::<Cart>();
    let added = RwSignal::new(false);
    let ready = cart.ready_here();
    view! {
        <button
            type="button"
            class="add-to-cart"
            class:button-large=large
            data-test-id="add-to-cart"
            disabled=move || stock.get() <= 0 || !ready.get()
            on:click=move |_| {
                cart.add(product_id, 1);
                added.set(true);
            }
        >
            {move || match (stock.get() <= 0, added.get()) {
                (true, _) => "Sold out",
                (false, true) => "Added ✓",
                (false, false) => "Add to cart",
            }}
        </button>
    }
}
