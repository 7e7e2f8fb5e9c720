//! The edges an outsider attacks: hostile strings on every page, the script
//! policy, edits racing sales, body types, sign-in limits behind proxies,
//! sign-outs, oversized socket messages, and the fault-injection switch.

use std::time::{Duration, Instant};

use app::protocol::{ClientMsg, ErrorCode, ServerMsg, Topic};
use livecart::config::Limits;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, spawn_app, spawn_app_configured, status_json};

/// What an attacker would type into every field that reaches a page.
const TITLE_BREAKOUT: &str = "</title><script>alert(2)</script>";
const SCRIPT_BREAKOUT: &str = "</textarea></script><script>alert(3)</script>";
const ATTRIBUTE_BREAKOUT: &str = "\"><img src=x onerror=alert(4)>";

/// Raw markup an escaped page can never contain.
fn assert_no_raw_markup(page: &str, html: &str) {
    for raw in ["<script>alert(", "<img src=x onerror", "</title><script>"] {
        assert!(!html.contains(raw), "{page}: '{raw}' appears unescaped");
    }
}

async fn create_product(app: &TestApp, token: &str, body: Value) -> i64 {
    let r = app.api(Method::POST, "/products", token).json(&body).send().await.expect("create");
    let (status, body) = status_json(r).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().expect("id")
}

#[tokio::test]
async fn hostile_names_descriptions_categories_and_addresses_are_escaped_on_every_page_head_included() {
    let app = spawn_app().await;
    let boss = app.staff("boss").await;
    let write = app.api_token("write").await;
    let r = boss.post_form("/api/admin/create_category", &[("slug", "xss"), ("name", ATTRIBUTE_BREAKOUT)]).await;
    assert_eq!(r.status(), 200);
    let id = create_product(
        &app,
        &write,
        json!({"name": TITLE_BREAKOUT, "description": SCRIPT_BREAKOUT, "category": "xss", "price_minor": 500, "stock": 9}),
    )
    .await;
    let shopper = app.signed_up("mallory").await;
    let address = json!({"name": SCRIPT_BREAKOUT, "street": SCRIPT_BREAKOUT, "city": ATTRIBUTE_BREAKOUT, "region": TITLE_BREAKOUT, "postal_code": "1", "country": ATTRIBUTE_BREAKOUT});
    let r = shopper
        .checkout_raw(json!({"lines": [{"product_id": id, "quantity": 1}], "address": address, "idempotency_key": "xss-order-0001"}))
        .await;
    assert!(r.status().is_success(), "checkout: {}", r.status());
    let order: i64 = r.json().await.expect("order id");

    let get = |who: &crate::helpers::Shopper, path: String| {
        let request = who.http.get(who.url(&path));
        async move {
            let r = request.send().await.expect("GET");
            assert!(r.status().is_success(), "{path}: {}", r.status());
            (path, r.text().await.expect("body"))
        }
    };
    let mut pages = Vec::new();
    for path in [
        "/".to_string(),
        "/?category=xss".into(),
        format!("/products/{id}"),
        "/orders".into(),
        format!("/orders/{order}"),
        format!("/orders/{order}?placed=1"),
        "/cart".into(),
        // A search for the markup itself, misspelt so the page offers a correction too.
        "/?q=%3C%2Ftitle%3E%3Cscript%3Ealertt(1)%3C%2Fscript%3E".into(),
    ] {
        pages.push(get(&shopper, path).await);
    }
    for path in ["/admin".to_string(), "/admin/products".into(), format!("/admin/products/{id}"), "/admin/categories".into()] {
        pages.push(get(&boss, path).await);
    }
    for (path, html) in &pages {
        if std::env::var("DUMP_PAGES").is_ok() {
            std::fs::write(format!("/tmp/page{}.html", path.replace('/', "_")), html).ok();
        }
        assert_no_raw_markup(path, html);
    }
    let product_page = &pages[2].1;
    assert!(
        product_page.contains("<title>&lt;/title&gt;&lt;script&gt;alert(2)&lt;/script&gt; · livecart</title>"),
        "the title is escaped text"
    );
    let order_page = &pages[4].1;
    assert!(order_page.contains("&lt;/script&gt;&lt;script&gt;alert(3)"), "the address is shown, as text");
    let page_at = |path: String| pages.iter().find(|(p, _)| *p == path).map(|(_, html)| html.as_str()).expect("visited");
    assert!(
        page_at(format!("/admin/products/{id}")).contains("&lt;/textarea&gt;&lt;/script&gt;"),
        "the description is in the staff form, as text"
    );
    let thanks = page_at(format!("/orders/{order}?placed=1"));
    assert!(thanks.contains("Thank you, &lt;/textarea&gt;&lt;/script&gt;&lt;script&gt;alert(3)"), "the recipient is thanked, as text");
}

#[tokio::test]
async fn pages_allow_only_scripts_with_this_responses_nonce_and_hsts_comes_with_secure_cookies() {
    let app = spawn_app().await;
    let csp_of = |r: &reqwest::Response| r.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).map(str::to_string);
    let mut nonces = Vec::new();
    for path in ["/", "/products/1", "/login", "/no-such-page"] {
        let r = app.http.get(app.url(path)).send().await.expect("GET");
        let csp = csp_of(&r).unwrap_or_else(|| panic!("{path}: a CSP"));
        assert!(r.headers().get("strict-transport-security").is_none(), "no HSTS without --secure-cookies");
        let html = r.text().await.expect("body");
        let scripts = csp.split(';').find(|d| d.trim().starts_with("script-src")).expect("script-src");
        assert!(!scripts.contains("unsafe-inline"), "{path}: {scripts}");
        let nonce = scripts.split_whitespace().find_map(|t| t.strip_prefix("'nonce-")).map(|t| t.trim_end_matches('\'')).expect("a nonce");
        // Every script on the page carries it.
        let tags = html.matches("<script").count();
        assert!(tags > 0, "{path}: the page has scripts");
        assert_eq!(html.matches(&format!("nonce=\"{nonce}\"")).count(), tags, "{path}: every <script> has this response's nonce");
        nonces.push(nonce.to_string());
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 4, "a fresh nonce per response");
    let r = app.http.get(app.url("/healthz")).send().await.expect("GET");
    let csp = csp_of(&r).expect("a CSP on every response");
    assert!(csp.split(';').any(|d| d.trim().starts_with("script-src") && !d.contains("unsafe-inline")), "{csp}");

    let tls = spawn_app_configured(TestDb::new().await, Limits::default(), |c| c.secure_cookies = true).await;
    let r = tls.http.get(tls.url("/")).send().await.expect("GET");
    assert!(r.headers().get("strict-transport-security").is_some_and(|v| v.to_str().is_ok_and(|v| v.contains("max-age="))));
}

#[tokio::test]
async fn buyers_and_price_editors_racing_on_one_product_never_bring_sold_units_back() {
    let app = crate::helpers::spawn_app_with(Limits { api_requests_per_second: 100_000, ..Limits::default() }).await;
    let write = app.api_token("write").await;
    let id = create_product(&app, &write, json!({"name": "Race Kettle", "category": "home", "price_minor": 1000, "stock": 100000})).await;
    let mut buyers = Vec::new();
    for i in 0..6 {
        buyers.push(app.signed_up(&format!("racer{i}")).await);
    }
    let until = Instant::now() + Duration::from_secs(3);
    let buying = futures::future::join_all(buyers.iter().map(|b| async move {
        let mut n = 0;
        while Instant::now() < until {
            b.buy(id, 1).await;
            n += 1;
        }
        n
    }));
    let editing = futures::future::join_all((0..2).map(|e| {
        let (app, write) = (&app, &write);
        async move {
            let mut n = 0_i64;
            while Instant::now() < until {
                let price = 1000 + e * 1000 + n % 500;
                let r = app
                    .api(Method::PATCH, &format!("/products/{id}"), write)
                    .json(&json!({"price_minor": price}))
                    .send()
                    .await
                    .expect("PATCH");
                assert_eq!(r.status(), 200);
                n += 1;
            }
            n
        }
    }));
    let (bought, edits) = futures::join!(buying, editing);
    let (bought, edits): (i64, i64) = (bought.iter().sum(), edits.iter().sum());
    assert!(bought > 0 && edits > 0, "both sides ran: {bought} orders, {edits} edits");
    let (stock, sold) = app.stock_and_sold(id).await;
    assert_eq!(sold, bought, "every unit bought is counted");
    assert_eq!(stock + sold, 100000, "no sold unit came back into stock ({bought} orders, {edits} price edits)");
}

#[tokio::test]
async fn an_edit_based_on_an_old_version_is_refused_with_what_is_there_now() {
    let app = spawn_app().await;
    let write = app.api_token("write").await;
    let boss = app.staff("boss").await;
    let r = app.api(Method::GET, "/products/1", &write).send().await.expect("GET");
    let etag = r.headers().get("etag").and_then(|v| v.to_str().ok()).expect("an ETag").to_string();
    let (_, before): (u16, Value) = status_json(r).await;
    let version = before["version"].as_i64().expect("version");
    assert_eq!(etag, format!("W/\"{version}\""));

    // The console saves an edit of that version: it goes through and moves the version.
    let form = |name: &str, v: i64, stock_change: &str| {
        vec![
            ("id".to_string(), "1".to_string()),
            ("version".to_string(), v.to_string()),
            ("name".to_string(), name.to_string()),
            ("description".to_string(), before["description"].as_str().unwrap_or_default().to_string()),
            ("category".to_string(), before["category"].as_str().unwrap_or_default().to_string()),
            ("price".to_string(), "12.00".to_string()),
            ("stock_change".to_string(), stock_change.to_string()),
            ("image".to_string(), before["image"].as_str().unwrap_or_default().to_string()),
        ]
    };
    let save = |f: Vec<(String, String)>| boss.http.post(boss.url("/api/admin/save_product")).form(&f).send();
    let (status, saved) = status_json(save(form("Renamed once", version, "5")).await.expect("save")).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!((saved["version"].as_i64(), saved["stock"].as_i64()), (Some(version + 1), before["stock"].as_i64().map(|s| s + 5)));

    // The API client still holds the old ETag: refused, nothing written, the current product sent back.
    let r = app
        .api(Method::PATCH, "/products/1", &write)
        .header("if-match", &etag)
        .json(&json!({"price_minor": 1}))
        .send()
        .await
        .expect("PATCH");
    let (status, body) = status_json(r).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("conflict")), "{body}");
    assert_eq!(body["current"]["name"], "Renamed once", "{body}");
    assert_eq!(body["current"]["price"]["minor"], 1200, "nothing written: {body}");
    // A second console save from the same stale form: refused too.
    let (status, body) = status_json(save(form("Renamed twice", version, "")).await.expect("save")).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("Someone else changed")), "{body}");

    // With the fresh ETag it goes through; `*` and no If-Match apply to whatever is there.
    let fresh = format!("W/\"{}\"", version + 1);
    let r = app
        .api(Method::PATCH, "/products/1", &write)
        .header("if-match", &fresh)
        .json(&json!({"price_minor": 1300}))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(r.headers().get("etag").and_then(|v| v.to_str().ok()), Some(format!("W/\"{}\"", version + 2).as_str()));
    assert_eq!(r.status(), 200);
    let r = app
        .api(Method::PATCH, "/products/1", &write)
        .header("if-match", "*")
        .json(&json!({"price_minor": 1400}))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(r.status(), 200);
    let r = app
        .api(Method::PATCH, "/products/1", &write)
        .header("if-match", "yesterday")
        .json(&json!({"price_minor": 1}))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(status_json(r).await.0, 400, "a malformed If-Match");
}

#[tokio::test]
async fn a_patch_is_all_or_nothing_and_writes_only_the_fields_it_names() {
    let app = spawn_app().await;
    let write = app.api_token("write").await;
    let get = || async { status_json(app.api(Method::GET, "/products/2", &write).send().await.expect("GET")).await.1 };
    let before = get().await;
    for (body, what) in [
        (json!({"price_minor": 4321, "stock": -5}), "stock below 0"),
        (json!({"price_minor": 4321, "category": "no-such-category"}), "an unknown category"),
        (json!({"price_minor": 4321, "archived": true, "name": ""}), "an empty name"),
    ] {
        let (status, body) = status_json(app.api(Method::PATCH, "/products/2", &write).json(&body).send().await.expect("PATCH")).await;
        assert_eq!(status, 422, "{what}: {body}");
        assert_eq!(get().await, before, "{what}: nothing was written");
    }
    // Archive, price and stock in one edit: all of it.
    let (status, after) = status_json(
        app.api(Method::PATCH, "/products/2", &write)
            .json(&json!({"price_minor": 4321, "archived": true, "stock": 3}))
            .send()
            .await
            .expect("PATCH"),
    )
    .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!((after["price"]["minor"].as_i64(), after["archived"].as_bool(), after["stock"].as_i64()), (Some(4321), Some(true), Some(3)));
    assert_eq!(
        (after["name"].clone(), after["description"].clone()),
        (before["name"].clone(), before["description"].clone()),
        "untouched fields stay"
    );
}

#[tokio::test]
async fn server_functions_take_only_their_declared_body_type_and_every_api_error_is_json() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let orders = || app.outside_scalar("SELECT count(*) FROM orders");
    let body =
        json!({"lines": [{"product_id": 1, "quantity": 1}], "address": crate::helpers::address(), "idempotency_key": "plain-text-0001"});
    let r = ann.http.post(ann.url("/api/checkout")).header("content-type", "text/plain").body(body.to_string()).send().await.expect("POST");
    let (status, json) = status_json(r).await;
    assert_eq!(status, 415, "{json}");
    assert!(json["error"]["UnsupportedMediaType"].as_str().is_some_and(|m| m.contains("application/json")), "{json}");
    assert_eq!(orders().await, 0, "no order was placed");
    let r = ann.http.post(ann.url("/api/checkout")).body(body.to_string()).send().await.expect("POST");
    assert_eq!(r.status(), 415, "no content type at all");
    let r = ann.http.post(ann.url("/api/login")).json(&json!({"username": "ann", "password": "x"})).send().await.expect("POST");
    assert_eq!(status_json(r).await.0, 415, "a form endpoint refuses JSON");

    // 413, 405, 404: JSON in the server functions' shape.
    let huge = json!({"lines": [], "address": crate::helpers::address(), "idempotency_key": "x".repeat(100 * 1024)});
    let (status, json) = status_json(ann.http.post(ann.url("/api/checkout")).json(&huge).send().await.expect("POST")).await;
    assert_eq!(status, 413, "{json}");
    assert!(json["error"]["TooLarge"].is_string() && json["message"].is_string(), "{json}");
    let (status, json) = status_json(ann.http.get(ann.url("/api/checkout")).send().await.expect("GET")).await;
    assert!(status == 405 || status == 404, "{status} {json}");
    assert!(json["message"].is_string(), "{json}");
    let (status, json) = status_json(ann.http.post(ann.url("/api/no_such_function")).form(&[("a", "b")]).send().await.expect("POST")).await;
    assert_eq!(status, 404, "{json}");
    assert!(json["error"]["NotFound"].is_string(), "{json}");
    assert_eq!(orders().await, 0);
}

#[tokio::test]
async fn sign_in_limits_count_failures_per_client_behind_trusted_proxies_and_registrations_per_address() {
    let app = spawn_app_configured(TestDb::new().await, Limits::default(), |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
    })
    .await;
    let ann = app.signed_up("ann").await;
    let from = |ip: &str, username: &str, password: &str| {
        let request =
            app.http.post(app.url("/api/login")).header("x-forwarded-for", ip).form(&[("username", username), ("password", password)]);
        async move { request.send().await.expect("POST").status().as_u16() }
    };
    // Successful sign-ins never use the quota (10 a minute per account).
    for _ in 0..12 {
        let s = from("198.51.100.1", "ann", crate::helpers::PASSWORD).await;
        assert!(s == 200 || s == 302 || s == 303, "{s}");
    }
    // 30 failures from one client, each against another account, then it is refused.
    // (One more try is earned every 2 s: a slow machine may see a few more.)
    let started = Instant::now();
    let mut failures = 0;
    let refused = loop {
        match from("203.0.113.1", &format!("nobody{failures}"), "wrong password").await {
            401 => failures += 1,
            other => break other,
        }
        assert!(failures < 60, "never limited");
    };
    assert_eq!(refused, 429, "that client is limited");
    let earned = (started.elapsed().as_secs() / 2) as usize + 1;
    assert!((30..=30 + earned).contains(&failures), "limited after {failures} failures");
    assert_eq!(from("203.0.113.2", "nobody-else", "wrong password").await, 401, "another client behind the same proxy is not");
    assert!(ann.me().await.is_some());

    // Registrations: 20 an hour per client address.
    let register = |ip: &str, name: String| {
        let request = app
            .http
            .post(app.url("/api/register"))
            .header("x-forwarded-for", ip)
            .form(&[("username", name.as_str()), ("password", crate::helpers::PASSWORD)]);
        async move { request.send().await.expect("POST").status().as_u16() }
    };
    for i in 0..20 {
        let s = register("203.0.113.7", format!("newbie{i}")).await;
        assert!(s == 200 || s == 302 || s == 303, "registration {i}: {s}");
    }
    assert_eq!(register("203.0.113.7", "newbie20".into()).await, 429);
    let s = register("203.0.113.8", "newbie21".into()).await;
    assert!(s == 200 || s == 302 || s == 303, "{s}");

    // Without trusted proxies the header is the client's own claim: ignored.
    let plain = spawn_app().await;
    let mut tries = 0;
    let last = loop {
        let status = plain
            .http
            .post(plain.url("/api/login"))
            .header("x-forwarded-for", format!("203.0.113.{tries}"))
            .form(&[("username", format!("x{tries}").as_str()), ("password", "wrong")])
            .send()
            .await
            .expect("POST")
            .status()
            .as_u16();
        tries += 1;
        if status != 401 || tries > 60 {
            break status;
        }
    };
    assert_eq!(last, 429, "a forged X-Forwarded-For does not escape the per-address limit");
}

#[tokio::test]
async fn signing_out_drops_private_topics_on_that_sessions_sockets_only() {
    let app = spawn_app().await;
    let phone = app.signed_up("ann").await;
    let laptop = app.shopper("ann");
    let r = laptop.login(crate::helpers::PASSWORD).await;
    assert!(r.status().is_success() || r.status().is_redirection());
    let me = phone.me().await.and_then(|u| u["id"].as_i64()).expect("ann's id");
    let topic = Topic::Orders(app::model::CustomerId(me));
    let (mut phone_ws, mut laptop_ws) = (phone.ws().await, laptop.ws().await);
    for ws in [&mut phone_ws, &mut laptop_ws] {
        ws.send(&ClientMsg::Subscribe { topic: topic.clone(), since: None }).await;
        assert!(matches!(ws.next().await, ServerMsg::Snapshot { .. }));
    }
    let r = phone.post_form("/api/logout", &[]).await;
    assert!(r.status().is_success() || r.status().is_redirection());
    match phone_ws.next().await {
        ServerMsg::Error { code: ErrorCode::Forbidden, topic: Some(t), .. } => assert_eq!(t, topic.to_string()),
        other => panic!("the phone's socket should lose the topic, got {other:?}"),
    }
    // The laptop is still signed in: its socket keeps the topic and sees the next order.
    let order = laptop.buy(3, 1).await;
    match laptop_ws.next().await {
        ServerMsg::Change { topic: t, data, .. } => {
            assert_eq!(t, topic);
            let summary: app::model::OrderSummary = serde_json::from_str(data.get()).expect("an order summary");
            assert_eq!(summary.id.0, order);
        }
        other => panic!("the laptop should see the new order, got {other:?}"),
    }
    assert!(phone_ws.next_within(Duration::from_millis(300)).await.is_none(), "nothing private reaches the signed-out socket");
    phone_ws.send(&ClientMsg::Subscribe { topic: topic.clone(), since: None }).await;
    assert!(matches!(phone_ws.next().await, ServerMsg::Error { code: ErrorCode::Forbidden, .. }), "and it cannot follow it again");
}

#[tokio::test]
async fn a_socket_message_over_the_hard_limit_is_answered_with_close_1009() {
    let app = spawn_app().await;
    let mut ws = app.ws().await;
    ws.assert_alive().await;
    ws.send_text(&"x".repeat(2 * 1024 * 1024)).await;
    let frame = ws.close_frame().await.expect("a close frame, not a dropped connection");
    assert_eq!(u16::from(frame.code), 1009, "message too big: {frame:?}");
}

#[tokio::test]
async fn fault_injection_exists_only_when_asked_for_and_breaks_what_it_says() {
    let app = spawn_app().await;
    let r = app.http.post(app.url("/_faults/drop-sockets")).send().await.expect("POST");
    assert_eq!(r.status(), 404, "off by default");

    let app = spawn_app_configured(TestDb::new().await, Limits::default(), |c| c.fault_injection = true).await;
    let fault = |what: &str| app.http.post(app.url(&format!("/_faults/{what}"))).send();
    // Every socket is cut.
    let mut ws = app.ws().await;
    ws.assert_alive().await;
    assert_eq!(fault("drop-sockets").await.expect("POST").status(), 200);
    assert!(ws.ends_within(Duration::from_secs(5)).await, "the socket was cut");

    // A paused feed holds changes back, then delivers them.
    let mut ws = app.ws().await;
    app.catalog_snapshot(&mut ws).await;
    assert_eq!(fault("pause-feed?ms=700").await.expect("POST").status(), 200);
    app.outside_sql("UPDATE products SET price_cents = 4242 WHERE id = 5").await;
    assert!(ws.next_within(Duration::from_millis(400)).await.is_none(), "held back while paused");
    let (_, _, p) = crate::helpers::changed_product(&ws.next().await);
    assert_eq!((p.id.0, p.price.minor), (5, 4242));

    // Delayed frames: a change arrives, late.
    assert_eq!(fault("delay-frames?ms=600").await.expect("POST").status(), 200);
    let started = Instant::now();
    app.outside_sql("UPDATE products SET price_cents = 4343 WHERE id = 5").await;
    let (_, _, p) = crate::helpers::changed_product(&ws.next().await);
    assert_eq!(p.price.minor, 4343);
    assert!(started.elapsed() >= Duration::from_millis(500), "held for the delay: {:?}", started.elapsed());
    assert_eq!(fault("reset").await.expect("POST").status(), 200);

    // A checkout placed whose answer is lost; the retry with the same key buys once.
    let buyer = app.signed_up("ivy").await;
    let before = app.stock_and_sold(4).await;
    assert_eq!(fault("fail-next-checkout").await.expect("POST").status(), 200);
    let lines = json!([{"product_id": 4, "quantity": 2}]);
    let (status, body) = status_json(buyer.checkout(lines.clone(), "lost-answer-0001").await).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"]["Transport"].is_string(), "the browser gets a retryable error: {body}");
    let first: i64 = buyer.checkout(lines.clone(), "lost-answer-0001").await.json().await.expect("order id");
    let again: i64 = buyer.checkout(lines, "lost-answer-0001").await.json().await.expect("order id");
    assert_eq!(first, again);
    assert_eq!(app.stock_and_sold(4).await, (before.0 - 2, before.1 + 2), "bought once");
}

#[tokio::test]
async fn under_concurrent_page_loads_every_page_header_names_the_nonce_its_scripts_carry() {
    let app = spawn_app().await;
    let pages = ["/", "/cart", "/products/1", "/login", "/no-such-page"];
    let loads = (0..60).map(|i| {
        let (http, url) = (app.http.clone(), app.url(pages[i % pages.len()]));
        async move {
            let r = http.get(&url).send().await.expect("GET");
            let csp = r.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            (url, csp, r.text().await.expect("body"))
        }
    });
    for (url, csp, html) in futures::future::join_all(loads).await {
        let nonce = csp.split_whitespace().find_map(|t| t.strip_prefix("'nonce-")).map(|t| t.trim_end_matches('\'')).unwrap_or("none");
        let scripts = html.matches("<script").count();
        assert_eq!(html.matches(&format!("nonce=\"{nonce}\"")).count(), scripts, "{url}: header {csp}");
    }
}

#[tokio::test]
async fn metrics_count_purchases_and_sockets_for_operators_and_nobody_else() {
    let app = spawn_app_configured(TestDb::new().await, Limits::default(), |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
    })
    .await;
    let buyer = app.signed_up("ola").await;
    buyer.buy(2, 1).await;
    let mut ws = app.ws().await;
    app.catalog_snapshot(&mut ws).await;
    let r = app.http.get(app.url("/metrics")).send().await.expect("GET /metrics");
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("body");
    let value = |name: &str| -> f64 {
        text.lines().filter(|l| l.starts_with(name) && !l.starts_with('#')).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
    };
    assert!(value("livecart_checkouts_total{outcome=\"placed\"}") >= 1.0, "{text}");
    assert!(value("livecart_sockets") >= 1.0 && value("livecart_subscriptions") >= 1.0, "{text}");
    assert!(value("livecart_http_requests_total") >= 3.0 && text.contains("livecart_http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("livecart_feed_lag"), "{text}");
    // Through the proxy, for a client on the internet: nothing to see.
    let r = app.http.get(app.url("/metrics")).header("x-forwarded-for", "203.0.113.5").send().await.expect("GET");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn every_response_echoes_a_request_id_the_callers_own_or_a_new_one() {
    let app = spawn_app().await;
    let r = app.http.get(app.url("/healthz")).header("x-request-id", "trace-me-42").send().await.expect("GET");
    assert_eq!(r.headers().get("x-request-id").and_then(|v| v.to_str().ok()), Some("trace-me-42"));
    let r = app.http.get(app.url("/")).send().await.expect("GET");
    let made = r.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert_eq!(made.len(), 36, "a UUID: {made}");
}

#[tokio::test]
async fn hostile_questions_answers_display_names_and_messages_are_escaped_on_every_page() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let boss = app.staff("boss").await;
    let ok = |(status, body): (u16, Value), what: &str| {
        assert_eq!(status, 200, "{what}: {body}");
        body
    };
    ok(status_json(alice.post_form("/api/set_display_name", &[("display_name", TITLE_BREAKOUT)]).await).await, "display name");
    let body = format!("{SCRIPT_BREAKOUT} {ATTRIBUTE_BREAKOUT}");
    let asked = ok(status_json(alice.post_form("/api/ask_question", &[("product", "1"), ("body", &body)]).await).await, "ask");
    let question = asked.as_i64().expect("question id").to_string();
    let answer = [("question", question.as_str()), ("answer", TITLE_BREAKOUT)];
    ok(status_json(boss.post_form("/api/admin/answer_question", &answer).await).await, "answer");
    let order = alice.buy(2, 1).await.to_string();
    let hers = format!("{TITLE_BREAKOUT}{ATTRIBUTE_BREAKOUT}");
    ok(status_json(alice.post_form("/api/send_message", &[("order", &order), ("body", &hers)]).await).await, "her message");
    ok(status_json(boss.post_form("/api/send_message", &[("order", &order), ("body", SCRIPT_BREAKOUT)]).await).await, "the shop's");
    let pages = [
        (&alice, "/products/1".to_string()),
        (&alice, format!("/orders/{order}")),
        (&alice, "/orders".to_string()),
        (&boss, format!("/orders/{order}")),
        (&boss, "/admin/questions".to_string()),
        (&boss, "/admin/inbox".to_string()),
    ];
    for (who, path) in pages {
        let r = who.http.get(who.url(&path)).send().await.expect("GET");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        let html = r.text().await.expect("body");
        // The lists show no question or message text; the other pages do.
        let lists = ["/orders", "/admin/inbox"];
        assert!(lists.contains(&path.as_str()) || html.contains("&lt;/title&gt;"), "{path}: the hostile text is shown, escaped");
        assert_no_raw_markup(&path, &html);
    }
}
