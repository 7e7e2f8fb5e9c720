//! A busy product's questions: N sockets follow one product's board while
//! signed-in clients ask and upvote through the real server functions. Reports
//! how long a question or a vote takes to reach every socket, and checks that
//! no vote is lost or counted twice: every socket ends with the database's
//! counts, and the database counts exactly the votes cast.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use serde_json::json;
use tokio::sync::{Barrier, Mutex, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::report::{self, histogram, percentiles};
use crate::server::{ServerArgs, Target, Writer};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// Sockets following the product's questions (`questions:{product}`)
    #[arg(long, default_value_t = 1000)]
    sockets: usize,
    /// Signed-in clients asking and voting (each votes a question at most once)
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Questions and votes per second, together (one in five is a question)
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// Seconds of asking and voting
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// The product everyone looks at
    #[arg(long, default_value_t = 1)]
    product: i64,
    /// Sockets opened per second while ramping up
    #[arg(long, default_value_t = 1000)]
    ramp: u32,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

/// What a socket saw of one question: its vote count each time it changed.
type Seen = HashMap<i64, Vec<(i64, Instant)>>;

/// One write: when it was sent, and what every socket should come to show.
enum Op {
    /// A question with this text; shown once it is listed.
    Ask { body: String, at: Instant },
    /// An upvote that brought the question to `votes`; shown once a socket
    /// shows that many (or more: votes only grow in this run).
    Vote { question: i64, votes: i64, at: Instant },
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.sockets == 0 || args.clients < 2 || args.rate <= 0.0 || args.duration == 0 {
        bail!("--sockets, --rate and --duration must be positive and --clients at least 2");
    }
    let target = Target::start(&args.server).await?;
    let writer = Writer::connect(&target.database_url).await?;
    let on_sale = writer.scalar("SELECT count(*) FROM products WHERE id = $1 AND archived_at IS NULL", args.product).await?;
    if on_sale == 0 {
        bail!("product {} is not on sale", args.product);
    }
    let before = writer.scalar("SELECT count(*) FROM questions WHERE product_id = $1", args.product).await?;
    if before > 0 {
        bail!("product {} already has {before} questions; use a fresh database or another --product", args.product);
    }

    report::progress(&format!("signing up {} clients", args.clients));
    let clients = target.sign_up(args.clients, "qa").await?;

    let topic = format!("questions:{}", args.product);
    let connected = Arc::new(AtomicUsize::new(0));
    let ready = Arc::new(Barrier::new(args.sockets + 1));
    let (stop, stopped) = watch::channel(false);
    let mut sockets = Vec::with_capacity(args.sockets);
    let gap = Duration::from_secs_f64(1.0 / f64::from(args.ramp.max(1)));
    for i in 0..args.sockets {
        let (url, topic, ready_, connected_, stopped) = (target.ws_url(), topic.clone(), ready.clone(), connected.clone(), stopped.clone());
        sockets.push(tokio::spawn(async move { follower(&url, &topic, &ready_, &connected_, stopped).await }));
        tokio::time::sleep(gap).await;
        if i % 200 == 0 {
            report::progress(&format!("connecting: {}/{}", connected.load(Ordering::Relaxed), args.sockets));
        }
    }
    ready.wait().await;
    report::progress(&format!("{} sockets on {topic}; settling", args.sockets));
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Asking and voting, paced: op k at k / rate seconds; every fifth asks.
    let ops: Arc<Mutex<Vec<Op>>> = Arc::default();
    let questions: Arc<Mutex<Vec<i64>>> = Arc::default();
    let voted: Arc<Mutex<HashSet<(usize, i64)>>> = Arc::default();
    let refused = Arc::new(AtomicUsize::new(0));
    let clients = Arc::new(clients);
    let total = (args.rate * args.duration as f64).round() as usize;
    let every = Duration::from_secs_f64(1.0 / args.rate);
    let server_cpu0 = target.cpu();
    let t0 = Instant::now();
    let mut writes = Vec::with_capacity(total);
    for k in 0..total {
        tokio::time::sleep_until((t0 + every.mul_f64(k as f64)).into()).await;
        let (base, product, ops, questions, voted, refused, clients) =
            (target.base.clone(), args.product, ops.clone(), questions.clone(), voted.clone(), refused.clone(), clients.clone());
        writes.push(tokio::spawn(async move {
            let client = k % clients.len();
            let asking = k % 5 == 0 || questions.lock().await.is_empty();
            if asking {
                let body = format!("Bench question {k}: does it come in blue?");
                let at = Instant::now();
                let r = clients[client]
                    .post(format!("{base}/api/ask_question"))
                    .form(&[("product", product.to_string()), ("body", body.clone())])
                    .send()
                    .await?;
                if !r.status().is_success() {
                    refused.fetch_add(1, Ordering::Relaxed);
                    return anyhow::Ok(());
                }
                let id: i64 = r.json().await?;
                questions.lock().await.push(id);
                voted.lock().await.insert((client, id));
                ops.lock().await.push(Op::Ask { body, at });
                return anyhow::Ok(());
            }
            // A question this client has not voted for yet (the newest first).
            let question = {
                let (questions, mut voted) = (questions.lock().await, voted.lock().await);
                let Some(q) = questions.iter().rev().copied().find(|q| !voted.contains(&(client, *q))) else { return Ok(()) };
                voted.insert((client, q));
                q
            };
            let at = Instant::now();
            let r = clients[client]
                .post(format!("{base}/api/vote_question"))
                .form(&[("question", question.to_string()), ("up", "true".to_string())])
                .send()
                .await?;
            if !r.status().is_success() {
                refused.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            let state: serde_json::Value = r.json().await?;
            let votes = state["votes"].as_i64().context("votes in the answer")?;
            ops.lock().await.push(Op::Vote { question, votes, at });
            Ok(())
        }));
        if k % 50 == 0 {
            report::progress(&format!("asking and voting: {}/{total}", k + 1));
        }
    }
    for w in writes {
        w.await??;
    }
    let elapsed = t0.elapsed();
    report::progress("waiting for the last frames");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let server_cpu = target.cpu().zip(server_cpu0).map(|(a, b)| a.saturating_sub(b));
    let _ = stop.send(true);

    // The database: votes per question, vote rows, and the votes cast.
    let db_votes: HashMap<i64, i64> = writer
        .rows(&format!("SELECT id, votes FROM questions WHERE product_id = {}", args.product))
        .await?
        .into_iter()
        .filter_map(|r| Some((*r.first()?, *r.get(1)?)))
        .collect();
    let rows = writer
        .scalar("SELECT count(*) FROM question_votes v JOIN questions q ON q.id = v.question_id WHERE q.product_id = $1", args.product)
        .await?;
    let ops = std::mem::take(&mut *ops.lock().await);
    let cast = ops.len() as i64; // each ask carries its author's vote
    let counted: i64 = db_votes.values().sum();

    let mut latency = histogram();
    let (mut lost, mut wrong_final, mut failed) = (0_usize, 0_usize, 0_usize);
    let mut frames = 0_usize;
    for task in sockets {
        let Ok(Ok((seen, bodies))) = task.await else {
            failed += 1;
            continue;
        };
        frames += seen.values().map(Vec::len).sum::<usize>();
        for (id, votes) in &db_votes {
            if seen.get(id).and_then(|s| s.last()).map(|(v, _)| *v) != Some(*votes) {
                wrong_final += 1;
            }
        }
        for op in &ops {
            let shown = match op {
                Op::Ask { body, at } => bodies.get(body).map(|when| (when, at)),
                Op::Vote { question, votes, at } => {
                    seen.get(question).and_then(|s| s.iter().find(|(v, _)| v >= votes)).map(|(_, when)| (when, at))
                }
            };
            match shown {
                Some((when, at)) => {
                    let _ = latency.record(when.checked_duration_since(*at).map_or(1, |d| d.as_micros().max(1) as u64));
                }
                None => lost += 1,
            }
        }
    }
    report::progress_done();
    let asks = ops.iter().filter(|o| matches!(o, Op::Ask { .. })).count();
    let result = json!({
        "sockets": args.sockets,
        "clients": args.clients,
        "database": if target.database_url.starts_with("postgres") { "postgres" } else { "sqlite" },
        "questions": asks,
        "votes": ops.len() - asks,
        "refused": refused.load(Ordering::Relaxed),
        "writes_per_s": ops.len() as f64 / elapsed.as_secs_f64(),
        "frames_received": frames,
        "write_to_every_socket": percentiles(&latency),
        "not_shown": lost,
        "sockets_ending_off_the_database": wrong_final,
        "failed_sockets": failed,
        "votes_cast": cast,
        "votes_counted": counted,
        "vote_rows": rows,
        "server_cpu_us_per_write": server_cpu.map(|c| (c.as_secs_f64() * 1e6 / ops.len().max(1) as f64).round()),
    });
    report::print("questions", &result, args.json);
    if lost + wrong_final + failed > 0 || counted != cast || rows != cast {
        bail!(
            "not exact: {lost} writes never shown, {wrong_final} final counts off, {failed} sockets failed; \
             {cast} votes cast, {counted} counted, {rows} rows"
        );
    }
    Ok(())
}

/// One viewer of the product page: follow its questions, note every vote
/// count as it changes and when each question first appeared.
async fn follower(
    url: &str,
    topic: &str,
    ready: &Barrier,
    connected: &AtomicUsize,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<(Seen, HashMap<String, Instant>)> {
    let opened = async { crate::fanout::subscribed(url, &[topic.to_string()]).await }.await;
    connected.fetch_add(1, Ordering::Relaxed);
    ready.wait().await;
    let mut ws = opened?;
    let (mut seen, mut bodies): (Seen, HashMap<String, Instant>) = Default::default();
    loop {
        let next = tokio::select! {
            next = ws.next() => next,
            _ = stop.wait_for(|s| *s) => break,
        };
        match next {
            Some(Ok(Message::Text(text))) => {
                let v: serde_json::Value = serde_json::from_str(&text)?;
                if v["type"] != "change" {
                    continue;
                }
                let (Some(id), Some(votes)) = (v["data"]["id"].as_i64(), v["data"]["votes"].as_i64()) else { continue };
                let now = Instant::now();
                if let Some(body) = v["data"]["body"].as_str() {
                    bodies.entry(body.to_string()).or_insert(now);
                }
                let history = seen.entry(id).or_default();
                if history.last().is_none_or(|(last, _)| *last != votes) {
                    history.push((votes, now));
                }
            }
            Some(Ok(_)) => {}
            _ => break,
        }
    }
    let _ = ws.close(None).await;
    Ok((seen, bodies))
}
