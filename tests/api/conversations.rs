//! Order conversations: only the order's customer and staff read and write
//! them (HTTP and socket); messages and read state reach both sides live;
//! typing is passed on and never stored; history pages; resumes are exact.

use app::model::{Message, OrderId, OrderSummary};
use app::protocol::{ClientMsg, ErrorCode, Seq, ServerMsg, Topic};
use serde_json::Value;

use crate::helpers::{Shopper, WsClient, spawn_app, status_json};

async fn send(who: &Shopper, order: i64, body: &str) -> (u16, Value) {
    status_json(who.post_form("/api/send_message", &[("order", &order.to_string()), ("body", body)]).await).await
}

async fn read(who: &Shopper, order: i64) -> (u16, Value) {
    status_json(who.post_form("/api/mark_read", &[("order", &order.to_string())]).await).await
}

async fn subscribe(ws: &mut WsClient, topic: Topic) -> (Seq, Value) {
    ws.send(&ClientMsg::Subscribe { topic: topic.clone(), since: None }).await;
    match ws.next().await {
        ServerMsg::Snapshot { topic: t, seq, data } if t == topic => (seq, serde_json::from_str(data.get()).expect("json")),
        other => panic!("expected a snapshot of {topic}, got {other:?}"),
    }
}

/// The next change on `topic`, decoded (other frames are skipped).
async fn next_change<T: serde::de::DeserializeOwned>(ws: &mut WsClient, topic: &Topic) -> T {
    loop {
        if let ServerMsg::Change { topic: t, data, .. } = ws.next().await
            && t == *topic
        {
            return serde_json::from_str(data.get()).expect("change data");
        }
    }
}

#[tokio::test]
async fn only_the_customer_and_staff_converse_live_with_read_state_and_typing() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let bob = app.signed_up("bob").await;
    let visitor = app.shopper("visitor");
    let boss = app.staff("boss").await;
    let order = alice.buy(1, 1).await;
    let topic = Topic::Conversation(OrderId(order));

    // Nobody else, over HTTP or the socket.
    assert_eq!(send(&visitor, order, "Hello?").await.0, 401);
    assert_eq!(send(&bob, order, "Hello?").await.0, 404);
    let (status, _) = status_json(bob.post_form("/api/conversation", &[("order", &order.to_string())]).await).await;
    assert_eq!(status, 404, "another customer's order does not exist for them");
    assert_eq!(read(&bob, order).await.0, 404);
    for who in [&visitor, &bob] {
        let mut ws = who.ws().await;
        ws.send(&ClientMsg::Subscribe { topic: topic.clone(), since: None }).await;
        assert!(matches!(ws.next().await, ServerMsg::Error { code: ErrorCode::Forbidden, .. }), "{}", who.username);
        ws.send(&ClientMsg::Subscribe { topic: Topic::Inbox, since: None }).await;
        assert!(matches!(ws.next().await, ServerMsg::Error { code: ErrorCode::Forbidden, .. }), "{}", who.username);
    }
    assert_eq!(send(&alice, order, "   ").await.0, 422);
    assert_eq!(send(&alice, order, "Bell\u{7}").await.0, 422);
    assert_eq!(send(&alice, 999_999, "Hello?").await.0, 404);

    // The purchase is published before the sockets subscribe (else its
    // change could come first on `mine`, re-sent above the snapshot's seq).
    app.wait_for_feed().await;
    let mut customer = alice.ws().await;
    let (_, empty) = subscribe(&mut customer, topic.clone()).await;
    assert_eq!(empty, serde_json::json!([]));
    let mine = Topic::Orders(app::model::CustomerId(app.outside_scalar("SELECT id FROM users WHERE username = 'alice'").await));
    subscribe(&mut customer, mine.clone()).await;
    let mut shop = boss.ws().await;
    subscribe(&mut shop, topic.clone()).await;
    subscribe(&mut shop, Topic::Inbox).await;

    // The customer writes: both sides see it; the inbox counts it unread.
    let (status, _) = send(&alice, order, "  Where is my parcel?  ").await;
    assert_eq!(status, 200);
    let seen: Message = next_change(&mut shop, &topic).await;
    assert_eq!(
        (seen.body.as_str(), seen.from_staff, seen.author.as_str(), seen.read_at.as_deref()),
        ("Where is my parcel?", false, "alice", None)
    );
    let inboxed: OrderSummary = next_change(&mut shop, &Topic::Inbox).await;
    assert_eq!((inboxed.id.0, inboxed.conversation.unread_by_staff, inboxed.conversation.messages), (order, 1, 1));
    let own: Message = next_change(&mut customer, &topic).await;
    assert_eq!(own.id, seen.id);

    // Typing: passed on to the other side at once, never to oneself, never logged.
    let logged = app.outside_scalar("SELECT count(*) FROM change_log").await;
    customer.send(&ClientMsg::Typing { topic: topic.clone() }).await;
    loop {
        match shop.next().await {
            ServerMsg::Typing { topic: t, from_staff } => {
                assert_eq!((t, from_staff), (topic.clone(), false));
                break;
            }
            ServerMsg::Change { .. } => {}
            other => panic!("expected typing, got {other:?}"),
        }
    }
    while let Some(msg) = customer.next_within(std::time::Duration::from_millis(300)).await {
        assert!(!matches!(msg, ServerMsg::Typing { .. }), "no echo to the one typing");
    }
    assert_eq!(app.outside_scalar("SELECT count(*) FROM change_log").await, logged);
    let mut outsider = bob.ws().await;
    outsider.send(&ClientMsg::Typing { topic: topic.clone() }).await;
    assert!(matches!(outsider.next().await, ServerMsg::Error { code: ErrorCode::Forbidden, .. }));

    // Staff read it: the customer sees "read"; the inbox has nothing unread.
    assert_eq!(read(&boss, order).await, (200, serde_json::json!(1)));
    let read_now: Message = next_change(&mut customer, &topic).await;
    assert!(read_now.read_at.is_some());
    loop {
        let entry: OrderSummary = next_change(&mut shop, &Topic::Inbox).await;
        if entry.conversation.unread_by_staff == 0 {
            break;
        }
    }
    assert_eq!(read(&boss, order).await, (200, serde_json::json!(0)), "nothing new to read");

    // Staff answer: the customer's order list counts it unread until read.
    assert_eq!(send(&boss, order, "It left the warehouse this morning.").await.0, 200);
    let reply: Message = next_change(&mut customer, &topic).await;
    assert_eq!((reply.from_staff, reply.author.as_str()), (true, "The shop"), "staff names stay with the shop");
    loop {
        let summary: OrderSummary = next_change(&mut customer, &mine).await;
        if summary.conversation.unread_by_customer == 1 {
            break;
        }
    }
    // What the header's link is served: the order and its count, nothing more.
    let (status, unread) = status_json(alice.post_form("/api/my_unread", &[]).await).await;
    assert_eq!((status, unread["data"].clone()), (200, serde_json::json!([{ "order": order, "messages": 1 }])), "{unread}");
    assert_eq!(read(&alice, order).await.0, 200);
    loop {
        let summary: OrderSummary = next_change(&mut customer, &mine).await;
        if summary.conversation.unread_by_customer == 0 {
            break;
        }
    }
    // The customer sees only their own order's counts; staff see the inbox.
    let (status, unread) = status_json(alice.post_form("/api/my_unread", &[]).await).await;
    assert_eq!((status, unread["data"].as_array().map(Vec::len)), (200, Some(0)));
}

#[tokio::test]
async fn history_pages_back_and_a_resume_replays_exactly_what_was_missed() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let order = alice.buy(2, 1).await;
    let alice_id = app.outside_scalar("SELECT id FROM users WHERE username = 'alice'").await;
    let inserts: Vec<String> = (1..=120)
        .map(|i| {
            format!(
                "INSERT INTO order_messages (order_id, author_id, from_staff, body) VALUES ({order}, {alice_id}, false, 'Message {i}');"
            )
        })
        .collect();
    app.outside_sql(&inserts.join("\n")).await;
    let page = |before: Option<i64>| {
        let form: Vec<(String, String)> = match before {
            None => vec![("order".into(), order.to_string())],
            Some(b) => vec![("order".into(), order.to_string()), ("before".into(), b.to_string())],
        };
        let path = if before.is_some() { "/api/older_messages" } else { "/api/conversation" };
        let request = alice.http.post(alice.url(path)).form(&form);
        async move { status_json(request.send().await.expect("POST")).await }
    };
    let (status, first) = page(None).await;
    assert_eq!(status, 200, "{first}");
    let view = &first["data"];
    let mut bodies: Vec<String> = Vec::new();
    let mut has_older = view["has_older"].as_bool().expect("has_older");
    let mut batch: Vec<Value> = view["messages"].as_array().expect("messages").clone();
    assert_eq!(batch.len(), 50);
    assert_eq!(batch.last().map(|m| m["body"].clone()), Some(serde_json::json!("Message 120")), "the newest page first");
    loop {
        let mut texts: Vec<String> = batch.iter().map(|m| m["body"].as_str().expect("body").to_string()).collect();
        texts.append(&mut bodies);
        bodies = texts;
        if !has_older {
            break;
        }
        let before = batch[0]["id"].as_i64().expect("id");
        let (status, older) = page(Some(before)).await;
        assert_eq!(status, 200, "{older}");
        has_older = older["has_older"].as_bool().expect("has_older");
        batch = older["messages"].as_array().expect("messages").clone();
    }
    let expected: Vec<String> = (1..=120).map(|i| format!("Message {i}")).collect();
    assert_eq!(bodies, expected, "every message once, in order");

    // A page that was away resumes from its seq: the two messages written
    // meanwhile arrive once each, in order.
    let topic = Topic::Conversation(OrderId(order));
    // The 120 are published first: the resume below is to replay only what came after.
    app.wait_for_feed().await;
    let mut ws = alice.ws().await;
    let (seq, _) = subscribe(&mut ws, topic.clone()).await;
    ws.close().await;
    assert_eq!(send(&alice, order, "Are you there?").await.0, 200);
    app.outside_sql(&format!("INSERT INTO order_messages (order_id, author_id, from_staff, body) VALUES ({order}, NULL, true, 'Yes.')"))
        .await;
    app.wait_for_feed().await;
    let mut back = alice.ws().await;
    back.send(&ClientMsg::Subscribe { topic: topic.clone(), since: Some(seq) }).await;
    let mut replayed = Vec::new();
    while let Some(msg) = back.next_within(std::time::Duration::from_millis(500)).await {
        if let ServerMsg::Change { data, .. } = msg {
            let m: Message = serde_json::from_str(data.get()).expect("message");
            replayed.push((m.body, m.author));
        }
    }
    assert_eq!(replayed, [("Are you there?".to_string(), "alice".to_string()), ("Yes.".to_string(), "The shop".to_string())]);
}

#[tokio::test]
async fn other_systems_read_an_order_s_conversation_and_write_as_the_shop() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let order = alice.buy(3, 1).await;
    assert_eq!(send(&alice, order, "Can you gift-wrap it?").await.0, 200);
    let (read, write) = (app.api_token("read").await, app.api_token("write").await);
    let path = format!("/orders/{order}/messages");
    let (status, list) = status_json(app.api(reqwest::Method::GET, &path, &read).send().await.expect("GET")).await;
    assert_eq!((status, list[0]["body"].as_str(), list[0]["author"].as_str()), (200, Some("Can you gift-wrap it?"), Some("alice")));
    assert_eq!(app.api(reqwest::Method::GET, "/orders/999999/messages", &read).send().await.expect("GET").status(), 404);
    let post = |token: &str, body: Value| app.api(reqwest::Method::POST, &path, token).json(&body).send();
    assert_eq!(post(&read, serde_json::json!({"body": "Yes."})).await.expect("POST").status(), 403);
    let (status, body) = status_json(post(&write, serde_json::json!({"body": "  "})).await.expect("POST")).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("body")), "{body}");
    // The earlier message is published before the socket subscribes, so the
    // next change is the shop's answer (not the earlier one, re-sent above the
    // snapshot's seq by a feed that had not reached it yet).
    app.wait_for_feed().await;
    let mut ws = alice.ws().await;
    let topic = Topic::Conversation(OrderId(order));
    subscribe(&mut ws, topic.clone()).await;
    let (status, body) = status_json(post(&write, serde_json::json!({"body": "Yes, with a red ribbon."})).await.expect("POST")).await;
    assert_eq!((status, body["from_staff"].as_bool(), body["author"].as_str()), (201, Some(true), Some("The shop")), "{body}");
    let seen: Message = next_change(&mut ws, &topic).await;
    assert_eq!(seen.body, "Yes, with a red ribbon.");
    let unread = app.outside_scalar(&format!("SELECT unread_by_customer FROM orders WHERE id = {order}")).await;
    assert_eq!(unread, 1, "unread for the customer until they open the order");
}
