use leptos::prelude::*;
use leptos_router::components::{A, Redirect};
use leptos_router::hooks::{use_location, use_params_map, use_query_map};

use super::Conversation;
use super::api::get_order;
use crate::components::{ErrorBox, LocalTime, NotFound, Price, StatusBadge, announce_changes};
use crate::error::AppError;
use crate::live::use_live_entity;
use crate::model::{Order, OrderId};
use crate::protocol::{Snapshot, Topic};

/// `/orders/{id}`: one order, live.
#[component]
pub fn OrderPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    // Just placed (the cart sends the shopper here with `?placed=1`).
    let placed = Memo::new(move |_| query.read().get("placed").as_deref() == Some("1"));
    let location = use_location();
    let id = Memo::new(move |_| params.read().get("id").and_then(|s| s.parse::<OrderId>().ok()));
    let order = crate::json::load(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => get_order(id.0).await,
                None => Err(AppError::NotFound("This order".into())),
            }
        },
    );
    view! {
        <Suspense fallback=|| view! { <p class="empty">"Loading the order…"</p> }>
            {move || Suspend::new(async move {
                match order.await {
                    Ok(snapshot) => view! { <LiveOrder snapshot placed=placed.get_untracked()/> }.into_any(),
                    Err(AppError::Unauthorized) => {
                        let back = location.pathname.get_untracked();
                        view! { <Redirect path=format!("/login?next={back}")/> }.into_any()
                    }
                    Err(AppError::NotFound(what)) => view! { <NotFound what/> }.into_any(),
                    Err(err) => view! { <ErrorBox message=err.sentence()/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LiveOrder(snapshot: Snapshot<Order>, placed: bool) -> impl IntoView {
    let order_id = snapshot.data.id;
    let order = use_live_entity(Topic::Order(order_id), snapshot);
    announce_changes(
        move || order.with(|o| o.as_ref().map(|o| (o.id, o.status))),
        |_, now| now.map(|(id, status)| format!("Order #{id} is now {}.", status.label())),
    );
    let page = move || {
        order.get().map(|o| {
            let timeline = o.timeline();
            let Order { id, status, total, address, lines, created_at, .. } = o;
            let items: i64 = lines.iter().map(|l| l.quantity).sum();
            let thanks = placed.then(|| {
                let whom = if address.name.is_empty() { String::new() } else { format!(", {}", address.name) };
                let place = [address.city.as_str(), address.country.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(", ");
                view! {
                    <section class="thanks" data-test-id="thanks" aria-live="polite">
                        <h2>{format!("Thank you{whom}! Your order is placed.")}</h2>
                        <p>{format!("Order #{id}: {items} {} for ", if items == 1 { "item" } else { "items" })}<Price amount=total/>"."</p>
                        <p>
                            "What happens next: we take payment and pack your order, then ship it to "{place}
                            ". Each step shows on this page as it happens — no need to reload; "
                            <A href="/orders">"your orders"</A>" lists it too."
                        </p>
                        <div class="thanks-actions">
                            <A href="/" attr:class="button">"Continue shopping"</A>
                        </div>
                    </section>
                }
            });
            view! {
                <leptos_meta::Title text=format!("Order #{id} · livecart")/>
                <nav class="crumbs"><A href="/orders">"Your orders"</A>" / "{format!("#{id}")}</nav>
                {thanks}
                <article class="order" data-test-id="order" data-order-id=id.0>
                    <header class="order-head">
                        <h1>{format!("Order #{id}")}</h1>
                        <StatusBadge status/>
                    </header>
                    <p class="muted">"Placed " <LocalTime at=created_at/></p>
                    <ol class="timeline" data-test-id="timeline" aria-label="What happened to this order">
                        {timeline.into_iter().map(|(step, at)| view! {
                            <li data-step=step.as_str() class:timeline-cancelled=step == crate::model::OrderStatus::Cancelled>
                                <span class="timeline-dot"></span>
                                <strong>{step.label()}</strong>
                                <LocalTime at/>
                            </li>
                        }).collect_view()}
                    </ol>
                    <section class="order-address">
                        <h2>"Delivery address"</h2>
                        <p data-test-id="order-address">
                            {(!address.name.is_empty()).then(|| view! { {address.name.clone()}<br/> })}
                            {address.street}<br/>{address.city}", "{address.region}" "{address.postal_code}
                            {(!address.country.is_empty()).then(|| view! { <br/>{address.country.clone()} })}
                        </p>
                    </section>
                    <table class="order-lines">
                        <thead><tr><th>"Product"</th><th>"Unit price"</th><th>"Qty"</th><th>"Line total"</th></tr></thead>
                        <tbody>
                            {lines.into_iter().map(|l| view! {
                                <tr data-test-id="order-line">
                                    <td><A href=format!("/products/{}", l.product_id)>{l.name}</A></td>
                                    <td><Price amount=l.unit_price/></td>
                                    <td>{l.quantity}</td>
                                    <td><Price amount=l.line_total/></td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                        <tfoot>
                            <tr><td colspan="3">{format!("Subtotal ({items} {})", if items == 1 { "item" } else { "items" })}</td><td><Price amount=total/></td></tr>
                            <tr><td colspan="3">"Delivery"</td><td>"Free"</td></tr>
                            <tr class="order-total"><td colspan="3">"Total"</td><td><Price amount=total large=true/></td></tr>
                        </tfoot>
                    </table>
                </article>
            }
        })
    };
    view! {
        {page}
        // Outside the order's view, which is redrawn with every change to the order.
        <Show when=move || order.with(Option::is_some)>
            <Conversation order=order_id/>
        </Show>
    }
    .into_any()
}
