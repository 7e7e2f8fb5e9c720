//! Results: a table for people, JSON for machines.

use std::future::Future;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::{Value, json};

/// A latency histogram in microseconds, 1 µs to 60 s.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()))
}

pub fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// p50/p90/p99/p99.9/max in milliseconds.
pub fn percentiles(h: &Histogram<u64>) -> Value {
    let q = |p: f64| if h.is_empty() { 0.0 } else { ms(h.value_at_quantile(p)) };
    json!({ "count": h.len(), "p50_ms": q(0.5), "p90_ms": q(0.9), "p99_ms": q(0.99), "p99_9_ms": q(0.999), "max_ms": if h.is_empty() { 0.0 } else { ms(h.max()) } })
}

/// Print `rows` (label, value) as an aligned table, or everything as JSON.
pub fn print(title: &str, result: &Value, json_out: bool) {
    if json_out {
        println!("{}", serde_json::to_string_pretty(result).unwrap_or_default());
        return;
    }
    println!("\n{title}");
    println!("{}", "-".repeat(title.len()));
    print_value("", result);
}

fn print_value(prefix: &str, v: &Value) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                match v {
                    Value::Object(_) => print_value(&key, v),
                    Value::Number(n) if n.is_f64() => println!("  {key:<34} {:.3}", n.as_f64().unwrap_or_default()),
                    other => println!("  {key:<34} {other}"),
                }
            }
        }
        other => println!("  {prefix:<34} {other}"),
    }
}

/// Progress on one line, overwritten (stderr, so --json output stays clean).
pub fn progress(line: &str) {
    eprint!("\r\x1b[2K{line}");
}

pub fn progress_done() {
    eprintln!();
}

/// What a load of repeated operations did.
pub struct Load {
    pub latency: Histogram<u64>,
    pub failures: u64,
    pub elapsed: Duration,
}

/// Run `op(task, n)` from `concurrency` tasks, each over and over until
/// `duration` has passed; `op` says whether it succeeded.
pub async fn load<F, Fut>(concurrency: usize, duration: Duration, what: &str, op: F) -> Load
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|task| {
            let op = op.clone();
            tokio::spawn(async move {
                let (mut latency, mut failures, mut n) = (histogram(), 0_u64, 0_usize);
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let ok = op(task, n).await;
                    n += 1;
                    let _ = latency.record(t.elapsed().as_micros().max(1) as u64);
                    failures += u64::from(!ok);
                }
                (latency, failures)
            })
        })
        .collect();
    progress(&format!("{concurrency} {what} running"));
    let mut total = Load { latency: histogram(), failures: 0, elapsed: Duration::ZERO };
    for task in tasks {
        if let Ok((latency, failures)) = task.await {
            let _ = total.latency.add(&latency);
            total.failures += failures;
        }
    }
    progress_done();
    total.elapsed = started.elapsed();
    total
}

/// A process' CPU time per operation in microseconds, from two readings.
pub fn cpu_us_per_op(before: Option<Duration>, after: Option<Duration>, ops: u64) -> Option<f64> {
    match (before, after) {
        (Some(b), Some(a)) if ops > 0 => Some(a.saturating_sub(b).as_secs_f64() * 1e6 / ops as f64),
        _ => None,
    }
}
