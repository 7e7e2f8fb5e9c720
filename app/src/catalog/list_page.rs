use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use super::ProductCard;
use super::api::{list_categories, list_products};
use crate::components::ErrorBox;
use crate::live::use_live_collection;
use crate::model::{Category, CategorySlug, ProductSummary};
use crate::protocol::{Snapshot, Topic};

/// `/` and `/?category=slug`: the product grid, live.
#[component]
pub fn CatalogPage() -> impl IntoView {
    crate::live::page_hydrated();
    let query = use_query_map();
    let category = Memo::new(move |_| query.read().get("category").filter(|c| !c.is_empty()));
    let categories = Resource::new(|| (), |()| list_categories());
    let products = Resource::new(move || category.get(), list_products);

    view! {
        <section class="hero">
            <h1>"Shop"</h1>
            <p>"Prices, stock and sales counts change live on this page — no reload needed."</p>
        </section>
        <Suspense fallback=|| view! { <nav class="categories" aria-label="Categories"></nav> }>
            {move || Suspend::new(async move {
                let list = categories.await.unwrap_or_default();
                view! { <CategoryNav categories=list selected=category/> }
            })}
        </Suspense>
        <Transition fallback=|| view! { <GridSkeleton/> }>
            {move || Suspend::new(async move {
                match products.await {
                    Ok(snapshot) => {
                        let (topic, title) = match category.get_untracked().and_then(|c| CategorySlug::parse(&c).ok()) {
                            Some(slug) => (Topic::Category(slug.clone()), format!("{slug} · livecart")),
                            None => (Topic::Catalog, "All products · livecart".to_string()),
                        };
                        // A plain string: the title is rendered after the page's
                        // signals may be gone, so it must not read them.
                        view! {
                            <leptos_meta::Title text=title/>
                            <LiveGrid topic snapshot/>
                        }
                        .into_any()
                    }
                    Err(err) => view! { <ErrorBox message=err.to_string()/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn CategoryNav(categories: Vec<Category>, selected: Memo<Option<String>>) -> impl IntoView {
    let is = move |slug: Option<&str>| selected.with(|s| s.as_deref() == slug);
    view! {
        <nav class="categories" aria-label="Categories">
            <A href="/" attr:class=move || if is(None) { "chip chip-active" } else { "chip" }>"All"</A>
            {categories
                .into_iter()
                .map(|c| {
                    let slug = c.slug.to_string();
                    let href = format!("/?category={slug}");
                    view! {
                        <A href=href attr:class=move || if is(Some(&slug)) { "chip chip-active" } else { "chip" }>
                            {c.name}
                        </A>
                    }
                })
                .collect_view()}
        </nav>
    }
}

/// The grid for one topic. Created per category, so switching category
/// unsubscribes the old topic and subscribes the new one on the same socket.
#[component]
fn LiveGrid(topic: Topic, snapshot: Snapshot<Vec<ProductSummary>>) -> impl IntoView {
    let products = use_live_collection(topic, snapshot);
    view! {
        <Show
            when=move || !products.read().is_empty()
            fallback=|| view! { <p class="empty" data-test-id="empty">"No products here yet. Check back soon."</p> }
        >
            <p class="count">{move || format!("{} products", products.read().len())}</p>
            <div class="grid" data-test-id="product-grid">
                <For each=move || products.get() key=|p| p.clone() let:product>
                    <ProductCard product/>
                </For>
            </div>
        </Show>
    }
}

#[component]
fn GridSkeleton() -> impl IntoView {
    view! {
        <div class="grid" aria-busy="true" aria-label="Loading products">
            {(0..8).map(|_| view! { <div class="card card-skeleton"></div> }).collect_view()}
        </div>
    }
}
