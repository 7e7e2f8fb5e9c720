use leptos::prelude::*;

use crate::model::Money;

/// A price, formatted with its currency.
#[component]
pub fn Price(#[prop(into)] amount: Signal<Money>, #[prop(optional)] large: bool) -> impl IntoView {
    view! {
        <span class="price" class:price-large=large data-test-id="price">
            {move || amount.get().to_string()}
        </span>
    }
}
