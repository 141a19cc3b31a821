//! The sample jobs under `examples/slivka/jobs/` are routed by the tiers of
//! `examples/slivka/switchyard.toml` (slivka-bio's limits) and the target
//! pattern of its `[slivka]` section, read from that file as switchyard
//! hands them to the plugin.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use fasta_size::rule::route;
use fasta_size::settings::{Settings, load};
use serde_json::Value;
use switchyard_plugin::{Decision, Job};

/// `examples/slivka/` from this crate's directory.
fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/slivka")
}

/// The settings from `[plugin.fasta-size.config]`, each value as the host
/// passes it (strings as they are, anything else as its JSON text), with
/// `target-pattern` from `[slivka]`, as the host adds it.
fn example_settings() -> Settings {
    let text = fs::read_to_string(examples().join("switchyard.toml")).unwrap();
    let file: toml::Table = text.parse().unwrap();
    let table = file["plugin"]["fasta-size"]["config"]
        .as_table()
        .expect("a [plugin.fasta-size.config] table");
    let mut config: BTreeMap<String, String> = table
        .iter()
        .map(|(key, value)| {
            let text = match value {
                toml::Value::String(text) => text.clone(),
                other => serde_json::to_string(other).unwrap(),
            };
            (key.clone(), text)
        })
        .collect();
    let pattern = file["slivka"]["target-pattern"]
        .as_str()
        .expect("[slivka] names a target-pattern");
    config
        .entry("target-pattern".to_string())
        .or_insert_with(|| pattern.to_string());
    load(&config).unwrap_or_else(|error| panic!("the example config: {error}"))
}

/// A sample job as a stream entry: its fields, the payload as its JSON text
/// (a string payload as itself).
fn job(name: &str) -> Job {
    let text = fs::read_to_string(examples().join("jobs").join(name)).unwrap();
    let entry: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
    let as_bytes = |value: &Value| match value {
        Value::String(text) => text.clone().into_bytes(),
        other => other.to_string().into_bytes(),
    };
    Job {
        source: "jobs".into(),
        entry_id: "1-0".into(),
        fields: entry
            .iter()
            .map(|(key, value)| (key.clone(), as_bytes(value)))
            .collect(),
        payload: entry.get("payload").map(as_bytes).unwrap_or_default(),
        delivery_count: 1,
    }
}

/// The stream and extra fields of a dispatch, or the rejection's reason.
fn outcome(name: &str, settings: &Settings) -> Result<(String, Vec<(String, String)>), String> {
    match route(&job(name), settings) {
        Decision::Dispatch(mut targets) => {
            assert_eq!(targets.len(), 1, "{name}");
            let target = targets.remove(0);
            Ok((target.stream, target.extra_fields))
        }
        Decision::Reject(reason) => Err(reason),
    }
}

fn sized(
    stream: &str,
    runner: &str,
    sequences: usize,
    average: usize,
) -> (String, Vec<(String, String)>) {
    (
        stream.to_string(),
        vec![
            ("runner".into(), runner.into()),
            ("sequences".into(), sequences.to_string()),
            ("average-length".into(), average.to_string()),
        ],
    )
}

/// A tier as (runner, max-sequences, max-average-length).
type Limits<'a> = (&'a str, usize, usize);

#[test]
fn the_example_config_holds_slivka_bios_limits() {
    let settings = example_settings();
    let limits: Vec<(&str, Vec<Limits>)> = settings
        .tiers
        .iter()
        .map(|(service, tiers)| {
            let tiers = tiers
                .iter()
                .map(|tier| {
                    (
                        tier.runner.as_str(),
                        tier.max_sequences,
                        tier.max_average_length,
                    )
                })
                .collect();
            (service.as_str(), tiers)
        })
        .collect();
    assert_eq!(
        limits,
        vec![
            (
                "clustalo",
                vec![("local", 30, 500), ("default", 2000, 1000)]
            ),
            ("mafft", vec![("local", 20, 500), ("default", 1000, 1000)]),
        ]
    );
    assert_eq!(settings.target("mafft", "local"), "queue:local");
}

#[test]
fn valid_sample_jobs_run_on_the_runner_their_size_fits() {
    let settings = example_settings();
    let expected = [
        (
            "clustalo-valid-small.json",
            Ok(sized("queue:local", "local", 3, 147)),
        ),
        // 100 is past clustalo's local tier (30), within its cluster one.
        (
            "clustalo-valid-100.json",
            Ok(sized("queue:default", "default", 100, 69)),
        ),
        (
            "clustalo-flag-words.json",
            Ok(sized("queue:local", "local", 2, 144)),
        ),
        (
            "clustalo-list-for-one.json",
            Ok(sized("queue:local", "local", 2, 144)),
        ),
        (
            "mafft-valid-small.json",
            Ok(sized("queue:local", "local", 5, 78)),
        ),
        // 611 on average is past mafft's local 500.
        (
            "mafft-valid-long.json",
            Ok(sized("queue:default", "default", 4, 611)),
        ),
        (
            "mafft-number-spellings.json",
            Ok(sized("queue:local", "local", 2, 144)),
        ),
        // jpred has no tiers: `default`, its input unread.
        (
            "jpred-valid.json",
            Ok((
                "queue:default".to_string(),
                vec![("runner".into(), "default".into())],
            )),
        ),
    ];
    for (name, want) in expected {
        assert_eq!(outcome(name, &settings), want, "{name}");
    }
}

#[test]
fn broken_sample_jobs_are_rejected_with_a_reason() {
    let settings = example_settings();
    assert_eq!(
        outcome("broken-no-payload.json", &settings),
        Err("the job has no payload".to_string())
    );
    assert!(
        outcome("broken-payload-not-json.json", &settings)
            .unwrap_err()
            .starts_with("the payload is not JSON: ")
    );
    assert_eq!(
        outcome("broken-no-service.json", &settings),
        Err("the job has no `service` field to choose its runner by".to_string())
    );
    assert_eq!(
        outcome("clustalo-missing-input.json", &settings),
        Err("the job has no `input` input to count sequences in".to_string())
    );
    assert!(
        outcome("clustalo-not-fasta.json", &settings)
            .unwrap_err()
            .starts_with("the `input` input is not FASTA: line 1 must be a `>` header")
    );
}

#[test]
fn a_job_past_the_last_tier_is_rejected() {
    let settings = example_settings();
    assert_eq!(
        outcome("clustalo-too-many.json", &settings),
        Err(
            "no runner of `clustalo` takes 2500 sequences of average length 11; its last runner, \
             `default`, takes at most 2000 sequences of average length at most 1000"
                .to_string()
        )
    );
    let mut job = job("mafft-valid-small.json");
    let many: String = (0..1001).map(|i| format!(">s{i}\nMKV\n")).collect();
    job.payload = serde_json::json!({"inputs": {"input": many}})
        .to_string()
        .into_bytes();
    let Decision::Reject(reason) = route(&job, &settings) else {
        panic!("1001 sequences were dispatched");
    };
    assert_eq!(
        reason,
        "no runner of `mafft` takes 1001 sequences of average length 3; its last runner, \
         `default`, takes at most 1000 sequences of average length at most 1000"
    );
}
