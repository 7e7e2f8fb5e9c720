use leptos::prelude::*;

/// A button for something that cannot be undone (or that shoppers see at once):
/// the first click asks, a second click on "Yes, …" does it, "Keep" backs out.
#[component]
pub fn ConfirmButton(
    /// What the button says, e.g. "Cancel order".
    label: &'static str,
    /// The question, e.g. "Cancel order #12? The units go back in stock."
    #[prop(into)]
    question: String,
    /// The confirming button, e.g. "Yes, cancel it".
    yes: &'static str,
    #[prop(into)] test_id: String,
    #[prop(into, optional)] disabled: Signal<bool>,
    #[prop(optional)] class: &'static str,
    on_confirm: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    let asking = RwSignal::new(false);
    let on_confirm = std::sync::Arc::new(on_confirm);
    let confirm_id = format!("{test_id}-confirm");
    view! {
        <Show
            when=move || asking.get()
            fallback=move || view! {
                <button type="button" class=class data-test-id=test_id.clone() disabled=move || disabled.get()
                    on:click=move |_| asking.set(true)>{label}</button>
            }
        >
            <span class="confirm" role="group">
                <span class="confirm-question">{question.clone()}</span>
                <button type="button" class="button button-small button-danger" data-test-id=confirm_id.clone()
                    disabled=move || disabled.get()
                    on:click={
                        let on_confirm = on_confirm.clone();
                        move |_| { asking.set(false); on_confirm(); }
                    }>{yes}</button>
                <button type="button" class="link-button" on:click=move |_| asking.set(false)>"Keep"</button>
            </span>
        </Show>
    }
}
