//! `/metrics` as Prometheus reads it: after a known mix of jobs, the
//! classic text format and OpenMetrics (by content negotiation), each read
//! with Python `prometheus_client`'s own parser for it, give the same
//! families with the same declared types and the same samples; the counters
//! an alert watches exist at 0 before their first event; build and process
//! metrics are there; label values have no spaces.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::harness::daemon::*;
use crate::harness::{RedisServer, venv};

const TIMEOUT: Duration = Duration::from_secs(60);

/// What Prometheus sends by default: OpenMetrics preferred.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0;q=0.5,\
     application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

/// Reads the two files named on its command line, the classic exposition
/// with the classic parser and the OpenMetrics one with the OpenMetrics
/// parser, and prints what each found: family → type, and every sample.
const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families as classic
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics

def read(parse, path):
    with open(path) as f:
        text = f.read()
    families, samples = {}, []
    for family in parse(text):
        families[family.name] = family.type
        samples += [[s.name, s.labels, s.value] for s in family.samples]
    return {"families": families, "samples": samples}

print(json.dumps({"classic": read(classic, sys.argv[1]),
                  "openmetrics": read(openmetrics, sys.argv[2])}, allow_nan=False))
"#;

/// A route whose router panics on every job; its name has a space.
const PANIC_ROUTE: &str = r#"
[[routes]]
name = "panic button"
source = "jobs"
match = { service = "panic" }
validators = []
router = "fixture-panic"
targets = ["queue:local"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#;

/// `GET /metrics` with `accept` (none: no header): (Content-Type, body).
fn scrape(port: u16, accept: Option<&str>) -> (String, String) {
    let answer = http_get(port, "/metrics", accept).expect("/metrics answers");
    assert_eq!(answer.code, 200, "{}", answer.body);
    (answer.content_type, answer.body)
}

/// What one parser found.
struct Parsed {
    /// Family name → declared type.
    families: BTreeMap<String, String>,
    /// `name{k="v",...}` (labels sorted) → value.
    samples: BTreeMap<String, f64>,
}

impl Parsed {
    fn from(json: &Value) -> Parsed {
        let families = json["families"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, kind)| (name.clone(), kind.as_str().unwrap().to_owned()))
            .collect();
        let samples = json["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|sample| {
                let labels: BTreeMap<&str, &str> = sample[1]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
                    .collect();
                let labels: Vec<(&str, &str)> = labels.into_iter().collect();
                (
                    key(sample[0].as_str().unwrap(), &labels),
                    sample[2].as_f64().unwrap(),
                )
            })
            .collect();
        Parsed { families, samples }
    }

    /// The value of sample `name` with exactly `labels`; panics, listing
    /// the family's samples, if there is none.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut labels = labels.to_vec();
        labels.sort();
        let key = key(name, &labels);
        *self.samples.get(&key).unwrap_or_else(|| {
            let similar: Vec<&String> = self
                .samples
                .keys()
                .filter(|k| k.starts_with(name))
                .collect();
            panic!("no sample {key}; there are {similar:#?}")
        })
    }
}

/// `name{k="v",...}` of sorted `labels`.
fn key(name: &str, labels: &[(&str, &str)]) -> String {
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{name}{{{}}}", labels.join(","))
}

/// Both expositions, each parsed by its own parser of `prometheus_client`.
fn parse_both(dir: &Path, classic: &str, openmetrics: &str) -> (Parsed, Parsed) {
    let (classic_file, openmetrics_file) = (dir.join("classic.txt"), dir.join("openmetrics.txt"));
    std::fs::write(&classic_file, classic).unwrap();
    std::fs::write(&openmetrics_file, openmetrics).unwrap();
    let output = Command::new(venv::python())
        .args(["-c", PARSE])
        .arg(&classic_file)
        .arg(&openmetrics_file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "a parser refused /metrics:\n{}\nclassic:\n{classic}\nopenmetrics:\n{openmetrics}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    (
        Parsed::from(&json["classic"]),
        Parsed::from(&json["openmetrics"]),
    )
}

#[test]
fn both_prometheus_parsers_read_the_same_typed_families_with_alert_counters_at_zero() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(
        dir.path(),
        &redis.url(),
        "",
        &format!("{PANIC_ROUTE}\n[metrics]\nlisten = \"127.0.0.1:0\"\n"),
    );
    let mut conn = redis.connection();
    let mixed = 20;
    let mut jobs: Vec<Fields> = (0..mixed).map(|n| mixed_job(n).1).collect();
    let local = (0..mixed)
        .filter(|&n| mixed_job(n).0 == Kind::Local)
        .count() as f64;
    let panics = 3;
    for n in mixed..mixed + panics {
        let mut fields = job_of(Kind::Local, n);
        fields[0].1 = b"panic".to_vec();
        jobs.push(fields);
    }
    push(&mut conn, SOURCE, &jobs);
    let daemon = Daemon::start(&config, "scraped");
    wait_settled(&mut conn, jobs.len(), &daemon);
    let port = daemon.metrics_port();
    // The observer's first round creates the pending and lag gauges; after
    // it, nothing moves but the process's own figures.
    assert!(
        wait_until(TIMEOUT, || scrape(port, None)
            .1
            .contains("switchyard_consumer_lag{")),
        "no lag gauge; log:\n{}",
        daemon.log()
    );

    let (classic_type, classic) = scrape(port, None);
    let (openmetrics_type, openmetrics) = scrape(port, Some(PROMETHEUS_ACCEPT));
    assert_eq!(classic_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_eq!(
        openmetrics_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert_eq!(scrape(port, Some("*/*")).0, classic_type);
    let (c, o) = parse_both(dir.path(), &classic, &openmetrics);

    // The same families, each with the type it was declared with.
    assert_eq!(c.families, o.families, "classic:\n{classic}");
    let untyped: Vec<_> = c
        .families
        .iter()
        .filter(|(_, kind)| matches!(kind.as_str(), "unknown" | "untyped"))
        .collect();
    assert!(untyped.is_empty(), "{untyped:?} in\n{classic}");
    for (family, kind) in [
        ("switchyard_jobs_read", "counter"),
        ("switchyard_jobs_settled", "counter"),
        ("switchyard_reloads", "counter"),
        ("switchyard_plugin_faults", "counter"),
        ("switchyard_plugin_call_seconds", "histogram"),
        ("switchyard_jobs_in_flight", "gauge"),
        ("switchyard_build_info", "gauge"),
        ("process_cpu_seconds", "counter"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_open_fds", "gauge"),
        ("process_start_time_seconds", "gauge"),
    ] {
        assert_eq!(
            c.families.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }

    // The same samples, but the process's own figures, which move.
    let switchyard = |p: &Parsed| -> BTreeSet<String> {
        p.samples
            .iter()
            .filter(|(k, _)| k.starts_with("switchyard_"))
            .map(|(k, v)| format!("{k} {v}"))
            .collect()
    };
    assert_eq!(switchyard(&c), switchyard(&o));

    for p in [&c, &o] {
        // Counts of the known mix.
        assert_eq!(
            p.value(
                "switchyard_jobs_settled_total",
                &[
                    ("route", "slivka"),
                    ("outcome", "dispatched"),
                    ("target", "queue:local")
                ]
            ),
            local
        );
        // The route's name has a space; its label value does not.
        assert_eq!(
            p.value(
                "switchyard_jobs_settled_total",
                &[
                    ("route", "panic_button"),
                    ("outcome", "dead_lettered"),
                    ("target", DEAD)
                ]
            ),
            panics as f64
        );
        assert_eq!(
            p.value(
                "switchyard_plugin_faults_total",
                &[("plugin", "fixture-panic"), ("kind", "trap")]
            ),
            panics as f64
        );
        // Series at 0 before their first event.
        assert_eq!(
            p.value("switchyard_reloads_total", &[("result", "failed")]),
            0.0
        );
        assert_eq!(
            p.value(
                "switchyard_jobs_settled_total",
                &[
                    ("route", "panic_button"),
                    ("outcome", "dispatched"),
                    ("target", "queue:local")
                ]
            ),
            0.0
        );
        for kind in ["deadline", "memory", "trap", "bad-output"] {
            assert_eq!(
                p.value(
                    "switchyard_plugin_faults_total",
                    &[("plugin", "slivka-form"), ("kind", kind)]
                ),
                0.0
            );
        }
        for op in [
            "connect",
            "create_groups",
            "load_script",
            "read",
            "claim",
            "settle",
        ] {
            assert_eq!(p.value("switchyard_redis_errors_total", &[("op", op)]), 0.0);
        }
        assert_eq!(
            p.value(
                "switchyard_build_info",
                &[
                    ("version", env!("CARGO_PKG_VERSION")),
                    (
                        "profile",
                        if cfg!(debug_assertions) {
                            "debug"
                        } else {
                            "release"
                        }
                    )
                ]
            ),
            1.0
        );
        for process in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_start_time_seconds",
        ] {
            assert!(p.value(process, &[]) > 0.0, "{process}");
        }
        let spaced: Vec<&String> = p.samples.keys().filter(|k| k.contains(' ')).collect();
        assert!(spaced.is_empty(), "label values with spaces: {spaced:?}");
    }

    // The first failed reload moves the series from 0, so `increase()` sees it.
    std::fs::write(&config, "[redis\n").unwrap();
    assert!(
        wait_until(TIMEOUT, || scrape(port, None)
            .1
            .contains("switchyard_reloads_total{result=\"failed\"} 1\n")),
        "log:\n{}",
        daemon.log()
    );
}
