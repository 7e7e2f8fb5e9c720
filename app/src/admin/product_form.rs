use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use super::api::{SaveProduct, admin_categories, admin_product};
use super::{AdminNav, staff_error};
use crate::error::AppError;
use crate::model::{Category, StaffProduct};

/// `/admin/products/new` and `/admin/products/{id}`: create or edit a product.
#[component]
pub fn ProductFormPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|s| s.parse::<i64>().ok()));
    let data = crate::json::load(
        move || id.get(),
        |id| async move {
            let categories = admin_categories().await?;
            let product = match id {
                Some(id) => Some(admin_product(id).await?),
                None => None,
            };
            Ok::<_, AppError>((categories, product))
        },
    );
    view! {
        <AdminNav/>
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((categories, product)) => view! { <ProductForm categories product/> }.into_any(),
                    Err(err) => staff_error(err),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ProductForm(categories: Vec<Category>, product: Option<StaffProduct>) -> impl IntoView {
    let save = ServerAction::<SaveProduct>::new();
    let editing = product.as_ref().map(|p| p.product.summary.id.0);
    let version = product.as_ref().map(|p| p.version);
    let loaded = StoredValue::new(product.clone());
    let p = product.map(|p| p.product);
    let title = p.as_ref().map_or_else(|| "New product".to_string(), |p| format!("Edit {}", p.summary.name));
    let field = |f: fn(&crate::model::Product) -> String| p.as_ref().map(f).unwrap_or_default();
    let (name, description, price) =
        (field(|p| p.summary.name.clone()), field(|p| p.description.clone()), field(|p| p.summary.price.plain()));
    let current_category = field(|p| p.summary.category.to_string());
    // A drawn picture is no photo: the field stays empty.
    let initial_image = field(|p| p.summary.image.clone());
    let initial_image = if initial_image.starts_with(crate::model::PLACEHOLDER_IMAGES) { String::new() } else { initial_image };
    let image = RwSignal::new(initial_image.clone());
    let upload_error = RwSignal::new(None::<String>);
    let saved = move || save.value().get().and_then(Result::ok);
    Effect::new(move |_| {
        if let Some(p) = saved() {
            loaded.set_value(Some(p));
        }
    });
    let error = move || save.value().get().and_then(Result::err);
    let field_error = move |name: &'static str| {
        move || error().and_then(|e| e.field_message(name)).map(|m| view! { <span class="field-error">{m}</span> })
    };
    // What someone else changed, when saving was refused as stale.
    // Once they are shown, saving again applies this edit on top of theirs.
    let changed_meanwhile = RwSignal::new(Vec::<String>::new());
    let base_version = RwSignal::new(version);
    Effect::new(move |_| {
        if let (Some(AppError::Conflict(_)), Some(id)) = (error(), editing) {
            leptos::task::spawn_local(async move {
                if let (Ok(current), Some(old)) = (admin_product(id).await, loaded.get_value()) {
                    changed_meanwhile.set(current.changes_since(&old));
                    base_version.set(Some(current.version));
                    loaded.set_value(Some(current));
                }
            });
        }
    });
    // After a save the form is at the saved version, and the stock change is done:
    // the field empties so a second save does not add the units again.
    let stock_change = RwSignal::new(String::new());
    let stock_now = RwSignal::new(p.as_ref().map(|p| p.summary.stock));
    Effect::new(move |_| {
        if let Some(saved) = saved() {
            base_version.set(Some(saved.version));
            stock_now.set(Some(saved.product.summary.stock));
            stock_change.set(String::new());
            changed_meanwhile.set(Vec::new());
        }
    });
    // A new product, once created, is edited from its own page: a second click
    // on "Create product" must not create it twice.
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if editing.is_none()
            && let Some(created) = saved()
        {
            navigate(&format!("/admin/products/{}?created=1", created.product.summary.id), Default::default());
        }
    });
    let query = leptos_router::hooks::use_query_map();
    let just_created = move || editing.is_some() && query.read().get("created").is_some();

    view! {
        <leptos_meta::Title text=format!("{title} · Staff · livecart")/>
        <h1 class="page-title">{title.clone()}</h1>
        {move || just_created().then(|| view! { <p class="form-ok" role="status" data-test-id="created">"Created. You can keep editing it here."</p> })}
        <ActionForm action=save attr:class="product-form" attr:data-test-id="product-form">
            {editing.map(|id| view! { <input type="hidden" name="id" value=id/> })}
            {version.map(|v| view! {
                <input type="hidden" name="version" value=v prop:value=move || base_version.get().unwrap_or(v).to_string()/>
            })}
            <label class="field">
                <span>"Name"</span>
                <input name="name" required maxlength="200" value=name/>
                {field_error("name")}
            </label>
            <div class="field-row">
                <label class="field">
                    <span>"Category"</span>
                    <select name="category" required>
                        {categories.into_iter().map(|c| {
                            let selected = c.slug.as_str() == current_category;
                            view! { <option value=c.slug.to_string() selected=selected>{c.name}</option> }
                        }).collect_view()}
                    </select>
                    {field_error("category")}
                </label>
                <label class="field">
                    <span>"Price (USD)"</span>
                    <input name="price" inputmode="decimal" required placeholder="12.90" value=price/>
                    {field_error("price")}
                </label>
                {match stock_now.get_untracked() {
                    None => view! {
                        <label class="field">
                            <span>"Stock"</span>
                            <input name="stock" type="number" min="0" step="1" required value="0"/>
                            {field_error("stock")}
                        </label>
                    }.into_any(),
                    Some(_) => view! {
                        <label class="field">
                            <span>{move || format!("Add or remove units (now {} in stock)", stock_now.get().unwrap_or_default())}</span>
                            <input name="stock_change" type="number" step="1" placeholder="e.g. 10 or -2" data-test-id="stock-change"
                                prop:value=stock_change on:input=move |ev| stock_change.set(event_target_value(&ev))/>
                            {field_error("stock_change")}
                            {field_error("delta")}
                        </label>
                    }.into_any(),
                }}
            </div>
            <label class="field">
                <span>"Description"</span>
                <textarea name="description" rows="4" maxlength="5000">{crate::security::textarea_text(description)}</textarea>
                {field_error("description")}
            </label>
            <div class="field image-field">
                <span id="image-label">"Image"</span>
                <div class="image-row">
                    {move || (!image.get().is_empty()).then(|| view! { <img class="preview" src=image.get() alt="" data-test-id="image-preview"/> })}
                    <div>
                        <input type="file" accept="image/png,image/jpeg,image/gif,image/webp" data-test-id="image-file" aria-label="Upload an image"
                            on:change=move |ev| upload(ev, image, upload_error)/>
                        <input name="image" value=initial_image prop:value=image on:input=move |ev| image.set(event_target_value(&ev))
                            placeholder="/media/12" aria-label="Image path" class="image-path"/>
                        {move || upload_error.get().map(|m| view! { <span class="field-error" role="alert">{m}</span> })}
                        {field_error("image")}
                    </div>
                </div>
            </div>
            {move || error().filter(|e| !matches!(e, AppError::Validation { .. })).map(|e| view! { <p class="form-error" role="alert" data-test-id="form-error">{e.sentence()}</p> })}
            {move || {
                let changes = changed_meanwhile.get();
                (!changes.is_empty()).then(|| view! {
                    <div class="form-error" data-test-id="changed-meanwhile">
                        <p>"Changed by someone else while you were editing (save again to apply your changes on top):"</p>
                        <ul>{changes.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}</ul>
                        <p><a href=format!("/admin/products/{}", editing.unwrap_or_default()) rel="external">"Load the latest version"</a>" (your unsaved changes will be lost)"</p>
                    </div>
                })
            }}
            <div class="form-actions">
                <button type="submit" class="button button-large" data-test-id="save-product"
                    disabled=move || save.pending().get() || (editing.is_none() && saved().is_some())>
                    {if editing.is_some() { "Save changes" } else { "Create product" }}
                </button>
                <A href="/admin/products">"Back to products"</A>
            </div>
            {move || saved().filter(|_| editing.is_some()).map(|p| {
                let id = p.product.summary.id;
                view! {
                    <p class="form-ok" role="status" data-test-id="saved">
                        {format!("Saved {}. ", p.product.summary.name)}
                        <A href=format!("/products/{id}")>"View in the shop"</A>
                    </p>
                }
            })}
        </ActionForm>
    }
}

/// Send the chosen file to `/api/images` and put its URL in the form.
fn upload(ev: leptos::ev::Event, image: RwSignal<String>, error: RwSignal<Option<String>>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast as _;
        let Some(file) =
            ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()).and_then(|i| i.files()).and_then(|f| f.get(0))
        else {
            return;
        };
        error.set(None);
        leptos::task::spawn_local(async move {
            match upload_file(file).await {
                Ok(url) => image.set(url),
                Err(message) => error.set(Some(message)),
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, image, error);
}

#[cfg(feature = "hydrate")]
async fn upload_file(file: web_sys::File) -> Result<String, String> {
    let request =
        gloo_net::http::Request::post("/api/images").header("Content-Type", &file.type_()).body(file).map_err(|e| e.to_string())?;
    let response = request.send().await.map_err(|e| format!("upload failed: {e}"))?;
    let text = response.text().await.map_err(|e| e.to_string())?;
    let body: serde_json::Value = crate::json::decode(&text).map_err(|_| format!("upload failed ({})", response.status()))?;
    match body["url"].as_str() {
        Some(url) if response.ok() => Ok(url.to_string()),
        _ => Err(body["message"].as_str().unwrap_or("upload failed").to_string()),
    }
}
