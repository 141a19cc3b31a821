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
    DEFAULT_PLUGIN_DIR, DEFAULT_SHUTDOWN_TIMEOUT, DEFAULT_STATUS_PREFIX, DEFAULT_STATUS_TTL,
    MAX_WORKERS, MIN_BLOCK, MIN_CLAIM_IDLE, MIN_MAX_DELIVERIES, MIN_STATUS_TTL, MIN_WORKERS,
};
use super::env::Overrides;
use super::file::{Base, duration};
use super::file::{
    ConsumerSection, File, MatchValue, MetricsSection, RedisSection, RouteSection, StatusSection,
    Urls,
};
use super::plugins::plugin_configs;
use super::retention::retention_settings;
use super::routes::{RouteSettings, check_loops, check_names, check_roles};
use super::settings::{
    CONSOLE_TOKEN_ENV, ConsoleSettings, ConsumerSettings, RedisTarget, ReplicaAcks, Settings,
    StatusSettings,
};
use super::slivka::Slivka;
use crate::plugin::Limits;
use crate::store::redact;

impl Settings {
    /// Reads and validates `file`, with the `SWITCHYARD_<TABLE>__<KEY>`
    /// variables of the environment over its keys (see [`Overrides`]);
    /// `url` and `consumer` (the command line's) override both.
    pub fn load(
        file: &Path,
        url: Option<String>,
        consumer: Option<String>,
    ) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read config {}", file.display()))?;
        let overrides = Overrides::from_env().map_err(|e| anyhow!("{}: {e}", file.display()))?;
        Settings::parse_overridden(file, &text, url, consumer, &overrides)
    }

    /// Validates `text`, the contents of `file`, alone.
    pub fn parse(
        file: &Path,
        text: &str,
        url: Option<String>,
        consumer: Option<String>,
    ) -> anyhow::Result<Settings> {
        Settings::parse_overridden(file, text, url, consumer, &Overrides::none())
    }

    /// Validates `text`, the contents of `file`, with `overrides` laid over
    /// its keys. The file is read alone first, so its own errors keep their
    /// line and column; an error in an override names its variable, and
    /// every later error names the variables in force beside the file.
    pub fn parse_overridden(
        file: &Path,
        text: &str,
        url: Option<String>,
        consumer: Option<String>,
        overrides: &Overrides,
    ) -> anyhow::Result<Settings> {
        let mut raw: File = toml::from_str(text).map_err(|e| syntax_error(file, text, &e))?;
        let mut origin = file.display().to_string();
        if !overrides.is_empty() {
            let table: toml::Table =
                toml::from_str(text).map_err(|e| syntax_error(file, text, &e))?;
            raw = overrides
                .apply(&table)
                .map_err(|e| anyhow!("{origin}: {e}"))?;
            origin = format!("{origin} (with {})", overrides.variables().join(", "));
        }
        let base = Base::of(file);
        let bad = |msg: String| anyhow!("{origin}: {msg}");

        let replica_acks = match raw.redis.replica_acks {
            None | Some(0) => None,
            Some(count) => Some(ReplicaAcks {
                count,
                timeout: raw
                    .redis
                    .replica_ack_timeout
                    .unwrap_or(Duration::from_secs(1)),
            }),
        };
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
        let written = sections.len();
        if let Some(slivka) = &slivka {
            sections.extend(slivka.routes());
        }
        let routes = route_settings(sections, slivka.as_ref()).map_err(bad)?;
        check_names(&routes, |i| match i < written {
            true => format!("[[routes]] number {}", i + 1),
            false => "a [slivka] service file".to_owned(),
        })
        .map_err(bad)?;
        check_roles(&routes).map_err(bad)?;
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
        let console = ConsoleSettings {
            actions: raw.console.actions.unwrap_or(false),
            token_env: raw
                .console
                .token_env
                .unwrap_or_else(|| CONSOLE_TOKEN_ENV.to_owned()),
        };
        let status = status_settings(raw.status, cluster).map_err(bad)?;
        if cluster {
            crate::store::layout::check(&routes, &status.prefix).map_err(bad)?;
        }
        let retention = match raw.retention {
            None => None,
            Some(r) => Some(retention_settings(r, &routes, &base).map_err(bad)?),
        };

        Ok(Settings {
            retention,
            metrics,
            console,
            replica_acks,
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
    // The command line's URL names one server and overrides the sentinels.
    let (sentinels, master) = if url.is_some() {
        (None, None)
    } else {
        (section.sentinels, section.master)
    };
    match (sentinels, master) {
        (Some(sentinels), Some(master)) => {
            if cluster {
                return Err("[redis] sentinels and cluster = true exclude each other".into());
            }
            if sentinels.is_empty() || master.is_empty() {
                return Err(
                    "[redis] sentinels needs at least one HOST:PORT and master a name".into(),
                );
            }
            for s in &sentinels {
                if !s
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
                {
                    return Err(format!("[redis] sentinels: `{s}` is not HOST:PORT"));
                }
            }
            if section.url.is_some() {
                return Err("[redis] give either url or sentinels + master, not both".into());
            }
            return Ok(RedisTarget::Sentinel { sentinels, master });
        }
        (Some(_), None) => {
            return Err(
                "[redis] sentinels needs master = \"NAME\" (the name the sentinels monitor)".into(),
            );
        }
        (None, Some(_)) => {
            return Err("[redis] master needs sentinels = [\"HOST:PORT\", ...]".into());
        }
        (None, None) => {}
    }
    let mut urls = match url.map(Urls::One).or(section.url) {
        None => return Err("[redis] url is missing (a redis:// URL or \"embedded\")".into()),
        Some(Urls::One(u)) => vec![u],
        Some(Urls::Many(list)) if list.is_empty() => {
            return Err("[redis] url is an empty list: give at least one node's URL".into());
        }
        Some(Urls::Many(list)) if !cluster && list.len() > 1 => {
            return Err(format!(
                "[redis] url lists {} URLs, which only a Redis Cluster takes (cluster = true)",
                list.len()
            ));
        }
        Some(Urls::Many(list)) => list,
    };
    if urls.iter().any(|u| u == "embedded") {
        if cluster || urls.len() > 1 {
            return Err(
                "[redis] cluster = true needs the url of a cluster node, not \"embedded\"".into(),
            );
        }
        return Ok(RedisTarget::Embedded {
            data_dir: base.resolve(&section.data_dir.unwrap_or_else(|| DEFAULT_DATA_DIR.into())),
        });
    }
    for u in &urls {
        redis::parse_redis_url(u)
            .ok_or_else(|| format!("[redis] url `{}` is not a Redis URL", redact(u)))?;
        if cluster && !(u.starts_with("redis://") || u.starts_with("rediss://")) {
            return Err(format!(
                "[redis] cluster = true needs redis:// or rediss:// urls, not `{}`",
                redact(u)
            ));
        }
    }
    if cluster {
        Ok(RedisTarget::Cluster(urls))
    } else {
        Ok(RedisTarget::Url(urls.remove(0)))
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
    let block = duration(
        "consumer",
        ("block", section.block),
        ("block-ms", section.block_ms.map(Duration::from_millis)),
    )?
    .unwrap_or(DEFAULT_BLOCK);
    let claim_idle = duration(
        "consumer",
        ("claim-idle", section.claim_idle),
        (
            "claim-idle-ms",
            section.claim_idle_ms.map(Duration::from_millis),
        ),
    )?
    .unwrap_or(DEFAULT_CLAIM_IDLE);
    let forget_idle = duration(
        "consumer",
        ("forget-idle", section.forget_idle),
        (
            "forget-idle-ms",
            section.forget_idle_ms.map(Duration::from_millis),
        ),
    )?
    .unwrap_or(DEFAULT_FORGET_IDLE);
    let shutdown_timeout = duration(
        "consumer",
        ("shutdown-timeout", section.shutdown_timeout),
        (
            "shutdown-timeout-ms",
            section.shutdown_timeout_ms.map(Duration::from_millis),
        ),
    )?
    .unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT);
    Ok(ConsumerSettings {
        group: section.group.unwrap_or_else(|| DEFAULT_GROUP.into()),
        name: name
            .or(section.name)
            .unwrap_or_else(|| defaults::consumer_name(file)),
        batch,
        in_flight,
        block: block.max(MIN_BLOCK),
        claim_idle: claim_idle.max(MIN_CLAIM_IDLE),
        forget_idle: Some(forget_idle).filter(|idle| !idle.is_zero()),
        shutdown_timeout: Some(shutdown_timeout).filter(|t| !t.is_zero()),
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
        shadow: r.shadow,
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
fn status_settings(section: StatusSection, cluster: bool) -> Result<StatusSettings, String> {
    let ttl = duration(
        "status",
        ("ttl", section.ttl),
        ("ttl-seconds", section.ttl_seconds.map(Duration::from_secs)),
    )?;
    Ok(StatusSettings {
        prefix: section
            .prefix
            .unwrap_or_else(|| DEFAULT_STATUS_PREFIX.into()),
        tagged: cluster,
        ttl: ttl.unwrap_or(DEFAULT_STATUS_TTL).max(MIN_STATUS_TTL),
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
    fn shutdown_timeout_defaults_to_30_s_and_zero_waits_forever() {
        let parse = |text: &str| Settings::parse(Path::new("s.toml"), text, None, None).unwrap();
        assert_eq!(
            parse(GOOD).consumer.shutdown_timeout,
            Some(Duration::from_secs(30))
        );
        let forever = parse(&format!("{GOOD}\n[consumer]\nshutdown-timeout = \"0s\"\n"));
        assert_eq!(forever.consumer.shutdown_timeout, None);
        let short = parse(&format!("{GOOD}\n[consumer]\nshutdown-timeout-ms = 2500\n"));
        assert_eq!(
            short.consumer.shutdown_timeout,
            Some(Duration::from_millis(2500))
        );
        let both = Settings::parse(
            Path::new("s.toml"),
            &format!("{GOOD}\n[consumer]\nshutdown-timeout = \"1s\"\nshutdown-timeout-ms = 1000\n"),
            None,
            None,
        )
        .unwrap_err();
        let message = format!("{both:#}");
        assert!(message.contains("shutdown-timeout-ms"), "{message}");
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
        let written = parse(&format!("{GOOD}\n[consumer]\nforget-idle = \"2h\"\n"));
        assert_eq!(
            written.consumer.forget_idle,
            Some(Duration::from_secs(7200))
        );
        let off = parse(&format!("{GOOD}\n[consumer]\nforget-idle = \"0s\"\n"));
        assert_eq!(off.consumer.forget_idle, None);
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

    #[test]
    fn a_cluster_takes_a_list_of_seed_urls_and_one_server_only_one() {
        let tagged = |redis: &str| {
            GOOD.replace("url = \"redis://127.0.0.1:1\"", redis)
                .replace("\"jobs\"", "\"{jobs}\"")
                .replace("\"queue:local\"", "\"{jobs}:local\"")
                .replace("\"jobs:rejected\"", "\"{jobs}:rejected\"")
                .replace("\"jobs:dead\"", "\"{jobs}:dead\"")
        };
        let seeds = tagged("cluster = true\nurl = [\"redis://a:1\", \"redis://b:2\"]");
        let s = Settings::parse(Path::new("s.toml"), &seeds, None, None).unwrap();
        assert_eq!(
            s.redis,
            RedisTarget::Cluster(vec!["redis://a:1".into(), "redis://b:2".into()])
        );
        let one = tagged("cluster = true\nurl = \"redis://a:1\"");
        let s = Settings::parse(Path::new("s.toml"), &one, None, None).unwrap();
        assert_eq!(s.redis, RedisTarget::Cluster(vec!["redis://a:1".into()]));
        // The command line's URL stands for the whole list.
        let s = Settings::parse(
            Path::new("s.toml"),
            &seeds,
            Some("redis://c:3".into()),
            None,
        )
        .unwrap();
        assert_eq!(s.redis, RedisTarget::Cluster(vec!["redis://c:3".into()]));

        let two = GOOD.replace(
            "url = \"redis://127.0.0.1:1\"",
            "url = [\"redis://a:1\", \"redis://b:2\"]",
        );
        assert!(
            refusal(&two).contains("[redis] url lists 2 URLs, which only a Redis Cluster takes"),
            "{}",
            refusal(&two)
        );
        let empty = tagged("cluster = true\nurl = []");
        assert!(
            refusal(&empty).contains("url is an empty list"),
            "{}",
            refusal(&empty)
        );
        let unix = tagged("cluster = true\nurl = [\"redis://a:1\", \"redis+unix:///r.sock\"]");
        assert!(
            refusal(&unix).contains("needs redis:// or rediss:// urls"),
            "{}",
            refusal(&unix)
        );
        let number = GOOD.replace("url = \"redis://127.0.0.1:1\"", "url = 6379");
        assert!(
            refusal(&number).contains("a Redis URL, or a list of cluster nodes' URLs"),
            "{}",
            refusal(&number)
        );
    }

    fn refusal(text: &str) -> String {
        let err = Settings::parse(Path::new("s.toml"), text, None, None).unwrap_err();
        format!("{err:#}")
    }

    #[test]
    fn two_routes_of_one_name_are_refused_naming_both() {
        let text = format!(
            "{GOOD}\n[[routes]]\nsource = \"other\"\nrouter = \"fasta-size\"\n\
             targets = [\"queue:local\"]\nrejected = \"jobs:rejected\"\n\
             dead-letters = \"jobs:dead\"\nname = \"jobs#1\"\n"
        );
        assert_eq!(
            refusal(&text),
            "s.toml: route `jobs#1`: `name` is given twice, by [[routes]] number 1 and by \
             [[routes]] number 2; route names must differ"
        );
    }

    #[test]
    fn a_rejected_or_dead_letter_stream_that_is_a_target_or_a_source_is_refused() {
        let rejected_target = GOOD.replace("\"jobs:rejected\"", "\"queue:local\"");
        assert_eq!(
            refusal(&rejected_target),
            "s.toml: route `jobs#1`: `rejected` stream `queue:local` is also a target of \
             route `jobs#1`: jobs set aside would reach a runner"
        );
        let dead_source = format!(
            "{GOOD}\n[[routes]]\nname = \"retry\"\nsource = \"jobs:dead\"\n\
             router = \"fasta-size\"\ntargets = [\"queue:other\"]\n\
             rejected = \"retry:rejected\"\ndead-letters = \"retry:dead\"\n"
        );
        assert_eq!(
            refusal(&dead_source),
            "s.toml: route `jobs#1`: `dead-letters` stream `jobs:dead` is also the source \
             of route `retry`: jobs set aside would be routed again"
        );
    }

    #[test]
    fn durations_are_written_with_their_unit_or_by_the_older_integer_keys() {
        let parse = |text: &str| Settings::parse(Path::new("s.toml"), text, None, None).unwrap();
        let new = parse(&format!(
            "{GOOD}\n[consumer]\nblock = \"2s\"\nclaim-idle = \"1m 30s\"\n\
             [status]\nttl = \"7d\"\n[plugins]\ndeadline = \"250ms\"\n\
             [retention]\ninterval = \"5m\"\n[retention.dead-letters]\nmax-age = \"2d\"\n"
        ));
        assert_eq!(new.consumer.block, Duration::from_secs(2));
        assert_eq!(new.consumer.claim_idle, Duration::from_secs(90));
        assert_eq!(new.status.ttl, Duration::from_secs(7 * 86_400));
        assert_eq!(
            new.plugins["fasta-size"].settings.limits.deadline,
            Duration::from_millis(250)
        );
        let retention = new.retention.unwrap();
        assert_eq!(retention.interval, Duration::from_secs(300));
        assert_eq!(
            retention.dead_letters.max_age,
            Some(Duration::from_secs(2 * 86_400))
        );
        let old = parse(&format!(
            "{GOOD}\n[consumer]\nblock-ms = 2000\nclaim-idle-ms = 90000\n\
             [status]\nttl-seconds = 604800\n[plugins]\ndeadline-ms = 250\n\
             [retention]\ninterval-ms = 300000\n[retention.dead-letters]\n\
             max-age-seconds = 172800\n"
        ));
        assert_eq!(old.consumer, new.consumer);
        assert_eq!(old.status, new.status);
        assert_eq!(old.retention.unwrap().dead_letters, retention.dead_letters);
    }

    #[test]
    fn a_duration_given_by_both_keys_is_refused_naming_both() {
        for (table, keys) in [
            ("consumer", "block = \"2s\"\nblock-ms = 2000"),
            ("consumer", "claim-idle = \"2s\"\nclaim-idle-ms = 2000"),
            ("status", "ttl = \"1d\"\nttl-seconds = 86400"),
            ("retention", "interval = \"1m\"\ninterval-ms = 60000"),
            (
                "retention.rejected",
                "max-age = \"1d\"\nmax-age-seconds = 86400",
            ),
            ("plugins", "deadline = \"1s\"\ndeadline-ms = 1000"),
        ] {
            let msg = refusal(&format!("{GOOD}\n[{table}]\n{keys}\n"));
            let (new, old) = keys.split_once('\n').unwrap();
            let (new, old) = (
                new.split(' ').next().unwrap(),
                old.split(' ').next().unwrap(),
            );
            assert!(
                msg.starts_with(&format!("s.toml: [{table}] {new} and {old} are the same")),
                "{msg}"
            );
        }
    }

    #[test]
    fn a_duration_without_a_unit_is_refused_at_its_line_and_column() {
        let msg = refusal(&format!("{GOOD}\n[consumer]\nblock = \"2\"\n"));
        let line = GOOD.lines().count() + 3;
        assert_eq!(
            msg,
            format!("s.toml:{line}:9: invalid value: string \"2\", expected a duration")
        );
    }

    #[test]
    fn environment_variables_override_the_files_keys() {
        let vars = |pairs: &[(&str, &str)]| {
            Overrides::from_vars(pairs.iter().map(|(k, v)| ((*k).into(), (*v).into()))).unwrap()
        };
        let parse = |text: &str, overrides: &Overrides| {
            Settings::parse_overridden(Path::new("s.toml"), text, None, None, overrides)
        };
        let text = format!("{GOOD}\n[consumer]\nbatch = 10\n");
        let s = parse(
            &text,
            &vars(&[
                ("SWITCHYARD_CONSUMER__BATCH", "50"),
                ("SWITCHYARD_CONSUMER__CLAIM_IDLE", "45s"),
                ("SWITCHYARD_REDIS__URL", "redis://10.0.0.7:6380/2"),
                ("SWITCHYARD_PLUGIN__FASTA_SIZE__DEADLINE", "300ms"),
            ]),
        )
        .unwrap();
        assert_eq!(s.consumer.batch, 50);
        assert_eq!(s.consumer.claim_idle, Duration::from_secs(45));
        assert_eq!(
            s.redis,
            RedisTarget::Url("redis://10.0.0.7:6380/2".to_owned())
        );
        assert_eq!(
            s.plugins["fasta-size"].settings.limits.deadline,
            Duration::from_millis(300)
        );

        let err = parse(&text, &vars(&[("SWITCHYARD_CONSUMER__BATCH", "5o")])).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.starts_with("s.toml: SWITCHYARD_CONSUMER__BATCH ([consumer] batch = \"5o\"): "),
            "{msg}"
        );
        let err = parse(&text, &vars(&[("SWITCHYARD_CONSUMER__BACTH", "5")])).unwrap_err();
        assert!(
            format!("{err:#}").contains(
                "SWITCHYARD_CONSUMER__BACTH ([consumer] bacth = 5): unknown field `bacth`"
            ),
            "{err:#}"
        );
        let err = parse(&text, &vars(&[("SWITCHYARD_CONSUMER__BATCH", "0")])).unwrap_err();
        assert!(
            format!("{err:#}")
                .starts_with("s.toml (with SWITCHYARD_CONSUMER__BATCH): [consumer] batch must"),
            "{err:#}"
        );
        let broken = format!("{GOOD}\n[consumer]\nbatch = \"x\"\n");
        let err = parse(&broken, &vars(&[("SWITCHYARD_CONSUMER__BATCH", "5")])).unwrap_err();
        let line = GOOD.lines().count() + 3;
        assert!(
            format!("{err:#}").starts_with(&format!("s.toml:{line}:")),
            "{err:#}"
        );
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
