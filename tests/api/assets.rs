//! Static files: content-hashed `/pkg` names cached for a year, precompressed
//! copies sent as they are, pages revalidated.

use livecart::config::Limits;

use crate::helpers::{TestDb, spawn_app_configured};

#[tokio::test]
async fn hashed_files_are_immutable_precompressed_copies_are_sent_as_built_and_pages_are_revalidated() {
    // A built site as `cargo leptos build --release --precompress` leaves it.
    let site = tempfile::tempdir().expect("tempdir");
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).expect("pkg");
    let wasm = vec![7_u8; 50_000];
    std::fs::write(pkg.join("livecart.AbC.wasm"), &wasm).expect("wasm");
    // Stand-ins for the build's compressed copies: distinct bytes, so the test
    // sees which file was sent and that nothing compressed it again.
    std::fs::write(pkg.join("livecart.AbC.wasm.br"), b"brotli made at build time").expect("br");
    std::fs::write(pkg.join("livecart.AbC.wasm.gz"), b"gzip made at build time").expect("gz");
    std::fs::write(site.path().join("favicon.svg"), "<svg/>").expect("favicon");
    // The build's list of hashed names (Leptos reads it beside the binary; an
    // absolute path works too).
    let listing = site.path().join("hash.txt");
    std::fs::write(&listing, "js: AbC\nwasm: AbC\ncss: AbC\n").expect("hash.txt");
    let root = site.path().to_string_lossy().to_string();
    let app = spawn_app_configured(TestDb::new().await, Limits::default(), move |c| {
        c.leptos.site_root = root.into();
        c.leptos.hash_files = true;
        c.leptos.hash_file = listing.to_string_lossy().to_string().into();
    })
    .await;

    let get = |path: &'static str, encoding: &'static str| {
        let request = app.http.get(app.url(path)).header("accept-encoding", encoding);
        async move { request.send().await.expect("GET") }
    };
    let header = |r: &reqwest::Response, name: &str| r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();

    let r = get("/pkg/livecart.AbC.wasm", "gzip, deflate, br, zstd").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-encoding"), "br");
    assert_eq!(header(&r, "cache-control"), "public, max-age=31536000, immutable");
    let vary: Vec<String> = r.headers().get_all("vary").iter().filter_map(|v| v.to_str().ok()).map(str::to_lowercase).collect();
    assert!(vary.iter().any(|v| v.contains("accept-encoding")), "caches keep one copy per encoding: {vary:?}");
    assert_eq!(r.bytes().await.expect("body").as_ref(), b"brotli made at build time");

    let r = get("/pkg/livecart.AbC.wasm", "gzip").await;
    assert_eq!(header(&r, "content-encoding"), "gzip");
    assert_eq!(r.bytes().await.expect("body").as_ref(), b"gzip made at build time");

    let r = get("/pkg/livecart.AbC.wasm", "identity").await;
    assert_eq!(header(&r, "content-encoding"), "");
    assert_eq!(r.bytes().await.expect("body").len(), wasm.len());

    // A name from an older build is gone, and its 404 is not cached.
    let r = get("/pkg/livecart.Old.wasm", "br").await;
    assert_eq!(r.status(), 404);
    assert_ne!(header(&r, "cache-control"), "public, max-age=31536000, immutable");
    // A plain answer: not the shop rendered as an error page.
    let body = r.text().await.expect("body");
    assert!(body.len() < 200 && !body.contains("<html"), "a short 404, not a page: {body:?}");

    // Files from public/ keep their names: an hour. Pages: private, revalidated, compressed per request.
    let r = get("/favicon.svg", "br").await;
    assert_eq!(header(&r, "cache-control"), "public, max-age=3600");
    let r = get("/", "gzip, deflate, br, zstd").await;
    assert_eq!(header(&r, "cache-control"), "private, no-cache");
    assert_eq!(header(&r, "content-encoding"), "br");
    let html = get("/", "identity").await.text().await.expect("page");
    assert!(html.contains("/pkg/livecart.AbC.wasm") && html.contains("/pkg/livecart.AbC.css"), "the page names the hashed files");
    // Answers that are not files or pages say nothing about caching.
    let r = get("/healthz", "br").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "cache-control"), "");

    // Without hashed names, /pkg files are revalidated on every visit.
    let root = site.path().to_string_lossy().to_string();
    let plain = spawn_app_configured(TestDb::new().await, Limits::default(), move |c| c.leptos.site_root = root.into()).await;
    let r = plain.http.get(plain.url("/pkg/livecart.AbC.wasm")).send().await.expect("GET");
    assert_eq!(header(&r, "cache-control"), "no-cache");
    // ... and one that has not changed is not sent again.
    let modified = header(&r, "last-modified");
    assert!(!modified.is_empty(), "a file says when it changed");
    let again = plain.http.get(plain.url("/pkg/livecart.AbC.wasm")).header("if-modified-since", &modified).send().await.expect("GET");
    assert_eq!(again.status(), 304, "revalidated, not downloaded again");
    assert_eq!(header(&again, "cache-control"), "no-cache");
    assert!(header(&again, "vary").to_lowercase().contains("accept-encoding"), "a 304 varies as its 200 did");
}
