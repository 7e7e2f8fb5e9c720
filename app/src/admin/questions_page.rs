use leptos::prelude::*;
use leptos_router::components::A;

use super::{AdminNav, staff_error};
use crate::components::LocalTime;
use crate::live::use_live_collection;
use crate::model::{Question, QueuedQuestion};
use crate::protocol::{Snapshot, Topic};
use crate::questions::StaffTools;
use crate::questions::api::question_queue;

/// `/admin/questions`: every product's questions, unanswered first, live.
#[component]
pub fn AdminQuestionsPage() -> impl IntoView {
    let queue = crate::json::load(|| (), |()| question_queue());
    view! {
        <leptos_meta::Title text="Questions · Staff · livecart"/>
        <AdminNav/>
        <h1 class="page-title">"Questions"</h1>
        <Suspense fallback=|| view! { <p class="empty">"Loading questions…"</p> }>
            {move || Suspend::new(async move {
                match queue.await {
                    Ok(snapshot) => view! { <LiveQueue snapshot/> }.into_any(),
                    Err(err) => staff_error(err),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LiveQueue(snapshot: Snapshot<Vec<Question>>) -> impl IntoView {
    let Snapshot { seq, data } = snapshot;
    let queue = use_live_collection(Topic::QuestionQueue, Snapshot { seq, data: data.into_iter().map(QueuedQuestion).collect() });
    let waiting = move || queue.with(|qs| qs.iter().filter(|q| q.0.answer.is_none()).count());
    view! {
        <p class="question-count" data-test-id="queue-count">
            {move || match waiting() {
                0 => "Every question has an answer.".to_string(),
                1 => "1 question waits for an answer.".to_string(),
                n => format!("{n} questions wait for an answer."),
            }}
        </p>
        <Show
            when=move || !queue.read().is_empty()
            fallback=|| view! { <p class="empty" data-test-id="queue-empty">"No questions yet. They appear here the moment a shopper asks."</p> }
        >
            <ol class="question-list queue" data-test-id="question-queue">
                <For
                    each=move || queue.get()
                    key=|QueuedQuestion(q)| (q.id, q.body.clone(), q.author.clone(), q.author_hidden, q.answer.clone())
                    let:queued
                >
                    {
                    let q = queued.0;
                    let answered = q.answer.is_some();
                    let tools = q.clone();
                    let id = q.id;
                    // Votes move without redrawing the item (an answer may be being typed).
                    let votes = move || match queue.with(|qs| qs.iter().find(|x| x.0.id == id).map_or(0, |x| x.0.votes)) {
                        1 => "1 vote".to_string(),
                        n => format!("{n} votes"),
                    };
                    view! {
                    <li class="question" class:unanswered=!answered data-test-id="queued-question" data-question-id=q.id.0>
                        <div class="question-main">
                            <p class="question-product">
                                <A href=format!("/products/{}#questions", q.product_id)>{q.product_name.clone()}</A>
                                {if answered { " · answered" } else { " · waiting for an answer" }}
                            </p>
                            <p class="question-text" data-test-id="question-text">{q.body.clone()}</p>
                            <p class="question-meta">
                                "Asked by " <span data-test-id="question-author">{q.author.clone()}</span> " · "
                                <LocalTime at=q.asked_at.clone()/> " · " {votes}
                            </p>
                            <StaffTools q=tools/>
                        </div>
                    </li>
                    }
                    }
                </For>
            </ol>
        </Show>
    }
}
