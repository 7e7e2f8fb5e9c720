//! Product questions: who may ask, vote, answer, delete and hide names; what
//! every viewer sees live; votes counted once under concurrency; outside
//! writers and resumes.

use app::model::{ProductId, ProductSummary, Question};
use app::protocol::{ClientMsg, ErrorCode, Seq, ServerMsg, Topic};
use app::server::auth::SignInLimits;
use livecart::config::Limits;
use serde_json::Value;

use crate::helpers::{Shopper, TestApp, WsClient, spawn_app, spawn_app_with, status_json};

async fn ask(who: &Shopper, product: i64, body: &str) -> (u16, Value) {
    status_json(who.post_form("/api/ask_question", &[("product", &product.to_string()), ("body", body)]).await).await
}

async fn vote(who: &Shopper, question: i64, up: bool) -> (u16, Value) {
    status_json(who.post_form("/api/vote_question", &[("question", &question.to_string()), ("up", &up.to_string())]).await).await
}

async fn answer(who: &Shopper, question: i64, text: &str) -> (u16, Value) {
    status_json(who.post_form("/api/admin/answer_question", &[("question", &question.to_string()), ("answer", text)]).await).await
}

/// The board as the product page gets it.
async fn board(who: &Shopper, product: i64) -> Value {
    let (status, body) = status_json(who.post_form("/api/product_questions", &[("product", &product.to_string())]).await).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

/// Subscribe and return the snapshot's seq and questions.
async fn follow(ws: &mut WsClient, topic: Topic) -> (Seq, Vec<Question>) {
    ws.send(&ClientMsg::Subscribe { topic: topic.clone(), since: None }).await;
    match ws.next().await {
        ServerMsg::Snapshot { topic: t, seq, data } if t == topic => (seq, serde_json::from_str(data.get()).expect("questions")),
        other => panic!("expected a snapshot of {topic}, got {other:?}"),
    }
}

/// The next frame on `topic` (frames of other topics are skipped).
async fn next_on(ws: &mut WsClient, topic: &Topic) -> ServerMsg {
    loop {
        let msg = ws.next().await;
        match &msg {
            ServerMsg::Change { topic: t, .. } | ServerMsg::Removed { topic: t, .. } if t == topic => return msg,
            _ => {}
        }
    }
}

async fn next_question(ws: &mut WsClient, topic: &Topic) -> Question {
    match next_on(ws, topic).await {
        ServerMsg::Change { data, .. } => serde_json::from_str(data.get()).expect("a Question"),
        other => panic!("expected a question, got {other:?}"),
    }
}

async fn product(app: &TestApp, id: i64) -> ProductSummary {
    let json = app.db.product(ProductId(id)).await.expect("read").expect("exists");
    json.summary().expect("summary")
}

#[tokio::test]
async fn questions_are_asked_voted_answered_hidden_and_deleted_live_for_every_viewer() {
    let app = spawn_app().await;
    let visitor = app.shopper("visitor");
    let alice = app.signed_up("alice").await;
    let bob = app.signed_up("bob").await;
    let boss = app.staff("boss").await;
    let topic = Topic::Questions(ProductId(1));
    let mut watcher = app.ws().await;
    let (_, empty) = follow(&mut watcher, topic.clone()).await;
    assert!(empty.is_empty());

    // Who may ask, and what.
    assert_eq!(ask(&visitor, 1, "Does it come with a case?").await.0, 401);
    let (status, body) = ask(&alice, 1, "Hm?").await;
    assert_eq!((status, body["error"]["Validation"]["field"].as_str()), (422, Some("body")), "{body}");
    assert_eq!(ask(&alice, 9999, "Does it come with a case?").await.0, 404);
    assert_eq!(ask(&alice, 1, "Bad\u{0}byte in it?").await.0, 422);
    let (status, first) = ask(&alice, 1, "  Does it come with a case?  ").await;
    assert_eq!(status, 200, "{first}");
    let first = first.as_i64().expect("question id");
    let shown = next_question(&mut watcher, &topic).await;
    assert_eq!((shown.id.0, shown.body.as_str(), shown.author.as_str(), shown.votes), (first, "Does it come with a case?", "alice", 1));
    assert_eq!(shown.answer, None);

    // Votes: once per account, idempotent, taken back.
    assert_eq!(vote(&visitor, first, true).await.0, 401);
    let (status, state) = vote(&bob, first, true).await;
    assert_eq!((status, state["votes"].as_i64(), state["voted"].as_bool()), (200, Some(2), Some(true)));
    assert_eq!(next_question(&mut watcher, &topic).await.votes, 2);
    assert_eq!(vote(&bob, first, true).await.1["votes"].as_i64(), Some(2), "voting twice counts once");
    assert_eq!(vote(&alice, first, true).await.1["votes"].as_i64(), Some(2), "the author's vote counts from the start");
    assert_eq!(vote(&bob, 999_999, true).await.0, 404);

    // A second question overtakes the first once it has more votes.
    let second = ask(&bob, 1, "Is the cable detachable?").await.1.as_i64().expect("id");
    assert_eq!(next_question(&mut watcher, &topic).await.id.0, second);
    let carol = app.signed_up("carol").await;
    vote(&carol, second, true).await;
    vote(&alice, second, true).await;
    // Two votes close together may arrive as one frame with the later count.
    while next_question(&mut watcher, &topic).await.votes != 3 {}
    let order: Vec<i64> =
        board(&bob, 1).await["questions"].as_array().expect("list").iter().map(|q| q["id"].as_i64().expect("id")).collect();
    assert_eq!(order, [second, first], "most votes first");
    let mine: Vec<i64> = board(&bob, 1).await["my_votes"].as_array().expect("votes").iter().filter_map(Value::as_i64).collect();
    assert_eq!(mine, [first, second]);
    let summary = product(&app, 1).await;
    assert_eq!((summary.questions, summary.answered), (2, 0));

    // Answers: staff only, plain text; the card counts follow.
    let mut card = app.ws().await;
    card.send(&ClientMsg::Subscribe { topic: Topic::Card(ProductId(1)), since: None }).await;
    let _snapshot = card.next().await;
    assert_eq!(answer(&alice, first, "Yes.").await.0, 403);
    assert_eq!(answer(&visitor, first, "Yes.").await.0, 401);
    assert_eq!(answer(&boss, first, "Yes\u{1b}[31m").await.0, 422);
    assert_eq!(answer(&boss, 999_999, "Yes.").await.0, 404);
    assert_eq!(answer(&boss, first, "Yes, a hard case in the box.").await.0, 200);
    // (A vote's fact read after its frame went out may still repeat that state first.)
    let answered = loop {
        let q = next_question(&mut watcher, &topic).await;
        if q.id.0 == first && q.answer.is_some() {
            break q;
        }
    };
    assert_eq!(answered.answer.as_deref(), Some("Yes, a hard case in the box."));
    assert!(answered.answered_at.is_some());
    match next_on(&mut card, &Topic::Card(ProductId(1))).await {
        ServerMsg::Change { data, .. } => {
            let p: ProductSummary = serde_json::from_str(data.get()).expect("summary");
            assert_eq!((p.questions, p.answered), (2, 1));
        }
        other => panic!("expected the card, got {other:?}"),
    }

    // Names: a display name, hidden by staff, shown again.
    let (status, _) = status_json(alice.post_form("/api/set_display_name", &[("display_name", "Ann L.")]).await).await;
    assert_eq!(status, 200);
    assert_eq!(next_question(&mut watcher, &topic).await.author, "Ann L.");
    assert_eq!(status_json(alice.post_form("/api/set_display_name", &[("display_name", "Two\nlines")]).await).await.0, 422);
    let hide = |who: &Shopper, hidden: bool| {
        let form = [("question".to_string(), first.to_string()), ("hidden".to_string(), hidden.to_string())];
        let request = who.http.post(who.url("/api/admin/hide_author")).form(&form);
        async move { request.send().await.expect("POST").status().as_u16() }
    };
    assert_eq!(hide(&alice, true).await, 403);
    assert_eq!(hide(&boss, true).await, 200);
    let hidden = next_question(&mut watcher, &topic).await;
    assert_eq!((hidden.author.as_str(), hidden.author_hidden), ("A shopper", true));
    assert_eq!(hide(&boss, false).await, 200);
    assert_eq!(next_question(&mut watcher, &topic).await.author, "Ann L.");

    // Staff may ask too, signed as the shop (customers never see staff names);
    // nobody may take the shop's name.
    let (status, staff_question) = ask(&boss, 1, "Would you like this in blue as well?").await;
    assert_eq!(status, 200);
    let signed = next_question(&mut watcher, &topic).await;
    assert_eq!((signed.id.0, signed.author.as_str()), (staff_question.as_i64().expect("id"), "The shop"));
    assert_eq!(status_json(bob.post_form("/api/set_display_name", &[("display_name", "the shop")]).await).await.0, 422);
    let delete_staff_question =
        boss.post_form("/api/admin/delete_question", &[("question", &staff_question.to_string())]).await.status().as_u16();
    assert_eq!(delete_staff_question, 200);
    assert!(matches!(next_on(&mut watcher, &topic).await, ServerMsg::Removed { .. }));

    // The staff queue: staff only, unanswered first.
    for who in [&visitor, &alice] {
        let mut ws = who.ws().await;
        ws.send(&ClientMsg::Subscribe { topic: Topic::QuestionQueue, since: None }).await;
        assert!(matches!(ws.next().await, ServerMsg::Error { code: ErrorCode::Forbidden, .. }), "{}", who.username);
    }
    let mut queue = boss.ws().await;
    let (_, queued) = follow(&mut queue, Topic::QuestionQueue).await;
    assert_eq!(queued.iter().map(|q| q.id.0).collect::<Vec<_>>(), [second, first], "unanswered first");

    // Deleting: gone for everyone, counts follow.
    async fn delete(who: &Shopper, question: i64) -> u16 {
        who.post_form("/api/admin/delete_question", &[("question", &question.to_string())]).await.status().as_u16()
    }
    assert_eq!(delete(&bob, second).await, 403);
    assert_eq!(delete(&boss, second).await, 200);
    assert!(matches!(next_on(&mut watcher, &topic).await, ServerMsg::Removed { id, .. } if id == second));
    assert!(matches!(next_on(&mut queue, &Topic::QuestionQueue).await, ServerMsg::Removed { id, .. } if id == second));
    assert_eq!(delete(&boss, second).await, 404);
    let summary = product(&app, 1).await;
    assert_eq!((summary.questions, summary.answered), (1, 1));
}

#[tokio::test]
async fn votes_cast_at_once_by_many_accounts_count_each_once() {
    let app = spawn_app().await;
    let asker = app.signed_up("asker").await;
    let question = ask(&asker, 2, "Is it dishwasher safe?").await.1.as_i64().expect("id");
    let mut voters = Vec::new();
    for i in 0..12 {
        voters.push(app.signed_up(&format!("voter{i}")).await);
    }
    // Every voter votes twice at once: each counts once.
    let all = voters.iter().flat_map(|v| [vote(v, question, true), vote(v, question, true)]);
    for (status, _) in futures::future::join_all(all).await {
        assert_eq!(status, 200);
    }
    let count = format!("SELECT votes FROM questions WHERE id = {question}");
    assert_eq!(app.outside_scalar(&count).await, 13);
    let rows = app.outside_scalar(&format!("SELECT count(*) FROM question_votes WHERE question_id = {question}")).await;
    assert_eq!(rows, 13, "the count is the number of votes");
    let all = voters.iter().map(|v| vote(v, question, false));
    futures::future::join_all(all).await;
    assert_eq!(app.outside_scalar(&count).await, 1, "only the author's vote is left");
}

#[tokio::test]
async fn asking_is_limited_per_account() {
    let limits = Limits { sign_in: SignInLimits { questions_per_account: 2, ..SignInLimits::default() }, ..Limits::default() };
    let app = spawn_app_with(limits).await;
    let eager = app.signed_up("eager").await;
    for n in 0..2 {
        assert_eq!(ask(&eager, 1, &format!("Question number {n}?")).await.0, 200);
    }
    let (status, body) = ask(&eager, 1, "One question too many?").await;
    assert_eq!(status, 429, "{body}");
    assert!(body["error"]["TooManyRequests"]["retry_after_secs"].as_u64().is_some_and(|s| s > 0), "{body}");
    let other = app.signed_up("other").await;
    assert_eq!(ask(&other, 1, "Another account may ask?").await.0, 200);
    assert_eq!(app.outside_scalar("SELECT count(*) FROM questions").await, 3);
}

#[tokio::test]
async fn outside_writers_resumes_and_deleted_accounts_keep_questions_exact() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let topic = Topic::Questions(ProductId(3));
    let mut ws = app.ws().await;
    let (seq, _) = follow(&mut ws, topic.clone()).await;

    // An outside writer's question (and its vote) reach the page like any other.
    let alice_id = app.outside_scalar("SELECT id FROM users WHERE username = 'alice'").await;
    app.outside_sql(&format!("INSERT INTO questions (product_id, author_id, body) VALUES (3, {alice_id}, 'Written outside?')")).await;
    let outside = next_question(&mut ws, &topic).await;
    assert_eq!((outside.body.as_str(), outside.author.as_str(), outside.votes), ("Written outside?", "alice", 0));
    let asked = ask(&alice, 3, "Asked through the shop?").await.1.as_i64().expect("id");
    assert_eq!(next_question(&mut ws, &topic).await.id.0, asked);

    // A page that was away resumes from its seq and gets both, once each.
    let mut back = app.ws().await;
    back.send(&ClientMsg::Subscribe { topic: topic.clone(), since: Some(seq) }).await;
    let mut replayed = Vec::new();
    while let Some(msg) = back.next_within(std::time::Duration::from_millis(500)).await {
        if let ServerMsg::Change { data, .. } = msg {
            replayed.push(serde_json::from_str::<Question>(data.get()).expect("question").id);
        }
    }
    assert_eq!(replayed, [outside.id, app::model::QuestionId(asked)]);

    // A deleted account's questions stay, unnamed; its votes go.
    app.outside_sql(&format!("DELETE FROM users WHERE id = {alice_id}")).await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(next_question(&mut ws, &topic).await);
    }
    let last = seen.iter().rev().find(|q| q.id.0 == asked).expect("the shop's question changed");
    assert_eq!((last.author.as_str(), last.votes), ("A former shopper", 0));

    // The product deleted by an outside writer: its questions go with it, for every viewer.
    app.outside_sql("DELETE FROM order_lines WHERE product_id = 3; DELETE FROM products WHERE id = 3").await;
    let mut removed = Vec::new();
    while removed.len() < 2 {
        if let ServerMsg::Removed { id, .. } = next_on(&mut ws, &topic).await {
            removed.push(id);
        }
    }
    removed.sort_unstable();
    assert_eq!(removed, [outside.id.0, asked]);
}

#[tokio::test]
async fn other_systems_read_and_answer_questions_through_the_api() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let question = ask(&alice, 4, "Which voltage does it take?").await.1.as_i64().expect("id");
    let (read, write) = (app.api_token("read").await, app.api_token("write").await);
    let (status, list) = status_json(app.api(reqwest::Method::GET, "/products/4/questions", &read).send().await.expect("GET")).await;
    assert_eq!((status, list[0]["id"].as_i64(), list[0]["author"].as_str()), (200, Some(question), Some("alice")), "{list}");
    let (status, queue) = status_json(app.api(reqwest::Method::GET, "/questions", &read).send().await.expect("GET")).await;
    assert_eq!((status, queue.as_array().map(Vec::len)), (200, Some(1)));
    assert_eq!(app.api(reqwest::Method::GET, "/products/9999/questions", &read).send().await.expect("GET").status(), 404);

    let put =
        |token: &str, id: i64, body: Value| app.api(reqwest::Method::PUT, &format!("/questions/{id}/answer"), token).json(&body).send();
    assert_eq!(put(&read, question, serde_json::json!({"answer": "230 V."})).await.expect("PUT").status(), 403);
    let (status, body) = status_json(put(&write, question, serde_json::json!({"answer": "x".repeat(2001)})).await.expect("PUT")).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("answer")), "{body}");
    assert_eq!(put(&write, 999_999, serde_json::json!({"answer": "230 V."})).await.expect("PUT").status(), 404);
    let mut ws = app.ws().await;
    follow(&mut ws, Topic::Questions(ProductId(4))).await;
    let (status, body) = status_json(put(&write, question, serde_json::json!({"answer": "230 V, 50 Hz."})).await.expect("PUT")).await;
    assert_eq!((status, body["answer"].as_str()), (200, Some("230 V, 50 Hz.")), "{body}");
    assert_eq!(next_question(&mut ws, &Topic::Questions(ProductId(4))).await.answer.as_deref(), Some("230 V, 50 Hz."));
    // An empty answer takes it back.
    let (status, body) = status_json(put(&write, question, serde_json::json!({"answer": ""})).await.expect("PUT")).await;
    assert_eq!((status, body["answer"].is_null()), (200, true), "{body}");
    assert_eq!(product(&app, 4).await.answered, 0);
}
