//! Time to hydrated: how long a shopper on a phone waits, on a cold cache,
//! until the page's code runs and every button answers. Drives Chromium
//! through `bench/hydration.mjs` (Playwright and the DevTools protocol from
//! the end-to-end suite's packages), on the slow profile by default:
//! 1.6 Mbps down, 750 kbps up, 150 ms round trip, a CPU four times slower.

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::report;
use crate::server::{ServerArgs, Target};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server: started on a fresh database unless --url names a running
    /// one (measure a release build, `cargo leptos build --release --split
    /// --precompress`, as a shop serves it)
    #[command(flatten)]
    server: ServerArgs,
    /// The page visited
    #[arg(long, default_value = "/")]
    path: String,
    /// Visits, each in a fresh browser context (nothing cached)
    #[arg(long, default_value_t = 5)]
    runs: u32,
    /// `slow` (the phone profile above) or `fast` (this machine's loopback, no throttling)
    #[arg(long, default_value = "slow", value_parser = ["slow", "fast"])]
    profile: String,
    /// The Chromium to drive
    #[arg(long, env = "CHROMIUM_PATH", default_value = "/usr/bin/chromium")]
    chromium: String,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let target = Target::start(&args.server).await?;
    let url = format!("{}{}", target.base, args.path);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/hydration.mjs");
    let output = tokio::process::Command::new("node")
        .arg(script)
        .arg(&url)
        .arg(args.runs.to_string())
        .arg(&args.profile)
        .arg(&args.chromium)
        .output()
        .await
        .context("running node (the Chromium driver needs Node.js and `npm ci` in end2end/)")?;
    if !output.status.success() {
        bail!("the Chromium driver failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    let raw: Value = serde_json::from_slice(&output.stdout).context("reading the driver's result")?;
    let visits = raw["visits"].as_array().cloned().unwrap_or_default();
    let column = |key: &str| visits.iter().filter_map(|v| v[key].as_f64()).collect::<Vec<f64>>();
    let result = json!({
        "url": url,
        "profile": args.profile,
        "visits": visits.len(),
        "hydrated_ms": { "median": median(column("hydrated_ms")), "max": column("hydrated_ms").into_iter().fold(0.0, f64::max) },
        "first_paint_ms": { "median": median(column("first_paint_ms")) },
        "largest_paint_ms": { "median": median(column("largest_paint_ms")) },
        "html_ms": { "median": median(column("html_ms")) },
        // The last wasm file fully downloaded; hydrated minus this is what the
        // code took after the network was done (it may also start earlier).
        "wasm_done_ms": { "median": median(column("wasm_done_ms")) },
        "bytes_on_the_wire": { "median": median(column("bytes")), "wasm": median(column("wasm_bytes")) },
        "each": visits,
    });
    report::print("Time to hydrated (cold cache, phone size)", &result, args.json);
    Ok(())
}
