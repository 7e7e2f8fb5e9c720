//! The change log records facts and Rust makes the frames: what any writer
//! does reaches every topic that showed the entity, and a database from before
//! the fact log upgrades at a boundary without losing a live view.

use std::time::Duration;

use app::model::{CategorySlug, CustomerId, OrderId, ProductSummary};
use app::protocol::{ClientMsg, Seq, ServerMsg, Topic};
use livecart::config::Limits;
use sqlx::Connection as _;

use crate::helpers::{TestDb, WsClient, changed_product, spawn_app, spawn_app_on};

fn category(slug: &str) -> Topic {
    Topic::Category(CategorySlug::parse(slug).expect("slug"))
}

/// Subscribe and return the snapshot's seq and data.
async fn snapshot(ws: &mut WsClient, topic: Topic, since: Option<Seq>) -> (Seq, String) {
    ws.send(&ClientMsg::Subscribe { topic, since }).await;
    match ws.next().await {
        ServerMsg::Snapshot { seq, data, .. } => (seq, data.get().to_string()),
        other => panic!("expected a snapshot, got {other:?}"),
    }
}

/// Every frame that arrives until the socket is quiet for a moment, as (topic, what).
async fn frames(ws: &mut WsClient) -> Vec<(String, String)> {
    let mut got = Vec::new();
    while let Some(msg) = ws.next_within(Duration::from_millis(400)).await {
        got.push(match msg {
            ServerMsg::Change { topic, .. } => (topic.to_string(), "change".to_string()),
            ServerMsg::Removed { topic, id, .. } => (topic.to_string(), format!("removed {id}")),
            other => (String::new(), format!("{other:?}")),
        });
    }
    got
}

#[tokio::test]
async fn moves_and_deletes_by_an_outside_writer_reach_every_topic_that_showed_the_entity() {
    let app = spawn_app().await;
    let mut ws = app.ws().await;
    let (before_move, electronics) = snapshot(&mut ws, category("electronics"), None).await;
    assert!(electronics.contains(r#""id":1,"#), "product 1 starts in electronics");
    snapshot(&mut ws, category("home"), None).await;

    app.outside_sql("UPDATE products SET category_id = (SELECT id FROM categories WHERE slug = 'home') WHERE id = 1").await;
    let got = frames(&mut ws).await;
    assert_eq!(
        got,
        [("category:electronics".to_string(), "removed 1".to_string()), ("category:home".to_string(), "change".to_string())],
        "it left one category and joined the other"
    );

    // A view of electronics that was away during the move hears that it left.
    let mut back = app.ws().await;
    back.send(&ClientMsg::Subscribe { topic: category("electronics"), since: Some(before_move) }).await;
    assert_eq!(frames(&mut back).await, [("category:electronics".to_string(), "removed 1".to_string())]);

    // An order deleted outside the app leaves its customer's list, its own
    // topic and the staff list at once.
    let shopper = app.signed_up("dora").await;
    let order = shopper.buy(2, 1).await;
    let customer = app.outside_scalar("SELECT id FROM users WHERE username = 'dora'").await;
    let staff = app.staff("sam").await;
    let mut mine = shopper.ws().await;
    snapshot(&mut mine, Topic::Orders(CustomerId(customer)), None).await;
    snapshot(&mut mine, Topic::Order(OrderId(order)), None).await;
    let mut desk = staff.ws().await;
    snapshot(&mut desk, Topic::AllOrders, None).await;
    app.outside_sql(&format!("DELETE FROM order_lines WHERE order_id = {order}; DELETE FROM orders WHERE id = {order}")).await;
    let gone = format!("removed {order}");
    assert_eq!(frames(&mut mine).await, [(format!("orders:{customer}"), gone.clone()), (format!("order:{order}"), gone.clone())]);
    assert_eq!(frames(&mut desk).await, [("orders".to_string(), gone)]);
}

#[tokio::test]
async fn a_database_from_before_the_fact_log_upgrades_at_a_boundary_and_stays_live() {
    const FACT_LOG: i64 = 20261201000001;
    let test_db = TestDb::new().await;
    let dir = if test_db.is_postgres() { "migrations/postgres" } else { "migrations/sqlite" };
    let mut old = sqlx::migrate::Migrator::new(std::path::Path::new(dir)).await.expect("migrations");
    old.migrations = old.migrations.iter().filter(|m| m.version < FACT_LOG).cloned().collect::<Vec<_>>().into();
    // The schema as it was, and writes that went into the old log (topics and JSON).
    let writes = "INSERT INTO categories (slug, name) VALUES ('tea', 'Tea'); \
                  INSERT INTO products (category_id, name, price_cents, stock) VALUES (1, 'Green tea', 500, 10); \
                  UPDATE products SET stock = 9 WHERE id = 1;";
    let newest_old: i64 = if test_db.is_postgres() {
        let mut c = sqlx::PgConnection::connect(test_db.url()).await.expect("connect");
        old.run(&mut c).await.expect("old migrations");
        sqlx::raw_sql(writes).execute(&mut c).await.expect("old writes");
        sqlx::query_scalar("SELECT max(seq) FROM change_log").fetch_one(&mut c).await.expect("old log")
    } else {
        let options: sqlx::sqlite::SqliteConnectOptions = test_db.url().parse().expect("url");
        let mut c = sqlx::SqliteConnection::connect_with(&options.create_if_missing(true)).await.expect("connect");
        old.run(&mut c).await.expect("old migrations");
        sqlx::raw_sql(writes).execute(&mut c).await.expect("old writes");
        sqlx::query_scalar("SELECT max(seq) FROM change_log").fetch_one(&mut c).await.expect("old log")
    };
    assert_eq!(newest_old, 6, "three topics per change in the old log");

    // The new build migrates at start.
    let app = spawn_app_on(test_db, Limits::default()).await;
    assert_eq!(app.db.pruned_through().await.expect("pruned"), newest_old, "the boundary is the old log's end");

    // A page rendered before the upgrade resumes with a fresh snapshot, as after any pruning.
    let mut ws = app.ws().await;
    ws.send(&ClientMsg::Subscribe { topic: Topic::Catalog, since: Some(Seq(newest_old - 2)) }).await;
    let seq = match ws.next().await {
        ServerMsg::Snapshot { seq, data, .. } => {
            let products: Vec<ProductSummary> = serde_json::from_str(data.get()).expect("summaries");
            assert_eq!(products.iter().map(|p| (p.name.as_str(), p.stock)).collect::<Vec<_>>(), [("Green tea", 9)]);
            seq
        }
        other => panic!("expected a snapshot, got {other:?}"),
    };
    // Seqs keep counting above the old ones, and the view stays live.
    app.outside_sql("UPDATE products SET stock = 8 WHERE id = 1").await;
    let (_, changed_at, product) = changed_product(&ws.next().await);
    assert!(changed_at > Seq(newest_old) && changed_at > seq, "seq {changed_at:?} continues after {newest_old}");
    assert_eq!(product.stock, 8);
}
