use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use leptos::server_fn::ServerFn as _;

use super::{Cart, CartCheckout, CartHolders, CartUpdate, SessionCartView, in_other_carts, session_cart, take_session_cart};
use crate::account::api::current_user;
use crate::catalog::api::products_by_id;
use crate::components::{ErrorBox, Price, StockBadge, announce_changes};
use crate::live::use_live_cards;
use crate::model::{Address, CartLine, Money, ProductId, ProductSummary, User};
use crate::orders::api::PlaceOrder;

/// `/cart`: the lines with live prices and stock, the address, and checkout.
/// Reads and follows only the products in the cart (their `card:` topics).
#[component]
pub fn CartPage() -> impl IntoView {
    let cart = expect_context::<Cart>();
    // The products to read: a new line reads again, a new quantity does not.
    // Empty until this page has hydrated, as on the server: a resource's
    // first value comes from the server's render, and the client must ask
    // with the cart's ids afterwards, as a change.
    let ready = cart.ready_here();
    let ids = Memo::new(move |_| {
        if !ready.get() {
            return Vec::new();
        }
        let mut ids: Vec<i64> = cart.lines().with(|ls| ls.iter().map(|l| l.product_id.0).collect());
        ids.sort_unstable();
        ids.dedup();
        ids
    });
    // With the ids asked for: a line added since is still being read, not gone.
    // No ids, no request: a page opened by a client-side move reads at once
    // with the cart's ids, which a pending first request would hold back.
    let products = crate::json::load(
        move || ids.get(),
        |ids| async move {
            if ids.is_empty() {
                return Ok((ids, crate::protocol::Snapshot { seq: crate::protocol::Seq(0), data: Vec::new() }));
            }
            products_by_id(ids.clone()).await.map(|s| (ids, s))
        },
    );
    let user = crate::json::load(|| (), |()| current_user());
    // The cart kept in the session by form posts (no JavaScript, or a tap
    // before this page's code ran): shown as the server rendered it, then
    // moved into this browser's cart.
    let session = crate::json::load(|| (), |()| session_cart());
    let merged = RwSignal::new(false);
    let toast = use_context::<super::Toast>();
    Effect::new(move |_| {
        if !ready.get() || merged.get_untracked() {
            return;
        }
        match session.get() {
            Some(Ok(saved)) if !saved.lines.is_empty() => leptos::task::spawn_local(async move {
                if let Ok(lines) = take_session_cart().await {
                    let left_out = lines.into_iter().filter(|line| !cart.add(line.product_id, line.quantity)).count();
                    if let (true, Some(toast)) = (left_out > 0, toast) {
                        toast.show(format!("{left_out} products did not fit: a cart holds {} at most.", Cart::MAX_LINES));
                    }
                }
                merged.set(true);
            }),
            Some(_) => merged.set(true),
            None => {}
        }
    });
    view! {
        <leptos_meta::Title text="Your cart · livecart"/>
        <h1 class="page-title">"Your cart"</h1>
        <Transition fallback=|| view! { <p class="empty">"Loading your cart…"</p> }>
            {move || Suspend::new(async move {
                let user = user.await.ok().flatten();
                let saved = session.await.unwrap_or_default();
                let notice = saved.notice.clone().map(|n| view! {
                    <p class="cart-notice" class:cart-notice-problem=n.problem role="status" data-test-id="cart-notice">{n.text}</p>
                });
                match products.await {
                    Ok((asked, snapshot)) => {
                        let catalog = use_live_cards(snapshot);
                        view! { {notice} <CartContents cart catalog asked user saved merged/> }.into_any()
                    }
                    Err(err) => view! { <ErrorBox message=err.sentence()/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A cart line's picture, name, live price and stock, and what is wrong with it.
#[component]
fn LineInfo(
    id: ProductId,
    name: String,
    product: Option<ProductSummary>,
    warning: Option<String>,
    /// "Price changed from $X to $Y", when it moved while the page was open.
    changed: Option<String>,
) -> impl IntoView {
    view! {
        {product.clone().map(|p| view! { <img src=p.image alt="" width="96" height="72"/> })}
        <div class="cart-line-info">
            <A href=format!("/products/{id}")>{name}</A>
            {product.map(|p| view! {
                <div class="card-row">
                    <Price amount=p.price/>
                    <StockBadge stock=p.stock/>
                </div>
            })}
            {warning.map(|w| view! { <p class="line-warning" data-test-id="line-warning">{w}</p> })}
            {changed.map(|text| view! { <p class="line-note" data-test-id="price-changed">{text}</p> })}
            <InOtherCarts id/>
        </div>
    }
}

/// "In 2 other carts", live, once other carts hold the line's product.
#[component]
fn InOtherCarts(id: ProductId) -> impl IntoView {
    let holders = use_context::<CartHolders>();
    move || {
        let text = holders.and_then(|h| h.others(id)).and_then(in_other_carts)?;
        Some(view! { <p class="line-note in-carts" data-test-id="in-other-carts">{text}</p> })
    }
}

/// What keeps a line from being bought, in words (`None`: nothing).
fn line_problem(line: &CartLine, product: Option<&ProductSummary>) -> Option<String> {
    match product {
        None => Some("This product is no longer available".to_string()),
        Some(p) if p.stock == 0 => Some("Sold out".to_string()),
        Some(p) if p.stock < line.quantity => Some(format!("Only {} left: lower the quantity", p.stock)),
        Some(_) => None,
    }
}

#[component]
fn CartContents(
    cart: Cart,
    catalog: Signal<Vec<ProductSummary>>,
    asked: Vec<i64>,
    user: Option<User>,
    saved: SessionCartView,
    merged: RwSignal<bool>,
) -> impl IntoView {
    let saved = StoredValue::new(saved);
    let asked = StoredValue::new(asked);
    // Prices as this page first showed them: a live change says from what to what.
    let first_prices: StoredValue<Vec<(ProductId, Money)>> =
        StoredValue::new(catalog.with_untracked(|all| all.iter().map(|p| (p.id, p.price)).collect()));
    let price_change = move |p: &ProductSummary| {
        first_prices.with_value(|seen| seen.iter().find(|(id, _)| *id == p.id).map(|(_, was)| *was)).filter(|was| *was != p.price)
    };
    let product = move |line: &CartLine| catalog.with(|all| all.iter().find(|p| p.id == line.product_id).cloned());
    // A price that moves while the cart is open is said, not only shown.
    announce_changes(
        move || catalog.with(|all| all.iter().map(|p| (p.id, p.name.clone(), p.price)).collect::<Vec<_>>()),
        |before, now| {
            let words: Vec<String> = now
                .iter()
                .filter_map(|(id, name, price)| {
                    let (_, _, was) = before.iter().find(|(was_id, _, _)| was_id == id)?;
                    (was != price).then(|| format!("The price of {name} changed from {was} to {price}."))
                })
                .collect();
            (!words.is_empty()).then(|| words.join(" "))
        },
    );
    // A line added since the products were read (another tab): being read.
    let pending = move |line: &CartLine| !asked.with_value(|a| a.contains(&line.product_id.0));
    // A line that cannot be filled, with why.
    let problem = move |line: &CartLine| match product(line) {
        None if pending(line) => None,
        p => line_problem(line, p.as_ref()),
    };
    // What can be bought: lines with a problem (sold out, gone) are left out.
    let total = Memo::new(move |_| {
        cart.lines().with(|ls| {
            ls.iter()
                .filter(|l| problem(l).is_none())
                .filter_map(|l| product(l).and_then(|p| p.price.checked_mul(l.quantity)))
                .fold(Money::usd(0), |a, b| a.checked_add(b).unwrap_or(a))
        })
    });
    let items = Memo::new(move |_| {
        cart.lines().with(|ls| ls.iter().filter(|l| problem(l).is_none() && product(l).is_some()).map(|l| l.quantity).sum::<i64>())
    });
    // Why "Place order" cannot be pressed, in words (`None`: it can).
    let blocked = Memo::new(move |_| {
        cart.lines().with(|ls| {
            if ls.is_empty() {
                Some("Your cart is empty.".to_string())
            } else if ls.iter().any(|l| problem(l).is_some()) {
                Some("Remove the lines marked in red, or lower their quantity, to place your order.".to_string())
            } else if ls.iter().any(pending) {
                Some("Checking the latest prices and stock…".to_string())
            } else {
                None
            }
        })
    });
    let user = StoredValue::new(user);
    let ready = cart.ready_here();

    view! {
        <Show
            when=move || ready.get() && merged.get()
            fallback=move || view! { <ServerCart saved=saved.get_value() user=user.get_value()/> }
        >
            <Show
                when=move || !cart.lines().with(Vec::is_empty)
                fallback=|| view! {
                    <div class="empty" data-test-id="cart-empty">
                        <p>"Your cart is empty."</p>
                        <A href="/" attr:class="button">"Browse the shop"</A>
                    </div>
                }
            >
                <div class="cart-layout">
                    <div class="cart-lines" data-test-id="cart-lines">
                        <For each=move || cart.lines().get() key=|l| *l let:line>
                            {move || {
                                let p = product(&line);
                                let warning = problem(&line);
                                let id = line.product_id;
                                let flagged = warning.is_some();
                                let name = p.as_ref().map_or_else(|| format!("Product {id}"), |p| p.name.clone());
                                let changed = p.as_ref().and_then(|p| price_change(p).map(|was| format!("Price changed from {was} to {}", p.price)));
                                view! {
                                    <div class="cart-line" data-test-id="cart-line" data-product-id=id.0 class:cart-line-problem=flagged>
                                        <LineInfo id name product=p warning changed/>
                                        <label class="qty">
                                            <span class="sr-only">"Quantity"</span>
                                            <input
                                                type="number"
                                                min="1"
                                                max=CartLine::MAX_QUANTITY
                                                prop:value=line.quantity
                                                data-test-id="quantity"
                                                on:change=move |ev| {
                                                    if let Ok(q) = event_target_value(&ev).parse::<i64>() {
                                                        cart.set_quantity(id, q);
                                                    }
                                                }
                                            />
                                        </label>
                                        <button type="button" class="link-button" on:click=move |_| cart.remove(id)>"Remove"</button>
                                    </div>
                                }
                            }}
                        </For>
                    </div>
                    <aside class="checkout">
                        <Totals items total/>
                        {match user.get_value() {
                            None => view! {
                                <p>"Sign in to check out. Your cart stays here."</p>
                                <A href="/login?next=/cart" attr:class="button">"Sign in"</A>
                            }
                            .into_any(),
                            Some(user) => view! { <CheckoutForm cart user blocked/> }.into_any(),
                        }}
                    </aside>
                </div>
            </Show>
        </Show>
    }
}

#[component]
fn CheckoutForm(cart: Cart, user: User, blocked: Memo<Option<String>>) -> impl IntoView {
    let saved = user.address.unwrap_or_default();
    let name = RwSignal::new(saved.name);
    let street = RwSignal::new(saved.street);
    let city = RwSignal::new(saved.city);
    let region = RwSignal::new(saved.region);
    let postal_code = RwSignal::new(saved.postal_code);
    let country = RwSignal::new(saved.country);
    let place = ServerAction::<PlaceOrder>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = place.value().get() {
            cart.clear();
            // The order page, thanking and saying what happens next.
            navigate(&format!("/orders/{id}?placed=1"), Default::default());
        }
    });
    let error = move || place.value().get().and_then(Result::err);
    let field_error = move |name: &'static str| move || error().and_then(|e| e.field_message(name));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let address = Address {
            name: name.get(),
            street: street.get(),
            city: city.get(),
            region: region.get(),
            postal_code: postal_code.get(),
            country: country.get(),
        };
        place.dispatch(PlaceOrder { lines: cart.lines().get_untracked(), address, idempotency_key: cart.key() });
    };
    let signals = [name, street, city, region, postal_code, country];
    let fields = ADDRESS_FIELDS
        .iter()
        .zip(signals)
        .map(|(&(label, name, autocomplete), value)| {
            view! {
                <label class="field">
                    <span>{label}</span>
                    <input name=name autocomplete=autocomplete required maxlength="200" bind:value=value/>
                    <small class="field-error">{field_error(name)}</small>
                </label>
            }
        })
        .collect_view();
    view! {
        <form class="checkout-form" on:submit=submit data-test-id="checkout-form">
            <h2>"Deliver to"</h2>
            {fields}
            // The error above the button, where a phone shows it; after a lost
            // answer the same button tries again with the same idempotency key,
            // so it buys once.
            {move || error().filter(|e| !matches!(e, crate::error::AppError::Validation { .. })).map(|e| view! { <ErrorBox message=e.sentence()/> })}
            <button type="submit" class="button button-large" data-test-id="place-order" disabled=move || blocked.get().is_some() || place.pending().get()>
                {move || {
                    if place.pending().get() {
                        "Placing your order…"
                    } else if error().is_some_and(|e| e.is_retryable()) {
                        "Try again"
                    } else {
                        "Place order"
                    }
                }}
            </button>
            {move || blocked.get().map(|why| view! { <p class="why-blocked" data-test-id="why-blocked">{why}</p> })}
        </form>
    }
}

/// Subtotal, delivery and total of what can be bought.
#[component]
fn Totals(items: Memo<i64>, total: Memo<Money>) -> impl IntoView {
    view! {
        <dl class="totals" data-test-id="totals">
            <div>
                <dt>{move || match items.get() {
                    1 => "Subtotal (1 item)".to_string(),
                    n => format!("Subtotal ({n} items)"),
                }}</dt>
                <dd data-test-id="subtotal"><Price amount=Signal::derive(move || total.get())/></dd>
            </div>
            <div>
                <dt>"Delivery"</dt>
                <dd>"Free"</dd>
            </div>
            <div class="total-row">
                <dt>"Total"</dt>
                <dd data-test-id="total"><Price amount=Signal::derive(move || total.get()) large=true/></dd>
            </div>
        </dl>
    }
    .into_any()
}

/// The address form's fields, in order: label, name, autocomplete.
const ADDRESS_FIELDS: [(&str, &str, &str); 6] = [
    ("Full name", "name", "name"),
    ("Street", "street", "street-address"),
    ("City", "city", "address-level2"),
    ("Region", "region", "address-level1"),
    ("Postal code", "postal_code", "postal-code"),
    ("Country", "country", "country-name"),
];

/// An address's values in [`ADDRESS_FIELDS`] order.
fn address_values(a: Address) -> [String; 6] {
    [a.name, a.street, a.city, a.region, a.postal_code, a.country]
}

/// Without JavaScript, what the browser cannot keep: the first paint of the cart.
const EMPTY_WITHOUT_JS: &str =
    r#"<div class="empty" data-test-id="cart-empty"><p>Your cart is empty.</p><a href="/" class="button">Browse the shop</a></div>"#;

/// The session's cart as plain HTML forms: what a browser without JavaScript
/// uses to change and buy it, and what every browser shows until the page's
/// code has run (then the live cart takes over, with these lines in it).
#[component]
fn ServerCart(saved: SessionCartView, user: Option<User>) -> impl IntoView {
    if saved.lines.is_empty() {
        return view! {
            <p class="empty needs-js">"Loading your cart…"</p>
            <noscript inner_html=EMPTY_WITHOUT_JS/>
        }
        .into_any();
    }
    let shown = saved.fingerprint();
    let problems: Vec<Option<String>> = saved.lines.iter().map(|(line, p)| line_problem(line, p.as_ref())).collect();
    let buyable =
        || saved.lines.iter().zip(&problems).filter(|(_, problem)| problem.is_none()).filter_map(|((l, p), _)| Some((l, p.as_ref()?)));
    let items = buyable().map(|(l, _)| l.quantity).sum::<i64>();
    let total = buyable().filter_map(|(l, p)| p.price.checked_mul(l.quantity)).fold(Money::usd(0), |a, b| a.checked_add(b).unwrap_or(a));
    let any_problem = problems.iter().any(Option::is_some);
    let lines = saved
        .lines
        .into_iter()
        .zip(problems)
        .map(|((line, p), warning)| {
            let id = line.product_id;
            let name = p.as_ref().map_or_else(|| format!("Product {id}"), |p| p.name.clone());
            let flagged = warning.is_some();
            view! {
                <div class="cart-line" data-test-id="cart-line" data-product-id=id.0 class:cart-line-problem=flagged>
                    <LineInfo id name product=p warning changed=None/>
                    <form method="post" action=CartUpdate::url() class="qty">
                        <input type="hidden" name="product" value=id.0/>
                        <label>
                            <span class="sr-only">"Quantity"</span>
                            <input type="number" name="quantity" min="0" max=CartLine::MAX_QUANTITY value=line.quantity required data-test-id="quantity"/>
                        </label>
                        <button type="submit" class="link-button" data-test-id="update-quantity">"Update"</button>
                    </form>
                    <form method="post" action=CartUpdate::url()>
                        <input type="hidden" name="product" value=id.0/>
                        <input type="hidden" name="quantity" value="0"/>
                        <button type="submit" class="link-button">"Remove"</button>
                    </form>
                </div>
            }
        })
        .collect_view();
    let checkout = match user {
        None => view! {
            <p>"Sign in to check out. Your cart stays here."</p>
            <a href="/login?next=/cart" class="button">"Sign in"</a>
        }
        .into_any(),
        Some(user) => {
            let values = address_values(saved.address.or(user.address).unwrap_or_default());
            let fields = ADDRESS_FIELDS
                .iter()
                .zip(values)
                .map(|(&(label, name, autocomplete), value)| {
                    view! {
                        <label class="field">
                            <span>{label}</span>
                            <input name=name autocomplete=autocomplete required maxlength="200" value=value/>
                        </label>
                    }
                })
                .collect_view();
            view! {
                <form method="post" action=CartCheckout::url() class="checkout-form" data-test-id="checkout-form">
                    <input type="hidden" name="shown" value=shown/>
                    <h2>"Deliver to"</h2>
                    {fields}
                    <button type="submit" class="button button-large" data-test-id="place-order">"Place order"</button>
                    {any_problem.then(|| view! {
                        <p class="why-blocked" data-test-id="why-blocked">
                            "Remove the lines marked in red, or lower their quantity, to place your order."
                        </p>
                    })}
                </form>
            }
            .into_any()
        }
    };
    view! {
        <div class="cart-layout">
            <div class="cart-lines" data-test-id="cart-lines">{lines}</div>
            <aside class="checkout">
                <Totals items=Memo::new(move |_| items) total=Memo::new(move |_| total)/>
                {checkout}
            </aside>
        </div>
    }
    .into_any()
}
