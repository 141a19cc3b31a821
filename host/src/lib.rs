//! switchyard: routes job requests from Redis streams through sandboxed
//! WebAssembly plugins that validate each job and choose where it goes.
//!
//! # Layout
//! The pipeline, in the order a job meets it:
//! - [`intake`]: reads entries with `XREADGROUP` (and takes over abandoned ones
//!   with `XAUTOCLAIM`).
//! - [`job`]: an entry decoded into a [`job::Job`].
//! - [`validate`]: the route's validators turn a `Job` into a `Validated`.
//! - [`route`]: the route's router turns a `Validated` into a `Routed`.
//! - [`settle`]: every outcome (routed, rejected, dead letter) as the writes
//!   it needs.
//! - [`dispatch`]: performs a settlement atomically: XADD + status + XACK.
//! - [`status`]: the status record a front end reads.
//!
//! Beside it:
//! - [`config`]: the TOML routing config, validated into settings.
//! - [`snapshot`]: routes + loaded plugins, swapped as one.
//! - [`plugin`]: the sandboxed plugin runtime (wasmtime components).
//! - [`reload`]: watches the config and plugins; swaps in new snapshots.
//! - [`daemon`]: wires intake, workers and dispatch; owns shutdown.
//! - [`store`]: connecting to Redis (one server or a cluster), or starting
//!   the embedded one.
//! - [`layout`]: hash slots, and the key layout a cluster needs for
//!   atomic settles.
//! - [`shutdown`]: the signal tasks stop on.
//! - [`trial`]: `switchyard check` and `switchyard try`.
//! - [`send`]: `switchyard send`.
//! - [`report`]: `switchyard status`.
//! - [`replay`]: `switchyard dead-letters` and `switchyard replay`.
//! - [`bench`]: `switchyard bench`.
//! - [`logging`]: log output.
//! - [`metrics`]: what switchyard counts, for Prometheus.
//! - [`health`]: the HTTP listener: `/metrics`, `/healthz`, `/readyz`.
//! - [`observer`]: readiness checks, gauges and the heartbeat record.
//! - [`retention`]: trims acknowledged and capped entries on an interval.
//! - [`archive`]: where trimmed entries are kept on disk, and
//!   `switchyard archive`, which reads them back.
pub mod archive;
pub mod bench;
pub mod config;
pub mod daemon;
pub mod dispatch;
pub mod health;
pub mod intake;
pub mod job;
pub mod layout;
pub mod logging;
pub mod metrics;
pub mod observer;
pub mod plugin;
pub mod reload;
pub mod replay;
pub mod report;
pub mod retention;
pub mod route;
pub mod send;
pub mod settle;
pub mod shutdown;
pub mod snapshot;
pub mod status;
pub mod store;
pub mod trial;
pub mod validate;
