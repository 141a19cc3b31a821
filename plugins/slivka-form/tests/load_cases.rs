//! slivka-form loads a service file exactly when slivka 0.8.5b7 does.
//!
//! `tests/load_cases.json` holds service files (each rule of the schema and
//! of every field class, YAML scalars, defaults, choices) with slivka's own
//! verdict, written by `tests/python/load_cases.py` running slivka's loader.
//! Cases a listed difference covers name it and are skipped.

use serde_json::Value;

#[test]
fn every_case_loads_exactly_when_slivka_loads_it() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/load_cases.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(cases.len() > 500, "{} cases", cases.len());
    let mut disagreements = Vec::new();
    let mut compared = 0;
    for case in &cases {
        if !case["difference"].is_null() {
            continue;
        }
        compared += 1;
        let text = case["text"].as_str().unwrap();
        let slivka = &case["slivka"];
        let ours = slivka_form::service::load(text);
        if ours.is_ok() != (slivka == &Value::Bool(true)) {
            disagreements.push(format!(
                "{}: slivka {slivka}, switchyard {:?}",
                case["note"],
                ours.as_ref().map(|_| "loads").map_err(ToString::to_string)
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {compared} cases disagree:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
