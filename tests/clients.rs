//! The front end's side of the contract, run for real: the Python client of
//! `examples/clients/python/` (redis-py, as a slivka web worker would use)
//! submits jobs to a private `redis-server`, the real daemon routes them
//! with the slivka example's service files and plugins, and the client prints the
//! status records it read. This keeps that client and its README honest.
//!
//! Runs the client with the tests' venv (`target/venv`, made by the
//! harness from `tests/slivka/requirements.txt`, which pins redis-py).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

use crate::harness::daemon::{self, Daemon};
use crate::harness::{self, RedisServer};

/// Seconds the client waits for a status; the daemon compiles its plugins
/// at start, which takes a few seconds in a debug build.
const CLIENT_TIMEOUT: &str = "60";

/// `examples/clients/python/switchyard_client.py`.
fn client_script() -> PathBuf {
    harness::repo_root().join("examples/clients/python/switchyard_client.py")
}

/// Runs the client with `args` and returns its exit code and the JSON it
/// printed.
fn run_client(url: &str, args: &[&str]) -> (i32, Value) {
    let output = Command::new(harness::venv::python())
        .arg(client_script())
        .args(["--redis-url", url])
        .args(args)
        .env_remove("REDIS_URL")
        .output()
        .expect("cannot run the venv's python");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("the client printed something that is not JSON ({e}):\n{stdout}\nstderr:\n{stderr}")
    });
    let code = output
        .status
        .code()
        .unwrap_or_else(|| panic!("the client was killed by a signal; stderr:\n{stderr}"));
    (code, json)
}

/// Submits a clustalo job with `input` (a file written in `dir`) and
/// `params`, waits for its status and returns the exit code and record.
fn submit(url: &str, dir: &Path, name: &str, input: &str, params: &[&str]) -> (i32, Value) {
    let file = dir.join(format!("{name}.fasta"));
    std::fs::write(&file, input).unwrap();
    let file = file.display().to_string();
    let mut args = vec![
        "submit",
        "--service",
        "clustalo",
        "--input",
        &file,
        "--timeout",
        CLIENT_TIMEOUT,
    ];
    for param in params {
        args.extend(["--param", *param]);
    }
    run_client(url, &args)
}

/// The five sequences of the example `mafft-valid-small.json`: real-looking
/// FASTA a user would upload.
fn five_sequences() -> String {
    let job: Value =
        serde_json::from_str(&harness::slivka_example("jobs/mafft-valid-small.json")).unwrap();
    let input = job["payload"]["inputs"]["input"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        input.matches('>').count(),
        5,
        "the example changed: {input}"
    );
    input
}

#[test]
fn python_client_reads_accepted_and_rejected_statuses() {
    let server = RedisServer::start();
    let dir = TempDir::new().unwrap();
    let config = daemon::slivka_config(dir.path(), &server.url(), "block-ms = 200", "");
    let mut daemon = Daemon::start(&config, "clients-1");
    let url = server.url();

    // A valid job: five short sequences go to the local queue.
    let (code, valid) = submit(
        &url,
        dir.path(),
        "valid",
        &five_sequences(),
        &["iterations=2", "dealign=yes"],
    );
    assert_eq!(code, 0, "{valid:#}\ndaemon log:\n{}", daemon.log());
    assert_eq!(valid["status"], "ACCEPTED", "{valid:#}");
    assert_eq!(valid["state"], 3, "{valid:#}");
    assert_eq!(
        valid["targets"],
        serde_json::json!(["queue:local"]),
        "{valid:#}"
    );
    let job_id = valid["job-id"]
        .as_str()
        .expect("the client prints the job id")
        .to_owned();
    assert_eq!(
        job_id.len(),
        16,
        "a slivka job id has 16 characters: {job_id}"
    );
    assert!(
        job_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "a slivka job id is URL-safe base64: {job_id}"
    );

    // What the client wrote is what the contract says: service, job-id and
    // a JSON payload of inputs, which the runner's queue now carries.
    let mut conn = server.connection();
    let queued = daemon::entries(&mut conn, "queue:local");
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0]["service"], "clustalo");
    assert_eq!(queued[0]["job-id"], job_id);
    let payload: Value = serde_json::from_str(&queued[0]["payload"]).expect("payload is JSON");
    assert_eq!(payload["inputs"]["iterations"], "2");
    assert_eq!(payload["inputs"]["input"], five_sequences());

    // An invalid job: every field error comes back, with slivka's codes.
    let (code, invalid) = submit(
        &url,
        dir.path(),
        "invalid",
        &five_sequences(),
        &["iterations=500", "max-hmm-iterations=0"],
    );
    assert_eq!(code, 1, "{invalid:#}");
    assert_eq!(invalid["status"], "REJECTED", "{invalid:#}");
    assert_eq!(invalid["state"], 2, "{invalid:#}");
    assert_eq!(invalid["reason"], "invalid input", "{invalid:#}");
    let errors: Vec<(String, String)> = invalid["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("errors is a list: {invalid:#}"))
        .iter()
        .map(|e| {
            assert!(
                e["message"].as_str().is_some_and(|m| !m.is_empty()),
                "an error without a message: {e}"
            );
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        errors.contains(&("iterations".into(), "max_value".into())),
        "{errors:?}"
    );
    assert!(
        errors.contains(&("max-hmm-iterations".into(), "min_value".into())),
        "{errors:?}"
    );
    assert_eq!(errors.len(), 2, "{errors:?}");

    // Too many sequences: a valid form, but no runner takes it, and the
    // reason says why.
    let (code, too_many) = submit(&url, dir.path(), "too-many", &daemon::fasta(2500, 4), &[]);
    assert_eq!(code, 1, "{too_many:#}");
    assert_eq!(too_many["status"], "REJECTED", "{too_many:#}");
    assert_eq!(too_many["state"], 2, "{too_many:#}");
    assert_eq!(
        too_many["reason"],
        "no runner of `clustalo` takes 2500 sequences of average length 4; its last runner, \
         `default`, takes at most 2000 sequences of average length at most 1000",
        "{too_many:#}"
    );
    assert!(too_many.get("errors").is_none(), "{too_many:#}");

    // `status` reads a record again; an unknown job is PENDING (slivka's 1).
    // `--`: one slivka job id in 64 starts with `-`, which argparse would
    // take for an option.
    let (code, again) = run_client(&url, &["status", "--", &job_id]);
    assert_eq!(code, 0);
    assert_eq!(again["status"], "ACCEPTED");
    assert_eq!(again["targets"], valid["targets"]);
    let (code, unknown) = run_client(&url, &["status", "AAAAAAAAAAAAAAAA"]);
    assert_eq!(code, 3, "{unknown:#}");
    assert_eq!(unknown["status"], "PENDING");
    assert_eq!(unknown["state"], 1);

    daemon::assert_exactly_once(&mut conn, 3);
    assert_eq!(daemon::pending(&mut conn), 0);
    let status = daemon.terminate();
    assert!(
        status.success(),
        "daemon exited with {status}; log:\n{}",
        daemon.log()
    );
}
