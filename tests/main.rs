//! switchyard's integration tests: one test binary, so wasmtime and the
//! daemon's library are linked once, not once per surface.
//!
//! # Layout
//!
//! Each module is one surface, tested from the outside, and all of them share
//! the harness:
//!
//! - `harness`: the repository, the built plugins, the `switchyard` binary, a
//!   private `redis-server` per test; `harness::daemon` runs the real daemon
//!   and reads what it left in Redis; `harness::cluster` and
//!   `harness::sentinel` run a Redis Cluster and Sentinel on loopback, from
//!   the processes of `harness::loopback`.
//! - `sandbox`: each limit a plugin can break, by name.
//! - `plugins`: the shipped plugins on small service files, and on the example
//!   service files and sample jobs.
//! - `pipeline`: the daemon's main job, end to end, across crashes.
//! - `faults`: hostile plugins inside the running daemon.
//! - `settling`: the settle script (exactly once, what it refuses) and keys
//!   of the wrong type where the daemon writes.
//! - `latency`: jobs settled as they are decided, a batch spread over the
//!   workers.
//! - `reload`: hot reload of plugins and config under load; a plugin that
//!   refuses its config.
//! - `services`: `[slivka]`, a directory of slivka service files as routes.
//! - `operations`: metrics, readiness, status and dead-letter replay.
//! - `metrics`: `/metrics` in both Prometheus formats, read by Python
//!   `prometheus_client`'s two parsers (Python in `target/venv`).
//! - `recovery`: the daemon recovering from what Redis and restarts do to
//!   it: an unusable Redis, a lost group, a Redis restart mid-batch, its own
//!   restart, dead consumers; and systemd's notifications.
//! - `acl`: the daemon as the deployment's Redis ACL user.
//! - `clients`: the Python client against the real daemon.
//! - `slivka`: the shipped plugins against slivka 0.8.5b7 itself, on a
//!   generated corpus (the differential test; Python in `target/venv`).
//! - `chaos`: kill -9 of daemons and Redis while jobs flow, and failovers
//!   behind Sentinel and on a Redis Cluster (`make chaos`).
//! - `fuzz`: property tests of entries and plugin answers (`make fuzz`).
//! - `retention`: trimming, archiving and bounded memory.
//! - `cluster`: switchyard on a Redis Cluster.
//! - `sentinel`: switchyard behind Redis Sentinel, through a graceful and a
//!   forced failover under load.
//! - `console`: the web console in a real headless Chromium, and its API at
//!   a million entries and status records.
//! - `authoring`: a plugin author's tools: `try` on JSON lines, `diff` of
//!   two router versions on a known mix.
//! - `cli`: the command line: `run --dry-run`, config from the environment,
//!   `--help`, completions and the man page.
//!
//! Run one surface with a name filter:
//! `cargo test -p switchyard --test integration chaos::`.

mod harness;

mod acl;
mod authoring;
mod chaos;
mod cli;
mod clients;
mod cluster;
mod console;
mod faults;
mod fuzz;
mod latency;
mod metrics;
mod operations;
mod pipeline;
mod plugins;
mod recovery;
mod reload;
mod retention;
mod sandbox;
mod sentinel;
mod services;
mod settling;
mod slivka;
