//! Fan-out: many sockets on one topic, changes committed by an outside writer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::json;
use tokio::sync::Barrier;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::report::{self, histogram, percentiles};
use crate::server;
use crate::server::{ServerArgs, Target, Writer};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// Sockets to open (each process holds one file per socket; the limit here is 20,000)
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Topic every socket follows: product:<id>, card:<id> (what a catalog page follows) or catalog
    #[arg(long, default_value = "product:1")]
    topic: String,
    /// Changes to commit
    #[arg(long, default_value_t = 100)]
    writes: usize,
    /// Changes per second
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Sockets opened per second while ramping up (0: all at once)
    #[arg(long, default_value_t = 2000)]
    ramp: u32,
    /// Give up after this many seconds
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Then measure the bare broadcaster (`--target bare`, the floor) the same
    /// way and report this target's latency and CPU per frame as ratios to it
    #[arg(long)]
    with_floor: bool,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

/// Price in cents that marks write `k`: unique per write, so a frame names its write.
const MARK_BASE: i64 = 7_000_000;

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut result = measure(&args, &args.server).await?;
    if args.with_floor {
        let mut bare = args.server.clone();
        bare.target = crate::server::Kind::Bare;
        bare.url = None;
        let floor = measure(&args, &bare).await?;
        let ratio = |path: &[&str]| {
            let get = |v: &serde_json::Value| path.iter().try_fold(v, |v, k| v.get(*k)).and_then(serde_json::Value::as_f64);
            match (get(&result), get(&floor)) {
                (Some(a), Some(b)) if b > 0.0 => json!((a / b * 100.0).round() / 100.0),
                _ => json!(null),
            }
        };
        let ratios = json!({
            "p50": ratio(&["commit_to_receipt", "p50_ms"]),
            "p99": ratio(&["commit_to_receipt", "p99_ms"]),
            "server_cpu_per_frame": ratio(&["server_cpu_us_per_frame"]),
            "bytes_per_idle_socket": ratio(&["server_bytes_per_idle_socket"]),
        });
        result = json!({ "target": result, "floor": floor, "target_over_floor": ratios });
    }
    report::print("fan-out", &result, args.json);
    Ok(())
}

/// One fan-out run against `server`: its figures, or an error when delivery
/// was not exact.
async fn measure(args: &Args, server: &ServerArgs) -> anyhow::Result<serde_json::Value> {
    if args.subscribers == 0 || args.writes == 0 || args.rate <= 0.0 {
        bail!("--subscribers, --writes and --rate must be positive");
    }
    if args.subscribers > 9_000 {
        eprintln!("note: {} sockets need as many open files in this process and in the server", args.subscribers);
    }
    let product: i64 = match args.topic.split_once(':') {
        Some(("product" | "card", id)) => id.parse()?,
        _ if args.topic == "catalog" => 1,
        _ => bail!("--topic must be product:<id>, card:<id> or catalog"),
    };
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let target = Target::start(server).await?;
    let writer = Writer::connect(&target.database_url).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = target.rss_kib();

    // Connect, ramped.
    let connected = Arc::new(AtomicUsize::new(0));
    let ready = Arc::new(Barrier::new(args.subscribers + 1));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.subscribers);
    let gap = if args.ramp == 0 { Duration::ZERO } else { Duration::from_secs_f64(1.0 / f64::from(args.ramp)) };
    for i in 0..args.subscribers {
        let (url, topic, ready_, connected_) = (target.ws_url(), args.topic.clone(), ready.clone(), connected.clone());
        let writes = args.writes;
        tasks.push(tokio::spawn(async move { subscriber(&url, &topic, writes, deadline, &ready_, &connected_).await }));
        if !gap.is_zero() {
            tokio::time::sleep(gap).await;
        }
        if i % 250 == 0 {
            report::progress(&format!("connecting: {}/{}", connected.load(Ordering::Relaxed), args.subscribers));
        }
    }
    while connected.load(Ordering::Relaxed) < args.subscribers && Instant::now() < deadline {
        report::progress(&format!("connecting: {}/{}", connected.load(Ordering::Relaxed), args.subscribers));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let connect_time = started.elapsed();
    ready.wait().await;
    report::progress(&format!("{} sockets subscribed in {:.2} s; settling", args.subscribers, connect_time.as_secs_f64()));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_idle = target.rss_kib();

    // Write at the rate, recording when each commit returned.
    let mut at = Vec::with_capacity(args.writes);
    let every = Duration::from_secs_f64(1.0 / args.rate);
    let (server_cpu0, bench_cpu0) = (target.cpu(), server::cpu_of("/proc/self/stat"));
    let t0 = Instant::now();
    for k in 0..args.writes {
        let due = t0 + every.mul_f64(k as f64);
        tokio::time::sleep_until(due.into()).await;
        writer.set_price(product, MARK_BASE + k as i64).await?;
        at.push(Instant::now());
        if k % 10 == 0 {
            report::progress(&format!("writing: {}/{}", k + 1, args.writes));
        }
    }
    report::progress("waiting for the last frames");
    let mut latency = histogram();
    let (mut lost, mut duplicated, mut out_of_order, mut early, mut failed) = (0_usize, 0_usize, 0_usize, 0_usize, 0_usize);
    let mut superseded = 0_usize;
    for task in tasks {
        let Ok(Ok(got)) = task.await else {
            failed += 1;
            lost += args.writes;
            continue;
        };
        // A frame shows the product as the server read it, which may be newer
        // than the write it stands for (livecart makes frames from the current
        // row): write j counts as delivered when the socket first shows its
        // price or a later one, and is *superseded* when a later one came
        // first. A frame showing an older state than one already shown is out
        // of order; the same state again, a duplicate.
        let mut shown: Option<usize> = None;
        for (k, when) in got {
            if k >= args.writes {
                continue;
            }
            match shown {
                Some(s) if k == s => duplicated += 1,
                Some(s) if k < s => out_of_order += 1,
                _ => {
                    let first = shown.map_or(0, |s| s + 1);
                    superseded += k - first;
                    for committed in &at[first..=k] {
                        match when.checked_duration_since(*committed) {
                            Some(d) => {
                                let _ = latency.record(d.as_micros().max(1) as u64);
                            }
                            None => {
                                // The frame beat the writer's own view of its commit returning.
                                early += 1;
                                let _ = latency.record(1);
                            }
                        }
                    }
                    shown = Some(k);
                }
            }
        }
        lost += args.writes - shown.map_or(0, |s| s + 1);
    }
    report::progress_done();
    // CPU per delivered frame, server and this client apart: on a shared machine
    // it says what each side costs, whatever the other one took.
    let frames = (args.writes * args.subscribers).saturating_sub(lost).max(1) as f64;
    let per_frame = |before: Option<Duration>, after: Option<Duration>| match (before, after) {
        (Some(b), Some(a)) => json!(((a.saturating_sub(b)).as_secs_f64() * 1e6 / frames * 100.0).round() / 100.0),
        _ => json!(null),
    };
    let server_cpu_us_per_frame = per_frame(server_cpu0, target.cpu());
    let bench_cpu_us_per_frame = per_frame(bench_cpu0, server::cpu_of("/proc/self/stat"));

    let per_socket = match (rss_before, rss_idle) {
        (Some(b), Some(i)) => json!((i.saturating_sub(b) as f64 * 1024.0) / args.subscribers as f64),
        _ => json!(null),
    };
    let result = json!({
        "subscribers": args.subscribers,
        "topic": args.topic,
        "writes": args.writes,
        "rate_per_s": args.rate,
        "database": if target.database_url.starts_with("postgres") { "postgres" } else if target.database_url.starts_with("bare") { "none" } else { "sqlite" },
        "server": format!("{:?}", server.target).to_lowercase(),
        "connect_s": connect_time.as_secs_f64(),
        "commit_to_receipt": percentiles(&latency),
        "lost": lost,
        "duplicated": duplicated,
        "out_of_order": out_of_order,
        "superseded": superseded,
        "failed_sockets": failed,
        "frames_before_commit_returned": early,
        "server_rss_kib": { "before": rss_before, "idle_with_sockets": rss_idle },
        "server_bytes_per_idle_socket": per_socket,
        "server_cpu_us_per_frame": server_cpu_us_per_frame,
        "bench_cpu_us_per_frame": bench_cpu_us_per_frame,
    });
    if lost + duplicated + out_of_order + failed > 0 {
        report::print("fan-out", &result, args.json);
        bail!("delivery was not exact: {lost} lost, {duplicated} duplicated, {out_of_order} out of order, {failed} sockets failed");
    }
    Ok(result)
}

/// One socket: subscribe, then note every marked change until all arrived.
async fn subscriber(
    url: &str,
    topic: &str,
    writes: usize,
    deadline: Instant,
    ready: &Barrier,
    connected: &AtomicUsize,
) -> anyhow::Result<Vec<(usize, Instant)>> {
    let result = async { subscribed(url, &[topic.to_string()]).await }.await;
    connected.fetch_add(1, Ordering::Relaxed);
    ready.wait().await;
    let mut ws = result?;
    let mut got = Vec::with_capacity(writes);
    // One timer for the whole run, not one per frame.
    let give_up = tokio::time::sleep_until(deadline.into());
    tokio::pin!(give_up);
    while got.len() < writes {
        let next = tokio::select! {
            next = ws.next() => next,
            () = &mut give_up => break,
        };
        let Some(Ok(Message::Text(text))) = next else {
            if next.is_none() {
                break;
            }
            continue;
        };
        let now = Instant::now();
        if let Some(k) = marker(&text) {
            got.push((k, now));
            // The last write shown: nothing newer can come (earlier states may
            // have been superseded by it, so fewer frames than writes is no loss).
            if k + 1 == writes {
                break;
            }
        }
    }
    let _ = ws.close(None).await;
    Ok(got)
}

/// Which write a change frame carries, from its marked price (cheap: no full parse).
fn marker(text: &str) -> Option<usize> {
    if !text.starts_with(r#"{"type":"change""#) {
        return None;
    }
    // Products carry one "minor" (their price). PostgreSQL's JSON has spaces around ':'.
    let at = text.find(r#""minor""#)? + r#""minor""#.len();
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let price: i64 = digits.parse().ok()?;
    usize::try_from(price - MARK_BASE).ok()
}

/// A bench socket following `topics`, once each has answered with its snapshot.
pub async fn subscribed(
    url: &str,
    topics: &[String],
) -> anyhow::Result<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>> {
    // tungstenite zero-fills its read buffer (128 KiB by default) before every
    // read: at 10,000 sockets that memset was a seventh of the machine, taken
    // from the server being measured. Frames here are a few hundred bytes.
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false).await.context("connecting")?;
    for topic in topics {
        ws.send(Message::text(json!({"type": "subscribe", "topic": topic}).to_string())).await?;
    }
    let mut snapshots = 0;
    while snapshots < topics.len() {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.contains(r#""type":"snapshot""#) => snapshots += 1,
            Some(Ok(_)) => {}
            _ => bail!("socket closed before its snapshots"),
        }
    }
    Ok(ws)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_read_from_sqlite_and_postgres_json() {
        let sqlite = r#"{"type":"change","topic":"catalog","seq":9,"data":{"id":1,"price":{"minor":7000003,"currency":"USD"}}}"#;
        let postgres =
            r#"{"type":"change","topic":"catalog","seq":9,"data":{"id" : 1, "price" : {"minor" : 7000004, "currency" : "USD"}}}"#;
        assert_eq!(marker(sqlite), Some(3));
        assert_eq!(marker(postgres), Some(4));
        assert_eq!(marker(r#"{"type":"snapshot"}"#), None);
    }
}
