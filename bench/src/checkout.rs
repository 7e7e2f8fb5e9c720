//! Checkout: signed-in clients buying through the real HTTP endpoint.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::json;
use tokio::sync::Mutex;

use crate::report::{self, histogram, percentiles};
use crate::server::{ServerArgs, Target, Writer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Spread {
    /// Everyone buys product 1
    Hot,
    /// Each order picks one of the catalog's products
    Spread,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// Concurrent signed-in clients
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Stock set on the product(s) before the run
    #[arg(long, default_value_t = 1000)]
    stock: i64,
    #[arg(long, value_enum, default_value_t = Spread::Hot)]
    product: Spread,
    /// Stop after this many seconds
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.clients == 0 || args.stock < 0 {
        bail!("--clients must be positive and --stock not negative");
    }
    let target = Target::start(&args.server).await?;
    let writer = Writer::connect(&target.database_url).await?;
    let products: Vec<i64> = match args.product {
        Spread::Hot => vec![1],
        Spread::Spread => (1..=writer.scalar("SELECT count(*) FROM products WHERE id > $1", 0).await?).collect(),
    };
    let mut before = BTreeMap::new();
    for &p in &products {
        writer.exec("UPDATE products SET stock = $1 WHERE id = $2", args.stock, p).await?;
        let sold = writer.scalar("SELECT units_sold FROM products WHERE id = $1", p).await?;
        before.insert(p, sold);
    }

    report::progress(&format!("signing up {} clients", args.clients));
    let clients = target.sign_up(args.clients, "bench").await?;

    let latency = Arc::new(Mutex::new(histogram()));
    let kinds: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let started = Instant::now();
    let (server_cpu0, bench_cpu0) = (target.cpu(), crate::server::cpu_of("/proc/self/stat"));
    let mut tasks = Vec::new();
    for (i, http) in clients.into_iter().enumerate() {
        let (base, products, latency, kinds) = (target.base.clone(), products.clone(), latency.clone(), kinds.clone());
        let hot = args.product == Spread::Hot;
        tasks.push(tokio::spawn(async move {
            let mut n = 0_usize;
            let mut last_ok = None;
            while Instant::now() < deadline {
                let product = products[(i * 7 + n * 13) % products.len()];
                let body = json!({
                    "lines": [{ "product_id": product, "quantity": 1 }],
                    "address": { "name": "Bench Buyer", "street": "1 Bench St", "city": "Loopback", "region": "LO", "postal_code": "127001", "country": "Loopland" },
                    "idempotency_key": format!("bench-{i}-{n}"),
                });
                n += 1;
                let t = Instant::now();
                let kind = match http.post(format!("{base}/api/checkout")).json(&body).send().await {
                    Ok(r) if r.status().is_success() => "ok".to_string(),
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let text = r.text().await.unwrap_or_default();
                        if text.contains("OutOfStock") { "out_of_stock".to_string() } else { format!("http_{status}") }
                    }
                    Err(e) => format!("transport: {e}"),
                };
                let _ = latency.lock().await.record(t.elapsed().as_micros().max(1) as u64);
                if kind == "ok" {
                    last_ok = Some(Instant::now());
                }
                let sold_out = kind == "out_of_stock";
                *kinds.lock().await.entry(kind).or_default() += 1;
                if sold_out && hot {
                    break;
                }
            }
            last_ok
        }));
    }
    let mut last_order = started;
    for task in tasks {
        if let Ok(Some(t)) = task.await {
            last_order = last_order.max(t);
        }
    }
    let answered: u64 = kinds.lock().await.values().sum();
    let server_cpu_us_per_request = report::cpu_us_per_op(server_cpu0, target.cpu(), answered);
    let bench_cpu_us_per_request = report::cpu_us_per_op(bench_cpu0, crate::server::cpu_of("/proc/self/stat"), answered);
    report::progress_done();

    // Conservation: stock + units sold since the start = stock at the start; never negative.
    let mut conserved = true;
    let mut sold_total = 0;
    for (&p, &sold_before) in &before {
        let stock = writer.scalar("SELECT stock FROM products WHERE id = $1", p).await?;
        let sold = writer.scalar("SELECT units_sold FROM products WHERE id = $1", p).await? - sold_before;
        sold_total += sold;
        if stock < 0 || stock + sold != args.stock {
            conserved = false;
        }
    }
    let kinds = kinds.lock().await.clone();
    let ok = kinds.get("ok").copied().unwrap_or(0);
    let busy = last_order.duration_since(started).as_secs_f64().max(0.001);
    let result = json!({
        "clients": args.clients,
        "product": format!("{:?}", args.product).to_lowercase(),
        "stock_per_product": args.stock,
        "database": if target.database_url.starts_with("postgres") { "postgres" } else { "sqlite" },
        "orders": ok,
        "orders_per_s": ok as f64 / busy,
        "latency": percentiles(&*latency.lock().await),
        "answers": kinds,
        // CPU per checkout answered (orders, refusals and failures), server and this client apart.
        "server_cpu_us_per_request": server_cpu_us_per_request,
        "bench_cpu_us_per_request": bench_cpu_us_per_request,
        "units_sold": sold_total,
        "stock_conserved": conserved && sold_total == i64::try_from(ok).unwrap_or(-1),
    });
    report::print("checkout", &result, args.json);
    if !(conserved && sold_total == i64::try_from(ok).unwrap_or(-1)) {
        bail!("stock was not conserved: {sold_total} units sold for {ok} orders");
    }
    let unexpected: u64 = kinds.iter().filter(|(k, _)| *k != "ok" && *k != "out_of_stock").map(|(_, v)| v).sum();
    if unexpected > 0 {
        bail!("{unexpected} checkouts failed with something other than out of stock");
    }
    Ok(())
}
