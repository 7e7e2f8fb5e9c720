//! Behaviour that only PostgreSQL has: several writers committing at once.
//! Run with TEST_DATABASE_URL set (the README's test command does).

use std::time::Duration;

use app::protocol::Topic;
use sqlx::Connection as _;

use crate::helpers::{TestApp, WsClient, changed_product, spawn_app};

/// An app on PostgreSQL, a socket following the catalog, and a connection of
/// the test's own (an outside writer).
async fn postgres_app() -> (TestApp, WsClient, sqlx::PgConnection) {
    let app = spawn_app().await;
    assert!(app.test_db.is_postgres(), "this test needs TEST_DATABASE_URL (a PostgreSQL server)");
    let mut ws = app.ws().await;
    app.catalog_snapshot(&mut ws).await;
    let outside = sqlx::PgConnection::connect(app.test_db.url()).await.expect("outside connection");
    (app, ws, outside)
}

#[tokio::test]
async fn postgres_only_a_late_commit_of_an_earlier_seq_is_never_skipped() {
    let (app, mut ws, mut first) = postgres_app().await;
    let mut second = sqlx::PgConnection::connect(app.test_db.url()).await.expect("connection B");
    // A takes the earlier seqs but commits last.
    let mut tx_a = first.begin().await.expect("begin A");
    sqlx::query("UPDATE products SET stock = 111 WHERE id = 1").execute(&mut *tx_a).await.expect("update A");
    let mut tx_b = second.begin().await.expect("begin B");
    sqlx::query("UPDATE products SET stock = 222 WHERE id = 2").execute(&mut *tx_b).await.expect("update B");
    tx_b.commit().await.expect("commit B");
    // B is committed; the feed must hold it back while A may still commit.
    assert!(ws.next_within(Duration::from_millis(300)).await.is_none(), "B's later seq must wait for A");
    tx_a.commit().await.expect("commit A");

    let got: Vec<_> = [ws.next().await, ws.next().await].iter().map(changed_product).collect();
    let order: Vec<(Topic, i64, i64)> = got.iter().map(|(t, _, p)| (t.clone(), p.id.0, p.stock)).collect();
    assert_eq!(order, [(Topic::Catalog, 1, 111), (Topic::Catalog, 2, 222)], "both, in seq order");
    assert!(got[0].1 < got[1].1);
}

#[tokio::test]
async fn postgres_only_a_rolled_back_seq_does_not_stall_the_feed() {
    let (app, mut ws, mut first) = postgres_app().await;
    let mut tx_a = first.begin().await.expect("begin A");
    sqlx::query("UPDATE products SET stock = 5 WHERE id = 1").execute(&mut *tx_a).await.expect("update A");
    app.outside_sql("UPDATE products SET stock = 6 WHERE id = 2").await;
    tx_a.rollback().await.expect("rollback A");

    let (topic, _, p) = changed_product(&ws.next().await);
    assert_eq!((topic, p.id.0, p.stock), (Topic::Catalog, 2, 6));
    assert!(ws.next_within(Duration::from_millis(300)).await.is_none(), "the rolled-back change never appears");
}
