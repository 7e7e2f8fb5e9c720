use leptos::form::ActionForm;
use leptos::prelude::*;

use super::api::{CreateCategory, RenameCategory, admin_categories};
use super::{AdminNav, action_error, staff_error};

/// `/admin/categories`: add categories and rename them.
#[component]
pub fn AdminCategoriesPage() -> impl IntoView {
    let create = ServerAction::<CreateCategory>::new();
    let rename = ServerAction::<RenameCategory>::new();
    let categories = crate::json::load(move || (create.version().get(), rename.version().get()), |_| admin_categories());
    view! {
        <leptos_meta::Title text="Categories · Staff · livecart"/>
        <AdminNav/>
        <h1 class="page-title">"Categories"</h1>
        {action_error(move || create.value().get())}
        {action_error(move || rename.value().get())}
        <Transition fallback=|| view! { <p class="empty">"Loading categories…"</p> }>
            {move || Suspend::new(async move {
                match categories.await {
                    Ok(list) => view! {
                        <table class="admin-categories" data-test-id="admin-categories">
                            <thead><tr><th>"Slug (in links)"</th><th>"Name"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|c| view! {
                                    <tr data-test-id="category-row">
                                        <td><code>{c.slug.to_string()}</code></td>
                                        <td>
                                            <ActionForm action=rename attr:class="inline-form">
                                                <input type="hidden" name="slug" value=c.slug.to_string()/>
                                                <input name="name" value=c.name required maxlength="80" aria-label="Name"/>
                                                <button type="submit" class="button button-small button-quiet">"Rename"</button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(err) => staff_error(err),
                }
            })}
        </Transition>
        <h2>"Add a category"</h2>
        <ActionForm action=create attr:class="inline-form add-category">
            <input name="slug" required maxlength="40" placeholder="outdoor-gear" aria-label="Slug"/>
            <input name="name" required maxlength="80" placeholder="Outdoor Gear" aria-label="Name"/>
            <button type="submit" class="button">"Add category"</button>
        </ActionForm>
    }
}
