//! A big catalog in pages: keyset pages that stay exact while products come
//! and go, search by words with filters, and live updates that cost only the
//! sockets showing a product.

use std::collections::BTreeSet;
use std::time::Duration;

use app::model::{CatalogQuery, ProductId, ProductPage, ProductSummary, Sort};
use app::protocol::{ClientMsg, Seq, ServerMsg, Topic};
use app::server::db::Listing;

use crate::helpers::{TestApp, WsClient, spawn_app};

/// One page straight from the database, as `catalog_page` asks for it.
async fn page(app: &TestApp, words: &[&str], sort: Sort, after: Option<&str>) -> (Vec<i64>, Option<String>) {
    let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    let listing = Listing { words: &words, sort, after, limit: 24, ..Listing::default() };
    let (rows, next, _) = app.db.list_page(&listing).await.expect("page");
    (rows.iter().map(|p| p.id.0).collect(), next)
}

/// The catalog page's server function, as the browser calls it.
async fn catalog_page(app: &TestApp, query: &CatalogQuery) -> (u16, Option<ProductPage>, String) {
    let form = [
        ("query[q]", query.q.as_str()),
        ("query[category]", &query.category),
        ("query[min]", &query.min),
        ("query[max]", &query.max),
        ("query[in_stock]", if query.in_stock { "true" } else { "false" }),
        ("query[sort]", query.sort.as_str()),
        ("query[after]", &query.after),
    ];
    let r = app.http.post(app.url("/api/catalog_page")).form(&form).send().await.expect("POST");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let page = serde_json::from_str::<app::protocol::Snapshot<ProductPage>>(&text).ok().map(|s| s.data);
    (status, page, text)
}

fn names(page: &ProductPage) -> Vec<&str> {
    page.items.iter().map(|p| p.name.as_str()).collect()
}

#[tokio::test]
async fn pages_stay_exact_while_products_are_added_and_removed_between_them() {
    let app = spawn_app().await;
    // More matches for "a" than a search sorts in memory (1,000): its pages
    // walk the sort order's index and test each product against the matches.
    app::server::catalog_gen::add_products(&app.db, 1100, 1100, |_| {}).await.expect("seeding");
    let matching_a: i64 =
        app.outside_scalar("SELECT count(*) FROM products WHERE ' ' || lower(name || ' ' || description) LIKE '% a%'").await;
    assert!(matching_a > 1000, "{matching_a}");
    for sort in Sort::ALL {
        for words in [&[][..], &["a"][..]] {
            let before: BTreeSet<i64> = {
                let (mut all, mut after) = (BTreeSet::new(), None::<String>);
                loop {
                    let (ids, next) = page(&app, words, sort, after.as_deref()).await;
                    all.extend(ids);
                    match next {
                        Some(n) => after = Some(n),
                        None => break all,
                    }
                }
            };
            // Walk again, adding and deleting between pages.
            let (mut seen, mut after, mut deleted, mut turn) = (Vec::new(), None::<String>, BTreeSet::new(), 0);
            loop {
                let (ids, next) = page(&app, words, sort, after.as_deref()).await;
                seen.extend(ids.iter().copied());
                turn += 1;
                // A new product named to sort anywhere, and one not yet shown deleted.
                app.outside_sql(&format!(
                    "INSERT INTO products (category_id, name, description, price_cents, stock) \
                     VALUES (1, 'A new arrival {sort:?} {turn}', 'a fresh one', {}, 5)",
                    100 + turn * 37
                ))
                .await;
                if let Some(victim) = before.iter().rev().find(|id| !seen.contains(id) && !deleted.contains(*id)) {
                    app.outside_sql(&format!("DELETE FROM products WHERE id = {victim}")).await;
                    deleted.insert(*victim);
                }
                match next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
            let unique: BTreeSet<i64> = seen.iter().copied().collect();
            assert_eq!(unique.len(), seen.len(), "{sort:?} {words:?}: nothing shown twice");
            let kept: BTreeSet<i64> = before.difference(&deleted).copied().collect();
            let missed: Vec<&i64> = kept.difference(&unique).collect();
            assert!(missed.is_empty(), "{sort:?} {words:?}: every product there all along was shown; missed {missed:?}");
        }
    }
}

#[tokio::test]
async fn search_finds_name_and_description_words_by_prefix_and_respects_filters() {
    let app = spawn_app().await;
    let search = |q: &str| CatalogQuery { q: q.into(), ..CatalogQuery::default() };
    let (_, found, _) = catalog_page(&app, &search("espresso")).await;
    assert_eq!(names(&found.expect("page"))[0], "Espresso Beans", "a name word");
    let (_, found, _) = catalog_page(&app, &search("cacao")).await;
    assert_eq!(names(&found.expect("page")), ["Dark Chocolate Bar"], "a description word");
    let (_, found, _) = catalog_page(&app, &search("CHOC")).await;
    assert!(names(&found.expect("page")).contains(&"Dark Chocolate Bar"), "a prefix, any case");
    let (_, found, _) = catalog_page(&app, &search("usb-c cable")).await;
    assert_eq!(names(&found.expect("page")), ["Mechanical Keyboard"], "every word must match");

    // Names that match come before descriptions that do.
    let (_, found, _) = catalog_page(&app, &search("usb")).await;
    let found = found.expect("page");
    assert!(found.items.len() >= 2 && found.total == found.items.len() as i64);
    let in_name: Vec<bool> = found.items.iter().map(|p| p.name.to_lowercase().contains("usb")).collect();
    assert!(in_name.windows(2).all(|w| w[0] || !w[1]), "name matches first: {:?}", names(&found));

    // Filters: category, price range, in stock.
    let (_, found, _) =
        catalog_page(&app, &CatalogQuery { category: "coffee-tea".into(), max: "10".into(), ..CatalogQuery::default() }).await;
    let found = found.expect("page");
    assert!(!found.items.is_empty());
    assert!(found.items.iter().all(|p| p.category.as_str() == "coffee-tea" && p.price.minor <= 1000), "{:?}", names(&found));
    app.outside_sql("UPDATE products SET stock = 0 WHERE name = 'Dark Chocolate Bar'").await;
    let (_, found, _) = catalog_page(&app, &CatalogQuery { q: "chocolate".into(), in_stock: true, ..CatalogQuery::default() }).await;
    assert!(!names(&found.expect("page")).contains(&"Dark Chocolate Bar"), "sold out is filtered out");

    // Bad input: a clear error, and nothing else.
    let (status, _, body) = catalog_page(&app, &CatalogQuery { min: "cheap".into(), ..CatalogQuery::default() }).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("is not a price"), "{body}");
    let (status, _, _) = catalog_page(&app, &CatalogQuery { category: "no-such".into(), ..CatalogQuery::default() }).await;
    assert_eq!(status, 404);
    // Hostile text is only words: FTS syntax is never passed through.
    for q in ["\"", "a OR b NOT c", "*", "name:(x", "')); DROP TABLE products; --", "&|!:*"] {
        let (status, page, body) = catalog_page(&app, &search(q)).await;
        assert_eq!(status, 200, "{q}: {body}");
        assert!(page.is_some());
    }
    // The page renders the search from the URL, without wasm.
    let html = app.http.get(app.url("/?q=espresso")).send().await.expect("GET").text().await.expect("html");
    assert!(html.contains("Espresso Beans") && !html.contains("Wireless Headphones"));
    assert!(html.contains("results for") || html.contains("result for"), "says what it found");
}

#[tokio::test]
async fn a_search_with_a_typo_shows_the_closest_words_results_and_says_so() {
    let app = spawn_app().await;
    let search = |q: &str| CatalogQuery { q: q.into(), ..CatalogQuery::default() };
    let (_, found, _) = catalog_page(&app, &search("expresso")).await;
    let found = found.expect("page");
    assert_eq!(names(&found), ["Espresso Beans"]);
    assert_eq!(found.corrected.as_deref(), Some("espresso"));
    // A word written by any writer is known within seconds (the index's
    // vocabulary is read again when a word finds nothing close, at most every 2 s).
    app.outside_sql(
        "INSERT INTO products (category_id, name, description, price_cents, stock) \
         VALUES (1, 'Zanzibar Clove Tin', 'whole cloves', 900, 4)",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (_, found, _) = catalog_page(&app, &search("zanzibr cloves")).await;
    let found = found.expect("page");
    assert_eq!(names(&found), ["Zanzibar Clove Tin"]);
    assert_eq!(found.corrected.as_deref(), Some("zanzibar cloves"));
    // Words that match as typed are never "corrected"; nothing close, nothing shown.
    let (_, found, _) = catalog_page(&app, &search("espresso")).await;
    assert_eq!(found.expect("page").corrected, None);
    let (_, found, _) = catalog_page(&app, &search("qwertyuiop")).await;
    let found = found.expect("page");
    assert!(found.items.is_empty() && found.corrected.is_none());
    // Words the index holds that a search could not type (PostgreSQL keeps a
    // URL or an address as one lexeme) are never offered as corrections.
    app.outside_sql(
        "INSERT INTO products (category_id, name, description, price_cents, stock) \
         VALUES (1, 'Care Kit', 'see shop.example.com/care(tips)&more or ask help!desk@mail.example', 900, 4)",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    for q in ["shap", "shopexample", "helpdesc", "mailexample"] {
        let (status, page, body) = catalog_page(&app, &search(q)).await;
        assert_eq!(status, 200, "{q}: {body}");
        let corrected = page.expect("page").corrected.unwrap_or_default();
        assert!(corrected.chars().all(|c| c.is_alphanumeric() || c == ' '), "{q} → {corrected}");
    }
    // A known word that filters leave with nothing is not "corrected" either.
    let (_, found, _) = catalog_page(&app, &CatalogQuery { q: "espresso".into(), max: "0.01".into(), ..CatalogQuery::default() }).await;
    let found = found.expect("page");
    assert!(found.items.is_empty() && found.corrected.is_none(), "{:?}", found.corrected);
    // Without wasm, the page says what it searched instead.
    let html = app.http.get(app.url("/?q=expresso")).send().await.expect("GET").text().await.expect("html");
    assert!(html.contains("Showing results for") && html.contains("Espresso Beans"), "{html}");
}

#[tokio::test]
async fn a_cart_reads_only_its_own_products_and_only_those_on_sale() {
    let app = spawn_app().await;
    app::server::catalog_gen::add_products(&app.db, 500, 500, |_| {}).await.expect("seeding");
    let read = |ids: Vec<i64>| {
        let form: Vec<(String, String)> = ids.iter().enumerate().map(|(i, id)| (format!("ids[{i}]"), id.to_string())).collect();
        let request = app.http.post(app.url("/api/products_by_id")).form(&form);
        async move {
            let r = request.send().await.expect("POST");
            (r.status().as_u16(), r.text().await.expect("body"))
        }
    };
    app.outside_sql("UPDATE products SET archived_at = CURRENT_TIMESTAMP WHERE id = 3").await;
    let (status, body) = read(vec![2, 3, 400, 999_999]).await;
    assert_eq!(status, 200, "{body}");
    let snapshot: app::protocol::Snapshot<Vec<ProductSummary>> = serde_json::from_str(&body).expect("snapshot");
    let mut ids: Vec<i64> = snapshot.data.iter().map(|p| p.id.0).collect();
    ids.sort_unstable();
    assert_eq!(ids, [2, 400], "the asked-for products on sale, nothing else");
    assert!(body.len() < 2_000, "a cart's read is the size of the cart: {} bytes", body.len());
    let (status, body) = read((1..=101).collect()).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("at most 100 products"), "{body}");
}

#[tokio::test]
async fn a_whole_catalog_subscription_is_refused_once_it_is_too_big_to_send() {
    let app = spawn_app().await;
    let mut ws = app.ws().await;
    ws.send(&ClientMsg::Subscribe { topic: Topic::Catalog, since: None }).await;
    assert!(matches!(ws.next().await, ServerMsg::Snapshot { .. }), "the demo catalog is small enough");
    app::server::catalog_gen::add_products(&app.db, 1100, 1100, |_| {}).await.expect("seeding");
    app.wait_for_feed().await;
    let mut late = app.ws().await;
    late.send(&ClientMsg::Subscribe { topic: Topic::Catalog, since: None }).await;
    match late.next().await {
        ServerMsg::Error { code, message, .. } => {
            assert_eq!(code, app::protocol::ErrorCode::TooLarge);
            assert!(message.contains("card:") && message.contains("listing"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // What the catalog page follows still works at any size.
    late.send(&ClientMsg::Subscribe { topic: Topic::Listing(None), since: None }).await;
    match late.next().await {
        ServerMsg::Snapshot { data, .. } => assert_eq!(data.get(), "1001", "the count stops at the cap"),
        other => panic!("expected the listing's count, got {other:?}"),
    }
    let first: i64 = app.outside_scalar("SELECT min(id) FROM products WHERE archived_at IS NULL").await;
    late.send(&ClientMsg::Subscribe { topic: Topic::Card(ProductId(first)), since: None }).await;
    let answer = late.next().await;
    assert!(matches!(answer, ServerMsg::Snapshot { .. }), "{answer:?}");
}

/// Subscribe to the cards of `products` from `seq`.
async fn follow_cards(ws: &mut WsClient, products: &[i64], seq: Seq) {
    for id in products {
        ws.send(&ClientMsg::Subscribe { topic: Topic::Card(ProductId(*id)), since: Some(seq) }).await;
    }
}

#[tokio::test]
async fn a_price_change_reaches_the_shopper_on_page_37_and_no_one_else() {
    let app = spawn_app().await;
    app::server::catalog_gen::add_products(&app.db, 900, 900, |_| {}).await.expect("seeding");
    app.wait_for_feed().await;
    let seq = Seq(app.outside_scalar("SELECT coalesce(max(seq), 0) FROM change_log").await);
    let (mut after, mut first_page) = (None::<String>, Vec::new());
    let mut page37 = Vec::new();
    for n in 1..=37 {
        let (ids, next) = page(&app, &[], Sort::Relevance, after.as_deref()).await;
        if n == 1 {
            first_page = ids.clone();
        }
        page37 = ids;
        after = next;
    }
    assert_eq!(page37.len(), 24, "page 37 is full");
    let (mut deep, mut top) = (app.ws().await, app.ws().await);
    follow_cards(&mut deep, &page37, seq).await;
    follow_cards(&mut top, &first_page, seq).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let target = page37[10];
    app.outside_sql(&format!("UPDATE products SET price_cents = 4242 WHERE id = {target}")).await;
    match deep.next().await {
        ServerMsg::Change { topic: Topic::Card(id), data, .. } => {
            assert_eq!(id, ProductId(target));
            let p: ProductSummary = serde_json::from_str(data.get()).expect("summary");
            assert_eq!(p.price.minor, 4242);
        }
        other => panic!("expected the card's change, got {other:?}"),
    }
    assert!(deep.next_within(Duration::from_millis(300)).await.is_none(), "one frame for one change");
    assert!(top.next_within(Duration::from_millis(300)).await.is_none(), "page 1 does not show it and hears nothing");
}
