use leptos::prelude::*;
use leptos_router::components::{A, Redirect};

use super::api::list_my_orders;
use crate::components::{ErrorBox, LocalTime, Price, StatusBadge, announce_changes};
use crate::error::AppError;
use crate::live::use_live_collection;
use crate::model::{CustomerId, OrderSummary};
use crate::protocol::{Snapshot, Topic};

/// `/orders`: the customer's orders, newest first, live.
#[component]
pub fn OrdersPage() -> impl IntoView {
    let orders = crate::json::load(|| (), |()| list_my_orders());
    view! {
        <leptos_meta::Title text="Your orders · livecart"/>
        <h1 class="page-title">"Your orders"</h1>
        <Suspense fallback=|| view! { <p class="empty">"Loading your orders…"</p> }>
            {move || Suspend::new(async move {
                match orders.await {
                    Ok((customer, snapshot)) => view! { <LiveOrders customer snapshot/> }.into_any(),
                    Err(AppError::Unauthorized) => view! { <Redirect path="/login?next=/orders"/> }.into_any(),
                    Err(err) => view! { <ErrorBox message=err.sentence()/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LiveOrders(customer: CustomerId, snapshot: Snapshot<Vec<OrderSummary>>) -> impl IntoView {
    let orders = use_live_collection(Topic::Orders(customer), snapshot);
    announce_changes(
        move || orders.with(|os| os.iter().map(|o| (o.id, o.status)).collect::<Vec<_>>()),
        |before, now| {
            let words: Vec<String> = now
                .iter()
                .filter(|(id, status)| before.iter().any(|(was_id, was)| was_id == id && was != status))
                .map(|(id, status)| format!("Order #{id} is now {}.", status.label()))
                .collect();
            (!words.is_empty()).then(|| words.join(" "))
        },
    );
    view! {
        <Show
            when=move || !orders.read().is_empty()
            fallback=|| view! {
                <div class="empty" data-test-id="orders-empty">
                    <p>"No orders yet."</p>
                    <A href="/" attr:class="button">"Start shopping"</A>
                </div>
            }
        >
            <table class="orders" data-test-id="orders">
                <thead>
                    <tr><th>"Order"</th><th>"Placed"</th><th>"Items"</th><th>"Total"</th><th>"Status"</th></tr>
                </thead>
                <tbody>
                    <For each=move || orders.get() key=|o| o.clone() let:order>
                        <tr data-test-id="order-row" data-order-id=order.id.0>
                            <td><A href=format!("/orders/{}", order.id)>{format!("#{}", order.id)}</A></td>
                            <td><LocalTime at=order.created_at.clone()/></td>
                            <td>{order.items}</td>
                            <td><Price amount=order.total/></td>
                            <td><StatusBadge status=order.status/></td>
                        </tr>
                    </For>
                </tbody>
            </table>
        </Show>
    }
}
