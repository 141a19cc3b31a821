//! Service files as people write them load, and jobs against them get the
//! verdicts slivka gives.
//!
//! Natively, without a host: the config lookup is the service files
//! themselves, read from [`SERVICES`].

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::json;
use slivka_form::check_job;
use slivka_form::service::{self, Form};

/// The directory of `<id>.service.yaml` files these tests read.
// TODO(merge): examples/slivka/services once the DIFF helper's files are in.
const SERVICES: &str = "tests/services";

fn services_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(SERVICES)
}

/// The form of service `id`.
fn form(id: &str) -> Form {
    let path = services_dir().join(format!("{id}.service.yaml"));
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    service::load(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (field, code, message) of each error clustalo's form gives `inputs`.
fn clustalo(inputs: serde_json::Value) -> Vec<(String, &'static str, String)> {
    let payload = json!({ "inputs": inputs }).to_string();
    check_job(
        "service",
        Some("clustalo"),
        Some(&form("clustalo")),
        payload.as_bytes(),
    )
    .into_iter()
    .map(|e| (e.field, e.code.slivka_code(), e.message))
    .collect()
}

/// The codes alone.
fn codes(inputs: serde_json::Value) -> Vec<(String, &'static str)> {
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
fn every_service_file_loads() {
    let mut loaded = 0;
    for entry in fs::read_dir(services_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(id) = name.strip_suffix(".service.yaml") {
            assert!(!form(id).fields.is_empty(), "{name} declares no parameters");
            loaded += 1;
        }
    }
    assert!(loaded >= 2, "{loaded} service files");
}

#[test]
fn a_valid_clustalo_job_passes() {
    assert_eq!(codes(json!({ "input": GLOBINS })), vec![]);
    assert_eq!(
        codes(
            json!({ "input": GLOBINS, "dealign": "true", "iterations": "2",
                      "max-hmm-iterations": "3", "outfmt": "fasta" })
        ),
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
        clustalo(json!({ "input": GLOBINS, "outfmt": "xml" })),
        vec![(
            "outfmt".into(),
            "invalid",
            "must be one of clustal, fasta, msf, phylip, stockholm, got `xml`".into()
        )]
    );
    assert_eq!(codes(json!({})), one("input", "required"));
    assert_eq!(
        codes(json!({ "input": "MVLSPADKTNVK" })),
        one("input", "media_type")
    );
    assert_eq!(
        codes(json!({ "input": GLOBINS, "colour": "red" })),
        one("colour", "invalid")
    );
}

#[test]
fn a_condition_is_checked_only_once_every_value_is_valid() {
    assert_eq!(
        clustalo(json!({ "input": GLOBINS, "max-hmm-iterations": "5" })),
        vec![(
            "max-hmm-iterations".into(),
            "condition",
            "is only allowed when `iterations > 0` (iterations = `0`)".into()
        )]
    );
    assert_eq!(
        codes(json!({ "input": GLOBINS, "max-hmm-iterations": "5", "outfmt": "xml" })),
        one("outfmt", "invalid")
    );
}

#[test]
fn a_flag_is_on_for_any_word_but_slivkas_false_words() {
    assert_eq!(
        codes(json!({ "input": GLOBINS, "dealign": "perhaps" })),
        vec![]
    );
    assert_eq!(codes(json!({ "input": GLOBINS, "dealign": "OFF" })), vec![]);
}

#[test]
fn many_mistakes_give_one_error_per_field() {
    let mut found = codes(json!({ "iterations": "250", "outfmt": "xml", "colour": "red" }));
    found.sort();
    assert_eq!(
        found,
        vec![
            ("colour".into(), "invalid"),
            ("input".into(), "required"),
            ("iterations".into(), "max_value"),
            ("outfmt".into(), "invalid"),
        ]
    );
}
