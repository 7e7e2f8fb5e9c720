use std::time::{Duration, Instant};

use app::model::{CategorySlug, Product, ProductId, ProductSummary};
use app::protocol::{ClientMsg, ErrorCode, Seq, ServerMsg, Topic};

use livecart::config::Limits;

use crate::helpers::DbJson as _;
use crate::helpers::{changed_product, spawn_app};

#[tokio::test]
async fn a_subscription_starts_with_a_snapshot_of_the_catalog() {
    let app = spawn_app().await;
    let mut ws = app.ws().await;
    let (seq, products) = app.catalog_snapshot(&mut ws).await;
    assert!(products.len() >= 24, "demo catalog has {} products", products.len());
    assert!(seq.0 > 0, "the seeded catalog went through the change log");
    let names: Vec<&str> = products.iter().map(|p| p.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted, "snapshot is ordered by name");

    let slug = CategorySlug::parse("confectionery").expect("slug");
    ws.send(&ClientMsg::Subscribe { topic: Topic::Category(slug.clone()), since: None }).await;
    match ws.next().await {
        ServerMsg::Snapshot { topic, data, .. } => {
            assert_eq!(topic, Topic::Category(slug.clone()));
            let items: Vec<ProductSummary> = serde_json::from_str(data.get()).expect("summaries");
            assert!(!items.is_empty() && items.iter().all(|p| p.category == slug));
        }
        other => panic!("expected a category snapshot, got {other:?}"),
    }

    ws.send(&ClientMsg::Subscribe { topic: Topic::Product(ProductId(1)), since: None }).await;
    match ws.next().await {
        ServerMsg::Snapshot { data, .. } => {
            let product: Product = serde_json::from_str(data.get()).expect("a full product");
            assert_eq!(product.summary.id, ProductId(1));
            assert!(!product.description.is_empty());
        }
        other => panic!("expected a product snapshot, got {other:?}"),
    }
}

#[tokio::test]
async fn a_change_by_an_outside_writer_reaches_every_topic_it_touches() {
    let app = spawn_app().await;
    let mut ws = app.ws().await;
    let (_, products) = app.catalog_snapshot(&mut ws).await;
    let target = products.iter().find(|p| p.category.as_str() == "electronics").expect("an electronics product");
    let category = Topic::Category(target.category.clone());
    let product = Topic::Product(target.id);
    for topic in [&category, &product] {
        ws.send(&ClientMsg::Subscribe { topic: topic.clone(), since: None }).await;
        assert!(matches!(ws.next().await, ServerMsg::Snapshot { .. }));
    }

    let mut samples = Vec::new();
    for (i, price) in [1_234_i64, 2_345, 3_456].into_iter().enumerate() {
        let started = Instant::now();
        app.outside_sql(&format!("UPDATE products SET price_cents = {price} WHERE id = {}", target.id)).await;
        let mut seen = Vec::new();
        for _ in 0..3 {
            let msg = ws.next().await;
            if seen.is_empty() {
                samples.push(started.elapsed());
            }
            seen.push(msg);
        }
        let topics: Vec<Topic> = seen.iter().map(|m| changed_product(m).0).collect();
        assert_eq!(topics, [Topic::Catalog, category.clone(), product.clone()], "change {i} in commit order");
        for msg in &seen {
            let (_, _, p) = changed_product(msg);
            assert_eq!(p.price.minor, price);
            assert_eq!(p.id, target.id);
        }
    }
    // Not asserted (timing is measured, not tested): printed for the notes.
    println!("outside UPDATE -> first change frame ({}): {samples:?}", app.db.backend_name());
}

#[tokio::test]
async fn new_and_deleted_products_appear_and_vanish_live() {
    let app = spawn_app().await;
    let mut ws = app.ws().await;
    app.catalog_snapshot(&mut ws).await;
    app.outside_sql(
        "INSERT INTO products (category_id, name, description, price_cents, stock, image) \
         SELECT id, 'Live Test Lamp', 'A lamp', 4200, 3, '' FROM categories WHERE slug = 'home'",
    )
    .await;
    let (topic, _, lamp) = changed_product(&ws.next().await);
    assert_eq!((topic, lamp.name.as_str(), lamp.stock), (Topic::Catalog, "Live Test Lamp", 3));

    app.outside_sql(&format!("DELETE FROM products WHERE id = {}", lamp.id)).await;
    match ws.next().await {
        ServerMsg::Removed { topic, id, .. } => assert_eq!((topic, id), (Topic::Catalog, lamp.id.0)),
        other => panic!("expected removed, got {other:?}"),
    }
}

#[tokio::test]
async fn resuming_with_since_replays_exactly_the_missed_changes_in_order() {
    let app = spawn_app().await;
    let mut ws = app.ws().await;
    let (seen_seq, _) = app.catalog_snapshot(&mut ws).await;
    ws.close().await;

    // While nobody listens: three changes to the catalog (and one elsewhere is
    // only in other topics, so it must not show up on catalog).
    for (id, stock) in [(1, 7), (2, 8), (1, 9)] {
        app.outside_sql(&format!("UPDATE products SET stock = {stock} WHERE id = {id}")).await;
    }
    // All three published, so they come back as a replay, not live.
    app.wait_for_feed().await;

    let mut ws = app.ws().await;
    ws.send(&ClientMsg::Subscribe { topic: Topic::Catalog, since: Some(seen_seq) }).await;
    let mut got = Vec::new();
    while let Some(msg) = ws.next_within(Duration::from_millis(500)).await {
        got.push(changed_product(&msg));
    }
    // Each missed product once, as it is now, in the order of its last change
    // (DESIGN: a replay may be newer than the commits it stands for), so the
    // resumed view ends exactly as the database.
    let stocks: Vec<(i64, i64)> = got.iter().map(|(_, _, p)| (p.id.0, p.stock)).collect();
    assert_eq!(stocks, [(2, 8), (1, 9)], "every missed change, newest state, in order");
    let seqs: Vec<Seq> = got.iter().map(|(_, s, _)| *s).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]) && seqs[0] > seen_seq, "seqs increase: {seqs:?}");

    // The subscription is live after the replay: the next change arrives once.
    app.outside_sql("UPDATE products SET stock = 10 WHERE id = 2").await;
    let (_, seq, p) = changed_product(&ws.next().await);
    assert!((p.id.0, p.stock) == (2, 10) && seq > seqs[1]);
    assert!(ws.next_within(Duration::from_millis(300)).await.is_none(), "no duplicates");

    // Resuming from the newest seq replays nothing.
    let mut again = app.ws().await;
    again.send(&ClientMsg::Subscribe { topic: Topic::Catalog, since: Some(seq) }).await;
    assert!(again.next_within(Duration::from_millis(300)).await.is_none());
}

#[tokio::test]
async fn a_resume_older_than_the_retained_log_gets_a_snapshot() {
    let app = spawn_app().await;
    let mut ws = app.ws().await;
    let (first_seq, _) = app.catalog_snapshot(&mut ws).await;
    ws.close().await;
    app.outside_sql("UPDATE products SET stock = 1 WHERE id = 3").await;
    // Wait until the feed has published that change, then prune everything published.
    let seq = loop {
        let mut probe = app.ws().await;
        let (seq, _) = app.catalog_snapshot(&mut probe).await;
        probe.close().await;
        if seq > first_seq {
            break seq;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let through = app.db.prune_log(Duration::ZERO, 0, seq.0).await.expect("prune");
    assert_eq!(through, seq.0);

    let mut ws = app.ws().await;
    ws.send(&ClientMsg::Subscribe { topic: Topic::Catalog, since: Some(first_seq) }).await;
    match ws.next().await {
        ServerMsg::Snapshot { seq: snap_seq, data, .. } => {
            assert!(snap_seq >= seq);
            let products: Vec<ProductSummary> = serde_json::from_str(data.get()).expect("summaries");
            assert!(products.iter().any(|p| p.id.0 == 3 && p.stock == 1), "snapshot holds the pruned change");
        }
        other => panic!("expected a re-sync snapshot, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_the_socket_keeps_working() {
    let app = spawn_app().await;
    let mut ws = app.ws().await;
    let code = |msg: ServerMsg| match msg {
        ServerMsg::Error { code, message, .. } => {
            assert!(!message.is_empty());
            code
        }
        other => panic!("expected an error frame, got {other:?}"),
    };

    ws.send_text("this is not json").await;
    assert_eq!(code(ws.next().await), ErrorCode::BadRequest);
    ws.send_text(r#"{"type":"subscribe"}"#).await;
    assert_eq!(code(ws.next().await), ErrorCode::BadRequest);
    ws.send_text(r#"{"type":"teleport","topic":"catalog"}"#).await;
    assert_eq!(code(ws.next().await), ErrorCode::BadRequest);
    ws.send_text(r#"{"type":"subscribe","topic":"weather"}"#).await;
    assert_eq!(code(ws.next().await), ErrorCode::UnknownTopic);
    ws.send_text(r#"{"type":"subscribe","topic":"product:999999"}"#).await;
    assert_eq!(code(ws.next().await), ErrorCode::UnknownTopic);
    ws.send_text(r#"{"type":"subscribe","topic":"category:no-such-thing"}"#).await;
    assert_eq!(code(ws.next().await), ErrorCode::UnknownTopic);
    ws.send_text(&format!(r#"{{"type":"subscribe","topic":"catalog","pad":"{}"}}"#, "x".repeat(20_000))).await;
    assert_eq!(code(ws.next().await), ErrorCode::TooLarge);
    ws.send_binary(vec![1, 2, 3]).await;
    assert_eq!(code(ws.next().await), ErrorCode::BadRequest);
    ws.send_text(r#"{"type":"subscribe","topic":"orders:1"}"#).await;
    assert_eq!(code(ws.next().await), ErrorCode::Forbidden);
    ws.send_text(r#"{"type":"subscribe","topic":"order:1"}"#).await;
    assert_eq!(code(ws.next().await), ErrorCode::Forbidden);

    ws.assert_alive().await;
    let (_, products) = app.catalog_snapshot(&mut ws).await;
    assert!(!products.is_empty(), "subscriptions still work after errors");
}

#[tokio::test]
async fn an_error_on_one_topic_leaves_other_subscriptions_flowing() {
    let app = spawn_app().await;
    let mut ws = app.ws().await;
    app.catalog_snapshot(&mut ws).await;
    ws.send_text(r#"{"type":"subscribe","topic":"orders:2"}"#).await;
    assert!(matches!(ws.next().await, ServerMsg::Error { code: ErrorCode::Forbidden, .. }));
    app.outside_sql("UPDATE products SET name = 'Renamed Kettle' WHERE id = 5").await;
    let (topic, _, p) = changed_product(&ws.next().await);
    assert_eq!((topic, p.name.as_str()), (Topic::Catalog, "Renamed Kettle"));
}

#[tokio::test]
async fn a_flood_of_messages_is_rate_limited_without_closing_the_socket() {
    let app = spawn_app().await;
    let mut ws = app.ws().await;
    for _ in 0..150 {
        ws.send(&ClientMsg::Ping).await;
    }
    let mut limited = 0;
    while let Some(msg) = ws.next_within(Duration::from_millis(300)).await {
        if matches!(msg, ServerMsg::Error { code: ErrorCode::RateLimited, .. }) {
            limited += 1;
        }
    }
    assert!(limited > 0, "some of 150 instant pings are refused");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    ws.assert_alive().await;
}

#[tokio::test]
async fn a_websocket_from_a_foreign_origin_is_refused_with_403() {
    let app = spawn_app().await;
    match app.ws_with_origin(Some("http://evil.example")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        Err(other) => panic!("expected an HTTP 403, got {other:?}"),
        Ok(_) => panic!("a foreign origin must not get a socket"),
    }
    let same = format!("http://{}", app.address);
    assert!(app.ws_with_origin(Some(&same)).await.is_ok(), "the site's own origin is allowed");
}

#[tokio::test]
async fn a_slow_socket_is_resynced_with_a_snapshot_instead_of_buffering_forever() {
    let limits = livecart::config::Limits { socket_queue: 4, ..Default::default() };
    let app = crate::helpers::spawn_app_configured(crate::helpers::TestDb::new().await, limits, |c| c.fault_injection = true).await;
    let mut ws = app.ws().await;
    app.catalog_snapshot(&mut ws).await;
    // A socket that takes 200 ms to send each batch of frames (the feed runs on
    // a thread of its own: a socket that keeps up drains its queue as it fills).
    let r = app.http.post(app.url("/_faults/delay-frames?ms=200")).send().await.expect("fault");
    assert!(r.status().is_success(), "{}", r.status());
    // One transaction, a change to every product (27): far more than the 4-frame queue holds.
    app.outside_sql("UPDATE products SET stock = stock + 1 WHERE id <= 40").await;
    let mut frames = Vec::new();
    while let Some(msg) = ws.next_within(Duration::from_millis(800)).await {
        frames.push(msg);
    }
    let changes = frames.iter().filter(|m| matches!(m, ServerMsg::Change { .. })).count();
    assert!(changes < 27, "the backlog was not delivered frame by frame ({changes} changes)");
    let snapshot = frames.iter().rev().find_map(|m| match m {
        ServerMsg::Snapshot { data, .. } => Some(serde_json::from_str::<Vec<ProductSummary>>(data.get()).expect("summaries")),
        _ => None,
    });
    let snapshot = snapshot.expect("a re-sync snapshot");
    let expected = app.db.products_json(None).await.expect("catalog");
    let expected: Vec<ProductSummary> = serde_json::from_str(&expected).expect("summaries");
    assert_eq!(expected.len(), 27, "the demo catalog");
    assert_eq!(snapshot, expected, "the re-sync snapshot is the current catalog");
}

#[tokio::test]
async fn a_second_subscribe_to_a_followed_topic_still_sends_what_was_queued_for_the_first() {
    // A tab follows a product; a page opened later follows it too, from the
    // newer seq it was rendered at, while the socket still has a change queued
    // for the first view. That change must still reach the socket. Which the
    // server takes first, the queued frame or the subscribe, is up to its
    // scheduler: six products make missing every loss unlikely (1 in 64).
    let app =
        crate::helpers::spawn_app_configured(crate::helpers::TestDb::new().await, Limits::default(), |c| c.fault_injection = true).await;
    let mut ws = app.ws().await;
    // Each batch of frames waits 300 ms before it is sent (after it was taken from the queue).
    let r = app.http.post(app.url("/_faults/delay-frames?ms=300")).send().await.expect("fault");
    assert!(r.status().is_success(), "{}", r.status());
    for product in 1..=6_i64 {
        let topic = Topic::Product(ProductId(product));
        ws.send(&ClientMsg::Subscribe { topic: topic.clone(), since: None }).await;
        assert!(matches!(ws.next().await, ServerMsg::Snapshot { .. }), "a snapshot first");
        // The first change is taken and held by the fault; the second waits in the queue.
        app.outside_sql(&format!("UPDATE products SET price_cents = 1001 WHERE id = {product}")).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        app.outside_sql(&format!("UPDATE products SET price_cents = 1002 WHERE id = {product}")).await;
        tokio::time::sleep(Duration::from_millis(60)).await;
        // The page was rendered with everything the feed has read.
        let health: serde_json::Value = app.http.get(app.url("/healthz")).send().await.expect("healthz").json().await.expect("json");
        let rendered = Seq(health["feed"]["seq"].as_i64().expect("the feed's seq"));
        ws.send(&ClientMsg::Subscribe { topic: topic.clone(), since: Some(rendered) }).await;
        let mut prices = Vec::new();
        while let Some(msg) = ws.next_within(Duration::from_millis(1500)).await {
            if let ServerMsg::Change { topic: t, data, .. } = msg {
                assert_eq!(t, topic);
                prices.push(serde_json::from_str::<Product>(data.get()).expect("product").summary.price.minor);
            }
        }
        assert!(prices.ends_with(&[1002]), "product {product}: the queued change reached the socket ({prices:?})");
    }
}

#[tokio::test]
async fn a_subscribe_the_server_cannot_answer_leaves_what_the_socket_follows_flowing() {
    let app =
        crate::helpers::spawn_app_configured(crate::helpers::TestDb::new().await, Limits::default(), |c| c.fault_injection = true).await;
    let mut ws = app.ws().await;
    let topic = Topic::Product(ProductId(1));
    ws.send(&ClientMsg::Subscribe { topic: topic.clone(), since: None }).await;
    let ServerMsg::Snapshot { seq, .. } = ws.next().await else { panic!("a snapshot first") };
    // A second view's subscribe fails, as when the database errs.
    let r = app.http.post(app.url("/_faults/fail-next-subscribe?topic=product:1")).send().await.expect("fault");
    assert!(r.status().is_success(), "{}", r.status());
    ws.send(&ClientMsg::Subscribe { topic: topic.clone(), since: Some(seq) }).await;
    match ws.next().await {
        ServerMsg::Error { topic: Some(t), code: ErrorCode::Unavailable, message } => {
            assert_eq!(t, "product:1");
            assert!(message.contains("try again"), "{message}");
        }
        other => panic!("expected the subscribe refused, got {other:?}"),
    }
    // The first view still hears its product.
    app.outside_sql("UPDATE products SET price_cents = 4242 WHERE id = 1").await;
    let price = |msg: ServerMsg| match msg {
        ServerMsg::Change { topic: t, data, .. } if t == topic => {
            serde_json::from_str::<Product>(data.get()).expect("product").summary.price.minor
        }
        other => panic!("expected a change of {topic}, got {other:?}"),
    };
    assert_eq!(price(ws.next().await), 4242, "the topic stayed followed");
    // Asked again, the subscribe is answered.
    ws.send(&ClientMsg::Subscribe { topic: topic.clone(), since: Some(seq) }).await;
    assert_eq!(price(ws.next().await), 4242, "the replay");
    // The fault names a real topic.
    let r = app.http.post(app.url("/_faults/fail-next-subscribe?topic=nonsense")).send().await.expect("fault");
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn a_terminated_instance_drains_and_its_clients_resume_on_another_without_missing_anything() {
    use livecart::startup::Stop;
    let a = crate::helpers::spawn_app().await;
    let b = crate::helpers::spawn_app_on(a.test_db.shared(), livecart::config::Limits::default()).await;
    let mut ws = a.ws().await;
    let (seen, _) = a.catalog_snapshot(&mut ws).await;

    a.stop(Stop::Terminate);
    // The socket is told why it is closed: a restart, so reconnect.
    let frame = ws.close_frame().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1012, "service restart: {frame:?}");
    // During the grace period the load balancer is told to stop sending traffic here.
    let health = a.http.get(a.url("/healthz")).send().await.expect("healthz while draining");
    assert_eq!(health.status(), 503);
    let body: serde_json::Value = health.json().await.expect("json");
    assert_eq!(body["status"], "draining");

    // A change while the browser is between instances; it resumes on B from what it had.
    a.outside_sql("UPDATE products SET price_cents = 3131 WHERE id = 3").await;
    let mut on_b = b.ws().await;
    on_b.send(&ClientMsg::Subscribe { topic: Topic::Catalog, since: Some(seen) }).await;
    let (topic, seq, p) = changed_product(&on_b.next().await);
    assert_eq!((topic, p.id.0, p.price.minor), (Topic::Catalog, 3, 3131));
    assert!(seq > seen);
    assert!(on_b.next_within(Duration::from_millis(300)).await.is_none(), "exactly once");

    // After the grace period A takes no new connections.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while a.http.get(a.url("/healthz")).send().await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "A still accepts connections");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
