use std::time::Duration;

use app::model::{Order, OrderSummary};
use app::protocol::{ClientMsg, ErrorCode, ServerMsg, Topic};
use serde_json::json;

use crate::helpers::DbJson as _;
use crate::helpers::{address, changed_product, spawn_app};

async fn order_count(app: &crate::helpers::TestApp) -> usize {
    let mut total = 0;
    for customer in 1..=600 {
        let json = app.db.orders_json(customer).await.expect("orders");
        total += serde_json::from_str::<Vec<OrderSummary>>(&json).expect("summaries").len();
    }
    total
}

#[tokio::test]
async fn checkout_never_oversells_a_hot_product_under_500_concurrent_buyers() {
    // 500 accounts from one address: past the default registration limit.
    let sign_in = app::server::auth::SignInLimits { registrations_per_address: 1000, ..Default::default() };
    let app = crate::helpers::spawn_app_with(livecart::config::Limits { sign_in, ..Default::default() }).await;
    app.outside_sql("UPDATE products SET stock = 10, units_sold = 0 WHERE id = 1").await;
    let mut shoppers = Vec::new();
    for chunk in (0..500).collect::<Vec<_>>().chunks(50) {
        let names: Vec<String> = chunk.iter().map(|i| format!("buyer{i}")).collect();
        let batch = futures::future::join_all(names.iter().map(|n| app.signed_up(n))).await;
        shoppers.extend(batch);
    }
    let results = futures::future::join_all(shoppers.iter().enumerate().map(|(i, s)| async move {
        let r = s.checkout(json!([{ "product_id": 1, "quantity": 1 }]), &format!("hot-key-{i:04}")).await;
        (r.status().as_u16(), r.text().await.expect("body"))
    }))
    .await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let out_of_stock = results.iter().filter(|(s, b)| *s == 409 && b.contains("OutOfStock")).count();
    let other: Vec<_> = results.iter().filter(|(s, b)| !(*s == 200 || (*s == 409 && b.contains("OutOfStock")))).take(3).collect();
    assert!(other.is_empty(), "unexpected answers: {other:?}");
    assert_eq!((ok, out_of_stock), (10, 490));
    assert!(results.iter().all(|(_, b)| !b.contains("locked")), "no 'database is locked'");
    assert_eq!(app.stock_and_sold(1).await, (0, 10), "stock 0, 10 sold, never negative");
    assert_eq!(order_count(&app).await, 10);
}

#[tokio::test]
async fn a_multi_line_cart_with_one_unfillable_line_buys_nothing() {
    let app = spawn_app().await;
    app.outside_sql("UPDATE products SET stock = 5 WHERE id = 2; UPDATE products SET stock = 1 WHERE id = 3").await;
    let hal = app.signed_up("hal").await;
    let r = hal.checkout(json!([{ "product_id": 2, "quantity": 2 }, { "product_id": 3, "quantity": 3 }]), "multi-line-1").await;
    assert_eq!(r.status(), 409);
    let err: serde_json::Value = r.json().await.expect("json error");
    assert_eq!(err["error"]["OutOfStock"]["available"], 1);
    assert_eq!(err["error"]["OutOfStock"]["product"], "4K Monitor 27\"");
    assert_eq!(app.stock_and_sold(2).await, (5, 0), "the fillable line was rolled back");
    assert_eq!(app.stock_and_sold(3).await, (1, 0));
    assert_eq!(order_count(&app).await, 0);
}

#[tokio::test]
async fn a_multi_line_order_keeps_every_line_and_the_address_is_remembered() {
    let app = spawn_app().await;
    let (stock2, _) = app.stock_and_sold(2).await;
    let (stock5, _) = app.stock_and_sold(5).await;
    let kim = app.signed_up("kim").await;
    assert_eq!(kim.me().await.expect("signed in")["address"], serde_json::Value::Null, "no address yet");
    let r = kim.checkout(json!([{ "product_id": 5, "quantity": 3 }, { "product_id": 2, "quantity": 1 }]), "two-lines-1").await;
    assert_eq!(r.status(), 200);
    let id: i64 = r.json().await.expect("order id");
    let order: Order = serde_json::from_str(&app.db.order_json(id).await.expect("read").expect("order")).expect("order json");
    let lines: Vec<(i64, i64)> = order.lines.iter().map(|l| (l.product_id.0, l.quantity)).collect();
    assert_eq!(lines, vec![(2, 1), (5, 3)], "both lines, in product order");
    let sum: i64 = order.lines.iter().map(|l| l.line_total.minor).sum();
    assert_eq!(order.total.minor, sum, "total is the sum of the lines");
    assert_eq!(app.stock_and_sold(2).await, (stock2 - 1, 1));
    assert_eq!(app.stock_and_sold(5).await, (stock5 - 3, 3));
    assert_eq!(kim.me().await.expect("signed in")["address"], address(), "the address is kept for next time");

    let mut moved = address();
    moved["street"] = json!("9 Elm St");
    let body = json!({ "lines": [{ "product_id": 2, "quantity": 1 }], "address": moved, "idempotency_key": "two-lines-2" });
    assert_eq!(kim.checkout_raw(body).await.status(), 200);
    assert_eq!(kim.me().await.expect("signed in")["address"]["street"], "9 Elm St", "a new address replaces the kept one");
}

#[tokio::test]
async fn the_same_idempotency_key_makes_one_order_however_often_it_is_sent() {
    let app = spawn_app().await;
    let (stock, _) = app.stock_and_sold(4).await;
    let ivy = app.signed_up("ivy").await;
    let lines = json!([{ "product_id": 4, "quantity": 2 }]);
    let answers = futures::future::join_all((0..8).map(|_| ivy.checkout(lines.clone(), "same-key-123"))).await;
    let mut ids = Vec::new();
    for r in answers {
        assert_eq!(r.status(), 200);
        ids.push(r.json::<i64>().await.expect("order id"));
    }
    let later = ivy.checkout(lines, "same-key-123").await.json::<i64>().await.expect("order id");
    ids.push(later);
    ids.dedup();
    assert_eq!(ids.len(), 1, "one order: {ids:?}");
    assert_eq!(app.stock_and_sold(4).await, (stock - 2, 2), "bought once");
    assert_eq!(order_count(&app).await, 1);
    // Sold out since: a resend still finds its order, not "sold out".
    app.outside_sql("UPDATE products SET stock = 0 WHERE id = 4").await;
    let resent = ivy.checkout(json!([{ "product_id": 4, "quantity": 2 }]), "same-key-123").await;
    assert_eq!(resent.status(), 200);
    assert_eq!(resent.json::<i64>().await.expect("order id"), ids[0]);
}

#[tokio::test]
async fn bad_checkouts_get_clear_errors_and_change_nothing() {
    let app = spawn_app().await;
    let joe = app.signed_up("joe").await;
    let before = app.stock_and_sold(5).await;
    let line = |q: serde_json::Value| json!([{ "product_id": 5, "quantity": q }]);
    let mut addr_missing = address();
    addr_missing["city"] = json!("  ");
    let mut addr_long = address();
    addr_long["street"] = json!("x".repeat(201));
    let mut addr_nameless = address();
    addr_nameless["name"] = json!("   ");
    let mut addr_no_country = address();
    addr_no_country.as_object_mut().expect("object").remove("country");
    let cases = [
        (json!({"lines": line(json!(0)), "address": address(), "idempotency_key": "bad-qty-0"}), 422, "quantity"),
        (json!({"lines": line(json!(-1)), "address": address(), "idempotency_key": "bad-qty-neg"}), 422, "quantity"),
        (json!({"lines": line(json!(1000)), "address": address(), "idempotency_key": "bad-qty-huge"}), 422, "quantity"),
        (json!({"lines": line(json!(i64::MAX)), "address": address(), "idempotency_key": "bad-qty-max"}), 422, "quantity"),
        (json!({"lines": line(json!("abc")), "address": address(), "idempotency_key": "bad-qty-str"}), 422, "Validation"),
        (json!({"lines": line(json!(1.5)), "address": address(), "idempotency_key": "bad-qty-frac"}), 422, "Validation"),
        (
            json!({"lines": [{"product_id": 999999, "quantity": 1}], "address": address(), "idempotency_key": "unknown-prod"}),
            404,
            "Product 999999",
        ),
        (json!({"lines": [], "address": address(), "idempotency_key": "empty-cart"}), 422, "cart is empty"),
        (json!({"lines": line(json!(1)), "address": addr_missing, "idempotency_key": "no-city-1"}), 422, "City is required"),
        (json!({"lines": line(json!(1)), "address": addr_long, "idempotency_key": "long-street"}), 422, "over 200"),
        (json!({"lines": line(json!(1)), "address": addr_nameless, "idempotency_key": "no-name-1"}), 422, "Full name is required"),
        (json!({"lines": line(json!(1)), "address": addr_no_country, "idempotency_key": "no-country"}), 422, "Country is required"),
        (json!({"lines": line(json!(1)), "address": address(), "idempotency_key": "x"}), 422, "idempotency_key"),
        (json!({"lines": line(json!(1)), "idempotency_key": "no-address"}), 422, "Validation"),
    ];
    for (body, status, text) in cases {
        let r = joe.checkout_raw(body.clone()).await;
        let got = r.status().as_u16();
        let answer = r.text().await.expect("body");
        assert_eq!(got, status, "{body}: {answer}");
        assert!(answer.contains(text), "{body}: {answer}");
    }
    let anonymous = app.shopper("anon");
    let r = anonymous.checkout(line(json!(1)), "anon-key-1").await;
    assert_eq!(r.status(), 401);
    assert_eq!(app.stock_and_sold(5).await, before, "nothing bought");
    assert_eq!(order_count(&app).await, 0);
}

#[tokio::test]
async fn a_customer_never_sees_another_customers_orders() {
    let app = spawn_app().await;
    let kim = app.signed_up("kim").await;
    let lee = app.signed_up("lee").await;
    let r = kim.checkout(json!([{ "product_id": 6, "quantity": 1 }]), "kim-order-1").await;
    assert_eq!(r.status(), 200);
    let order: i64 = r.json().await.expect("id");
    let kim_id = kim.me().await.expect("kim")["id"].as_i64().expect("id");

    // Server functions: 404 for another's order, own list empty.
    let r = lee.post_form("/api/order", &[("id", &order.to_string())]).await;
    assert_eq!(r.status(), 404);
    assert!(!r.text().await.expect("body").contains("Springfield"), "none of its data");
    let mine: serde_json::Value = lee.http.post(lee.url("/api/my_orders")).send().await.expect("POST").json().await.expect("json");
    assert_eq!(mine[1]["data"], json!([]));
    let r = kim.post_form("/api/order", &[("id", &order.to_string())]).await;
    assert_eq!(r.status(), 200);
    let own: serde_json::Value = r.json().await.expect("json");
    let own: Order = serde_json::from_value(own["data"].clone()).expect("an order");
    assert_eq!(own.lines.len(), 1);

    // The socket: forbidden for the other customer and for anonymous sockets.
    for mut ws in [lee.ws().await, app.ws().await] {
        for topic in [format!("order:{order}"), format!("orders:{kim_id}")] {
            ws.send_text(&json!({"type": "subscribe", "topic": topic}).to_string()).await;
            match ws.next().await {
                ServerMsg::Error { code, .. } => assert_eq!(code, ErrorCode::Forbidden),
                other => panic!("expected forbidden for {topic}, got {other:?}"),
            }
        }
        ws.assert_alive().await;
    }
    let mut own_ws = kim.ws().await;
    own_ws.send_text(&json!({"type": "subscribe", "topic": format!("order:{order}")}).to_string()).await;
    assert!(matches!(own_ws.next().await, ServerMsg::Snapshot { .. }), "the owner may follow it");
}

#[tokio::test]
async fn a_purchase_shows_live_in_the_catalog_and_in_the_buyers_order_list() {
    let app = spawn_app().await;
    let moe = app.signed_up("moe").await;
    let customer = moe.me().await.expect("moe")["id"].as_i64().expect("id");
    let mut buyer_ws = moe.ws().await;
    let topic = Topic::Orders(app::model::CustomerId(customer));
    buyer_ws.send(&ClientMsg::Subscribe { topic: topic.clone(), since: None }).await;
    assert!(matches!(buyer_ws.next().await, ServerMsg::Snapshot { .. }));
    let mut watcher = app.ws().await;
    app.catalog_snapshot(&mut watcher).await;
    let (stock, sold) = app.stock_and_sold(7).await;

    let r = moe.checkout(json!([{ "product_id": 7, "quantity": 3 }]), "live-order-1").await;
    assert_eq!(r.status(), 200);
    let order: i64 = r.json().await.expect("id");

    let (_, _, p) = changed_product(&watcher.next().await);
    assert_eq!((p.id.0, p.stock, p.units_sold), (7, stock - 3, sold + 3), "stock and units sold move live");
    match buyer_ws.next().await {
        ServerMsg::Change { topic: t, data, .. } => {
            assert_eq!(t, topic);
            let summary: OrderSummary = serde_json::from_str(data.get()).expect("summary");
            assert_eq!((summary.id.0, summary.items), (order, 3));
        }
        other => panic!("expected the new order, got {other:?}"),
    }
    // Signing out takes the private topic away from the open socket.
    let r = moe.post_form("/api/logout", &[]).await;
    assert!(r.status().is_success() || r.status().is_redirection());
    match buyer_ws.next_within(Duration::from_secs(5)).await {
        Some(ServerMsg::Error { code: ErrorCode::Forbidden, topic: Some(t), .. }) => assert_eq!(t, topic.to_string()),
        other => panic!("expected the private topic to be dropped, got {other:?}"),
    }
}

#[tokio::test]
async fn a_backup_taken_while_purchases_run_restores_into_a_fresh_data_dir_with_its_orders() {
    let app = spawn_app().await;
    if app.test_db.is_postgres() {
        return; // PostgreSQL is backed up with pg_dump (livecart backup prints the command)
    }
    app.outside_sql("UPDATE products SET stock = 1000 WHERE id = 3").await;
    let (stock0, sold0) = app.stock_and_sold(3).await;
    let buyer = app.signed_up("bea").await;
    let before = buyer.buy(2, 1).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let backup = dir.path().join("shop-backup.db");
    // Purchases go on while the backup is taken.
    let buying = async {
        for _ in 0..20 {
            buyer.buy(3, 1).await;
        }
    };
    let (_, backed_up) = tokio::join!(buying, livecart::cli::backup(app.test_db.url(), &backup));
    backed_up.expect("backup");
    assert!(livecart::cli::backup(app.test_db.url(), &backup).await.is_err(), "a backup never overwrites");

    let restored = format!("sqlite://{}", dir.path().join("fresh/livecart.db").display());
    livecart::cli::restore(&restored, &backup, false).await.expect("restore into a fresh data dir");
    assert!(livecart::cli::restore(&restored, &backup, false).await.is_err(), "an existing database is replaced only with --force");
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").expect("write");
    assert!(livecart::cli::restore(&restored, &junk, true).await.is_err(), "garbage is refused");

    // Start the shop on the restored copy: the orders are there and stock adds up.
    let copy = crate::helpers::spawn_app_on(crate::helpers::TestDb::Shared { url: restored, postgres: false }, Default::default()).await;
    let orders = copy.outside_scalar("SELECT count(*) FROM orders").await;
    assert!(orders >= 1, "the order placed before the backup is there");
    assert!(copy.outside_scalar(&format!("SELECT count(*) FROM orders WHERE id = {before}")).await == 1);
    let (stock, sold) = copy.stock_and_sold(3).await;
    assert_eq!(stock + sold, stock0 + sold0, "stock conserved in the copy");
    let lines = copy.outside_scalar("SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE product_id = 3").await;
    assert_eq!(sold - sold0, lines, "a consistent snapshot: every sale in it has its order line, and no line lacks its sale");
}
