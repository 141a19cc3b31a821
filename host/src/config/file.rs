//! The config file as the operator writes it: one serde struct per TOML
//! table, every key optional where the README gives it a default.
//!
//! Nothing here is checked beyond its TOML type, and no default is filled
//! in: [`super::parse`] turns a [`File`] into [`super::Settings`], taking its
//! defaults from [`super::defaults`]. Unknown keys are refused, so a typo is
//! an error rather than a silently ignored setting. Paths in the file are
//! relative to its directory ([`Base`]).
//!
//! A duration is written with its unit, `block = "2s"`, `ttl = "7d"`
//! (humantime's forms); each also has its older integer key in the unit
//! it names (`block-ms = 2000`), still read. [`duration`] takes one of the
//! two and refuses both.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::plugin::LimitOverrides;

/// The config file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct File {
    /// `[redis]`: where Redis is.
    #[serde(default)]
    pub redis: RedisSection,
    /// `[consumer]`: how the daemon reads its sources.
    #[serde(default)]
    pub consumer: ConsumerSection,
    /// `[plugins]`: the plugin directory and every plugin's default limits.
    #[serde(default)]
    pub plugins: PluginsSection,
    /// `[plugin.NAME]`: one plugin's file, limits, config and grants.
    #[serde(default)]
    pub plugin: BTreeMap<String, PluginSection>,
    /// `[[routes]]`, in the order they are tried.
    #[serde(default)]
    pub routes: Vec<RouteSection>,
    /// `[slivka]`: one route per slivka service file, after `[[routes]]`.
    pub slivka: Option<SlivkaSection>,
    /// `[status]`: the status records.
    #[serde(default)]
    pub status: StatusSection,
    /// `[metrics]`: where the metrics and health endpoints listen.
    #[serde(default)]
    pub metrics: MetricsSection,
    /// `[console]`: the web console's actions.
    #[serde(default)]
    pub console: ConsoleSection,
    /// `[retention]`; absent: Redis keeps everything.
    pub retention: Option<RetentionSection>,
}

/// `[retention]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RetentionSection {
    /// `interval`: time between two rounds.
    #[serde(default, with = "humantime_serde")]
    pub interval: Option<Duration>,
    /// `interval-ms`: `interval`, in milliseconds (the older key).
    pub interval_ms: Option<u64>,
    /// `archive-dir`: where trimmed entries are written first.
    pub archive_dir: Option<PathBuf>,
    /// `trim-sources`: whether acknowledged source entries are trimmed.
    pub trim_sources: Option<bool>,
    /// `[retention.targets]`: the cap of every target stream.
    #[serde(default)]
    pub targets: CapSection,
    /// `[retention.rejected]`: the cap of every rejected stream.
    #[serde(default)]
    pub rejected: CapSection,
    /// `[retention.dead-letters]`: the cap of every dead-letter stream.
    #[serde(default)]
    pub dead_letters: CapSection,
    /// `[retention.stream."NAME"]`: one output stream's own cap.
    #[serde(default)]
    pub stream: BTreeMap<String, CapSection>,
}

/// A cap table of `[retention]`.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct CapSection {
    /// `max-len`: entries kept, at most.
    pub max_len: Option<u64>,
    /// `max-age`: older entries are trimmed.
    #[serde(default, with = "humantime_serde")]
    pub max_age: Option<Duration>,
    /// `max-age-seconds`: `max-age`, in seconds (the older key).
    pub max_age_seconds: Option<u64>,
}

/// `[metrics]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct MetricsSection {
    /// `listen`: `HOST:PORT`; absent: no listener.
    pub listen: Option<String>,
}

/// `[console]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct ConsoleSection {
    /// `actions`: whether the console may replay dead letters.
    pub actions: Option<bool>,
    /// `token-env`: the environment variable holding the actions' bearer
    /// token.
    pub token_env: Option<String>,
}

/// `[redis] url`: one URL, or several (the seeds of a cluster).
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "a Redis URL, or a list of cluster nodes' URLs (with cluster = true)"
)]
pub(super) enum Urls {
    One(String),
    Many(Vec<String>),
}

/// `[redis]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RedisSection {
    /// `url`: a Redis URL, or `embedded`; with `cluster = true`, a list of
    /// nodes' URLs too.
    pub url: Option<Urls>,
    /// `data-dir`: the embedded server's directory.
    pub data_dir: Option<PathBuf>,
    /// `cluster`: whether `url` is a node of a Redis Cluster.
    pub cluster: Option<bool>,
    /// `sentinels`: `HOST:PORT` of each Redis Sentinel watching the master.
    pub sentinels: Option<Vec<String>>,
    /// `master`: the name the sentinels know the master by.
    pub master: Option<String>,
    /// `replica-acks`: replicas that must have each settle before its jobs
    /// count as done (`WAIT`); 0 or absent: none.
    pub replica_acks: Option<u32>,
    /// `replica-ack-timeout`: how long a settle waits for them.
    #[serde(default, with = "humantime_serde")]
    pub replica_ack_timeout: Option<Duration>,
}

/// `[consumer]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct ConsumerSection {
    /// `group`: the consumer group.
    pub group: Option<String>,
    /// `name`: this daemon's name in the group.
    pub name: Option<String>,
    /// `batch`: entries asked for per read.
    pub batch: Option<usize>,
    /// `in-flight`: entries read but not settled, at most.
    pub in_flight: Option<usize>,
    /// `block`: how long one blocking read waits.
    #[serde(default, with = "humantime_serde")]
    pub block: Option<Duration>,
    /// `block-ms`: `block`, in milliseconds (the older key).
    pub block_ms: Option<u64>,
    /// `claim-idle`: when a pending entry is taken over.
    #[serde(default, with = "humantime_serde")]
    pub claim_idle: Option<Duration>,
    /// `claim-idle-ms`: `claim-idle`, in milliseconds (the older key).
    pub claim_idle_ms: Option<u64>,
    /// `forget-idle`: when an idle consumer with nothing pending is removed
    /// from the group; 0 never.
    #[serde(default, with = "humantime_serde")]
    pub forget_idle: Option<Duration>,
    /// `forget-idle-ms`: `forget-idle`, in milliseconds.
    pub forget_idle_ms: Option<u64>,
    /// `shutdown-timeout`: how long a stop waits for jobs in flight; 0
    /// forever.
    #[serde(default, with = "humantime_serde")]
    pub shutdown_timeout: Option<Duration>,
    /// `shutdown-timeout-ms`: `shutdown-timeout`, in milliseconds.
    pub shutdown_timeout_ms: Option<u64>,
    /// `max-deliveries`: deliveries before an entry is dead-lettered.
    pub max_deliveries: Option<u32>,
    /// `max-entry-bytes`: the largest entry read.
    pub max_entry_bytes: Option<usize>,
    /// `workers`: threads that run plugins.
    pub workers: Option<usize>,
}

/// `[plugins]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct PluginsSection {
    /// `dir`: where `NAME.wasm` is looked for.
    pub dir: Option<PathBuf>,
    /// The limit keys, applied to every plugin.
    #[serde(flatten)]
    pub limits: LimitOverrides,
}

/// `[plugin.NAME]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct PluginSection {
    /// `file`: the `.wasm` file, instead of `DIR/NAME.wasm`.
    pub file: Option<PathBuf>,
    /// The limit keys, over `[plugins]`'.
    #[serde(flatten)]
    pub limits: LimitOverrides,
    /// `[plugin.NAME.config]`: values the plugin reads; non-strings as JSON.
    #[serde(default)]
    pub config: BTreeMap<String, toml::Value>,
    /// `[plugin.NAME.config-files]`: config values read from files.
    #[serde(default)]
    pub config_files: BTreeMap<String, PathBuf>,
    /// `[plugin.NAME.grants]`: what the sandbox lets it see.
    #[serde(default)]
    pub grants: GrantsSection,
    /// `isolation`: `"job"` (default) or `"batch"`, checked in
    /// `config::plugins`.
    pub isolation: Option<String>,
}

/// `[plugin.NAME.grants]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct GrantsSection {
    /// `read-dirs`: guest path → host directory, read-only.
    #[serde(default)]
    pub read_dirs: BTreeMap<String, PathBuf>,
    /// `env`: environment variables it sees.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// `clocks`: whether it may read the real clocks.
    #[serde(default)]
    pub clocks: bool,
}

/// One `[[routes]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RouteSection {
    /// `name`; absent: `SOURCE#N`.
    pub name: Option<String>,
    /// `source`: the stream it reads.
    pub source: String,
    /// `match`: field → accepted value or values.
    #[serde(default, rename = "match")]
    pub matches: BTreeMap<String, MatchValue>,
    /// `validators`: validator plugins, in order.
    #[serde(default)]
    pub validators: Vec<String>,
    /// `router`: the router plugin.
    pub router: String,
    /// `shadow`: a router run beside `router` on every job, its decisions
    /// only counted and compared.
    pub shadow: Option<String>,
    /// `targets`: streams the router may choose.
    pub targets: Vec<String>,
    /// `rejected`: where invalid and refused jobs go.
    pub rejected: String,
    /// `dead-letters`: where jobs that could not be handled go.
    pub dead_letters: String,
}

/// `[slivka]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct SlivkaSection {
    /// `services`: the directory of `ID.service.yaml` files.
    pub services: PathBuf,
    /// `source`: the stream every service's route reads.
    pub source: String,
    /// `validators`: validator plugins, in order.
    pub validators: Option<Vec<String>>,
    /// `router`: the router plugin.
    pub router: Option<String>,
    /// `shadow`: a router run beside `router` on every service's jobs,
    /// only counted and compared.
    pub shadow: Option<String>,
    /// `target-pattern`: a runner's stream, `{service}` and `{runner}`
    /// substituted.
    pub target_pattern: Option<String>,
    /// `rejected`: where invalid and refused jobs go.
    pub rejected: String,
    /// `dead-letters`: where jobs that could not be handled go.
    pub dead_letters: String,
}

/// A value of a route's `match` table.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum MatchValue {
    /// `field = "value"`.
    One(String),
    /// `field = ["value", ...]`: any of them.
    Any(Vec<String>),
}

/// `[status]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct StatusSection {
    /// `prefix`: the records' key prefix.
    pub prefix: Option<String>,
    /// `ttl`: how long a record lives after its last write.
    #[serde(default, with = "humantime_serde")]
    pub ttl: Option<Duration>,
    /// `ttl-seconds`: `ttl`, in seconds (the older key).
    pub ttl_seconds: Option<u64>,
}

/// The config file's directory, against which the paths it gives resolve.
pub(super) struct Base {
    /// The directory; empty for a file named without one.
    dir: PathBuf,
}

impl Base {
    /// The directory of `file`.
    pub(super) fn of(file: &Path) -> Base {
        Base {
            dir: file.parent().unwrap_or(Path::new(".")).to_owned(),
        }
    }

    /// `path` as the file means it: absolute as given, relative to the file.
    pub(super) fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.dir.join(path)
        }
    }
}

/// A duration of `[table]`, written as `key = "30s"` or as the older
/// integer key `old_key` (already made a [`Duration`]); `None` if neither.
/// Both given is an error naming both, whatever their values.
pub(super) fn duration(
    table: &str,
    (key, written): (&str, Option<Duration>),
    (old_key, old): (&str, Option<Duration>),
) -> Result<Option<Duration>, String> {
    match (written, old) {
        (Some(_), Some(_)) => Err(format!(
            "[{table}] {key} and {old_key} are the same setting: give only \
             `{key}`, with its unit (e.g. \"30s\")"
        )),
        (written, old) => Ok(written.or(old)),
    }
}
