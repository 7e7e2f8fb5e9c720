use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use super::api::{get_product, list_categories};
use crate::cart::AddToCart;
use crate::components::{ErrorBox, NotFound, Price, StockBadge, announce_changes, stock_change};
use crate::error::AppError;
use crate::live::use_live_entity;
use crate::model::{Category, Product, ProductId, question_counts};
use crate::protocol::{Snapshot, Topic};
use crate::questions::QuestionSection;

/// `/products/{id}`: one product, live.
#[component]
pub fn ProductPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|s| s.parse::<ProductId>().ok()));
    let product = crate::json::load(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => get_product(id.0).await,
                None => Err(AppError::NotFound("This product".into())),
            }
        },
    );
    // For the breadcrumb's category name (products carry only the slug).
    let categories = crate::json::load(|| (), |()| list_categories());
    view! {
        <Suspense fallback=|| view! { <div class="product product-skeleton" aria-busy="true"></div> }>
            {move || Suspend::new(async move {
                let categories = categories.await.unwrap_or_default();
                match product.await {
                    Ok(snapshot) => view! { <LiveProduct snapshot categories/> }.into_any(),
                    Err(AppError::NotFound(what)) => view! { <NotFound what/> }.into_any(),
                    Err(err) => view! { <ErrorBox message=err.sentence()/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LiveProduct(snapshot: Snapshot<Product>, categories: Vec<Category>) -> impl IntoView {
    let id = snapshot.data.summary.id;
    let product = use_live_entity(Topic::Product(id), snapshot);
    let categories = StoredValue::new(categories);
    // What changes while one looks, in words for a screen reader.
    announce_changes(
        move || product.with(|p| p.as_ref().map(|p| (p.summary.price, p.summary.stock))),
        |before, now| match (before, now) {
            (Some(_), None) => Some("This product is no longer available.".to_string()),
            (Some((was, stock_was)), Some((price, stock))) => {
                let words: Vec<String> =
                    [(was != price).then(|| format!("Price changed from {was} to {price}.")), stock_change(*stock_was, *stock)]
                        .into_iter()
                        .flatten()
                        .collect();
                (!words.is_empty()).then(|| words.join(" "))
            }
            _ => None,
        },
    );
    let page = move || match product.get() {
        None => view! {
            <section class="notice" data-test-id="product-gone">
                <h1>"This product is no longer available"</h1>
                <A href="/" attr:class="button">"Back to the shop"</A>
            </section>
        }
        .into_any(),
        Some(Product { summary, description }) => {
            let category_href = format!("/?category={}", summary.category);
            let category_name = categories.with_value(|cs| {
                cs.iter().find(|c| c.slug == summary.category).map_or_else(|| summary.category.to_string(), |c| c.name.clone())
            });
            view! {
                <leptos_meta::Title text=format!("{} · livecart", summary.name)/>
                <nav class="crumbs" aria-label="Breadcrumb">
                    <A href="/">"Shop"</A>
                    " / "
                    <A href=category_href>{category_name}</A>
                </nav>
                <article class="product" data-test-id="product" data-product-id=summary.id.0>
                    // The page's largest paint: ahead of the page's code, which is preloaded too.
                    <img class="product-image" src=summary.image.clone() alt=summary.name.clone() width="400" height="300" fetchpriority="high"/>
                    <div class="product-info">
                        <h1 data-test-id="product-name">{summary.name.clone()}</h1>
                        <Price amount=summary.price large=true/>
                        <div class="product-meta">
                            <StockBadge stock=summary.stock/>
                            <span class="sold" data-test-id="units-sold">{summary.units_sold}" sold"</span>
                        </div>
                        <AddToCart product_id=summary.id name=summary.name.clone() stock=summary.stock large=true/>
                        <p class="description">{description}</p>
                        {question_counts(summary.questions, summary.answered).map(|words| view! {
                            <a class="question-link" href="#questions" rel="external" data-test-id="product-question-count">{words}</a>
                        })}
                    </div>
                </article>
            }
            .into_any()
        }
    };
    view! {
        {page}
        // Outside the product's view, which is redrawn on every price or stock tick.
        <Show when=move || product.with(Option::is_some)>
            <Watchers product=id/>
            <QuestionSection product=id/>
        </Show>
    }
    .into_any()
}

/// "4 people are looking at this now": everyone with this product's page
/// open, on every instance (this tab included), once there is someone else;
/// and "In 3 carts right now": the carts holding it, on every instance.
#[component]
fn Watchers(product: ProductId) -> impl IntoView {
    let presence = crate::live::use_presence(Topic::Presence(product));
    let cart = expect_context::<crate::cart::Cart>();
    let looking = move || {
        let count = presence.with(|f| f.as_ref().map_or(0, |f| f.count));
        (count >= 2).then(|| view! { <p class="watchers" data-test-id="watchers">{format!("{count} people are looking at this now")}</p> })
    };
    let carts = move || {
        let carts = presence.with(|f| f.as_ref().map_or(0, |f| f.carts));
        // This tab's cart is one of them once it holds the product.
        let mine = cart.quantity_of(product) > 0;
        let text = match (mine, carts.saturating_sub(u64::from(mine))) {
            (_, 0) => return None,
            (true, 1) => "In your cart and 1 other".to_string(),
            (true, others) => format!("In your cart and {others} others"),
            (false, 1) => "In 1 cart right now".to_string(),
            (false, n) => format!("In {n} carts right now"),
        };
        Some(view! { <p class="watchers in-carts" data-test-id="in-carts">{text}</p> })
    };
    view! { {looking} {carts} }
}
