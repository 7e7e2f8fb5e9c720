//! A shopper's first visit with an empty cache: the page and every `/pkg`
//! file it loads (the stylesheet, the JavaScript, the main wasm, the split
//! loader and, for a lazy route, its chunks from the split manifest), measured as bytes on the wire and
//! server CPU per visit; then a repeat visit with the cache filled, as a
//! browser makes it: files with a fresh `Cache-Control` are not asked for
//! again, the others are revalidated.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use reqwest::header;
use serde_json::json;

use crate::report::{self, percentiles};
use crate::server::{ServerArgs, Target};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// The page visited
    #[arg(long, default_value = "/")]
    path: String,
    /// For a page behind a lazy (split) route, its name as the split manifest
    /// spells it (e.g. `product` for /products/1): its chunks are loaded too
    #[arg(long)]
    lazy_route: Option<String>,
    /// The built site, where the split manifest is read for --lazy-route
    /// (the server reads it from disk too; no page names it)
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    site_root: std::path::PathBuf,
    /// Visitors at once during the load phase
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seconds of cold visits under load
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// The Accept-Encoding each request sends (default: what Chromium sends)
    #[arg(long, default_value = "gzip, deflate, br, zstd")]
    accept_encoding: String,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

/// One file as the server sent it.
#[derive(Debug, Clone)]
struct Fetched {
    path: String,
    status: u16,
    bytes: usize,
    encoding: String,
    cache_control: String,
    validator: Option<(header::HeaderName, String)>,
}

impl Fetched {
    /// Whether a browser may use its copy without asking (a max-age above zero).
    fn fresh_in_cache(&self) -> bool {
        self.cache_control
            .split(',')
            .map(str::trim)
            .any(|d| d.strip_prefix("max-age=").and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| s > 0))
            && !self.cache_control.contains("no-cache")
            && !self.cache_control.contains("no-store")
    }
}

async fn fetch(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    encoding: &str,
    condition: Option<&(header::HeaderName, String)>,
) -> anyhow::Result<(Fetched, Vec<u8>)> {
    let mut request = client.get(format!("{base}{path}")).header(header::ACCEPT_ENCODING, encoding);
    if let Some((name, value)) = condition {
        let asked = if *name == header::ETAG { header::IF_NONE_MATCH } else { header::IF_MODIFIED_SINCE };
        request = request.header(asked, value);
    }
    let response = request.send().await.with_context(|| format!("GET {path}"))?;
    let text = |name: header::HeaderName| response.headers().get(&name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let validator =
        text(header::ETAG).map(|v| (header::ETAG, v)).or_else(|| text(header::LAST_MODIFIED).map(|v| (header::LAST_MODIFIED, v)));
    let (status, encoding, cache_control) = (
        response.status().as_u16(),
        text(header::CONTENT_ENCODING).unwrap_or_else(|| "identity".into()),
        text(header::CACHE_CONTROL).unwrap_or_default(),
    );
    let body = response.bytes().await?.to_vec();
    Ok((Fetched { path: path.to_owned(), status, bytes: body.len(), encoding, cache_control, validator }, body))
}

/// The `/pkg` files a page loads, found the way a browser finds them: names in
/// the HTML, then names the JavaScript imports, then the route's chunks from
/// the split manifest. Fetched uncompressed here, only to read them.
async fn discover(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    lazy_route: Option<(&str, &std::path::Path)>,
) -> anyhow::Result<Vec<String>> {
    let (page, html) = fetch(client, base, path, "identity", None).await?;
    if page.status != 200 {
        bail!("GET {path} answered {}", page.status);
    }
    let mut found = Vec::new();
    let mut queue: VecDeque<String> = pkg_names(&String::from_utf8_lossy(&html)).into();
    let from_page = queue.len();
    let mut seen = 0;
    while let Some(file) = queue.pop_front() {
        seen += 1;
        if found.contains(&file) {
            continue;
        }
        let (got, body) = fetch(client, base, &file, "identity", None).await?;
        if got.status != 200 {
            // A script names fallbacks it never loads (wasm-bindgen's default
            // `<name>_bg` paths, say); a name in the page itself must be there.
            if seen <= from_page {
                bail!("{path} names {file}, which answers {}", got.status);
            }
            continue;
        }
        found.push(file.clone());
        if file.ends_with(".js") || file.ends_with(".json") {
            let text = String::from_utf8_lossy(&body);
            if file.ends_with(".js") {
                // Scripts it imports. (The split loader names every chunk; a
                // page loads only its own route's, listed in the manifest.)
                queue.extend(sibling_names(&text).into_iter().filter(|n| n.ends_with(".js")));
            }
        }
    }
    if let Some((route, site_root)) = lazy_route {
        let pkg = site_root.join("pkg");
        let manifest = std::fs::read_dir(&pkg)
            .with_context(|| format!("reading {} for the split manifest (--site-root)", pkg.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("__wasm_split_manifest") && n.ends_with(".json"))
            })
            .with_context(|| format!("no split manifest in {} (a build without --split?)", pkg.display()))?;
        found.extend(route_chunks(&std::fs::read_to_string(manifest)?, route)?);
    }
    Ok(found)
}

/// Absolute `/pkg/...` references in a page.
fn pkg_names(html: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in html.match_indices("/pkg/") {
        let name: String = html[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || "._/-".contains(*c)).collect();
        if name.len() > "/pkg/".len() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Files a `/pkg` script names beside itself (`'./__wasm_split.X.js'`, `"__wasm_split_manifest.Y.json"`).
fn sibling_names(js: &str) -> Vec<String> {
    let mut names = Vec::new();
    for quoted in js.split(['"', '\'', '`']).skip(1).step_by(2) {
        let name = quoted.trim_start_matches("./");
        let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if plain && [".js", ".wasm", ".json"].iter().any(|ext| name.ends_with(ext)) {
            let path = format!("/pkg/{name}");
            if !names.contains(&path) {
                names.push(path);
            }
        }
    }
    names
}

/// The wasm chunks the split manifest lists for one lazy route.
fn route_chunks(manifest: &str, route: &str) -> anyhow::Result<Vec<String>> {
    let manifest: BTreeMap<String, Vec<String>> = serde_json::from_str(manifest).context("reading the split manifest")?;
    let prefix = format!("__{route}_route_view_");
    let Some((_, chunks)) = manifest.iter().find(|(k, _)| k.starts_with(&prefix)) else {
        bail!("the split manifest has no lazy route named {route:?} (it has: {})", manifest.keys().cloned().collect::<Vec<_>>().join(", "));
    };
    Ok(chunks.iter().map(|c| format!("/pkg/{c}.wasm")).collect())
}

/// One visit: the page, then its files six at a time (a browser's connections per host).
async fn visit(client: &reqwest::Client, base: &str, page: &str, files: &[String], encoding: &str) -> anyhow::Result<Vec<Fetched>> {
    let (html, _) = fetch(client, base, page, encoding, None).await?;
    let mut got = vec![html];
    for batch in files.chunks(6) {
        let fetched = futures::future::try_join_all(batch.iter().map(|f| fetch(client, base, f, encoding, None))).await?;
        got.extend(fetched.into_iter().map(|(f, _)| f));
    }
    Ok(got)
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.concurrency == 0 {
        bail!("--concurrency must be positive");
    }
    let target = Target::start(&args.server).await?;
    let base = target.base.clone();
    let encoding = args.accept_encoding.clone();
    let lazy = args.lazy_route.as_deref().map(|route| (route, args.site_root.as_path()));
    let files = discover(&reqwest::Client::new(), &base, &args.path, lazy).await?;

    // One cold visit in detail, then a repeat visit with what it cached.
    let client = reqwest::Client::new();
    let first = visit(&client, &base, &args.path, &files, &encoding).await?;
    if let Some(bad) = first.iter().find(|f| f.status != 200) {
        bail!("GET {} answered {}", bad.path, bad.status);
    }
    let mut repeat_requests = 1;
    let mut repeat_bytes = fetch(&client, &base, &args.path, &encoding, None).await?.0.bytes;
    for file in first.iter().skip(1) {
        if !file.fresh_in_cache() {
            let (again, _) = fetch(&client, &base, &file.path, &encoding, file.validator.as_ref()).await?;
            repeat_requests += 1;
            repeat_bytes += again.bytes;
        }
    }
    // By kind of file: how many, bytes on the wire, how sent and how cached.
    let mut detail = BTreeMap::<String, (usize, usize, Vec<String>, Vec<String>)>::new();
    for (i, f) in first.iter().enumerate() {
        let kind = if i == 0 { "page".to_string() } else { f.path.rsplit('.').next().unwrap_or_default().to_string() };
        let entry = detail.entry(kind).or_default();
        entry.0 += 1;
        entry.1 += f.bytes;
        for (list, value) in [(&mut entry.2, &f.encoding), (&mut entry.3, &f.cache_control)] {
            if !list.contains(value) {
                list.push(value.clone());
            }
        }
    }
    let detail: serde_json::Map<String, serde_json::Value> = detail
        .into_iter()
        .map(|(kind, (n, bytes, enc, cc))| {
            (kind, json!({ "files": n, "bytes": bytes, "sent_as": enc.join(" "), "cache_control": cc.join(" | ") }))
        })
        .collect();
    let visit_bytes: usize = first.iter().map(|f| f.bytes).sum();

    // Cold visits under load: each visitor a new client (new connections, empty cache).
    let cpu0 = target.cpu();
    let files = Arc::new(files);
    let load = report::load(args.concurrency, Duration::from_secs(args.duration), "visitors", {
        let (base, page, encoding) = (base.clone(), args.path.clone(), encoding.clone());
        move |_, _| {
            let (base, page, files, encoding) = (base.clone(), page.clone(), files.clone(), encoding.clone());
            async move {
                let client = reqwest::Client::new();
                visit(&client, &base, &page, &files, &encoding).await.is_ok_and(|got| got.iter().all(|f| f.status == 200))
            }
        }
    })
    .await;
    let (latency, errors, elapsed) = (load.latency, load.failures, load.elapsed.as_secs_f64());
    let cpu_ms_per_visit = report::cpu_us_per_op(cpu0, target.cpu(), latency.len()).map(|us| us / 1e3);
    let result = json!({
        "page": args.path,
        "accept_encoding": encoding,
        "first_visit": {
            "requests": first.len(),
            "bytes": visit_bytes,
            "files": detail,
        },
        "repeat_visit": { "requests": repeat_requests, "bytes": repeat_bytes },
        "under_load": {
            "concurrency": args.concurrency,
            "visits": latency.len(),
            "visits_per_s": latency.len() as f64 / elapsed,
            "server_cpu_ms_per_visit": cpu_ms_per_visit,
            "visit_time": percentiles(&latency),
            "errors": errors,
        },
    });
    report::print("first visit (empty cache) and repeat visit", &result, args.json);
    if errors > 0 {
        bail!("{errors} visits failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_in_pages_scripts_and_the_manifest() {
        let html = r#"<link href="/pkg/livecart.abc.css"><script>load("/pkg/livecart.d-e_f.js", "/pkg/livecart.x.wasm")</script>"#;
        assert_eq!(pkg_names(html), ["/pkg/livecart.abc.css", "/pkg/livecart.d-e_f.js", "/pkg/livecart.x.wasm"]);
        let js = r#"import { a } from './__wasm_split.Ri5.js'; fetch("__wasm_split_manifest.lg.json"); x = "not a/file.js";"#;
        assert_eq!(sibling_names(js), ["/pkg/__wasm_split.Ri5.js", "/pkg/__wasm_split_manifest.lg.json"]);
        let manifest = r#"{"__product_route_view_1":["chunk_1.a","split___product_route_view_1.b"],"__cart_route_view_1":["chunk_2.c"]}"#;
        assert_eq!(route_chunks(manifest, "product").expect("chunks"), ["/pkg/chunk_1.a.wasm", "/pkg/split___product_route_view_1.b.wasm"]);
        assert!(route_chunks(manifest, "nope").expect_err("no such route").to_string().contains("cart"));
    }

    #[test]
    fn only_a_fresh_max_age_spares_a_request() {
        let file = |cc: &str| Fetched {
            path: String::new(),
            status: 200,
            bytes: 0,
            encoding: String::new(),
            cache_control: cc.into(),
            validator: None,
        };
        assert!(file("public, max-age=31536000, immutable").fresh_in_cache());
        assert!(file("public, max-age=3600").fresh_in_cache());
        assert!(!file("no-cache").fresh_in_cache());
        assert!(!file("").fresh_in_cache());
        assert!(!file("max-age=0").fresh_in_cache());
    }
}
