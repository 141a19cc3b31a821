//! The example forms and sample jobs under `examples/slivka/` give the
//! results `examples/slivka/expected.json` promises.
//!
//! The examples are what people read and what the demo sends; this test
//! keeps them honest. Natively, without a host: the config lookup is the
//! form files themselves.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use slivka_form::check_job;
use slivka_form::form::Form;

/// `examples/slivka/` from this crate's directory.
fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/slivka")
}

/// Reads a JSON file under `examples/slivka/`.
fn read_json(relative: &str) -> Value {
    let path = examples().join(relative);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The form text for a service, as the host's `config-get("form.<service>")`
/// gives it (`config-files` in `switchyard.toml`).
fn form(service: &str) -> Option<String> {
    fs::read_to_string(examples().join(format!("forms/{service}.json"))).ok()
}

/// The payload bytes the host passes for a job file's `payload`: an object
/// is sent as its JSON text, a string as itself, no field as nothing.
fn payload(job: &Value) -> Vec<u8> {
    match job.get("payload") {
        None => Vec::new(),
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(other) => other.to_string().into_bytes(),
    }
}

/// Validates a job file's entry the way the plugin does in the component.
fn validate(job: &Value) -> Vec<switchyard_plugin::FieldError> {
    let service = job.get("service").and_then(Value::as_str);
    let form = service.and_then(form).map(|text| Form::parse(&text));
    check_job("service", service, form.as_ref(), &payload(job))
}

#[test]
fn every_form_is_well_formed() {
    for service in ["clustalo", "mafft", "jpred"] {
        let text = form(service).unwrap();
        if let Err(problems) = slivka_form::form::Form::parse(&text) {
            panic!("forms/{service}.json is broken: {problems:?}");
        }
    }
}

#[test]
fn sample_jobs_validate_as_expected() {
    let expected = read_json("expected.json");
    let expected = expected.as_object().unwrap();
    let mut files: Vec<String> = fs::read_dir(examples().join("jobs"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    let listed: Vec<&String> = expected.keys().collect();
    assert_eq!(
        files.iter().collect::<Vec<_>>(),
        listed,
        "expected.json lists every job file"
    );

    for name in &files {
        let job = read_json(&format!("jobs/{name}"));
        let errors = validate(&job);
        let want = &expected[name]["validate"];
        if want == "ok" {
            assert!(errors.is_empty(), "{name}: expected valid, got {errors:?}");
            continue;
        }
        let want = want.as_array().unwrap();
        assert_eq!(errors.len(), want.len(), "{name}: {errors:#?}");
        for (error, want) in errors.iter().zip(want) {
            assert_eq!(error.field, want["field"], "{name}");
            assert_eq!(error.code.slivka_code(), want["code"], "{name}: {error:?}");
            if let Some(message) = want.get("message") {
                assert_eq!(error.message, message.as_str().unwrap(), "{name}");
            }
        }
    }
}

#[test]
fn jobs_jsonl_lines_are_entries_the_plugin_can_judge() {
    let text = fs::read_to_string(examples().join("jobs.jsonl")).unwrap();
    let mut valid = 0;
    let mut invalid = 0;
    for (number, line) in text.lines().enumerate() {
        let job: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("jobs.jsonl line {}: {e}", number + 1));
        assert!(job.is_object(), "line {}", number + 1);
        if validate(&job).is_empty() {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    assert!(
        valid >= 15 && invalid >= 15,
        "{valid} valid, {invalid} invalid"
    );
}
