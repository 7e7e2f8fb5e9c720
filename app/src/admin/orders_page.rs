use leptos::prelude::*;
use leptos_router::components::A;

use super::api::{MoveOrder, admin_orders};
use super::{AdminNav, action_error, staff_error};
use crate::components::{ConfirmButton, LocalTime, Price, StatusBadge};
use crate::live::use_live_collection;
use crate::model::OrderSummary;
use crate::protocol::{Snapshot, Topic};

/// `/admin`: every order, newest first, live; each moves along its lifecycle from here.
#[component]
pub fn AdminOrdersPage() -> impl IntoView {
    let orders = crate::json::load(|| (), |()| admin_orders());
    view! {
        <leptos_meta::Title text="Orders · Staff · livecart"/>
        <AdminNav/>
        <h1 class="page-title">"Orders"</h1>
        <Suspense fallback=|| view! { <p class="empty">"Loading orders…"</p> }>
            {move || Suspend::new(async move {
                match orders.await {
                    Ok(snapshot) => view! { <LiveOrders snapshot/> }.into_any(),
                    Err(err) => staff_error(err),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LiveOrders(snapshot: Snapshot<Vec<OrderSummary>>) -> impl IntoView {
    let orders = use_live_collection(Topic::AllOrders, snapshot);
    let move_order = ServerAction::<MoveOrder>::new();
    view! {
        {action_error(move || move_order.value().get())}
        <Show
            when=move || !orders.read().is_empty()
            fallback=|| view! { <p class="empty" data-test-id="orders-empty">"No orders yet. They appear here the moment they are placed."</p> }
        >
            <table class="orders admin-orders" data-test-id="admin-orders">
                <thead>
                    <tr><th>"Order"</th><th>"Customer"</th><th>"Placed"</th><th>"Items"</th><th>"Total"</th><th>"Status"</th><th>"Next step"</th></tr>
                </thead>
                <tbody>
                    <For each=move || orders.get() key=|o| o.clone() let:order>
                        <tr data-test-id="admin-order-row" data-order-id=order.id.0>
                            <td><A href=format!("/orders/{}", order.id)>{format!("#{}", order.id)}</A></td>
                            <td>{order.customer.clone()}</td>
                            <td><LocalTime at=order.created_at.clone()/></td>
                            <td>{order.items}</td>
                            <td><Price amount=order.total/></td>
                            <td><StatusBadge status=order.status/></td>
                            <td><div class="actions">
                                {order.status.next().iter().map(|&to| {
                                    let id = order.id.0;
                                    let dispatch = move || { move_order.dispatch(MoveOrder { id, status: to.as_str().to_string() }); };
                                    if to == crate::model::OrderStatus::Cancelled {
                                        // Irreversible, and the customer sees it at once: ask first.
                                        view! {
                                            <ConfirmButton label=to.action() class="button button-small button-quiet"
                                                question=format!("Cancel order #{id}? Its units go back in stock.") yes="Yes, cancel it"
                                                test_id=format!("move-{}", to.as_str()) disabled=move_order.pending() on_confirm=dispatch/>
                                        }.into_any()
                                    } else {
                                        view! {
                                            <button
                                                class="button button-small"
                                                data-test-id=format!("move-{}", to.as_str())
                                                disabled=move || move_order.pending().get()
                                                on:click=move |_| dispatch()
                                            >{to.action()}</button>
                                        }.into_any()
                                    }
                                }).collect_view()}
                            </div></td>
                        </tr>
                    </For>
                </tbody>
            </table>
        </Show>
    }
}
