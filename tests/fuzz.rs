//! Fuzzing, as property tests: hostile stream entries through the whole
//! decision (decode, route match, the real plugins, settle), and hostile
//! plugin answers across the real component boundary (the `puppet` fixture
//! answers whatever its job says).
//!
//! Each property holds for every input: nothing panics, and every entry ends
//! in an allowed target, the rejected stream or the dead-letter stream with
//! its reason in words. `make test` runs a few hundred cases;
//! `make fuzz` runs each fuzzer for `FUZZ_SECONDS` (default 600). A failing
//! case is saved under `tests/fuzz-regressions/` and replayed first by every
//! later run: commit it with the fix.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use serde_json::{Value, json};
use switchyard::config::Settings;
use switchyard::pipeline::job::{Entry, EntryId, MAX_FIELDS};
use switchyard::pipeline::settle::Outcome;
use switchyard::pipeline::snapshot::Snapshot;
use switchyard::plugin::{Decision, Fault, Job, Plugin, PluginSettings, Runtime};

use crate::harness::daemon::*;
use crate::harness::plugin_path;

/// The streams a job of the fuzzed config may end in.
const ALLOWED: [&str; 2] = ["queue:local", "queue:default"];

/// Runs `check` on inputs from `strategy`: `cases` of them, or for
/// `FUZZ_SECONDS` when set, in rounds of fresh random seeds. Failing inputs
/// are saved in `tests/fuzz-regressions/NAME.txt` and replayed first.
fn fuzz<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    check: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let seconds: u64 = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let corpus: &'static str = Box::leak(
        repo()
            .join(format!("tests/fuzz-regressions/{name}.txt"))
            .display()
            .to_string()
            .into_boxed_str(),
    );
    let config = Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(corpus))),
        ..Config::default()
    };
    let started = Instant::now();
    let mut total = 0u64;
    loop {
        let mut runner = TestRunner::new(config.clone());
        if let Err(e) = runner.run(&strategy, &check) {
            panic!("fuzzer {name}: {e}");
        }
        total += u64::from(cases);
        if started.elapsed() >= Duration::from_secs(seconds) {
            break;
        }
    }
    println!(
        "fuzzer {name}: {total} cases in {:.0} s, no failure",
        started.elapsed().as_secs_f64()
    );
}

// ---- inputs ----

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 200, 12, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..12).prop_map(Value::from),
            prop::collection::btree_map(".{0,12}", inner, 0..12)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// slivka-like inputs whose values are anything.
fn slivka_payload() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        json_value(),
        Just(json!(fasta(3, 20))),
        "[0-9.eE+-]{0,8}".prop_map(Value::from),
    ];
    prop::collection::btree_map(
        prop_oneof![
            Just("input".to_owned()),
            Just("iterations".to_owned()),
            Just("outfmt".to_owned()),
            Just("dealign".to_owned()),
            "[a-z-]{1,10}"
        ],
        value,
        0..8,
    )
    .prop_map(|inputs| json!({ "inputs": inputs }).to_string().into_bytes())
}

/// A puppet's script: errors for `validate`, a decision for `route`.
fn puppet_script() -> impl Strategy<Value = Value> {
    let name = prop_oneof![
        Just("queue:local".to_owned()),
        Just("queue:default".to_owned()),
        Just("jobs".to_owned()),
        Just("jobs:dead".to_owned()),
        Just("payload".to_owned()),
        Just("service".to_owned()),
        Just("job-id".to_owned()),
        Just("switchyard-source".to_owned()),
        Just(String::new()),
        ".{0,30}",
    ];
    let field = (name.clone(), ".{0,30}").prop_map(|(k, v)| json!([k, v]));
    let target = (
        name.clone(),
        prop::option::of(".{0,200}"),
        prop::collection::vec(field, 0..6),
    )
        .prop_map(|(stream, payload, fields)| json!([stream, payload, fields]));
    let error = (name.clone(), any::<u8>(), ".{0,60}").prop_map(|(f, c, m)| json!([f, c, m]));
    (
        prop::option::of(prop::collection::vec(error, 0..30)),
        prop_oneof![
            ".{0,100}".prop_map(|r| json!({ "reject": r })),
            prop::collection::vec(target, 0..5).prop_map(|t| json!({ "dispatch": t })),
            Just(json!({})),
        ],
    )
        .prop_map(|(errors, mut decision)| {
            if let Some(errors) = errors {
                decision["errors"] = json!(errors);
            }
            decision
        })
}

/// Any payload: raw bytes, JSON, slivka inputs, a puppet's script, deep
/// nesting, nothing, or more than the entry limit.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..600),
        3 => json_value().prop_map(|v| v.to_string().into_bytes()),
        4 => slivka_payload(),
        4 => puppet_script().prop_map(|v| v.to_string().into_bytes()),
        1 => (1usize..20_000).prop_map(|depth| {
            let mut text = "[".repeat(depth);
            text.push_str(&"]".repeat(depth));
            text.into_bytes()
        }),
        1 => Just(Vec::new()),
        1 => Just(vec![b'x'; (1 << 20) + 1]),
    ]
}

/// A stream entry: a service, maybe a job id and a payload, any other
/// fields (a few, or around the field limit), any delivery count.
fn entry() -> impl Strategy<Value = Entry> {
    let service = prop_oneof![
        Just(b"clustalo".to_vec()),
        Just(b"mafft".to_vec()),
        Just(b"puppet".to_vec()),
        Just(b"no-such-tool".to_vec()),
        prop::collection::vec(any::<u8>(), 0..20),
    ];
    let other_name = prop_oneof![
        Just("payload".to_owned()),
        Just("service".to_owned()),
        Just("job-id".to_owned()),
        Just("switchyard-source".to_owned()),
        Just("switchyard-reason".to_owned()),
        ".{0,16}",
    ];
    let others = prop_oneof![
        8 => prop::collection::vec((other_name, prop::collection::vec(any::<u8>(), 0..40)), 0..6),
        1 => (MAX_FIELDS - 5..MAX_FIELDS + 5).prop_map(|n| {
            (0..n).map(|i| (format!("f{i}"), b"v".to_vec())).collect()
        }),
    ];
    (
        service,
        prop::option::of(prop::collection::vec(any::<u8>(), 0..300)),
        prop::option::of(payload()),
        others,
        1u32..8,
    )
        .prop_map(|(service, job_id, payload, others, deliveries)| {
            let mut fields = vec![("service".to_owned(), service)];
            if let Some(id) = job_id {
                fields.push(("job-id".to_owned(), id));
            }
            if let Some(payload) = payload {
                fields.push(("payload".to_owned(), payload));
            }
            fields.extend(others);
            Entry {
                stream: SOURCE.to_owned(),
                id: EntryId::parse("1700000000000-7").unwrap(),
                fields: switchyard::pipeline::job::fields_of(fields),
                deliveries,
            }
        })
}

// ---- the fuzzers ----

/// The slivka config, plus a route where the puppet validates and routes.
fn fuzz_settings(dir: &std::path::Path) -> Settings {
    // No daemon runs: the URL is never dialled.
    let config = slivka_config(
        dir,
        "redis://127.0.0.1:1",
        "max-deliveries = 5",
        PUPPET_ROUTE,
    );
    Settings::load(&config, None, Some("fuzz".into())).unwrap()
}

#[test]
fn every_entry_settles_in_an_allowed_place_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let settings = fuzz_settings(dir.path());
    let runtime = Runtime::new().unwrap();
    let snapshot = Snapshot::build(&runtime, &settings, None).unwrap();
    let consumer = settings.consumer.clone();
    fuzz("entries", 300, entry(), |entry| {
        let settlement = switchyard::pipeline::decide(&snapshot, &consumer, entry.clone());
        let source = format!("{SOURCE}/{}", entry.id);
        let field = |write: &switchyard::pipeline::settle::Write, name: &str| {
            write
                .fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        };
        prop_assert!(!settlement.writes().is_empty(), "no write: {settlement:?}");
        for write in settlement.writes() {
            prop_assert_eq!(field(write, "switchyard-source"), Some(source.clone()));
        }
        match settlement.outcome() {
            Outcome::Dispatched => {
                let streams: HashSet<&str> = settlement
                    .writes()
                    .iter()
                    .map(|w| w.stream.as_str())
                    .collect();
                prop_assert_eq!(streams.len(), settlement.writes().len(), "a target twice");
                for stream in streams {
                    prop_assert!(ALLOWED.contains(&stream), "dispatched to {stream}");
                }
            }
            Outcome::Rejected => {
                let write = &settlement.writes()[0];
                prop_assert_eq!(settlement.writes().len(), 1);
                prop_assert_eq!(write.stream.as_str(), REJECTED);
                let errors = field(write, "switchyard-errors").unwrap_or_default();
                let reason = field(write, "switchyard-reason").unwrap_or_default();
                prop_assert!(
                    errors.len() > 2 || !reason.trim().is_empty(),
                    "rejected without a reason: {write:?}"
                );
            }
            Outcome::DeadLettered => {
                let write = &settlement.writes()[0];
                prop_assert_eq!(settlement.writes().len(), 1);
                prop_assert_eq!(write.stream.as_str(), DEAD);
                let reason = field(write, "switchyard-reason").unwrap_or_default();
                prop_assert!(
                    !reason.is_empty(),
                    "dead letter without a reason: {write:?}"
                );
                if entry.fields.len() <= MAX_FIELDS {
                    // The job's own fields travel with it, for a replay.
                    for (name, value) in &entry.fields {
                        if !name.starts_with("switchyard-") {
                            prop_assert!(
                                write.fields.contains(&(name.clone(), value.clone())),
                                "the dead letter lost field {name}"
                            );
                        }
                    }
                }
            }
        }
        Ok(())
    });
}

#[test]
fn a_plugin_answer_is_checked_before_it_is_used() {
    let runtime = Runtime::new().unwrap();
    let puppet = Plugin::load(
        &runtime,
        "fixture-puppet",
        &plugin_path("fixture-puppet"),
        PluginSettings::default(),
    )
    .unwrap();
    let allowed: Vec<String> = ALLOWED.iter().map(|s| s.to_string()).collect();
    let job_fields = ["service", "job-id", "payload"];
    fuzz("answers", 500, puppet_script(), |script| {
        let job = Job {
            source: SOURCE.to_owned(),
            entry_id: "1700000000000-7".to_owned(),
            fields: job_fields
                .iter()
                .map(|f| (f.to_string(), b"x".to_vec()))
                .collect(),
            payload: script.to_string().into_bytes(),
            delivery_count: 1,
        };
        match puppet.validate(&job, "fuzz") {
            Ok(Ok(())) | Ok(Err(_)) => {}
            Err(e) => prop_assert!(matches!(e, Fault::BadOutput { .. }), "validate: {e}"),
        }
        match puppet.route(&job, "fuzz", Some(&allowed)) {
            Ok(Decision::Dispatch(targets)) => {
                prop_assert!(!targets.is_empty(), "a dispatch to nowhere was let through");
                let mut seen = HashSet::new();
                for target in &targets {
                    prop_assert!(
                        allowed.contains(&target.stream),
                        "{} let through",
                        target.stream
                    );
                    prop_assert!(seen.insert(&target.stream), "{} twice", target.stream);
                    for (key, _) in &target.extra_fields {
                        prop_assert!(
                            !job_fields.contains(&key.as_str()) && !key.starts_with("switchyard-"),
                            "extra field {key} would replace the job's"
                        );
                    }
                }
            }
            Ok(Decision::Reject(_)) => {}
            Err(Fault::BadOutput { reason, .. }) => {
                prop_assert!(!reason.is_empty(), "a refusal without a reason");
            }
            Err(e) => prop_assert!(false, "route: {e}"),
        }
        Ok(())
    });
}
