//! The web console: one page an operator opens every morning, and the JSON
//! API behind it.
//!
//! The daemon serves it on its metrics listener (`/`, `/api/...`);
//! `switchyard console --config FILE` serves it alone, for hosts where no
//! daemon runs. The page, its script and its style are embedded in the
//! binary ([`assets`]): no build step, no CDN, nothing fetched from outside.
//! It polls the API ([`api`]) every few seconds; the rates it draws come
//! from readings this process takes ([`rates`]).
//!
//! Read-only by default. The two actions (replay one dead letter, replay
//! every dead letter of one reason) exist only when the config's
//! `[console] actions = true` and a bearer token is set ([`actions`]).
//!
//! Redis is read over one synchronous connection, made when first needed
//! and made again after an error, on tokio's blocking threads: the
//! console's few requests never wait behind the daemon's batches, nor hold
//! up its runtime.

pub mod actions;
pub mod api;
mod assets;
pub mod rates;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::store::BlockingConn;
use anyhow::Context;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json as JsonResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value as Json, json};

use crate::config::{RedisTarget, RouteSettings, Settings};
use crate::daemon::shutdown::Shutdown;
use actions::Actions;
use rates::{History, SAMPLE_EVERY};

/// How long one Redis command of the console may take before its answer is
/// an error (a console must not hang on a stuck Redis).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// The routes the console shows: the daemon's current snapshot's (they
/// change with hot reload), or the config's (standalone).
pub type RoutesNow = Box<dyn Fn() -> Vec<RouteSettings> + Send + Sync>;

/// What the console's handlers share.
pub struct Console {
    /// Where Redis is; the sentinels are asked again at each connect.
    target: RedisTarget,
    conn: Mutex<Option<BlockingConn>>,
    settings: Settings,
    routes: RoutesNow,
    history: Mutex<History>,
    actions: Option<Actions>,
}

impl Console {
    /// A console on the Redis `target` names (a cluster from any node's
    /// URL) for the system `settings` describes, showing the routes `routes`
    /// gives at each request.
    pub fn new(
        target: RedisTarget,
        settings: Settings,
        routes: RoutesNow,
    ) -> anyhow::Result<Arc<Console>> {
        let actions = Actions::from_settings(&settings)?;
        Ok(Arc::new(Console {
            target,
            conn: Mutex::new(None),
            settings,
            routes,
            history: Mutex::new(History::default()),
            actions,
        }))
    }

    /// The settings with the routes of now.
    fn view(&self) -> Settings {
        let mut settings = self.settings.clone();
        settings.routes = (self.routes)();
        settings
    }

    /// Runs `f` on the console's connection (made if need be; dropped when
    /// `f` fails, so the next request connects afresh).
    fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut BlockingConn, &Settings) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let settings = self.view();
        let mut slot = self
            .conn
            .lock()
            .expect("console connection lock is never poisoned");
        if slot.is_none() {
            *slot = Some(BlockingConn::to_target(&self.target, COMMAND_TIMEOUT)?);
        }
        let conn = slot.as_mut().expect("connected above");
        let result = f(conn, &settings);
        if result.is_err() {
            *slot = None;
        }
        result
    }

    /// Takes one reading of the streams into the history.
    fn sample(&self) -> anyhow::Result<()> {
        let (reading, _) = self.with_conn(api::reading)?;
        self.history
            .lock()
            .expect("history lock is never poisoned")
            .push(reading);
        Ok(())
    }

    /// Reads the streams every [`SAMPLE_EVERY`] until shutdown; a failed
    /// reading is logged once until one succeeds again.
    pub async fn sample_until(self: Arc<Self>, mut shutdown: Shutdown) {
        let mut failing = false;
        loop {
            let console = self.clone();
            let result = tokio::task::spawn_blocking(move || console.sample()).await;
            match result {
                Ok(Ok(())) => failing = false,
                Ok(Err(e)) if !failing => {
                    tracing::warn!(
                        "console: cannot read the streams' counts for the rate charts: {e:#}"
                    );
                    failing = true;
                }
                _ => {}
            }
            tokio::select! {
                _ = shutdown.requested() => break,
                _ = tokio::time::sleep(SAMPLE_EVERY) => {}
            }
        }
    }
}

/// The console's routes: the page and its assets, the API and (when
/// enabled) the actions.
pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(assets::page))
        .route("/console.js", get(assets::script))
        .route("/console.css", get(assets::style))
        .route("/api/overview", get(overview))
        .route("/api/streams", get(streams))
        .route("/api/daemons", get(daemons))
        .route("/api/letters", get(letters))
        .route("/api/job/{id}", get(job))
        .route("/api/entry/{stream}/{id}", get(entry))
        .route("/api/actions/replay", post(actions::replay))
        .with_state(console)
}

/// Runs `f` on a blocking thread with the connection; its answer as JSON,
/// or a 502 whose body names what failed.
async fn answer(
    console: Arc<Console>,
    f: impl FnOnce(&Console, &mut BlockingConn, &Settings) -> anyhow::Result<Json> + Send + 'static,
) -> Response {
    let result = tokio::task::spawn_blocking(move || {
        console.with_conn(|conn, settings| f(&console, conn, settings))
    })
    .await;
    match result {
        Ok(Ok(body)) => JsonResponse(body).into_response(),
        Ok(Err(e)) => (
            StatusCode::BAD_GATEWAY,
            JsonResponse(json!({ "error": format!("{e:#}") })),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            JsonResponse(json!({ "error": format!("console request failed: {e}") })),
        )
            .into_response(),
    }
}

async fn overview(State(console): State<Arc<Console>>) -> Response {
    answer(console, |console, conn, settings| {
        let (_, mut overview) = api::overview(conn, settings)?;
        overview["rates"] = console.history.lock().expect("never poisoned").rates();
        overview["actions"] = json!(console.actions.is_some());
        Ok(overview)
    })
    .await
}

async fn streams(State(console): State<Arc<Console>>) -> Response {
    answer(console, |_, conn, settings| api::streams(conn, settings)).await
}

async fn daemons(State(console): State<Arc<Console>>) -> Response {
    answer(console, |_, conn, _| api::daemons(conn)).await
}

#[derive(serde::Deserialize)]
struct LettersQuery {
    count: Option<usize>,
}

async fn letters(State(console): State<Arc<Console>>, Query(q): Query<LettersQuery>) -> Response {
    let count = q.count.unwrap_or(100).clamp(1, 1000);
    answer(console, move |_, conn, settings| {
        api::letters(conn, settings, count)
    })
    .await
}

async fn job(State(console): State<Arc<Console>>, Path(id): Path<String>) -> Response {
    answer(console, move |_, conn, settings| {
        api::job(conn, settings, &id)
    })
    .await
}

async fn entry(
    State(console): State<Arc<Console>>,
    Path((stream, id)): Path<(String, String)>,
) -> Response {
    answer(console, move |_, conn, settings| {
        api::entry(conn, settings, &stream, &id)
    })
    .await
}

/// The bearer token of a request, if it sent one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// Serves the console alone (`switchyard console`) on `addr` until
/// SIGINT/SIGTERM.
pub fn serve_alone(
    config: &std::path::Path,
    url: Option<String>,
    addr: std::net::SocketAddr,
) -> anyhow::Result<()> {
    let settings = Settings::load(config, None, Some("console".into()))?;
    // A URL of the command line names one server (or any node of a
    // cluster); `embedded` and none mean the config's.
    let target = match url {
        Some(url) if url != "embedded" => RedisTarget::Url(url),
        _ => settings.redis.clone(),
    };
    let routes = settings.routes.clone();
    let console = Console::new(target, settings, Box::new(move || routes.clone()))?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    tokio.block_on(async move {
        let shutdown = Shutdown::listen(None, None).context("cannot listen for signals")?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("console --listen: cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        tracing::info!("console listening on http://{local}/");
        tokio::spawn(console.clone().sample_until(shutdown.clone()));
        let mut stop = shutdown.clone();
        axum::serve(listener, router(console))
            .with_graceful_shutdown(async move { stop.requested().await })
            .await
            .with_context(|| format!("serving the console on {local}"))
    })
}
