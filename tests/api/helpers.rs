use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use app::model::ProductSummary;
use app::protocol::{ClientMsg, Seq, ServerMsg, Topic};
use app::server::Db;
use app::server::queries::catalog::topic_snapshot_json;
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
    // TEST_LOG=1 logs the test servers at info; TEST_LOG=<filter> (e.g.
    // "debug,hyper=info") with that filter, without touching RUST_LOG, which
    // the livecart binaries a test runs would also read.
    if let Ok(filter) = std::env::var("TEST_LOG") {
        let filter = if filter == "1" { "info,sqlx=warn".to_string() } else { filter };
        livecart::telemetry::init(&filter, livecart::telemetry::LogFormat::Text);
    }
});

/// A throwaway database, removed when dropped.
pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
    /// Another instance's database: used, never dropped here.
    Shared {
        url: String,
        postgres: bool,
    },
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
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } | TestDb::Shared { url, .. } => url,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, TestDb::Postgres { .. } | TestDb::Shared { postgres: true, .. })
    }

    /// The same database, for a second instance.
    pub fn shared(&self) -> TestDb {
        TestDb::Shared { url: self.url().to_string(), postgres: self.is_postgres() }
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
    /// Stops the server as a signal would (see [`TestApp::stop`]).
    stop: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<livecart::startup::Stop>>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Limits::default()).await
}

pub async fn spawn_app_with(limits: Limits) -> TestApp {
    spawn_app_on(TestDb::new().await, limits).await
}

/// An app on a given database (a second instance shares the first one's).
pub async fn spawn_app_on(test_db: TestDb, limits: Limits) -> TestApp {
    spawn_app_configured(test_db, limits, |_| {}).await
}

/// An app whose configuration the test adjusts (trusted proxies, fault injection …).
pub async fn spawn_app_configured(test_db: TestDb, limits: Limits, adjust: impl FnOnce(&mut Config)) -> TestApp {
    LazyLock::force(&TRACING);
    let leptos =
        LeptosOptions::builder().output_name("livecart").site_root("target/site").site_addr(SocketAddr::from(([127, 0, 0, 1], 0))).build();
    let config = Config {
        leptos,
        database_url: test_db.url().to_string(),
        seed: true,
        allowed_origins: Vec::new(),
        secure_cookies: false,
        trusted_proxies: Vec::new(),
        metrics_allow: Vec::new(),
        fault_injection: false,
        compression_level: livecart::config::DEFAULT_COMPRESSION_LEVEL,
        pool: Default::default(),
        drain_grace: Duration::from_millis(300),
        shutdown_timeout: Duration::from_secs(5),
        limits,
    };
    let mut config = config;
    adjust(&mut config);
    let app = Application::build(config).await.expect("build the app");
    let address = app.address();
    let db = app.state().db.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    tokio::spawn(app.run_until(async move {
        match stopped.await {
            Ok(how) => how,
            Err(_) => std::future::pending().await, // the test ended: the runtime goes with it
        }
    }));
    let http = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("http client");
    let test = TestApp { address, db, http, test_db, stop: std::sync::Mutex::new(Some(stop)) };
    test.wait_until_healthy().await;
    test
}

impl TestApp {
    /// Stop the server as SIGTERM (or Ctrl-C) would: it drains.
    pub fn stop(&self, how: livecart::startup::Stop) {
        if let Some(stop) = self.stop.lock().expect("stop lock").take() {
            let _ = stop.send(how);
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    async fn wait_until_healthy(&self) {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok(r) = self.http.get(self.url("/healthz")).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the app never became healthy");
    }

    /// Run SQL as an outside writer: a connection of its own, not the app's pool.
    pub async fn outside_sql(&self, sql: &str) {
        match &self.test_db {
            TestDb::Sqlite { url, .. } | TestDb::Shared { url, postgres: false } => {
                let mut c = sqlx::SqliteConnection::connect(url).await.expect("outside sqlite connection");
                sqlx::raw_sql(sql).execute(&mut c).await.expect("outside write");
                c.close().await.ok();
            }
            TestDb::Postgres { url, .. } | TestDb::Shared { url, postgres: true } => {
                let mut c = sqlx::PgConnection::connect(url).await.expect("outside postgres connection");
                sqlx::raw_sql(sql).execute(&mut c).await.expect("outside write");
                c.close().await.ok();
            }
        }
    }

    /// One integer read by an outside connection (not the app's pool).
    pub async fn outside_scalar(&self, sql: &str) -> i64 {
        match &self.test_db {
            TestDb::Sqlite { url, .. } | TestDb::Shared { url, postgres: false } => {
                let mut c = sqlx::SqliteConnection::connect(url).await.expect("outside sqlite connection");
                sqlx::query_scalar(sql).fetch_one(&mut c).await.expect("outside read")
            }
            TestDb::Postgres { url, .. } | TestDb::Shared { url, postgres: true } => {
                let mut c = sqlx::PgConnection::connect(url).await.expect("outside postgres connection");
                sqlx::query_scalar(sql).fetch_one(&mut c).await.expect("outside read")
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

    /// The close frame the server ends the socket with (panics on anything else).
    pub async fn close_frame(&mut self) -> Option<tokio_tungstenite::tungstenite::protocol::CloseFrame> {
        loop {
            match tokio::time::timeout(WAIT, self.stream.next()).await.expect("the socket should end") {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                None => return None,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }

    /// Whether the socket ends (without a frame) within `wait`.
    pub async fn ends_within(&mut self, wait: Duration) -> bool {
        loop {
            match tokio::time::timeout(wait, self.stream.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => continue,
            }
        }
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

/// A shopper with a browser-like cookie jar.
pub struct Shopper {
    pub http: reqwest::Client,
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
    pub username: String,
    base: String,
}

pub const PASSWORD: &str = "correct horse battery";

pub fn address() -> serde_json::Value {
    serde_json::json!({"name": "Ann Lee", "street": "1 Main St", "city": "Springfield", "region": "IL", "postal_code": "62701", "country": "United States"})
}

impl TestApp {
    /// A new shopper with an empty cookie jar (not signed in).
    pub fn shopper(&self, username: &str) -> Shopper {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Shopper { http, jar, username: username.to_string(), base: self.url("") }
    }

    /// A shopper who has registered (and so is signed in).
    pub async fn signed_up(&self, username: &str) -> Shopper {
        let s = self.shopper(username);
        let r = s.post_form("/api/register", &[("username", username), ("password", PASSWORD)]).await;
        assert!(r.status().is_success() || r.status().is_redirection(), "register {username}: {}", r.status());
        s
    }

    /// The current stock and units sold of a product, read straight from the database.
    pub async fn stock_and_sold(&self, product: i64) -> (i64, i64) {
        let json = self.db.product_json(product).await.expect("product").expect("exists");
        let p: app::model::Product = serde_json::from_str(&json).expect("product json");
        (p.summary.stock, p.summary.units_sold)
    }
}

impl Shopper {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http.post(self.url(path)).form(form).send().await.expect("POST")
    }

    pub async fn login(&self, password: &str) -> reqwest::Response {
        self.post_form("/api/login", &[("username", &self.username), ("password", password)]).await
    }

    pub async fn checkout(&self, lines: serde_json::Value, key: &str) -> reqwest::Response {
        let body = serde_json::json!({ "lines": lines, "address": address(), "idempotency_key": key });
        self.checkout_raw(body).await
    }

    pub async fn checkout_raw(&self, body: serde_json::Value) -> reqwest::Response {
        self.http.post(self.url("/api/checkout")).json(&body).send().await.expect("POST /api/checkout")
    }

    /// The signed-in user per the server, or `None`.
    pub async fn me(&self) -> Option<serde_json::Value> {
        let r = self.http.post(self.url("/api/me")).send().await.expect("POST /api/me");
        assert!(r.status().is_success(), "me: {}", r.status());
        let v: serde_json::Value = r.json().await.expect("json");
        (!v.is_null()).then_some(v)
    }

    pub fn session_cookie(&self) -> Option<String> {
        use reqwest::cookie::CookieStore as _;
        let url = self.url("/").parse().expect("url");
        let header = self.jar.cookies(&url)?;
        header.to_str().ok()?.split("; ").find(|c| c.starts_with("livecart_session=")).map(str::to_string)
    }

    /// A socket carrying this shopper's session cookie.
    pub async fn ws(&self) -> WsClient {
        let mut request = format!("{}/ws", self.base.replacen("http://", "ws://", 1)).into_client_request().expect("request");
        if let Some(cookie) = self.session_cookie() {
            request.headers_mut().insert("cookie", cookie.parse().expect("cookie header"));
        }
        let (stream, _) = tokio_tungstenite::connect_async(request).await.expect("ws connects");
        WsClient { stream }
    }
}

impl TestApp {
    /// A staff member, created the way `livecart user add --staff` does, signed in.
    pub async fn staff(&self, username: &str) -> Shopper {
        let hash = app::server::passwords::Passwords::new(1).expect("hasher").hash(PASSWORD.to_string()).await.expect("hash");
        assert!(
            matches!(self.db.create_user(username, &hash, true).await.expect("create staff"), app::server::db::NewUser::Created(_)),
            "name free"
        );
        let s = self.shopper(username);
        let r = s.login(PASSWORD).await;
        assert!(r.status().is_success() || r.status().is_redirection(), "staff login: {}", r.status());
        s
    }

    /// Wait until the feed has published everything committed so far, so a
    /// subscription made now starts after those changes (none replays later).
    pub async fn wait_for_feed(&self) {
        let newest = self.outside_scalar("SELECT coalesce(max(seq), 0) FROM change_log").await;
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let health: serde_json::Value = self.http.get(self.url("/healthz")).send().await.expect("healthz").json().await.expect("json");
            if health["feed"]["seq"].as_i64().is_some_and(|seq| seq >= newest) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the feed did not reach seq {newest}");
    }

    /// A fresh API token with this scope ("read" or "write").
    pub async fn api_token(&self, scope: &str) -> String {
        let scope = app::server::tokens::Scope::parse(scope).expect("scope");
        app::server::tokens::create(&self.db, "test", scope, None).await.expect("token").1
    }

    /// A request to `/api/v1{path}` with a bearer token.
    pub fn api(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(&format!("/api/v1{path}"))).bearer_auth(token)
    }
}

/// A response's status and JSON body (panics when the body is not JSON).
pub async fn status_json(r: reqwest::Response) -> (u16, serde_json::Value) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text}"));
    (status, json)
}

impl Shopper {
    /// Call a server function with a JSON body.
    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.http.post(self.url(path)).json(&body).send().await.expect("POST")
    }

    /// Buy `quantity` of `product` and return the new order's id.
    pub async fn buy(&self, product: i64, quantity: i64) -> i64 {
        let key = format!("key-{}-{}", product, uuid_ish());
        let r = self.checkout(serde_json::json!([{"product_id": product, "quantity": quantity}]), &key).await;
        assert!(r.status().is_success(), "checkout: {}", r.status());
        r.json().await.expect("order id")
    }
}

/// The JSON a topic's snapshot carries, read the way `/ws` reads it: what the
/// tests compare against (the wire shape, made in Rust from the rows).
pub trait DbJson {
    async fn products_json(&self, category: Option<&str>) -> anyhow::Result<String>;
    async fn product_json(&self, id: i64) -> anyhow::Result<Option<String>>;
    async fn orders_json(&self, customer: i64) -> anyhow::Result<String>;
    async fn order_json(&self, id: i64) -> anyhow::Result<Option<String>>;
}

impl DbJson for Db {
    async fn products_json(&self, category: Option<&str>) -> anyhow::Result<String> {
        let topic = match category {
            Some(slug) => Topic::Category(slug.parse()?),
            None => Topic::Catalog,
        };
        Ok(topic_snapshot_json(self, &topic).await?.unwrap_or_else(|| "[]".into()))
    }

    async fn product_json(&self, id: i64) -> anyhow::Result<Option<String>> {
        topic_snapshot_json(self, &Topic::Product(app::model::ProductId(id))).await
    }

    async fn orders_json(&self, customer: i64) -> anyhow::Result<String> {
        Ok(topic_snapshot_json(self, &Topic::Orders(app::model::CustomerId(customer))).await?.unwrap_or_else(|| "[]".into()))
    }

    async fn order_json(&self, id: i64) -> anyhow::Result<Option<String>> {
        topic_snapshot_json(self, &Topic::Order(app::model::OrderId(id))).await
    }
}
