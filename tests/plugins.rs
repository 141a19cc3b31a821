//! The shipped plugins, run as the daemon runs them: the real `slivka-form`
//! and `fasta-size` components, loaded by the real runtime, with the example
//! forms from `examples/slivka/forms/`.
//!
//! Every slivka constraint has a case that passes and one that fails, so a
//! plugin that stopped checking (or started refusing good input) is caught.
//! Where the example forms have no field with a constraint, a small form is
//! given inline under a test service name. The sample jobs of
//! `examples/slivka/jobs/` are held to `examples/slivka/expected.json`
//! through the components, and through `switchyard try`.

use serde_json::{Value, json};

use switchyard::plugin::{Decision, Job, Plugin, PluginSettings, Runtime};

use crate::harness::{fasta, job, plugin_path, repo_root, run_try, slivka_example, slivka_job};

/// Small forms for constraints the example forms do not use, each under its
/// own service name.
const INLINE_FORMS: [(&str, &str); 4] = [
    (
        "t-required",
        r#"{"count": {"label": "Count", "value": {"type": "integer"}}}"#,
    ),
    (
        "t-default",
        r#"{"count": {"label": "Count", "value": {"type": "integer", "default": 3}}}"#,
    ),
    (
        "t-text",
        r#"{"name": {"type": "text", "min-length": 3, "max-length": 5}}"#,
    ),
    (
        "t-array",
        r#"{
            "sizes": {"value": {"type": "integer", "min": 1, "max": 5, "array": true}},
            "formats": {"value": {"type": "choice", "choices": ["fasta", "clustal"], "multiple": true, "required": false}}
        }"#,
    ),
];

/// A runtime with slivka-form loaded, configured with the three example
/// forms and the inline ones. The runtime lives as long as the plugin.
struct SlivkaForm {
    /// The plugin, configured.
    plugin: Plugin,
    /// Its runtime; kept so the epoch ticker runs while the plugin is used.
    runtime: Runtime,
}

impl SlivkaForm {
    fn load() -> SlivkaForm {
        let runtime = Runtime::new().unwrap();
        let mut settings = PluginSettings::default();
        for service in ["clustalo", "mafft", "jpred"] {
            settings.config.insert(
                format!("form.{service}"),
                slivka_example(&format!("forms/{service}.json")),
            );
        }
        for (service, form) in INLINE_FORMS {
            settings
                .config
                .insert(format!("form.{service}"), form.to_string());
        }
        let plugin = Plugin::load(
            &runtime,
            "slivka-form",
            &plugin_path("slivka-form"),
            settings,
        )
        .unwrap_or_else(|e| panic!("slivka-form does not load: {e}"));
        SlivkaForm { plugin, runtime }
    }

    /// The errors for `job` as (field, code), in the plugin's order; empty
    /// when the job is valid.
    fn errors_of(&self, job: &Job) -> Vec<(String, String)> {
        self.messages_of(job)
            .into_iter()
            .map(|(field, code, _)| (field, code))
            .collect()
    }

    /// Like [`SlivkaForm::errors_of`], with each error's message.
    fn messages_of(&self, job: &Job) -> Vec<(String, String, String)> {
        match self.plugin.validate(job, "test-job") {
            Ok(Ok(())) => Vec::new(),
            Ok(Err(errors)) => errors
                .into_iter()
                .map(|e| (e.field, e.code.as_str().to_string(), e.message))
                .collect(),
            Err(e) => panic!("slivka-form failed instead of answering: {e}"),
        }
    }

    /// The errors for a `service` job with these inputs.
    fn errors(&self, service: &str, inputs: Value) -> Vec<(String, String)> {
        self.errors_of(&slivka_job(service, inputs))
    }

    /// Asserts that a `service` job with these inputs is valid.
    fn passes(&self, service: &str, inputs: Value) {
        let errors = self.messages_of(&slivka_job(service, inputs.clone()));
        assert!(
            errors.is_empty(),
            "{service} {inputs} should be valid, got {errors:?}"
        );
    }

    /// Asserts that a `service` job with these inputs gets exactly one
    /// error, on `field` with `code`.
    fn fails(&self, service: &str, inputs: Value, field: &str, code: &str) {
        assert_eq!(
            self.errors(service, inputs.clone()),
            [(field.to_string(), code.to_string())],
            "{service} {inputs}"
        );
    }
}

/// Clustal Omega inputs: three small sequences plus `extra`.
fn clustalo(extra: Value) -> Value {
    with_input(fasta(3, 40), extra)
}

/// `extra` with `input` set to `fasta`.
fn with_input(fasta: String, extra: Value) -> Value {
    let mut inputs = json!({ "input": fasta });
    for (key, value) in extra.as_object().expect("inputs are an object") {
        inputs[key] = value.clone();
    }
    inputs
}

#[test]
fn required_missing_is_refused() {
    let form = SlivkaForm::load();
    form.fails("clustalo", json!({}), "input", "required");
    form.fails("clustalo", json!({ "input": null }), "input", "required");
    form.fails("clustalo", json!({ "input": "" }), "input", "required");
    form.fails("t-required", json!({}), "count", "required");
    form.passes("t-required", json!({ "count": "7" }));
}

#[test]
fn default_makes_a_field_optional() {
    let form = SlivkaForm::load();
    form.passes("t-default", json!({}));
    form.passes("t-default", json!({ "count": null }));
    form.passes("t-default", json!({ "count": "9" }));
    // clustalo: everything but the input has a default or is not required.
    form.passes("clustalo", clustalo(json!({})));
    form.passes("jpred", with_input(fasta(1, 100), json!({})));
}

#[test]
fn integer_bounds_are_inclusive() {
    let form = SlivkaForm::load();
    // clustalo `iterations`: min 0, max 100.
    form.passes("clustalo", clustalo(json!({ "iterations": "0" })));
    form.passes("clustalo", clustalo(json!({ "iterations": "100" })));
    form.fails(
        "clustalo",
        clustalo(json!({ "iterations": "101" })),
        "iterations",
        "max_value",
    );
    form.fails(
        "clustalo",
        clustalo(json!({ "iterations": "-1" })),
        "iterations",
        "min_value",
    );
    // mafft `retree`: min 1, max 100.
    form.passes("mafft", with_input(fasta(3, 40), json!({ "retree": "1" })));
    form.fails(
        "mafft",
        with_input(fasta(3, 40), json!({ "retree": "0" })),
        "retree",
        "min_value",
    );
    for not_integer in ["two", "2.5", "1e2", ""] {
        let errors = form.errors("clustalo", clustalo(json!({ "iterations": not_integer })));
        if not_integer.is_empty() {
            // An empty value is a missing one, and iterations has a default.
            assert_eq!(errors, [], "iterations {not_integer:?}");
        } else {
            assert_eq!(
                errors,
                [("iterations".to_string(), "invalid".to_string())],
                "iterations {not_integer:?}"
            );
        }
    }
}

#[test]
fn decimal_bounds_respect_exclusive_flags() {
    let form = SlivkaForm::load();
    let mafft = |extra: Value| with_input(fasta(3, 40), extra);

    // `gap-open-penalty`: min 0 exclusive, max 10 inclusive.
    form.fails(
        "mafft",
        mafft(json!({ "gap-open-penalty": "0" })),
        "gap-open-penalty",
        "min_value",
    );
    form.passes("mafft", mafft(json!({ "gap-open-penalty": "0.001" })));
    form.passes("mafft", mafft(json!({ "gap-open-penalty": "10" })));
    form.fails(
        "mafft",
        mafft(json!({ "gap-open-penalty": "10.01" })),
        "gap-open-penalty",
        "max_value",
    );

    // `group-gap-ext-penalty`: min 0 inclusive.
    form.passes("mafft", mafft(json!({ "group-gap-ext-penalty": "0" })));
    form.fails(
        "mafft",
        mafft(json!({ "group-gap-ext-penalty": "-0.1" })),
        "group-gap-ext-penalty",
        "min_value",
    );

    // `local-gap-open-penalty`: min -10 inclusive, max 0 exclusive (its
    // condition holds: pairwise defaults to local).
    form.passes("mafft", mafft(json!({ "local-gap-open-penalty": "-10" })));
    form.passes("mafft", mafft(json!({ "local-gap-open-penalty": "-0.5" })));
    form.fails(
        "mafft",
        mafft(json!({ "local-gap-open-penalty": "0" })),
        "local-gap-open-penalty",
        "max_value",
    );
    form.fails(
        "mafft",
        mafft(json!({ "local-gap-open-penalty": "-10.5" })),
        "local-gap-open-penalty",
        "min_value",
    );

    form.fails(
        "mafft",
        mafft(json!({ "gap-open-penalty": "high" })),
        "gap-open-penalty",
        "invalid",
    );
}

#[test]
fn text_length_is_checked_in_characters() {
    let form = SlivkaForm::load();
    form.fails("t-text", json!({ "name": "ab" }), "name", "min_length");
    form.passes("t-text", json!({ "name": "abc" }));
    form.passes("t-text", json!({ "name": "abcde" }));
    form.fails("t-text", json!({ "name": "abcdef" }), "name", "max_length");
    // Five characters, ten bytes.
    form.passes("t-text", json!({ "name": "ééééé" }));

    // jpred `title`: max-length 100.
    let jpred = |title: String| with_input(fasta(1, 100), json!({ "title": title }));
    form.passes("jpred", jpred("t".repeat(100)));
    form.fails("jpred", jpred("t".repeat(101)), "title", "max_length");
}

#[test]
fn flags_accept_booleans_only() {
    let form = SlivkaForm::load();
    for value in ["true", "false", "yes", "NO", "On", "off", "1", "0"] {
        form.passes("mafft", with_input(fasta(3, 40), json!({ "6mers": value })));
    }
    for value in ["maybe", "2", "truthy"] {
        form.fails(
            "mafft",
            with_input(fasta(3, 40), json!({ "6mers": value })),
            "6mers",
            "invalid",
        );
    }
}

#[test]
fn choices_accept_declared_keys_only() {
    let form = SlivkaForm::load();
    form.passes("clustalo", clustalo(json!({ "outfmt": "fasta" })));
    form.passes("clustalo", clustalo(json!({ "outfmt": "stockholm" })));
    // A key with a space.
    form.passes(
        "mafft",
        with_input(fasta(3, 40), json!({ "output-order": "input order" })),
    );
    // The command-line value is not a key.
    form.fails(
        "clustalo",
        clustalo(json!({ "outfmt": "fa" })),
        "outfmt",
        "invalid",
    );
    form.fails(
        "clustalo",
        clustalo(json!({ "outfmt": "xml" })),
        "outfmt",
        "invalid",
    );
}

#[test]
fn fasta_files_are_checked_for_their_media_type() {
    let form = SlivkaForm::load();
    form.passes(
        "clustalo",
        json!({ "input": ">seq1\nMKVLA\n>seq2\nMKV-A*\n" }),
    );
    form.passes("clustalo", json!({ "input": "\n>seq1\nMKV\n\nLLA\n" }));
    for not_fasta in [
        "MKVLA\n",             // no header
        ">seq1\n>seq2\nMKV\n", // a header without a sequence
        ">seq1\nMKV 42\n",     // digits in a sequence
        ">seq1\n",             // nothing but a header
    ] {
        form.fails(
            "clustalo",
            json!({ "input": not_fasta }),
            "input",
            "media_type",
        );
    }
    // jpred's `max-size` is 2KB.
    form.passes("jpred", with_input(fasta(1, 800), json!({})));
    form.fails(
        "jpred",
        with_input(fasta(1, 3000), json!({})),
        "input",
        "max_length",
    );
}

#[test]
fn array_constraints_apply_per_element() {
    let form = SlivkaForm::load();
    form.passes("t-array", json!({ "sizes": ["1", "5", "3"] }));
    // A single string is a list of one.
    form.passes("t-array", json!({ "sizes": "4" }));
    form.passes(
        "t-array",
        json!({ "sizes": ["2"], "formats": ["fasta", "clustal"] }),
    );

    let errors = form.messages_of(&slivka_job(
        "t-array",
        json!({ "sizes": ["1", "9", "0", "x"], "formats": ["fasta", "xml"] }),
    ));
    let on = |field: &str| -> Vec<(String, String)> {
        errors
            .iter()
            .filter(|(f, _, _)| f == field)
            .map(|(_, code, message)| (code.clone(), message.clone()))
            .collect()
    };
    let sizes = on("sizes");
    let codes: Vec<&str> = sizes.iter().map(|(code, _)| code.as_str()).collect();
    assert_eq!(codes, ["max_value", "min_value", "invalid"], "{errors:?}");
    for ((_, message), element) in sizes.iter().zip([1, 2, 3]) {
        assert!(
            message.starts_with(&format!("element {element}:")),
            "{message}"
        );
    }
    let formats = on("formats");
    assert_eq!(formats.len(), 1, "{errors:?}");
    assert_eq!(formats[0].0, "invalid");
    assert!(formats[0].1.starts_with("element 1:"), "{formats:?}");
    assert_eq!(errors.len(), 4, "{errors:?}");

    // A field that is not an array takes one value.
    form.fails(
        "clustalo",
        clustalo(json!({ "iterations": ["1", "2"] })),
        "iterations",
        "invalid",
    );
}

#[test]
fn conditions_across_fields() {
    let form = SlivkaForm::load();
    // clustalo `max-hmm-iterations` needs `iterations > 0`.
    form.passes(
        "clustalo",
        clustalo(json!({ "iterations": "2", "max-hmm-iterations": "5" })),
    );
    form.fails(
        "clustalo",
        clustalo(json!({ "max-hmm-iterations": "5" })),
        "max-hmm-iterations",
        "condition",
    );
    form.fails(
        "clustalo",
        clustalo(json!({ "iterations": "0", "max-hmm-iterations": "5" })),
        "max-hmm-iterations",
        "condition",
    );

    // `full-distance-iteration` needs `iterations > 0 and full-distance`; a
    // flag given as false counts as not given.
    form.passes(
        "clustalo",
        clustalo(json!({
            "iterations": "1", "full-distance": "true", "full-distance-iteration": "true"
        })),
    );
    form.fails(
        "clustalo",
        clustalo(json!({ "iterations": "1", "full-distance-iteration": "true" })),
        "full-distance-iteration",
        "condition",
    );
    form.passes(
        "clustalo",
        clustalo(json!({ "full-distance-iteration": "false" })),
    );

    // mafft `local-gap-open-penalty` needs pairwise local or genaf.
    let mafft = |pairwise: &str| {
        with_input(
            fasta(3, 40),
            json!({ "pairwise": pairwise, "local-gap-open-penalty": "-2" }),
        )
    };
    form.passes("mafft", mafft("genaf"));
    form.passes("mafft", mafft("local"));
    form.fails(
        "mafft",
        mafft("global"),
        "local-gap-open-penalty",
        "condition",
    );
}

#[test]
fn unknown_parameter_is_refused() {
    let form = SlivkaForm::load();
    form.fails(
        "clustalo",
        clustalo(json!({ "colour": "red" })),
        "colour",
        "invalid",
    );
    let errors = form.messages_of(&slivka_job(
        "clustalo",
        clustalo(json!({ "colour": "red" })),
    ));
    assert!(errors[0].2.contains("unknown parameter"), "{errors:?}");
}

#[test]
fn payload_that_is_not_json_is_refused() {
    let form = SlivkaForm::load();
    let invalid =
        |payload: &str| form.errors_of(&job(&[("service", "clustalo"), ("payload", payload)]));
    assert_eq!(
        invalid("input=%3Eseq1%0AMKV&outfmt=clustal"),
        [("payload".to_string(), "invalid".to_string())]
    );
    assert_eq!(
        invalid(r#"{"inputs": {"input": ">a\nMKV"#),
        [("payload".to_string(), "invalid".to_string())]
    );
    assert_eq!(
        invalid(""),
        [("payload".to_string(), "invalid".to_string())]
    );
    assert_eq!(
        invalid(r#"{"input": ">a\nMKV"}"#),
        [("inputs".to_string(), "invalid".to_string())]
    );
    // A good payload for contrast.
    assert_eq!(invalid(r#"{"inputs": {"input": ">a\nMKV"}}"#), []);
}

#[test]
fn unknown_service_has_no_form() {
    let form = SlivkaForm::load();
    let errors = form.messages_of(&slivka_job("blast", clustalo(json!({}))));
    assert_eq!(
        errors,
        [(
            "service".to_string(),
            "not_found".to_string(),
            "no form for service `blast`".to_string()
        )]
    );
    let no_service = job(&[("payload", r#"{"inputs": {}}"#)]);
    assert_eq!(
        form.errors_of(&no_service),
        [("service".to_string(), "required".to_string())]
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let form = SlivkaForm::load();
    let errors = form.errors(
        "clustalo",
        clustalo(json!({
            "dealign": "perhaps", "iterations": "250", "outfmt": "xml", "colour": "red"
        })),
    );
    let mut fields: Vec<&str> = errors.iter().map(|(field, _)| field.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["colour", "dealign", "iterations", "outfmt"],
        "{errors:?}"
    );
}

/// Loads fasta-size with `config`.
fn fasta_size(runtime: &Runtime, config: &[(&str, &str)]) -> Plugin {
    let settings = PluginSettings {
        config: config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    Plugin::load(runtime, "fasta-size", &plugin_path("fasta-size"), settings)
        .unwrap_or_else(|e| panic!("fasta-size does not load: {e}"))
}

/// Where fasta-size sends a job of `count` sequences of `length` residues:
/// `Ok((stream, extra fields))` or `Err(reject reason)`.
fn routed(router: &Plugin, count: usize, length: usize) -> Result<(String, Value), String> {
    let job = slivka_job("clustalo", json!({ "input": fasta(count, length) }));
    match router.route(&job, "test-job", None) {
        Ok(Decision::Dispatch(targets)) => {
            assert_eq!(targets.len(), 1, "{targets:?}");
            let fields: serde_json::Map<String, Value> = targets[0]
                .extra_fields
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            Ok((targets[0].stream.clone(), Value::Object(fields)))
        }
        Ok(Decision::Reject(reason)) => Err(reason),
        Err(e) => panic!("fasta-size failed instead of answering: {e}"),
    }
}

#[test]
fn fasta_size_routes_by_sequence_count() {
    let runtime = Runtime::new().unwrap();
    let router = fasta_size(&runtime, &[]);
    assert_eq!(
        routed(&router, 5, 60),
        Ok((
            "queue:local".into(),
            json!({ "runner": "local", "sequences": "5" })
        ))
    );
    assert_eq!(
        routed(&router, 100, 60),
        Ok((
            "queue:default".into(),
            json!({ "runner": "cluster", "sequences": "100" })
        ))
    );
    assert_eq!(
        routed(&router, 1500, 20),
        Err("1500 sequences is more than the limit of 1000".into())
    );
}

#[test]
fn fasta_size_sends_long_sequences_to_the_cluster() {
    let runtime = Runtime::new().unwrap();
    let router = fasta_size(&runtime, &[]);
    assert_eq!(routed(&router, 40, 400).unwrap().0, "queue:default");
    // Few sequences, but long on average: only the length rule applies.
    assert_eq!(routed(&router, 10, 150).unwrap().0, "queue:local");
    assert_eq!(routed(&router, 10, 151).unwrap().0, "queue:default");
}

#[test]
fn fasta_size_takes_targets_and_limits_from_config() {
    let runtime = Runtime::new().unwrap();
    let router = fasta_size(
        &runtime,
        &[
            ("local-target", "jobs:mafft:local"),
            ("cluster-target", "jobs:mafft:slurm"),
            ("local-max-sequences", "2"),
            ("cluster-max-sequences", "3"),
        ],
    );
    assert_eq!(routed(&router, 2, 10).unwrap().0, "jobs:mafft:local");
    assert_eq!(routed(&router, 3, 10).unwrap().0, "jobs:mafft:slurm");
    assert_eq!(
        routed(&router, 4, 10),
        Err("4 sequences is more than the limit of 3".into())
    );
    // The configured targets pass an allowed list that names them.
    let allowed = [
        "jobs:mafft:local".to_string(),
        "jobs:mafft:slurm".to_string(),
    ];
    let job = slivka_job("mafft", json!({ "input": fasta(2, 10) }));
    assert!(router.route(&job, "test-job", Some(&allowed)).is_ok());
}

#[test]
fn fasta_size_rejects_jobs_it_cannot_count() {
    let runtime = Runtime::new().unwrap();
    let router = fasta_size(&runtime, &[]);
    for payload in [
        "not json",
        r#"{"inputs": {}}"#,
        r#"{"inputs": {"input": "MKV"}}"#,
    ] {
        let decision = router
            .route(&job(&[("payload", payload)]), "test-job", None)
            .unwrap();
        assert!(
            matches!(decision, Decision::Reject(_)),
            "{payload}: {decision:?}"
        );
    }
}

/// The sample jobs' files, sorted, with what `expected.json` says of each.
fn sample_jobs() -> Vec<(String, Value, Value)> {
    let expected: Value = serde_json::from_str(&slivka_example("expected.json")).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("examples/slivka/jobs"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let job: Value =
                serde_json::from_str(&slivka_example(&format!("jobs/{name}"))).unwrap();
            let want = expected
                .get(&name)
                .unwrap_or_else(|| panic!("expected.json does not list {name}"))
                .clone();
            (name, job, want)
        })
        .collect()
}

/// Whether the errors match what `expected.json` lists: same fields and
/// codes in order, and the same message where one is given.
fn errors_match(got: &[(String, String, String)], want: &Value) -> bool {
    let want = want.as_array().expect("expected errors are a list");
    got.len() == want.len()
        && got.iter().zip(want).all(|((field, code, message), w)| {
            w["field"] == field.as_str()
                && w["code"] == code.as_str()
                && w.get("message").is_none_or(|m| m == message.as_str())
        })
}

#[test]
fn sample_jobs_end_as_expected_through_the_components() {
    let form = SlivkaForm::load();
    let router = fasta_size(&form.runtime, &[]);
    let allowed = ["queue:local".to_string(), "queue:default".to_string()];
    for (name, job_json, want) in sample_jobs() {
        let fields = switchyard::pipeline::job::fields_from_json(&job_json).unwrap();
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), std::str::from_utf8(v).unwrap()))
            .collect();
        let job = job(&fields);
        let errors = form.messages_of(&job);
        if want["validate"] == "ok" {
            assert_eq!(errors, [], "{name}");
        } else {
            assert!(
                errors_match(&errors, &want["validate"]),
                "{name}: {errors:?}"
            );
            continue;
        }
        let decision = router.route(&job, "test-job", Some(&allowed)).unwrap();
        match decision {
            Decision::Dispatch(targets) => {
                assert_eq!(targets.len(), 1, "{name}");
                assert_eq!(
                    want["route"]["stream"],
                    targets[0].stream.as_str(),
                    "{name}"
                );
                let want_fields = want["route"]["extra-fields"].as_object().unwrap();
                assert_eq!(want_fields.len(), targets[0].extra_fields.len(), "{name}");
                for (key, value) in &targets[0].extra_fields {
                    assert_eq!(want["route"]["extra-fields"][key], value.as_str(), "{name}");
                }
            }
            Decision::Reject(reason) => {
                assert_eq!(want["route"]["reject"], reason.as_str(), "{name}");
            }
        }
    }
}

#[test]
fn try_runs_the_sample_jobs_like_the_daemon() {
    let forms = repo_root().join("examples/slivka/forms");
    let jobs = repo_root().join("examples/slivka/jobs");
    let config = |service: &str| format!("form.{service}=@{}/{service}.json", forms.display());
    let validator = plugin_path("slivka-form");
    let router = plugin_path("fasta-size");

    // Valid: slivka-form says so, fasta-size picks the cluster.
    let job = jobs.join("clustalo-valid-100.json");
    let (code, out, stderr) = run_try(&[
        "--config",
        &config("clustalo"),
        validator.to_str().unwrap(),
        job.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["validate"], json!({ "valid": true }), "{out}");
    let (code, out, stderr) = run_try(&[
        "--allow",
        "queue:local",
        "--allow",
        "queue:default",
        router.to_str().unwrap(),
        job.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        out["route"]["dispatch"][0]["stream"], "queue:default",
        "{out}"
    );
    assert_eq!(
        out["route"]["dispatch"][0]["extra-fields"],
        json!({ "runner": "cluster", "sequences": "100" })
    );

    // Invalid: exit 0 (the plugin answered), with the errors as JSON.
    let job = jobs.join("mafft-gap-open-zero.json");
    let (code, out, stderr) = run_try(&[
        "--config",
        &config("mafft"),
        validator.to_str().unwrap(),
        job.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        out["validate"],
        json!({ "valid": false, "errors": [{
            "field": "gap-open-penalty",
            "code": "min_value",
            "message": "must be greater than 0, got 0"
        }]})
    );

    // Too many sequences: fasta-size rejects.
    let job = jobs.join("clustalo-too-many.json");
    let (code, out, _) = run_try(&[router.to_str().unwrap(), job.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(
        out["route"],
        json!({ "reject": "1200 sequences is more than the limit of 1000" })
    );
}
