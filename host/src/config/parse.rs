//! From the file as written to [`Settings`]: [`Settings::load`] reads it,
//! [`Settings::parse`] checks it table by table, one function per table, in
//! the order the daemon needs them: Redis, consumer, routes (`[[routes]]`,
//! then `[slivka]`'s, in `slivka.rs`), the plugins the routes name
//! (`plugins.rs`), metrics, status, retention (`retention.rs`).
//!
//! Every error starts with the file's name; a TOML syntax error also gives
//! the line and column. The section functions return the message without
//! the file name, and [`Settings::parse`] adds it.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow};

use super::defaults::{
    self, DEFAULT_BATCH, DEFAULT_BLOCK, DEFAULT_CLAIM_IDLE, DEFAULT_DATA_DIR, DEFAULT_FORGET_IDLE,
    DEFAULT_GROUP, DEFAULT_IN_FLIGHT_BATCHES, DEFAULT_MAX_DELIVERIES, DEFAULT_MAX_ENTRY_BYTES,
    DEFAULT_PLUGIN_DIR, DEFAULT_STATUS_PREFIX, DEFAULT_STATUS_TTL, MAX_WORKERS, MIN_BLOCK,
    MIN_CLAIM_IDLE, MIN_MAX_DELIVERIES, MIN_STATUS_TTL, MIN_WORKERS,
};
use super::file::{Base, millis};
use super::file::{
    ConsumerSection, File, MatchValue, MetricsSection, RedisSection, RouteSection, StatusSection,
};
use super::plugins::plugin_configs;
use super::retention::retention_settings;
use super::routes::{RouteSettings, check_loops};
use super::settings::{ConsumerSettings, RedisTarget, Settings, StatusSettings};
use super::slivka::Slivka;
use crate::plugin::Limits;
use crate::store::redact;

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
        let base = Base::of(file);
        let bad = |msg: String| anyhow!("{}: {msg}", file.display());

        let redis = redis_target(raw.redis, url, &base).map_err(bad)?;
        let cluster = matches!(redis, RedisTarget::Cluster(_));
        let consumer = consumer_settings(raw.consumer, consumer, file).map_err(bad)?;
        let plugin_dir =
            base.resolve(&raw.plugins.dir.unwrap_or_else(|| DEFAULT_PLUGIN_DIR.into()));
        let limits = raw
            .plugins
            .limits
            .apply(Limits::default())
            .map_err(|e| bad(format!("[plugins] {e}")))?;
        let slivka = raw
            .slivka
            .map(|section| Slivka::read(section, &base))
            .transpose()
            .map_err(bad)?;
        let mut sections = raw.routes;
        if let Some(slivka) = &slivka {
            sections.extend(slivka.routes());
        }
        let routes = route_settings(sections, slivka.as_ref()).map_err(bad)?;
        check_loops(&routes).map_err(bad)?;
        let mut plugins =
            plugin_configs(&routes, &raw.plugin, &plugin_dir, limits, &base).map_err(bad)?;
        if let Some(slivka) = &slivka {
            slivka.configure(&mut plugins);
        }
        for name in raw.plugin.keys() {
            if !plugins.contains_key(name) {
                tracing::warn!("{}: [plugin.{name}] is used by no route", file.display());
            }
        }
        let metrics = metrics_listen(raw.metrics).map_err(bad)?;
        let status = status_settings(raw.status, cluster);
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
            Some(r) => Some(retention_settings(r, &routes, &base).map_err(bad)?),
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
            slivka_services: slivka.map(|s| s.dir),
            status,
        })
    }
}

/// `[redis]`; `url` is the command line's override of its `url`.
fn redis_target(
    section: RedisSection,
    url: Option<String>,
    base: &Base,
) -> Result<RedisTarget, String> {
    let cluster = section.cluster == Some(true);
    match url.or(section.url) {
        None => Err("[redis] url is missing (a redis:// URL or \"embedded\")".into()),
        Some(u) if u == "embedded" && cluster => {
            Err("[redis] cluster = true needs the url of a cluster node, not \"embedded\"".into())
        }
        Some(u) if u == "embedded" => Ok(RedisTarget::Embedded {
            data_dir: base.resolve(&section.data_dir.unwrap_or_else(|| DEFAULT_DATA_DIR.into())),
        }),
        Some(u) => {
            redis::parse_redis_url(&u)
                .ok_or_else(|| format!("[redis] url `{}` is not a Redis URL", redact(&u)))?;
            if !cluster {
                return Ok(RedisTarget::Url(u));
            }
            if !(u.starts_with("redis://") || u.starts_with("rediss://")) {
                return Err(format!(
                    "[redis] cluster = true needs a redis:// or rediss:// url, not `{}`",
                    redact(&u)
                ));
            }
            Ok(RedisTarget::Cluster(u))
        }
    }
}

/// `[consumer]`; `name` is the command line's override of its `name`, and
/// the default name comes from `file`'s stem.
fn consumer_settings(
    section: ConsumerSection,
    name: Option<String>,
    file: &Path,
) -> Result<ConsumerSettings, String> {
    let batch = section.batch.unwrap_or(DEFAULT_BATCH);
    let in_flight = section
        .in_flight
        .unwrap_or(batch * DEFAULT_IN_FLIGHT_BATCHES);
    if batch == 0 || in_flight < batch {
        return Err(format!(
            "[consumer] batch must be at least 1 and in-flight at least batch (got batch {batch}, in-flight {in_flight})"
        ));
    }
    Ok(ConsumerSettings {
        group: section.group.unwrap_or_else(|| DEFAULT_GROUP.into()),
        name: name
            .or(section.name)
            .unwrap_or_else(|| defaults::consumer_name(file)),
        batch,
        in_flight,
        block: millis(section.block_ms, DEFAULT_BLOCK).max(MIN_BLOCK),
        claim_idle: millis(section.claim_idle_ms, DEFAULT_CLAIM_IDLE).max(MIN_CLAIM_IDLE),
        forget_idle: Some(millis(section.forget_idle_ms, DEFAULT_FORGET_IDLE))
            .filter(|idle| !idle.is_zero()),
        max_deliveries: section
            .max_deliveries
            .unwrap_or(DEFAULT_MAX_DELIVERIES)
            .max(MIN_MAX_DELIVERIES),
        max_entry_bytes: section.max_entry_bytes.unwrap_or(DEFAULT_MAX_ENTRY_BYTES),
        workers: section
            .workers
            .unwrap_or_else(defaults::workers)
            .clamp(MIN_WORKERS, MAX_WORKERS),
        null_pipeline: false,
    })
}

/// `[[routes]]` and `[slivka]`'s, in order; there must be at least one.
fn route_settings(
    sections: Vec<RouteSection>,
    slivka: Option<&Slivka>,
) -> Result<Vec<RouteSettings>, String> {
    if sections.is_empty() {
        return Err(match slivka {
            None => "no [[routes]]: every job would be dead-lettered".into(),
            Some(slivka) => format!(
                "no [[routes]] and no service file in [slivka] services {}: every job would \
                 be dead-lettered",
                slivka.dir.display()
            ),
        });
    }
    sections
        .into_iter()
        .enumerate()
        .map(|(i, section)| route(i + 1, section))
        .collect()
}

/// The `number`th `[[routes]]` table (from 1, for its default name).
fn route(number: usize, r: RouteSection) -> Result<RouteSettings, String> {
    let name = r.name.unwrap_or_else(|| format!("{}#{number}", r.source));
    let route_bad = |msg: String| format!("route `{name}`: {msg}");
    if r.targets.is_empty() {
        return Err(route_bad("`targets` is empty".into()));
    }
    for stream in r.targets.iter().chain([&r.rejected, &r.dead_letters]) {
        if stream.is_empty() || *stream == r.source {
            return Err(route_bad(format!(
                "stream `{stream}` cannot be a target: it is empty or the source itself"
            )));
        }
    }
    Ok(RouteSettings {
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
    })
}

/// `[metrics] listen`, if given.
fn metrics_listen(section: MetricsSection) -> Result<Option<SocketAddr>, String> {
    section
        .listen
        .map(|addr| {
            addr.parse()
                .map_err(|e| format!("[metrics] listen `{addr}` is not HOST:PORT ({e})"))
        })
        .transpose()
}

/// `[status]`; on a cluster its keys carry their source's hash tag.
fn status_settings(section: StatusSection, cluster: bool) -> StatusSettings {
    StatusSettings {
        prefix: section
            .prefix
            .unwrap_or_else(|| DEFAULT_STATUS_PREFIX.into()),
        tagged: cluster,
        ttl: section
            .ttl_seconds
            .map_or(DEFAULT_STATUS_TTL, Duration::from_secs)
            .max(MIN_STATUS_TTL),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GOOD;
    use std::path::PathBuf;

    /// The default consumer name survives a restart (no pid in it) and
    /// differs between two configs on one host.
    #[test]
    fn the_default_consumer_name_is_the_host_and_the_config_stem() {
        let name = |file: &str| {
            Settings::parse(Path::new(file), GOOD, None, None)
                .unwrap()
                .consumer
                .name
        };
        let first = name("/etc/sy/fast.toml");
        assert_eq!(first, name("/etc/sy/fast.toml"));
        assert!(first.ends_with("-fast"), "{first}");
        assert!(!first.contains(&std::process::id().to_string()), "{first}");
        assert_ne!(first, name("/etc/sy/slow.toml"));
        let text = format!("{GOOD}\n[consumer]\nname = \"mine\"\n");
        let named = Settings::parse(Path::new("/etc/sy/fast.toml"), &text, None, None).unwrap();
        assert_eq!(named.consumer.name, "mine");
    }

    #[test]
    fn forget_idle_defaults_to_an_hour_and_zero_disables_it() {
        let parse = |text: &str| Settings::parse(Path::new("s.toml"), text, None, None).unwrap();
        assert_eq!(
            parse(GOOD).consumer.forget_idle,
            Some(Duration::from_secs(3600))
        );
        let off = parse(&format!("{GOOD}\n[consumer]\nforget-idle-ms = 0\n"));
        assert_eq!(off.consumer.forget_idle, None);
        let short = parse(&format!("{GOOD}\n[consumer]\nforget-idle-ms = 300\n"));
        assert_eq!(short.consumer.forget_idle, Some(Duration::from_millis(300)));
    }

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

    /// Hot reload compares the restart-only settings whole: reading the same
    /// file twice (default consumer name and workers included) must give
    /// equal values, and a changed key must not.
    #[test]
    fn two_reads_of_one_file_compare_equal_and_a_changed_key_does_not() {
        let parse = |text: &str| Settings::parse(Path::new("s.toml"), text, None, None).unwrap();
        let (first, second) = (parse(GOOD), parse(GOOD));
        assert_eq!(first.redis, second.redis);
        assert_eq!(first.consumer, second.consumer);
        assert_eq!(first.status, second.status);
        let batch = parse(&format!("{GOOD}\n[consumer]\nbatch = 64\n"));
        assert_ne!(first.consumer, batch.consumer);
        let ttl = parse(&format!("{GOOD}\n[status]\nttl-seconds = 60\n"));
        assert_ne!(first.status, ttl.status);
    }
}
