use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::AuthActions;
use crate::error::AppError;

/// The error a plain (no-wasm) form post of server function `S` was redirected
/// back with, if any.
fn redirected_error<S: leptos::server_fn::ServerFn>() -> Option<AppError> {
    use_context::<leptos::server::ServerActionError>()
        .filter(|e| e.path() == S::PATH)
        .map(|e| leptos::server_fn::error::ServerFnUrlError::<AppError>::decode_err(e.err()))
}

fn next_param() -> Memo<String> {
    let query = use_query_map();
    Memo::new(move |_| query.read().get("next").unwrap_or_else(|| "/".to_string()))
}

/// `text` as a query parameter's value: a `#`, `&` or `?` in it stays in it.
fn query_value(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '_' | '.' | '~' | '/' => c.to_string(),
            c => c.to_string().bytes().map(|b| format!("%{b:02X}")).collect(),
        })
        .collect()
}

/// `/login`
#[component]
pub fn LoginPage() -> impl IntoView {
    let actions = expect_context::<AuthActions>();
    let next = next_param();
    let redirected = redirected_error::<crate::account::api::Login>();
    let error = move || match actions.login.value().get() {
        Some(result) => result.err().map(|e| e.sentence()),
        None => redirected.as_ref().map(AppError::sentence),
    };
    view! {
        <leptos_meta::Title text="Sign in · livecart"/>
        <section class="auth-card">
            <h1>"Sign in"</h1>
            <ActionForm action=actions.login attr:class="auth-form">
                <input type="hidden" name="next" value=next/>
                <label class="field">
                    <span>"Username"</span>
                    <input name="username" autocomplete="username" required maxlength="40"/>
                </label>
                <label class="field">
                    <span>"Password"</span>
                    <input name="password" type="password" autocomplete="current-password" required/>
                </label>
                {move || error().map(|e| view! { <p class="form-error" role="alert" data-test-id="form-error">{e}</p> })}
                <button type="submit" class="button button-large" disabled=move || actions.login.pending().get()>"Sign in"</button>
            </ActionForm>
            <p class="auth-switch">"New here? " <A href=move || format!("/register?next={}", query_value(&next.get()))>"Create an account"</A></p>
        </section>
    }
}

/// `/register`
#[component]
pub fn RegisterPage() -> impl IntoView {
    let actions = expect_context::<AuthActions>();
    let next = next_param();
    let redirected = StoredValue::new(redirected_error::<crate::account::api::Register>());
    let error = move || match actions.register.value().get() {
        Some(result) => result.err(),
        None => redirected.get_value(),
    };
    let field = move |name: &'static str| move || error().and_then(|e| e.field_message(name));
    let other =
        move || error().filter(|e| e.field_message("username").is_none() && e.field_message("password").is_none()).map(|e| e.sentence());
    view! {
        <leptos_meta::Title text="Create an account · livecart"/>
        <section class="auth-card">
            <h1>"Create an account"</h1>
            <ActionForm action=actions.register attr:class="auth-form">
                <input type="hidden" name="next" value=next/>
                <label class="field">
                    <span>"Username"</span>
                    <input name="username" autocomplete="username" required minlength="3" maxlength="40"/>
                    <small class="field-error" data-test-id="username-error">{field("username")}</small>
                </label>
                <label class="field">
                    <span>"Password"</span>
                    <input name="password" type="password" autocomplete="new-password" required minlength="8"/>
                    <small class="hint">"At least 8 characters. A long passphrase is best."</small>
                    <small class="field-error" data-test-id="password-error">{field("password")}</small>
                </label>
                {move || other().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                <button type="submit" class="button button-large" disabled=move || actions.register.pending().get()>"Create account"</button>
            </ActionForm>
            <p class="auth-switch">"Have an account? " <A href=move || format!("/login?next={}", query_value(&next.get()))>"Sign in"</A></p>
        </section>
    }
}
