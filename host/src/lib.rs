//! switchyard: routes job requests from Redis streams through sandboxed
//! WebAssembly plugins that validate each job and choose where it goes.
//!
//! # Layout
//! The folders are the architecture; each room owns one concern.
//! - [`pipeline`]: a job's path, in the order a job meets it: intake → job
//!   → validate → route → settle → dispatch → status. [`pipeline::decide`]
//!   is that chain short of Redis.
//! - [`daemon`]: the running daemon: wiring and supervision, the consume
//!   loops, batches, backoff, shutdown, hot reload and the cell of the
//!   snapshot it swaps, the health listener, the heartbeat and systemd's
//!   notifications.
//! - [`metrics`]: what switchyard counts, for Prometheus, in both text
//!   formats, with the standard `process_*` metrics; below every room that
//!   records.
//! - [`plugin`]: the sandboxed plugin runtime (wasmtime components).
//! - [`store`]: Redis access: connections (one server, a cluster, or the
//!   embedded server), the cluster's key layout, reading Redis replies, a
//!   consumer group's backlog (lag, pending, oldest pending), and redacting
//!   Redis URLs for messages.
//! - [`config`]: the TOML file as written, apart from the validated
//!   settings the daemon runs on; the defaults in one place; stream roles;
//!   keys from the environment.
//! - [`retention`]: trimming acknowledged and capped entries, and the
//!   archive that keeps what was trimmed.
//! - [`console`]: the web console and its JSON API, served by the daemon's
//!   health listener or by `switchyard console`; its page embedded.
//! - [`cli`]: the commands beside `run`, and `run --dry-run`, one file each.
//! - [`logging`]: log output.
//!
//! `main.rs` only parses the command line and dispatches; the benchmarks
//! live in their own crate (`bench/`).
pub mod cli;
pub mod config;
pub mod console;
pub mod daemon;
pub mod logging;
pub mod metrics;
pub mod pipeline;
pub mod plugin;
pub mod retention;
pub mod store;
