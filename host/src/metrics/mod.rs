//! What switchyard counts, in Prometheus's text formats.
//!
//! One process-wide registry (a daemon is one process), so every stage can
//! record where it is without plumbing: intake counts reads and takeovers,
//! dispatch counts outcomes per route and target, the plugin runtime times
//! each call and counts its faults, reload counts its results, the observer
//! sets the gauges from Redis, retention counts what it trims and archives.
//! [`crate::daemon::health`] serves it on `/metrics`, in the format the
//! scraper asks for ([`exposition`]), with the standard `process_*`
//! metrics ([`process`]).
//!
//! It sits below every room that records, and knows none of them: labels
//! are names and words (a route, a stream, an outcome's name).
//!
//! Every series a snapshot can move is created at 0 when the snapshot
//! becomes current (`daemon::snapshot`), so an alert on a counter's
//! `increase()` sees its first event. Label values are tokens: route,
//! stream and plugin names are written with each space, control character,
//! `"` and `\` as `_` ([`token`]).

pub mod exposition;
pub mod process;

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use exposition::Format;

// Each label set writes its values as [`token`]s (its `EncodeLabelSet` is
// below, through `encode_tokens`); a new one should too.

/// Labels naming a stream.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct StreamLabels {
    /// The stream.
    pub stream: String,
}

/// Labels of a settled job.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct SettledLabels {
    /// The route that took it (`none` if none did).
    pub route: String,
    /// `dispatched`, `rejected` or `dead_lettered`.
    pub outcome: String,
    /// The stream it was written to.
    pub target: String,
}

/// Labels of a plugin call.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct CallLabels {
    /// The plugin's name.
    pub plugin: String,
    /// `validate` or `route`.
    pub call: String,
}

/// Labels naming a plugin.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct PluginLabels {
    /// The plugin's name.
    pub plugin: String,
}

/// Labels of an outcome: `ok` or `failed`.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct ResultLabels {
    /// `ok` or `failed`.
    pub result: String,
}

/// Labels of a Redis operation that failed.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct OpLabels {
    /// What switchyard was doing (`connect`, `read`, `claim`, `settle`, ...).
    pub op: String,
}

/// Labels of a plugin's fault.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct FaultLabels {
    /// The plugin's name.
    pub plugin: String,
    /// What went wrong ([`crate::plugin::Fault::kind`]): `deadline`,
    /// `memory`, `trap`, `bad-output`, `wrong-world`.
    pub kind: String,
}

/// Labels of a shadow router's decision beside its route's live one.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord)]
pub struct ShadowLabels {
    /// The route.
    pub route: String,
    /// The shadow router's plugin name.
    pub shadow: String,
    /// What the live router decided: its streams (`a+b`), `rejected`, or
    /// `failed:KIND`.
    pub live: String,
    /// What the shadow would have decided, in the same words.
    pub would: String,
}

/// Labels of `switchyard_build_info`.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct BuildLabels {
    /// switchyard's version (`CARGO_PKG_VERSION`).
    pub version: String,
    /// `release` or `debug`.
    pub profile: String,
}

/// `value` as a label value without spaces: each whitespace or control
/// character, `"` and `\` becomes `_` (`slivka bio` → `slivka_bio`).
/// Names are chosen by operators and Redis keys may hold anything; a
/// token is easy to match in a query and needs no escaping, which
/// `prometheus-client` does not do.
pub fn token(value: &str) -> Cow<'_, str> {
    let plain = |c: char| !(c.is_whitespace() || c.is_control() || c == '"' || c == '\\');
    if value.chars().all(plain) {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(
            value
                .chars()
                .map(|c| if plain(c) { c } else { '_' })
                .collect(),
        )
    }
}

/// Writes `labels` with each value a [`token`].
fn encode_tokens(encoder: &mut LabelSetEncoder, labels: &[(&str, &str)]) -> fmt::Result {
    for (key, value) in labels {
        (*key, token(value)).encode(encoder.encode_label())?;
    }
    Ok(())
}

impl EncodeLabelSet for StreamLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        encode_tokens(encoder, &[("stream", &self.stream)])
    }
}

impl EncodeLabelSet for SettledLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        encode_tokens(
            encoder,
            &[
                ("route", &self.route),
                ("outcome", &self.outcome),
                ("target", &self.target),
            ],
        )
    }
}

impl EncodeLabelSet for ShadowLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        encode_tokens(
            encoder,
            &[
                ("route", &self.route),
                ("shadow", &self.shadow),
                ("live", &self.live),
                ("would", &self.would),
            ],
        )
    }
}

impl EncodeLabelSet for CallLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        encode_tokens(encoder, &[("plugin", &self.plugin), ("call", &self.call)])
    }
}

impl EncodeLabelSet for PluginLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        encode_tokens(encoder, &[("plugin", &self.plugin)])
    }
}

impl EncodeLabelSet for ResultLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        encode_tokens(encoder, &[("result", &self.result)])
    }
}

impl EncodeLabelSet for OpLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        encode_tokens(encoder, &[("op", &self.op)])
    }
}

impl EncodeLabelSet for FaultLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        encode_tokens(encoder, &[("plugin", &self.plugin), ("kind", &self.kind)])
    }
}

impl EncodeLabelSet for BuildLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        encode_tokens(
            encoder,
            &[("version", &self.version), ("profile", &self.profile)],
        )
    }
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
    /// Consumer groups found missing and created again, per source.
    pub groups_recreated: Family<StreamLabels, Counter>,
    /// Idle consumers with nothing pending removed from the group, per source.
    pub consumers_removed: Family<StreamLabels, Counter>,
    /// Plugin faults (the job was dead-lettered), by plugin and kind.
    pub plugin_faults: Family<FaultLabels, Counter>,
    /// 1, labelled with what was built.
    pub build_info: Family<BuildLabels, Gauge>,
    /// Settles whose `WAIT` saw fewer replicas than `[redis] replica-acks`.
    pub replica_acks_short: Counter,
    /// Shadow routers' decisions beside the live ones.
    pub shadow_decisions: Family<ShadowLabels, Counter>,
    /// The same counts, with the shadow's version, for the heartbeat
    /// (`switchyard status`, the console).
    shadow_tally: std::sync::Mutex<std::collections::BTreeMap<(ShadowLabels, String), u64>>,
    /// The series of [`Metrics::settled`] found so far, by route, outcome
    /// and target: a job's count is found without building its labels.
    /// Each counter is the one in `settled` (they share their value).
    settled_series: RwLock<Vec<(String, &'static str, String, Counter)>>,
    /// Holds all of the above for encoding.
    registry: Registry,
    /// The `process_*` metrics, unprefixed.
    process: Registry,
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
            groups_recreated: Family::default(),
            consumers_removed: Family::default(),
            plugin_faults: Family::default(),
            build_info: Family::default(),
            shadow_decisions: Family::default(),
            replica_acks_short: Counter::default(),
            shadow_tally: Default::default(),
            settled_series: RwLock::default(),
            registry: Registry::default(),
            process: Registry::default(),
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
        registry.register(
            "groups_recreated",
            "Consumer groups found missing on a source and created again from its start",
            metrics.groups_recreated.clone(),
        );
        registry.register(
            "consumers_removed",
            "Consumers idle past [consumer] forget-idle with nothing pending, removed from the group",
            metrics.consumers_removed.clone(),
        );
        registry.register(
            "plugin_faults",
            "Plugin faults (the job was dead-lettered), by plugin and kind",
            metrics.plugin_faults.clone(),
        );
        registry.register(
            "replica_acks_short",
            "Settles whose WAIT saw fewer replicas acknowledge than [redis] replica-acks asks for",
            metrics.replica_acks_short.clone(),
        );
        registry.register(
            "shadow_decisions",
            "Decisions of each route's shadow router (would) beside its live router's (live), counted and never acted on",
            metrics.shadow_decisions.clone(),
        );
        registry.register(
            "build_info",
            "1, labelled with switchyard's version and build profile",
            metrics.build_info.clone(),
        );
        let mut process = Registry::default();
        process.register_collector(Box::new(process::ProcessCollector));
        metrics
            .build_info
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_owned(),
                profile: if cfg!(debug_assertions) {
                    "debug"
                } else {
                    "release"
                }
                .to_owned(),
            })
            .set(1);
        for result in ["ok", "failed"] {
            let labels = ResultLabels {
                result: result.to_owned(),
            };
            metrics.reloads.get_or_create_owned(&labels);
            metrics.retention_rounds.get_or_create_owned(&labels);
        }
        Metrics {
            registry,
            process,
            ..metrics
        }
    }

    /// Creates at 0 the series of source `stream`: entries read and
    /// reclaimed, groups recreated, consumers removed.
    pub fn create_source_series(&self, stream: &str) {
        let labels = StreamLabels {
            stream: stream.to_owned(),
        };
        self.read.get_or_create_owned(&labels);
        self.reclaimed.get_or_create_owned(&labels);
        self.groups_recreated.get_or_create_owned(&labels);
        self.consumers_removed.get_or_create_owned(&labels);
    }

    /// Creates at 0 the plugin calls of a route: a call per validator and
    /// router plugin.
    pub fn create_call_series<'a>(
        &self,
        validators: impl Iterator<Item = &'a str>,
        router: Option<&str>,
    ) {
        let calls = validators
            .map(|plugin| (plugin, "validate"))
            .chain(router.map(|plugin| (plugin, "route")));
        for (plugin, call) in calls {
            self.plugin_seconds.get_or_create_owned(&CallLabels {
                plugin: plugin.to_owned(),
                call: call.to_owned(),
            });
        }
    }

    /// Creates at 0 the series of `plugin`: its faults of each of `kinds`
    /// ([`crate::plugin::Fault::KINDS`]) and its dropped log lines.
    pub fn create_plugin_series(&self, plugin: &str, kinds: &[&str]) {
        for kind in kinds {
            self.plugin_faults.get_or_create_owned(&FaultLabels {
                plugin: plugin.to_owned(),
                kind: (*kind).to_owned(),
            });
        }
        self.plugin_log_dropped.get_or_create_owned(&PluginLabels {
            plugin: plugin.to_owned(),
        });
    }

    /// Creates at 0 the failures of Redis operation `op` (its label).
    pub fn create_redis_error_series(&self, op: &str) {
        self.redis_errors
            .get_or_create_owned(&OpLabels { op: op.to_owned() });
    }

    /// Creates at 0 jobs settled by `route` with `outcome` (its name,
    /// [`crate::pipeline::settle::Outcome::name`]) into `target`.
    pub fn create_settled_series(&self, route: &str, outcome: &'static str, target: &str) {
        self.settled.get_or_create_owned(&SettledLabels {
            route: route.to_owned(),
            outcome: outcome.to_owned(),
            target: target.to_owned(),
        });
    }

    /// Counts a job settled by `route` (`none` if none took it) with
    /// `outcome`, written to `target`. A settled job is counted per stream
    /// written, so this runs once per job or more: the series is looked up
    /// by its label values as they are, and only the first time created
    /// with owned labels.
    pub fn settled(&self, route: &str, outcome: &'static str, target: &str) {
        let found = |series: &[(String, &'static str, String, Counter)]| {
            series
                .iter()
                .find(|(r, o, t, _)| *o == outcome && r == route && t == target)
                .map(|(_, _, _, counter)| counter.clone())
        };
        let known = found(&self.settled_series.read().expect("never poisoned"));
        let counter = known.unwrap_or_else(|| {
            let mut series = self.settled_series.write().expect("never poisoned");
            found(&series).unwrap_or_else(|| {
                let counter = self.settled.get_or_create_owned(&SettledLabels {
                    route: route.to_owned(),
                    outcome: outcome.to_owned(),
                    target: target.to_owned(),
                });
                series.push((
                    route.to_owned(),
                    outcome,
                    target.to_owned(),
                    counter.clone(),
                ));
                counter
            })
        });
        counter.inc();
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

    /// Counts a fault of `plugin` (its name) of `kind` ([`crate::plugin::Fault::kind`]).
    pub fn plugin_fault(&self, plugin: &str, kind: &str) {
        self.plugin_faults
            .get_or_create(&FaultLabels {
                plugin: plugin.to_owned(),
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// Counts a shadow router's decision (`labels`) of `version`.
    pub fn shadow(&self, labels: ShadowLabels, version: &str) {
        self.shadow_decisions.get_or_create(&labels).inc();
        *self
            .shadow_tally
            .lock()
            .expect("the shadow tally lock is never poisoned")
            .entry((labels, version.to_owned()))
            .or_default() += 1;
    }

    /// The shadow decisions counted since start, for the heartbeat: one
    /// object per route, shadow version, live and would decision.
    pub fn shadow_tally(&self) -> serde_json::Value {
        let tally = self
            .shadow_tally
            .lock()
            .expect("the shadow tally lock is never poisoned");
        serde_json::Value::Array(
            tally
                .iter()
                .map(|((labels, version), count)| {
                    serde_json::json!({
                        "route": labels.route,
                        "shadow": version,
                        "live": labels.live,
                        "would": labels.would,
                        "count": count,
                    })
                })
                .collect(),
        )
    }

    /// Everything, in `format`.
    pub fn encode(&self, format: Format) -> String {
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut text = String::new();
        encode_registry(&mut text, &self.registry)
            .and_then(|()| encode_registry(&mut text, &self.process))
            .and_then(|()| encode_eof(&mut text))
            .expect("writing to a String cannot fail");
        match format {
            Format::OpenMetrics => text,
            Format::Classic => exposition::classic(&text),
        }
    }
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::settle::Outcome;

    #[test]
    fn a_settled_job_counts_in_its_series_whether_or_not_it_was_created() {
        let m = metrics();
        let labels = |route: &str, target: &str| SettledLabels {
            route: route.to_owned(),
            outcome: Outcome::Dispatched.name().to_owned(),
            target: target.to_owned(),
        };
        m.create_settled_series("settled-test", Outcome::Dispatched.name(), "out-a");
        m.settled("settled-test", Outcome::Dispatched.name(), "out-a");
        m.settled("settled-test", Outcome::Dispatched.name(), "out-a");
        m.settled("settled-test", Outcome::Dispatched.name(), "out-b");
        m.settled("settled-test", Outcome::Rejected.name(), "out-a");
        assert_eq!(
            m.settled
                .get_or_create(&labels("settled-test", "out-a"))
                .get(),
            2
        );
        assert_eq!(
            m.settled
                .get_or_create(&labels("settled-test", "out-b"))
                .get(),
            1
        );
        let text = m.encode(Format::OpenMetrics);
        assert!(text.contains(
            "switchyard_jobs_settled_total{route=\"settled-test\",outcome=\"rejected\",target=\"out-a\"} 1"
        ));
    }

    #[test]
    fn label_values_are_tokens_without_spaces_quotes_or_backslashes() {
        assert!(matches!(token("queue:local"), Cow::Borrowed("queue:local")));
        assert_eq!(token("slivka/clustalo#2"), "slivka/clustalo#2");
        assert_eq!(token("panic button"), "panic_button");
        assert_eq!(token("a\"b\\c\nd\te\u{a0}f"), "a_b_c_d_e_f");
    }
}
