use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use super::ProductCard;
use super::api::{catalog_page, list_categories};
use crate::components::ErrorBox;
use crate::live::{LiveClient, LiveEvent, use_live_entity};
use crate::model::{COUNT_CAP, CatalogQuery, Category, CategorySlug, ProductPage, ProductSummary, Sort};
use crate::protocol::{Seq, Snapshot, Topic};

/// `/`: one page of the catalog, as the URL asks (`?q=…&category=…&min=…&max=…&stock=1&sort=…&after=…`).
/// Live for what it shows: each card follows its product, and the page hears
/// when products join its category (never every sale in the shop).
#[component]
pub fn CatalogPage() -> impl IntoView {
    crate::live::page_hydrated();
    let params = use_query_map();
    let query = Memo::new(move |_| params.with(|p| CatalogQuery::from_params(|k| p.get(k))));
    let categories = crate::json::load(|| (), |()| list_categories());
    let page = crate::json::load(move || query.get(), catalog_page);
    // "N new products — show": the same query again, fresh.
    let refresh = Callback::new(move |()| page.refetch());

    view! {
        <section class="hero">
            <h1>"Shop"</h1>
            <p>"Prices, stock and sales counts change live on this page — no reload needed."</p>
        </section>
        <Suspense fallback=|| view! { <nav class="categories" aria-label="Categories"></nav> }>
            {move || Suspend::new(async move {
                let list = categories.await.unwrap_or_default();
                let q = query.get();
                view! {
                    <CategoryNav categories=list.clone() selected=q.category.clone()/>
                    <SearchForm query=q categories=list/>
                }
            })}
        </Suspense>
        <Transition fallback=|| view! { <GridSkeleton/> }>
            {move || Suspend::new(async move {
                let names = categories.await.unwrap_or_default();
                match page.await {
                    Ok(snapshot) => {
                        let q = query.get_untracked();
                        // A plain string: the title is rendered after the page's
                        // signals may be gone, so it must not read them.
                        let title = title(&q, &names);
                        view! {
                            <leptos_meta::Title text=title/>
                            <Results query=q snapshot refresh/>
                        }
                        .into_any()
                    }
                    Err(err) => view! { <ErrorBox message=err.sentence()/> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn title(q: &CatalogQuery, categories: &[Category]) -> String {
    let category = categories.iter().find(|c| c.slug.as_str() == q.category).map(|c| c.name.clone());
    match (q.is_search(), category) {
        (true, _) => format!("“{}” · livecart", q.q),
        (false, Some(name)) => format!("{name} · livecart"),
        (false, None) => "All products · livecart".to_string(),
    }
}

#[component]
fn CategoryNav(categories: Vec<Category>, selected: String) -> impl IntoView {
    let chip = |active: bool| if active { "chip chip-active" } else { "chip" };
    view! {
        <nav class="categories" aria-label="Categories">
            <a href="/" class=chip(selected.is_empty())>"All"</a>
            {categories
                .into_iter()
                .map(|c| {
                    let href = CatalogQuery { category: c.slug.to_string(), ..CatalogQuery::default() }.url(None);
                    view! { <a href=href class=chip(c.slug.as_str() == selected)>{c.name}</a> }
                })
                .collect_view()}
        </nav>
    }
}

/// A plain GET form: works without wasm; with it, a search moves in place to
/// the query's own URL (the router's `<Form>` would carry its POST paths
/// and serde machinery into the first visit's wasm for this one GET).
#[component]
fn SearchForm(query: CatalogQuery, categories: Vec<Category>) -> impl IntoView {
    let searching = query.is_search();
    let navigate = use_navigate();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        if let Some(asked) = submitted_query(&ev) {
            ev.prevent_default();
            navigate(&asked.url(None), Default::default());
        }
    };
    view! {
        <form method="get" action="/" class="search" role="search" data-test-id="search-form" on:submit=submit>
            <label class="search-words">
                <span class="visually-hidden">"Search products"</span>
                <input type="search" name="q" value=query.q.clone() placeholder="Search products" maxlength="200"
                    autocomplete="off" data-test-id="search-input"/>
            </label>
            <label>
                <span>"Category"</span>
                <select name="category" data-test-id="filter-category">
                    <option value="" selected=query.category.is_empty()>"All"</option>
                    {categories
                        .into_iter()
                        .map(|c| {
                            let selected = c.slug.as_str() == query.category;
                            view! { <option value=c.slug.to_string() selected=selected>{c.name}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <label class="price-bound">
                <span>"Min $"</span>
                <input type="text" inputmode="decimal" name="min" value=query.min.clone() size="6" data-test-id="filter-min"/>
            </label>
            <label class="price-bound">
                <span>"Max $"</span>
                <input type="text" inputmode="decimal" name="max" value=query.max.clone() size="6" data-test-id="filter-max"/>
            </label>
            <label class="in-stock">
                <input type="checkbox" name="stock" value="1" checked=query.in_stock data-test-id="filter-stock"/>
                <span>"In stock"</span>
            </label>
            <label>
                <span>"Sort"</span>
                <select name="sort" data-test-id="sort">
                    {Sort::ALL
                        .into_iter()
                        .map(|s| view! { <option value=s.as_str() selected=s == query.sort>{s.label(searching)}</option> })
                        .collect_view()}
                </select>
            </label>
            <button type="submit" class="button" data-test-id="search-submit">"Search"</button>
        </form>
    }
}

/// The query a search form's fields ask for, read as the browser would send
/// them (browser only: `None` on the server).
fn submitted_query(ev: &leptos::ev::SubmitEvent) -> Option<CatalogQuery> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let form = ev.target()?.dyn_into::<web_sys::HtmlFormElement>().ok()?;
        let fields = web_sys::FormData::new_with_form(&form).ok()?;
        Some(CatalogQuery::from_params(|name| fields.get(name).as_string()))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        None
    }
}

/// The page's products, each live, with the way to the next page.
#[component]
fn Results(query: CatalogQuery, snapshot: Snapshot<ProductPage>, refresh: Callback<()>) -> impl IntoView {
    let Snapshot { seq, data: ProductPage { items, next, total, corrected } } = snapshot;
    let joined = use_joined(Topic::Listing(CategorySlug::parse(&query.category).ok()), seq, &items);
    let searched = corrected.clone().unwrap_or_else(|| query.q.clone());
    let count = match (total, query.is_search()) {
        (n, _) if n > COUNT_CAP => format!("More than {COUNT_CAP} products"),
        (1, true) => format!("1 result for “{searched}”"),
        (n, true) => format!("{n} results for “{searched}”"),
        (1, false) => "1 product".to_string(),
        (n, false) => format!("{n} products"),
    };
    // Cards report their live state here; when a price or a sale puts the
    // page out of its order, the page says so and re-sorts on request.
    let sort = query.sort;
    let shown: RwSignal<Vec<Option<ProductSummary>>> = RwSignal::new(items.iter().cloned().map(Some).collect());
    let reordered = Memo::new(move |_| {
        shown.with(|cards| {
            let on_page: Vec<&ProductSummary> = cards.iter().flatten().collect();
            on_page.windows(2).any(|w| sort.live_order_holds(w[0], w[1]) == Some(false))
        })
    });
    let report = Callback::new(move |(index, product): (usize, Option<ProductSummary>)| {
        shown.update(|cards| {
            if let Some(card) = cards.get_mut(index) {
                *card = product;
            }
        });
    });
    let first = (!query.after.is_empty()).then(|| query.url(None));
    let next = next.map(|cursor| query.url(Some(&cursor)));
    let filtered = query.is_filtered();
    view! {
        {corrected
            .map(|words| {
                let exact = CatalogQuery { q: words.clone(), after: String::new(), ..query.clone() }.url(None);
                view! {
                    <p class="corrected" data-test-id="corrected">
                        "Nothing matched “"{query.q.clone()}"”. Showing results for “"
                        <a href=exact>{words}</a>
                        "” instead."
                    </p>
                }
            })}
        <div class="results-head">
            <p class="count" data-test-id="result-count">{count}</p>
            {move || {
                let n = joined.get();
                let resort = reordered
                    .get()
                    .then(|| {
                        view! {
                            <button type="button" class="new-products" data-test-id="order-changed" on:click=move |_| refresh.run(())>
                                {sort.reordered_notice()}" — re-sort"
                            </button>
                        }
                    });
                let joined = (n > 0)
                    .then(|| {
                        let text = if n == 1 { "1 new product".to_string() } else { format!("{n} new products") };
                        view! {
                            <button type="button" class="new-products" data-test-id="new-products" on:click=move |_| refresh.run(())>
                                {text}" — show"
                            </button>
                        }
                    });
                (resort, joined)
            }}
        </div>
        {if items.is_empty() {
            if filtered {
                view! {
                    <p class="empty" data-test-id="empty">
                        "No products match. " <A href="/">"Clear the search and filters"</A>
                    </p>
                }
                .into_any()
            } else {
                view! { <p class="empty" data-test-id="empty">"No products here yet. Check back soon."</p> }.into_any()
            }
        } else {
            view! {
                <div class="grid" data-test-id="product-grid">
                    {items
                        .into_iter()
                        .enumerate()
                        .map(|(index, product)| view! { <LiveCard product seq report=Callback::new(move |p| report.run((index, p)))/> })
                        .collect_view()}
                </div>
            }
            .into_any()
        }}
        <nav class="pager" aria-label="Pages">
            {first.map(|href| view! { <a href=href class="button button-quiet" data-test-id="first-page">"← First page"</a> })}
            {next.map(|href| view! { <a href=href class="button" data-test-id="next-page">"Next page →"</a> })}
        </nav>
    }
}

/// One card, following its product: price, stock and sales change in place;
/// a product taken off sale leaves the page.
#[component]
fn LiveCard(product: ProductSummary, seq: Seq, report: Callback<Option<ProductSummary>>) -> impl IntoView {
    let live = use_live_entity(Topic::Card(product.id), Snapshot { seq, data: product });
    Effect::new(move |_| report.run(live.get()));
    move || live.get().map(|product| view! { <ProductCard product/> })
}

/// How many products joined the listing since the page was rendered (and are not on it).
fn use_joined(topic: Topic, seq: Seq, shown: &[ProductSummary]) -> Signal<usize> {
    let joined = RwSignal::new(0_usize);
    if let Some(live) = use_context::<LiveClient>() {
        let shown: Vec<i64> = shown.iter().map(|p| p.id.0).collect();
        let id = live.subscribe(topic, Some(seq), move |event| {
            if let LiveEvent::Change(raw) = event
                && crate::json::decode::<ProductSummary>(raw.get()).is_ok_and(|p| !shown.contains(&p.id.0))
            {
                joined.try_update(|n| *n += 1);
            }
        });
        on_cleanup(move || live.unsubscribe(id));
    }
    joined.into()
}

#[component]
fn GridSkeleton() -> impl IntoView {
    view! {
        <div class="grid" aria-busy="true" aria-label="Loading products">
            {(0..8).map(|_| view! { <div class="card card-skeleton"></div> }).collect_view()}
        </div>
    }
}
