//! A plugin author's and a routing-rule owner's loop, from the outside:
//! `switchyard new` to a crate outside the workspace that tests natively,
//! builds, loads and routes through a daemon; `try` on a JSON-lines file
//! (one answer per job, one process); and `diff` of two router versions on
//! a known mix, from a file and from a stream, with the exact count of jobs
//! that move.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::harness::daemon::{
    Daemon, Kind, SOURCE, mixed_job, pending, push, status, wait_until, write_config, xlen,
};
use crate::harness::{RedisServer, plugin_path, repo_root, run_switchyard, slivka_tiers};

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

/// Runs `cargo ARGS...` in `dir` with the scaffold's own target directory
/// (shared by test runs, so the SDK's dependencies build once), and none of
/// the variables `make test` sets for the workspace's own build.
fn cargo(dir: &Path, args: &[&str]) -> std::process::Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    std::process::Command::new(cargo)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", repo_root().join("target/scaffold"))
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cannot run cargo")
}

#[test]
fn a_new_router_crate_tests_natively_builds_outside_the_workspace_and_routes_through_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let new = || {
        let dir = dir.path().to_str().unwrap();
        run_switchyard(&["new", "router", "size-rule", "--dir", dir], "")
    };
    let output = new();
    assert!(output.status.success(), "{output:?}");
    let root = dir.path().join("size-rule");
    for file in [
        "Cargo.toml",
        "src/lib.rs",
        "jobs/sample.json",
        "README.md",
        ".gitignore",
    ] {
        assert!(root.join(file).is_file(), "{file} is missing");
    }
    // A second run refuses to write over it.
    let again = new();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    // Its logic, natively, through the SDK's testing module.
    let tested = cargo(&root, &["test"]);
    let log = String::from_utf8_lossy(&tested.stdout);
    assert!(
        tested.status.success() && log.contains("2 passed"),
        "{log}\n{}",
        String::from_utf8_lossy(&tested.stderr)
    );
    // The component, as its README says.
    let built = cargo(&root, &["build", "--target", "wasm32-wasip2", "--release"]);
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let wasm = repo_root().join("target/scaffold/wasm32-wasip2/release/size_rule.wasm");
    let wasm = wasm.to_str().unwrap();
    let checked = run_switchyard(&["check", wasm], "");
    assert!(
        String::from_utf8_lossy(&checked.stdout).contains("satisfies router"),
        "{checked:?}"
    );
    let sample = root.join("jobs/sample.json");
    let tried = run_switchyard(&["try", wasm, sample.to_str().unwrap()], "");
    let answer: Value = serde_json::from_slice(&tried.stdout).unwrap();
    assert_eq!(
        answer["route"]["dispatch"][0]["stream"], "queue:local",
        "{answer}"
    );

    // Named in a route, it routes jobs through the daemon.
    let redis = RedisServer::start();
    let route = format!(
        r#"
[[routes]]
name = "sized"
source = "{SOURCE}"
router = "size-rule"
targets = ["queue:local", "queue:cluster"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"

[plugin.size-rule]
file = "{wasm}"

[plugin.size-rule.config]
max-small-bytes = 100
"#
    );
    let config = write_config(
        dir.path(),
        &format!("url = \"{}\"", redis.url()),
        "",
        &route,
    );
    let mut conn = redis.connection();
    let job = |id: &str, payload: String| {
        vec![
            ("job-id".to_owned(), id.as_bytes().to_vec()),
            ("payload".to_owned(), payload.into_bytes()),
        ]
    };
    push(
        &mut conn,
        SOURCE,
        &[job("small", "{}".to_owned()), job("large", "x".repeat(500))],
    );
    let daemon = Daemon::start(&config, "scaffold");
    assert!(
        wait_until(std::time::Duration::from_secs(60), || xlen(
            &mut conn,
            "queue:local"
        ) == 1
            && xlen(&mut conn, "queue:cluster") == 1
            && pending(&mut conn) == 0),
        "{}",
        daemon.log()
    );
    assert_eq!(status(&mut conn, "small")["targets"], "queue:local");
    assert_eq!(status(&mut conn, "large")["targets"], "queue:cluster");
}
