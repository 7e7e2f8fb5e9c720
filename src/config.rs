//! Configuration from flags and the environment.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use app::server::PoolSettings;
use app::server::auth::SignInLimits;
use leptos::config::LeptosOptions;

/// livecart: a real-time storefront.
///
/// Without a subcommand it serves the shop. The database is SQLite at
/// data/livecart.db unless DATABASE_URL says otherwise; it is created, migrated
/// and seeded with a demo catalog on first start.
#[derive(Debug, Parser)]
#[command(name = "livecart", version, about, long_about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub serve: ServeArgs,

    /// Log filter, e.g. "info" or "livecart=debug,sqlx=warn" (RUST_LOG wins when set)
    #[arg(long, global = true, default_value = "info,sqlx=warn,tower_http=warn", env = "LIVECART_LOG")]
    pub log: String,

    /// How log lines are written: text for people, json (one object a line) for collectors
    #[arg(long, global = true, value_enum, default_value_t = crate::telemetry::LogFormat::Text, env = "LIVECART_LOG_FORMAT")]
    pub log_format: crate::telemetry::LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the shop (the default)
    Serve(ServeArgs),
    /// Apply the database migrations and exit
    Migrate(DbArgs),
    /// Migrate, then load the demo catalog into an empty database; with
    /// --products N, also add N made-up products (for tests and benchmarks)
    Seed(SeedArgs),
    /// Manage accounts
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens for other systems (the JSON API under /api/v1)
    #[command(subcommand)]
    Token(TokenCommand),
    /// Copy the database to FILE, consistent while the shop serves.
    ///
    /// SQLite: a compact copy made with VACUUM INTO, safe to run at any time
    /// (purchases go on meanwhile). PostgreSQL: prints the pg_dump command to use.
    Backup {
        /// Where to write the copy (must not exist yet)
        file: std::path::PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Put a backup in place as the database, with the shop stopped.
    ///
    /// SQLite: checks FILE is a sound livecart database, then copies it to the
    /// database's path, which must not hold a database yet unless --force.
    /// PostgreSQL: prints the pg_restore command to use.
    Restore {
        /// A file made by `livecart backup`
        file: std::path::PathBuf,
        /// Replace an existing database
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; with --staff it may use the staff console at /admin.
    ///
    /// The password is asked for twice on the terminal, or read from the first
    /// line of standard input with --password-stdin (for scripts).
    Add {
        /// 3 to 40 letters, digits, '.', '_' or '-'
        username: String,
        /// Make the account staff
        #[arg(long)]
        staff: bool,
        /// Read the password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (once: only its hash is stored).
    ///
    /// Use it as `Authorization: Bearer <token>` on /api/v1. Staff can list and
    /// revoke tokens in the console at /admin/tokens.
    Create {
        /// What the token is for, e.g. "warehouse sync"
        #[arg(long)]
        name: String,
        /// read: list and read products and orders; write: also change them
        #[arg(long, default_value = "read", value_parser = ["read", "write"])]
        scope: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Also add this many made-up products (plausible names, descriptions,
    /// prices and stock, in the demo categories) after what is there, e.g.
    /// 100000. Added through the same triggers as any write, 5,000 per
    /// transaction, so a running shop keeps serving meanwhile.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub products: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// sqlite://path/to/file.db or postgres://user@host:port/db
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/livecart.db")]
    pub database_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,

    /// Address to listen on [default: LEPTOS_SITE_ADDR, else 127.0.0.1:3000]
    #[arg(long, env = "LIVECART_ADDR")]
    pub addr: Option<SocketAddr>,

    /// Do not seed the demo catalog into an empty database
    #[arg(long, env = "LIVECART_NO_SEED")]
    pub no_seed: bool,

    /// Extra origins allowed to open the socket and post to /api, comma-separated
    /// (e.g. https://shop.example.com when a proxy rewrites Host)
    #[arg(long, env = "LIVECART_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Mark the session cookie Secure and send HSTS (set this when serving behind TLS)
    #[arg(long, env = "LIVECART_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// Proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-For
    /// or Forwarded header names the client, e.g. 127.0.0.1,10.0.0.0/8. From any
    /// other peer those headers are ignored and the TCP peer is the client.
    #[arg(long, env = "LIVECART_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Besides loopback, who may read /metrics: addresses or CIDR ranges,
    /// comma-separated (e.g. a Prometheus host). Everyone else gets 404.
    #[arg(long, env = "LIVECART_METRICS_ALLOW", value_delimiter = ',', value_parser = parse_net)]
    pub metrics_allow: Vec<ipnet::IpNet>,

    /// Accounts one client address may register per hour
    #[arg(long, env = "LIVECART_REGISTRATIONS_PER_HOUR", default_value_t = SignInLimits::default().registrations_per_address,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub registrations_per_hour: u32,

    /// Questions one account may ask about products per hour
    #[arg(long, env = "LIVECART_QUESTIONS_PER_HOUR", default_value_t = SignInLimits::default().questions_per_account,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub questions_per_hour: u32,

    /// Database connections at most [default: 8 on SQLite, 16 on PostgreSQL]
    #[arg(long, env = "LIVECART_DB_POOL_SIZE", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_pool_size: Option<u32>,

    /// Seconds a request waits for a free database connection before it fails
    #[arg(long, env = "LIVECART_DB_ACQUIRE_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub db_acquire_timeout: u64,

    /// SQLite: seconds a statement waits for another writer (an outside sqlite3, say)
    #[arg(long, env = "LIVECART_DB_BUSY_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub db_busy_timeout: u64,

    /// On SIGTERM, seconds /healthz answers 503 "draining" (sockets already told
    /// to reconnect elsewhere) before new connections are refused, so a load
    /// balancer sees it first. Ctrl-C skips it.
    #[arg(long, env = "LIVECART_DRAIN_GRACE", default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=300))]
    pub drain_grace: u64,

    /// Seconds requests in flight get to finish once the server stops taking new ones
    #[arg(long, env = "LIVECART_SHUTDOWN_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub shutdown_timeout: u64,

    /// Compression quality for pages and API answers made per request (brotli
    /// 0-11; gzip takes at most 9). Built files are compressed once, at build
    /// time, by `cargo leptos build --release --precompress`.
    #[arg(long, env = "LIVECART_COMPRESSION_LEVEL", default_value_t = DEFAULT_COMPRESSION_LEVEL,
          value_parser = clap::value_parser!(u32).range(0..=11))]
    pub compression_level: u32,

    /// Serve /_faults, a control endpoint that breaks things on purpose (drop
    /// sockets, pause the feed, delay frames, fail checkouts) for end-to-end
    /// tests. Never in production; only loopback clients may use it.
    #[arg(long, env = "LIVECART_FAULT_INJECTION")]
    pub fault_injection: bool,

    /// How long the change log keeps entries for resuming clients, in hours
    #[arg(long, env = "LIVECART_LOG_RETENTION_HOURS", default_value_t = 24)]
    pub log_retention_hours: u64,

    /// Requests per second one API token may make on /api/v1 (bursts of twice that)
    #[arg(long, env = "LIVECART_API_RATE", default_value_t = Limits::default().api_requests_per_second,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub api_rate: u32,

    /// Topics one WebSocket may follow at once
    #[arg(long, env = "LIVECART_MAX_SUBSCRIPTIONS", default_value_t = Limits::default().subscriptions_per_socket,
          value_parser = parse_positive)]
    pub max_subscriptions: usize,

    /// Frames queued for one slow socket before it is re-synced with a snapshot
    #[arg(long, env = "LIVECART_SOCKET_QUEUE", default_value_t = Limits::default().socket_queue, value_parser = parse_positive)]
    pub socket_queue: usize,
}

/// An address (a single host) or a CIDR range.
fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("'{s}' is not an IP address or a CIDR range like 10.0.0.0/8"))
}

fn parse_positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{s}' is not a whole number above 0")),
    }
}

impl ServeArgs {
    pub fn into_config(self) -> anyhow::Result<Config> {
        let mut leptos =
            leptos::config::get_configuration(None).context("reading the Leptos configuration (LEPTOS_* variables)")?.leptos_options;
        if let Some(addr) = self.addr {
            leptos.site_addr = addr;
        }
        // cargo-leptos sets the output name; a binary started on its own (a deployed
        // instance, the benchmark) would otherwise link /pkg/.js and never hydrate.
        if leptos.output_name.is_empty() {
            leptos.output_name = "livecart".into();
        }
        crate::assets::resolve_hashing(&mut leptos)?;
        Ok(Config {
            leptos,
            database_url: self.db.database_url,
            seed: !self.no_seed,
            allowed_origins: self.allowed_origins,
            secure_cookies: self.secure_cookies,
            trusted_proxies: self.trusted_proxies,
            metrics_allow: self.metrics_allow,
            fault_injection: self.fault_injection,
            compression_level: self.compression_level,
            drain_grace: Duration::from_secs(self.drain_grace),
            shutdown_timeout: Duration::from_secs(self.shutdown_timeout),
            pool: PoolSettings {
                max_connections: self.db_pool_size,
                acquire_timeout: Duration::from_secs(self.db_acquire_timeout),
                busy_timeout: Duration::from_secs(self.db_busy_timeout),
            },
            limits: Limits {
                sign_in: SignInLimits {
                    registrations_per_address: self.registrations_per_hour,
                    questions_per_account: self.questions_per_hour,
                    ..SignInLimits::default()
                },
                log_retention: Duration::from_secs(self.log_retention_hours.saturating_mul(3600)),
                api_requests_per_second: self.api_rate,
                subscriptions_per_socket: self.max_subscriptions,
                socket_queue: self.socket_queue,
                ..Limits::default()
            },
        })
    }
}

/// Per-request compression quality: measured on the real pages (docs/benchmarks.md).
pub const DEFAULT_COMPRESSION_LEVEL: u32 = 4;

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub leptos: LeptosOptions,
    pub database_url: String,
    pub seed: bool,
    pub allowed_origins: Vec<String>,
    pub secure_cookies: bool,
    /// Peers whose forwarding headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Besides loopback, clients that may read `/metrics`.
    pub metrics_allow: Vec<ipnet::IpNet>,
    /// Serve the fault-injection control endpoint (tests only).
    pub fault_injection: bool,
    /// Quality of per-request compression (see `--compression-level`).
    pub compression_level: u32,
    /// Database pool size and timeouts.
    pub pool: PoolSettings,
    /// SIGTERM: how long /healthz says "draining" before new connections are refused.
    pub drain_grace: Duration,
    /// How long requests in flight get once the server stops taking new ones.
    pub shutdown_timeout: Duration,
    pub limits: Limits,
}

/// Bounds that keep one client from costing the server without limit.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest inbound WebSocket message answered with anything but `too_large`.
    pub ws_message_bytes: usize,
    /// Largest inbound WebSocket message before the connection itself is closed.
    pub ws_hard_message_bytes: usize,
    /// Topics one socket may follow at once.
    pub subscriptions_per_socket: usize,
    /// Frames queued for one socket before it is re-synced with snapshots.
    pub socket_queue: usize,
    /// Inbound frames per second per socket (burst allowed).
    pub frames_per_second: u32,
    /// Request body limit for the HTTP API.
    pub api_body_bytes: usize,
    /// Requests per second one API token may make (bursts of twice that).
    pub api_requests_per_second: u32,
    /// How often the feed looks at the log without a wake-up.
    pub feed_poll: Duration,
    /// How long and how much of the change log is kept for resuming.
    pub log_retention: Duration,
    pub log_max_rows: i64,
    /// Failed sign-ins and registrations allowed.
    pub sign_in: SignInLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            ws_message_bytes: 16 * 1024,
            ws_hard_message_bytes: 1024 * 1024,
            subscriptions_per_socket: 64,
            socket_queue: 512,
            frames_per_second: 50,
            api_body_bytes: 64 * 1024,
            api_requests_per_second: 50,
            feed_poll: Duration::from_millis(20),
            log_retention: Duration::from_secs(24 * 3600),
            log_max_rows: 1_000_000,
            sign_in: SignInLimits::default(),
        }
    }
}
