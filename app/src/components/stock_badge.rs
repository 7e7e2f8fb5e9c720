use leptos::prelude::*;

/// How many are left, at a glance.
#[component]
pub fn StockBadge(#[prop(into)] stock: Signal<i64>) -> impl IntoView {
    let class = move || match stock.get() {
        0 => "badge badge-out",
        1..=9 => "badge badge-low",
        _ => "badge badge-in",
    };
    let text = move || match stock.get() {
        0 => "Out of stock".to_string(),
        n @ 1..=9 => format!("Only {n} left"),
        n => format!("{n} in stock"),
    };
    view! { <span class=class data-test-id="stock">{text}</span> }
}
