use crate::helpers::{PASSWORD, spawn_app};

#[tokio::test]
async fn registering_signs_in_with_a_safe_cookie_and_login_issues_a_fresh_session_id() {
    let app = spawn_app().await;
    let ann = app.shopper("ann");
    let r = ann.post_form("/api/register", &[("username", "ann"), ("password", PASSWORD)]).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    let set_cookie: Vec<String> = r.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok().map(str::to_string)).collect();
    let cookie = set_cookie.iter().find(|c| c.starts_with("livecart_session=")).expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert_eq!(ann.me().await.expect("signed in")["username"], "ann");
    let first = ann.session_cookie().expect("cookie");

    let r = ann.login(PASSWORD).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    let second = ann.session_cookie().expect("cookie");
    assert_ne!(first, second, "a new session id at login");

    // The old id is dead: a client presenting it is not signed in.
    let stale = app.shopper("stale");
    stale.jar.add_cookie_str(&first, &ann.url("/").parse().expect("url"));
    assert!(stale.me().await.is_none(), "the pre-login session id no longer works");

    // Logout ends the session on the server: the id it had is dead too.
    let r = ann.post_form("/api/logout", &[]).await;
    assert!(r.status().is_success() || r.status().is_redirection());
    assert!(ann.me().await.is_none());
    let replay = app.shopper("replay");
    replay.jar.add_cookie_str(&second, &ann.url("/").parse().expect("url"));
    assert!(replay.me().await.is_none(), "a logged-out session id is dead");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let app = spawn_app().await;
    app.signed_up("bob").await;
    let wrong = app.shopper("bob").login("not the password").await;
    let (s1, b1) = (wrong.status(), wrong.text().await.expect("body"));
    let unknown = app.shopper("nobody-here").login("not the password").await;
    let (s2, b2) = (unknown.status(), unknown.text().await.expect("body"));
    assert_eq!(s1, 401);
    assert_eq!((s1, &b1), (s2, &b2), "no username enumeration");
    assert!(b1.contains("wrong username or password"), "{b1}");
}

#[tokio::test]
async fn bad_registrations_are_refused_with_the_field_that_is_wrong() {
    let app = spawn_app().await;
    app.signed_up("carol").await;
    let long = "x".repeat(300);
    let cases: [(&str, &str, &str); 5] = [
        ("carol", PASSWORD, "that username is taken"),
        ("CAROL", PASSWORD, "that username is taken"),
        ("al", PASSWORD, "3 to 40"),
        ("dave", "short", "at least 8"),
        ("erin", &long, "at most 256"),
    ];
    for (username, password, expected) in cases {
        let r = app.shopper(username).post_form("/api/register", &[("username", username), ("password", password)]).await;
        assert_eq!(r.status(), 422, "{username}");
        let body = r.text().await.expect("body");
        assert!(body.contains(expected), "{username}: {body}");
    }
}

#[tokio::test]
async fn repeated_failed_logins_are_rate_limited_with_a_clear_message() {
    let app = spawn_app().await;
    app.signed_up("frank").await;
    let attacker = app.shopper("frank");
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(attacker.login("guess-guess").await.status().as_u16());
    }
    assert!(statuses[..10].iter().all(|s| *s == 401), "{statuses:?}");
    let limited = attacker.login("guess-guess").await;
    assert_eq!(limited.status(), 429);
    assert!(limited.text().await.expect("body").contains("try again in"));
}

#[tokio::test]
async fn cross_site_posts_to_login_and_checkout_are_refused() {
    let app = spawn_app().await;
    let gina = app.signed_up("gina").await;
    for path in ["/api/login", "/api/checkout", "/api/logout", "/api/register"] {
        let r = gina.http.post(gina.url(path)).header("origin", "https://evil.example").body("{}").send().await.expect("POST");
        assert_eq!(r.status(), 403, "{path}");
        let r = gina.http.post(gina.url(path)).header("sec-fetch-site", "cross-site").body("{}").send().await.expect("POST");
        assert_eq!(r.status(), 403, "{path}");
    }
    assert!(gina.me().await.is_some(), "still signed in: nothing changed");
}

#[tokio::test]
async fn state_changing_server_functions_do_not_answer_get() {
    let app = spawn_app().await;
    for path in ["/api/login", "/api/logout", "/api/checkout", "/api/register"] {
        let r = app.http.get(app.url(path)).send().await.expect("GET");
        assert!(r.status() == 405 || r.status() == 404, "{path}: {}", r.status());
    }
}

#[tokio::test]
async fn sign_in_works_from_a_plain_html_form_without_wasm() {
    let app = spawn_app().await;
    app.signed_up("nora").await;
    let browser = app.shopper("nora");
    let login_page = app.url("/login?next=/orders");
    let post = |password: &'static str| {
        browser
            .http
            .post(browser.url("/api/login"))
            .header("accept", "text/html")
            .header("referer", &login_page)
            .form(&[("username", "nora"), ("password", password), ("next", "/orders")])
            .send()
    };
    // A wrong password: back to the form, which now says what went wrong.
    let r = post("wrong-password").await.expect("POST");
    assert_eq!(r.status(), 302);
    let back = r.headers()["location"].to_str().expect("location").to_string();
    assert!(back.starts_with(&login_page), "{back}");
    let page = browser.http.get(&back).send().await.expect("GET").text().await.expect("html");
    assert!(page.contains("That username and password do not match"), "the error is on the page");
    // The right one: on to where the visitor was going, signed in.
    let r = post(PASSWORD).await.expect("POST");
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/orders");
    assert_eq!(browser.me().await.expect("signed in")["username"], "nora");
}

/// Days until the session row of `shopper` expires, as the database says.
async fn session_days_left(app: &crate::helpers::TestApp, shopper: &crate::helpers::Shopper) -> i64 {
    let cookie = shopper.session_cookie().expect("session cookie");
    let id = cookie.trim_start_matches("livecart_session=");
    if app.test_db.is_postgres() {
        app.outside_scalar(&format!("SELECT EXTRACT(DAY FROM expiry_date - now())::bigint FROM tower_sessions.session WHERE id = '{id}'"))
            .await
    } else {
        app.outside_scalar(&format!(
            "SELECT CAST(julianday(expiry_date) - julianday('now') AS INTEGER) FROM tower_sessions WHERE id = '{id}'"
        ))
        .await
    }
}

#[tokio::test]
async fn a_session_in_use_is_renewed_once_a_day_so_an_active_shopper_stays_signed_in() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    assert_eq!(session_days_left(&app, &ann).await, 13, "a new session lives 14 days");

    // Twelve days of shopping later (the row was last saved at sign-in), the
    // session has two days left, though ann used it all along. (Written through
    // the store: the record carries its expiry inside as well as in a column.)
    let cookie = ann.session_cookie().expect("session cookie");
    let id = cookie.trim_start_matches("livecart_session=").to_string();
    {
        use tower_sessions::SessionStore as _;
        let store = app.db.session_store();
        let sid = id.parse().expect("a session id");
        let mut record = store.load(&sid).await.expect("load").expect("the session row");
        record.expiry_date = tower_sessions::cookie::time::OffsetDateTime::now_utc() + tower_sessions::cookie::time::Duration::days(2);
        store.save(&record).await.expect("save");
    }
    assert_eq!(session_days_left(&app, &ann).await, 1);

    // Her next request renews both the row and the cookie.
    let r = ann.http.post(ann.url("/api/me")).send().await.expect("POST /api/me");
    assert!(r.status().is_success(), "{}", r.status());
    let renewed = r.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find(|c| c.starts_with("livecart_session="));
    let renewed = renewed.expect("the cookie is sent again").to_string();
    assert!(renewed.contains(&format!("livecart_session={id}")), "the same session: {renewed}");
    let max_age = renewed.split("; ").find_map(|a| a.strip_prefix("Max-Age=")).and_then(|a| a.parse::<i64>().ok());
    assert!(max_age.is_some_and(|s| s > 13 * 86_400), "a 14-day cookie: {renewed}");
    assert_eq!(session_days_left(&app, &ann).await, 13, "the row lives 14 days again");
    assert_eq!(ann.me().await.map(|u| u["username"].clone()), Some(serde_json::json!("ann")));

    // Renewed once: a request after it (and after what the server remembers
    // of the session has gone stale) does not write the session again.
    tokio::time::sleep(app::server::identities::FRESH_FOR + std::time::Duration::from_millis(100)).await;
    let r = ann.http.post(ann.url("/api/me")).send().await.expect("POST /api/me");
    assert!(r.headers().get_all("set-cookie").iter().all(|v| !v.to_str().unwrap_or_default().starts_with("livecart_session=")));
}

#[tokio::test]
async fn an_address_saved_at_checkout_is_offered_at_once_and_sign_out_ends_the_session_at_once() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    // Seen (and remembered) without an address...
    assert_eq!(ann.me().await.expect("signed in")["address"], serde_json::Value::Null);
    let r = ann.checkout(serde_json::json!([{ "product_id": 1, "quantity": 1 }]), "renew-test-0001").await;
    assert!(r.status().is_success(), "{}", r.status());
    // ...and with it right after the purchase that saved it.
    assert_eq!(ann.me().await.expect("signed in")["address"]["street"], "1 Main St");

    // Remembered a moment ago, yet dead the moment ann signs out, for any client holding it.
    let cookie = ann.session_cookie().expect("session cookie");
    let thief = app.shopper("thief");
    thief.jar.add_cookie_str(&cookie, &ann.url("/").parse().expect("url"));
    assert!(thief.me().await.is_some());
    let r = ann.post_form("/api/logout", &[]).await;
    assert!(r.status().is_success() || r.status().is_redirection());
    assert!(thief.me().await.is_none(), "a signed-out session id is dead at once");
}

#[tokio::test]
async fn a_session_signed_out_while_a_request_held_it_is_not_written_back() {
    use tower_sessions::SessionStore as _;

    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let cookie = ann.session_cookie().expect("session cookie");
    let id = cookie.trim_start_matches("livecart_session=").to_string();
    // A request has loaded ann's session (to renew it, say)...
    let store = app.db.session_store();
    let record = store.load(&id.parse().expect("a session id")).await.expect("load").expect("the session row");
    // ...she signs out meanwhile...
    let r = ann.post_form("/api/logout", &[]).await;
    assert!(r.status().is_success() || r.status().is_redirection());
    // ...and the request ends by saving what it held.
    store.save(&record).await.expect("save");

    let table = if app.test_db.is_postgres() { "tower_sessions.session" } else { "tower_sessions" };
    assert_eq!(app.outside_scalar(&format!("SELECT count(*) FROM {table} WHERE id = '{id}'")).await, 0, "the row stays deleted");
    let thief = app.shopper("thief");
    thief.jar.add_cookie_str(&cookie, &ann.url("/").parse().expect("url"));
    assert!(thief.me().await.is_none(), "the signed-out session id stays dead");
}
