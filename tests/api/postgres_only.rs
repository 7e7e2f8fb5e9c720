//! Behaviour that only PostgreSQL has: several writers committing at once.
//! Run with TEST_DATABASE_URL set (the README's test command does).

use std::time::Duration;

use app::protocol::Topic;
use sqlx::Connection as _;

use crate::helpers::DbJson as _;
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

/// A snapshot's `xmax` is the last *completed* xid + 1, not the next xid to be
/// assigned: a transaction that took its xid after the latest commit is
/// running but in no snapshot's list. Found by scripts/multihost.sh (a change
/// lost for every socket of one instance); before the fix this feed saw "no
/// transaction running" and skipped A's seq for good.
#[tokio::test]
async fn postgres_only_a_late_commit_by_a_transaction_newer_than_every_commit_is_never_skipped() {
    let (app, mut ws, mut first) = postgres_app().await;
    let mut second = sqlx::PgConnection::connect(app.test_db.url()).await.expect("connection B");
    // B takes its xid first; A takes a later xid and then the earlier seq.
    let mut tx_b = second.begin().await.expect("begin B");
    sqlx::query("SELECT pg_current_xact_id()").execute(&mut *tx_b).await.expect("xid B");
    let mut tx_a = first.begin().await.expect("begin A");
    sqlx::query("UPDATE products SET stock = 333 WHERE id = 1").execute(&mut *tx_a).await.expect("update A");
    sqlx::query("UPDATE products SET stock = 444 WHERE id = 2").execute(&mut *tx_b).await.expect("update B");
    // B commits: the latest completed xid is now below A's, so A is in no
    // snapshot's list of running transactions.
    tx_b.commit().await.expect("commit B");
    assert!(ws.next_within(Duration::from_millis(400)).await.is_none(), "B's later seq must wait for A");
    tx_a.commit().await.expect("commit A");

    let got: Vec<_> = [ws.next().await, ws.next().await].iter().map(changed_product).collect();
    let order: Vec<(Topic, i64, i64)> = got.iter().map(|(t, _, p)| (t.clone(), p.id.0, p.stock)).collect();
    assert_eq!(order, [(Topic::Catalog, 1, 333), (Topic::Catalog, 2, 444)], "both, in seq order");
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

/// The LISTEN connection of the instance at `address` (named after it).
async fn terminate_listener(admin: &mut sqlx::PgConnection, address: std::net::SocketAddr) -> i64 {
    sqlx::query_scalar::<_, i64>(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE application_name = $1 AND query ILIKE 'LISTEN%'",
    )
    .bind(format!("livecart@{address}"))
    .fetch_one(admin)
    .await
    .expect("terminate the listener")
}

#[tokio::test]
async fn postgres_only_two_instances_work_as_one_shop_through_a_lost_listener() {
    use crate::helpers::{spawn_app_on, status_json};
    use livecart::config::Limits;

    let a = spawn_app().await;
    assert!(a.test_db.is_postgres(), "this test needs TEST_DATABASE_URL (a PostgreSQL server)");
    let b = spawn_app_on(a.test_db.shared(), Limits::default()).await;

    // A session made on A works on B (sessions live in the database).
    let alice = a.signed_up("alice").await;
    let on_b = b.shopper("alice");
    let cookie = alice.session_cookie().expect("session cookie");
    on_b.jar.add_cookie_str(&cookie, &on_b.url("/").parse().expect("url"));
    assert_eq!(on_b.me().await.map(|u| u["username"].clone()), Some(serde_json::json!("alice")), "B knows A's session");

    // A purchase on A reaches a socket held by B, and the buyer's socket on B.
    let mut catalog_b = b.ws().await;
    b.catalog_snapshot(&mut catalog_b).await;
    let order = alice.buy(4, 2).await;
    let (topic, _, p) = changed_product(&catalog_b.next().await);
    assert_eq!((topic, p.id.0, p.units_sold), (Topic::Catalog, 4, 2));
    let (status, body) =
        status_json(on_b.http.post(on_b.url("/api/order")).form(&[("id", order.to_string())]).send().await.expect("order on B")).await;
    assert_eq!((status, body["data"]["id"].as_i64()), (200, Some(order)), "{body}");

    // Kill B's LISTEN connection again and again while A's shoppers keep changing
    // things: B's subscriber still gets every change, in order, exactly once.
    let mut admin = sqlx::PgConnection::connect(a.test_db.url()).await.expect("admin connection");
    let mut expected = Vec::new();
    let mut killed = 0;
    for round in 0..20_i64 {
        if round % 5 == 0 {
            killed += terminate_listener(&mut admin, b.address).await;
        }
        a.outside_sql(&format!("UPDATE products SET stock = {} WHERE id = 6", 1000 + round)).await;
        expected.push(1000 + round);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert!(killed >= 1, "B's listener was found and terminated");
    let mut got = Vec::new();
    let mut last_seq = None;
    while got.len() < expected.len() {
        let (topic, seq, p) = changed_product(&catalog_b.next().await);
        assert_eq!((topic, p.id.0), (Topic::Catalog, 6));
        assert!(last_seq.is_none_or(|last| seq > last), "in seq order, no duplicates");
        last_seq = Some(seq);
        got.push(p.stock);
    }
    assert_eq!(got, expected, "every change, in order");
    assert!(catalog_b.next_within(Duration::from_millis(300)).await.is_none(), "nothing doubled");
    let health = b.http.get(b.url("/healthz")).send().await.expect("healthz");
    assert_eq!(health.status().as_u16(), 200, "B is healthy again");

    // Signing out on A takes the private topics away from alice's socket on B.
    let mut private_b = on_b.ws().await;
    let topic = Topic::Orders(app::model::CustomerId(on_b.me().await.and_then(|u| u["id"].as_i64()).expect("alice's id")));
    private_b.send(&app::protocol::ClientMsg::Subscribe { topic: topic.clone(), since: None }).await;
    assert!(matches!(private_b.next().await, app::protocol::ServerMsg::Snapshot { .. }));
    let r = alice.post_form("/api/logout", &[]).await;
    assert!(r.status().is_success() || r.status().is_redirection());
    match private_b.next().await {
        app::protocol::ServerMsg::Error { code: app::protocol::ErrorCode::Forbidden, topic: Some(t), .. } => {
            assert_eq!(t, topic.to_string())
        }
        other => panic!("B should drop alice's private topic, got {other:?}"),
    }
    // By then B has also stopped using what it remembered of the session.
    assert!(on_b.me().await.is_none(), "a session signed out on A is dead on B");
}

#[tokio::test]
async fn postgres_only_instances_starting_together_on_an_empty_database_seed_it_once() {
    use crate::helpers::{TestDb, spawn_app_on};
    use livecart::config::Limits;

    let db = TestDb::new().await;
    assert!(db.is_postgres(), "this test needs TEST_DATABASE_URL (a PostgreSQL server)");
    let (a, b) = tokio::join!(spawn_app_on(db.shared(), Limits::default()), spawn_app_on(db.shared(), Limits::default()));
    let names = |json: String| serde_json::from_str::<Vec<app::model::ProductSummary>>(&json).expect("catalog").len();
    let count_a = names(a.db.products_json(None).await.expect("catalog on A"));
    let count_b = names(b.db.products_json(None).await.expect("catalog on B"));
    assert_eq!((count_a, count_b), (27, 27), "one demo catalog, not two, and both instances up");
    drop((a, b));
    drop(db);
}

/// The throwaway cluster (`scripts/pg.sh`) serves TLS with a certificate for
/// `localhost` signed by its own CA, which the test command names in TEST_PG_CA.
#[tokio::test]
async fn postgres_only_tls_with_verify_full_connects_and_a_certificate_for_another_host_is_refused() {
    use app::server::Db;
    let admin = std::env::var("TEST_DATABASE_URL").expect("this test needs TEST_DATABASE_URL (a PostgreSQL server)");
    let ca = std::env::var("TEST_PG_CA").expect("this test needs TEST_PG_CA: the CA of the test cluster's certificate (scripts/pg.sh)");
    let port = admin.rsplit_once(':').and_then(|(_, rest)| rest.split('/').next()).expect("a port in TEST_DATABASE_URL");
    let url = |host: &str, mode: &str| format!("postgres://postgres@{host}:{port}/postgres?sslmode={mode}&sslrootcert={ca}");

    let db = Db::connect(&url("localhost", "verify-full")).await.expect("verify-full to the name on the certificate");
    db.ping().await.expect("ping over TLS");
    db.close().await;
    // The same options, one connection: is it encrypted?
    let mut conn = sqlx::PgConnection::connect(&url("localhost", "verify-full")).await.expect("a connection");
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetch_one(&mut conn).await.expect("pg_stat_ssl");
    assert!(encrypted, "the connection is encrypted");

    let refused = Db::connect(&url("127.0.0.1", "verify-full")).await.expect_err("the certificate does not name 127.0.0.1");
    let message = format!("{refused:#}");
    assert!(message.contains("over TLS failed") && message.contains("certificate"), "a clear reason: {message}");

    // require encrypts without checking the certificate; verify-ca checks its signer.
    for (host, mode) in [("127.0.0.1", "require"), ("localhost", "verify-ca")] {
        let db = Db::connect(&url(host, mode)).await.unwrap_or_else(|e| panic!("{mode}: {e:#}"));
        db.ping().await.expect("ping");
        db.close().await;
    }
}

/// A feed starting on a busy database begins where the log stood at its start,
/// once the transactions running then have ended: it neither replays the
/// retained log to its sockets nor misses a change committed after.
#[tokio::test]
async fn postgres_only_a_feed_started_while_a_writer_is_mid_transaction_publishes_nothing_older_and_loses_nothing_after() {
    use app::protocol::{ClientMsg, ServerMsg};
    use livecart::config::Limits;

    use crate::helpers::spawn_app_on;

    let a = spawn_app().await;
    assert!(a.test_db.is_postgres(), "this test needs TEST_DATABASE_URL (a PostgreSQL server)");
    // History to replay, if the new feed were to replay it.
    a.outside_sql("DO $$ BEGIN FOR i IN 1..1500 LOOP UPDATE products SET price_cents = price_cents + 1 WHERE id = 1; END LOOP; END $$")
        .await;
    let before = a.outside_scalar("SELECT max(seq) FROM change_log").await;
    // A writer in the middle of a transaction while the second instance starts.
    let url = a.test_db.url().to_string();
    let (begun, begun_rx) = tokio::sync::oneshot::channel();
    let writer = async move {
        let mut c = sqlx::PgConnection::connect(&url).await.expect("writer connects");
        sqlx::raw_sql("BEGIN; UPDATE products SET stock = 77 WHERE id = 2").execute(&mut c).await.expect("begin");
        let _ = begun.send(());
        tokio::time::sleep(Duration::from_millis(1500)).await;
        sqlx::raw_sql("COMMIT").execute(&mut c).await.expect("commit");
    };
    let starting = async {
        begun_rx.await.expect("the writer began");
        spawn_app_on(a.test_db.shared(), Limits::default()).await
    };
    let ((), b) = tokio::join!(writer, starting);
    let mut ws = b.ws().await;
    ws.send(&ClientMsg::Subscribe { topic: Topic::Catalog, since: None }).await;
    let (start, mut products) = match ws.next().await {
        ServerMsg::Snapshot { seq, data, .. } => {
            (seq, serde_json::from_str::<Vec<app::model::ProductSummary>>(data.get()).expect("catalog"))
        }
        other => panic!("expected a snapshot, got {other:?}"),
    };
    assert!(start.0 >= before, "the new feed starts where the log stood at its start ({} < {before})", start.0);
    for i in 0..20 {
        a.outside_sql(&format!("UPDATE products SET price_cents = {} WHERE id = 3", 5000 + i)).await;
    }
    let mut last = start;
    while let Some(msg) = ws.next_within(Duration::from_millis(700)).await {
        let (_, seq, p) = crate::helpers::changed_product(&msg);
        assert!(seq > last, "nothing older than what the socket has, nothing twice: {seq} after {last}");
        last = seq;
        if let Some(mine) = products.iter_mut().find(|q| q.id == p.id) {
            *mine = p;
        }
    }
    let shown = |id: i64| products.iter().find(|p| p.id.0 == id).cloned().expect("product");
    assert_eq!(shown(2).stock, 77, "the change committed after the start reached the socket");
    assert_eq!(shown(3).price.minor, 5019, "every later change reached it");
}

/// One purchase of product 2 while an outside writer holds its row with an
/// uncommitted change: the checkout group reads the product (locking
/// nothing), decides, and its write waits on the row lock; the change is
/// committed only once that write waits. The answer to the purchase.
async fn buy_while_product_2_moves(app: &TestApp, shopper: &crate::helpers::Shopper, change: &str, key: &str) -> reqwest::Response {
    let mut outside = sqlx::PgConnection::connect(app.test_db.url()).await.expect("outside connection");
    let mut tx = outside.begin().await.expect("begin");
    sqlx::raw_sql(change).execute(&mut *tx).await.expect("the outside change");
    let buying = shopper.checkout(serde_json::json!([{ "product_id": 2, "quantity": 1 }]), key);
    let moving = async {
        let waits = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
            AND wait_event = 'transactionid' AND query LIKE '%locked AS MATERIALIZED%'";
        let mut waited = Duration::ZERO;
        while app.outside_scalar(waits).await == 0 {
            assert!(waited < Duration::from_secs(10), "the checkout's write never waited on the product's row lock");
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += Duration::from_millis(10);
        }
        tx.commit().await.expect("commit the outside change");
    };
    let (answer, ()) = tokio::join!(buying, moving);
    answer
}

/// A checkout group decides on products it read without locking them, so
/// its write takes stock only where the product is still as read: the last
/// unit sold, a price raised or a new name in between makes it write
/// nothing, and the purchase is then bought on its own against what is now
/// true.
#[tokio::test]
async fn postgres_only_a_checkout_group_whose_product_moved_after_its_read_writes_nothing_and_buys_what_is_now_true() {
    let (app, _ws, _outside) = postgres_app().await;
    app.outside_sql("UPDATE products SET stock = 5, price_cents = 1000 WHERE id = 2").await;
    let ann = app.signed_up("ann").await;

    // Sold out while the group's write waited: refused, nothing written.
    let r = buy_while_product_2_moves(&app, &ann, "UPDATE products SET stock = 0 WHERE id = 2", "moved-key-0001").await;
    assert_eq!(r.status(), 409, "sold out in between: refused");
    let err: serde_json::Value = r.json().await.expect("json error");
    assert_eq!(err["error"]["OutOfStock"]["available"], 0, "{err}");
    assert_eq!(app.stock_and_sold(2).await, (0, 0), "no stock taken, none sold");
    assert_eq!(app.outside_scalar("SELECT count(*) FROM orders").await, 0, "no order placed");

    // Repriced only: placed, at the new price, its stock taken once.
    app.outside_sql("UPDATE products SET stock = 5 WHERE id = 2").await;
    let r = buy_while_product_2_moves(&app, &ann, "UPDATE products SET price_cents = 1500 WHERE id = 2", "moved-key-0002").await;
    assert_eq!(r.status(), 200, "still in stock: placed");
    let id: i64 = r.json().await.expect("order id");
    let json = app.db.order_json(id).await.expect("read").expect("the order");
    let order: app::model::Order = serde_json::from_str(&json).expect("order json");
    assert_eq!(order.lines.len(), 1);
    assert_eq!(order.lines[0].unit_price.minor, 1500, "bought at the price that holds when it is written, not the one first read");
    assert_eq!(order.total.minor, 1500);
    assert_eq!(app.stock_and_sold(2).await, (4, 1), "one unit taken, once");
    assert_eq!(app.outside_scalar("SELECT count(*) FROM orders").await, 1, "one order");

    // Renamed only: placed, its line under the new name.
    let r = buy_while_product_2_moves(&app, &ann, "UPDATE products SET name = 'Renamed while bought' WHERE id = 2", "moved-key-0003").await;
    assert_eq!(r.status(), 200, "renamed: placed");
    let id: i64 = r.json().await.expect("order id");
    let json = app.db.order_json(id).await.expect("read").expect("the order");
    let order: app::model::Order = serde_json::from_str(&json).expect("order json");
    assert_eq!(order.lines[0].name, "Renamed while bought", "the line keeps the name it was sold under");
    assert_eq!(app.stock_and_sold(2).await, (3, 2));
}
