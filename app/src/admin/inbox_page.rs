use leptos::prelude::*;
use leptos_router::components::A;

use super::{AdminNav, staff_error};
use crate::components::{LocalTime, StatusBadge};
use crate::live::use_live_collection;
use crate::model::{InboxEntry, OrderSummary};
use crate::orders::conversation_api::staff_inbox;
use crate::protocol::{Snapshot, Topic};

/// `/admin/inbox`: every order's conversation, newest message first, with
/// what no staff member has read yet; live.
#[component]
pub fn AdminInboxPage() -> impl IntoView {
    let inbox = crate::json::load(|| (), |()| staff_inbox());
    view! {
        <leptos_meta::Title text="Inbox · Staff · livecart"/>
        <AdminNav/>
        <h1 class="page-title">"Inbox"</h1>
        <Suspense fallback=|| view! { <p class="empty">"Loading conversations…"</p> }>
            {move || Suspend::new(async move {
                match inbox.await {
                    Ok(snapshot) => view! { <LiveInbox snapshot/> }.into_any(),
                    Err(err) => staff_error(err),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LiveInbox(snapshot: Snapshot<Vec<OrderSummary>>) -> impl IntoView {
    let Snapshot { seq, data } = snapshot;
    let inbox = use_live_collection(Topic::Inbox, Snapshot { seq, data: data.into_iter().map(InboxEntry).collect() });
    let unread = move || inbox.with(|all| all.iter().map(|e| e.0.conversation.unread_by_staff).sum::<i64>());
    view! {
        <p class="question-count" data-test-id="inbox-count">
            {move || match unread() {
                0 => "Every message has been read.".to_string(),
                1 => "1 unread message.".to_string(),
                n => format!("{n} unread messages."),
            }}
        </p>
        <Show
            when=move || !inbox.read().is_empty()
            fallback=|| view! { <p class="empty" data-test-id="inbox-empty">"No conversations yet. A customer's message about an order shows up here at once."</p> }
        >
            <ul class="inbox" data-test-id="inbox">
                <For each=move || inbox.get() key=|e| e.clone() let:entry>
                    {
                        let o = entry.0;
                        let unread = o.conversation.unread_by_staff;
                        let last = o.conversation.last_message_at.clone().unwrap_or_default();
                        view! {
                            <li class="inbox-row" class:unread={unread != 0} data-test-id="inbox-row" data-order-id=o.id.0>
                                <A href=format!("/orders/{}#conversation", o.id)>
                                    <strong>{format!("Order #{}", o.id)}</strong>
                                    " · " {o.customer.clone()}
                                </A>
                                <StatusBadge status=o.status/>
                                <span class="muted">
                                    {match o.conversation.messages { 1 => "1 message · ".to_string(), n => format!("{n} messages · ") }}
                                    "last " <LocalTime at=last/>
                                </span>
                                {(unread > 0).then(|| view! {
                                    <span class="unread-badge" data-test-id="unread">{format!("{unread} unread")}</span>
                                })}
                            </li>
                        }
                    }
                </For>
            </ul>
        </Show>
    }
}
