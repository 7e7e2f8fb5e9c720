//! Presence: counts of people on a product page, of carts holding a product,
//! and the staff in the console, from sockets only (no rows), live as they come and go, across instances.

use std::time::Duration;

use app::model::ProductId;
use app::protocol::{ClientMsg, ErrorCode, PresenceFigure, ServerMsg, Topic};

use crate::helpers::{TestApp, WsClient, spawn_app, spawn_app_on};

/// Follow `topic`: its snapshot is the figure now.
async fn follow(ws: &mut WsClient, topic: &Topic) -> PresenceFigure {
    ws.send(&ClientMsg::Subscribe { topic: topic.clone(), since: None }).await;
    loop {
        match ws.next().await {
            ServerMsg::Snapshot { topic: t, data, .. } if t == *topic => {
                return serde_json::from_str(data.get()).expect("a presence figure");
            }
            ServerMsg::Error { message, .. } => panic!("refused: {message}"),
            _ => {}
        }
    }
}

/// The next presence figure on `topic` within `wait`.
async fn next_figure(ws: &mut WsClient, topic: &Topic, wait: Duration) -> Option<PresenceFigure> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(tokio::time::Instant::now())?;
        match ws.next_within(left).await? {
            ServerMsg::Presence { topic: t, count, carts, names } if t == *topic => return Some(PresenceFigure { count, carts, names }),
            ServerMsg::Error { message, .. } => panic!("refused: {message}"),
            _ => {}
        }
    }
}

/// Wait until the figure on `topic` is `count`.
async fn until_count(ws: &mut WsClient, topic: &Topic, count: u64, wait: Duration) {
    until(ws, topic, |f| f.count == count, wait).await;
}

/// Wait until the figure on `topic` says how many carts hold its product.
async fn until_carts(ws: &mut WsClient, topic: &Topic, carts: u64, wait: Duration) {
    until(ws, topic, |f| f.carts == carts, wait).await;
}

async fn until(ws: &mut WsClient, topic: &Topic, done: impl Fn(&PresenceFigure) -> bool, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(tokio::time::Instant::now()).unwrap_or_default();
        match next_figure(ws, topic, left).await {
            Some(f) if done(&f) => return,
            Some(_) => {}
            None => panic!("{topic} never reached the figure awaited"),
        }
    }
}

fn looking(count: u64) -> PresenceFigure {
    PresenceFigure { count, carts: 0, names: Vec::new() }
}

fn staff(names: &[&str]) -> PresenceFigure {
    PresenceFigure { count: names.len() as u64, carts: 0, names: names.iter().map(ToString::to_string).collect() }
}

#[tokio::test]
async fn people_on_a_product_page_are_counted_live_and_nothing_is_written() {
    let app = spawn_app().await;
    let topic = Topic::Presence(ProductId(1));
    let logged = app.outside_scalar("SELECT count(*) FROM change_log").await;
    let mut first = app.ws().await;
    assert_eq!(follow(&mut first, &topic).await, looking(1));
    let mut second = app.ws().await;
    assert_eq!(follow(&mut second, &topic).await.count, 2, "counted at once, itself included");
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
    assert_eq!(follow(&mut elsewhere, &Topic::Presence(ProductId(2))).await.count, 1);
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
    assert_eq!(follow(&mut b, &Topic::Staff).await, staff(&["boss"]));
    let mut c = carol.ws().await;
    assert_eq!(follow(&mut c, &Topic::Staff).await, staff(&["boss", "carol"]));
    until_count(&mut b, &Topic::Staff, 2, Duration::from_secs(3)).await;
    c.close().await;
    until_count(&mut b, &Topic::Staff, 1, Duration::from_secs(3)).await;
    // Shoppers on a product page are counted, never named.
    let mut watching = alice.ws().await;
    assert_eq!(follow(&mut watching, &Topic::Presence(ProductId(3))).await, looking(1));
}

#[tokio::test]
async fn carts_holding_a_product_are_counted_for_its_page_and_for_each_other() {
    let app = spawn_app().await;
    let (page, carts) = (Topic::Presence(ProductId(1)), Topic::Carts(ProductId(1)));
    let logged = app.outside_scalar("SELECT count(*) FROM change_log").await;
    let mut looking_at = app.ws().await;
    assert_eq!(follow(&mut looking_at, &page).await, looking(1));
    // Two tabs whose carts hold product 1 (a shopper signed in or not).
    let alice = app.signed_up("alice").await;
    let mut holders = vec![alice.ws().await, app.ws().await];
    assert_eq!(follow(&mut holders[0], &carts).await, looking(1));
    assert_eq!(follow(&mut holders[1], &carts).await, looking(2), "a cart counts itself");
    until_carts(&mut looking_at, &page, 2, Duration::from_secs(3)).await;
    until_count(&mut holders[0], &carts, 2, Duration::from_secs(3)).await;
    // A page opened now hears both figures at once.
    let mut another = app.ws().await;
    assert_eq!(follow(&mut another, &page).await, PresenceFigure { count: 2, carts: 2, names: Vec::new() });
    // Emptying a cart (or closing its tab) takes it out.
    holders[1].send(&ClientMsg::Unsubscribe { topic: carts.clone() }).await;
    until_carts(&mut looking_at, &page, 1, Duration::from_secs(3)).await;
    holders.remove(0).close().await;
    until_carts(&mut looking_at, &page, 0, Duration::from_secs(3)).await;
    // Other products are counted apart. A cart may hold a product taken off
    // sale since: still followed (the page must not say it is gone).
    assert_eq!(follow(&mut holders[0], &Topic::Carts(ProductId(2))).await, looking(1));
    app.outside_sql("UPDATE products SET archived_at = CURRENT_TIMESTAMP WHERE id = 3").await;
    assert_eq!(follow(&mut holders[0], &Topic::Carts(ProductId(3))).await, looking(1));
    assert_eq!(app.outside_scalar("SELECT count(*) FROM change_log").await, logged + 1, "carts are counted, never written");

    // A full cart (50 products) is followed beside what the page shows, and no more.
    let mut full = app.ws().await;
    for id in 1..=50 {
        follow(&mut full, &Topic::Carts(ProductId(id))).await;
    }
    full.send(&ClientMsg::Subscribe { topic: Topic::Carts(ProductId(51)), since: None }).await;
    assert!(matches!(full.next().await, ServerMsg::Error { code: ErrorCode::TooLarge, .. }));
    assert_eq!(follow(&mut full, &Topic::Presence(ProductId(1))).await.carts, 1, "the page's own topics still fit");
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
    // A cart on B holding the product counts on A's product page.
    let mut cart_on_b = b.ws().await;
    follow(&mut cart_on_b, &Topic::Carts(ProductId(1))).await;
    until_carts(&mut on_a, &topic, 1, Duration::from_secs(5)).await;
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
    until(&mut on_a, &topic, |f| *f == looking(1), Duration::from_secs(15)).await;
}
