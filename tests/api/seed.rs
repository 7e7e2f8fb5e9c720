//! `livecart seed --products N`: made-up products through the same triggers as
//! every write, so open pages see them arrive.

use std::collections::BTreeMap;

use app::model::ProductSummary;
use app::protocol::ServerMsg;

use crate::helpers::spawn_app;

#[tokio::test]
async fn many_seeded_products_reach_an_open_catalog_and_the_database() {
    let app = spawn_app().await;
    let mut ws = app.ws().await;
    let (_, before) = app.catalog_snapshot(&mut ws).await;
    let mut told = Vec::new();
    let added = app::server::catalog_gen::add_products(&app.db, 1_200, 500, |n| told.push(n)).await.expect("seeding");
    assert_eq!(added, 1_200);
    assert_eq!(told, [500, 1_000, 1_200], "progress after each transaction");
    assert_eq!(app.db.product_count().await.expect("count"), before.len() as i64 + 1_200);

    // The open catalog learns of every one: as changes, or as a fresh snapshot
    // when its queue overflowed.
    let mut shown: BTreeMap<i64, ProductSummary> = before.into_iter().map(|p| (p.id.0, p)).collect();
    while shown.len() < 27 + 1_200 {
        match ws.next().await {
            ServerMsg::Change { data, .. } => {
                let p: ProductSummary = serde_json::from_str(data.get()).expect("product");
                shown.insert(p.id.0, p);
            }
            ServerMsg::Snapshot { data, .. } => {
                let all: Vec<ProductSummary> = serde_json::from_str(data.get()).expect("catalog");
                shown = all.into_iter().map(|p| (p.id.0, p)).collect();
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // Added again later: more, with new names, never a clash with the first run.
    app::server::catalog_gen::add_products(&app.db, 10, 10, |_| {}).await.expect("seeding more");
    assert_eq!(app.db.product_count().await.expect("count"), 27 + 1_210);
}
