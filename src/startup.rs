//! Building and running the server: database, feed, router, listener.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use app::server::sessions::{COOKIE_NAME, IDLE_EXPIRY, SessionBackend};
use app::server::{Db, ServerContext, seed};
use app::{App, shell};
use axum::Router;
use axum::routing::{get, post};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes as _, generate_route_list};
use tokio::net::TcpListener;
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::session_store::ExpiredDeletion as _;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::Config;
use crate::faults::{self, Faults};
use crate::realtime::{FeedHealth, Hub, Presence, run_presence, run_pruner, spawn_feed, ws_handler};
use crate::state::{AppState, Drain, Shared};
use crate::{api, media, metrics, security};

/// A built server, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    router: Router,
    state: AppState,
}

impl Application {
    /// Connect and migrate the database (seeding an empty one), start the feed,
    /// bind the listener. A failed migration stops here with its reason.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let addr = config.leptos.site_addr;
        let listener = TcpListener::bind(addr).await.with_context(|| format!("listening on {addr} (is another server running there?)"))?;
        let address = listener.local_addr()?;
        let db = Db::connect_named(&config.database_url, &format!("livecart@{address}"), &config.pool).await?;
        db.migrate().await?;
        if config.seed {
            seed::seed_if_empty(&db).await.context("seeding the demo catalog")?;
        }
        if !db.has_staff().await? {
            tracing::info!(
                "no staff account yet: create one with `livecart user add --staff <name>` \
                 (`cargo run -- user add --staff <name>` from a checkout), then sign in and open /admin"
            );
        }
        let _ = crate::telemetry::metrics(); // the recorder, before anything counts
        let hub = Arc::new(Hub::new(config.limits.socket_queue));
        let feed = FeedHealth::default();
        let ctx = ServerContext::new(db.clone(), hub.watermark(), config.limits.sign_in)?;
        tokio::spawn(prune_limiters(ctx.clone()));
        let faults = Faults::new(config.fault_injection);
        spawn_feed(db.clone(), hub.clone(), config.limits.feed_poll, feed.clone(), faults.clone());
        tokio::spawn(run_pruner(db.clone(), hub.clone(), config.limits.log_retention, config.limits.log_max_rows));
        let presence = Presence::new(hub.clone());
        tokio::spawn(run_presence(presence.clone(), db.clone()));

        let mut leptos_options = config.leptos.clone();
        leptos_options.site_addr = address;
        let sessions = db.session_store();
        tokio::spawn(sessions.clone().continuously_delete_expired(std::time::Duration::from_secs(3600)));
        let api_limiter = Arc::new(api::v1::limiter(config.limits.api_requests_per_second));
        let state = AppState::new(Shared {
            leptos_options,
            db,
            hub,
            presence,
            feed,
            config: Arc::new(config),
            ctx,
            api_limiter,
            api_usage: Arc::default(),
            faults,
            drain: Drain::default(),
        });
        let router = router(state.clone()).layer(session_layer(sessions, &state.config));
        tracing::info!(%address, database = state.db.backend_name(), "livecart listening");
        Ok(Self { listener, address, router, state })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serve until Ctrl-C or SIGTERM, then drain (see [`Application::run_until`]).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serve until `stop` resolves, then drain: `/healthz` answers 503
    /// "draining" at once; every socket gets a close frame (1012, service
    /// restart) so browsers reconnect, to another instance behind a load
    /// balancer, and resume by seq; after the grace period (for a load balancer
    /// to see the 503) no new connection is taken and requests in flight
    /// finish; then the pools close. All of it within `--shutdown-timeout`.
    pub async fn run_until(self, stop: impl Future<Output = Stop> + Send + 'static) -> anyhow::Result<()> {
        let state = self.state.clone();
        let (begin, begun) = tokio::sync::oneshot::channel::<()>();
        let drained = async move {
            let stop = stop.await;
            let config = &state.config;
            let grace = if stop == Stop::Terminate { config.drain_grace } else { std::time::Duration::ZERO };
            tracing::info!(sockets = state.hub.stats().0, ?grace, "draining: /healthz says 503, sockets are told to reconnect elsewhere");
            state.start_drain();
            tokio::time::sleep(grace).await;
            let _ = begin.send(());
        };
        tokio::spawn(drained);
        let timeout = self.state.config.shutdown_timeout;
        let serve = axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = begun.await;
            })
            .into_future();
        let mut serve = std::pin::pin!(serve);
        // Serve until the drain starts, then give requests in flight until the timeout.
        let outcome = tokio::select! {
            done = &mut serve => Some(done),
            () = self.state.drain.started() => None,
        };
        let outcome = match outcome {
            Some(done) => done,
            None => match tokio::time::timeout(timeout + self.state.config.drain_grace, &mut serve).await {
                Ok(done) => done,
                Err(_) => {
                    tracing::warn!(?timeout, "requests still running at the shutdown timeout; stopping anyway");
                    Ok(())
                }
            },
        };
        self.state.db.close().await;
        tracing::info!("stopped");
        outcome.context("serving HTTP")
    }
}

/// What stopped the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Ctrl-C: a developer; no grace period.
    Interrupt,
    /// SIGTERM: an orchestrator or a deploy; drain with the grace period.
    Terminate,
}

/// The whole HTTP surface for a state: pages, server functions, `/ws`, `/healthz`.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let ctx = state.ctx.clone();
    let page_ctx = ctx.clone();
    let options = state.leptos_options.clone();
    app::server::preload::install(crate::assets::split_manifest(&options));
    let api_limit = state.config.limits.api_body_bytes;
    // Uploads get their own body limit; everything else the API's.
    let uploads = Router::new()
        .route("/api/images", post(media::upload))
        .layer(RequestBodyLimitLayer::new(media::MAX_IMAGE_BYTES))
        .route("/media/{id}", get(media::serve))
        .route("/images/placeholder/{file}", get(media::placeholder));
    Router::new()
        .route("/ws", get(ws_handler))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(metrics::scrape))
        .route("/_faults/{action}", post(faults::control))
        // The build's files, as the build left them (its .br and .gz copies
        // for browsers that take them); a name that is not there is a plain
        // 404, not the whole shop rendered as an error page (a tab left open
        // across a deploy asks for the old build's files), and a revalidated
        // file that has not changed is a 304.
        .route_service(&leptos_axum::site_pkg_dir_service_route_path(&options), leptos_axum::site_pkg_dir_service(&options))
        .merge(api::v1::routes())
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(page_ctx.clone());
                app::security::provide_request_nonce();
            },
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            move || {
                provide_context(ctx.clone());
                app::security::provide_request_nonce();
            },
            shell,
        ))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn(api::server_fn_error_status))
        .layer(axum::middleware::from_fn(api::server_fn_content_type))
        .layer(axum::middleware::from_fn_with_state(state.clone(), faults::failing_checkout))
        .layer(RequestBodyLimitLayer::new(api_limit))
        .merge(uploads)
        .layer(axum::middleware::from_fn(api::api_json_errors))
        .layer(axum::middleware::from_fn_with_state(state.clone(), security::refuse_cross_site))
        .layer(axum::middleware::from_fn_with_state(state.clone(), security::client_address))
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(state.config.compression_level as i32)))
        .layer(axum::middleware::from_fn_with_state(state.clone(), security::headers))
        // A request id (the caller's `x-request-id`, or a new one) on every
        // request's span, so every log line of a request carries it, and echoed.
        .layer(
            tower::ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<axum::body::Body>| {
                    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
                }))
                .layer(PropagateRequestIdLayer::x_request_id()),
        )
        .with_state(state)
}

/// Forget sign-in limiter keys whose limits have recovered, so a flood of
/// made-up usernames or addresses costs memory only while it lasts, and
/// identities too old to be used.
async fn prune_limiters(ctx: ServerContext) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        every.tick().await;
        ctx.auth.prune();
        ctx.db.identities().prune(std::time::Instant::now());
    }
}

/// Sessions in the database: HttpOnly, SameSite=Lax, Secure when asked (behind TLS).
fn session_layer(store: SessionBackend, config: &Config) -> SessionManagerLayer<SessionBackend> {
    SessionManagerLayer::new(store)
        .with_name(COOKIE_NAME)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(IDLE_EXPIRY))
}

async fn shutdown_signal() -> Stop {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    let stop = tokio::select! {
        () = ctrl_c => Stop::Interrupt,
        () = term => Stop::Terminate,
    };
    tracing::info!(?stop, "shutting down");
    stop
}
