//! The HTTP listener operators and orchestrators poll: `/metrics`
//! (Prometheus, classic or OpenMetrics as the scraper asks), `/healthz` (the
//! process is alive) and `/readyz` (Redis is reachable, a snapshot is loaded
//! and intake can read its sources), and the web console ([`crate::console`]:
//! `/` and `/api/...`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::daemon::shutdown::Shutdown;
use crate::metrics::exposition::Format;

/// What `/readyz` reports; set by the daemon as things change.
#[derive(Debug, Default)]
pub struct Readiness {
    /// Redis answered the latest check.
    pub redis: AtomicBool,
    /// A snapshot (routes + plugins) is loaded.
    pub snapshot: AtomicBool,
    /// Intake's latest read succeeded (false until the first one has).
    pub intake: AtomicBool,
    /// Why intake's latest read failed ("intake cannot read from S: E");
    /// `None` while reads succeed.
    pub intake_error: Mutex<Option<String>>,
}

impl Readiness {
    /// Intake read from its sources.
    pub fn read_ok(&self) {
        if !self.intake.swap(true, Ordering::Relaxed) {
            *self.intake_error.lock().expect("never poisoned") = None;
        }
    }

    /// Intake could not read from `sources`, because of `error`. A lost
    /// connection says Redis is unreachable too, before the next PING does.
    pub fn read_failed(&self, sources: &[String], error: &redis::RedisError) {
        self.intake.store(false, Ordering::Relaxed);
        if error.is_io_error() || error.is_connection_dropped() || error.is_timeout() {
            self.redis.store(false, Ordering::Relaxed);
        }
        *self.intake_error.lock().expect("never poisoned") = Some(format!(
            "intake cannot read from {}: {error}",
            sources.join(", ")
        ));
    }
}

/// Binds `addr` and returns the task that serves until shutdown, with
/// `console`'s routes (the web console, [`crate::console`]) beside the
/// health ones. Binding happens before, so a busy port fails the start with
/// a clear error.
pub async fn listen(
    addr: SocketAddr,
    readiness: Arc<Readiness>,
    console: Router,
    mut shutdown: Shutdown,
) -> anyhow::Result<impl Future<Output = anyhow::Result<()>> + Send + 'static> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("[metrics] listen: cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    tracing::info!(
        "metrics listening on {local} (/metrics, /healthz, /readyz; the console on http://{local}/)"
    );
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(readiness)
        .merge(console);
    Ok(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.requested().await })
            .await
            .with_context(|| format!("serving on {local}"))
    })
}

/// The metrics in the format the `Accept` header prefers (see
/// [`Format::accepted`]).
async fn metrics(headers: HeaderMap) -> impl IntoResponse {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok());
    let format = Format::accepted(accept);
    (
        [
            (header::CONTENT_TYPE, format.content_type()),
            (header::VARY, "Accept"),
        ],
        crate::metrics::metrics().encode(format),
    )
}

async fn ready(State(readiness): State<Arc<Readiness>>) -> impl IntoResponse {
    let redis = readiness.redis.load(Ordering::Relaxed);
    let snapshot = readiness.snapshot.load(Ordering::Relaxed);
    let intake = readiness.intake.load(Ordering::Relaxed);
    if redis && snapshot && intake {
        (StatusCode::OK, "ready\n".to_owned())
    } else {
        let mut why = Vec::new();
        if !redis {
            why.push("Redis is unreachable".to_owned());
        }
        if !snapshot {
            why.push("no snapshot loaded".to_owned());
        }
        if !intake {
            let error = readiness.intake_error.lock().expect("never poisoned");
            why.push(
                error
                    .clone()
                    .unwrap_or_else(|| "intake has not read yet".to_owned()),
            );
        }
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", why.join(", ")),
        )
    }
}
