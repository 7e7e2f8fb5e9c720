use crate::helpers::spawn_app;

#[tokio::test]
async fn the_catalog_page_is_rendered_on_the_server_with_its_products() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/")).send().await.expect("GET /");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let html = response.text().await.expect("body");
    for name in ["Action Camera", "Dark Chocolate Bar", "Espresso Beans", "Cast Iron Skillet"] {
        assert!(html.contains(name), "{name} is in the server-rendered HTML");
    }
    assert!(html.contains("$4.50"), "prices are formatted from cents");
    // 24 to a page, by name: the rest are a link away, rendered the same way.
    assert!(!html.contains("Wireless Headphones"), "page 1 holds the first 24 by name");
    let next = next_page_link(&html).expect("a next-page link");
    let page2 = app.http.get(app.url(&next)).send().await.expect("GET next").text().await.expect("body");
    assert!(page2.contains("Wireless Headphones") && page2.contains("$129.00"), "page 2 has the rest");
    assert!(!page2.contains("Dark Chocolate Bar"), "nothing from page 1 again");
    assert!(next_page_link(&page2).is_none(), "and it is the last");
    assert_eq!(headers.get("x-content-type-options").map(|v| v.as_bytes()), Some(&b"nosniff"[..]));
    assert!(headers.contains_key("content-security-policy"));
}

#[tokio::test]
async fn a_category_url_shows_only_that_category() {
    let app = spawn_app().await;
    let html = app.http.get(app.url("/?category=coffee-tea")).send().await.expect("GET").text().await.expect("body");
    assert!(html.contains("Espresso Beans"));
    assert!(!html.contains("Wireless Headphones"), "electronics are filtered out");
}

#[tokio::test]
async fn a_product_page_shows_the_product_and_an_unknown_one_is_404() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/products/1")).send().await.expect("GET");
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    assert!(html.contains("Wireless Headphones") && html.contains("noise cancelling"));

    for path in ["/products/999999", "/products/abc", "/no-such-page"] {
        let response = app.http.get(app.url(path)).send().await.expect("GET");
        assert_eq!(response.status(), 404, "{path}");
        assert!(response.text().await.expect("body").contains("could not be found"));
    }
}

#[tokio::test]
async fn healthz_reports_the_database_and_the_feed() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/healthz")).send().await.expect("GET");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"]["backend"], app.db.backend_name());
    assert!(body["feed"]["seq"].as_i64().is_some_and(|s| s > 0));
}

#[tokio::test]
async fn server_functions_refuse_cross_site_posts() {
    let app = spawn_app().await;
    let url = app.url("/api/products_by_id");
    let form = [("ids[0]", "1"), ("ids[1]", "2")];
    let evil = app.http.post(&url).header("origin", "http://evil.example").form(&form).send().await.expect("POST");
    assert_eq!(evil.status(), 403);
    let cross = app.http.post(&url).header("sec-fetch-site", "cross-site").form(&form).send().await.expect("POST");
    assert_eq!(cross.status(), 403);
    let same = app.http.post(&url).header("origin", format!("http://{}", app.address)).form(&form).send().await.expect("POST");
    assert_eq!(same.status(), 200);
    let body: serde_json::Value = same.json().await.expect("json");
    assert!(body["data"].as_array().is_some_and(|a| !a.is_empty()));
}

#[tokio::test]
async fn an_unknown_category_is_a_clear_error_not_a_crash() {
    let app = spawn_app().await;
    let page = app.http.get(app.url("/?category=nope")).send().await.expect("GET").text().await.expect("body");
    assert!(page.contains("could not be found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_correctly_under_concurrent_requests() {
    let app = spawn_app().await;
    let paths = ["/", "/?category=coffee-tea", "/?category=home", "/products/1", "/products/12", "/products/999999"];
    let requests = (0..120).map(|i| {
        let path = paths[i % paths.len()];
        let url = app.url(path);
        let http = app.http.clone();
        async move { (path, http.get(url).send().await.map(|r| r.status().as_u16())) }
    });
    for (path, status) in futures::future::join_all(requests).await {
        let expected = if path.ends_with("999999") { 404 } else { 200 };
        assert_eq!(status.ok(), Some(expected), "{path}");
    }
}

/// The href of a page's "Next page" link, unescaped.
pub fn next_page_link(html: &str) -> Option<String> {
    let at = html.find(r#"data-test-id="next-page""#)?;
    let tag = &html[html[..at].rfind("<a ")?..at];
    let href = tag.split(r#"href=""#).nth(1)?.split('"').next()?;
    Some(href.replace("&amp;", "&"))
}
