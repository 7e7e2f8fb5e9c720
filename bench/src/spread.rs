//! Shoppers spread over catalog pages: each socket follows the 24 cards of
//! one page (as the catalog page does), an outside writer changes products on
//! every page in turn, and the run counts who received each change. A change
//! should cost exactly the sockets showing that product: frames per change =
//! shoppers per page, and no socket hears a product it does not show.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use futures::StreamExt as _;
use serde_json::json;
use tokio::sync::{Barrier, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::report::{self, histogram, percentiles};
use crate::server::{ServerArgs, Target, Writer};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// Shoppers (sockets), spread evenly over the pages
    #[arg(long, default_value_t = 1000)]
    shoppers: usize,
    /// Catalog pages (24 products each, by name, as `/` and its next pages show them)
    #[arg(long, default_value_t = 100)]
    pages: usize,
    /// Made-up products to add first (`livecart seed --products N`)
    #[arg(long, default_value_t = 0)]
    seed_products: u64,
    /// Changes to commit, one product at a time, page after page
    #[arg(long, default_value_t = 200)]
    writes: usize,
    /// Changes per second
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Sockets opened per second while ramping up
    #[arg(long, default_value_t = 1000)]
    ramp: u32,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

/// Products per catalog page.
const PAGE: usize = 24;
/// Price in cents that marks write `k`.
const MARK_BASE: i64 = 8_000_000;

pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.shoppers == 0 || args.pages == 0 || args.writes == 0 || args.rate <= 0.0 {
        bail!("--shoppers, --pages, --writes and --rate must be positive");
    }
    let target = Target::start(&args.server).await?;
    if args.seed_products > 0 {
        report::progress(&format!("adding {} products", args.seed_products));
        target.seed_products(&args.server, args.seed_products).await?;
    }
    let writer = Writer::connect(&target.database_url).await?;
    // The pages as the catalog orders them by name (`/`, then "Next page").
    let listed = writer
        .rows(&format!("SELECT id FROM products WHERE archived_at IS NULL ORDER BY lower(name), id LIMIT {}", args.pages * PAGE))
        .await?;
    let ids: Vec<i64> = listed.into_iter().filter_map(|r| r.first().copied()).collect();
    if ids.len() < args.pages * PAGE {
        bail!(
            "{} pages need {} listed products; the catalog has {} (add some with --seed-products)",
            args.pages,
            args.pages * PAGE,
            ids.len()
        );
    }
    let pages: Vec<Vec<i64>> = ids.chunks(PAGE).map(<[i64]>::to_vec).collect();
    // Write k changes one product of page k % pages (a different product each time round).
    let changed: Vec<i64> = (0..args.writes).map(|k| pages[k % args.pages][(k / args.pages) % PAGE]).collect();
    let page_of: HashMap<i64, usize> = pages.iter().enumerate().flat_map(|(p, ids)| ids.iter().map(move |id| (*id, p))).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = target.rss_kib();

    let connected = Arc::new(AtomicUsize::new(0));
    let ready = Arc::new(Barrier::new(args.shoppers + 1));
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::with_capacity(args.shoppers);
    let gap = Duration::from_secs_f64(1.0 / f64::from(args.ramp.max(1)));
    let started = Instant::now();
    for i in 0..args.shoppers {
        let page = i % args.pages;
        let (url, cards, ready_, connected_, stopped_) =
            (target.ws_url(), pages[page].clone(), ready.clone(), connected.clone(), stopped.clone());
        tasks.push((page, tokio::spawn(async move { shopper(&url, &cards, &ready_, &connected_, stopped_).await })));
        tokio::time::sleep(gap).await;
        if i % 100 == 0 {
            report::progress(&format!("connecting: {}/{}", connected.load(Ordering::Relaxed), args.shoppers));
        }
    }
    ready.wait().await;
    let connect_time = started.elapsed();
    report::progress(&format!("{} shoppers on {} pages in {:.1} s; settling", args.shoppers, args.pages, connect_time.as_secs_f64()));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_idle = target.rss_kib();

    let every = Duration::from_secs_f64(1.0 / args.rate);
    let mut at = Vec::with_capacity(args.writes);
    let server_cpu0 = target.cpu();
    let t0 = Instant::now();
    for (k, product) in changed.iter().enumerate() {
        tokio::time::sleep_until((t0 + every.mul_f64(k as f64)).into()).await;
        writer.set_price(*product, MARK_BASE + k as i64).await?;
        at.push(Instant::now());
        if k % 20 == 0 {
            report::progress(&format!("writing: {}/{}", k + 1, args.writes));
        }
    }
    report::progress("waiting for the last frames");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let server_cpu = target.cpu().zip(server_cpu0).map(|(a, b)| a.saturating_sub(b));
    let _ = stop.send(true);

    // Who got what: write k should reach exactly the shoppers of its page.
    let mut per_write = vec![0_usize; args.writes];
    let (mut stray, mut duplicated, mut failed) = (0_usize, 0_usize, 0_usize);
    let mut latency = histogram();
    for (page, task) in tasks {
        let Ok(Ok(got)) = task.await else {
            failed += 1;
            continue;
        };
        let mut seen = std::collections::HashSet::new();
        for (product, k, when) in got {
            if k >= args.writes || changed[k] != product || page_of.get(&product) != Some(&page) {
                stray += 1;
                continue;
            }
            if !seen.insert(k) {
                duplicated += 1;
                continue;
            }
            per_write[k] += 1;
            let _ = latency.record(when.checked_duration_since(at[k]).map_or(1, |d| d.as_micros().max(1) as u64));
        }
    }
    report::progress_done();
    let expected: Vec<usize> = (0..args.writes).map(|k| (0..args.shoppers).filter(|i| i % args.pages == k % args.pages).count()).collect();
    let lost: usize = per_write.iter().zip(&expected).map(|(got, want)| want.saturating_sub(*got)).sum();
    let frames: usize = per_write.iter().sum();
    let result = json!({
        "shoppers": args.shoppers,
        "pages": args.pages,
        "cards_per_shopper": PAGE,
        "writes": args.writes,
        "rate_per_s": args.rate,
        "database": if target.database_url.starts_with("postgres") { "postgres" } else { "sqlite" },
        "connect_s": connect_time.as_secs_f64(),
        "frames_per_change": frames as f64 / args.writes as f64,
        "shoppers_showing_each_product": expected.iter().sum::<usize>() as f64 / args.writes as f64,
        "lost": lost,
        "duplicated": duplicated,
        "stray_frames": stray,
        "failed_sockets": failed,
        "commit_to_receipt": percentiles(&latency),
        "server_cpu_us_per_change": server_cpu.map(|c| (c.as_secs_f64() * 1e6 / args.writes as f64).round()),
        "server_rss_kib": { "before": rss_before, "idle_with_sockets": rss_idle },
        "server_bytes_per_idle_shopper": rss_before.zip(rss_idle).map(|(b, i)| i.saturating_sub(b) as f64 * 1024.0 / args.shoppers as f64),
    });
    report::print("spread", &result, args.json);
    if lost + duplicated + stray + failed > 0 {
        bail!("delivery was not exact: {lost} lost, {duplicated} duplicated, {stray} stray, {failed} sockets failed");
    }
    Ok(())
}

/// One shopper: follow the page's cards, then note every change until told to stop.
async fn shopper(
    url: &str,
    cards: &[i64],
    ready: &Barrier,
    connected: &AtomicUsize,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Vec<(i64, usize, Instant)>> {
    let opened = async {
        let topics: Vec<String> = cards.iter().map(|id| format!("card:{id}")).collect();
        crate::fanout::subscribed(url, &topics).await
    }
    .await;
    connected.fetch_add(1, Ordering::Relaxed);
    ready.wait().await;
    let mut ws = opened?;
    let mut got = Vec::new();
    loop {
        let next = tokio::select! {
            next = ws.next() => next,
            _ = stop.wait_for(|s| *s) => break,
        };
        match next {
            Some(Ok(Message::Text(text))) => {
                if let Some(change) = change(&text) {
                    got.push((change.0, change.1, Instant::now()));
                }
            }
            Some(Ok(_)) => {}
            _ => break,
        }
    }
    let _ = ws.close(None).await;
    Ok(got)
}

/// (product, write) of a card change frame.
fn change(text: &str) -> Option<(i64, usize)> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    if v["type"] != "change" {
        return None;
    }
    let product = v["topic"].as_str()?.strip_prefix("card:")?.parse().ok()?;
    let price = v["data"]["price"]["minor"].as_i64()?;
    Some((product, usize::try_from(price - MARK_BASE).ok()?))
}
