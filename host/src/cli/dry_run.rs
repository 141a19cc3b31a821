//! `switchyard run --dry-run`: everything `run` does before it reaches
//! Redis, and a summary of what it would run.
//!
//! It reads and validates the config (the environment's overrides and the
//! flags included) and loads every plugin exactly as the daemon would, its
//! `prepare` run, then prints the routes, streams and plugins with their
//! versions. Nothing is sent to Redis and an embedded Redis is not started,
//! so a deployment can check a config (in CI, before a restart) where its
//! Redis is not reachable. Any error is the one `run` would stop on.

use std::path::Path;

use anyhow::Context;

use crate::config::{Overrides, RedisTarget, Settings, streams_of};
use crate::pipeline::snapshot::{Router, Snapshot};
use crate::plugin::Runtime;
use crate::store::{redact, redact_all};

/// Loads `config` as `run` would (`url` and `consumer` are its flags) and
/// prints what it would run.
pub fn run(config: &Path, url: Option<String>, consumer: Option<String>) -> anyhow::Result<()> {
    let settings = Settings::load(config, url, consumer)?;
    let runtime = Runtime::new()?;
    let snapshot = Snapshot::build(&runtime, &settings, None)
        .with_context(|| format!("cannot load the plugins of {}", config.display()))?;
    // `load` has read them already; an error would have stopped it.
    let overrides = Overrides::from_env().unwrap_or_default();
    print!("{}", summary(&settings, &snapshot, &overrides.variables()));
    Ok(())
}

/// What the daemon would run, for people: Redis, the consumer, each route
/// in the order tried, each stream with its role, each plugin with its
/// version; `variables` are the environment's overrides in force.
fn summary(settings: &Settings, snapshot: &Snapshot, variables: &[&str]) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!(
        "{}: valid; {} route(s), {} plugin(s) loaded; Redis not contacted",
        settings.file.display(),
        snapshot.routes.len(),
        snapshot.plugins.len()
    ));
    if !variables.is_empty() {
        line(format!(
            "keys from the environment: {}",
            variables.join(", ")
        ));
    }
    line(format!(
        "redis: {}",
        match &settings.redis {
            RedisTarget::Url(url) => redact(url),
            RedisTarget::Cluster(seeds) => format!("cluster, through {}", redact_all(seeds)),
            RedisTarget::Sentinel { sentinels, master } => {
                format!(
                    "master `{master}` of the sentinels {}",
                    sentinels.join(", ")
                )
            }
            RedisTarget::Embedded { data_dir } => format!("embedded, in {}", data_dir.display()),
        }
    ));
    let c = &settings.consumer;
    line(format!(
        "consumer: group {}, name {}, batch {}, in-flight {}, block {}, claim-idle {}, \
         max-deliveries {}, workers {}",
        c.group,
        c.name,
        c.batch,
        c.in_flight,
        humantime::format_duration(c.block),
        humantime::format_duration(c.claim_idle),
        c.max_deliveries,
        c.workers
    ));
    line(format!(
        "status records: {}JOB, kept {}",
        settings.status.prefix,
        humantime::format_duration(settings.status.ttl)
    ));
    line(format!(
        "metrics: {}",
        settings
            .metrics
            .map_or("off".to_owned(), |addr| format!("http://{addr}/metrics"))
    ));
    line(format!(
        "retention: {}",
        settings
            .retention
            .as_ref()
            .map_or("off".to_owned(), |r| format!(
                "a round every {}",
                humantime::format_duration(r.interval)
            ))
    ));
    line("streams:".into());
    let streams = streams_of(&settings.routes);
    let width = streams.iter().map(|(s, _)| s.len()).max().unwrap_or(0);
    for (stream, role) in streams {
        line(format!("  {stream:width$}  {}", role.name()));
    }
    line("routes, in the order they are tried:".into());
    for route in &snapshot.routes {
        let r = &route.settings;
        let matches: Vec<String> = r
            .matches
            .iter()
            .map(|(field, values)| format!("{field} in [{}]", values.join(", ")))
            .collect();
        line(format!(
            "  {}: reads {}{}",
            r.name,
            r.source,
            match matches.is_empty() {
                true => String::new(),
                false => format!(" where {}", matches.join(" and ")),
            }
        ));
        let validators: Vec<&str> = route.validators.iter().map(|v| v.version()).collect();
        line(format!(
            "    validators [{}], router {}",
            validators.join(", "),
            match &route.router {
                Router::Plugin(plugin) => plugin.version(),
                Router::FirstTarget => "the first target",
            }
        ));
        line(format!(
            "    targets [{}], rejected {}, dead letters {}",
            r.targets.join(", "),
            r.rejected,
            r.dead_letters
        ));
    }
    line("plugins:".into());
    for plugin in snapshot.plugins.values() {
        let limits = plugin.limits();
        line(format!(
            "  {}  {}; {}; deadline {}, memory {} MiB; {}",
            plugin.version(),
            plugin.worlds().names().join(" and "),
            match plugin.is_prepared() {
                true => "prepared at load",
                false => "no prepare",
            },
            humantime::format_duration(limits.deadline),
            limits.memory >> 20,
            plugin.file().display()
        ));
    }
    out
}
