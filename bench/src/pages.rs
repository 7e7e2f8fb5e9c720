//! Server-rendered pages under load.

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use serde_json::json;

use crate::report::{self, percentiles};
use crate::server::{ServerArgs, Target};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// Requests in flight at once
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds to run
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// A page to load (repeat for several; default: the catalog, two product
    /// pages and a category). One path per run gives that page's latency.
    #[arg(long = "path")]
    paths: Vec<String>,
    /// Add this many made-up products (`livecart seed --products N`) before
    /// measuring, for a real-size catalog
    #[arg(long, default_value_t = 0)]
    seed_products: u64,
    /// The Accept-Encoding each request sends (default: what Chromium sends)
    #[arg(long, default_value = "gzip, deflate, br, zstd")]
    accept_encoding: String,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.concurrency == 0 {
        bail!("--concurrency must be positive");
    }
    let target = Target::start(&args.server).await?;
    if args.seed_products > 0 {
        report::progress(&format!("adding {} products", args.seed_products));
        target.seed_products(&args.server, args.seed_products).await?;
        report::progress_done();
    }
    let paths = if args.paths.is_empty() {
        vec!["/".to_string(), "/products/1".to_string(), "/?category=coffee-tea".to_string(), "/products/12".to_string()]
    } else {
        args.paths.clone()
    };

    // Sizes: not compressed, and as sent for the Accept-Encoding used.
    let client = reqwest::Client::new();
    let encoding = args.accept_encoding.clone();
    let mut sizes = serde_json::Map::new();
    for path in &paths {
        let url = format!("{}{path}", target.base);
        let raw = client.get(&url).send().await?.bytes().await?.len();
        let sent = client.get(&url).header("accept-encoding", &encoding).send().await?;
        let how = sent.headers().get("content-encoding").and_then(|v| v.to_str().ok()).unwrap_or("identity").to_string();
        let bytes = sent.bytes().await?.len();
        sizes.insert(path.clone(), json!({ "raw_bytes": raw, "sent_bytes": bytes, "content_encoding": how }));
    }
    let server_cpu0 = target.cpu();

    let paths = Arc::new(paths);
    let load = report::load(args.concurrency, Duration::from_secs(args.duration), "clients", {
        let (client, base, encoding) = (client.clone(), target.base.clone(), encoding.clone());
        move |task, n| {
            let url = format!("{base}{}", paths[(task + n) % paths.len()]);
            let request = client.get(url).header("accept-encoding", encoding.clone());
            async move {
                match request.send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                }
            }
        }
    })
    .await;
    let (latency, errors, elapsed) = (load.latency, load.failures, load.elapsed.as_secs_f64());
    // The server's CPU (user + system, from /proc) per request answered.
    let server_cpu_us_per_request = report::cpu_us_per_op(server_cpu0, target.cpu(), latency.len());
    let result = json!({
        "concurrency": args.concurrency,
        "accept_encoding": encoding,
        "requests": latency.len(),
        "requests_per_s": latency.len() as f64 / elapsed,
        "server_cpu_us_per_request": server_cpu_us_per_request,
        "latency": percentiles(&latency),
        "errors": errors,
        "sizes": sizes,
    });
    report::print("server-rendered pages", &result, args.json);
    if errors > 0 {
        bail!("{errors} requests failed");
    }
    Ok(())
}
