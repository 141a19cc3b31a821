//! The routing config: TOML as the operator writes it, validated into
//! [`Settings`] the daemon can use without further checks.
//!
//! Every key is documented in the README. Paths in the file are relative to
//! the file's directory. Errors name the file (and, for syntax errors, the
//! line and column).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use serde::Deserialize;

use crate::plugin::{Grants, LimitOverrides, Limits, PluginSettings};

/// The config file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    #[serde(default)]
    redis: RedisSection,
    #[serde(default)]
    consumer: ConsumerSection,
    #[serde(default)]
    plugins: PluginsSection,
    #[serde(default)]
    plugin: BTreeMap<String, PluginSection>,
    #[serde(default)]
    routes: Vec<RouteSection>,
    #[serde(default)]
    status: StatusSection,
    #[serde(default)]
    metrics: MetricsSection,
    retention: Option<RetentionSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RetentionSection {
    interval_ms: Option<u64>,
    archive_dir: Option<PathBuf>,
    trim_sources: Option<bool>,
    #[serde(default)]
    targets: CapSection,
    #[serde(default)]
    rejected: CapSection,
    #[serde(default)]
    dead_letters: CapSection,
    #[serde(default)]
    stream: BTreeMap<String, CapSection>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct CapSection {
    max_len: Option<u64>,
    max_age_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct MetricsSection {
    listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RedisSection {
    url: Option<String>,
    data_dir: Option<PathBuf>,
    cluster: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConsumerSection {
    group: Option<String>,
    name: Option<String>,
    batch: Option<usize>,
    in_flight: Option<usize>,
    block_ms: Option<u64>,
    claim_idle_ms: Option<u64>,
    max_deliveries: Option<u32>,
    max_entry_bytes: Option<usize>,
    workers: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PluginsSection {
    dir: Option<PathBuf>,
    #[serde(flatten)]
    limits: LimitOverrides,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PluginSection {
    file: Option<PathBuf>,
    #[serde(flatten)]
    limits: LimitOverrides,
    #[serde(default)]
    config: BTreeMap<String, toml::Value>,
    #[serde(default)]
    config_files: BTreeMap<String, PathBuf>,
    #[serde(default)]
    grants: GrantsSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct GrantsSection {
    #[serde(default)]
    read_dirs: BTreeMap<String, PathBuf>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    clocks: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RouteSection {
    name: Option<String>,
    source: String,
    #[serde(default, rename = "match")]
    matches: BTreeMap<String, MatchValue>,
    #[serde(default)]
    validators: Vec<String>,
    router: String,
    targets: Vec<String>,
    rejected: String,
    dead_letters: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum MatchValue {
    One(String),
    Any(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct StatusSection {
    prefix: Option<String>,
    ttl_seconds: Option<u64>,
}

/// Where Redis is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// A server at this URL (`redis://`, `rediss://`, `redis+unix://`).
    Url(String),
    /// A Redis Cluster, reached first through the node at this URL (a
    /// `redis://` or `rediss://` URL; the other nodes are discovered).
    Cluster(String),
    /// A private `redis-server` that switchyard starts in `data_dir`.
    Embedded {
        /// Holds the socket, the AOF files and the server's log.
        data_dir: PathBuf,
    },
}

/// How the daemon consumes.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    /// The consumer group shared by every daemon.
    pub group: String,
    /// This daemon's name in the group; unique per daemon.
    pub name: String,
    /// Entries asked for per read.
    pub batch: usize,
    /// Entries read but not yet settled, at most.
    pub in_flight: usize,
    /// How long one blocking read waits.
    pub block: Duration,
    /// An entry pending this long with another consumer is taken over.
    pub claim_idle: Duration,
    /// An entry delivered more often than this is dead-lettered.
    pub max_deliveries: u32,
    /// An entry larger than this is dead-lettered unread.
    pub max_entry_bytes: usize,
    /// Threads that run plugins.
    pub workers: usize,
    /// Benchmark mode: do all the Redis work but call no plugin (every
    /// matched job goes to its route's first target). Set by `run
    /// --null-pipeline`, never by a config file.
    pub null_pipeline: bool,
}

/// One route: which entries it takes and what it does with them.
#[derive(Debug, Clone)]
pub struct RouteSettings {
    /// A name for logs and metrics.
    pub name: String,
    /// The stream it reads.
    pub source: String,
    /// Field → accepted values; every field must match.
    pub matches: Vec<(String, Vec<String>)>,
    /// Validator plugins, in order.
    pub validators: Vec<String>,
    /// The router plugin.
    pub router: String,
    /// Streams the router may choose.
    pub targets: Vec<String>,
    /// Where invalid and refused jobs go.
    pub rejected: String,
    /// Where jobs that could not be handled go.
    pub dead_letters: String,
}

impl RouteSettings {
    /// Whether an entry with these fields belongs to this route.
    pub fn matches(&self, field: impl Fn(&str) -> Option<String>) -> bool {
        self.matches
            .iter()
            .all(|(name, values)| field(name).is_some_and(|value| values.contains(&value)))
    }
}

/// The status records.
#[derive(Debug, Clone)]
pub struct StatusSettings {
    /// Key prefix; the record of job J is `PREFIX + J` (on a cluster
    /// `PREFIX{H}:J`, see [`crate::store::layout`]).
    pub prefix: String,
    /// Whether keys carry the source's hash tag (on a cluster).
    pub tagged: bool,
    /// How long a record lives after its last write.
    pub ttl: Duration,
}

/// What retention keeps in Redis, and where what it trims goes.
#[derive(Debug, Clone)]
pub struct RetentionSettings {
    /// Time between two rounds.
    pub interval: Duration,
    /// Trimmed entries are written here first; `None`: trimmed, not kept.
    pub archive_dir: Option<PathBuf>,
    /// Whether source streams are trimmed of entries every group acknowledged.
    pub trim_sources: bool,
    /// The cap of every target stream.
    pub targets: Cap,
    /// The cap of every rejected stream.
    pub rejected: Cap,
    /// The cap of every dead-letter stream.
    pub dead_letters: Cap,
    /// Per output stream: replaces the role's cap key by key.
    pub streams: BTreeMap<String, Cap>,
}

/// What an output stream may hold; `None` keys do not limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cap {
    /// Entries kept, at most (the newest).
    pub max_len: Option<u64>,
    /// Entries older than this (by their id's time) are trimmed.
    pub max_age: Option<Duration>,
}

impl Cap {
    /// Whether this cap limits anything.
    pub fn is_set(&self) -> bool {
        self.max_len.is_some() || self.max_age.is_some()
    }
}

/// What a stream is to switchyard, for retention and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A route reads it.
    Source,
    /// A router may write to it.
    Target,
    /// Rejected jobs go to it.
    Rejected,
    /// Dead letters go to it.
    DeadLetters,
}

impl Role {
    /// The name `status` shows.
    pub fn name(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Target => "target",
            Role::Rejected => "rejected",
            Role::DeadLetters => "dead-letters",
        }
    }
}

impl RetentionSettings {
    /// The cap of output stream `stream` of role `role` (a source has none).
    pub fn cap_for(&self, stream: &str, role: Role) -> Cap {
        let base = match role {
            Role::Source => return Cap::default(),
            Role::Target => self.targets,
            Role::Rejected => self.rejected,
            Role::DeadLetters => self.dead_letters,
        };
        match self.streams.get(stream) {
            Some(own) => Cap {
                max_len: own.max_len.or(base.max_len),
                max_age: own.max_age.or(base.max_age),
            },
            None => base,
        }
    }
}

/// Every stream `routes` name, once, with its role; a stream some route
/// reads is a source whatever else it is. Sources first, in route order.
pub fn streams_of<'a>(
    routes: impl IntoIterator<Item = &'a RouteSettings> + Clone,
) -> Vec<(String, Role)> {
    let mut streams: Vec<(String, Role)> = sources_of(routes.clone())
        .into_iter()
        .map(|s| (s, Role::Source))
        .collect();
    for route in routes {
        let outputs = route.targets.iter().map(|t| (t, Role::Target)).chain([
            (&route.rejected, Role::Rejected),
            (&route.dead_letters, Role::DeadLetters),
        ]);
        for (stream, role) in outputs {
            if !streams.iter().any(|(s, _)| s == stream) {
                streams.push((stream.clone(), role));
            }
        }
    }
    streams
}

/// One plugin as the config describes it.
#[derive(Debug, Clone)]
pub struct PluginConfig {
    /// The `.wasm` file.
    pub file: PathBuf,
    /// Limits, grants and its config table.
    pub settings: PluginSettings,
    /// The files its config values were read from (`config-files`), watched
    /// for hot reload.
    pub config_files: Vec<PathBuf>,
}

/// A validated config.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The file it came from.
    pub file: PathBuf,
    /// Where Redis is.
    pub redis: RedisTarget,
    /// How to consume.
    pub consumer: ConsumerSettings,
    /// The plugin directory.
    pub plugin_dir: PathBuf,
    /// Each plugin the routes use, by name.
    pub plugins: BTreeMap<String, PluginConfig>,
    /// The routes, in the order they are tried.
    pub routes: Vec<RouteSettings>,
    /// Status records.
    pub status: StatusSettings,
    /// Where `/metrics`, `/healthz` and `/readyz` are served, if anywhere.
    pub metrics: Option<std::net::SocketAddr>,
    /// Trimming and archiving; `None` (no `[retention]`): Redis keeps all.
    pub retention: Option<RetentionSettings>,
}

impl Settings {
    /// Reads and validates `file`; `url` and `consumer` override the file.
    pub fn load(
        file: &Path,
        url: Option<String>,
        consumer: Option<String>,
    ) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read config {}", file.display()))?;
        Settings::parse(file, &text, url, consumer)
    }

    /// Validates `text`, the contents of `file`.
    pub fn parse(
        file: &Path,
        text: &str,
        url: Option<String>,
        consumer: Option<String>,
    ) -> anyhow::Result<Settings> {
        let raw: File = toml::from_str(text).map_err(|e| syntax_error(file, text, &e))?;
        let base = file.parent().unwrap_or(Path::new(".")).to_owned();
        let at = |p: &Path| {
            if p.is_absolute() {
                p.to_owned()
            } else {
                base.join(p)
            }
        };
        let bad = |msg: String| anyhow!("{}: {msg}", file.display());

        let redis = match url.or(raw.redis.url) {
            None => bail!(bad(
                "[redis] url is missing (a redis:// URL or \"embedded\")".into()
            )),
            Some(u) if u == "embedded" && raw.redis.cluster == Some(true) => bail!(bad(
                "[redis] cluster = true needs the url of a cluster node, not \"embedded\"".into()
            )),
            Some(u) if u == "embedded" => RedisTarget::Embedded {
                data_dir: at(&raw
                    .redis
                    .data_dir
                    .unwrap_or_else(|| "switchyard-data".into())),
            },
            Some(u) => {
                redis::parse_redis_url(&u).ok_or_else(|| {
                    bad(format!("[redis] url `{}` is not a Redis URL", redact(&u)))
                })?;
                if raw.redis.cluster == Some(true) {
                    if !(u.starts_with("redis://") || u.starts_with("rediss://")) {
                        bail!(bad(format!(
                            "[redis] cluster = true needs a redis:// or rediss:// url, not `{}`",
                            redact(&u)
                        )));
                    }
                    RedisTarget::Cluster(u)
                } else {
                    RedisTarget::Url(u)
                }
            }
        };
        let cluster = matches!(redis, RedisTarget::Cluster(_));

        let c = raw.consumer;
        let batch = c.batch.unwrap_or(256);
        let in_flight = c.in_flight.unwrap_or(batch * 4);
        if batch == 0 || in_flight < batch {
            bail!(bad(format!(
                "[consumer] batch must be at least 1 and in-flight at least batch (got batch {batch}, in-flight {in_flight})"
            )));
        }
        let consumer = ConsumerSettings {
            group: c.group.unwrap_or_else(|| "switchyard".into()),
            name: consumer.or(c.name).unwrap_or_else(default_consumer_name),
            batch,
            in_flight,
            block: Duration::from_millis(c.block_ms.unwrap_or(2000).max(1)),
            claim_idle: Duration::from_millis(c.claim_idle_ms.unwrap_or(30_000).max(10)),
            max_deliveries: c.max_deliveries.unwrap_or(5).max(1),
            max_entry_bytes: c.max_entry_bytes.unwrap_or(1 << 20),
            workers: c
                .workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
                .clamp(1, 64),
            null_pipeline: false,
        };

        let plugin_dir = at(&raw.plugins.dir.unwrap_or_else(|| "plugins".into()));
        let defaults = raw
            .plugins
            .limits
            .apply(Limits::default())
            .map_err(|e| bad(format!("[plugins] {e}")))?;

        if raw.routes.is_empty() {
            bail!(bad("no [[routes]]: every job would be dead-lettered".into()));
        }
        let mut routes = Vec::new();
        for (i, r) in raw.routes.into_iter().enumerate() {
            let name = r.name.unwrap_or_else(|| format!("{}#{}", r.source, i + 1));
            let route_bad = |msg: String| bad(format!("route `{name}`: {msg}"));
            if r.targets.is_empty() {
                bail!(route_bad("`targets` is empty".into()));
            }
            for stream in r.targets.iter().chain([&r.rejected, &r.dead_letters]) {
                if stream.is_empty() || *stream == r.source {
                    bail!(route_bad(format!(
                        "stream `{stream}` cannot be a target: it is empty or the source itself"
                    )));
                }
            }
            routes.push(RouteSettings {
                matches: r
                    .matches
                    .into_iter()
                    .map(|(k, v)| match v {
                        MatchValue::One(v) => (k, vec![v]),
                        MatchValue::Any(vs) => (k, vs),
                    })
                    .collect(),
                name,
                source: r.source,
                validators: r.validators,
                router: r.router,
                targets: r.targets,
                rejected: r.rejected,
                dead_letters: r.dead_letters,
            });
        }

        let mut plugins = BTreeMap::new();
        for route in &routes {
            for name in route.validators.iter().chain([&route.router]) {
                if plugins.contains_key(name) {
                    continue;
                }
                let section = raw.plugin.get(name);
                let default_file = plugin_dir.join(format!("{name}.wasm"));
                let settings = match section {
                    None => PluginSettings {
                        limits: defaults,
                        ..Default::default()
                    },
                    Some(s) => plugin_settings(name, s, defaults, &at)
                        .map_err(|e| bad(format!("{e:#}")))?,
                };
                let file = section
                    .and_then(|s| s.file.as_deref())
                    .map(&at)
                    .unwrap_or(default_file);
                let config_files = section
                    .map(|s| s.config_files.values().map(|p| at(p)).collect())
                    .unwrap_or_default();
                plugins.insert(
                    name.clone(),
                    PluginConfig {
                        file,
                        settings,
                        config_files,
                    },
                );
            }
        }
        for name in raw.plugin.keys() {
            if !plugins.contains_key(name) {
                tracing::warn!("{}: [plugin.{name}] is used by no route", file.display());
            }
        }

        let metrics =
            match raw.metrics.listen {
                None => None,
                Some(addr) => Some(addr.parse().map_err(|e| {
                    bad(format!("[metrics] listen `{addr}` is not HOST:PORT ({e})"))
                })?),
            };

        let status = StatusSettings {
            prefix: raw
                .status
                .prefix
                .unwrap_or_else(|| "switchyard:job:".into()),
            tagged: cluster,
            ttl: Duration::from_secs(raw.status.ttl_seconds.unwrap_or(7 * 24 * 3600).max(1)),
        };
        if cluster {
            crate::store::layout::check(&routes, &status.prefix).map_err(bad)?;
        }
        let retention = match raw.retention {
            None => None,
            Some(_) if cluster => {
                return Err(bad(
                    "[retention] is not supported with [redis] cluster = true yet: \
                     trim its streams by hand (see the README, \"Retention\")"
                        .to_owned(),
                ));
            }
            Some(r) => Some(retention_settings(r, &routes, &at).map_err(|e| bad(format!("{e}")))?),
        };

        Ok(Settings {
            retention,
            metrics,
            file: file.to_owned(),
            redis,
            consumer,
            plugin_dir,
            plugins,
            routes,
            status,
        })
    }

    /// Whether Redis is a cluster.
    pub fn cluster(&self) -> bool {
        matches!(self.redis, RedisTarget::Cluster(_))
    }

    /// The distinct source streams, in route order.
    pub fn sources(&self) -> Vec<String> {
        sources_of(&self.routes)
    }
}

/// The distinct source streams of `routes`, in route order.
pub fn sources_of<'a>(routes: impl IntoIterator<Item = &'a RouteSettings>) -> Vec<String> {
    let mut sources: Vec<String> = Vec::new();
    for route in routes {
        if !sources.contains(&route.source) {
            sources.push(route.source.clone());
        }
    }
    sources
}

fn retention_settings(
    section: RetentionSection,
    routes: &[RouteSettings],
    at: &impl Fn(&Path) -> PathBuf,
) -> anyhow::Result<RetentionSettings> {
    let cap = |table: &str, c: CapSection| -> anyhow::Result<Cap> {
        if c.max_len == Some(0) || c.max_age_seconds == Some(0) {
            bail!(
                "[{table}] max-len and max-age-seconds must be at least 1 (omit them to keep all)"
            );
        }
        Ok(Cap {
            max_len: c.max_len,
            max_age: c.max_age_seconds.map(Duration::from_secs),
        })
    };
    let mut streams = BTreeMap::new();
    for (stream, c) in section.stream {
        if routes.iter().any(|r| r.source == stream) {
            bail!(
                "[retention.stream.\"{stream}\"] is a source stream: it is trimmed only of entries every group acknowledged, never capped"
            );
        }
        let c = cap(&format!("retention.stream.\"{stream}\""), c)?;
        streams.insert(stream, c);
    }
    Ok(RetentionSettings {
        interval: Duration::from_millis(section.interval_ms.unwrap_or(300_000).max(10)),
        archive_dir: section.archive_dir.map(|d| at(&d)),
        trim_sources: section.trim_sources.unwrap_or(true),
        targets: cap("retention.targets", section.targets)?,
        rejected: cap("retention.rejected", section.rejected)?,
        dead_letters: cap("retention.dead-letters", section.dead_letters)?,
        streams,
    })
}

fn plugin_settings(
    name: &str,
    section: &PluginSection,
    defaults: Limits,
    at: &impl Fn(&Path) -> PathBuf,
) -> anyhow::Result<PluginSettings> {
    let limits = section
        .limits
        .apply(defaults)
        .map_err(|e| anyhow!("[plugin.{name}] {e}"))?;
    let mut config = BTreeMap::new();
    for (key, value) in &section.config {
        let text = match value {
            toml::Value::String(s) => s.clone(),
            other => serde_json::to_string(other).with_context(|| {
                format!("[plugin.{name}.config] {key}: cannot be written as JSON")
            })?,
        };
        config.insert(key.clone(), text);
    }
    for (key, path) in &section.config_files {
        let path = at(path);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "[plugin.{name}.config-files] {key}: cannot read {}",
                path.display()
            )
        })?;
        config.insert(key.clone(), text);
    }
    let mut grants = Grants::default();
    for (guest, host) in &section.grants.read_dirs {
        let host = at(host);
        if !host.is_dir() {
            bail!(
                "[plugin.{name}.grants] read-dirs: {} is not a directory",
                host.display()
            );
        }
        grants.read_dirs.push((host, guest.clone()));
    }
    grants.env = section
        .grants
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    grants.clocks = section.grants.clocks;
    Ok(PluginSettings {
        limits,
        grants,
        config,
    })
}

/// A TOML error as `FILE:LINE:COLUMN: message`.
fn syntax_error(file: &Path, text: &str, error: &toml::de::Error) -> anyhow::Error {
    let message = error.message();
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            anyhow!("{}:{line}:{column}: {message}", file.display())
        }
        None => anyhow!("{}: {message}", file.display()),
    }
}

/// The default consumer name: host name and process id.
fn default_consumer_name() -> String {
    let host = hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "switchyard".into());
    format!("{host}-{}", std::process::id())
}

/// A URL with its password replaced, for messages: the `user:password@`
/// form and the `pass=` / `password=` query parameters.
pub fn redact(url: &str) -> String {
    let mut out = match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    };
    if let Some((base, query)) = out.clone().split_once('?') {
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key == "pass" || key == "password" => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{base}?{}", query.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[redis]
url = "redis://127.0.0.1:1"
[[routes]]
source = "jobs"
match = { service = ["clustalo", "mafft"] }
validators = ["slivka-form"]
router = "fasta-size"
targets = ["queue:local"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#;

    #[test]
    fn a_good_config_is_read() {
        let s =
            Settings::parse(Path::new("/etc/sy/s.toml"), GOOD, None, Some("c1".into())).unwrap();
        assert_eq!(s.consumer.name, "c1");
        assert_eq!(
            s.plugins["fasta-size"].file,
            PathBuf::from("/etc/sy/plugins/fasta-size.wasm")
        );
        let route = &s.routes[0];
        assert!(route.matches(|_| Some("mafft".into())));
        assert!(!route.matches(|_| Some("jpred".into())));
        assert!(!route.matches(|_| None));
    }

    #[test]
    fn syntax_errors_name_file_line_and_column() {
        let text = "[redis]\nurl = \"x\"\n[[routes]\n";
        let err = Settings::parse(Path::new("s.toml"), text, None, None).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.starts_with("s.toml:3:"), "{msg}");
    }

    #[test]
    fn a_route_writing_to_its_source_is_refused() {
        let text = GOOD.replace("jobs:dead", "jobs");
        let err = Settings::parse(Path::new("s.toml"), &text, None, None).unwrap_err();
        assert!(format!("{err:#}").contains("the source itself"), "{err:#}");
    }

    #[test]
    fn a_cluster_config_with_keys_in_different_slots_is_refused() {
        let text = GOOD.replace("[redis]", "[redis]\ncluster = true");
        let err = Settings::parse(Path::new("s.toml"), &text, None, None).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.starts_with("s.toml: on a Redis Cluster"), "{msg}");
        assert!(msg.contains("route `jobs#1`"), "{msg}");
        let tagged = text
            .replace("\"queue:local\"", "\"{jobs}:local\"")
            .replace("\"jobs:rejected\"", "\"{jobs}:rejected\"")
            .replace("\"jobs:dead\"", "\"{jobs}:dead\"");
        let s = Settings::parse(Path::new("s.toml"), &tagged, None, None).unwrap();
        assert!(s.cluster() && s.status.tagged);
    }

    #[test]
    fn retention_is_off_without_its_table() {
        let s = Settings::parse(Path::new("/etc/sy/s.toml"), GOOD, None, None).unwrap();
        assert!(s.retention.is_none());
    }

    #[test]
    fn retention_caps_merge_per_stream() {
        let text = format!(
            "{GOOD}\n[retention]\ninterval-ms = 500\narchive-dir = \"archive\"\n\
             [retention.targets]\nmax-len = 100\nmax-age-seconds = 60\n\
             [retention.stream.\"queue:local\"]\nmax-len = 7\n"
        );
        let s = Settings::parse(Path::new("/etc/sy/s.toml"), &text, None, None).unwrap();
        let r = s.retention.unwrap();
        assert_eq!(r.interval, Duration::from_millis(500));
        assert_eq!(r.archive_dir, Some(PathBuf::from("/etc/sy/archive")));
        assert!(r.trim_sources);
        let local = r.cap_for("queue:local", Role::Target);
        assert_eq!(local.max_len, Some(7));
        assert_eq!(local.max_age, Some(Duration::from_secs(60)));
        assert_eq!(r.cap_for("queue:other", Role::Target).max_len, Some(100));
        assert!(!r.cap_for("jobs:dead", Role::DeadLetters).is_set());
        assert!(!r.cap_for("jobs", Role::Source).is_set());
    }

    #[test]
    fn a_cap_on_a_source_is_refused_naming_file_and_key() {
        let text = format!("{GOOD}\n[retention.stream.jobs]\nmax-len = 10\n");
        let err = Settings::parse(Path::new("s.toml"), &text, None, None).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.starts_with("s.toml: [retention.stream.\"jobs\"]"),
            "{msg}"
        );
        let text = format!("{GOOD}\n[retention.rejected]\nmax-len = 0\n");
        let err = Settings::parse(Path::new("s.toml"), &text, None, None).unwrap_err();
        assert!(
            format!("{err:#}").contains("[retention.rejected] max-len"),
            "{err:#}"
        );
    }

    #[test]
    fn every_stream_has_one_role_and_sources_win() {
        let text = format!(
            "{GOOD}\n[[routes]]\nsource = \"queue:local\"\nrouter = \"fasta-size\"\n\
             targets = [\"queue:final\"]\nrejected = \"jobs:rejected\"\ndead-letters = \"jobs:dead\"\n"
        );
        let s = Settings::parse(Path::new("s.toml"), &text, None, None).unwrap();
        let streams = streams_of(&s.routes);
        assert_eq!(
            streams,
            vec![
                ("jobs".to_owned(), Role::Source),
                ("queue:local".to_owned(), Role::Source),
                ("jobs:rejected".to_owned(), Role::Rejected),
                ("jobs:dead".to_owned(), Role::DeadLetters),
                ("queue:final".to_owned(), Role::Target),
            ]
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("redis://u:secret@h:1/0"), "redis://u:***@h:1/0");
        assert_eq!(redact("redis://h:1"), "redis://h:1");
        assert_eq!(
            redact("redis+unix:///s.sock?user=u&pass=secret&db=1"),
            "redis+unix:///s.sock?user=u&pass=***&db=1"
        );
    }
}
