//! slivka-bio's runner rule: how many sequences, how long on average.
//!
//! slivka-bio's limiters parse the FASTA input and send small jobs to the
//! local queue, larger ones to the cluster, and refuse the rest. This module
//! is that rule, without any host call, so it is tested natively.

use switchyard_plugin::{Decision, Target};

use crate::payload::{self, Input};

/// The rule's settings, read from the plugin's config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The input holding the FASTA text (`payload.inputs.<input_field>`).
    pub input_field: String,
    /// The most sequences a local job may have.
    pub local_max_sequences: usize,
    /// The longest average sequence length (rounded down) a local job may
    /// have.
    pub local_max_average_length: usize,
    /// The most sequences a job may have at all; more are rejected.
    pub cluster_max_sequences: usize,
    /// The stream for local jobs.
    pub local_target: String,
    /// The stream for cluster jobs.
    pub cluster_target: String,
}

/// slivka-bio's limits for alignment services, and switchyard's example
/// streams.
impl Default for Settings {
    fn default() -> Self {
        Settings {
            input_field: "input".to_string(),
            local_max_sequences: 30,
            local_max_average_length: 150,
            cluster_max_sequences: 1000,
            local_target: "queue:local".to_string(),
            cluster_target: "queue:cluster".to_string(),
        }
    }
}

/// Routes a job by its payload: finds the FASTA input, counts it and applies
/// [`choose`]. Anything that keeps the rule from applying is a rejection
/// with a reason.
pub fn route(payload: &[u8], settings: &Settings) -> Decision {
    let field = &settings.input_field;
    if payload.is_empty() {
        return Decision::reject("the job has no payload");
    }
    match payload::read_input(payload, field) {
        Err(error) => Decision::reject(format!("the payload is not JSON: {error}")),
        Ok(Input::Missing) => Decision::reject(format!(
            "the job has no `{field}` input to count sequences in"
        )),
        Ok(Input::NotText) => {
            Decision::reject(format!("the `{field}` input must be one FASTA text"))
        }
        Ok(Input::Read(Ok(summary))) => choose(summary, settings),
        Ok(Input::Read(Err(error))) => {
            Decision::reject(format!("the `{field}` input is not FASTA: {error}"))
        }
    }
}

/// Picks the runner for a FASTA input of this size.
pub fn choose(summary: fasta::Summary, settings: &Settings) -> Decision {
    let count = summary.sequences;
    let (runner, stream) = if count <= settings.local_max_sequences
        && summary.average_length() <= settings.local_max_average_length
    {
        ("local", &settings.local_target)
    } else if count <= settings.cluster_max_sequences {
        ("cluster", &settings.cluster_target)
    } else {
        return Decision::reject(format!(
            "{count} sequences is more than the limit of {}",
            settings.cluster_max_sequences
        ));
    };
    Decision::dispatch(
        Target::new(stream.as_str())
            .field("runner", runner)
            .field("sequences", count),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A FASTA text of `count` sequences of `length` residues each.
    fn fasta(count: usize, length: usize) -> String {
        (0..count)
            .map(|i| format!(">seq{i}\n{}\n", "M".repeat(length)))
            .collect()
    }

    fn payload(input: &str) -> Vec<u8> {
        serde_json::json!({"inputs": {"input": input}})
            .to_string()
            .into_bytes()
    }

    /// The stream and extra fields of a one-target dispatch, or the reason
    /// of a rejection.
    fn outcome(decision: Decision) -> Result<(String, Vec<(String, String)>), String> {
        match decision {
            Decision::Dispatch(mut targets) => {
                assert_eq!(targets.len(), 1);
                let target = targets.remove(0);
                assert_eq!(target.payload, None);
                Ok((target.stream, target.extra_fields))
            }
            Decision::Reject(reason) => Err(reason),
        }
    }

    fn routed(count: usize, length: usize) -> Result<(String, Vec<(String, String)>), String> {
        outcome(route(&payload(&fasta(count, length)), &Settings::default()))
    }

    fn fields(runner: &str, count: usize) -> Vec<(String, String)> {
        vec![
            ("runner".to_string(), runner.to_string()),
            ("sequences".to_string(), count.to_string()),
        ]
    }

    #[test]
    fn small_jobs_run_locally() {
        assert_eq!(
            routed(1, 10),
            Ok(("queue:local".into(), fields("local", 1)))
        );
        assert_eq!(
            routed(30, 150),
            Ok(("queue:local".into(), fields("local", 30)))
        );
    }

    #[test]
    fn many_or_long_sequences_go_to_the_cluster() {
        assert_eq!(
            routed(31, 10),
            Ok(("queue:cluster".into(), fields("cluster", 31)))
        );
        assert_eq!(
            routed(2, 151),
            Ok(("queue:cluster".into(), fields("cluster", 2)))
        );
        assert_eq!(
            routed(1000, 50),
            Ok(("queue:cluster".into(), fields("cluster", 1000)))
        );
    }

    #[test]
    fn too_many_sequences_are_rejected() {
        assert_eq!(
            routed(1001, 5),
            Err("1001 sequences is more than the limit of 1000".into())
        );
    }

    #[test]
    fn average_length_is_rounded_down() {
        // 151 + 150 = 301 residues over 2 sequences: 150 on average.
        let text = format!(">a\n{}\n>b\n{}\n", "M".repeat(151), "M".repeat(150));
        assert_eq!(
            outcome(route(&payload(&text), &Settings::default())),
            Ok(("queue:local".into(), fields("local", 2)))
        );
    }

    #[test]
    fn settings_change_limits_targets_and_input() {
        let settings = Settings {
            input_field: "sequences".into(),
            local_max_sequences: 2,
            local_max_average_length: 1000,
            cluster_max_sequences: 3,
            local_target: "jobs:mafft:local".into(),
            cluster_target: "jobs:mafft:slurm".into(),
        };
        let payload = |count| {
            serde_json::json!({"inputs": {"sequences": fasta(count, 5)}})
                .to_string()
                .into_bytes()
        };
        assert_eq!(
            outcome(route(&payload(2), &settings)),
            Ok(("jobs:mafft:local".into(), fields("local", 2)))
        );
        assert_eq!(
            outcome(route(&payload(3), &settings)),
            Ok(("jobs:mafft:slurm".into(), fields("cluster", 3)))
        );
        assert_eq!(
            outcome(route(&payload(4), &settings)),
            Err("4 sequences is more than the limit of 3".into())
        );
    }

    #[test]
    fn unusable_inputs_are_rejected_with_a_reason() {
        let settings = Settings::default();
        let reject = |payload: &[u8]| outcome(route(payload, &settings)).unwrap_err();
        assert_eq!(reject(b""), "the job has no payload");
        assert!(reject(b"nope").starts_with("the payload is not JSON: "));
        assert_eq!(
            reject(br#"{"inputs": {}}"#),
            "the job has no `input` input to count sequences in"
        );
        assert_eq!(
            reject(br#"{"inputs": {"input": ""}}"#),
            "the job has no `input` input to count sequences in"
        );
        assert_eq!(
            reject(br#"{"inputs": {"input": [">a", "MKV"]}}"#),
            "the `input` input must be one FASTA text"
        );
        assert_eq!(
            reject(&payload("MKV")),
            "the `input` input is not FASTA: line 1: expected a `>` header line"
        );
    }

    /// The rule as it read payloads before [`crate::payload`]: the whole
    /// payload into a `serde_json::Value`, then the input looked up in it.
    /// Routing must give the same decision for every payload.
    fn route_through_value(payload: &[u8], settings: &Settings) -> Decision {
        use serde_json::Value as Json;

        let field = &settings.input_field;
        let json: Json = match serde_json::from_slice(payload) {
            Ok(json) => json,
            Err(_) if payload.is_empty() => return Decision::reject("the job has no payload"),
            Err(error) => return Decision::reject(format!("the payload is not JSON: {error}")),
        };
        let text = match json.get("inputs").and_then(|inputs| inputs.get(field)) {
            Some(Json::String(text)) if !text.is_empty() => text,
            None | Some(Json::Null) | Some(Json::String(_)) => {
                return Decision::reject(format!(
                    "the job has no `{field}` input to count sequences in"
                ));
            }
            Some(_) => {
                return Decision::reject(format!("the `{field}` input must be one FASTA text"));
            }
        };
        match fasta::read(text) {
            Ok(summary) => choose(summary, settings),
            Err(error) => Decision::reject(format!("the `{field}` input is not FASTA: {error}")),
        }
    }

    #[test]
    fn routes_as_reading_a_json_value_did() {
        let deep = |depth: usize| {
            format!(
                r#"{{"inputs": {{"input": ">a\nM"}}, "other": {}{}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        let deep_input = |depth: usize| {
            format!(
                r#"{{"inputs": {{"input": {}{}}}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        let big = String::from_utf8(payload(&fasta(12, 180))).unwrap();
        let payloads: Vec<Vec<u8>> = [
            big.clone(),
            big.replace("\\n", "\\r\\n"),
            big.replace("\"inputs\"", "\"in\\u0070uts\""),
            // The big text again, after a small one under the same key.
            format!(
                r#"{{"inputs": {{"input": ">a\nM", "input": {}}}}}"#,
                &big[r#"{"inputs":{"input":"#.len()..big.len() - 2]
            ),
            deep(100),
            deep(126),
            deep(127),
            deep(200),
            deep_input(126),
            deep_input(127),
            deep_input(200),
            r#"{"inputs": {"input": ">a\nMKV\n>b\nMK"}}"#.into(),
            r#"{"inputs": {"input": ">a\/b\r\nMK\u0056\r\n"}}"#.into(),
            r#"{"inputs": {"input": ">a\nMK V"}}"#.into(),
            r#"{"inputs": {"input": ">a\nMK\u00e9"}}"#.into(),
            r#"{"inputs": {"input": ">a\n>b\nM"}}"#.into(),
            r#"{"inputs": {"input": "\n \n"}}"#.into(),
            r#"{"inputs": {"input": ">a"}}"#.into(),
            r#"{"inputs": {"input": "MKV"}}"#.into(),
            r#"{"inputs": {"input": ""}}"#.into(),
            r#"{"inputs": {"input": null}}"#.into(),
            r#"{"inputs": {"input": 5}}"#.into(),
            r#"{"inputs": {"input": -0.0}}"#.into(),
            r#"{"inputs": {"input": 1e999}}"#.into(),
            r#"{"inputs": {"input": 18446744073709551616}}"#.into(),
            r#"{"inputs": {"input": false}}"#.into(),
            r#"{"inputs": {"input": [">a", "M"]}}"#.into(),
            r#"{"inputs": {"input": {"text": ">a\nM"}}}"#.into(),
            r#"{"inputs": {"input": ">a\nM", "input": ">a\nMK\n>b\nM"}}"#.into(),
            r#"{"inputs": {"input": ">a\nM", "input": 5}}"#.into(),
            r#"{"inputs": {"input": 5, "input": ">a\nM"}}"#.into(),
            r#"{"inputs": {"input": ">a\nM", "input": null}}"#.into(),
            r#"{"inputs": {"input": ">a\nM"}, "inputs": {}}"#.into(),
            r#"{"inputs": {"input": ">a\nM"}, "inputs": "x"}"#.into(),
            r#"{"inputs": [], "inputs": {"input": ">a\nM"}}"#.into(),
            r#"{"inputs": {"inp\u0075t": ">a\nM"}}"#.into(),
            r#"{"inputs": {"Input": ">a\nM"}}"#.into(),
            r#"{"inputs": {}}"#.into(),
            r#"{"inputs": null}"#.into(),
            r#"{"inputs": [{"input": ">a\nM"}]}"#.into(),
            r#"{"inputs": ">a\nM"}"#.into(),
            r#"{"input": ">a\nM"}"#.into(),
            r#"[{"inputs": {"input": ">a\nM"}}]"#.into(),
            "{}".into(),
            "[]".into(),
            "null".into(),
            "42".into(),
            "\"x\"".into(),
            "   ".into(),
            "nope".into(),
            "\u{feff}{\"inputs\": {}}".into(),
            r#"{"inputs": {"input": ">a\nM"}} trailing"#.into(),
            r#"{"inputs": {"input": ">a\nM"}} {}"#.into(),
            r#"{"inputs": {"input": ">a\nM"}"#.into(),
            r#"{"inputs": {"input": ">a\nM",}}"#.into(),
            r#"{"inputs": {"input": ">a\qM"}}"#.into(),
            "{\"inputs\": {\"input\": \">a\nM\"}}".into(),
            "{\"inputs\": {\"input\": \">a\\nM\tK\"}}".into(),
            r#"{"inputs": {"input": ">a\nM"}, "x": 1e999}"#.into(),
            r#"{"x": [1, {"k": tru}], "inputs": {"input": ">a\nM"}}"#.into(),
            r#"{"inputs": {"input": ">a\nM"}, "x": "\ud800"}"#.into(),
            r#"{"inputs": {"input": ">a\nM", "x": "\ud83d\ude00"}}"#.into(),
            r#"{"inputs": {1: ">a\nM"}}"#.into(),
            r#"{"inputs": {"input": ">a\ud800\nM"}}"#.into(),
        ]
        .into_iter()
        .map(String::into_bytes)
        .chain([
            Vec::new(),
            b"\xff".to_vec(),
            b"{\"inputs\": {\"input\": \">a\\nM\"}, \"x\": \"\xff\"}".to_vec(),
            b"{\"inputs\": {\"input\": \">\xc3\\nM\"}}".to_vec(),
            b"{\"inputs\": {\"in\xffput\": \">a\\nM\"}}".to_vec(),
        ])
        .collect();
        let settings = Settings::default();
        let mut dispatched = 0;
        for payload in payloads {
            let found = outcome(route(&payload, &settings));
            assert_eq!(
                found,
                outcome(route_through_value(&payload, &settings)),
                "{}",
                String::from_utf8_lossy(&payload)
            );
            dispatched += usize::from(found.is_ok());
        }
        // The set is not all rejections.
        assert_eq!(dispatched, 13);
    }
}
