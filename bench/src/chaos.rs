//! Shoppers through a load balancer while things break behind it.
//!
//! Buyers sign up, open a product's page and buy it through the load balancer,
//! retrying a purchase with its idempotency key until it is answered; watchers keep the catalog page's
//! live view (snapshot, then changes, resuming by seq on every reconnect); an
//! outside writer changes prices straight in the database. Whatever breaks
//! meanwhile (instances drained and restarted, database links cut or reset:
//! `scripts/multihost.sh` does that), at the end: every answered order is in
//! the database exactly once and nothing else is, stock plus units sold is what
//! it was for every product, and every watcher's view equals the database.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use app::model::ProductSummary;
use app::protocol::{ClientMsg, Seq, ServerMsg, Topic};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::json;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

use crate::report;
use crate::server::Writer;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The load balancer in front of the instances, e.g. http://10.77.0.3
    #[arg(long)]
    url: String,
    /// The instances' database, for the checks (and the outside writer)
    #[arg(long, env = "BENCH_DATABASE_URL")]
    database_url: String,
    /// Shoppers buying at once
    #[arg(long, default_value_t = 6)]
    buyers: usize,
    /// Open catalog pages (live sockets)
    #[arg(long, default_value_t = 6)]
    watchers: usize,
    /// Seconds of buying
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Seconds after that for retries to be answered and views to converge
    #[arg(long, default_value_t = 40)]
    settle: u64,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

/// What happened to the purchases, counted by every buyer.
#[derive(Default)]
struct Tally {
    /// Idempotency key → quantity, for every purchase the shop confirmed.
    answered: Mutex<BTreeMap<String, i64>>,
    /// Keys still unanswered when time ran out (they may or may not exist).
    unanswered: Mutex<Vec<String>>,
    /// Attempts that failed in transit or with a 5xx and were retried.
    retries: AtomicU64,
    /// Answers that were neither an order nor a retryable failure.
    refusals: Mutex<Vec<String>>,
    /// Product pages loaded before buying, and those that failed (a 5xx from
    /// an instance cut off from the database is expected; it is counted).
    pages: AtomicU64,
    pages_failed: AtomicU64,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let base = args.url.trim_end_matches('/').to_string();
    let writer = Writer::connect(&args.database_url).await.context("connecting to the database for the checks")?;
    let run_id =
        format!("chaos{}x{}", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() % 100_000);
    // Enough stock that nobody sells out: every purchase should succeed.
    writer.exec("UPDATE products SET stock = stock + $1 WHERE id > $2 AND stock < 100000", 1_000_000, 0).await?;
    let before = totals(&writer).await?;
    let products: Vec<i64> = before.keys().copied().collect();
    if products.is_empty() {
        bail!("the database has no products");
    }

    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let give_up = deadline + Duration::from_secs(args.settle);
    let tally = Arc::new(Tally::default());
    let views: Vec<Arc<Mutex<View>>> = (0..args.watchers).map(|_| Arc::default()).collect();
    let mut watchers = Vec::new();
    for view in &views {
        let (url, view) = (format!("{}/ws", base.replacen("http", "ws", 1)), view.clone());
        watchers.push(tokio::spawn(async move { watch(&url, &view, give_up).await }));
    }
    let mut buyers = Vec::new();
    for i in 0..args.buyers {
        let (base, products, tally, name) = (base.clone(), products.clone(), tally.clone(), format!("{run_id}b{i}"));
        buyers.push(tokio::spawn(async move { buy(&base, &name, &products, &tally, deadline, give_up).await }));
    }
    // The outside writer: a price change every 200 ms, straight to the database.
    let mut prices = 0_u64;
    let mut n = 0_usize;
    while Instant::now() < deadline {
        let product = products[n % products.len()];
        n += 1;
        if writer.exec("UPDATE products SET price_cents = price_cents + $1 WHERE id = $2", 1, product).await.is_ok() {
            prices += 1;
        }
        report::progress(&format!(
            "{} s left: {} orders answered",
            deadline.saturating_duration_since(Instant::now()).as_secs(),
            tally.answered.lock().await.len()
        ));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for buyer in buyers {
        buyer.await.context("a buyer panicked")??;
    }

    // Views converge: wait until every watcher shows what the database holds.
    report::progress("waiting for every open page to show the database");
    let (mut converged, mut differences) = (false, Vec::new());
    while Instant::now() < give_up {
        let truth = catalog(&writer).await?;
        differences.clear();
        for (w, view) in views.iter().enumerate() {
            let view = view.lock().await;
            if let Some((product, diff)) = view.differs_from(&truth) {
                let last = writer
                    .scalar("SELECT coalesce(max(seq), 0) FROM change_log WHERE kind = 'product' AND entity_id = $1", product)
                    .await?;
                differences.push(format!("watcher {w}: {diff}, last changed in the log at seq {last}; {}", view.history.join("; ")));
            }
        }
        if differences.is_empty() {
            converged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for watcher in watchers {
        watcher.abort();
    }
    report::progress_done();

    // Orders: each answered key exactly once, nothing unasked for.
    let answered = tally.answered.lock().await.clone();
    let unanswered = tally.unanswered.lock().await.clone();
    let stored = orders_with_prefix(&writer, &run_id).await?;
    let lost: Vec<&String> = answered.keys().filter(|k| !stored.contains_key(*k)).collect();
    let doubled: Vec<&String> = stored.iter().filter(|(_, n)| **n > 1).map(|(k, _)| k).collect();
    let unasked: Vec<&String> = stored.keys().filter(|k| !answered.contains_key(*k) && !unanswered.contains(k)).collect();
    // Stock: stock + units sold per product as before; units sold = quantities ordered.
    let after = totals(&writer).await?;
    let sold = units_sold_by(&writer, &run_id).await?;
    let conserved = before.iter().all(|(p, (total, _))| after.get(p).is_some_and(|(t, _)| t == total));
    let sold_delta: i64 = after.iter().map(|(p, (_, s))| s - before.get(p).map_or(0, |(_, s)| *s)).sum();
    let refusals = tally.refusals.lock().await.clone();
    let mut reconnects = 0;
    let mut misordered = 0;
    let mut missed = Vec::new();
    for (w, view) in views.iter().enumerate() {
        let view = view.lock().await;
        reconnects += view.connects.saturating_sub(1);
        misordered += view.misordered;
        // Every product changed after the view's last snapshot reached it as
        // of its latest change or later (a frame carries the product as the
        // server read it, and changes to one product read together go out once).
        let upto = view.seq.map_or(0, |s| s.0);
        let logged = writer
            .rows(&format!(
                "SELECT entity_id, max(seq) FROM change_log WHERE kind = 'product' AND seq > {} AND seq <= {upto} \
                 GROUP BY entity_id ORDER BY entity_id",
                view.snapshot_at
            ))
            .await?;
        let gone: Vec<(i64, i64)> =
            logged.iter().map(|r| (r[0], r[1])).filter(|(product, seq)| view.changed_at.get(product).is_none_or(|got| got < seq)).collect();
        if !gone.is_empty() {
            missed.push(format!(
                "watcher {w} never got (product, seq) {gone:?} (after its snapshot at {}): {}",
                view.snapshot_at,
                view.history.join("; ")
            ));
        }
    }
    // Each answered purchase stored with the quantity asked.
    let stored_units = units_by_key(&writer, &run_id).await?;
    let wrong_quantity: Vec<&String> =
        answered.iter().filter(|(k, q)| stored_units.get(*k).is_some_and(|s| s != *q)).map(|(k, _)| k).collect();
    let result = json!({
        "buyers": args.buyers,
        "watchers": args.watchers,
        "orders_answered": answered.len(),
        "orders_stored": stored.len(),
        "orders_unanswered": unanswered.len(),
        "lost": lost.len(),
        "doubled": doubled.len(),
        "stored_but_never_asked": unasked.len(),
        "retries": tally.retries.load(Ordering::Relaxed),
        "pages_loaded": tally.pages.load(Ordering::Relaxed),
        "pages_failed": tally.pages_failed.load(Ordering::Relaxed),
        "refusals": refusals.len(),
        "outside_price_changes": prices,
        "stock_conserved": conserved,
        "units_sold": sold_delta,
        "units_ordered": sold,
        "watcher_reconnects": reconnects,
        "changes_out_of_order": misordered,
        "changes_missed": missed.len(),
        "wrong_quantity": wrong_quantity.len(),
        "views_converged": converged,
    });
    report::print("shoppers through the load balancer", &result, args.json);
    let mut failures = Vec::new();
    if tally.pages.load(Ordering::Relaxed) == 0 {
        failures.push("no product page ever loaded".to_string());
    }
    if answered.is_empty() {
        failures.push("no purchase was ever answered".to_string());
    }
    if !lost.is_empty() {
        failures.push(format!("{} answered orders are not in the database, e.g. {}", lost.len(), lost[0]));
    }
    if !doubled.is_empty() {
        failures.push(format!("{} keys have more than one order, e.g. {}", doubled.len(), doubled[0]));
    }
    if !unasked.is_empty() {
        failures.push(format!("{} orders nobody asked for, e.g. {}", unasked.len(), unasked[0]));
    }
    if !conserved || sold_delta != sold {
        failures.push(format!("stock not conserved: {sold_delta} units sold for {sold} ordered"));
    }
    if !refusals.is_empty() {
        failures.push(format!("{} purchases refused, e.g. {}", refusals.len(), refusals[0]));
    }
    if !missed.is_empty() {
        failures.push(missed.join("\n"));
    }
    if !wrong_quantity.is_empty() {
        failures.push(format!("{} orders stored with another quantity than asked, e.g. {}", wrong_quantity.len(), wrong_quantity[0]));
    }
    if misordered > 0 {
        failures.push(format!("{misordered} changes arrived with a seq not above the one before"));
    }
    if !converged {
        failures.push(format!("open pages differ from the database: {}", differences.join("; ")));
    }
    if !failures.is_empty() {
        bail!("{}", failures.join("\n"));
    }
    Ok(())
}

/// Sign up (or, if a lost answer already signed us up, sign in), then buy one
/// product at a time, retrying each purchase with its key until it is answered.
async fn buy(base: &str, name: &str, products: &[i64], tally: &Tally, deadline: Instant, give_up: Instant) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().cookie_store(true).timeout(Duration::from_secs(10)).build()?;
    let form = [("username", name), ("password", "chaos passphrase 1")];
    loop {
        let signed_up = match http.post(format!("{base}/api/register")).form(&form).send().await {
            Ok(r) if r.status().is_success() || r.status().is_redirection() => true,
            Ok(r) if r.status().is_client_error() => {
                // Taken: a previous attempt got through. Sign in instead.
                matches!(http.post(format!("{base}/api/login")).form(&form).send().await, Ok(r) if r.status().is_success() || r.status().is_redirection())
            }
            _ => false,
        };
        if signed_up {
            break;
        }
        if Instant::now() > give_up {
            bail!("{name} could not sign up before the end");
        }
        tally.retries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut n = 0_usize;
    while Instant::now() < deadline {
        let product = products[(n * 7 + name.len()) % products.len()];
        let quantity = 1 + (n % 2) as i64;
        let key = format!("{name}-{n}");
        n += 1;
        // Browse: the product's page first, as a shopper would.
        let page = match http.get(format!("{base}/products/{product}")).send().await {
            Ok(r) if r.status().is_success() => r.text().await.is_ok_and(|html| html.contains("Add to cart")),
            _ => false,
        };
        let counter = if page { &tally.pages } else { &tally.pages_failed };
        counter.fetch_add(1, Ordering::Relaxed);
        let body = json!({
            "lines": [{ "product_id": product, "quantity": quantity }],
            "address": { "name": "Chaos Shopper", "street": "1 Chaos Rd", "city": "Netns", "region": "NS", "postal_code": "10770", "country": "Loopland" },
            "idempotency_key": key,
        });
        loop {
            match http.post(format!("{base}/api/checkout")).json(&body).send().await {
                Ok(r) if r.status().is_success() => {
                    tally.answered.lock().await.insert(key.clone(), quantity);
                    break;
                }
                Ok(r) if r.status().is_client_error() && r.status().as_u16() != 408 && r.status().as_u16() != 429 => {
                    let status = r.status();
                    tally.refusals.lock().await.push(format!("{key}: {status} {}", r.text().await.unwrap_or_default()));
                    break;
                }
                _ => {
                    // Lost in transit, a 5xx, a timeout: the same key again.
                    if Instant::now() > give_up {
                        tally.unanswered.lock().await.push(key.clone());
                        return Ok(());
                    }
                    tally.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
            }
        }
    }
    Ok(())
}

/// A catalog page's live view, as the browser keeps it.
#[derive(Default)]
struct View {
    products: BTreeMap<i64, ProductSummary>,
    /// The seq each product was last changed at, as this view learned it.
    changed_at: BTreeMap<i64, i64>,
    /// The seq of the last snapshot: every product changed in the log after it
    /// must have reached the view (`changed_at`) as of its latest change.
    snapshot_at: i64,
    seq: Option<Seq>,
    connects: u64,
    /// How each connection began (which upstream, snapshot or resume), for the
    /// report when a view does not converge.
    history: Vec<String>,
    misordered: u64,
}

impl View {
    /// The first product this view shows otherwise than `truth`, with the seqs involved.
    fn differs_from(&self, truth: &BTreeMap<i64, (i64, i64, i64)>) -> Option<(i64, String)> {
        let Some(at) = self.seq else { return Some((0, "no snapshot yet".into())) };
        let shown: BTreeMap<i64, (i64, i64, i64)> =
            self.products.iter().map(|(id, p)| (*id, (p.price.minor, p.stock, p.units_sold))).collect();
        if &shown == truth {
            return None;
        }
        let wrong = truth.iter().find(|(id, t)| shown.get(id) != Some(t)).map(|(id, t)| {
            let since = self.changed_at.get(id).map_or("the snapshot".to_string(), |s| format!("seq {s}"));
            (*id, format!("product {id} shows {:?} (from {since}; the view is at seq {}), database {t:?}", shown.get(id), at.0))
        });
        Some(wrong.unwrap_or_else(|| (0, format!("{} products shown, {} in the database", shown.len(), truth.len()))))
    }
}

/// Keep one catalog view current until `until`: on every disconnect, connect
/// again (through the load balancer: perhaps another instance) and resume from
/// the last seq seen.
async fn watch(url: &str, view: &Mutex<View>, until: Instant) {
    while Instant::now() < until {
        let _ = follow(url, view).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn follow(url: &str, view: &Mutex<View>) -> anyhow::Result<()> {
    let (mut ws, response) = tokio::time::timeout(Duration::from_secs(5), tokio_tungstenite::connect_async(url)).await??;
    // nginx names the instance it chose (multihost.sh adds the header).
    let upstream = response.headers().get("x-upstream").and_then(|v| v.to_str().ok()).unwrap_or("?").to_string();
    let since = {
        let mut v = view.lock().await;
        v.connects += 1;
        let line = format!("connection {} to {upstream}, since {:?}", v.connects, v.seq.map(|s| s.0));
        v.history.push(line);
        v.seq
    };
    let mut first = true;
    let subscribe = ClientMsg::Subscribe { topic: Topic::Catalog, since };
    ws.send(Message::text(serde_json::to_string(&subscribe)?)).await?;
    let mut ping = tokio::time::interval(Duration::from_secs(5));
    loop {
        let message = tokio::select! {
            m = ws.next() => m,
            _ = ping.tick() => {
                ws.send(Message::text(serde_json::to_string(&ClientMsg::Ping)?)).await?;
                continue;
            }
        };
        let text = match message {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_))) | None => return Ok(()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
        };
        let mut v = view.lock().await;
        let message = serde_json::from_str::<ServerMsg>(&text)?;
        if first {
            first = false;
            let how = match &message {
                ServerMsg::Snapshot { seq, .. } => format!("snapshot at {}", seq.0),
                ServerMsg::Change { seq, .. } | ServerMsg::Removed { seq, .. } => format!("first change {}", seq.0),
                _ => "other".into(),
            };
            if let Some(last) = v.history.last_mut() {
                last.push_str(&format!(": {how}"));
            }
        }
        match message {
            ServerMsg::Snapshot { seq, data, .. } => {
                let list: Vec<ProductSummary> = serde_json::from_str(data.get())?;
                v.products = list.into_iter().map(|p| (p.id.0, p)).collect();
                v.changed_at.clear();
                v.snapshot_at = seq.0;
                v.seq = Some(seq);
            }
            ServerMsg::Change { seq, data, .. } => {
                if v.seq.is_some_and(|s| seq <= s) {
                    v.misordered += 1;
                }
                let p: ProductSummary = serde_json::from_str(data.get())?;
                v.changed_at.insert(p.id.0, seq.0);
                v.products.insert(p.id.0, p);
                v.seq = Some(seq);
            }
            ServerMsg::Removed { seq, id, .. } => {
                if v.seq.is_some_and(|s| seq <= s) {
                    v.misordered += 1;
                }
                v.products.remove(&id);
                v.changed_at.insert(id, seq.0);
                v.seq = Some(seq);
            }
            ServerMsg::Error { message, .. } => bail!("the server refused the subscription: {message}"),
            ServerMsg::Pong | ServerMsg::Typing { .. } | ServerMsg::Presence { .. } => {}
        }
    }
}

/// Per product: (stock + units sold, units sold).
async fn totals(writer: &Writer) -> anyhow::Result<BTreeMap<i64, (i64, i64)>> {
    Ok(writer.rows("SELECT id, stock + units_sold, units_sold FROM products").await?.into_iter().map(|r| (r[0], (r[1], r[2]))).collect())
}

/// Per product: (price, stock, units sold), as a catalog view shows them.
async fn catalog(writer: &Writer) -> anyhow::Result<BTreeMap<i64, (i64, i64, i64)>> {
    Ok(writer
        .rows("SELECT id, price_cents, stock, units_sold FROM products")
        .await?
        .into_iter()
        .map(|r| (r[0], (r[1], r[2], r[3])))
        .collect())
}

/// Orders per idempotency key for keys of this run.
async fn orders_with_prefix(writer: &Writer, run_id: &str) -> anyhow::Result<BTreeMap<String, i64>> {
    writer
        .keyed_counts(
            "SELECT idempotency_key, count(*) FROM orders WHERE idempotency_key LIKE $1 GROUP BY idempotency_key",
            &keys_of(run_id),
        )
        .await
}

/// Units in this run's orders.
async fn units_sold_by(writer: &Writer, run_id: &str) -> anyhow::Result<i64> {
    let rows = writer
        .keyed_counts(
            "SELECT 'all', CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.idempotency_key LIKE $1",
            &keys_of(run_id),
        )
        .await?;
    Ok(rows.values().sum())
}

/// Units stored per idempotency key of this run.
async fn units_by_key(writer: &Writer, run_id: &str) -> anyhow::Result<BTreeMap<String, i64>> {
    writer
        .keyed_counts(
            "SELECT o.idempotency_key, CAST(SUM(l.quantity) AS BIGINT) FROM orders o JOIN order_lines l ON l.order_id = o.id \
             WHERE o.idempotency_key LIKE $1 GROUP BY o.idempotency_key",
            &keys_of(run_id),
        )
        .await
}

/// The LIKE pattern for this run's keys (`<run>b<buyer>-<n>`): the `b` keeps
/// run `…x4` from matching run `…x45`.
fn keys_of(run_id: &str) -> String {
    format!("{run_id}b%")
}
