use leptos::form::ActionForm;
use leptos::prelude::*;

use super::api::{CreateApiToken, RevokeApiToken, api_tokens};
use super::{AdminNav, action_error, staff_error};
use crate::components::LocalTime;

/// `/admin/tokens`: tokens for other systems to call `/api/v1`.
#[component]
pub fn AdminTokensPage() -> impl IntoView {
    let create = ServerAction::<CreateApiToken>::new();
    let revoke = ServerAction::<RevokeApiToken>::new();
    let tokens = crate::json::load(move || (create.version().get(), revoke.version().get()), |_| api_tokens());
    view! {
        <leptos_meta::Title text="API tokens · Staff · livecart"/>
        <AdminNav/>
        <h1 class="page-title">"API tokens"</h1>
        <p class="muted">"Other systems call " <code>"/api/v1"</code> " with " <code>"Authorization: Bearer <token>"</code>
            ". The API is described at " <a href="/api/v1/openapi.json">"/api/v1/openapi.json"</a> "."</p>
        <ActionForm action=create attr:class="inline-form add-token">
            <input name="name" required maxlength="80" placeholder="warehouse sync" aria-label="What the token is for"/>
            <select name="scope" aria-label="Scope">
                <option value="read">"read"</option>
                <option value="write">"read and write"</option>
            </select>
            <button type="submit" class="button">"Create token"</button>
        </ActionForm>
        {action_error(move || create.value().get())}
        {action_error(move || revoke.value().get())}
        {move || create.value().get().and_then(Result::ok).map(|token| view! {
            <div class="token-once" role="status">
                <p>"Copy this token now; it is not shown again:"</p>
                <code data-test-id="new-token">{token}</code>
            </div>
        })}
        <Transition fallback=|| view! { <p class="empty">"Loading tokens…"</p> }>
            {move || Suspend::new(async move {
                match tokens.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty">"No tokens yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="admin-tokens">
                            <thead><tr><th>"Name"</th><th>"Scope"</th><th>"Created"</th><th>"Last used"</th><th></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|t| view! {
                                    <tr class:archived=t.revoked>
                                        <td>{t.name}</td>
                                        <td>{t.scope}</td>
                                        <td><LocalTime at=t.created_at.clone()/></td>
                                        <td>{t.last_used_at.clone().map_or_else(|| view! { "never" }.into_any(), |at| view! { <LocalTime at/> }.into_any())}</td>
                                        <td>{if t.revoked {
                                            view! { <span class="badge badge-out">"Revoked"</span> }.into_any()
                                        } else {
                                            view! {
                                                <ActionForm action=revoke attr:class="inline-form">
                                                    <input type="hidden" name="id" value=t.id/>
                                                    <button type="submit" class="link-button">"Revoke"</button>
                                                </ActionForm>
                                            }.into_any()
                                        }}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(err) => staff_error(err),
                }
            })}
        </Transition>
    }
}
