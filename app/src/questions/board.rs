//! The product page's questions and answers, live: new questions, votes
//! (the list reorders), answers and deletions reach everyone viewing at once.

use std::collections::HashSet;

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::api::{AnswerQuestion, AskQuestion, DeleteQuestion, HideAuthor, SetDisplayName, VoteQuestion, product_questions};
use crate::components::{ConfirmButton, ErrorBox, LocalTime, announce_changes, scroll_to_fragment};
use crate::error::AppError;
use crate::live::use_live_collection;
use crate::model::{Asker, MAX_ANSWER, MAX_DISPLAY_NAME, MAX_QUESTION, MIN_QUESTION, ProductId, Question, QuestionBoard, QuestionId};
use crate::protocol::{Snapshot, Topic};

/// The "Questions and answers" section of a product page.
#[component]
pub fn QuestionSection(product: ProductId) -> impl IntoView {
    let board = crate::json::load(move || product, |p| product_questions(p.0));
    view! {
        <section class="questions" id="questions" aria-labelledby="questions-title" data-test-id="questions">
            <h2 id="questions-title">"Questions and answers"</h2>
            <Suspense fallback=|| view! { <p class="empty">"Loading questions…"</p> }>
                {move || Suspend::new(async move {
                    match board.await {
                        Ok(snapshot) => view! { <LiveBoard product snapshot/> }.into_any(),
                        Err(err) => view! { <ErrorBox message=err.sentence()/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// An action's error as a sentence, if its last run failed.
fn failed<S>(action: ServerAction<S>) -> impl Fn() -> Option<String> + Copy
where
    S: leptos::server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    move || action.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err()).map(AppError::sentence))
}

#[component]
fn LiveBoard(product: ProductId, snapshot: Snapshot<QuestionBoard>) -> impl IntoView {
    let Snapshot { seq, data } = snapshot;
    let QuestionBoard { questions, total, my_votes, asker, is_staff } = data;
    let questions = use_live_collection(Topic::Questions(product), Snapshot { seq, data: questions });
    let my_votes = RwSignal::new(my_votes.into_iter().collect::<HashSet<QuestionId>>());
    let signed_in = asker.is_some();
    let vote = ServerAction::<VoteQuestion>::new();
    Effect::new(move |_| {
        if let Some(Ok(state)) = vote.value().get() {
            my_votes.update(|v| {
                if state.voted {
                    v.insert(state.question);
                } else {
                    v.remove(&state.question);
                }
            });
        }
    });
    announce_changes(
        move || questions.with(|qs| qs.iter().map(|q| (q.id, q.answer.is_some())).collect::<Vec<_>>()),
        |before, now| {
            let asked = now.iter().filter(|(id, _)| !before.iter().any(|(b, _)| b == id)).count();
            let answered = now.iter().filter(|(id, a)| *a && before.iter().any(|(b, was)| b == id && !was)).count();
            let words: Vec<String> = [
                (asked == 1).then(|| "A new question was asked.".to_string()),
                (asked > 1).then(|| format!("{asked} new questions were asked.")),
                (answered > 0).then(|| "A question was answered.".to_string()),
            ]
            .into_iter()
            .flatten()
            .collect();
            (!words.is_empty()).then(|| words.join(" "))
        },
    );
    let shown = move || questions.read().len();
    // Sent here to ask (back from signing in) or to read: the section loads
    // after the router's own scroll to the fragment, so scroll now.
    Effect::new(move |_| scroll_to_fragment(&["ask", "questions"]));
    view! {
        <p class="question-count" data-test-id="question-count">
            {move || match shown() {
                0 => "No questions yet.".to_string(),
                1 => "1 question".to_string(),
                n if i64::try_from(n).unwrap_or(i64::MAX) < total => format!("The {n} most helpful of {total} questions"),
                n => format!("{n} questions"),
            }}
        </p>
        <AskBox product asker my_votes/>
        {move || failed(vote)().map(|e| view! { <p class="form-error" role="alert" data-test-id="vote-error">{e}</p> })}
        <Show
            when=move || shown() != 0
            fallback=|| view! { <p class="empty" data-test-id="questions-empty">"Ask the first question: the shop answers here, for everyone."</p> }
        >
            <ol class="question-list" data-test-id="question-list">
                // Keyed by what is drawn once: a vote moves the item (and
                // updates its count) without redrawing it, so an answer being
                // typed under it stays.
                <For
                    each=move || questions.get()
                    key=|q| (q.id, q.body.clone(), q.author.clone(), q.author_hidden, q.answer.clone())
                    let:q
                >
                    <QuestionItem q questions my_votes vote signed_in is_staff/>
                </For>
            </ol>
        </Show>
    }
}

/// Ask a question (signed in), or a way to sign in that comes back here.
#[component]
fn AskBox(product: ProductId, asker: Option<Asker>, my_votes: RwSignal<HashSet<QuestionId>>) -> impl IntoView {
    let Some(asker) = asker else {
        let next = format!("/login?next=/products/{product}%23ask");
        return view! {
            <p class="ask-signin" id="ask" data-test-id="ask-signin">
                <a href=next class="button">"Sign in to ask a question"</a>
                " Anyone can read the answers."
            </p>
        }
        .into_any();
    };
    let ask = ServerAction::<AskQuestion>::new();
    let rename = ServerAction::<SetDisplayName>::new();
    let shown_as = RwSignal::new(asker.shown_as().to_string());
    let renaming = RwSignal::new(false);
    let body = NodeRef::<leptos::html::Textarea>::new();
    // Asked: empty the box (the question itself arrives through the feed,
    // with the asker's own vote counted).
    Effect::new(move |_| {
        if let Some(Ok(id)) = ask.value().get() {
            my_votes.update(|v| {
                v.insert(id);
            });
            if let Some(el) = body.get_untracked() {
                el.set_value("");
            }
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(name)) = rename.value().get() {
            shown_as.set(name.unwrap_or_else(|| asker.username.clone()));
            renaming.set(false);
        }
    });
    view! {
        <div class="ask" id="ask">
            <ActionForm action=ask attr:class="ask-form" attr:data-test-id="ask-form">
                <input type="hidden" name="product" value=product.0/>
                <label class="field">
                    <span>"Your question"</span>
                    <textarea name="body" node_ref=body rows="2" required minlength=MIN_QUESTION maxlength=MAX_QUESTION
                        placeholder="Does it fit…? How long does…?" data-test-id="ask-body"></textarea>
                </label>
                {move || failed(ask)().map(|e| view! { <p class="form-error" role="alert" data-test-id="ask-error">{e}</p> })}
                <div class="ask-actions">
                    <button type="submit" class="button" disabled=move || ask.pending().get() data-test-id="ask-submit">"Ask"</button>
                    <span class="asker">
                        "You ask as " <strong data-test-id="asker-name">{move || shown_as.get()}</strong> " · "
                        <button type="button" class="link-button" data-test-id="rename" on:click=move |_| renaming.update(|r| *r = !*r)>
                            "Change how your name is shown"
                        </button>
                    </span>
                </div>
            </ActionForm>
            <Show when=move || renaming.get()>
                <ActionForm action=rename attr:class="rename-form" attr:data-test-id="rename-form">
                    <label class="field">
                        <span>"Display name (empty: your username)"</span>
                        <input name="display_name" maxlength=MAX_DISPLAY_NAME value=move || shown_as.get() data-test-id="display-name"/>
                    </label>
                    {move || failed(rename)().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                    <button type="submit" class="button button-small" disabled=move || rename.pending().get()>"Save name"</button>
                </ActionForm>
            </Show>
        </div>
    }
    .into_any()
}

#[component]
fn QuestionItem(
    q: Question,
    questions: Signal<Vec<Question>>,
    my_votes: RwSignal<HashSet<QuestionId>>,
    vote: ServerAction<VoteQuestion>,
    signed_in: bool,
    is_staff: bool,
) -> impl IntoView {
    let id = q.id;
    let voted = move || my_votes.with(|v| v.contains(&id));
    let votes = move || questions.with(|qs| qs.iter().find(|x| x.id == id).map_or(0, |x| x.votes));
    let label = move || {
        let votes = votes();
        let n = if votes == 1 { "1 vote".to_string() } else { format!("{votes} votes") };
        match (signed_in, voted()) {
            (false, _) => format!("{n}. Sign in to vote."),
            (true, true) => format!("{n}. You voted; press to take your vote back."),
            (true, false) => format!("{n}. Press if you want to know too."),
        }
    };
    view! {
        <li class="question" data-test-id="question" data-question-id=id.0>
            <button type="button" class="vote" class:voted=voted aria-pressed=move || voted().to_string() aria-label=label title=label
                disabled=move || !signed_in || vote.pending().get() data-test-id="vote"
                on:click=move |_| { vote.dispatch(VoteQuestion { question: id.0, up: !voted() }); }>
                <span aria-hidden="true">"▲"</span>
                <span class="vote-count" data-test-id="votes">{votes}</span>
            </button>
            <div class="question-main">
                <p class="question-text" data-test-id="question-text">{q.body.clone()}</p>
                <p class="question-meta">
                    "Asked by " <span data-test-id="question-author">{q.author.clone()}</span> " · " <LocalTime at=q.asked_at.clone()/>
                </p>
                {q.answer.clone().map(|answer| view! {
                    <div class="answer" data-test-id="answer">
                        <p class="answer-label">"The shop answered"</p>
                        <p class="answer-text">{answer}</p>
                    </div>
                })}
                {is_staff.then(|| view! { <StaffTools q=q.clone()/> })}
            </div>
        </li>
    }
    .into_any()
}

/// Staff, on the product page or in the queue: answer (or change the answer),
/// delete, hide the author's name.
#[component]
pub fn StaffTools(q: Question) -> impl IntoView {
    let answer = ServerAction::<AnswerQuestion>::new();
    let delete = ServerAction::<DeleteQuestion>::new();
    let hide = ServerAction::<HideAuthor>::new();
    let id = q.id.0;
    let hidden = q.author_hidden;
    let error = move || failed(answer)().or_else(failed(delete)).or_else(failed(hide));
    let current = q.answer.clone().unwrap_or_default();
    let verb = if q.answer.is_some() { "Save answer" } else { "Answer" };
    // An answered question shows its answer above; the form opens on request.
    let editing = RwSignal::new(q.answer.is_none());
    view! {
        <div class="staff-tools" data-test-id="staff-tools">
            <ActionForm action=answer attr:class="answer-form" attr:hidden=move || !editing.get()>
                <input type="hidden" name="question" value=id/>
                <label class="field">
                    <span>{if q.answer.is_some() { "Your answer (empty it to take it back)" } else { "Your answer" }}</span>
                    <textarea name="answer" rows="4" maxlength=MAX_ANSWER data-test-id="answer-body">{crate::security::textarea_text(current)}</textarea>
                </label>
                <button type="submit" class="button button-small" disabled=move || answer.pending().get() data-test-id="answer-submit">{verb}</button>
            </ActionForm>
            <div class="actions">
                <Show when=move || !editing.get()>
                    <button type="button" class="button button-small button-quiet" data-test-id="edit-answer"
                        on:click=move |_| editing.set(true)>"Edit answer"</button>
                </Show>
                <button type="button" class="button button-small button-quiet" data-test-id="hide-author"
                    disabled=move || hide.pending().get()
                    on:click=move |_| { hide.dispatch(HideAuthor { question: id, hidden: !hidden }); }>
                    {if hidden { "Show the asker's name" } else { "Hide the asker's name" }}
                </button>
                <ConfirmButton label="Delete" class="button button-small button-quiet" test_id="delete-question"
                    question="Delete this question for everyone?" yes="Yes, delete it"
                    disabled=Signal::derive(move || delete.pending().get())
                    on_confirm=move || { delete.dispatch(DeleteQuestion { question: id }); }/>
            </div>
            {move || error().map(|e| view! { <p class="form-error" role="alert" data-test-id="staff-error">{e}</p> })}
        </div>
    }
    .into_any()
}
