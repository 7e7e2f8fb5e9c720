//! Presence: counts of people on a product page and the staff in the console,
//! from sockets only (no rows), live as they come and go, across instances.

use std::time::Duration;

use app::model::ProductId;
use app::protocol::{ClientMsg, ErrorCode, ServerMsg, Topic};

use crate::helpers::{TestApp, WsClient, spawn_app, spawn_app_on};

/// Follow `topic`: its snapshot is the figure now.
async fn follow(ws: &mut WsClient, topic: &Topic) -> (u64, Vec<String>) {
    ws.send(&ClientMsg::Subscribe { topic: topic.clone(), since: None }).await;
    loop {
        match ws.next().await {
            ServerMsg::Snapshot { topic: t, data, .. } if t == *topic => {
                let figure: app::protocol::PresenceFigure = serde_json::from_str(data.get()).expect("a presence figure");
                return (figure.count, figure.names);
            }
            ServerMsg::Error { message, .. } => panic!("refused: {message}"),
            _ => {}
        }
    }
}

/// The next presence figure on `topic` within `wait`.
async fn next_figure(ws: &mut WsClient, topic: &Topic, wait: Duration) -> Option<(u64, Vec<String>)> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(tokio::time::Instant::now())?;
        match ws.next_within(left).await? {
            ServerMsg::Presence { topic: t, count, names } if t == *topic => return Some((count, names)),
            ServerMsg::Error { message, .. } => panic!("refused: {message}"),
            _ => {}
        }
    }
}

/// Wait until the figure on `topic` is `count`.
async fn until_count(ws: &mut WsClient, topic: &Topic, count: u64, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(tokio::time::Instant::now()).unwrap_or_default();
        match next_figure(ws, topic, left).await {
            Some((n, _)) if n == count => return,
            Some(_) => {}
            None => panic!("{topic} never reached {count}"),
        }
    }
}

#[tokio::test]
async fn people_on_a_product_page_are_counted_live_and_nothing_is_written() {
    let app = spawn_app().await;
    let topic = Topic::Presence(ProductId(1));
    let logged = app.outside_scalar("SELECT count(*) FROM change_log").await;
    let mut first = app.ws().await;
    assert_eq!(follow(&mut first, &topic).await, (1, Vec::new()));
    let mut second = app.ws().await;
    assert_eq!(follow(&mut second, &topic).await.0, 2, "counted at once, itself included");
    until_count(&mut first, &topic, 2, Duration::from_secs(3)).await;
    let mut others = Vec::new();
    for _ in 0..3 {
        let mut ws = app.ws().await;
        follow(&mut ws, &topic).await;
        others.push(ws);
    }
    until_count(&mut first, &topic, 5, Duration::from_secs(3)).await;
    // Leaving (closing the tab, or the page) counts too.
    second.close().await;
    others.pop().expect("a socket").close().await;
    let mut last = others.pop().expect("a socket");
    last.send(&ClientMsg::Unsubscribe { topic: topic.clone() }).await;
    until_count(&mut first, &topic, 2, Duration::from_secs(3)).await;
    // Another product's page is counted apart; an unknown product is refused.
    let mut elsewhere = app.ws().await;
    assert_eq!(follow(&mut elsewhere, &Topic::Presence(ProductId(2))).await.0, 1);
    elsewhere.send(&ClientMsg::Subscribe { topic: Topic::Presence(ProductId(99_999)), since: None }).await;
    assert!(matches!(elsewhere.next().await, ServerMsg::Error { code: ErrorCode::UnknownTopic, .. }));
    assert_eq!(app.outside_scalar("SELECT count(*) FROM change_log").await, logged, "presence writes no row");
}

#[tokio::test]
async fn staff_see_who_else_is_in_the_console_and_shoppers_cannot() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let mut shopper = alice.ws().await;
    shopper.send(&ClientMsg::Subscribe { topic: Topic::Staff, since: None }).await;
    assert!(matches!(shopper.next().await, ServerMsg::Error { code: ErrorCode::Forbidden, .. }));
    let boss = app.staff("boss").await;
    let carol = app.staff("carol").await;
    let mut b = boss.ws().await;
    assert_eq!(follow(&mut b, &Topic::Staff).await, (1, vec!["boss".to_string()]));
    let mut c = carol.ws().await;
    assert_eq!(follow(&mut c, &Topic::Staff).await, (2, vec!["boss".to_string(), "carol".to_string()]));
    until_count(&mut b, &Topic::Staff, 2, Duration::from_secs(3)).await;
    c.close().await;
    until_count(&mut b, &Topic::Staff, 1, Duration::from_secs(3)).await;
    // Shoppers on a product page are counted, never named.
    let mut watching = alice.ws().await;
    assert_eq!(follow(&mut watching, &Topic::Presence(ProductId(3))).await, (1, Vec::new()));
}

/// Two instances on one PostgreSQL database count each other's sockets; an
/// instance that stops is forgotten within seconds.
#[tokio::test]
async fn postgres_only_presence_spans_instances_and_forgets_one_that_stops() {
    let a = spawn_app().await;
    assert!(a.test_db.is_postgres(), "this test needs TEST_DATABASE_URL (a PostgreSQL server)");
    let b: TestApp = spawn_app_on(a.test_db.shared(), livecart::config::Limits::default()).await;
    let topic = Topic::Presence(ProductId(1));
    let mut on_a = a.ws().await;
    follow(&mut on_a, &topic).await;
    let mut on_b = Vec::new();
    for _ in 0..2 {
        let mut ws = b.ws().await;
        follow(&mut ws, &topic).await;
        on_b.push(ws);
    }
    until_count(&mut on_a, &topic, 3, Duration::from_secs(5)).await;
    until_count(&mut on_b[0], &topic, 3, Duration::from_secs(5)).await;
    // Typing in a conversation reaches its followers on the other instance.
    let alice = a.signed_up("alice").await;
    let order = alice.buy(2, 1).await;
    let boss = b.staff("boss").await;
    let conversation = Topic::Conversation(app::model::OrderId(order));
    let mut customer = alice.ws().await;
    customer.send(&ClientMsg::Subscribe { topic: conversation.clone(), since: None }).await;
    assert!(matches!(customer.next().await, ServerMsg::Snapshot { .. }));
    let mut shop = boss.ws().await;
    shop.send(&ClientMsg::Subscribe { topic: conversation.clone(), since: None }).await;
    assert!(matches!(shop.next().await, ServerMsg::Snapshot { .. }));
    shop.send(&ClientMsg::Typing { topic: conversation.clone() }).await;
    loop {
        match customer.next_within(Duration::from_secs(5)).await {
            Some(ServerMsg::Typing { topic, from_staff }) => {
                assert_eq!((topic, from_staff), (conversation.clone(), true));
                break;
            }
            Some(_) => {}
            None => panic!("typing on B never reached the customer on A"),
        }
    }

    // B stops without a word (its sockets go with it): A forgets it.
    b.stop(livecart::startup::Stop::Interrupt);
    until_count(&mut on_a, &topic, 1, Duration::from_secs(15)).await;
}
