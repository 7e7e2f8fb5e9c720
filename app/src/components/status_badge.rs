use leptos::prelude::*;

use crate::model::OrderStatus;

#[component]
pub fn StatusBadge(#[prop(into)] status: Signal<OrderStatus>) -> impl IntoView {
    let class = move || match status.get() {
        OrderStatus::Cancelled => "badge badge-out",
        OrderStatus::Delivered => "badge badge-in",
        OrderStatus::Placed | OrderStatus::Paid | OrderStatus::Shipped => "badge badge-low",
    };
    view! { <span class=class data-test-id="order-status">{move || status.get().label()}</span> }
}
