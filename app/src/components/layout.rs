use leptos::prelude::*;
use leptos_router::components::A;

use crate::AuthActions;
use crate::account::api::Logout;
use crate::cart::Cart;
use crate::live::{ConnStatus, LiveClient};

#[component]
pub fn Header() -> impl IntoView {
    view! {
        <header class="site-header">
            <div class="container header-row">
                <a href="/" class="brand" aria-label="livecart: the shop">
                    <img src="/favicon.svg" alt="" width="28" height="28"/>
                    <span>"livecart"</span>
                </a>
                <nav class="header-nav" aria-label="Main">
                    <A href="/">"Shop"</A>
                    <A href="/orders">"Orders"</A>
                </nav>
                <ConnectionBadge/>
                <UnreadMessages/>
                <CartLink/>
                <UserMenu/>
                <PhoneMenu/>
            </div>
            <LiveNotice/>
        </header>
    }
}

/// For a signed-in customer with messages from the shop not read yet: a
/// link to the conversation, live (the customer's `orders:{id}` carries each
/// order's unread count).
#[component]
fn UnreadMessages() -> impl IntoView {
    let actions = expect_context::<AuthActions>();
    // Under the user's resource, so it follows signing in and out. (A
    // resource keyed by the user lost hydration: on the server the user is
    // not loaded when the key is first read.)
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match actions.user.await.ok().flatten() {
                    Some(user) if !user.is_staff => unread_link(user.id).await,
                    _ => ().into_any(),
                }
            })}
        </Transition>
    }
}

/// The link, for a signed-in customer. In a split build its code (the
/// customer's orders, live) is a file of its own, loaded only when a customer
/// is signed in: a first visit does not download it.
#[cfg_attr(wasm_split, leptos::lazy)]
async fn unread_link(customer: crate::model::CustomerId) -> AnyView {
    match crate::orders::conversation_api::my_unread().await {
        Ok(snapshot) => view! { <UnreadLink customer snapshot/> }.into_any(),
        Err(_) => ().into_any(),
    }
}

#[component]
fn UnreadLink(customer: crate::model::CustomerId, snapshot: crate::protocol::Snapshot<Vec<crate::model::OrderSummary>>) -> impl IntoView {
    let orders = crate::live::use_live_collection(crate::protocol::Topic::Orders(customer), snapshot);
    let unread = move || orders.with(|os| os.iter().map(|o| o.conversation.unread_by_customer).sum::<i64>());
    let href = move || {
        orders
            .with(|os| os.iter().find(|o| o.conversation.unread_by_customer > 0).map(|o| format!("/orders/{}#conversation", o.id)))
            .unwrap_or_else(|| "/orders".to_string())
    };
    move || {
        let n = unread();
        (n > 0).then(|| {
            let label = if n == 1 { "1 new message from the shop".to_string() } else { format!("{n} new messages from the shop") };
            view! {
                <a href=href class="unread-link" data-test-id="unread-messages" aria-label=label.clone() title=label>
                    <span aria-hidden="true">"✉"</span>
                    <span class="unread-count">{n}</span>
                </a>
            }
        })
    }
}

#[component]
fn CartLink() -> impl IntoView {
    let cart = expect_context::<Cart>();
    view! {
        <a href="/cart" class="cart-link" data-test-id="cart-link">
            "Cart"
            <span class="cart-count needs-js" data-test-id="cart-count">{move || cart.count()}</span>
        </a>
    }
}

#[component]
fn UserMenu() -> impl IntoView {
    let actions = expect_context::<AuthActions>();
    view! {
        <Transition fallback=|| view! { <span class="user-menu"></span> }>
            {move || Suspend::new(async move {
                match actions.user.await.ok().flatten() {
                    Some(user) => view! {
                        <div class="user-menu">
                            {user.is_staff.then(|| view! { <a href="/admin" class="staff-link" data-test-id="staff-link">"Staff console"</a> })}
                            <span class="user-name" data-test-id="signed-in-as">{user.username}</span>
                            <SignOutForm logout=actions.logout/>
                        </div>
                    }
                    .into_any(),
                    None => view! {
                        <div class="user-menu">
                            <A href="/login">"Sign in"</A>
                            <a href="/register" class="button button-small">"Register"</a>
                        </div>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

/// "Sign out": a form that posts to `logout`, so it works without wasm too;
/// with wasm the action is dispatched and the form not sent. (Not an
/// `ActionForm`: that reads its fields into the arguments with serde_qs, a
/// parser the first visit's wasm would carry only for a form that has none.)
#[component]
fn SignOutForm(logout: ServerAction<Logout>) -> impl IntoView {
    use leptos::server_fn::ServerFn as _;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        logout.dispatch(Logout {});
    };
    view! {
        <form method="post" action=Logout::url() class="inline-form" on:submit=submit>
            <button type="submit" class="link-button">"Sign out"</button>
        </form>
    }
}

/// The navigation on a phone, where the header has room for the brand, the
/// connection, the cart and this button only. A `<details>`: it opens and
/// closes without JavaScript too; following a link closes it.
#[component]
fn PhoneMenu() -> impl IntoView {
    let actions = expect_context::<AuthActions>();
    let menu = NodeRef::<leptos::html::Details>::new();
    let close = move |_| {
        if let Some(details) = menu.get() {
            details.set_open(false);
        }
    };
    view! {
        <details class="phone-menu" node_ref=menu data-test-id="phone-menu">
            <summary>
                <span class="phone-menu-icon" aria-hidden="true"></span>
                "Menu"
            </summary>
            <nav class="phone-menu-panel" aria-label="Main">
                <A href="/" on:click=close>"Shop"</A>
                <A href="/orders" on:click=close>"Your orders"</A>
                <A href="/cart" on:click=close>"Cart"</A>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match actions.user.await.ok().flatten() {
                            Some(user) => view! {
                                {user.is_staff.then(|| view! { <A href="/admin" on:click=close>"Staff console"</A> })}
                                <p class="phone-menu-user">"Signed in as " <strong>{user.username}</strong></p>
                                <SignOutForm logout=actions.logout/>
                            }
                            .into_any(),
                            None => view! {
                                <A href="/login" on:click=close>"Sign in"</A>
                                <A href="/register" on:click=close>"Register"</A>
                            }
                            .into_any(),
                        }
                    })}
                </Transition>
            </nav>
        </details>
    }
}

/// A small dot that says whether the page is receiving live updates.
#[component]
pub fn ConnectionBadge() -> impl IntoView {
    let status = use_context::<LiveClient>().map(|l| l.status()).unwrap_or_else(|| Signal::from(ConnStatus::Connecting));
    view! {
        <span
            class="conn needs-js"
            data-test-id="connection"
            data-state=move || status.get().as_str()
            title="Prices and stock update live while this says Live"
        >
            <span class="conn-dot"></span>
            <span class="conn-label">{move || status.get().label()}</span>
        </span>
    }
}

/// Says so when the page stopped updating because the server refused one of
/// its topics (after signing out in another tab, say), instead of looking live.
#[component]
fn LiveNotice() -> impl IntoView {
    let notice = use_context::<LiveClient>().map(|l| l.notice()).unwrap_or_else(|| Signal::from(None));
    // Signed out elsewhere: the header should say so too, not show the old name.
    if let Some(actions) = use_context::<AuthActions>() {
        Effect::new(move |_| {
            if notice.get().is_some() {
                actions.user.refetch();
            }
        });
    }
    view! {
        {move || notice.get().map(|text| view! {
            <div class="live-notice" role="alert" data-test-id="live-notice">
                <div class="container">
                    {text}" "
                    <a href="" rel="external">"Reload the page"</a>
                </div>
            </div>
        })}
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
