//! switchyard against slivka itself: the differential test of issue 12.
//!
//! `tests/slivka/corpus.py` generates submissions covering every parameter
//! type, boundary and input class of the example services
//! (`examples/slivka/services/`) and of test-only ones
//! (`tests/slivka/services-extra/`), plus slivka's own form test inputs and
//! FASTA files around every size tier. `tests/slivka/oracle.py` asks slivka
//! 0.8.5b7 (its own loaders, forms and `BaseSelector`, in the venv the
//! harness makes) for its verdict on each. The real `slivka-form` and
//! `fasta-size` components, configured with the same service files and
//! tiers, judge the same cases here.
//!
//! Every disagreement must be one of the listed differences ([`DIFFERENCES`],
//! each with an id that README.md's "Differences from slivka" section
//! explains); any other fails the test. The agreement table (per parameter
//! type, and for the runner rule) is printed and written to
//! `target/slivka-diff/agreement.txt`, every disagreement to
//! `target/slivka-diff/differences.jsonl`.
//!
//! Run it alone with `cargo test -p switchyard --test integration slivka::
//! -- --nocapture` (after `make plugins`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use switchyard::plugin::{Decision, Plugin, PluginSettings, Runtime};

use crate::harness::{plugin_path, repo_root, slivka_job, venv};

/// Where a service's runner target goes: `{service}:{runner}`, so the
/// runner is read back from the stream name.
const TARGET_PATTERN: &str = "{service}:{runner}";

/// One submission of the corpus.
#[derive(Debug)]
struct Case {
    /// `cNNNNN`, the corpus's order.
    id: String,
    /// The service (file name without `.service.yaml`).
    service: String,
    /// The payload's `inputs`.
    inputs: Value,
    /// The kind of value (a boundary, a spelling, a FASTA oddity, ...).
    class: String,
    /// What the table groups by: a parameter type, `condition`,
    /// `unknown-parameter`, `slivka-test`, `base` or `runner`.
    kind: String,
    /// The parameter under test, if one.
    field: Option<String>,
    /// The service's file parameters with a media type, and that type.
    media_types: BTreeMap<String, String>,
    /// The service's parameters with a `min` or a `max`.
    bounded: Vec<String>,
}

/// slivka's answer to a case.
#[derive(Debug, Clone, PartialEq)]
enum Slivka {
    /// The form's errors as field → code; empty when the job is valid.
    Verdict(BTreeMap<String, String>),
    /// The runner its selector chose; `None` when it rejected the job.
    Runner(Option<String>),
    /// slivka raised (its server answers HTTP 500): the error and where
    /// (`unknown-parameter`, `condition`, `other`).
    Raised { error: String, raised: String },
}

/// switchyard's answer to a case.
#[derive(Debug, Clone, PartialEq)]
enum Ours {
    /// slivka-form's errors as field → code; empty when the job is valid.
    Verdict(BTreeMap<String, String>),
    /// fasta-size's runner, or its reject reason.
    Runner(Result<String, String>),
    /// The plugin failed instead of answering (a fault).
    Fault(String),
}

/// A difference from slivka that switchyard makes on purpose. README.md
/// lists each by its id under "Differences from slivka"; [`explain`] says
/// which of them a disagreement is.
struct Difference {
    /// `D1`, `D2`, ...: the README's id.
    id: &'static str,
    /// One line for the report.
    what: &'static str,
}

/// Every listed difference.
const DIFFERENCES: &[Difference] = &[
    Difference {
        id: "D1",
        what: "an input the service does not declare: slivka raises (HTTP 500), switchyard answers invalid on that input",
    },
    Difference {
        id: "D2",
        what: "a condition that raises in Python (an absent value, division by zero, # of a number): slivka raises (HTTP 500), switchyard answers `condition`",
    },
    Difference {
        id: "D3",
        what: "NaN for a number with min or max: slivka accepts it (every comparison with NaN is false), switchyard refuses it (invalid, or min_value/max_value)",
    },
    Difference {
        id: "D4",
        what: "custom field types (a Python class path) and `!include`: slivka loads them, switchyard refuses the service file at load",
    },
    Difference {
        id: "D5",
        what: "clustal, genbank, embl and stockholm media types: slivka parses the file with Biopython, switchyard does not check them",
    },
];

/// Media types slivka checks with Biopython parsers other than FASTA's
/// (with `application/`, `application/x-` or `text/` before them).
const UNCHECKED_FORMATS: [&str; 5] = ["clustal", "genbank", "embl", "stockholm", "pfam"];

/// Which listed differences explain a disagreement between `slivka` and
/// `ours` on `case`; `None` when none does (the test fails).
fn explain(case: &Case, slivka: &Slivka, ours: &Ours) -> Option<Vec<&'static str>> {
    match (slivka, ours) {
        (Slivka::Raised { raised, .. }, Ours::Verdict(ours)) if raised == "unknown-parameter" => {
            let field = case.field.as_deref()?;
            ours.contains_key(field).then(|| vec!["D1"])
        }
        (Slivka::Raised { raised, .. }, Ours::Verdict(ours)) if raised == "condition" => {
            (!ours.is_empty() && ours.values().all(|code| code == "condition")).then(|| vec!["D2"])
        }
        (Slivka::Verdict(theirs), Ours::Fault(_)) if case.kind == "load" && theirs.is_empty() => {
            Some(vec!["D4"])
        }
        (Slivka::Verdict(theirs), Ours::Verdict(ours)) => explain_fields(case, theirs, ours),
        _ => None,
    }
}

/// Explains two verdicts field by field: each field whose code differs
/// must be a listed difference. A field-level difference also changes
/// whether conditions run at all (they run only when every field passed),
/// so a `condition` error on one side only is explained by it too.
fn explain_fields(
    case: &Case,
    theirs: &BTreeMap<String, String>,
    ours: &BTreeMap<String, String>,
) -> Option<Vec<&'static str>> {
    let mut fields: Vec<&String> = theirs.keys().chain(ours.keys()).collect();
    fields.sort();
    fields.dedup();
    let mut ids: Vec<&'static str> = Vec::new();
    let mut knock_on = false;
    for field in fields {
        let (a, b) = (
            theirs.get(field).map(String::as_str),
            ours.get(field).map(String::as_str),
        );
        if a == b {
            continue;
        }
        let id = if case.kind == "unknown-parameter"
            && case.field.as_ref() == Some(field)
            && a.is_none()
        {
            // A null for an undeclared name sends slivka nothing; switchyard
            // still names the input it does not know.
            "D1"
        } else if matches!(b, Some("invalid" | "min_value" | "max_value"))
            && matches!(a, None | Some("condition"))
            && case.bounded.contains(field)
            && input_is_nan(case, field)
        {
            "D3"
        } else if a == Some("media_type")
            && matches!(b, None | Some("condition"))
            && case.media_types.get(field).is_some_and(|media| {
                let format = media.rsplit(['/', '-']).next().unwrap_or_default();
                UNCHECKED_FORMATS.contains(&format)
            })
        {
            "D5"
        } else if matches!(
            (a, b),
            (Some("condition"), None) | (None, Some("condition"))
        ) {
            knock_on = true;
            continue;
        } else {
            return None;
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let field_level = ids.iter().any(|id| ["D3", "D5"].contains(id));
    if knock_on && !field_level {
        return None;
    }
    (!ids.is_empty()).then_some(ids)
}

/// Whether the case's input for `field` is (or holds) text Python's
/// `float()` reads as NaN.
fn input_is_nan(case: &Case, field: &str) -> bool {
    let is_nan = |v: &Value| {
        v.as_str().is_some_and(|s| {
            let s = s.trim().to_ascii_lowercase();
            s.trim_start_matches(['+', '-']) == "nan"
        })
    };
    match case.inputs.get(field) {
        Some(Value::Array(items)) => items.iter().any(is_nan),
        Some(value) => is_nan(value),
        None => false,
    }
}

/// `examples/slivka/services`.
fn example_services() -> PathBuf {
    repo_root().join("examples/slivka/services")
}

/// `tests/slivka/NAME`.
fn slivka_dir(name: &str) -> PathBuf {
    repo_root().join("tests/slivka").join(name)
}

/// Runs `script` (under `tests/slivka/`) with the venv's Python and `args`,
/// feeding it `stdin`; its standard output. Panics with its stderr when it
/// fails.
fn python(script: &str, args: &[&str], stdin: Option<&Path>) -> String {
    let mut command = Command::new(venv::python());
    command
        .arg(slivka_dir(script))
        .args(args)
        .current_dir(repo_root())
        // slivka's JSON check reads text in the locale's encoding; pin it.
        .env("PYTHONUTF8", "1")
        .env("PYTHONHASHSEED", "0")
        .stdin(match stdin {
            Some(path) => Stdio::from(std::fs::File::open(path).unwrap()),
            None => Stdio::null(),
        });
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
    assert!(
        output.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the scripts print ASCII JSON")
}

/// The service files of `dir` as (id, text), in name order.
fn service_files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_string();
            let id = name
                .strip_suffix(".service.yaml")
                .or_else(|| name.strip_suffix(".service.yml"))?
                .to_string();
            Some((id, std::fs::read_to_string(&path).unwrap()))
        })
        .collect();
    files.sort();
    files
}

/// Settings for a plugin with `config`; a deadline generous enough for the
/// corpus's largest FASTA files on a loaded machine (this test is about
/// verdicts, not limits).
fn settings(config: BTreeMap<String, String>) -> PluginSettings {
    let mut settings = PluginSettings {
        config,
        ..Default::default()
    };
    settings.limits.deadline = Duration::from_secs(5);
    settings
}

/// slivka-form configured with `service.<id>` = each file's text.
fn slivka_form(runtime: &Runtime, services: &[(String, String)]) -> Result<Plugin, String> {
    let config = services
        .iter()
        .map(|(id, text)| (format!("service.{id}"), text.clone()))
        .collect();
    Plugin::load(
        runtime,
        "slivka-form",
        &plugin_path("slivka-form"),
        settings(config),
    )
    .map_err(|e| format!("{e:#}"))
}

/// fasta-size configured with the corpus's tiers and [`TARGET_PATTERN`].
fn fasta_size(runtime: &Runtime) -> Plugin {
    let tiers = std::fs::read_to_string(slivka_dir("tiers.json")).unwrap();
    let config = BTreeMap::from([
        ("tiers".to_string(), tiers),
        ("target-pattern".to_string(), TARGET_PATTERN.to_string()),
    ]);
    Plugin::load(
        runtime,
        "fasta-size",
        &plugin_path("fasta-size"),
        settings(config),
    )
    .unwrap_or_else(|e| panic!("fasta-size does not load with the pinned config: {e:#}"))
}

/// The corpus and slivka's answers, in order.
fn corpus_and_answers(dir: &Path) -> Vec<(Case, Slivka)> {
    let examples = example_services();
    let extra = slivka_dir("services-extra");
    let tiers = slivka_dir("tiers.json");
    let services = [
        "--services",
        examples.to_str().unwrap(),
        "--services",
        extra.to_str().unwrap(),
        "--tiers",
        tiers.to_str().unwrap(),
    ];
    let cases_path = dir.join("cases.jsonl");
    std::fs::write(&cases_path, python("corpus.py", &services, None)).unwrap();
    let answers = python("oracle.py", &services, Some(&cases_path));
    let cases = std::fs::read_to_string(&cases_path).unwrap();
    let cases: Vec<Value> = cases
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let answers: Vec<Value> = answers
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(cases.len(), answers.len(), "the oracle answered every case");
    cases
        .into_iter()
        .zip(answers)
        .map(|(case, answer)| {
            assert_eq!(case["id"], answer["id"]);
            (parse_case(&case), parse_answer(&answer))
        })
        .collect()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

fn parse_case(case: &Value) -> Case {
    Case {
        id: text(&case["id"]),
        service: text(&case["service"]),
        inputs: case["inputs"].clone(),
        class: text(&case["class"]),
        kind: text(&case["type"]),
        field: case["field"].as_str().map(str::to_string),
        media_types: codes(&case["media_types"]),
        bounded: case["bounded"]
            .as_array()
            .map(|names| names.iter().map(text).collect())
            .unwrap_or_default(),
    }
}

fn parse_answer(answer: &Value) -> Slivka {
    if let Some(error) = answer.get("error") {
        return Slivka::Raised {
            error: text(error),
            raised: text(&answer["raised"]),
        };
    }
    if let Some(runner) = answer.get("runner") {
        return Slivka::Runner(runner.as_str().map(str::to_string));
    }
    Slivka::Verdict(codes(&answer["errors"]))
}

/// A `{field: code}` object as a map.
fn codes(errors: &Value) -> BTreeMap<String, String> {
    errors
        .as_object()
        .map(|map| map.iter().map(|(f, c)| (f.clone(), text(c))).collect())
        .unwrap_or_default()
}

/// slivka-form's verdict on `case`.
fn validate(form: &Plugin, case: &Case) -> Ours {
    let job = slivka_job(&case.service, case.inputs.clone());
    match form.validate(&job, &case.id) {
        Ok(Ok(())) => Ours::Verdict(BTreeMap::new()),
        Ok(Err(errors)) => Ours::Verdict(
            errors
                .into_iter()
                .map(|e| (e.field, e.code.as_str().replace('-', "_")))
                .collect(),
        ),
        Err(e) => Ours::Fault(format!("{e:#}")),
    }
}

/// fasta-size's runner for `case`.
fn route(router: &Plugin, case: &Case) -> Ours {
    let job = slivka_job(&case.service, case.inputs.clone());
    match router.route(&job, &case.id, None) {
        Ok(Decision::Dispatch(targets)) => {
            let prefix = format!("{}:", case.service);
            let runners: Vec<String> = targets
                .iter()
                .map(|t| {
                    t.stream
                        .strip_prefix(&prefix)
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("(stream {})", t.stream))
                })
                .collect();
            Ours::Runner(Ok(runners.join(",")))
        }
        Ok(Decision::Reject(reason)) => Ours::Runner(Err(reason)),
        Err(e) => Ours::Fault(format!("{e:#}")),
    }
}

/// Whether the two answers are the same verdict.
fn agree(slivka: &Slivka, ours: &Ours) -> bool {
    match (slivka, ours) {
        (Slivka::Verdict(a), Ours::Verdict(b)) => a == b,
        (Slivka::Runner(Some(a)), Ours::Runner(Ok(b))) => a == b,
        (Slivka::Runner(None), Ours::Runner(Err(_))) => true,
        _ => false,
    }
}

/// One row of the agreement table.
#[derive(Default)]
struct Row {
    cases: usize,
    agree: usize,
    listed: BTreeMap<&'static str, usize>,
    unlisted: usize,
}

/// The load-time cases: slivka loads each file of `tests/slivka/load-only`
/// (checked by the oracle); does slivka-form?
fn load_cases(runtime: &Runtime) -> Vec<(Case, Slivka, Ours)> {
    let dir = slivka_dir("load-only");
    let report: Value = serde_json::from_str(&python(
        "oracle.py",
        &["--check-services", dir.to_str().unwrap()],
        None,
    ))
    .unwrap();
    service_files(&dir)
        .into_iter()
        .map(|(id, file)| {
            let slivka = if report.get(&id).is_some() {
                Slivka::Verdict(BTreeMap::new())
            } else {
                Slivka::Raised {
                    error: "slivka does not load it".into(),
                    raised: "other".into(),
                }
            };
            let ours = match slivka_form(runtime, &[(id.clone(), file)]) {
                Err(e) => Ours::Fault(format!("refused at load: {e}")),
                Ok(form) => {
                    // Until prepare can fail, a refused file shows on its
                    // first job.
                    let case = Case {
                        id: format!("load-{id}"),
                        service: id.clone(),
                        inputs: serde_json::json!({ "count": "3" }),
                        class: "load".into(),
                        kind: "load".into(),
                        field: None,
                        media_types: BTreeMap::new(),
                        bounded: Vec::new(),
                    };
                    match validate(&form, &case) {
                        Ours::Verdict(errors) if errors.is_empty() => {
                            Ours::Verdict(BTreeMap::new())
                        }
                        other => Ours::Fault(format!("refused at its first job: {other:?}")),
                    }
                }
            };
            let case = Case {
                id: format!("load-{id}"),
                service: id.clone(),
                inputs: Value::Null,
                class: id,
                kind: "load".into(),
                field: None,
                media_types: BTreeMap::new(),
                bounded: Vec::new(),
            };
            (case, slivka, ours)
        })
        .collect()
}

/// The ids listed under `## Differences from slivka` in README.md.
fn readme_difference_section() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme
        .find("## Differences from slivka")
        .expect("README.md has a `## Differences from slivka` section");
    let rest = &readme[start + 2..];
    let end = rest.find("\n## ").map_or(rest.len(), |i| i + 1);
    rest[..end].to_string()
}

#[test]
fn readme_lists_every_difference() {
    let section = readme_difference_section();
    for difference in DIFFERENCES {
        let listed = section.match_indices(difference.id).any(|(i, _)| {
            !section[i + difference.id.len()..].starts_with(|c: char| c.is_ascii_digit())
        });
        assert!(
            listed,
            "README.md's Differences from slivka section does not list {} ({})",
            difference.id, difference.what
        );
    }
}

#[test]
fn example_services_load_in_slivka_and_slivka_form() {
    let dir = example_services();
    let report: Value = serde_json::from_str(&python(
        "oracle.py",
        &["--check-services", dir.to_str().unwrap()],
        None,
    ))
    .unwrap();
    for service in ["clustalo", "mafft", "jpred"] {
        let runners = &report[service]["runners"];
        assert_eq!(runners["local"], "SlivkaQueueRunner", "{service}: {report}");
        assert_eq!(runners["default"], "SlurmRunner", "{service}: {report}");
    }
    let runtime = Runtime::new().unwrap();
    slivka_form(&runtime, &service_files(&dir))
        .unwrap_or_else(|e| panic!("slivka-form does not load the example services: {e}"));
}

#[test]
fn switchyard_gives_slivkas_verdicts() {
    let work = tempfile::tempdir().unwrap();
    let answered = corpus_and_answers(work.path());
    let runtime = Runtime::new().unwrap();
    let mut services = service_files(&example_services());
    services.extend(service_files(&slivka_dir("services-extra")));
    let form = slivka_form(&runtime, &services)
        .unwrap_or_else(|e| panic!("slivka-form does not load the services: {e}"));
    let router = fasta_size(&runtime);

    let mut results: Vec<(Case, Slivka, Ours)> = answered
        .into_iter()
        .map(|(case, slivka)| {
            let ours = if case.kind == "runner" {
                route(&router, &case)
            } else {
                validate(&form, &case)
            };
            (case, slivka, ours)
        })
        .collect();
    results.extend(load_cases(&runtime));

    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let mut total = Row::default();
    let mut log = String::new();
    let mut unlisted = Vec::new();
    for (case, slivka, ours) in &results {
        let row_name = if case.kind == "runner" {
            format!("runner ({})", case.service)
        } else {
            case.kind.clone()
        };
        let row = rows.entry(row_name).or_default();
        row.cases += 1;
        total.cases += 1;
        if agree(slivka, ours) {
            row.agree += 1;
            total.agree += 1;
            continue;
        }
        let listed = explain(case, slivka, ours);
        match &listed {
            Some(ids) => {
                for id in ids {
                    *row.listed.entry(id).or_default() += 1;
                    *total.listed.entry(id).or_default() += 1;
                }
            }
            None => {
                row.unlisted += 1;
                total.unlisted += 1;
                unlisted.push((case, slivka, ours));
            }
        }
        let record = serde_json::json!({
            "id": case.id, "service": case.service, "type": case.kind, "class": case.class,
            "field": case.field, "inputs": case.inputs, "listed": listed,
            "slivka": format!("{slivka:?}"), "switchyard": format!("{ours:?}"),
        });
        writeln!(log, "{record}").unwrap();
    }

    let mut table = String::new();
    writeln!(
        table,
        "{:<26} {:>6} {:>6} {:>8}  {:<24} {:>8}",
        "parameter type / rule", "cases", "agree", "agree %", "listed differences", "unlisted"
    )
    .unwrap();
    let line = |name: &str, row: &Row| {
        let listed: Vec<String> = row
            .listed
            .iter()
            .map(|(id, n)| format!("{id}: {n}"))
            .collect();
        format!(
            "{:<26} {:>6} {:>6} {:>7.1}%  {:<24} {:>8}\n",
            name,
            row.cases,
            row.agree,
            100.0 * row.agree as f64 / row.cases.max(1) as f64,
            if listed.is_empty() {
                "-".to_string()
            } else {
                listed.join(", ")
            },
            row.unlisted
        )
    };
    for (name, row) in &rows {
        table.push_str(&line(name, row));
    }
    table.push_str(&line("all", &total));
    for difference in DIFFERENCES {
        writeln!(table, "{}: {}", difference.id, difference.what).unwrap();
    }
    let out = repo_root().join("target/slivka-diff");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("agreement.txt"), &table).unwrap();
    std::fs::write(out.join("differences.jsonl"), &log).unwrap();
    println!("switchyard against slivka 0.8.5b7:\n{table}");

    let mut report = String::new();
    for (case, slivka, ours) in unlisted.iter().take(40) {
        writeln!(
            report,
            "{} {} [{} / {}] field {:?}\n  inputs: {}\n  slivka: {slivka:?}\n  switchyard: {ours:?}",
            case.id,
            case.service,
            case.kind,
            case.class,
            case.field,
            shorten(&case.inputs.to_string()),
        )
        .unwrap();
    }
    assert!(
        unlisted.is_empty(),
        "{} of {} cases differ from slivka in a way README.md does not list \
         (all of them in target/slivka-diff/differences.jsonl); the first:\n{report}",
        unlisted.len(),
        total.cases
    );
}

/// `text` cut to a readable length.
fn shorten(text: &str) -> String {
    if text.chars().count() <= 300 {
        return text.to_string();
    }
    let head: String = text.chars().take(300).collect();
    format!("{head}... ({} characters)", text.chars().count())
}

/// A case for the classifier's own tests.
fn synthetic(kind: &str, field: &str, inputs: Value) -> Case {
    Case {
        id: "synthetic".into(),
        service: "alltypes".into(),
        inputs,
        class: "synthetic".into(),
        kind: kind.into(),
        field: Some(field.into()),
        media_types: BTreeMap::from([("aln".to_string(), "application/clustal".to_string())]),
        bounded: vec!["x".to_string()],
    }
}

fn verdict(errors: &[(&str, &str)]) -> BTreeMap<String, String> {
    errors
        .iter()
        .map(|(f, c)| (f.to_string(), c.to_string()))
        .collect()
}

#[test]
fn only_listed_differences_are_explained() {
    let nan = synthetic("float", "x", serde_json::json!({ "x": " NaN " }));
    let slivka = Slivka::Verdict(verdict(&[]));
    // NaN refused on a bounded field: D3.
    let ours = Ours::Verdict(verdict(&[("x", "invalid")]));
    assert_eq!(explain(&nan, &slivka, &ours), Some(vec!["D3"]));
    // ... but not on another field, nor with another code.
    let ours = Ours::Verdict(verdict(&[("y", "invalid")]));
    assert_eq!(explain(&nan, &slivka, &ours), None);
    let ours = Ours::Verdict(verdict(&[("x", "required")]));
    assert_eq!(explain(&nan, &slivka, &ours), None);
    // A number that is not NaN refused where slivka accepts: unlisted.
    let five = synthetic("float", "x", serde_json::json!({ "x": "5" }));
    let ours = Ours::Verdict(verdict(&[("x", "max_value")]));
    assert_eq!(explain(&five, &slivka, &ours), None);
    // A clustal file slivka refuses and switchyard accepts: D5, with the
    // condition switchyard then checked.
    let aln = synthetic("file", "aln", serde_json::json!({ "aln": "x" }));
    let theirs = Slivka::Verdict(verdict(&[("aln", "media_type")]));
    let ours = Ours::Verdict(verdict(&[("other", "condition")]));
    assert_eq!(explain(&aln, &theirs, &ours), Some(vec!["D5"]));
    // A condition error on one side alone is not a difference by itself.
    let ours = Ours::Verdict(verdict(&[("other", "condition")]));
    assert_eq!(explain(&five, &slivka, &ours), None);
    // slivka raising outside a condition is never explained.
    let raised = Slivka::Raised {
        error: "http500: TypeError".into(),
        raised: "other".into(),
    };
    let ours = Ours::Verdict(verdict(&[("x", "condition")]));
    assert_eq!(explain(&five, &raised, &ours), None);
}
