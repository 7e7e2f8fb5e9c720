//! The server under test: started here on a fresh database, or one already running.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::process::{Child, Command};

/// Which server to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Livecart,
    /// bench/peer-node: fastify + @fastify/websocket on the same PostgreSQL
    /// change_log (needs --database-url postgres://...; `npm ci` in bench/peer-node)
    Node,
    /// The floor: a bare tokio + tungstenite broadcaster in this binary, one
    /// precomputed frame written to every socket; no database, topics,
    /// authorisation or seq (fan-out only)
    Bare,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// The server to start: livecart, or the Node peer (fan-out only)
    #[arg(long, value_enum, default_value_t = Kind::Livecart)]
    pub target: Kind,
    /// A running livecart to measure (e.g. http://127.0.0.1:3000); then
    /// --database-url must name its database. Without it, one is started.
    #[arg(long)]
    pub url: Option<String>,
    /// Database for the started server (default: a fresh SQLite file), or the
    /// running server's database (for outside writes)
    #[arg(long, env = "BENCH_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The livecart binary to start
    #[arg(long, default_value = "target/release/livecart")]
    pub server_bin: PathBuf,
    /// Tokio worker threads for the started server (default: one per core)
    #[arg(long)]
    pub server_threads: Option<usize>,
    /// PID of a running server, to read its memory from /proc
    #[arg(long)]
    pub server_pid: Option<u32>,
}

/// A server to measure; a started one is stopped on drop.
pub struct Target {
    pub base: String,
    pub database_url: String,
    pub pid: Option<u32>,
    _child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

impl Target {
    /// Add made-up products to the target's database with `livecart seed
    /// --products N` (the server binary's own command), through the triggers
    /// as any write, while the server runs.
    pub async fn seed_products(&self, args: &ServerArgs, n: u64) -> anyhow::Result<()> {
        let status = Command::new(&args.server_bin)
            .args(["seed", "--products", &n.to_string(), "--database-url", &self.database_url])
            .stdout(Stdio::null())
            .status()
            .await
            .with_context(|| format!("running {} seed", args.server_bin.display()))?;
        if !status.success() {
            bail!("`livecart seed --products {n}` failed ({status})");
        }
        Ok(())
    }

    pub async fn start(args: &ServerArgs) -> anyhow::Result<Self> {
        if let Some(url) = &args.url {
            let Some(db) = args.database_url.clone() else { bail!("--url needs --database-url (the server's database)") };
            let target =
                Target { base: url.trim_end_matches('/').to_string(), database_url: db, pid: args.server_pid, _child: None, _dir: None };
            target.wait_healthy(Duration::from_secs(5)).await?;
            return Ok(target);
        }
        if args.target == Kind::Bare {
            return Self::start_bare().await;
        }
        if !args.server_bin.exists() {
            bail!(
                "{} not found: build it with `cargo leptos build --release --split`, or pass --server-bin or --url",
                args.server_bin.display()
            );
        }
        let dir = tempfile::tempdir()?;
        let database_url = match &args.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}/bench.db", dir.path().display()),
        };
        let port = free_port()?;
        let mut command = Command::new(&args.server_bin);
        command
            .env("DATABASE_URL", &database_url)
            .env("LIVECART_ADDR", format!("127.0.0.1:{port}"))
            .env("LIVECART_LOG", "warn")
            // Every client of a run signs up and asks from one address.
            .env("LIVECART_REGISTRATIONS_PER_HOUR", "1000000")
            .env("LIVECART_QUESTIONS_PER_HOUR", "1000000")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(threads) = args.server_threads {
            command.env("TOKIO_WORKER_THREADS", threads.to_string());
        }
        let child = command.spawn().with_context(|| format!("starting {}", args.server_bin.display()))?;
        let pid = child.id();
        let target = Target { base: format!("http://127.0.0.1:{port}"), database_url, pid, _child: Some(child), _dir: Some(dir) };
        target.wait_healthy(Duration::from_secs(60)).await?;
        if args.target == Kind::Livecart {
            return Ok(target);
        }
        // livecart has migrated and seeded the database; now the Node peer serves it.
        if !target.database_url.starts_with("postgres") {
            bail!("--target node needs --database-url postgres://... (it tails PostgreSQL's change_log)");
        }
        let Target { database_url, _dir, .. } = target;
        let port = free_port()?;
        let peer = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("peer-node/server.js");
        let child = Command::new("node")
            .arg(&peer)
            .env("DATABASE_URL", &database_url)
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting node {} (run `npm ci` in bench/peer-node first)", peer.display()))?;
        let pid = child.id();
        let target = Target { base: format!("http://127.0.0.1:{port}"), database_url, pid, _child: Some(child), _dir };
        target.wait_healthy(Duration::from_secs(30)).await?;
        Ok(target)
    }

    /// This binary's `bare-serve`, on two free ports; its "database URL" names
    /// the control port, which [`Writer`] sends changes to.
    async fn start_bare() -> anyhow::Result<Self> {
        let (port, control) = (free_port()?, free_port()?);
        let child = Command::new(std::env::current_exe()?)
            .args(["bare-serve", "--port", &port.to_string(), "--control-port", &control.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting the bare broadcaster")?;
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", control)).await.is_err() {
            if Instant::now() > deadline {
                bail!("the bare broadcaster did not start");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Target {
            base: format!("http://127.0.0.1:{port}"),
            database_url: format!("bare://127.0.0.1:{control}"),
            pid,
            _child: Some(child),
            _dir: None,
        })
    }

    async fn wait_healthy(&self, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        let client = reqwest::Client::new();
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", self.base)).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{} did not become healthy within {within:?}", self.base);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `n` new accounts, signed in: one cookie-keeping HTTP client each.
    pub async fn sign_up(&self, n: usize, prefix: &str) -> anyhow::Result<Vec<reqwest::Client>> {
        let mut clients = Vec::with_capacity(n);
        for i in 0..n {
            let http = reqwest::Client::builder().cookie_store(true).build()?;
            let name = format!("{prefix}{}x{i}", std::process::id());
            let r = http
                .post(format!("{}/api/register", self.base))
                .form(&[("username", name.as_str()), ("password", "benchmark passphrase")])
                .send()
                .await?;
            if !(r.status().is_success() || r.status().is_redirection()) {
                bail!("signing up {name}: {} (a started server allows it; a running one needs --registrations-per-hour)", r.status());
            }
            clients.push(http);
        }
        Ok(clients)
    }

    pub fn ws_url(&self) -> String {
        format!("{}/ws", self.base.replacen("http", "ws", 1))
    }

    /// The server process's own resident memory in KiB (`RssAnon`: heap and
    /// stacks), when its PID is known. Not `VmRSS`: livecart maps its SQLite
    /// file into each connection, and those pages, shared with the OS's file
    /// cache, would count once per connection.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid?)).ok()?;
        status.lines().find_map(|l| l.strip_prefix("RssAnon:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// CPU time the server process has used so far (user + system), when its PID is known.
    pub fn cpu(&self) -> Option<Duration> {
        cpu_of(&format!("/proc/{}/stat", self.pid?))
    }
}

/// CPU time used by a process (user + system) from its `/proc/…/stat`.
pub fn cpu_of(stat_path: &str) -> Option<Duration> {
    cpu_in(&std::fs::read_to_string(stat_path).ok()?)
}

fn cpu_in(stat: &str) -> Option<Duration> {
    // USER_HZ: /proc reports clock ticks of 1/100 s on every Linux architecture.
    const TICKS_PER_S: f64 = 100.0;
    // Fields after the parenthesised command name (which may hold spaces).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(ticks as f64 / TICKS_PER_S))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// An outside writer: connections of its own to the server's database, as a
/// `sqlite3` or `psql` session would be.
pub enum Writer {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
    /// The bare broadcaster's control port: each change is its price, answered `ok`.
    Bare(tokio::sync::Mutex<tokio::io::BufStream<tokio::net::TcpStream>>),
}

impl Writer {
    pub async fn connect(database_url: &str) -> anyhow::Result<Self> {
        if let Some(address) = database_url.strip_prefix("bare://") {
            let stream = tokio::net::TcpStream::connect(address).await.context("connecting to the bare broadcaster")?;
            stream.set_nodelay(true)?;
            return Ok(Writer::Bare(tokio::sync::Mutex::new(tokio::io::BufStream::new(stream))));
        }
        Ok(if database_url.starts_with("postgres") {
            Writer::Postgres(sqlx::postgres::PgPoolOptions::new().max_connections(4).connect(database_url).await?)
        } else {
            use std::str::FromStr as _;
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)?.busy_timeout(Duration::from_secs(10));
            Writer::Sqlite(sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(options).await?)
        })
    }

    /// Run one statement with two integer parameters ($1, $2) in its own transaction.
    pub async fn exec(&self, sql: &str, a: i64, b: i64) -> anyhow::Result<u64> {
        Ok(match self {
            Writer::Sqlite(p) => sqlx::query(sql).bind(a).bind(b).execute(p).await?.rows_affected(),
            Writer::Postgres(p) => sqlx::query(sql).bind(a).bind(b).execute(p).await?.rows_affected(),
            Writer::Bare(_) => bail!("the bare broadcaster has no database to write to"),
        })
    }

    /// Set one product's price: an `UPDATE` committed on its own, or for the
    /// bare broadcaster the price sent to its control port (answered `ok`).
    pub async fn set_price(&self, product: i64, price: i64) -> anyhow::Result<()> {
        use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
        let Writer::Bare(stream) = self else {
            self.exec("UPDATE products SET price_cents = $1 WHERE id = $2", price, product).await?;
            return Ok(());
        };
        let mut stream = stream.lock().await;
        stream.write_all(format!("{price}\n").as_bytes()).await?;
        stream.flush().await?;
        let mut ok = String::new();
        stream.read_line(&mut ok).await?;
        if ok.trim() != "ok" {
            bail!("the bare broadcaster answered {ok:?}");
        }
        Ok(())
    }

    /// Every row of a query whose columns are all integers.
    pub async fn rows(&self, sql: &str) -> anyhow::Result<Vec<Vec<i64>>> {
        use sqlx::Row as _;
        Ok(match self {
            Writer::Sqlite(p) => {
                sqlx::query(sql).fetch_all(p).await?.iter().map(|r| (0..r.len()).map(|i| r.get::<i64, _>(i)).collect()).collect()
            }
            Writer::Postgres(p) => {
                sqlx::query(sql).fetch_all(p).await?.iter().map(|r| (0..r.len()).map(|i| r.get::<i64, _>(i)).collect()).collect()
            }
            Writer::Bare(_) => bail!("the bare broadcaster has no database to query"),
        })
    }

    /// (text, integer) rows of a query with one text parameter, as a map.
    pub async fn keyed_counts(&self, sql: &str, a: &str) -> anyhow::Result<std::collections::BTreeMap<String, i64>> {
        Ok(match self {
            Writer::Sqlite(p) => sqlx::query_as::<_, (String, i64)>(sql).bind(a).fetch_all(p).await?.into_iter().collect(),
            Writer::Postgres(p) => sqlx::query_as::<_, (String, i64)>(sql).bind(a).fetch_all(p).await?.into_iter().collect(),
            Writer::Bare(_) => bail!("the bare broadcaster has no database to query"),
        })
    }

    /// One integer from a query with one integer parameter.
    pub async fn scalar(&self, sql: &str, a: i64) -> anyhow::Result<i64> {
        Ok(match self {
            Writer::Sqlite(p) => sqlx::query_scalar(sql).bind(a).fetch_one(p).await?,
            Writer::Postgres(p) => sqlx::query_scalar(sql).bind(a).fetch_one(p).await?,
            Writer::Bare(_) => bail!("the bare broadcaster has no database to query"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_user_plus_system_even_when_the_name_has_spaces() {
        let stat = "4242 (tokio rt (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 4 0 1000 0 0";
        assert_eq!(cpu_in(stat), Some(Duration::from_millis(3250)));
        assert_eq!(cpu_in("garbage"), None);
        assert!(cpu_of("/proc/self/stat").is_some(), "this process' own CPU time is readable");
    }
}
