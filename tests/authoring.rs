//! A plugin author's and a routing-rule owner's loop, from the outside:
//! `switchyard new` to a crate outside the workspace that tests natively,
//! builds, loads and routes through a daemon; `try` on a JSON-lines file
//! (one answer per job, one process); and `diff` of two router versions on
//! a known mix, from a file and from a stream, with the exact count of jobs
//! that move; shadow routing of the same change in a running daemon (its
//! counts agree with `diff`), then its promotion by one config change.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::harness::daemon::{
    Daemon, Kind, SOURCE, http_get, job_id, mixed_job, pending, push, settled, status, wait_until,
    write_config, xlen,
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

/// `switchyard diff --json` of fasta-size with slivka-bio's tiers against
/// the same file with clustalo's local runner taking at most 4 sequences,
/// on the jobs `jobs` names; the exit code and the report.
fn diff_limits(dir: &Path, jobs: &[&str]) -> (Option<i32>, Value) {
    let router = plugin_path("fasta-size");
    let router = router.to_str().unwrap();
    let old = format!("tiers=@{}", tiers(dir, "old.json", None));
    // The mix's local jobs have 5 sequences: a local runner that takes at
    // most 4 sends every one of them to the default runner.
    let new = format!("tiers=@{}", tiers(dir, "new.json", Some(4)));
    let mut args = vec![
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
    args.extend(jobs);
    let output = run_switchyard(&args, "");
    let report =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {output:?}"));
    (output.status.code(), report)
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
    let (code, report) = diff_limits(dir.path(), &["--jobs", file.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{report:#}");
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
    let (code, from_stream) = diff_limits(
        dir.path(),
        &["--stream", SOURCE, "--count", "1000", "--redis-url", &url],
    );
    assert_eq!(code, Some(1));
    assert_eq!(from_stream["changed"], local);
    assert_eq!(from_stream["changes"], report["changes"]);

    // The same limits on both sides: nothing changes, exit 0, and the text
    // says so.
    let router = plugin_path("fasta-size");
    let router = router.to_str().unwrap();
    let old = format!("tiers=@{}", dir.path().join("old.json").display());
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

/// The slivka route with `router`, and `shadow` beside it if given; and
/// `fasta-size-next`: fasta-size's own file with clustalo's local runner
/// taking at most 4 sequences.
fn shadow_config(
    dir: &Path,
    redis: &str,
    router: &str,
    shadow: Option<&str>,
) -> std::path::PathBuf {
    let next = tiers(dir, "next.json", Some(4));
    let shadow = shadow.map_or(String::new(), |s| format!("shadow = \"{s}\""));
    let routes = format!(
        r#"
[[routes]]
name = "slivka"
source = "{SOURCE}"
match = {{ service = ["clustalo", "mafft", "jpred"] }}
validators = ["slivka-form"]
router = "{router}"
{shadow}
targets = ["queue:local", "queue:default"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"

[plugin.fasta-size-next]
file = "{file}"

[plugin.fasta-size-next.config-files]
tiers = "{next}"

[plugin.fasta-size-next.config]
target-pattern = "queue:{{runner}}"
"#,
        file = plugin_path("fasta-size").display(),
    );
    write_config(dir, &format!("url = \"{redis}\""), "", &routes)
}

#[test]
fn shadow_routing_counts_the_moves_diff_counts_and_one_config_change_promotes_it() {
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start();
    let config = shadow_config(
        dir.path(),
        &redis.url(),
        "fasta-size",
        Some("fasta-size-next"),
    );
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{text}\n[metrics]\nlisten = \"127.0.0.1:0\"\n"),
    )
    .unwrap();
    let mut conn = redis.connection();
    let n = 200u64;
    let jobs: Vec<_> = (0..n).map(|i| mixed_job(i).1).collect();
    push(&mut conn, SOURCE, &jobs);
    let daemon = Daemon::start(&config, "shadowed");
    assert!(
        wait_until(std::time::Duration::from_secs(60), || settled(&mut conn)
            == n as usize
            && pending(&mut conn) == 0),
        "{}",
        daemon.log()
    );
    let kinds = mix_file(dir.path(), n).1;
    let local = kinds[&Kind::Local] as f64;
    // Live decisions were acted on as before: the shadow moved nothing.
    assert_eq!(xlen(&mut conn, "queue:local"), kinds[&Kind::Local]);

    // What the shadow would have done, beside what was done.
    let port = daemon.metrics_port();
    let body = http_get(port, "/metrics", None).unwrap().body;
    let shadow: Vec<(String, f64)> = body
        .lines()
        .filter(|l| l.starts_with("switchyard_shadow_decisions_total{"))
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap();
            (name.to_owned(), value.parse().unwrap())
        })
        .collect();
    let count = |live: &str, would: &str| {
        shadow
            .iter()
            .filter(|(name, _)| {
                name.contains(&format!("live=\"{live}\""))
                    && name.contains(&format!("would=\"{would}\""))
            })
            .map(|(_, v)| v)
            .sum::<f64>()
    };
    assert_eq!(count("queue:local", "queue:default"), local, "{shadow:?}");
    let routed = local + (kinds[&Kind::Cluster] + kinds[&Kind::TooMany]) as f64;
    assert_eq!(
        shadow.iter().map(|(_, v)| v).sum::<f64>(),
        routed,
        "{shadow:?}"
    );
    let disagreeing: f64 = shadow
        .iter()
        .filter(|(name, _)| {
            let label = |key: &str| {
                name.split(&format!("{key}=\""))
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .unwrap_or("")
                    .to_owned()
            };
            label("live") != label("would")
        })
        .map(|(_, v)| v)
        .sum();
    assert_eq!(disagreeing, local, "only the local jobs would move");

    // diff on the same jobs says the same.
    let (file, _) = mix_file(dir.path(), n);
    let (_, report) = diff_limits(dir.path(), &["--jobs", file.to_str().unwrap()]);
    assert_eq!(report["changed"].as_f64(), Some(disagreeing), "{report:#}");

    // status reads the same counts from the daemon's heartbeat.
    let mut listed = Value::Null;
    assert!(wait_until(std::time::Duration::from_secs(30), || {
        let out = run_switchyard(
            &["status", "--config", config.to_str().unwrap(), "--json"],
            "",
        );
        listed = serde_json::from_slice(&out.stdout).unwrap_or_default();
        listed["daemons"][0]["shadow"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    }));
    let moved = listed["daemons"][0]["shadow"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["live"] == "queue:local" && s["would"] == "queue:default")
        .expect("the move in status");
    assert_eq!(moved["count"].as_f64(), Some(local));
    assert!(
        moved["shadow"]
            .as_str()
            .unwrap()
            .starts_with("fasta-size-next@")
    );

    // Promotion: one config change, applied by hot reload. Jobs sent after
    // it follow the new limits.
    let promoted = shadow_config(dir.path(), &redis.url(), "fasta-size-next", None);
    let text = std::fs::read_to_string(&promoted).unwrap();
    std::fs::write(
        &promoted,
        format!("{text}\n[metrics]\nlisten = \"127.0.0.1:0\"\n"),
    )
    .unwrap();
    assert!(
        wait_until(std::time::Duration::from_secs(30), || daemon
            .log()
            .contains("reloaded:")),
        "{}",
        daemon.log()
    );
    let more: Vec<_> = (n..n + 40)
        .filter(|&i| mixed_job(i).0 == Kind::Local)
        .map(|i| (i, mixed_job(i).1))
        .collect();
    push(
        &mut conn,
        SOURCE,
        &more.iter().map(|(_, f)| f.clone()).collect::<Vec<_>>(),
    );
    assert!(wait_until(std::time::Duration::from_secs(60), || {
        more.iter()
            .all(|(i, _)| !status(&mut conn, &job_id(*i)).is_empty())
    }));
    for (i, _) in &more {
        assert_eq!(status(&mut conn, &job_id(*i))["targets"], "queue:default");
    }
    assert_eq!(xlen(&mut conn, "queue:local"), kinds[&Kind::Local]);
}
