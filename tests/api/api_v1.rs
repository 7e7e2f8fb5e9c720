//! The JSON API for other systems: `/api/v1`, its errors, its OpenAPI document.

use std::collections::BTreeSet;

use livecart::config::Limits;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{TestApp, changed_product, spawn_app, spawn_app_with, status_json};

async fn call(app: &TestApp, method: Method, path: &str, token: &str, body: Option<&str>) -> (u16, Value) {
    let mut req = app.api(method, path, token);
    if let Some(body) = body {
        req = req.header("content-type", "application/json").body(body.to_string());
    }
    status_json(req.send().await.expect("API request")).await
}

/// Every error answer is JSON with a code and a message.
fn assert_error(got: &(u16, Value), status: u16, code: &str, what: &str) {
    assert_eq!(got.0, status, "{what}: {}", got.1);
    assert_eq!(got.1["error"], code, "{what}: {}", got.1);
    assert!(got.1["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: a message: {}", got.1);
}

#[tokio::test]
async fn every_api_error_has_its_status_and_a_json_body_and_changes_nothing() {
    let app = spawn_app().await;
    let write = app.api_token("write").await;
    let read = app.api_token("read").await;
    let before = app.stock_and_sold(1).await;
    let adjust = |token: String, body: &'static str| {
        let app = &app;
        async move { call(app, Method::POST, "/products/1/stock", &token, Some(body)).await }
    };

    // 401: no token, a bad token, a revoked token.
    let r = status_json(app.http.get(app.url("/api/v1/products")).send().await.expect("GET")).await;
    assert_error(&r, 401, "unauthorized", "no token");
    assert_error(&call(&app, Method::GET, "/products", "lc_not-a-real-token", None).await, 401, "unauthorized", "bad token");
    let revoked = app.api_token("write").await;
    let id = app.db.tokens().await.expect("tokens").first().map(|t| t.id).expect("a token");
    assert!(app.db.revoke_token(id).await.expect("revoke"));
    assert_error(&call(&app, Method::GET, "/products", &revoked, None).await, 401, "unauthorized", "revoked token");

    // 403: a read token writing.
    assert_error(&adjust(read.clone(), r#"{"delta": 1}"#).await, 403, "forbidden", "read token");
    // 415, 400: not JSON, malformed, wrong types, wrong shape.
    let r = status_json(app.api(Method::POST, "/products/1/stock", &write).body("delta=1").send().await.expect("POST")).await;
    assert_error(&r, 415, "unsupported_media_type", "form body");
    for (body, what) in [
        ("{\"delta\": ", "malformed JSON"),
        ("[1]", "not an object"),
        (r#"{"delta": "5"}"#, "a string for a number"),
        (r#"{"delta": true}"#, "a bool for a number"),
        (r#"{}"#, "missing field"),
        (r#"{"delta": 1, "extra": 2}"#, "unknown field"),
    ] {
        assert_error(&adjust(write.clone(), body).await, 400, "bad_request", what);
    }
    // 422: non-integer, zero, overflow, negative result.
    for (body, what) in [
        (r#"{"delta": 1.5}"#, "non-integer"),
        (r#"{"delta": 0}"#, "zero"),
        (r#"{"delta": 99999999999999999999}"#, "overflow"),
        (r#"{"delta": 9223372036854775807}"#, "over the stock maximum"),
        (r#"{"delta": -1000000}"#, "negative stock"),
    ] {
        let got = adjust(write.clone(), body).await;
        assert_error(&got, 422, "invalid", what);
        assert_eq!(got.1["field"], "delta", "{what}");
    }
    assert_error(
        &call(&app, Method::PUT, "/products/1/stock", &write, Some(r#"{"stock": -1}"#)).await,
        422,
        "invalid",
        "negative stock level",
    );
    assert_error(
        &call(&app, Method::POST, "/products", &write, Some(r#"{"name": "X", "category": "nope", "price_minor": 100, "stock": 1}"#)).await,
        422,
        "invalid",
        "unknown category",
    );
    // 404: unknown ids and routes; 400: ids that are not ids.
    assert_error(&adjust_path(&app, &write, "/products/999999/stock").await, 404, "not_found", "unknown product");
    assert_error(&call(&app, Method::GET, "/orders/999999", &write, None).await, 404, "not_found", "unknown order");
    assert_error(&call(&app, Method::GET, "/products/abc", &write, None).await, 400, "bad_request", "non-numeric id");
    assert_error(&call(&app, Method::GET, "/warehouses", &write, None).await, 404, "not_found", "unknown route");
    // 413 and 405, answered before any handler runs, are JSON too.
    let huge = format!("{{\"name\": \"{}\", \"category\": \"home\", \"price_minor\": 1, \"stock\": 1}}", "x".repeat(70 * 1024));
    assert_error(&call(&app, Method::POST, "/products", &write, Some(&huge)).await, 413, "payload_too_large", "a body over 64 KiB");
    assert_error(&call(&app, Method::DELETE, "/products/1", &write, None).await, 405, "method_not_allowed", "no DELETE");
    assert_eq!(app.stock_and_sold(1).await, before, "no refused request changed anything");
}

async fn adjust_path(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    call(app, Method::POST, path, token, Some(r#"{"delta": 1}"#)).await
}

#[tokio::test]
async fn the_api_changes_stock_products_and_orders_and_shoppers_see_it_live() {
    let app = spawn_app().await;
    let write = app.api_token("write").await;
    let alice = app.signed_up("alice").await;
    let order = alice.buy(2, 1).await;
    app.wait_for_feed().await;
    let mut ws = app.ws().await;
    app.catalog_snapshot(&mut ws).await;

    let (status, body) = call(&app, Method::POST, "/products/1/stock", &write, Some(r#"{"delta": -5}"#)).await;
    assert_eq!((status, body["stock"].as_i64()), (200, Some(20)), "{body}");
    let (_, _, p) = changed_product(&ws.next().await);
    assert_eq!((p.id.0, p.stock), (1, 20));
    let (status, body) = call(&app, Method::PUT, "/products/1/stock", &write, Some(r#"{"stock": 3}"#)).await;
    assert_eq!((status, body["stock"].as_i64()), (200, Some(3)), "{body}");
    assert_eq!(changed_product(&ws.next().await).2.stock, 3);

    let (status, created) = call(
        &app,
        Method::POST,
        "/products",
        &write,
        Some(r#"{"name": "Tea Tin", "category": "coffee-tea", "price_minor": 1250, "stock": 9, "description": "Airtight."}"#),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().expect("id");
    assert_eq!(changed_product(&ws.next().await).2.name, "Tea Tin");
    let (status, body) = call(&app, Method::PATCH, &format!("/products/{id}"), &write, Some(r#"{"price_minor": 990}"#)).await;
    assert_eq!((status, body["price"]["minor"].as_i64(), body["name"].as_str()), (200, Some(990), Some("Tea Tin")), "{body}");
    assert_eq!(changed_product(&ws.next().await).2.price.minor, 990);
    let (status, body) = call(&app, Method::PATCH, &format!("/products/{id}"), &write, Some(r#"{"archived": true}"#)).await;
    assert_eq!((status, body["archived"].as_bool()), (200, Some(true)), "{body}");
    assert!(matches!(ws.next().await, app::protocol::ServerMsg::Removed { id: removed, .. } if removed == id));

    let (status, list) = call(&app, Method::GET, "/orders?status=placed", &write, None).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().map(|l| l.iter().map(|o| o["id"].as_i64()).collect::<Vec<_>>()), Some(vec![Some(order)]));
    assert_eq!(call(&app, Method::GET, "/orders?status=lost", &write, None).await.0, 422);
    assert_eq!(call(&app, Method::GET, "/orders?limit=0", &write, None).await.0, 422);
    let (status, body) = call(&app, Method::POST, &format!("/orders/{order}/status"), &write, Some(r#"{"status": "paid"}"#)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("paid")), "{body}");
    assert!(body["paid_at"].is_string(), "{body}");
    let conflict = call(&app, Method::POST, &format!("/orders/{order}/status"), &write, Some(r#"{"status": "delivered"}"#)).await;
    assert_error(&conflict, 409, "conflict", "paid -> delivered skips shipped");
    let (status, one) = call(&app, Method::GET, &format!("/orders/{order}"), &write, None).await;
    assert_eq!((status, one["status"].as_str()), (200, Some("paid")));
}

#[tokio::test]
async fn a_token_that_calls_too_often_gets_429() {
    let app = spawn_app_with(Limits { api_requests_per_second: 2, ..Limits::default() }).await;
    let token = app.api_token("read").await;
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(call(&app, Method::GET, "/orders", &token, None).await);
    }
    let limited = statuses.iter().find(|s| s.0 == 429).expect("some calls are limited");
    assert_error(limited, 429, "too_many_requests", "over the limit");
    assert!(statuses.iter().take(4).all(|s| s.0 == 200), "the burst is served");
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_the_server_serves() {
    let app = spawn_app().await;
    let token = app.api_token("read").await;
    let (status, doc) = status_json(app.http.get(app.url("/api/v1/openapi.json")).send().await.expect("GET")).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "an OpenAPI 3 document");
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| ops.as_object().expect("operations").keys().map(move |m| (path.clone(), m.clone())))
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("/api/v1/openapi.json", "get"),
        ("/api/v1/orders", "get"),
        ("/api/v1/orders/{id}", "get"),
        ("/api/v1/orders/{id}/status", "post"),
        ("/api/v1/products", "get"),
        ("/api/v1/products", "post"),
        ("/api/v1/products/{id}", "get"),
        ("/api/v1/products/{id}", "patch"),
        ("/api/v1/products/{id}/stock", "post"),
        ("/api/v1/products/{id}/stock", "put"),
        ("/api/v1/products/{id}/questions", "get"),
        ("/api/v1/questions", "get"),
        ("/api/v1/questions/{id}/answer", "put"),
        ("/api/v1/orders/{id}/messages", "get"),
        ("/api/v1/orders/{id}/messages", "post"),
    ]
    .into_iter()
    .map(|(p, m)| (p.to_string(), m.to_string()))
    .collect();
    assert_eq!(documented, expected);
    // Every documented operation is really routed: it answers with its own JSON
    // (a read token writing gets 403 from the handler, order 1 does not exist
    // yet: 404 from the handler), never "no route" or 405.
    for (path, method) in &documented {
        let url = app.url(&path.replace("{id}", "1"));
        let method: Method = method.to_uppercase().parse().expect("method");
        let r = app
            .http
            .request(method.clone(), url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .expect("call");
        let status = r.status().as_u16();
        let body = r.text().await.expect("body");
        assert_ne!(status, 405, "{method} {path} is routed");
        assert!(!body.contains("no API route"), "{method} {path} is routed: {body}");
        assert!([200, 400, 403, 404].contains(&status), "{method} {path}: {status} {body}");
    }
    // Every schema the document references exists.
    let text = doc.to_string();
    for reference in text.split("\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().expect("name");
        assert!(doc["components"]["schemas"].get(name).is_some(), "schema {name} is defined");
    }
}
