use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::A;

use super::api::{ArchiveProduct, Restock, admin_products};
use super::{AdminNav, action_error, staff_error};
use crate::components::{ConfirmButton, Price, StockBadge};
use crate::model::StaffProduct;

/// `/admin/products`: every product, archived ones too; restock and archive here.
#[component]
pub fn AdminProductsPage() -> impl IntoView {
    let restock = ServerAction::<Restock>::new();
    let archive = ServerAction::<ArchiveProduct>::new();
    let products = crate::json::load(move || (restock.version().get(), archive.version().get()), |_| admin_products());
    view! {
        <leptos_meta::Title text="Products · Staff · livecart"/>
        <AdminNav/>
        <div class="page-head">
            <h1 class="page-title">"Products"</h1>
            <A href="/admin/products/new" attr:class="button" attr:data-test-id="new-product">"New product"</A>
        </div>
        {action_error(move || restock.value().get())}
        {action_error(move || archive.value().get())}
        <Transition fallback=|| view! { <p class="empty">"Loading products…"</p> }>
            {move || Suspend::new(async move {
                match products.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty">"No products yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="admin-products" data-test-id="admin-products">
                            <thead><tr><th></th><th>"Product"</th><th>"Category"</th><th>"Price"</th><th>"Stock"</th><th>"Sold"</th><th>"Restock"</th><th></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|p| view! { <ProductRow p restock archive/> }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(err) => staff_error(err),
                }
            })}
        </Transition>
    }
}

#[component]
fn ProductRow(p: StaffProduct, restock: ServerAction<Restock>, archive: ServerAction<ArchiveProduct>) -> impl IntoView {
    let s = p.product.summary;
    let id = s.id.0;
    let archived = p.archived;
    let question = format!("Archive {}? It leaves the shop now.", s.name);
    view! {
        <tr data-test-id="admin-product-row" data-product-id=id class:archived=archived>
            <td>{(!s.image.is_empty()).then(|| view! { <img class="thumb" src=s.image.clone() alt="" width="40" height="40"/> })}</td>
            <td>
                <A href=format!("/admin/products/{id}")>{s.name.clone()}</A>
                {archived.then(|| view! { <span class="badge badge-out">"Archived"</span> })}
            </td>
            <td>{s.category.to_string()}</td>
            <td><Price amount=s.price/></td>
            <td><StockBadge stock=s.stock/></td>
            <td>{s.units_sold}</td>
            <td>
                <ActionForm action=restock attr:class="inline-form restock-form">
                    <input type="hidden" name="id" value=id/>
                    <input name="delta" type="number" step="1" value="10" aria-label="Units to add" class="qty-input"/>
                    <button type="submit" class="button button-small">"Add"</button>
                </ActionForm>
            </td>
            <td>
                {if archived {
                    view! {
                        <button type="button" class="link-button" data-test-id="archive" disabled=move || archive.pending().get()
                            on:click=move |_| { archive.dispatch(ArchiveProduct { id, archived: false }); }>"Restore"</button>
                    }.into_any()
                } else {
                    // Shoppers lose it from the catalog at once: ask first.
                    view! {
                        <ConfirmButton label="Archive" class="link-button" test_id="archive" disabled=archive.pending()
                            question=question.clone() yes="Yes, archive"
                            on_confirm=move || { archive.dispatch(ArchiveProduct { id, archived: true }); }/>
                    }.into_any()
                }}
            </td>
        </tr>
    }
}
