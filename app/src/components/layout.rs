use leptos::prelude::*;
use leptos_router::components::A;

use crate::live::{ConnStatus, LiveClient};

#[component]
pub fn Header() -> impl IntoView {
    view! {
        <header class="site-header">
            <div class="container header-row">
                <A href="/" attr:class="brand">
                    <img src="/favicon.svg" alt="" width="28" height="28"/>
                    <span>"livecart"</span>
                </A>
                <nav class="header-nav" aria-label="Main">
                    <A href="/">"Shop"</A>
                </nav>
                <ConnectionBadge/>
            </div>
        </header>
    }
}

/// A small dot that says whether the page is receiving live updates.
#[component]
pub fn ConnectionBadge() -> impl IntoView {
    let status = use_context::<LiveClient>().map(|l| l.status()).unwrap_or_else(|| Signal::from(ConnStatus::Connecting));
    view! {
        <span
            class="conn"
            data-test-id="connection"
            data-state=move || status.get().as_str()
            title="Prices and stock update live while this says Live"
        >
            <span class="conn-dot"></span>
            <span class="conn-label">{move || status.get().label()}</span>
        </span>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <div class="container">
                <p>"livecart — prices, stock and sales update live. Built with Rust, Leptos and axum."</p>
            </div>
        </footer>
    }
}
