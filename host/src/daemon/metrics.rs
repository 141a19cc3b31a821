//! What switchyard counts, in Prometheus's text format.
//!
//! One process-wide registry (a daemon is one process), so every stage can
//! record where it is without plumbing: intake counts reads and takeovers,
//! dispatch counts outcomes per route and target, the plugin runtime times
//! each call, reload counts its results, the observer sets the gauges from
//! Redis, retention counts what it trims and archives. [`crate::daemon::health`] serves it on `/metrics`.

use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels naming a stream.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StreamLabels {
    /// The stream.
    pub stream: String,
}

/// Labels of a settled job.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SettledLabels {
    /// The route that took it (`none` if none did).
    pub route: String,
    /// `dispatched`, `rejected` or `dead_lettered`.
    pub outcome: String,
    /// The stream it was written to.
    pub target: String,
}

/// Labels of a plugin call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// The plugin's name.
    pub plugin: String,
    /// `validate` or `route`.
    pub call: String,
}

/// Labels naming a plugin.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginLabels {
    /// The plugin's name.
    pub plugin: String,
}

/// Labels of an outcome: `ok` or `failed`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `ok` or `failed`.
    pub result: String,
}

/// Labels of a Redis operation that failed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpLabels {
    /// What switchyard was doing (`connect`, `read`, `claim`, `settle`, ...).
    pub op: String,
}

type CallHistogram = Family<CallLabels, Histogram, fn() -> Histogram>;

/// Every metric switchyard exports.
pub struct Metrics {
    /// Entries read from each source (new, re-read or taken over).
    pub read: Family<StreamLabels, Counter>,
    /// Jobs settled, per route, outcome and stream written.
    pub settled: Family<SettledLabels, Counter>,
    /// Time of each plugin call, instantiation included.
    pub plugin_seconds: CallHistogram,
    /// Entries pending in the group, per source (from XINFO GROUPS).
    pub pending: Family<StreamLabels, Gauge>,
    /// Entries not yet delivered to the group, per source (see
    /// [`crate::store::backlog`]: it holds after a Redis restart).
    pub lag: Family<StreamLabels, Gauge>,
    /// Age in seconds of the oldest entry pending in the group, per source
    /// (0 when nothing is pending).
    pub oldest_pending: Family<StreamLabels, Gauge<f64, AtomicU64>>,
    /// Entries taken over from other consumers, per source.
    pub reclaimed: Family<StreamLabels, Counter>,
    /// Hot reloads by result.
    pub reloads: Family<ResultLabels, Counter>,
    /// Failed Redis operations, by operation.
    pub redis_errors: Family<OpLabels, Counter>,
    /// Plugin log lines dropped over the log rate, by plugin.
    pub plugin_log_dropped: Family<PluginLabels, Counter>,
    /// Times Redis became reachable again after failures.
    pub reconnects: Counter,
    /// Entries read and not yet settled.
    pub in_flight: Gauge,
    /// Entries retention trimmed, per stream.
    pub retention_trimmed: Family<StreamLabels, Counter>,
    /// Entries retention archived before trimming, per stream.
    pub retention_archived: Family<StreamLabels, Counter>,
    /// Retention rounds by result (a round another daemon ran counts `ok`).
    pub retention_rounds: Family<ResultLabels, Counter>,
    /// Holds all of the above for encoding.
    registry: Registry,
}

fn call_histogram() -> Histogram {
    Histogram::new([
        5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 0.1, 1.0,
    ])
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("switchyard");
        let metrics = Metrics {
            read: Family::default(),
            settled: Family::default(),
            plugin_seconds: Family::new_with_constructor(call_histogram as fn() -> Histogram),
            pending: Family::default(),
            lag: Family::default(),
            oldest_pending: Family::default(),
            reclaimed: Family::default(),
            reloads: Family::default(),
            redis_errors: Family::default(),
            plugin_log_dropped: Family::default(),
            reconnects: Counter::default(),
            in_flight: Gauge::default(),
            retention_trimmed: Family::default(),
            retention_archived: Family::default(),
            retention_rounds: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "jobs_read",
            "Entries read from a source stream",
            metrics.read.clone(),
        );
        registry.register(
            "jobs_settled",
            "Jobs settled, by route, outcome and stream written",
            metrics.settled.clone(),
        );
        registry.register(
            "plugin_call_seconds",
            "Time of one plugin call, instantiation included",
            metrics.plugin_seconds.clone(),
        );
        registry.register(
            "pending_entries",
            "Entries pending in the consumer group",
            metrics.pending.clone(),
        );
        registry.register(
            "consumer_lag",
            "Entries not yet delivered to the consumer group",
            metrics.lag.clone(),
        );
        registry.register(
            "oldest_pending_seconds",
            "Age of the oldest entry pending in the consumer group (0 when none is)",
            metrics.oldest_pending.clone(),
        );
        registry.register(
            "reclaimed",
            "Entries taken over from other consumers",
            metrics.reclaimed.clone(),
        );
        registry.register("reloads", "Hot reloads, by result", metrics.reloads.clone());
        registry.register(
            "redis_errors",
            "Failed Redis operations, by operation",
            metrics.redis_errors.clone(),
        );
        registry.register(
            "plugin_log_dropped_lines",
            "Plugin log lines dropped over the plugin's log rate",
            metrics.plugin_log_dropped.clone(),
        );
        registry.register(
            "redis_reconnects",
            "Times Redis became reachable again",
            metrics.reconnects.clone(),
        );
        registry.register(
            "jobs_in_flight",
            "Entries read and not yet settled",
            metrics.in_flight.clone(),
        );
        registry.register(
            "retention_trimmed_entries",
            "Entries retention trimmed from a stream",
            metrics.retention_trimmed.clone(),
        );
        registry.register(
            "retention_archived_entries",
            "Entries retention wrote to the archive before trimming",
            metrics.retention_archived.clone(),
        );
        registry.register(
            "retention_rounds",
            "Retention rounds, by result",
            metrics.retention_rounds.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// Counts a plugin call of `elapsed`.
    pub fn plugin_call(&self, plugin: &str, call: &str, elapsed: Duration) {
        self.plugin_seconds
            .get_or_create(&CallLabels {
                plugin: plugin.to_owned(),
                call: call.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts `n` entries read from `stream`.
    pub fn read(&self, stream: &str, n: usize) {
        self.read
            .get_or_create(&StreamLabels {
                stream: stream.to_owned(),
            })
            .inc_by(n as u64);
    }

    /// Counts a reload.
    pub fn reload(&self, ok: bool) {
        let result = if ok { "ok" } else { "failed" };
        self.reloads
            .get_or_create(&ResultLabels {
                result: result.to_owned(),
            })
            .inc();
    }

    /// Counts a failed Redis operation.
    pub fn redis_error(&self, op: &str) {
        self.redis_errors
            .get_or_create(&OpLabels { op: op.to_owned() })
            .inc();
    }

    /// Everything, in Prometheus's text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}
