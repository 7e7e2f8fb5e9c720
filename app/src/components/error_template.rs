use leptos::prelude::*;

/// The page for anything that does not exist. Sets the 404 status during SSR.
#[component]
pub fn NotFound(#[prop(into, optional)] what: Option<String>) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    crate::live::page_hydrated();
    let what = what.unwrap_or_else(|| "This page".to_string());
    view! {
        <leptos_meta::Title text="Not found · livecart"/>
        <section class="notice" data-test-id="not-found">
            <p class="notice-code">"404"</p>
            <h1>{what}" could not be found"</h1>
            <p>"It may have been removed, or the link may be mistyped."</p>
            <a href="/" class="button">"Back to the shop"</a>
        </section>
    }
}

/// An error that stopped a section from loading, said plainly.
#[component]
pub fn ErrorBox(#[prop(into)] message: String) -> impl IntoView {
    view! {
        <div class="error-box" role="alert">
            <strong>"Sorry, that did not work. "</strong>
            <span>{message}</span>
        </div>
    }
}
