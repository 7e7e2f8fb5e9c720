//! The staff console's server functions and what shoppers see of staff work.

use app::model::{Order, OrderStatus};
use app::protocol::{ClientMsg, ErrorCode, ServerMsg, Topic};
use serde_json::json;

use crate::helpers::DbJson as _;
use crate::helpers::{TestApp, changed_product, spawn_app, status_json};

async fn move_order(staff: &crate::helpers::Shopper, id: i64, to: &str) -> (u16, serde_json::Value) {
    status_json(staff.post_json("/api/admin/move_order", json!({"id": id, "status": to})).await).await
}

#[tokio::test]
async fn staff_functions_pages_uploads_and_topics_are_refused_to_shoppers_and_visitors() {
    let app = spawn_app().await;
    let visitor = app.shopper("visitor");
    let alice = app.signed_up("alice").await;
    let boss = app.staff("boss").await;
    let order = alice.buy(1, 1).await;

    for (who, expected) in [(&visitor, 401), (&alice, 403)] {
        for (path, form) in [
            ("/api/admin/products", vec![]),
            ("/api/admin/restock", vec![("id", "1"), ("delta", "5")]),
            ("/api/admin/archive", vec![("id", "1"), ("archived", "true")]),
            ("/api/admin/create_category", vec![("slug", "garden"), ("name", "Garden")]),
            ("/api/admin/orders", vec![]),
            ("/api/admin/create_token", vec![("name", "x"), ("scope", "write")]),
        ] {
            let (status, body) = status_json(who.post_form(path, &form).await).await;
            assert_eq!(status, expected, "{} {path}: {body}", who.username);
        }
        let (status, _) = move_order(who, order, "paid").await;
        assert_eq!(status, expected, "{} move_order", who.username);
        let upload = who.http.post(who.url("/api/images")).body(b"\x89PNG\r\n\x1a\nrest".to_vec()).send().await.expect("upload");
        assert_eq!(upload.status().as_u16(), expected, "{} upload", who.username);
    }
    // Nothing changed.
    assert_eq!(app.stock_and_sold(1).await, (24, 1));
    assert!(app.db.categories().await.expect("categories").iter().all(|(slug, _)| slug != "garden"));
    assert_eq!(app.db.order_json(order).await.expect("order").map(|j| j.contains("\"placed\"")), Some(true));

    // Pages: a visitor is sent to sign in, a shopper gets 403, staff get the console.
    let page = |s: &crate::helpers::Shopper| s.http.get(s.url("/admin")).header("accept", "text/html").send();
    let r = page(&visitor).await.expect("GET /admin");
    assert_eq!((r.status().as_u16(), r.headers().get("location").and_then(|l| l.to_str().ok())), (302, Some("/login?next=/admin")));
    let r = page(&alice).await.expect("GET /admin");
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().await.expect("html").contains("Staff only"));
    let r = page(&boss).await.expect("GET /admin");
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.expect("html").contains(&format!("data-order-id=\"{order}\"")), "the console lists the order");

    // The all-orders topic is staff only.
    for who in [&visitor, &alice] {
        let mut ws = who.ws().await;
        ws.send(&ClientMsg::Subscribe { topic: Topic::AllOrders, since: None }).await;
        match ws.next().await {
            ServerMsg::Error { code, .. } => assert_eq!(code, ErrorCode::Forbidden),
            other => panic!("{} should be refused the orders topic, got {other:?}", who.username),
        }
    }
    let mut ws = boss.ws().await;
    ws.send(&ClientMsg::Subscribe { topic: Topic::AllOrders, since: None }).await;
    assert!(matches!(ws.next().await, ServerMsg::Snapshot { topic: Topic::AllOrders, .. }));
}

#[tokio::test]
async fn orders_move_only_along_the_lifecycle_and_the_customer_sees_each_step_live() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let boss = app.staff("boss").await;
    let id = alice.buy(2, 1).await;
    app.wait_for_feed().await;
    let mut customer_ws = alice.ws().await;
    customer_ws.send(&ClientMsg::Subscribe { topic: Topic::Order(app::model::OrderId(id)), since: None }).await;
    assert!(matches!(customer_ws.next().await, ServerMsg::Snapshot { .. }));
    let mut staff_ws = boss.ws().await;
    staff_ws.send(&ClientMsg::Subscribe { topic: Topic::AllOrders, since: None }).await;
    assert!(matches!(staff_ws.next().await, ServerMsg::Snapshot { .. }));

    let (status, body) = move_order(&boss, id, "shipped").await;
    assert_eq!(status, 409, "placed cannot jump to shipped: {body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("order") && m.contains("placed") && m.contains("paid")), "{body}");

    for step in ["paid", "shipped", "delivered"] {
        let (status, body) = move_order(&boss, id, step).await;
        assert_eq!(status, 200, "{step}: {body}");
        match customer_ws.next().await {
            ServerMsg::Change { data, .. } => {
                let order: Order = serde_json::from_str(data.get()).expect("order");
                assert_eq!(order.status.as_str(), step);
                assert_eq!(order.timeline().last().map(|(s, _)| s.as_str()), Some(step), "the timeline records the step");
            }
            other => panic!("customer expected the {step} change, got {other:?}"),
        }
        match staff_ws.next().await {
            ServerMsg::Change { data, .. } => {
                let summary: app::model::OrderSummary = serde_json::from_str(data.get()).expect("summary");
                assert_eq!((summary.id.0, summary.status.as_str(), summary.customer.as_str()), (id, step, "alice"));
            }
            other => panic!("staff expected the {step} change, got {other:?}"),
        }
    }
    let order: Order = serde_json::from_str(&app.db.order_json(id).await.expect("db").expect("order")).expect("order");
    let steps: Vec<OrderStatus> = order.timeline().into_iter().map(|(s, _)| s).collect();
    assert_eq!(steps, [OrderStatus::Placed, OrderStatus::Paid, OrderStatus::Shipped, OrderStatus::Delivered]);

    for illegal in ["cancelled", "paid", "placed", "delivered"] {
        let (status, body) = move_order(&boss, id, illegal).await;
        assert_eq!(status, 409, "delivered -> {illegal}: {body}");
    }
    let (status, body) = move_order(&boss, id, "lost").await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = move_order(&boss, 999_999, "paid").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn cancelling_returns_the_stock_exactly_once_however_many_try_at_once() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let boss = app.staff("boss").await;
    let before = app.stock_and_sold(3).await;
    let id = alice.buy(3, 4).await;
    assert_eq!(app.stock_and_sold(3).await, (before.0 - 4, before.1 + 4));

    let tries = (0..8).map(|_| move_order(&boss, id, "cancelled"));
    let statuses: Vec<u16> = futures::future::join_all(tries).await.into_iter().map(|(s, _)| s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "exactly one cancel wins: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    assert_eq!(app.stock_and_sold(3).await, before, "stock and units sold are back, once");

    // A shipped order can no longer be cancelled.
    let id = alice.buy(3, 1).await;
    assert_eq!(move_order(&boss, id, "paid").await.0, 200);
    assert_eq!(move_order(&boss, id, "shipped").await.0, 200);
    assert_eq!(move_order(&boss, id, "cancelled").await.0, 409);
    assert_eq!(app.stock_and_sold(3).await, (before.0 - 1, before.1 + 1));
}

#[tokio::test]
async fn an_archived_product_leaves_the_catalog_live_cannot_be_bought_and_old_orders_keep_it() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let boss = app.staff("boss").await;
    let old_order = alice.buy(5, 2).await;
    app.wait_for_feed().await;
    let mut ws = app.ws().await;
    app.catalog_snapshot(&mut ws).await;
    ws.send(&ClientMsg::Subscribe { topic: Topic::Product(app::model::ProductId(5)), since: None }).await;
    assert!(matches!(ws.next().await, ServerMsg::Snapshot { .. }));

    let (status, body) = status_json(boss.post_form("/api/admin/archive", &[("id", "5"), ("archived", "true")]).await).await;
    assert_eq!((status, body["archived"].as_bool()), (200, Some(true)), "{body}");
    let mut removed = Vec::new();
    for _ in 0..2 {
        match ws.next().await {
            ServerMsg::Removed { topic, id, .. } => removed.push((topic, id)),
            other => panic!("expected removals, got {other:?}"),
        }
    }
    assert_eq!(removed, [(Topic::Catalog, 5), (Topic::Product(app::model::ProductId(5)), 5)]);
    assert!(!app.db.products_json(None).await.expect("catalog").contains("\"id\":5,"), "gone from catalog snapshots");

    let r = alice.checkout(json!([{"product_id": 5, "quantity": 1}]), "after-archive-1").await;
    assert_eq!(r.status().as_u16(), 404, "an archived product cannot be bought");
    let order: Order = serde_json::from_str(&app.db.order_json(old_order).await.expect("db").expect("order")).expect("order");
    assert_eq!((order.lines[0].product_id.0, order.lines[0].quantity), (5, 2), "past order lines stay intact");

    let (status, _) = status_json(boss.post_form("/api/admin/archive", &[("id", "5"), ("archived", "false")]).await).await;
    assert_eq!(status, 200);
    let (topic, _, p) = changed_product(&ws.next().await);
    assert_eq!((topic, p.id.0), (Topic::Catalog, 5), "restored: back in the catalog live");
}

#[tokio::test]
async fn products_and_categories_made_in_the_console_show_up_live_with_bad_input_refused() {
    let app = spawn_app().await;
    let boss = app.staff("boss").await;
    let mut ws = app.ws().await;
    app.catalog_snapshot(&mut ws).await;

    let (status, body) = status_json(boss.post_form("/api/admin/create_category", &[("slug", "garden"), ("name", "Garden")]).await).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = status_json(boss.post_form("/api/admin/create_category", &[("slug", "garden"), ("name", "Again")]).await).await;
    assert_eq!(status, 409, "a slug is unique");
    let (status, _) = status_json(boss.post_form("/api/admin/create_category", &[("slug", "Not A Slug"), ("name", "X")]).await).await;
    assert_eq!(status, 422);

    let product = |name: &str, price: &str, stock: &str| {
        vec![
            ("name".to_string(), name.to_string()),
            ("description".to_string(), "Galvanised, 10 litres.".to_string()),
            ("category".to_string(), "garden".to_string()),
            ("price".to_string(), price.to_string()),
            ("stock".to_string(), stock.to_string()),
            ("image".to_string(), String::new()),
        ]
    };
    let post = |form: Vec<(String, String)>| boss.http.post(boss.url("/api/admin/save_product")).form(&form).send();
    for (bad, field) in [
        (product("", "1.00", "1"), "name"),
        (product("Can", "-1", "1"), "price"),
        (product("Can", "1.999", "1"), "price"),
        (product("Can", "1", "-3"), "stock"),
        (product("Can", "1", "lots"), "stock"),
    ] {
        let (status, body) = status_json(post(bad).await.expect("post")).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["Validation"]["field"], field, "{body}");
    }
    assert!(ws.next_within(std::time::Duration::from_millis(200)).await.is_none(), "refused input changes nothing");

    let (status, body) = status_json(post(product("Watering Can", "24.50", "7")).await.expect("post")).await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_i64().expect("new id");
    let (topic, _, p) = changed_product(&ws.next().await);
    assert_eq!((topic, p.id.0, p.name.as_str(), p.price.minor, p.stock), (Topic::Catalog, id, "Watering Can", 2450, 7));

    let mut edit = product("Watering Can", "19.99", "7");
    edit.push(("id".into(), id.to_string()));
    assert_eq!(post(edit).await.expect("post").status().as_u16(), 200);
    let (_, _, p) = changed_product(&ws.next().await);
    assert_eq!((p.id.0, p.price.minor), (id, 1999), "the new price reaches the catalog live");

    let (status, body) = status_json(boss.post_form("/api/admin/restock", &[("id", &id.to_string()), ("delta", "-8")]).await).await;
    assert_eq!(status, 422, "stock cannot go below 0: {body}");
    let (status, body) = status_json(boss.post_form("/api/admin/restock", &[("id", &id.to_string()), ("delta", "5")]).await).await;
    assert_eq!((status, body["stock"].as_i64()), (200, Some(12)), "{body}");
}

#[tokio::test]
async fn staff_upload_images_that_are_then_served() {
    let app = spawn_app().await;
    let boss = app.staff("boss").await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR fake but sniffable".to_vec();
    let r = boss.http.post(boss.url("/api/images")).header("content-type", "image/png").body(png.clone()).send().await.expect("upload");
    let (status, body) = status_json(r).await;
    assert_eq!(status, 201, "{body}");
    let url = body["url"].as_str().expect("url").to_string();
    let got = app.http.get(app.url(&url)).send().await.expect("GET image");
    assert_eq!(got.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("image/png"));
    assert_eq!(got.bytes().await.expect("bytes").to_vec(), png);

    let svg = boss.http.post(boss.url("/api/images")).body("<svg><script>alert(1)</script></svg>").send().await.expect("upload");
    assert_eq!(svg.status().as_u16(), 415, "SVG (script) is refused");
    assert_eq!(app.http.get(app.url("/media/999")).send().await.expect("GET").status().as_u16(), 404);
}

/// `livecart user add --staff` and `livecart token create` from the real binary.
/// The binary runs with tokio's process API: waiting on it with std's would
/// block this test's one-thread runtime, and so the server under test with it,
/// while the binary waits for a write lock that server holds mid-transaction
/// (the change-log pruner's, say): a deadlock until SQLite's 10 s busy timeout.
#[tokio::test]
async fn the_cli_creates_a_staff_account_and_a_working_api_token() {
    use std::process::Stdio;

    use tokio::io::AsyncWriteExt as _;
    use tokio::process::Command;

    let app: TestApp = spawn_app().await;
    let bin = env!("CARGO_BIN_EXE_livecart");
    let mut child = Command::new(bin)
        .args(["user", "add", "--staff", "manager", "--password-stdin", "--database-url", app.test_db.url()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run livecart user add");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(format!("{}\n", crate::helpers::PASSWORD).as_bytes()).await.expect("password");
    drop(stdin);
    let out = child.wait_with_output().await.expect("user add");
    assert!(out.status.success(), "user add: {}", String::from_utf8_lossy(&out.stderr));
    let manager = app.shopper("manager");
    manager.login(crate::helpers::PASSWORD).await;
    assert_eq!(manager.me().await.map(|u| u["is_staff"].as_bool()), Some(Some(true)));

    let again = Command::new(bin)
        .args(["user", "add", "manager", "--password-stdin", "--database-url", app.test_db.url()])
        .stdin(Stdio::null())
        .output()
        .await
        .expect("user add again");
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("error:") && !err.contains("backtrace"), "a plain error: {err}");

    let out = Command::new(bin)
        .args(["token", "create", "--name", "warehouse", "--scope", "write", "--database-url", app.test_db.url()])
        .output()
        .await
        .expect("token create");
    assert!(out.status.success(), "token create: {}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).expect("utf-8").trim().to_string();
    let r = app.api(reqwest::Method::POST, "/products/1/stock", &token).json(&json!({"delta": 3})).send().await.expect("API");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(app.stock_and_sold(1).await.0, 28);
}
