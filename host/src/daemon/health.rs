//! The HTTP listener operators and orchestrators poll: `/metrics`
//! (Prometheus, classic or OpenMetrics as the scraper asks), `/healthz` (the process is alive) and `/readyz` (Redis is
//! reachable and a snapshot is loaded).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::daemon::exposition::Format;
use crate::daemon::shutdown::Shutdown;

/// What `/readyz` reports; set by the daemon as things change.
#[derive(Debug, Default)]
pub struct Readiness {
    /// Redis answered the latest check.
    pub redis: AtomicBool,
    /// A snapshot (routes + plugins) is loaded.
    pub snapshot: AtomicBool,
}

/// Binds `addr` and returns the task that serves until shutdown. Binding
/// happens before, so a busy port fails the start with a clear error.
pub async fn listen(
    addr: SocketAddr,
    readiness: Arc<Readiness>,
    mut shutdown: Shutdown,
) -> anyhow::Result<impl Future<Output = anyhow::Result<()>> + Send + 'static> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("[metrics] listen: cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    tracing::info!("metrics listening on {local} (/metrics, /healthz, /readyz)");
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(readiness);
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
        crate::daemon::metrics::metrics().encode(format),
    )
}

async fn ready(State(readiness): State<Arc<Readiness>>) -> impl IntoResponse {
    let redis = readiness.redis.load(Ordering::Relaxed);
    let snapshot = readiness.snapshot.load(Ordering::Relaxed);
    if redis && snapshot {
        (StatusCode::OK, "ready\n".to_owned())
    } else {
        let mut why = Vec::new();
        if !redis {
            why.push("Redis is unreachable");
        }
        if !snapshot {
            why.push("no snapshot loaded");
        }
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", why.join(", ")),
        )
    }
}
