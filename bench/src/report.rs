//! Results: a table for people, JSON for machines.

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
