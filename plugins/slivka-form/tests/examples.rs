//! The example service files of `examples/slivka/services/` load, and the
//! sample jobs of `examples/slivka/jobs/` get the verdicts
//! `examples/slivka/expected.json` gives them (slivka's own, checked with
//! slivka; `tests/plugins.rs` checks the same through the component).
//!
//! Natively, without a host: the config lookup is the service files
//! themselves, read from [`SERVICES`].

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use slivka_form::check_job;
use slivka_form::service::{self, Form};

/// The directory of `<id>.service.yaml` files these tests read.
const SERVICES: &str = "../../examples/slivka/services";

/// `examples/slivka/` from this crate's directory.
fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/slivka")
}

fn services_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(SERVICES)
}

/// The form of service `id`, if it has a service file.
fn form(id: &str) -> Option<Form> {
    let path = services_dir().join(format!("{id}.service.yaml"));
    let text = fs::read_to_string(&path).ok()?;
    Some(service::load(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// (field, code, message) of each error for a job of `service` with this
/// payload, as the plugin checks it.
fn verdict(service: Option<&str>, payload: &[u8]) -> Vec<(String, &'static str, String)> {
    let form = service.and_then(form);
    check_job("service", service, form.as_ref(), payload)
        .into_iter()
        .map(|e| (e.field, e.code.slivka_code(), e.message))
        .collect()
}

/// The errors clustalo's form gives `inputs`.
fn clustalo(inputs: Value) -> Vec<(String, &'static str, String)> {
    verdict(
        Some("clustalo"),
        json!({ "inputs": inputs }).to_string().as_bytes(),
    )
}

/// The codes alone.
fn codes(inputs: Value) -> Vec<(String, &'static str)> {
    clustalo(inputs)
        .into_iter()
        .map(|(f, c, _)| (f, c))
        .collect()
}

fn one(field: &str, code: &'static str) -> Vec<(String, &'static str)> {
    vec![(field.to_string(), code)]
}

const GLOBINS: &str = ">globin1\nMVLSPADKTNVKAAWGKVGAHAGEYGAEALERMFLSFPTTKTYFPHF\n>globin2\nMVHLTPEEKSAVTALWGKVNVDEVGGEALGRLLVVYPWTQRFFESFGDL\n";

#[test]
fn every_example_service_file_loads() {
    let mut loaded = Vec::new();
    for entry in fs::read_dir(services_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(id) = name.strip_suffix(".service.yaml") {
            let form = form(id).unwrap();
            assert!(
                form.fields.iter().any(|field| field.id == "input"),
                "{name} declares no input"
            );
            loaded.push(id.to_string());
        }
    }
    loaded.sort();
    assert_eq!(loaded, ["clustalo", "jpred", "mafft"]);
}

#[test]
fn the_sample_jobs_get_the_verdicts_of_expected_json() {
    let expected: Value =
        serde_json::from_str(&fs::read_to_string(examples().join("expected.json")).unwrap())
            .unwrap();
    let expected = expected.as_object().unwrap();
    assert!(expected.len() >= 20, "{} samples", expected.len());
    for (name, want) in expected {
        let text = fs::read_to_string(examples().join("jobs").join(name)).unwrap();
        let entry: Value = serde_json::from_str(&text).unwrap();
        // The entry's fields as the host passes them: a string as itself,
        // an object as its JSON text; no payload field is an empty one.
        let payload = match &entry["payload"] {
            Value::Null => Vec::new(),
            Value::String(text) => text.clone().into_bytes(),
            other => other.to_string().into_bytes(),
        };
        let found = verdict(entry["service"].as_str(), &payload);
        if want["validate"] == "ok" {
            assert_eq!(found, [], "{name}");
            continue;
        }
        let want = want["validate"].as_array().unwrap();
        assert_eq!(found.len(), want.len(), "{name}: {found:?}");
        for ((field, code, message), w) in found.iter().zip(want) {
            assert_eq!(w["field"], field.as_str(), "{name}");
            assert_eq!(w["code"], *code, "{name}");
            if let Some(m) = w.get("message") {
                assert_eq!(m, message.as_str(), "{name}");
            }
        }
    }
}

#[test]
fn a_valid_clustalo_job_passes() {
    assert_eq!(codes(json!({ "input": GLOBINS })), vec![]);
    assert_eq!(
        codes(json!({
            "input": GLOBINS, "dealign": "true", "iterations": "2",
            "max-hmm-iterations": "3", "max-guidetree-iterations": "100"
        })),
        vec![]
    );
}

#[test]
fn each_broken_rule_has_slivkas_code_and_a_message_naming_the_limit() {
    assert_eq!(
        clustalo(json!({ "input": GLOBINS, "iterations": "250" })),
        vec![(
            "iterations".into(),
            "max_value",
            "must be at most 100, got 250".into()
        )]
    );
    assert_eq!(
        clustalo(json!({ "input": GLOBINS, "max-hmm-iterations": "0" })),
        vec![(
            "max-hmm-iterations".into(),
            "min_value",
            "must be at least 1, got 0".into()
        )]
    );
    assert_eq!(
        clustalo(json!({ "input": GLOBINS, "iterations": "two" })),
        vec![(
            "iterations".into(),
            "invalid",
            "must be an integer, got `two`".into()
        )]
    );
    assert_eq!(codes(json!({})), one("input", "required"));
    assert_eq!(
        codes(json!({ "input": "MVLSPADKTNVK" })),
        one("input", "media_type")
    );
    // slivka answers HTTP 500 for a parameter it does not declare; the
    // plugin answers `invalid` (README difference D1).
    assert_eq!(
        codes(json!({ "input": GLOBINS, "outfmt": "clustal" })),
        one("outfmt", "invalid")
    );
}

#[test]
fn a_flag_is_on_for_any_word_but_slivkas_false_words() {
    for word in ["perhaps", "OFF", "no", "yes", ""] {
        assert_eq!(
            codes(json!({ "input": GLOBINS, "dealign": word })),
            vec![],
            "{word:?}"
        );
    }
}

#[test]
fn many_mistakes_give_one_error_per_field_in_the_files_order() {
    assert_eq!(
        codes(json!({
            "input": "MVLSPADKTNVK",
            "iterations": "250",
            "max-guidetree-iterations": "0",
            "max-hmm-iterations": "two"
        })),
        vec![
            ("input".into(), "media_type"),
            ("max-hmm-iterations".into(), "invalid"),
            ("iterations".into(), "max_value"),
            ("max-guidetree-iterations".into(), "min_value"),
        ]
    );
}
