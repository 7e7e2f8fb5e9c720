//! An order's conversation, live on both sides: messages, read state, older
//! history on request, and "typing…" (over the socket, never stored).

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::conversation_api::{MarkConversationRead, SendMessage, older_messages, order_conversation};
use crate::components::{ErrorBox, LocalTime, announce_changes, scroll_to_fragment};
use crate::live::{LiveClient, LiveEvent, use_live_collection};
use crate::model::{ConversationView, MAX_MESSAGE, Message, OrderId};
use crate::protocol::{Snapshot, Topic};

/// How long "typing…" shows after the last signal.
const TYPING_SHOWN_MS: u64 = 4000;
/// A typing signal goes out at most this often while one types.
const TYPING_EVERY_MS: f64 = 2000.0;

/// The "Messages" section of an order page.
#[component]
pub fn Conversation(order: OrderId) -> impl IntoView {
    let view = crate::json::load(move || order, |o| order_conversation(o.0));
    view! {
        <section class="conversation" id="conversation" aria-labelledby="conversation-title" data-test-id="conversation">
            <h2 id="conversation-title">"Messages about this order"</h2>
            <Suspense fallback=|| view! { <p class="empty">"Loading messages…"</p> }>
                {move || Suspend::new(async move {
                    match view.await {
                        Ok(snapshot) => view! { <LiveConversation snapshot/> }.into_any(),
                        Err(err) => view! { <ErrorBox message=err.sentence()/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn LiveConversation(snapshot: Snapshot<ConversationView>) -> impl IntoView {
    let Snapshot { seq, data } = snapshot;
    let ConversationView { order_id, messages, has_older, as_staff } = data;
    let topic = Topic::Conversation(order_id);
    let live = use_live_collection(topic.clone(), Snapshot { seq, data: messages });
    let earlier = RwSignal::new(Vec::<Message>::new());
    let has_older = RwSignal::new(has_older);
    let typing = typing_indicator(topic.clone(), seq, as_staff);
    // Sent here from the inbox or the header's link: the section loads after
    // the router's scroll to `#conversation`.
    Effect::new(move |_| scroll_to_fragment(&["conversation"]));

    // Reading: the other side's unread messages are read once this page shows
    // them. Asked once per newest unread message (not again while its read
    // state travels back, nor in a loop when the request fails).
    let mark = ServerAction::<MarkConversationRead>::new();
    let marked_up_to = StoredValue::new(0_i64);
    Effect::new(move |_| {
        let newest_unread = live.with(|ms| ms.iter().filter(|m| m.from_staff != as_staff && m.read_at.is_none()).map(|m| m.id.0).max());
        if let Some(newest) = newest_unread
            && newest > marked_up_to.get_value()
        {
            marked_up_to.set_value(newest);
            mark.dispatch(MarkConversationRead { order: order_id.0 });
        }
    });
    // Their message arrived: they are no longer typing it.
    Effect::new(move |before: Option<usize>| {
        let theirs = live.with(|ms| ms.iter().filter(|m| m.from_staff != as_staff).count());
        if before.is_some_and(|b| theirs > b) {
            typing.set(false);
        }
        theirs
    });
    announce_changes(
        move || live.with(|ms| ms.iter().filter(|m| m.from_staff != as_staff).count()),
        move |before, now| {
            (now > before).then(|| if as_staff { "The customer wrote a new message." } else { "The shop wrote a new message." }.to_string())
        },
    );

    let load_older = Action::new(move |before: &i64| older_messages(order_id.0, *before));
    Effect::new(move |_| {
        if let Some(Ok(page)) = load_older.value().get() {
            has_older.set(page.has_older);
            earlier.update(|e| {
                let mut page = page.messages;
                page.append(e);
                *e = page;
            });
        }
    });
    let first_id = move || earlier.with(|e| e.first().map(|m| m.id.0)).or_else(|| live.with(|l| l.first().map(|m| m.id.0)));
    let all = move || {
        let mut all = earlier.get();
        let newest = live.get();
        all.retain(|m| !newest.iter().any(|n| n.id == m.id));
        all.extend(newest);
        all
    };
    let other = if as_staff { "the customer" } else { "the shop" };
    view! {
        <p class="conversation-intro muted">
            {if as_staff {
                "Only the customer and staff see these messages."
            } else {
                "A question about this order? Write to the shop here; only you and our staff see it."
            }}
        </p>
        <Show when=move || has_older.get()>
            <button type="button" class="link-button older" data-test-id="older-messages"
                disabled=move || load_older.pending().get()
                on:click=move |_| { if let Some(before) = first_id() { load_older.dispatch(before); } }>
                {move || if load_older.pending().get() { "Loading…" } else { "Show earlier messages" }}
            </button>
        </Show>
        <Show
            when=move || live.with(|l| !l.is_empty()) || earlier.with(|e| !e.is_empty())
            fallback=|| view! { <p class="empty" data-test-id="messages-empty">"No messages yet."</p> }
        >
            <ol class="messages" data-test-id="messages">
                <For each=all key=|m| m.clone() let:m>
                    <MessageItem m as_staff/>
                </For>
            </ol>
        </Show>
        <p class="typing" aria-live="polite" data-test-id="typing">
            {move || typing.get().then(|| format!("{} is typing…", capitalised(other)))}
        </p>
        <Composer order_id topic as_staff/>
    }
    .into_any()
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[component]
fn MessageItem(m: Message, as_staff: bool) -> impl IntoView {
    let mine = m.from_staff == as_staff;
    let who = if mine { "You".to_string() } else { m.author.clone() };
    let state = mine.then(|| if m.read_at.is_some() { "Read" } else { "Sent" });
    view! {
        <li class="message" class:mine=mine class:theirs=!mine data-test-id="message" data-message-id=m.id.0
            data-from-staff=m.from_staff.to_string()>
            <p class="message-meta">
                <strong>{who}</strong> " · " <LocalTime at=m.sent_at.clone()/>
            </p>
            <p class="message-body" data-test-id="message-body">{m.body.clone()}</p>
            {state.map(|s| view! { <p class="message-state" data-test-id="message-state">{s}</p> })}
        </li>
    }
}

/// Whether the other side is typing now: a second view of the conversation's
/// topic that hears only its ephemeral signals.
fn typing_indicator(topic: Topic, seq: crate::protocol::Seq, as_staff: bool) -> RwSignal<bool> {
    let shown = RwSignal::new(false);
    let generation = StoredValue::new(0_u64);
    if let Some(live) = use_context::<LiveClient>() {
        let id = live.subscribe(topic, Some(seq), move |event| {
            if let LiveEvent::Typing { from_staff } = event
                && from_staff != as_staff
            {
                let this = generation.try_update_value(|g| {
                    *g += 1;
                    *g
                });
                shown.try_set(true);
                set_timeout(
                    move || {
                        if generation.try_get_value() == this {
                            shown.try_set(false);
                        }
                    },
                    std::time::Duration::from_millis(TYPING_SHOWN_MS),
                );
            }
        });
        on_cleanup(move || live.unsubscribe(id));
    }
    shown
}

/// The message box. Typing sends a signal (at most every two seconds).
#[component]
fn Composer(order_id: OrderId, topic: Topic, as_staff: bool) -> impl IntoView {
    let send = ServerAction::<SendMessage>::new();
    let body = NodeRef::<leptos::html::Textarea>::new();
    let last_signal = StoredValue::new(0.0_f64);
    let topic = StoredValue::new(topic);
    Effect::new(move |_| {
        if let Some(Ok(_)) = send.value().get()
            && let Some(el) = body.get_untracked()
        {
            el.set_value("");
        }
    });
    let on_input = move |_| {
        let now = now_ms();
        if now - last_signal.get_value() >= TYPING_EVERY_MS {
            last_signal.set_value(now);
            if let Some(live) = use_context::<LiveClient>() {
                live.typing(topic.get_value());
            }
        }
    };
    let error = move || send.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err()).map(|e| e.sentence()));
    view! {
        <ActionForm action=send attr:class="composer" attr:data-test-id="composer">
            <input type="hidden" name="order" value=order_id.0/>
            <label class="field">
                <span>{if as_staff { "Reply to the customer" } else { "Your message" }}</span>
                <textarea name="body" node_ref=body rows="3" required maxlength=MAX_MESSAGE data-test-id="message-input"
                    on:input=on_input></textarea>
            </label>
            {move || error().map(|e| view! { <p class="form-error" role="alert" data-test-id="message-error">{e}</p> })}
            <button type="submit" class="button" disabled=move || send.pending().get() data-test-id="send-message">"Send"</button>
        </ActionForm>
    }
}

fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    return js_sys::Date::now();
    #[cfg(not(feature = "hydrate"))]
    0.0
}
