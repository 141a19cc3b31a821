//! A plugin author's and a routing-rule owner's loop, from the outside:
//! `try` on a JSON-lines file (one answer per job, one process), and `diff`
//! of two router versions on a known mix, from a file and from a stream,
//! with the exact count of jobs that move.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::harness::daemon::{Kind, SOURCE, mixed_job, push};
use crate::harness::{RedisServer, plugin_path, run_switchyard, slivka_tiers};

/// The mix's first `n` jobs as a JSON-lines file in `dir`, and how many of
/// each kind.
fn mix_file(dir: &Path, n: u64) -> (std::path::PathBuf, HashMap<Kind, usize>) {
    let mut kinds = HashMap::new();
    let mut text = String::new();
    for i in 0..n {
        let (kind, fields) = mixed_job(i);
        *kinds.entry(kind).or_insert(0) += 1;
        let object: serde_json::Map<String, Value> = fields
            .into_iter()
            .map(|(k, v)| (k, json!(String::from_utf8(v).unwrap())))
            .collect();
        text.push_str(&Value::Object(object).to_string());
        text.push('\n');
    }
    let path = dir.join("mix.jsonl");
    std::fs::write(&path, text).unwrap();
    (path, kinds)
}

/// slivka-bio's tiers with clustalo's `local` runner taking at most
/// `max_sequences` sequences, written to `dir/NAME`; the path.
fn tiers(dir: &Path, name: &str, max_sequences: Option<u64>) -> String {
    let mut tiers: Value = serde_json::from_str(&slivka_tiers()).unwrap();
    if let Some(max) = max_sequences {
        assert_eq!(tiers["clustalo"][0]["runner"], "local");
        tiers["clustalo"][0]["max-sequences"] = json!(max);
    }
    let path = dir.join(name);
    std::fs::write(&path, tiers.to_string()).unwrap();
    path.display().to_string()
}

#[test]
fn try_answers_every_job_of_a_json_lines_file_as_it_answers_each_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (file, _) = mix_file(dir.path(), 20);
    let router = plugin_path("fasta-size");
    let router = router.to_str().unwrap();
    let tiers = format!("tiers=@{}", tiers(dir.path(), "tiers.json", None));
    let config = [
        "--config",
        "target-pattern=queue:{runner}",
        "--config",
        &tiers,
    ];
    let mut args = vec!["try", router];
    args.extend(config);
    args.push(file.to_str().unwrap());
    let output = run_switchyard(&args, "");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let answers: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Job 18 of the mix has no payload: that line is not a job, and says so.
    assert_eq!(answers.len(), 20, "{stdout}");
    assert_eq!(
        output.status.code(),
        Some(1),
        "a line that is not a job fails the run"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for (n, answer) in answers.iter().enumerate() {
        assert_eq!(answer["line"], n + 1);
        let mut alone = vec!["try", router];
        alone.extend(config);
        let single = run_switchyard(&alone, lines[n]);
        let single: Value = serde_json::from_slice(&single.stdout).unwrap_or(Value::Null);
        if mixed_job(n as u64).0 == Kind::NoPayload {
            assert_eq!(answer["error"]["kind"], "bad-job", "{answer}");
            assert!(
                answer["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("line 19")
            );
            continue;
        }
        assert_eq!(answer["route"], single["route"], "line {}", n + 1);
        assert_eq!(answer["job"], single["job"]);
    }
}

#[test]
fn diff_counts_exactly_the_jobs_new_limits_move_from_a_file_and_from_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let n = 200;
    let (file, kinds) = mix_file(dir.path(), n);
    let router = plugin_path("fasta-size");
    let router = router.to_str().unwrap();
    let old = format!("tiers=@{}", tiers(dir.path(), "old.json", None));
    // The mix's local jobs have 5 sequences: a local runner that takes at
    // most 4 sends every one of them to the default runner.
    let new = format!("tiers=@{}", tiers(dir.path(), "new.json", Some(4)));
    let base = [
        "diff",
        router,
        router,
        "--config",
        "target-pattern=queue:{runner}",
        "--old-config",
        &old,
        "--new-config",
        &new,
        "--json",
    ];
    let mut args = base.to_vec();
    args.extend(["--jobs", file.to_str().unwrap()]);
    let output = run_switchyard(&args, "");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let local = kinds[&Kind::Local] as u64;
    assert_eq!(report["changed"], local, "{report:#}");
    assert_eq!(report["changes"].as_array().unwrap().len(), 1);
    let change = &report["changes"][0];
    assert_eq!(change["from"], "queue:local");
    assert_eq!(change["to"], "queue:default");
    assert_eq!(change["count"], local);
    assert_eq!(change["ranges"]["sequences"], json!([5.0, 5.0]));
    // Every job with a payload is compared; the ones without are not jobs.
    assert_eq!(
        report["jobs"].as_u64().unwrap() as usize,
        n as usize - kinds[&Kind::NoPayload]
    );

    // The same jobs read from a stream give the same count.
    let redis = RedisServer::start();
    let jobs: Vec<_> = (0..n).map(|i| mixed_job(i).1).collect();
    push(&mut redis.connection(), SOURCE, &jobs);
    let url = redis.url();
    let mut args = base.to_vec();
    args.extend(["--stream", SOURCE, "--count", "1000", "--redis-url", &url]);
    let output = run_switchyard(&args, "");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let from_stream: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(from_stream["changed"], local);
    assert_eq!(from_stream["changes"], report["changes"]);

    // The same limits on both sides: nothing changes, exit 0, and the text
    // says so.
    let same = [
        "diff",
        router,
        router,
        "--config",
        "target-pattern=queue:{runner}",
        "--config",
        &old,
        "--jobs",
        file.to_str().unwrap(),
    ];
    let output = run_switchyard(&same, "");
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "0 of {} jobs change (none)",
            n as usize - kinds[&Kind::NoPayload]
        )),
        "{text}"
    );
}
