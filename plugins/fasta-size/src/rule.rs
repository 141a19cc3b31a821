//! slivka-bio's runner rule: per service, ordered size tiers.
//!
//! slivka-bio's limiters (its `scripts/limits.py`) read the FASTA input with
//! Biopython and try each runner of the service in order: the first whose
//! limits hold (records ≤ N and average length, rounded down, ≤ L) runs the
//! job; past the last there is no runner and slivka rejects the job. A
//! service without limits runs on `default`, as slivka's default selector
//! does. This module is that rule, without any host call, so it is tested
//! natively.

use switchyard_plugin::{Decision, Job, Target};

use crate::payload::{self, Input};
use crate::settings::{Settings, Tier};

/// The runner of a service without tiers (slivka's default selector).
pub const DEFAULT_RUNNER: &str = "default";

/// Routes a job: finds its service's tiers, counts its FASTA input and
/// applies [`choose`]. Anything that keeps the rule from applying is a
/// rejection with a reason.
pub fn route(job: &Job, settings: &Settings) -> Decision {
    let service_field = &settings.service_field;
    let Some(service) = job.field(service_field) else {
        return Decision::reject(format!(
            "the job has no `{service_field}` field to choose its runner by"
        ));
    };
    let Some(tiers) = settings.tiers.get(service) else {
        // As slivka without a selector: the input is not looked at.
        return Decision::dispatch(
            Target::new(settings.target(service, DEFAULT_RUNNER)).field("runner", DEFAULT_RUNNER),
        );
    };
    let field = &settings.input_field;
    if job.payload.is_empty() {
        return Decision::reject("the job has no payload");
    }
    match payload::read_input(&job.payload, field) {
        Err(error) => Decision::reject(format!("the payload is not JSON: {error}")),
        Ok(Input::Missing) => Decision::reject(format!(
            "the job has no `{field}` input to count sequences in"
        )),
        Ok(Input::NotText) => {
            Decision::reject(format!("the `{field}` input must be one FASTA text"))
        }
        Ok(Input::Read(Ok(summary))) if summary.sequences == 0 => {
            Decision::reject(format!("the `{field}` input holds no FASTA records"))
        }
        Ok(Input::Read(Ok(summary))) => choose(service, summary, tiers, settings),
        Ok(Input::Read(Err(error))) => {
            Decision::reject(format!("the `{field}` input is not FASTA: {error}"))
        }
    }
}

/// Picks the runner of `service` for a FASTA input of this size: the first
/// tier that holds.
pub fn choose(
    service: &str,
    summary: fasta::Summary,
    tiers: &[Tier],
    settings: &Settings,
) -> Decision {
    let count = summary.sequences;
    let average = summary.average_length();
    match tiers
        .iter()
        .find(|tier| count <= tier.max_sequences && average <= tier.max_average_length)
    {
        Some(tier) => Decision::dispatch(
            Target::new(settings.target(service, &tier.runner))
                .field("runner", &tier.runner)
                .field("sequences", count)
                .field("average-length", average),
        ),
        None => {
            let last = tiers.last().map_or_else(String::new, |tier| {
                format!(
                    "; its last runner, `{}`, takes at most {} sequences of average length at most {}",
                    tier.runner, tier.max_sequences, tier.max_average_length
                )
            });
            Decision::reject(format!(
                "no runner of `{service}` takes {count} sequences of average length {average}{last}"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

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

    fn job(service: Option<&str>, payload: Vec<u8>) -> Job {
        Job {
            source: "jobs".into(),
            entry_id: "1-0".into(),
            fields: service
                .map(|service| ("service".to_string(), service.as_bytes().to_vec()))
                .into_iter()
                .collect(),
            payload,
            delivery_count: 1,
        }
    }

    fn tier(runner: &str, max_sequences: usize, max_average_length: usize) -> Tier {
        Tier {
            runner: runner.into(),
            max_sequences,
            max_average_length,
        }
    }

    /// slivka-bio's limits for clustalo and mafft, streams `queue:{runner}`.
    fn settings() -> Settings {
        Settings {
            tiers: BTreeMap::from([
                (
                    "clustalo".to_string(),
                    vec![tier("local", 30, 500), tier("default", 2000, 1000)],
                ),
                (
                    "mafft".to_string(),
                    vec![tier("local", 20, 500), tier("default", 1000, 1000)],
                ),
            ]),
            target_pattern: "queue:{runner}".into(),
            ..Settings::default()
        }
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

    fn routed(
        service: &str,
        count: usize,
        length: usize,
    ) -> Result<(String, Vec<(String, String)>), String> {
        outcome(route(
            &job(Some(service), payload(&fasta(count, length))),
            &settings(),
        ))
    }

    fn fields(runner: &str, count: usize, average: usize) -> Vec<(String, String)> {
        vec![
            ("runner".to_string(), runner.to_string()),
            ("sequences".to_string(), count.to_string()),
            ("average-length".to_string(), average.to_string()),
        ]
    }

    fn dispatched(
        runner: &str,
        count: usize,
        average: usize,
    ) -> Result<(String, Vec<(String, String)>), String> {
        Ok((format!("queue:{runner}"), fields(runner, count, average)))
    }

    #[test]
    fn the_first_tier_that_holds_names_the_runner() {
        assert_eq!(routed("clustalo", 1, 10), dispatched("local", 1, 10));
        assert_eq!(routed("clustalo", 30, 500), dispatched("local", 30, 500));
        assert_eq!(routed("clustalo", 31, 10), dispatched("default", 31, 10));
        assert_eq!(routed("clustalo", 2, 501), dispatched("default", 2, 501));
        assert_eq!(routed("clustalo", 2000, 3), dispatched("default", 2000, 3));
        assert_eq!(routed("mafft", 20, 500), dispatched("local", 20, 500));
        assert_eq!(routed("mafft", 21, 5), dispatched("default", 21, 5));
    }

    #[test]
    fn past_the_last_tier_is_rejected_naming_service_size_and_limit() {
        assert_eq!(
            routed("clustalo", 2001, 5),
            Err(
                "no runner of `clustalo` takes 2001 sequences of average length 5; \
                 its last runner, `default`, takes at most 2000 sequences of average \
                 length at most 1000"
                    .into()
            )
        );
        assert_eq!(
            routed("mafft", 3, 1001),
            Err(
                "no runner of `mafft` takes 3 sequences of average length 1001; \
                 its last runner, `default`, takes at most 1000 sequences of average \
                 length at most 1000"
                    .into()
            )
        );
    }

    #[test]
    fn tiers_are_tried_in_order_even_when_a_later_one_is_smaller() {
        let mut settings = settings();
        settings.tiers.insert(
            "odd".into(),
            vec![tier("big", 100, 100), tier("small", 1, 1)],
        );
        let decision = route(&job(Some("odd"), payload(&fasta(1, 1))), &settings);
        assert_eq!(
            outcome(decision),
            Ok(("queue:big".into(), fields("big", 1, 1)))
        );
    }

    #[test]
    fn average_length_is_rounded_down() {
        // 501 + 500 = 1001 residues over 2 sequences: 500 on average.
        let text = format!(">a\n{}\n>b\n{}\n", "M".repeat(501), "M".repeat(500));
        assert_eq!(
            outcome(route(&job(Some("clustalo"), payload(&text)), &settings())),
            dispatched("local", 2, 500)
        );
    }

    #[test]
    fn a_service_without_tiers_runs_on_default_unread() {
        for payload in [
            payload(&fasta(5000, 5000)),
            b"not json".to_vec(),
            Vec::new(),
        ] {
            assert_eq!(
                outcome(route(&job(Some("jpred"), payload), &settings())),
                Ok((
                    "queue:default".into(),
                    vec![("runner".into(), "default".into())]
                ))
            );
        }
    }

    #[test]
    fn the_pattern_names_service_and_runner() {
        let settings = Settings {
            target_pattern: "queue:{service}:{runner}".into(),
            ..settings()
        };
        let stream = |service: &str, count| {
            outcome(route(
                &job(Some(service), payload(&fasta(count, 5))),
                &settings,
            ))
            .unwrap()
            .0
        };
        assert_eq!(stream("mafft", 2), "queue:mafft:local");
        assert_eq!(stream("clustalo", 200), "queue:clustalo:default");
        assert_eq!(stream("jpred", 1), "queue:jpred:default");
    }

    #[test]
    fn settings_change_the_input_and_service_fields() {
        let settings = Settings {
            input_field: "sequences".into(),
            service_field: "svc".into(),
            ..settings()
        };
        let mut job = job(
            None,
            serde_json::json!({"inputs": {"sequences": fasta(2, 5)}})
                .to_string()
                .into_bytes(),
        );
        assert_eq!(
            outcome(route(&job, &settings)),
            Err("the job has no `svc` field to choose its runner by".into())
        );
        job.fields.push(("svc".into(), b"mafft".to_vec()));
        assert_eq!(outcome(route(&job, &settings)), dispatched("local", 2, 5));
    }

    #[test]
    fn unusable_inputs_are_rejected_with_a_reason() {
        let reject = |payload: &[u8]| {
            outcome(route(&job(Some("clustalo"), payload.to_vec()), &settings())).unwrap_err()
        };
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
            reject(br#"{"inputs": {"input": {"text": ">a\nM"}}}"#),
            "the `input` input must be one FASTA text"
        );
        assert_eq!(
            reject(&payload("MKV")),
            "the `input` input is not FASTA: line 1 must be a `>` header, got `MKV`"
        );
        assert_eq!(
            reject(&payload(">a\nMK\u{e9}")),
            "the `input` input is not FASTA: line 2: '\u{e9}' is not ASCII (FASTA text must be ASCII)"
        );
        assert_eq!(
            outcome(route(&job(None, payload(">a\nM")), &settings())).unwrap_err(),
            "the job has no `service` field to choose its runner by"
        );
    }

    #[test]
    fn a_header_alone_is_a_record_of_length_zero() {
        assert_eq!(
            outcome(route(
                &job(Some("mafft"), payload(">a\n>b\nMKVL")),
                &settings()
            )),
            dispatched("local", 2, 2)
        );
    }

    /// The rule as it would read payloads without [`crate::payload`]: the
    /// whole payload into a `serde_json::Value`, then the input looked up in
    /// it. Routing must give the same decision for every payload.
    fn route_through_value(payload: &[u8], settings: &Settings) -> Decision {
        use serde_json::Value as Json;

        let field = &settings.input_field;
        let json: Json = match serde_json::from_slice(payload) {
            Ok(json) => json,
            Err(_) if payload.is_empty() => return Decision::reject("the job has no payload"),
            Err(error) => return Decision::reject(format!("the payload is not JSON: {error}")),
        };
        let mut value = json.get("inputs").and_then(|inputs| inputs.get(field));
        if let Some(Json::Array(list)) = value {
            value = list.iter().find(|element| !element.is_null());
        }
        let text = match value {
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
            Ok(summary) => choose("clustalo", summary, &settings.tiers["clustalo"], settings),
            Err(error) => Decision::reject(format!("the `{field}` input is not FASTA: {error}")),
        }
    }

    #[test]
    fn routes_as_reading_a_json_value_would() {
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
            r#"{"inputs": {"input": [null, ">a\nMK", 5]}}"#.into(),
            r#"{"inputs": {"input": [5, ">a\nMK"]}}"#.into(),
            r#"{"inputs": {"input": [[">a\nMK"]]}}"#.into(),
            r#"{"inputs": {"input": [null]}}"#.into(),
            r#"{"inputs": {"input": []}}"#.into(),
            r#"{"inputs": {"input": [">a\nM", [[[tru]]]]}}"#.into(),
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
        let settings = settings();
        let mut dispatched = 0;
        for payload in payloads {
            let found = outcome(route(&job(Some("clustalo"), payload.clone()), &settings));
            assert_eq!(
                found,
                outcome(route_through_value(&payload, &settings)),
                "{}",
                String::from_utf8_lossy(&payload)
            );
            dispatched += usize::from(found.is_ok());
        }
        // The set is not all rejections.
        assert_eq!(dispatched, 18);
    }
}
