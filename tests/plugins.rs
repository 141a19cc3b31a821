//! The shipped plugins, run as the daemon runs them: the real `slivka-form`
//! and `fasta-size` components, loaded by the real runtime.
//!
//! slivka-form's rules are specified one per test, each on a small slivka
//! 0.8 service file given inline, and every expected verdict is the one
//! slivka 0.8.5b7 gives (its own form, built by its own loader from the same
//! file). The differential test (`slivka.rs`) covers the full corpus; these
//! are the readable specification. fasta-size is specified on its `tiers`
//! config. The sample jobs of `examples/slivka/jobs/` are held to
//! `examples/slivka/expected.json` with the service files of
//! `examples/slivka/services/` and the tiers of
//! `examples/slivka/switchyard.toml`, through the components and through
//! `switchyard try`.

use serde_json::{Value, json};

use switchyard::config::Settings;
use switchyard::pipeline::Deciding;
use switchyard::pipeline::job::{Entry, EntryId};
use switchyard::pipeline::snapshot::Snapshot;
use switchyard::plugin::{Contract, Decision, Job, LoadError, Plugin, PluginSettings, Runtime};

use crate::harness::{
    fasta, job, plugin_path, repo_root, run_try, slivka_example, slivka_job, slivka_tiers,
};

/// The example services, `examples/slivka/services/<id>.service.yaml`.
const EXAMPLE_SERVICES: [&str; 3] = ["clustalo", "mafft", "jpred"];

/// A slivka 0.8 service file declaring `parameters`, one YAML line each
/// (`id: {name: ..., type: ...}`), and the least else slivka's loader
/// requires.
fn service_file(parameters: &[&str]) -> String {
    let mut text = String::from("slivka-version: \"0.8.5\"\nname: Test\nparameters:\n");
    for parameter in parameters {
        text.push_str(&format!("  {parameter}\n"));
    }
    text.push_str(
        "command: \"true\"\nargs: {}\noutputs: {}\n\
         execution:\n  runners:\n    default:\n      type: SlivkaQueueRunner\n",
    );
    text
}

/// A runtime with slivka-form loaded, configured with the example service
/// files and, for most tests, one inline service. The runtime lives as long
/// as the plugin.
struct SlivkaForm {
    /// The plugin, configured.
    plugin: Plugin,
    /// Its runtime; kept so the epoch ticker runs while the plugin is used.
    runtime: Runtime,
    /// The inline service's id, the service of [`SlivkaForm::check`]
    /// (`clustalo` when there is none).
    service: &'static str,
}

impl SlivkaForm {
    /// slivka-form with the example services and service `id` declaring
    /// `parameters` (see [`service_file`]).
    fn with(id: &'static str, parameters: &[&str]) -> SlivkaForm {
        SlivkaForm::load(id, Some(service_file(parameters)))
    }

    /// slivka-form with the example services only.
    fn examples() -> SlivkaForm {
        SlivkaForm::load("clustalo", None)
    }

    /// slivka-form with the example services, and `inline` as service `id`
    /// if given.
    fn load(id: &'static str, inline: Option<String>) -> SlivkaForm {
        let mut config: Vec<(String, String)> = EXAMPLE_SERVICES
            .iter()
            .map(|service| {
                (
                    format!("service.{service}"),
                    slivka_example(&format!("services/{service}.service.yaml")),
                )
            })
            .collect();
        if let Some(text) = inline {
            config.push((format!("service.{id}"), text));
        }
        let runtime = Runtime::new().unwrap();
        let settings = PluginSettings {
            config: config.into_iter().collect(),
            ..Default::default()
        };
        let plugin = Plugin::load(
            &runtime,
            "slivka-form",
            &plugin_path("slivka-form"),
            settings,
        )
        .unwrap_or_else(|e| panic!("slivka-form does not load: {e}"));
        SlivkaForm {
            plugin,
            runtime,
            service: id,
        }
    }

    /// The errors for `job` as (field, code, message), in the plugin's
    /// order; empty when the job is valid.
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

    /// Like [`SlivkaForm::messages_of`], without the messages.
    fn errors_of(&self, job: &Job) -> Vec<(String, String)> {
        self.messages_of(job)
            .into_iter()
            .map(|(field, code, _)| (field, code))
            .collect()
    }

    /// The errors (field, code) for a job of `service` with these inputs.
    fn errors(&self, service: &str, inputs: Value) -> Vec<(String, String)> {
        self.errors_of(&slivka_job(service, inputs))
    }

    /// The verdict on a job of the inline service with these inputs, as
    /// slivka shows it: `Ok(())` or the (field, code) of each error.
    fn check(&self, inputs: Value) -> Result<(), Vec<(String, String)>> {
        let errors = self.errors(self.service, inputs);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Asserts that each of `inputs` is valid for the inline service.
    fn accepts(&self, inputs: &[Value]) {
        for inputs in inputs {
            assert_eq!(self.check(inputs.clone()), Ok(()), "{inputs}");
        }
    }

    /// Asserts that each of `inputs` gets exactly one error, on `field`
    /// with `code`.
    fn refuses(&self, field: &str, code: &str, inputs: &[Value]) {
        for inputs in inputs {
            assert_eq!(
                self.check(inputs.clone()),
                Err(vec![(field.to_string(), code.to_string())]),
                "{inputs}"
            );
        }
    }
}

/// (field, code) pairs, for comparing.
fn pairs(errors: &[(&str, &str)]) -> Vec<(String, String)> {
    errors
        .iter()
        .map(|(field, code)| (field.to_string(), code.to_string()))
        .collect()
}

/// Two globins: a FASTA input every example service accepts.
const GLOBINS: &str = ">globin1\nMVLSPADKTNVKAAWGKVGAHAGEYGAEALERMFLSFPTTKTYFPHF\n\
                       >globin2\nMVHLTPEEKSAVTALWGKVNVDEVGGEALGRLLVVYPWTQRFFESFGDL\n";

#[test]
fn a_required_parameter_needs_a_value() {
    // Every parameter is required unless it says otherwise or has a default.
    let form = SlivkaForm::with(
        "t-required",
        &[
            "count: {name: Count, type: int}",
            "label: {name: Label, type: text, required: false}",
        ],
    );
    form.accepts(&[json!({ "count": "7" })]);
    // Absent, null, empty, or a list of nulls: no value.
    form.refuses(
        "count",
        "required",
        &[
            json!({}),
            json!({ "count": null }),
            json!({ "count": "" }),
            json!({ "count": [null] }),
            json!({ "label": "x" }),
        ],
    );

    // A required flag given false has no value either.
    let form = SlivkaForm::with("t-required-flag", &["agree: {name: Agree, type: flag}"]);
    form.accepts(&[json!({ "agree": "yes" })]);
    form.refuses("agree", "required", &[json!({}), json!({ "agree": "no" })]);
}

#[test]
fn a_default_makes_a_parameter_optional() {
    let form = SlivkaForm::with(
        "t-default",
        &[
            "count: {name: Count, type: int, default: 3}",
            "mode: {name: Mode, type: choice, choices: {fast: --fast, slow: --slow}, default: fast}",
        ],
    );
    form.accepts(&[
        json!({}),
        json!({ "count": null, "mode": null }),
        json!({ "count": "" }),
        json!({ "count": "9", "mode": "slow" }),
    ]);
    // clustalo: every parameter but the input has a default.
    let form = SlivkaForm::examples();
    assert_eq!(form.errors("clustalo", json!({ "input": GLOBINS })), []);
    assert_eq!(
        form.errors("clustalo", json!({})),
        pairs(&[("input", "required")])
    );
}

#[test]
fn integers_are_read_as_python_reads_them_and_bounds_are_inclusive() {
    let form = SlivkaForm::with(
        "t-int",
        &["n: {name: N, type: int, min: 1, max: 100, required: false}"],
    );
    // Python's int(): surrounding spaces, `_` between digits, any Unicode
    // digit; empty is no value.
    form.accepts(&[
        json!({ "n": "1" }),
        json!({ "n": "100" }),
        json!({ "n": " 5 " }),
        json!({ "n": "5_0" }),
        json!({ "n": "\u{ff15}" }),
        json!({ "n": "" }),
    ]);
    form.refuses(
        "n",
        "min_value",
        &[json!({ "n": "0" }), json!({ "n": "-1" })],
    );
    // Past 64 bits is still a number, and too large.
    form.refuses(
        "n",
        "max_value",
        &[
            json!({ "n": "101" }),
            json!({ "n": "99999999999999999999999" }),
        ],
    );
    form.refuses(
        "n",
        "invalid",
        &[
            json!({ "n": "two" }),
            json!({ "n": "2.5" }),
            json!({ "n": "1e2" }),
        ],
    );
}

#[test]
fn decimal_bounds_follow_their_exclusive_flags() {
    let form = SlivkaForm::with(
        "t-decimal",
        &[
            "x: {name: X, type: decimal, min: 0, max: 10, min-exclusive: true, required: false}",
            "y: {name: Y, type: float, min: -10, max: 0, max-exclusive: true, required: false}",
        ],
    );
    // x: 0 < x <= 10.
    form.accepts(&[
        json!({ "x": "0.001" }),
        json!({ "x": "1e-3" }),
        json!({ "x": "10" }),
    ]);
    form.refuses("x", "min_value", &[json!({ "x": "0" })]);
    // Infinity and overflow are numbers, past every bound.
    form.refuses(
        "x",
        "max_value",
        &[
            json!({ "x": "10.01" }),
            json!({ "x": "inf" }),
            json!({ "x": "1e400" }),
        ],
    );
    form.refuses("x", "invalid", &[json!({ "x": "high" })]);
    // y: -10 <= y < 0.
    form.accepts(&[json!({ "y": "-10" }), json!({ "y": "-0.5" })]);
    form.refuses("y", "max_value", &[json!({ "y": "0" })]);
    form.refuses(
        "y",
        "min_value",
        &[json!({ "y": "-10.5" }), json!({ "y": "-inf" })],
    );
}

#[test]
fn text_length_is_counted_in_characters() {
    let form = SlivkaForm::with(
        "t-text",
        &["name: {name: Name, type: text, min-length: 3, max-length: 5, required: false}"],
    );
    form.accepts(&[
        json!({ "name": "abc" }),
        json!({ "name": "abcde" }),
        // Five characters, ten bytes; three characters, twelve bytes.
        json!({ "name": "ééééé" }),
        json!({ "name": "😀😀😀" }),
        // Empty is no value, and the parameter is optional.
        json!({ "name": "" }),
    ]);
    form.refuses("name", "min_length", &[json!({ "name": "ab" })]);
    form.refuses("name", "max_length", &[json!({ "name": "abcdef" })]);
}

#[test]
fn a_flag_is_false_for_slivkas_false_words_and_true_for_any_other() {
    // A required flag: false counts as no value, so the verdict shows how
    // each spelling is read. A flag is never `invalid`.
    let form = SlivkaForm::with(
        "t-flag",
        &[
            "agree: {name: Agree, type: flag}",
            "verbose: {name: Verbose, type: flag, default: true}",
        ],
    );
    for word in ["true", "yes", "on", "1", "Y", "maybe", "2", "x", " no"] {
        form.accepts(&[json!({ "agree": word })]);
    }
    for word in [
        "false", "no", "off", "0", "n", "f", "none", "null", "OFF", "No", "NULL", "",
    ] {
        form.refuses("agree", "required", &[json!({ "agree": word })]);
    }
    // A flag that defaults to true takes its default when given false.
    form.accepts(&[json!({ "agree": "yes", "verbose": "off" })]);
}

#[test]
fn a_choice_is_one_of_the_declared_keys() {
    let form = SlivkaForm::with(
        "t-choice",
        &["format: {name: Format, type: choice, required: false, \
           choices: {fasta: fa, clustal: aln, plain: null}}"],
    );
    // A key whose command-line value is null is a choice like any other.
    form.accepts(&[
        json!({ "format": "fasta" }),
        json!({ "format": "plain" }),
        json!({ "format": "" }),
    ]);
    // The command-line value is not a key; keys are case-sensitive.
    form.refuses(
        "format",
        "invalid",
        &[
            json!({ "format": "fa" }),
            json!({ "format": "xml" }),
            json!({ "format": "FASTA" }),
        ],
    );
}

#[test]
fn a_fasta_file_is_what_biopython_reads_as_at_least_one_record() {
    let form = SlivkaForm::with(
        "t-fasta",
        &[
            "input: {name: Sequences, type: file, media-type: application/fasta}",
            "notes: {name: Notes, type: file, required: false}",
        ],
    );
    form.accepts(&[
        json!({ "input": ">a\nMKV\n" }),
        // A header alone is a record of length 0, even `>`.
        json!({ "input": ">a\n" }),
        json!({ "input": ">" }),
        json!({ "input": ">a\n>b\nMKV\n" }),
        // Biopython keeps digits, `.`, spaces and tabs in a sequence.
        json!({ "input": ">a\nMKV 42.\tLL\n" }),
        // A file without a media type is not read at all.
        json!({ "input": ">a\nMKV\n", "notes": "" }),
        json!({ "input": ">a\nMKV\n", "notes": "anything at all" }),
    ]);
    form.refuses(
        "input",
        "media_type",
        &[
            json!({ "input": "MKV\n" }),
            // A blank line before the first header.
            json!({ "input": "\n>seq1\nMKV\n" }),
            // An empty file is a file, with no record.
            json!({ "input": "" }),
            // Biopython reads it as ASCII.
            json!({ "input": ">é\nMKV\n" }),
            json!({ "input": ">a\nMKé\n" }),
        ],
    );
    form.refuses("input", "required", &[json!({ "notes": "x" })]);
}

#[test]
fn an_array_takes_a_list_and_a_single_field_its_first_value() {
    let form = SlivkaForm::with(
        "t-array",
        &[
            "sizes: {name: Sizes, type: 'int[]', min: 1, max: 5, required: false}",
            "formats: {name: Formats, type: 'choice[]', required: false, \
             choices: {fasta: fa, clustal: aln}}",
        ],
    );
    form.accepts(&[
        json!({ "sizes": ["1", "5", "3"] }),
        // A single string is a list of one; nulls are no values.
        json!({ "sizes": "4" }),
        json!({ "sizes": [null, "2"] }),
        json!({ "sizes": [] }),
        json!({ "formats": ["fasta", "clustal"] }),
    ]);
    // Each element is checked; the first that fails is the field's error.
    form.refuses("sizes", "max_value", &[json!({ "sizes": ["1", "9"] })]);
    form.refuses("sizes", "min_value", &[json!({ "sizes": ["0", "9"] })]);
    form.refuses("sizes", "invalid", &[json!({ "sizes": ["x", "9"] })]);
    form.refuses(
        "formats",
        "invalid",
        &[json!({ "formats": ["fasta", "xml"] })],
    );
    let errors = form.messages_of(&slivka_job("t-array", json!({ "sizes": ["1", "9"] })));
    assert!(errors[0].2.starts_with("element 1:"), "{errors:?}");

    // A required array: an empty element counts as missing.
    let form = SlivkaForm::with("t-array-required", &["ids: {name: Ids, type: 'text[]'}"]);
    form.accepts(&[json!({ "ids": ["a", "b"] })]);
    form.refuses(
        "ids",
        "required",
        &[json!({ "ids": ["a", ""] }), json!({ "ids": [] }), json!({})],
    );

    // A field that is not an array takes the first of a list.
    let form = SlivkaForm::examples();
    assert_eq!(
        form.errors(
            "clustalo",
            json!({ "input": GLOBINS, "iterations": ["3", "250"] })
        ),
        []
    );
    assert_eq!(
        form.errors(
            "clustalo",
            json!({ "input": GLOBINS, "iterations": ["250", "3"] })
        ),
        pairs(&[("iterations", "max_value")])
    );
}

#[test]
fn conditions_use_slivkas_expressions_once_every_value_is_valid() {
    let form = SlivkaForm::with(
        "t-condition",
        &[
            "n: {name: N, type: int, min: 0, max: 10, default: 1}",
            "m: {name: M, type: int, required: false, condition: self < n * 2 + 1}",
            "label: {name: Label, type: text, required: false, condition: '#self >= 3'}",
            "a: {name: A, type: flag, required: false, condition: self xor b}",
            "b: {name: B, type: flag, default: false}",
        ],
    );
    // Arithmetic, with a default standing in for a value not given.
    form.accepts(&[json!({ "m": "2" }), json!({ "n": "3", "m": "5" })]);
    form.refuses(
        "m",
        "condition",
        &[json!({ "m": "3" }), json!({ "n": "3", "m": "7" })],
    );
    // `#` is the length.
    form.accepts(&[json!({ "label": "abc" })]);
    form.refuses("label", "condition", &[json!({ "label": "ab" })]);
    // `xor` of two flags; a condition is not checked for a field with no
    // value.
    form.accepts(&[
        json!({ "a": "yes" }),
        json!({ "a": "no", "b": "yes" }),
        json!({ "b": "yes" }),
    ]);
    form.refuses("a", "condition", &[json!({ "a": "yes", "b": "yes" })]);
    // A field's own error first: no condition is checked then.
    assert_eq!(
        form.check(json!({ "n": "11", "m": "50" })),
        Err(pairs(&[("n", "max_value")]))
    );
    assert_eq!(
        form.check(json!({ "m": "50", "label": "ab" })),
        Err(pairs(&[("m", "condition"), ("label", "condition")]))
    );
    let errors = form.messages_of(&slivka_job("t-condition", json!({ "m": "3" })));
    assert!(errors[0].2.contains("self < n * 2 + 1"), "{errors:?}");
}

#[test]
fn an_unknown_parameter_is_invalid() {
    // slivka answers HTTP 500 here; switchyard answers (difference D1).
    let form = SlivkaForm::examples();
    let errors = form.messages_of(&slivka_job(
        "clustalo",
        json!({ "input": GLOBINS, "outfmt": "clustal" }),
    ));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0].0.as_str(), errors[0].1.as_str()),
        ("outfmt", "invalid")
    );
    assert!(errors[0].2.contains("unknown parameter"), "{errors:?}");
    // Given only null, it is not sent, as slivka's front end would not.
    assert_eq!(
        form.errors("clustalo", json!({ "input": GLOBINS, "outfmt": null })),
        []
    );
}

#[test]
fn a_payload_that_is_not_json_is_invalid() {
    let form = SlivkaForm::examples();
    let invalid =
        |payload: &str| form.errors_of(&job(&[("service", "clustalo"), ("payload", payload)]));
    for payload in [
        "input=%3Eseq1%0AMKV&outfmt=clustal",
        r#"{"inputs": {"input": ">a\nMKV"#,
        "",
    ] {
        assert_eq!(
            invalid(payload),
            pairs(&[("payload", "invalid")]),
            "{payload}"
        );
    }
    assert_eq!(
        invalid(r#"{"input": ">a\nMKV"}"#),
        pairs(&[("inputs", "invalid")])
    );
    // A good payload for contrast.
    assert_eq!(invalid(r#"{"inputs": {"input": ">a\nMKV"}}"#), []);
}

#[test]
fn a_service_without_a_service_file_is_not_found() {
    let form = SlivkaForm::examples();
    let errors = form.messages_of(&slivka_job("blast", json!({ "input": GLOBINS })));
    assert_eq!(
        errors,
        [(
            "service".to_string(),
            "not_found".to_string(),
            "no service file for service `blast`".to_string()
        )]
    );
    let no_service = job(&[("payload", r#"{"inputs": {}}"#)]);
    assert_eq!(
        form.errors_of(&no_service),
        pairs(&[("service", "required")])
    );
}

#[test]
fn every_field_gets_one_error_and_all_are_reported() {
    let form = SlivkaForm::examples();
    // In the service file's order, as slivka lists them.
    assert_eq!(
        form.errors(
            "clustalo",
            json!({
                "input": "MVLSPADKTNVK\n",
                "iterations": "250",
                "max-guidetree-iterations": "0",
                "max-hmm-iterations": "two"
            })
        ),
        pairs(&[
            ("input", "media_type"),
            ("max-hmm-iterations", "invalid"),
            ("iterations", "max_value"),
            ("max-guidetree-iterations", "min_value"),
        ])
    );
}

#[test]
fn the_example_config_holds_slivka_bios_tiers() {
    // tests/slivka/tiers.json holds slivka-bio's figures, the ones the
    // differential test runs on slivka's own selector.
    let example: Value = serde_json::from_str(&slivka_tiers()).unwrap();
    let slivka_bio: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/slivka/tiers.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(example, slivka_bio);
}

/// Loads fasta-size with `config`; `Err` if its `prepare` refuses it.
fn try_fasta_size(runtime: &Runtime, config: &[(&str, &str)]) -> Result<Plugin, LoadError> {
    let settings = PluginSettings {
        config: config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    Plugin::load(runtime, "fasta-size", &plugin_path("fasta-size"), settings)
}

/// Loads fasta-size with `config`.
fn fasta_size(runtime: &Runtime, config: &[(&str, &str)]) -> Plugin {
    try_fasta_size(runtime, config).unwrap_or_else(|e| panic!("fasta-size does not load: {e}"))
}

/// fasta-size with slivka-bio's tiers, sending runner R to `queue:R`.
fn slivka_bio_router(runtime: &Runtime) -> Plugin {
    let tiers = slivka_tiers();
    fasta_size(
        runtime,
        &[("tiers", &tiers), ("target-pattern", "queue:{runner}")],
    )
}

/// Where `router` sends a `service` job with `input` as its FASTA text:
/// `Ok((stream, extra fields))` or `Err(reject reason)`.
fn route_input(router: &Plugin, service: &str, input: String) -> Result<(String, Value), String> {
    let job = slivka_job(service, json!({ "input": input }));
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

/// Where `router` sends a `service` job of `count` sequences of `length`
/// residues.
fn routed(
    router: &Plugin,
    service: &str,
    count: usize,
    length: usize,
) -> Result<(String, Value), String> {
    route_input(router, service, fasta(count, length))
}

/// The runner fasta-size chose, or the reject reason.
fn runner(router: &Plugin, service: &str, count: usize, length: usize) -> Result<String, String> {
    routed(router, service, count, length).map(|(_, fields)| {
        fields["runner"]
            .as_str()
            .expect("a dispatch names its runner")
            .to_string()
    })
}

#[test]
fn fasta_size_runs_a_job_on_the_first_tier_that_holds_it() {
    let runtime = Runtime::new().unwrap();
    let router = slivka_bio_router(&runtime);
    assert_eq!(
        routed(&router, "clustalo", 5, 60),
        Ok((
            "queue:local".into(),
            json!({ "runner": "local", "sequences": "5", "average-length": "60" })
        ))
    );
    // Each limit is inclusive; past either, the next tier.
    assert_eq!(runner(&router, "clustalo", 30, 500).unwrap(), "local");
    assert_eq!(runner(&router, "clustalo", 31, 60).unwrap(), "default");
    assert_eq!(runner(&router, "clustalo", 10, 501).unwrap(), "default");
    assert_eq!(runner(&router, "clustalo", 2000, 20).unwrap(), "default");
    // Each service has its own tiers: mafft's local tier ends at 20.
    assert_eq!(runner(&router, "mafft", 20, 60).unwrap(), "local");
    assert_eq!(runner(&router, "mafft", 21, 60).unwrap(), "default");

    // Tiers are tried in order, even when a later one is smaller.
    let router = fasta_size(
        &runtime,
        &[(
            "tiers",
            r#"{"clustalo": [
                {"runner": "big", "max-sequences": 100, "max-average-length": 1000},
                {"runner": "small", "max-sequences": 5, "max-average-length": 10}
            ]}"#,
        )],
    );
    assert_eq!(runner(&router, "clustalo", 3, 5).unwrap(), "big");
}

#[test]
fn fasta_size_rounds_the_average_length_down() {
    let runtime = Runtime::new().unwrap();
    let router = slivka_bio_router(&runtime);
    // 1001 residues over two records: 500.5, read as 500.
    let input = format!(">a\n{}\n>b\n{}\n", "M".repeat(501), "M".repeat(500));
    let (stream, fields) = route_input(&router, "clustalo", input).unwrap();
    assert_eq!(stream, "queue:local");
    assert_eq!(fields["average-length"], "500");
    // A header alone is a record of length 0, as Biopython reads it.
    let input = format!(">a\n{}\n>b\n", "M".repeat(1001));
    let (stream, fields) = route_input(&router, "clustalo", input).unwrap();
    assert_eq!(stream, "queue:local");
    assert_eq!(
        fields,
        json!({ "runner": "local", "sequences": "2", "average-length": "500" })
    );
}

#[test]
fn fasta_size_rejects_a_job_past_the_last_tier_saying_why() {
    let runtime = Runtime::new().unwrap();
    let router = slivka_bio_router(&runtime);
    assert_eq!(
        routed(&router, "clustalo", 2001, 20),
        Err(
            "no runner of `clustalo` takes 2001 sequences of average length 20; its last runner, \
             `default`, takes at most 2000 sequences of average length at most 1000"
                .into()
        )
    );
    assert!(
        routed(&router, "mafft", 5, 1001)
            .unwrap_err()
            .starts_with("no runner of `mafft` takes 5 sequences of average length 1001;")
    );
}

#[test]
fn fasta_size_runs_a_service_without_tiers_on_default() {
    let runtime = Runtime::new().unwrap();
    let router = slivka_bio_router(&runtime);
    // slivka's default selector: a size past every tier of clustalo's runs,
    // and the input is not even read.
    assert_eq!(
        routed(&router, "jpred", 2500, 4),
        Ok(("queue:default".into(), json!({ "runner": "default" })))
    );
    assert_eq!(
        route_input(&router, "jpred", "not FASTA".into()),
        Ok(("queue:default".into(), json!({ "runner": "default" })))
    );
    // With no config at all, every job runs on `default`, the stream of
    // that name.
    let router = fasta_size(&runtime, &[]);
    assert_eq!(routed(&router, "clustalo", 2500, 4).unwrap().0, "default");
}

#[test]
fn fasta_size_names_the_target_by_its_pattern() {
    let runtime = Runtime::new().unwrap();
    let tiers = slivka_tiers();
    let router = fasta_size(
        &runtime,
        &[
            ("tiers", &tiers),
            ("target-pattern", "jobs:{service}:{runner}"),
        ],
    );
    assert_eq!(
        routed(&router, "mafft", 2, 10).unwrap().0,
        "jobs:mafft:local"
    );
    assert_eq!(
        routed(&router, "clustalo", 100, 10).unwrap().0,
        "jobs:clustalo:default"
    );
    assert_eq!(
        routed(&router, "jpred", 1, 10).unwrap().0,
        "jobs:jpred:default"
    );
    // The targets it names pass an allowed list that names them.
    let allowed = ["jobs:mafft:local".to_string()];
    let job = slivka_job("mafft", json!({ "input": fasta(2, 10) }));
    assert!(matches!(
        router.route(&job, "test-job", Some(&allowed)),
        Ok(Decision::Dispatch(_))
    ));
}

#[test]
fn fasta_size_rejects_jobs_it_cannot_count() {
    let runtime = Runtime::new().unwrap();
    let router = slivka_bio_router(&runtime);
    for payload in [
        "not json",
        r#"{"inputs": {}}"#,
        r#"{"inputs": {"input": "MKV"}}"#,
    ] {
        let decision = router
            .route(
                &job(&[("service", "clustalo"), ("payload", payload)]),
                "test-job",
                None,
            )
            .unwrap();
        assert!(
            matches!(decision, Decision::Reject(_)),
            "{payload}: {decision:?}"
        );
    }
    let no_service = job(&[("payload", r#"{"inputs": {"input": ">a\nMKV"}}"#)]);
    assert!(matches!(
        router.route(&no_service, "test-job", None).unwrap(),
        Decision::Reject(_)
    ));
}

#[test]
fn fasta_size_refuses_a_bad_config_at_load_naming_the_key() {
    let runtime = Runtime::new().unwrap();
    let refused = |config: &[(&str, &str)]| -> (Option<String>, String) {
        match try_fasta_size(&runtime, config) {
            Err(LoadError::Refused { key, message, .. }) => (key, message),
            Err(other) => panic!("{config:?}: refused, but not by its prepare: {other}"),
            Ok(_) => panic!("{config:?}: loaded"),
        }
    };
    let (key, message) = refused(&[(
        "tiers",
        r#"{"clustalo": [{"runner": "local", "max-sequences": -1, "max-average-length": 500}]}"#,
    )]);
    assert_eq!(key.as_deref(), Some("tiers"));
    assert!(message.contains("`clustalo[1]`.max-sequences"), "{message}");
    let (key, _) = refused(&[("tiers", r#"{"clustalo": []}"#)]);
    assert_eq!(key.as_deref(), Some("tiers"));
    let (key, _) = refused(&[("target-pattern", "")]);
    assert_eq!(key.as_deref(), Some("target-pattern"));
    // A key it does not read, and the old ones, are named too.
    let (key, _) = refused(&[("max-sequences", "30")]);
    assert_eq!(key.as_deref(), Some("max-sequences"));
    let (key, message) = refused(&[("local-max-sequences", "30")]);
    assert_eq!(key.as_deref(), Some("local-max-sequences"));
    assert!(message.contains("tiers"), "{message}");
    // The service files `[slivka]` hands every plugin are passed over.
    assert!(try_fasta_size(&runtime, &[("service.clustalo", "parameters: {}")]).is_ok());
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
    assert_eq!(
        names.len(),
        expected.as_object().unwrap().len(),
        "expected.json lists a file that is not in jobs/"
    );
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
    let form = SlivkaForm::examples();
    let tiers = slivka_tiers();
    let router = fasta_size(
        &form.runtime,
        &[("tiers", &tiers), ("target-pattern", "queue:{runner}")],
    );
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
    let services = repo_root().join("examples/slivka/services");
    let jobs = repo_root().join("examples/slivka/jobs");
    let service = |id: &str| format!("service.{id}=@{}/{id}.service.yaml", services.display());
    let tiers = format!("tiers={}", slivka_tiers());
    let validator = plugin_path("slivka-form");
    let router = plugin_path("fasta-size");
    let size = |job: &std::path::Path| {
        run_try(&[
            "--config",
            &tiers,
            "--config",
            "target-pattern=queue:{runner}",
            "--allow",
            "queue:local",
            "--allow",
            "queue:default",
            router.to_str().unwrap(),
            job.to_str().unwrap(),
        ])
    };

    // Valid: slivka-form says so, fasta-size picks the cluster.
    let job = jobs.join("clustalo-valid-100.json");
    let (code, out, stderr) = run_try(&[
        "--config",
        &service("clustalo"),
        validator.to_str().unwrap(),
        job.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["validate"], json!({ "valid": true }), "{out}");
    let (code, out, stderr) = size(&job);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        out["route"]["dispatch"][0]["stream"], "queue:default",
        "{out}"
    );
    assert_eq!(
        out["route"]["dispatch"][0]["extra-fields"],
        json!({ "runner": "default", "sequences": "100", "average-length": "69" })
    );

    // Invalid: exit 0 (the plugin answered), with the errors as JSON.
    let job = jobs.join("mafft-gap-open-negative.json");
    let (code, out, stderr) = run_try(&[
        "--config",
        &service("mafft"),
        validator.to_str().unwrap(),
        job.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        out["validate"],
        json!({ "valid": false, "errors": [{
            "field": "gap-open-penalty",
            "code": "min_value",
            "message": "must be at least 0, got -0.5"
        }]})
    );

    // Too many sequences: fasta-size rejects.
    let job = jobs.join("clustalo-too-many.json");
    let (code, out, _) = size(&job);
    assert_eq!(code, 0);
    let expected: Value = serde_json::from_str(&slivka_example("expected.json")).unwrap();
    assert_eq!(out["route"], expected["clustalo-too-many.json"]["route"]);
}

// ---- contract versions: 0.2.0 sends the payload once, 0.1.0 still loads ----

/// Decides entries of `fields` (each with `service = "contract"`, a job id
/// and payload `{}` first) through the pipeline, on a route whose validator
/// and router are `validator` and `router`; for each, the stream its first
/// write went to and that write's fields.
fn decide_through(
    validator: &str,
    router: &str,
    jobs: &[&[(&str, &str)]],
) -> Vec<(String, std::collections::HashMap<String, String>)> {
    let dir = tempfile::tempdir().unwrap();
    let route = format!(
        r#"
[[routes]]
name = "contract"
source = "jobs"
match = {{ service = "contract" }}
validators = ["{validator}"]
router = "{router}"
targets = ["queue:local"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#
    );
    // No daemon runs: the URL is never dialled.
    let config =
        crate::harness::daemon::slivka_config(dir.path(), "redis://127.0.0.1:1", "", &route);
    let settings = Settings::load(&config, None, Some("contract".into())).unwrap();
    let runtime = Runtime::new().unwrap();
    let snapshot = Snapshot::build(&runtime, &settings, None).unwrap();
    let mut deciding = Deciding::new(&snapshot, &settings.consumer);
    jobs.iter()
        .enumerate()
        .map(|(n, extra)| {
            let mut fields = vec![
                ("service".to_owned(), b"contract".to_vec()),
                ("job-id".to_owned(), format!("job-{n}").into_bytes()),
                ("payload".to_owned(), b"{}".to_vec()),
            ];
            fields.extend(
                extra
                    .iter()
                    .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec())),
            );
            let entry = Entry {
                stream: "jobs".to_owned(),
                id: EntryId::parse(&format!("1700000000000-{n}")).unwrap(),
                fields: switchyard::pipeline::job::fields_of(fields),
                deliveries: 1,
            };
            let settlement = deciding.decide(entry);
            let write = &settlement.writes()[0];
            let fields = write
                .fields
                .iter()
                .map(|(name, value)| {
                    (
                        name[..].to_owned(),
                        String::from_utf8_lossy(&value[..]).into_owned(),
                    )
                })
                .collect();
            (write.stream.clone(), fields)
        })
        .collect()
}

#[test]
fn a_plugin_of_contract_0_2_gets_the_payload_once_not_among_the_fields() {
    let runtime = Runtime::new().unwrap();
    let counter = Plugin::load(
        &runtime,
        "fixture-counter",
        &plugin_path("fixture-counter"),
        PluginSettings::default(),
    )
    .unwrap();
    assert_eq!(counter.contract(), Contract::V0_2);

    let decided = decide_through(
        "fixture-counter",
        "fixture-counter",
        &[&[("report-fields", "yes")]],
    );
    let (stream, fields) = &decided[0];
    assert_eq!(stream, "queue:local", "{fields:?}");
    assert_eq!(fields["fields"], "service,job-id,report-fields");
    // The outcome entry still carries the job's payload, once.
    assert_eq!(fields["payload"], "{}");
}

#[test]
fn a_plugin_built_against_contract_0_1_still_loads_validates_and_routes() {
    let runtime = Runtime::new().unwrap();
    let old = Plugin::load(
        &runtime,
        "fixture-contract-0-1",
        &plugin_path("fixture-contract-0-1"),
        PluginSettings::default(),
    )
    .unwrap_or_else(|e| panic!("a 0.1.0 plugin does not load: {e}"));
    assert_eq!(old.contract(), Contract::V0_1);
    assert!(old.is_prepared(), "its 0.1.0 prepare ran at load");
    assert_eq!(old.worlds().names(), ["validator", "router", "plugin"]);

    let decided = decide_through(
        "fixture-contract-0-1",
        "fixture-contract-0-1",
        &[&[], &[("refuse", "refused as asked")]],
    );
    // It validated (it saw `payload` among the fields, as 0.1.0 promises)
    // and routed.
    let (stream, fields) = &decided[0];
    assert_eq!(stream, "queue:local", "{fields:?}");
    assert_eq!(fields["contract"], "0.1.0");
    assert_eq!(fields["fields"], "3", "service, job-id and payload");
    assert_eq!(fields["payload-bytes"], "2");
    // Its field errors come back as the current contract's.
    let (stream, fields) = &decided[1];
    assert_eq!(stream, "jobs:rejected", "{fields:?}");
    assert!(
        fields["switchyard-errors"].contains(r#""code":"condition""#)
            && fields["switchyard-errors"].contains("refused as asked"),
        "{fields:?}"
    );
}
