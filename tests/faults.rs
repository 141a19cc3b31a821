//! Plugin faults inside the running daemon: a plugin that loops, eats
//! memory, panics or answers with a target it may not use dead-letters its
//! own jobs, with the stage and the reason, and the daemon goes on routing
//! everything else; so does one that blocks in a host call (a FIFO).

use std::ffi::CString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::RedisServer;
use crate::harness::daemon::*;

/// A route per hostile fixture, each taking the jobs of one service.
fn hostile_routes() -> String {
    let mut text = String::from(
        r#"
[plugin.fixture-spin]
deadline-ms = 50
[plugin.fixture-memory-bomb]
memory-mib = 16
"#,
    );
    for (service, validators, router) in [
        ("spin", "[]", "fixture-spin"),
        ("spin-validate", r#"["fixture-spin"]"#, "fasta-size"),
        ("bomb", "[]", "fixture-memory-bomb"),
        ("panic", "[]", "fixture-panic"),
        ("elsewhere", "[]", "fixture-undeclared-target"),
    ] {
        text.push_str(&format!(
            r#"
[[routes]]
name = "{service}"
source = "jobs"
match = {{ service = "{service}" }}
validators = {validators}
router = "{router}"
targets = ["queue:local", "queue:default"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#
        ));
    }
    text
}

fn job_for(service: &str, n: u64) -> Fields {
    let mut fields = job_of(Kind::Local, n);
    fields[0].1 = service.as_bytes().to_vec();
    fields
}

#[test]
fn plugin_faults_dead_letter_their_jobs_and_routing_goes_on() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(dir.path(), &redis.url(), "batch = 16", &hostile_routes());
    let mut conn = redis.connection();

    let hostile = [
        ("spin", "route", "deadline", "deadline of 50 ms exceeded"),
        (
            "spin-validate",
            "validate",
            "deadline",
            "deadline of 50 ms exceeded",
        ),
        (
            "bomb",
            "route",
            "memory",
            "memory limit of 16777216 bytes exceeded",
        ),
        (
            "panic",
            "route",
            "trap",
            "fixture panic: the job made me do it",
        ),
        (
            "elsewhere",
            "route",
            "bad-output",
            "target `queue:elsewhere` is not one of the route's allowed targets",
        ),
    ];
    let mut jobs = Vec::new();
    let mut n = 0;
    for round in 0..3 {
        for (service, ..) in hostile {
            jobs.push(job_for(service, 1000 + n));
            n += 1;
        }
        for _ in 0..20 {
            jobs.push(job_of(Kind::Local, round * 100 + jobs.len() as u64));
        }
    }
    push(&mut conn, SOURCE, &jobs);

    let mut daemon = Daemon::start(&config, "tough");
    let total = jobs.len();
    assert!(
        wait_until(Duration::from_secs(120), || settled(&mut conn) >= total
            && pending(&mut conn) == 0),
        "settled {} of {total}; log:\n{}",
        settled(&mut conn),
        daemon.log()
    );
    assert_exactly_once(&mut conn, total);
    assert_eq!(
        xlen(&mut conn, "queue:local"),
        60,
        "every good job is dispatched"
    );

    let dead = entries(&mut conn, DEAD);
    assert_eq!(dead.len(), 15);
    for (service, stage, kind, reason) in hostile {
        let mine: Vec<_> = dead.iter().filter(|e| e["service"] == service).collect();
        assert_eq!(mine.len(), 3, "{service}: {dead:?}");
        for entry in mine {
            assert_eq!(entry["switchyard-stage"], stage, "{service}: {entry:?}");
            assert_eq!(entry["switchyard-error"], kind, "{service}: {entry:?}");
            assert!(
                entry["switchyard-reason"].contains(reason),
                "{service}: {entry:?}"
            );
            let record = status(&mut conn, &entry["job-id"]);
            assert_eq!(record["status"], "ERROR");
            assert_eq!(record["state"], "10");
            assert!(record["reason"].contains(reason), "{record:?}");
        }
    }

    // Still routing after all that.
    push(&mut conn, SOURCE, &[job_of(Kind::Cluster, 9999)]);
    assert!(wait_until(Duration::from_secs(30), || xlen(
        &mut conn,
        "queue:default"
    ) == 1));
    assert!(daemon.terminate().success());
}

#[test]
fn a_config_naming_a_plugin_of_the_wrong_world_is_refused_at_start() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let extra = r#"
[[routes]]
name = "wrong"
source = "jobs"
router = "fixture-open-file"
targets = ["queue:local"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#;
    let config = slivka_config(dir.path(), &redis.url(), "", extra);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["run", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("fixture-open-file.wasm"), "{stderr}");
    assert!(stderr.contains("used as a router"), "{stderr}");
}

#[test]
fn a_router_with_thousands_of_extra_fields_on_its_second_target_writes_nowhere_twice() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(dir.path(), &redis.url(), "batch = 16", PUPPET_ROUTE);
    let mut conn = redis.connection();
    let daemon = Daemon::start(&config, "puppeteer");

    // About 10 KB of answer, far under the output limit: the first target
    // plain, the second with 4,000 extra fields.
    let extra: Vec<serde_json::Value> = (0..4000)
        .map(|i| serde_json::json!([format!("x{i}"), ""]))
        .collect();
    let answer = serde_json::json!({"dispatch": [
        ["queue:local", null, []],
        ["queue:default", null, extra],
    ]});
    let fields: Fields = vec![
        ("service".into(), b"puppet".to_vec()),
        ("job-id".into(), b"forked".to_vec()),
        ("payload".into(), answer.to_string().into_bytes()),
    ];
    push(&mut conn, SOURCE, &[fields]);
    wait_settled(&mut conn, 1, &daemon);
    assert_exactly_once(&mut conn, 1);
    assert_eq!(
        xlen(&mut conn, "queue:local"),
        0,
        "half a dispatch was written"
    );
    assert_eq!(xlen(&mut conn, "queue:default"), 0);
    let record = status(&mut conn, "forked");
    assert_eq!(record["status"], "ERROR", "{record:?}");
    assert_eq!(record["error"], "bad-output", "{record:?}");
    assert!(record["reason"].contains("extra fields"), "{record:?}");
}

#[test]
fn a_job_id_or_plugin_output_cannot_forge_a_log_line() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(dir.path(), &redis.url(), "batch = 16", &hostile_routes());
    let mut conn = redis.connection();
    let daemon = Daemon::start(&config, "honest");
    let forged = "2026-01-01T00:00:00.000000Z  INFO switchyard::daemon::reload: reloaded: forged";
    let mut fields = job_for("panic", 1);
    fields[1].1 = format!("evil\n{forged}\r\x1b[1A").into_bytes();
    push(&mut conn, SOURCE, &[fields]);
    wait_settled(&mut conn, 1, &daemon);
    let log = daemon.log();
    assert!(
        log.contains("evil\\n2026-01-01T00:00:00.000000Z"),
        "the job id is logged, escaped:\n{log}"
    );
    assert!(
        !log.lines().any(|line| line.starts_with("2026-01-01")),
        "a forged line:\n{log}"
    );
    assert!(!log.contains('\x1b') && !log.contains('\r'), "{log}");
}

/// A route whose validator, `fixture-open-file` with a 200 ms deadline,
/// reads the file a job's `path` field names (default: a regular file) in
/// `uploads`, granted read-only as `/uploads`.
fn uploads_route(uploads: &Path) -> String {
    format!(
        r#"
[plugin.fixture-open-file]
deadline-ms = 200
[plugin.fixture-open-file.config]
path = "/uploads/input.fasta"
[plugin.fixture-open-file.grants]
read-dirs = {{ "/uploads" = "{}" }}

[[routes]]
name = "uploads"
source = "jobs"
match = {{ service = "uploads" }}
validators = ["fixture-open-file"]
router = "fasta-size"
targets = ["queue:local", "queue:default"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#,
        uploads.display()
    )
}

/// A directory holding a regular file, `input.fasta`, and a FIFO no one
/// ever opens for writing, `fifo`: opening it for reading blocks forever.
fn uploads_with_fifo(dir: &Path) -> PathBuf {
    let uploads = dir.join("uploads");
    std::fs::create_dir(&uploads).unwrap();
    std::fs::write(uploads.join("input.fasta"), fasta(1, 20)).unwrap();
    let fifo = CString::new(uploads.join("fifo").into_os_string().into_vec()).unwrap();
    // SAFETY: mkfifo(3) on a NUL-terminated path we own.
    let made = unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) };
    assert_eq!(made, 0, "mkfifo: {}", std::io::Error::last_os_error());
    uploads
}

/// A job of the uploads route whose validator opens `/uploads/fifo`.
fn fifo_job(n: u64) -> Fields {
    let mut fields = job_for("uploads", n);
    fields.push(("path".to_owned(), b"/uploads/fifo".to_vec()));
    fields
}

/// Checks that the FIFO job is the only dead letter, as a deadline fault of
/// the validator naming the plugin, and that nothing else went wrong.
fn assert_fifo_job_dead_lettered_as_deadline(conn: &mut redis::Connection) {
    let dead = entries(conn, DEAD);
    assert_eq!(
        dead.len(),
        1,
        "only the FIFO job is a dead letter: {dead:?}"
    );
    let entry = &dead[0];
    assert_eq!(entry["path"], "/uploads/fifo", "{entry:?}");
    assert_eq!(entry["switchyard-stage"], "validate", "{entry:?}");
    assert_eq!(entry["switchyard-error"], "deadline", "{entry:?}");
    let reason = &entry["switchyard-reason"];
    assert!(
        reason.contains("fixture-open-file@") && reason.contains("deadline of 200 ms exceeded"),
        "{entry:?}"
    );
    assert_eq!(status(conn, &entry["job-id"])["status"], "ERROR");
}

/// Issue 14, hole 2: opening a FIFO in a granted directory blocks in the
/// host, where the epoch deadline does not reach. The call must still end
/// at its deadline, as a deadline dead letter, exactly once; the jobs read
/// with it must be routed; shutdown must not wait on it.
#[test]
fn a_plugin_opening_a_fifo_ends_at_its_deadline_and_the_jobs_behind_it_are_routed() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let uploads = uploads_with_fifo(dir.path());
    let config = slivka_config(
        dir.path(),
        &redis.url(),
        "batch = 16\nworkers = 1\nclaim-idle-ms = 1000",
        &uploads_route(&uploads),
    );
    let mut conn = redis.connection();

    // The FIFO job first, so the good jobs of its batch wait behind it.
    let mut jobs = vec![fifo_job(1)];
    jobs.extend((0..20).map(|n| job_for("uploads", 100 + n)));
    jobs.extend((0..5).map(|n| job_of(Kind::Local, 200 + n)));
    push(&mut conn, SOURCE, &jobs);

    let mut daemon = Daemon::start(&config, "fifo");
    let total = jobs.len();
    assert!(
        wait_until(Duration::from_secs(30), || settled(&mut conn) >= total
            && pending(&mut conn) == 0),
        "settled {} of {total} (pending {}): a call blocked on the FIFO outlived its deadline; log:\n{}",
        settled(&mut conn),
        pending(&mut conn),
        daemon.log()
    );
    assert_exactly_once(&mut conn, total);
    // The uploads service has no size tiers: its jobs go to the `default`
    // runner, the clustalo jobs to `local`.
    assert_eq!(
        xlen(&mut conn, "queue:local") + xlen(&mut conn, "queue:default"),
        25,
        "every good job is routed"
    );
    assert_fifo_job_dead_lettered_as_deadline(&mut conn);

    assert!(daemon.terminate().success(), "log:\n{}", daemon.log());
    assert_eq!(pending(&mut conn), 0);
    assert_exactly_once(&mut conn, total);
}

/// SIGTERM while a plugin is blocked opening a FIFO: the daemon does not
/// wait past the call's deadline; it exits 0, with the job dead-lettered as
/// a deadline fault and nothing pending.
#[test]
fn sigterm_while_a_plugin_is_blocked_opening_a_fifo_exits_promptly() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let uploads = uploads_with_fifo(dir.path());
    let config = slivka_config(
        dir.path(),
        &redis.url(),
        "batch = 16",
        &uploads_route(&uploads).replace("deadline-ms = 200", "deadline-ms = 3000"),
    );
    let mut conn = redis.connection();
    push(&mut conn, SOURCE, &[fifo_job(1)]);
    let mut daemon = Daemon::start(&config, "fifo");
    // Delivered, so its validator is opening the FIFO, for up to 3 s.
    let delivered = |conn: &mut redis::Connection| {
        let group: redis::RedisResult<redis::Value> =
            redis::cmd("XPENDING").arg(SOURCE).arg(GROUP).query(conn);
        group.is_ok() && pending(conn) == 1
    };
    assert!(
        wait_until(Duration::from_secs(30), || delivered(&mut conn)),
        "the job was never read; log:\n{}",
        daemon.log()
    );
    let asked = std::time::Instant::now();
    assert!(daemon.terminate().success(), "log:\n{}", daemon.log());
    assert!(
        asked.elapsed() < Duration::from_secs(20),
        "shutdown took {:?}; log:\n{}",
        asked.elapsed(),
        daemon.log()
    );
    assert_eq!(pending(&mut conn), 0, "log:\n{}", daemon.log());
    let dead = entries(&mut conn, DEAD);
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["switchyard-error"], "deadline", "{dead:?}");
    assert!(
        dead[0]["switchyard-reason"].contains("deadline of 3000 ms exceeded"),
        "{dead:?}"
    );
}

/// The output limit the puppet has in [`PUPPET_OUTPUT`]: 16 KiB.
const PUPPET_OUTPUT_LIMIT: usize = 16 << 10;

/// The puppet's plugin table for [`PUPPET_ROUTE`]: a 16 KiB output limit.
const PUPPET_OUTPUT: &str = "[plugin.fixture-puppet]\noutput-kib = 16\n";

/// A job for the puppet: `job-id` and the script in its payload.
fn puppet_job(job_id: &str, script: serde_json::Value) -> Fields {
    vec![
        ("service".into(), b"puppet".to_vec()),
        ("job-id".into(), job_id.as_bytes().to_vec()),
        ("payload".into(), script.to_string().into_bytes()),
    ]
}

/// The output limit counts a plugin's answer as switchyard writes it: the
/// errors' JSON, escapes and all, not the strings' lengths. Errors that
/// would write more than the limit dead-letter the job as bad output, and
/// neither the rejected stream, the dead letters nor the status record
/// receives more than the limit.
#[test]
fn errors_over_the_output_limit_as_written_are_bad_output_and_never_reach_redis() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let puppet = format!("{PUPPET_OUTPUT}{PUPPET_ROUTE}");
    let config = slivka_config(dir.path(), &redis.url(), "batch = 16", &puppet);
    let mut conn = redis.connection();
    let daemon = Daemon::start(&config, "puppeteer");

    let empty = serde_json::json!(["", 0, ""]);
    let jobs = [
        // 8 KB of strings and headers, 44 KB of JSON.
        puppet_job(
            "empty-errors",
            serde_json::json!({ "errors": vec![empty.clone(); 1000] }),
        ),
        // 4 KB of control characters, 24 KB of JSON once escaped.
        puppet_job(
            "control-characters",
            serde_json::json!({ "errors": [["input", 1, "\u{1}".repeat(4000)]] }),
        ),
        // 4.4 KB of JSON: under the limit, the job is rejected as usual.
        puppet_job(
            "few-errors",
            serde_json::json!({ "errors": vec![empty; 100] }),
        ),
    ];
    push(&mut conn, SOURCE, &jobs);
    wait_settled(&mut conn, jobs.len(), &daemon);
    assert_exactly_once(&mut conn, jobs.len());

    // Nothing switchyard added to an outcome entry, nor any status record,
    // holds more than the limit.
    for stream in [REJECTED, DEAD] {
        for entry in entries(&mut conn, stream) {
            let added: usize = entry
                .iter()
                .filter(|(name, _)| name.starts_with("switchyard-"))
                .map(|(name, value)| name.len() + value.len())
                .sum();
            assert!(
                added <= PUPPET_OUTPUT_LIMIT,
                "{stream}: {} wrote {added} bytes, over the output limit of {PUPPET_OUTPUT_LIMIT}",
                entry["job-id"]
            );
        }
    }
    for job_id in ["empty-errors", "control-characters", "few-errors"] {
        let record = status(&mut conn, job_id);
        let size: usize = record.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert!(
            size <= PUPPET_OUTPUT_LIMIT,
            "the status record of {job_id} holds {size} bytes, over the output limit of \
             {PUPPET_OUTPUT_LIMIT}"
        );
    }

    // The sizes are those of the errors' JSON as it would have been written.
    let dead = entries(&mut conn, DEAD);
    for (job_id, written) in [("empty-errors", 44001), ("control-characters", 24049)] {
        let entry = dead
            .iter()
            .find(|e| e["job-id"] == job_id)
            .unwrap_or_else(|| panic!("{job_id} is not a dead letter: {dead:?}"));
        assert_eq!(entry["switchyard-stage"], "validate", "{job_id}");
        assert_eq!(entry["switchyard-error"], "bad-output", "{job_id}");
        let reason = &entry["switchyard-reason"];
        assert!(
            reason.contains("fixture-puppet@")
                && reason.contains(&format!(
                    "{written} bytes as written, over the output limit of {PUPPET_OUTPUT_LIMIT}"
                )),
            "{job_id}: {reason}"
        );
        let record = status(&mut conn, job_id);
        assert_eq!(record["status"], "ERROR", "{record:?}");
        assert_eq!(record["error"], "bad-output", "{record:?}");
        assert_eq!(&record["reason"], reason);
    }

    let rejected = entries(&mut conn, REJECTED);
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0]["job-id"], "few-errors");
    let errors: serde_json::Value =
        serde_json::from_str(&rejected[0]["switchyard-errors"]).unwrap();
    assert_eq!(errors.as_array().map(Vec::len), Some(100));
}

#[test]
fn a_plugin_whose_memories_together_pass_memory_mib_dead_letters_its_job() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    // Four core instances, each with its own memory; `route` grows three
    // of them to 60 MiB: each fits in 64 MiB, together they do not.
    let source = repo().join("tests/fixtures/components/four-memories.wat");
    let component = dir.path().join("four-memories.wasm");
    std::fs::write(&component, wat::parse_file(&source).unwrap()).unwrap();
    let extra = format!(
        r#"
[plugin.four-memories]
file = "{}"
memory-mib = 64

[[routes]]
name = "hoard"
source = "jobs"
match = {{ service = "hoard" }}
router = "four-memories"
targets = ["queue:local"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#,
        component.display()
    );
    let config = slivka_config(dir.path(), &redis.url(), "batch = 16", &extra);
    let mut conn = redis.connection();
    let daemon = Daemon::start(&config, "hoarder");
    push(
        &mut conn,
        SOURCE,
        &[job_for("hoard", 1), job_of(Kind::Local, 2)],
    );
    wait_settled(&mut conn, 2, &daemon);
    assert_exactly_once(&mut conn, 2);
    assert_eq!(xlen(&mut conn, "queue:local"), 1, "the good job is routed");
    let dead = entries(&mut conn, DEAD);
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["switchyard-error"], "memory", "{dead:?}");
    assert!(
        dead[0]["switchyard-reason"].contains("four-memories@")
            && dead[0]["switchyard-reason"].contains("memory limit of 67108864 bytes"),
        "{dead:?}"
    );
}
