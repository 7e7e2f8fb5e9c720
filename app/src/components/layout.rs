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
    // Both loaded with the page, keyed like the user by signing in and out
    // (a resource keyed by the user itself lost hydration: on the server the
    // user is not loaded when the key is first read). So while hydrating,
    // the link is there at once, as the server rendered it.
    let unread = crate::json::load(move || actions.versions(), |_| crate::orders::conversation_api::my_unread());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match (actions.user.await, unread.await) {
                    (Ok(Some(user)), Ok(snapshot)) if !user.is_staff => view! { <UnreadLink customer=user.id snapshot/> }.into_any(),
                    _ => ().into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn UnreadLink(customer: crate::model::CustomerId, snapshot: crate::protocol::Snapshot<Vec<crate::model::UnreadOrder>>) -> impl IntoView {
    let crate::protocol::Snapshot { seq, data } = snapshot;
    let orders = RwSignal::new(data);
    #[cfg(feature = "hydrate")]
    {
        // The link works without this: following is code of its own, loaded
        // once the page is up (a visitor or staff never load it). If it
        // cannot be loaded (the network, or a deploy that replaced it), the
        // link keeps what the page was served with and the load is tried
        // again a few times (2 s, 4 s, ... apart; a file gone for good is
        // not asked for forever); the page goes on working.
        let live = expect_context::<crate::live::LiveClient>();
        leptos::task::spawn_local_scoped_with_cancellation(async move {
            let mut wait = std::time::Duration::from_secs(2);
            for _ in 0..6 {
                #[cfg(wasm_split)]
                let followed = follow_unread(live, customer, seq, orders).await;
                #[cfg(not(wasm_split))]
                let followed = follow_unread(live, customer, seq, orders);
                match followed {
                    Ok(id) => {
                        on_cleanup(move || live.unsubscribe(id));
                        break;
                    }
                    Err(err) => leptos::logging::warn!("unread messages: not following them live yet: {err}"),
                }
                gloo_timers::future::sleep(wait).await;
                wait *= 2;
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (customer, seq);
    let unread = move || orders.with(|os| os.iter().map(|o| o.messages).sum::<i64>());
    // The newest order with a message waiting.
    let href = move || {
        orders
            .with(|os| os.iter().map(|o| o.order).max().map(|id| format!("/orders/{id}#conversation")))
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

/// Keeps `orders` current from `orders:{customer}`, from `seq` on. In a split
/// build a file of its own (it reads the customer's whole order summaries),
/// loaded when a signed-in customer has a page open; `async` there, and
/// fallible: a file that fails to load is an `Err`, not a panic (Leptos'
/// `#[lazy]` would panic, which stops the whole page).
#[cfg(feature = "hydrate")]
#[cfg_attr(wasm_split, leptos::wasm_split::wasm_split(follow_unread, wasm_split_path = ::leptos::wasm_split, fallible))]
fn follow_unread(
    live: crate::live::LiveClient,
    customer: crate::model::CustomerId,
    seq: crate::protocol::Seq,
    orders: RwSignal<Vec<crate::model::UnreadOrder>>,
) -> Result<crate::live::SubscriptionId, leptos::wasm_split::SplitLoaderError> {
    use crate::model::{OrderSummary, UnreadOrder};
    let topic = crate::protocol::Topic::Orders(customer);
    Ok(crate::live::follow_collection(live, topic, Some(seq), orders, |o: OrderSummary| UnreadOrder::of(&o)))
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
