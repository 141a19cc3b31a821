//! The sample jobs under `examples/slivka/jobs/` that are valid are routed
//! as `examples/slivka/expected.json` promises, with the limits of
//! `examples/slivka/switchyard.toml` (slivka-bio's, the plugin's defaults).

use std::fs;
use std::path::{Path, PathBuf};

use fasta_size::rule::{Settings, route};
use serde_json::Value;
use switchyard_plugin::Decision;

/// `examples/slivka/` from this crate's directory.
fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/slivka")
}

/// Reads a JSON file under `examples/slivka/`.
fn read_json(relative: &str) -> Value {
    let text = fs::read_to_string(examples().join(relative)).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn valid_sample_jobs_route_as_expected() {
    let expected = read_json("expected.json");
    let mut routed = 0;
    for (name, want) in expected.as_object().unwrap() {
        let Some(want) = want.get("route") else {
            continue;
        };
        let job = read_json(&format!("jobs/{name}"));
        let payload = job["payload"].to_string().into_bytes();
        match route(&payload, &Settings::default()) {
            Decision::Dispatch(targets) => {
                assert_eq!(targets.len(), 1, "{name}");
                let target = &targets[0];
                assert_eq!(target.stream, want["stream"], "{name}");
                for (key, value) in &target.extra_fields {
                    assert_eq!(want["extra-fields"][key], value.as_str(), "{name}: {key}");
                }
                assert_eq!(
                    target.extra_fields.len(),
                    want["extra-fields"].as_object().unwrap().len(),
                    "{name}"
                );
            }
            Decision::Reject(reason) => {
                assert_eq!(want["reject"], reason.as_str(), "{name}");
            }
        }
        routed += 1;
    }
    assert!(routed >= 6, "only {routed} sample jobs have a route");
}
