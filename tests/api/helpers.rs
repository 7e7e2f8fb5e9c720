use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use app::model::ProductSummary;
use app::protocol::{ClientMsg, Seq, ServerMsg, Topic};
use app::server::Db;
use futures::{SinkExt as _, StreamExt as _};
use leptos::config::LeptosOptions;
use livecart::config::{Config, Limits};
use livecart::startup::Application;
use sqlx::Connection as _;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

/// How long a test waits for a frame that must come.
pub const WAIT: Duration = Duration::from_secs(10);

static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var("TEST_LOG").is_ok() {
        livecart::telemetry::init("info,sqlx=warn");
    }
});

/// A throwaway database, removed when dropped.
pub enum TestDb {
    Sqlite { _dir: tempfile::TempDir, url: String },
    Postgres { admin_url: String, name: String, url: String },
}

impl TestDb {
    pub async fn new() -> Self {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!("livecart_test_{}", uuid_ish());
                let mut admin = sqlx::PgConnection::connect(&admin_url).await.expect("connect to TEST_DATABASE_URL");
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create test database");
                let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(b, _)| b).to_string();
                TestDb::Postgres { url: format!("{base}/{name}"), admin_url, name }
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/livecart.db", dir.path().display());
                TestDb::Sqlite { _dir: dir, url }
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, TestDb::Postgres { .. })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name, .. } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; do the async work on a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async {
                    if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await;
                    }
                });
            })
            .join();
        }
    }
}

fn uuid_ish() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{}_{}_{}", std::process::id(), nanos % 1_000_000_000_000, N.fetch_add(1, Ordering::Relaxed))
}

pub struct TestApp {
    pub address: SocketAddr,
    pub db: Db,
    pub http: reqwest::Client,
    pub test_db: TestDb,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Limits::default()).await
}

pub async fn spawn_app_with(limits: Limits) -> TestApp {
    LazyLock::force(&TRACING);
    let test_db = TestDb::new().await;
    let leptos = LeptosOptions::builder()
        .output_name("livecart")
        .site_root("target/site")
        .site_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
        .build();
    let config = Config { leptos, database_url: test_db.url().to_string(), seed: true, allowed_origins: Vec::new(), limits };
    let app = Application::build(config).await.expect("build the app");
    let address = app.address();
    let db = app.state().db.clone();
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("http client");
    let test = TestApp { address, db, http, test_db };
    test.wait_until_healthy().await;
    test
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    async fn wait_until_healthy(&self) {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok(r) = self.http.get(self.url("/healthz")).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the app never became healthy");
    }

    /// Run SQL as an outside writer: a connection of its own, not the app's pool.
    pub async fn outside_sql(&self, sql: &str) {
        match &self.test_db {
            TestDb::Sqlite { url, .. } => {
                let mut c = sqlx::SqliteConnection::connect(url).await.expect("outside sqlite connection");
                sqlx::raw_sql(sql).execute(&mut c).await.expect("outside write");
                c.close().await.ok();
            }
            TestDb::Postgres { url, .. } => {
                let mut c = sqlx::PgConnection::connect(url).await.expect("outside postgres connection");
                sqlx::raw_sql(sql).execute(&mut c).await.expect("outside write");
                c.close().await.ok();
            }
        }
    }

    pub async fn ws(&self) -> WsClient {
        self.ws_with_origin(None).await.expect("websocket connects")
    }

    pub async fn ws_with_origin(&self, origin: Option<&str>) -> Result<WsClient, tokio_tungstenite::tungstenite::Error> {
        let mut request = format!("ws://{}/ws", self.address).into_client_request()?;
        if let Some(origin) = origin {
            request.headers_mut().insert("origin", origin.parse().expect("origin header"));
        }
        let (stream, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(WsClient { stream })
    }

    /// The whole catalog as the server renders it, with its seq.
    pub async fn catalog_snapshot(&self, ws: &mut WsClient) -> (Seq, Vec<ProductSummary>) {
        ws.send(&ClientMsg::Subscribe { topic: Topic::Catalog, since: None }).await;
        match ws.next().await {
            ServerMsg::Snapshot { topic: Topic::Catalog, seq, data } => (seq, serde_json::from_str(data.get()).expect("catalog data")),
            other => panic!("expected a catalog snapshot, got {other:?}"),
        }
    }
}

pub struct WsClient {
    stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl WsClient {
    pub async fn send(&mut self, msg: &ClientMsg) {
        self.send_text(&serde_json::to_string(msg).expect("encode")).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.stream.send(Message::text(text)).await.expect("send");
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.stream.send(Message::binary(bytes)).await.expect("send");
    }

    /// The next server frame; panics after [`WAIT`].
    pub async fn next(&mut self) -> ServerMsg {
        self.next_within(WAIT).await.unwrap_or_else(|| panic!("no frame within {WAIT:?}"))
    }

    /// The next server frame, or `None` when none comes within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<ServerMsg> {
        loop {
            let msg = tokio::time::timeout(wait, self.stream.next()).await.ok()?;
            match msg {
                Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).expect("a ServerMsg")),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("socket ended or sent something else: {other:?}"),
            }
        }
    }

    /// Ping and expect the pong: the socket is up and answering.
    pub async fn assert_alive(&mut self) {
        self.send(&ClientMsg::Ping).await;
        assert!(matches!(self.next().await, ServerMsg::Pong), "socket should still answer");
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

/// The product summary inside a change frame.
pub fn changed_product(msg: &ServerMsg) -> (Topic, Seq, ProductSummary) {
    match msg {
        ServerMsg::Change { topic, seq, data } => (topic.clone(), *seq, serde_json::from_str(data.get()).expect("product summary")),
        other => panic!("expected a change frame, got {other:?}"),
    }
}
