//! What an operator sees and does: exact counts on `/metrics` after a known
//! mix, `/readyz` following Redis, `switchyard status --json` after a known
//! run, and replaying dead letters, including a replay killed half-way.

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use crate::harness::RedisServer;
use crate::harness::daemon::*;

const TIMEOUT: Duration = Duration::from_secs(60);

/// Sample lines of the exposition as `name{labels}` → value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn switchyard(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn metrics_count_a_known_mix_exactly_and_status_reports_the_run() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(
        dir.path(),
        &redis.url(),
        "",
        "[metrics]\nlisten = \"127.0.0.1:0\"\n",
    );
    let mut conn = redis.connection();
    let n = 200;
    let kinds = send_mix(&mut conn, n);
    let daemon = Daemon::start(&config, "counted");
    assert!(wait_until(TIMEOUT, || settled(&mut conn) == n as usize
        && pending(&mut conn) == 0));
    let port = daemon.metrics_port();

    let HttpAnswer { code, body, .. } = http_get(port, "/metrics", None).unwrap();
    assert_eq!(code, 200);
    let m = samples(&body);
    let k = |kind| kinds.get(&kind).copied().unwrap_or(0) as f64;
    let settled_total = |route: &str, outcome: &str, target: &str| {
        m.get(&format!(
            r#"switchyard_jobs_settled_total{{route="{route}",outcome="{outcome}",target="{target}"}}"#
        ))
        .copied()
        .unwrap_or(0.0)
    };
    assert_eq!(m[r#"switchyard_jobs_read_total{stream="jobs"}"#], n as f64);
    assert_eq!(
        settled_total("slivka", "dispatched", "queue:local"),
        k(Kind::Local)
    );
    assert_eq!(
        settled_total("slivka", "dispatched", "queue:default"),
        k(Kind::Cluster)
    );
    assert_eq!(
        settled_total("slivka", "rejected", REJECTED),
        k(Kind::TooMany) + k(Kind::Invalid) + k(Kind::NotJson)
    );
    assert_eq!(
        settled_total("none", "dead_lettered", DEAD),
        k(Kind::NoPayload) + k(Kind::UnknownService)
    );
    // Every job with a payload on the slivka route met the validator; the
    // valid ones met the router.
    let validated =
        k(Kind::Local) + k(Kind::Cluster) + k(Kind::TooMany) + k(Kind::Invalid) + k(Kind::NotJson);
    assert_eq!(
        m[r#"switchyard_plugin_call_seconds_count{plugin="slivka-form",call="validate"}"#],
        validated
    );
    assert_eq!(
        m[r#"switchyard_plugin_call_seconds_count{plugin="fasta-size",call="route"}"#],
        k(Kind::Local) + k(Kind::Cluster) + k(Kind::TooMany)
    );
    assert_eq!(m["switchyard_jobs_in_flight"], 0.0);

    // The heartbeat is written every few seconds; then status sees the daemon.
    let mut report = serde_json::Value::Null;
    assert!(wait_until(TIMEOUT, || {
        let (ok, stdout, _) =
            switchyard(&["status", "--config", config.to_str().unwrap(), "--json"]);
        report = serde_json::from_str(&stdout).unwrap_or_default();
        ok && report["daemons"].as_array().is_some_and(|d| !d.is_empty())
    }));
    let source = &report["sources"][0];
    assert_eq!(source["stream"], "jobs");
    assert_eq!(source["length"], n);
    assert_eq!(source["pending"], 0);
    assert_eq!(source["lag"], 0);
    assert_eq!(source["consumers"][0]["name"], "counted");
    let lengths: HashMap<String, u64> = report["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stream"].as_str().unwrap().to_owned(),
                s["length"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(lengths["queue:local"] as f64, k(Kind::Local));
    assert_eq!(
        lengths[DEAD] as f64,
        k(Kind::NoPayload) + k(Kind::UnknownService)
    );
    let daemon_report = &report["daemons"][0];
    assert_eq!(daemon_report["consumer"], "counted");
    let plugins: Vec<&str> = daemon_report["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        plugins.iter().any(|p| p.starts_with("slivka-form@")),
        "{plugins:?}"
    );
    assert!(
        plugins.iter().any(|p| p.starts_with("fasta-size@")),
        "{plugins:?}"
    );

    // The text form is for people; it names the same things.
    let (ok, text, _) = switchyard(&["status", "--config", config.to_str().unwrap()]);
    assert!(ok);
    assert!(
        text.contains("counted") && text.contains("jobs:dead") && text.contains("slivka-form@"),
        "{text}"
    );
}

#[test]
fn readyz_follows_redis_away_and_back() {
    let mut redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(
        dir.path(),
        &redis.url(),
        "",
        "[metrics]\nlisten = \"127.0.0.1:0\"\n",
    );
    let daemon = Daemon::start(&config, "watched");
    let port = daemon.metrics_port();
    let code = |path| http_get(port, path, None).map_or(0, |a| a.code);
    assert!(
        wait_until(TIMEOUT, || code("/readyz") == 200),
        "log:\n{}",
        daemon.log()
    );
    assert_eq!(code("/healthz"), 200);

    redis.stop();
    assert!(
        wait_until(TIMEOUT, || code("/readyz") == 503),
        "log:\n{}",
        daemon.log()
    );
    let body = http_get(port, "/readyz", None).unwrap().body;
    assert!(body.contains("Redis is unreachable"), "{body}");
    assert_eq!(code("/healthz"), 200, "the process is alive all along");

    redis.start_again();
    assert!(
        wait_until(TIMEOUT, || code("/readyz") == 200),
        "log:\n{}",
        daemon.log()
    );
    // And it routes again.
    let mut conn = redis.connection();
    push(&mut conn, SOURCE, &[job_of(Kind::Local, 1)]);
    assert!(
        wait_until(TIMEOUT, || xlen(&mut conn, "queue:local") == 1),
        "log:\n{}",
        daemon.log()
    );
}

#[test]
fn replay_after_the_fix_routes_dead_letters_and_empties_the_stream() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    // mafft jobs arrive before anyone routes mafft: they are dead letters.
    let config = slivka_config(dir.path(), &redis.url(), "", "");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            r#"["clustalo", "mafft", "jpred"]"#,
            r#"["clustalo", "jpred"]"#,
        ),
    )
    .unwrap();
    let mut conn = redis.connection();
    let mafft = |n| {
        let mut fields = job_of(Kind::Local, n);
        fields[0].1 = b"mafft".to_vec();
        let payload = serde_json::json!({"inputs": {"input": fasta(5, 60), "max-iter": "2"}});
        fields[2].1 = payload.to_string().into_bytes();
        fields
    };
    let jobs: Vec<Fields> = (0..30)
        .map(mafft)
        .chain((30..40).map(|n| job_of(Kind::Local, n)))
        .collect();
    push(&mut conn, SOURCE, &jobs);
    let mut daemon = Daemon::start(&config, "fixer");
    assert!(wait_until(TIMEOUT, || settled(&mut conn) == 40));
    assert_eq!(xlen(&mut conn, DEAD), 30);
    let (ok, listing, _) = switchyard(&[
        "dead-letters",
        "--config",
        config.to_str().unwrap(),
        "--count",
        "5",
    ]);
    assert!(ok);
    assert!(
        listing.contains("30 dead letters") && listing.contains("no-route"),
        "{listing}"
    );
    daemon.terminate();

    // The fix: route mafft. Then replay.
    std::fs::write(&config, text).unwrap();
    let _daemon = Daemon::start(&config, "fixer");
    let (ok, stdout, stderr) = switchyard(&[
        "replay",
        "--config",
        config.to_str().unwrap(),
        "--from",
        DEAD,
        "--to",
        SOURCE,
        "--match",
        "service=mafft",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("replayed 30"), "{stdout}");
    assert!(wait_until(TIMEOUT, || xlen(&mut conn, "queue:local") == 40
        && pending(&mut conn) == 0));
    assert_eq!(xlen(&mut conn, DEAD), 0);
    for n in 0..30 {
        assert_eq!(status(&mut conn, &job_id(n))["status"], "ACCEPTED");
    }
}

#[test]
fn an_interrupted_replay_loses_and_duplicates_nothing() {
    let redis = RedisServer::start();
    let mut conn = redis.connection();
    let n = 30_000;
    let letters: Vec<Fields> = (0..n)
        .map(|i| {
            let mut fields = job_of(Kind::Local, i);
            fields.push(("switchyard-reason".into(), b"no route".to_vec()));
            fields
        })
        .collect();
    push(&mut conn, DEAD, &letters);

    let mut replay = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args([
            "replay",
            "--redis-url",
            &redis.url(),
            "--from",
            DEAD,
            "--to",
            SOURCE,
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_until(TIMEOUT, || xlen(&mut conn, SOURCE) > 1000));
    replay.kill().unwrap();
    replay.wait().unwrap();
    // A script the killed replay had already sent may still run: Redis
    // runs what it read from a client before it sees the client gone. Once
    // the replay's connection has left CLIENT LIST, nothing of it is left
    // to run.
    assert!(
        wait_until(TIMEOUT, || {
            let clients: String = redis::cmd("CLIENT").arg("LIST").query(&mut conn).unwrap();
            clients.lines().count() == 1
        }),
        "the killed replay's connection is still open"
    );
    let (moved, left): (usize, usize) = redis::pipe()
        .atomic()
        .cmd("XLEN")
        .arg(SOURCE)
        .cmd("XLEN")
        .arg(DEAD)
        .query(&mut conn)
        .unwrap();
    assert!(
        left > 0,
        "the replay finished before it was killed; make the test bigger"
    );
    assert_eq!(moved + left, n as usize, "moved {moved}, left {left}");

    // Every job is in exactly one place, and replayed jobs carry no notes.
    let mut seen = std::collections::HashSet::new();
    for stream in [SOURCE, DEAD] {
        for entry in entries(&mut conn, stream) {
            assert!(
                seen.insert(entry["job-id"].clone()),
                "{} twice",
                entry["job-id"]
            );
            if stream == SOURCE {
                assert!(!entry.contains_key("switchyard-reason"));
            }
        }
    }
    assert_eq!(seen.len(), n as usize);

    // Finishing the replay moves the rest.
    let (ok, stdout, _) = switchyard(&[
        "replay",
        "--redis-url",
        &redis.url(),
        "--from",
        DEAD,
        "--to",
        SOURCE,
    ]);
    assert!(ok);
    assert!(stdout.contains(&format!("replayed {left} ")), "{stdout}");
    assert_eq!(xlen(&mut conn, SOURCE), n as usize);

    // And the replayed jobs are routed, each once.
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(dir.path(), &redis.url(), "", "");
    let daemon = Daemon::start(&config, "after-replay");
    assert!(
        wait_until(Duration::from_secs(180), || settled(&mut conn)
            == n as usize
            && pending(&mut conn) == 0),
        "settled {} of {n}; log:\n{}",
        settled(&mut conn),
        daemon.log()
    );
    assert_exactly_once(&mut conn, n as usize);
}

/// `switchyard status --json` with `config`, parsed; `Null` when it fails.
fn status_report(config: &std::path::Path) -> serde_json::Value {
    let (ok, stdout, _) = switchyard(&["status", "--config", config.to_str().unwrap(), "--json"]);
    if ok {
        serde_json::from_str(&stdout).unwrap_or_default()
    } else {
        serde_json::Value::Null
    }
}

/// Whether `report` lists daemon `consumer` alive.
fn lists_daemon(report: &serde_json::Value, consumer: &str) -> bool {
    report["daemons"]
        .as_array()
        .is_some_and(|d| d.iter().any(|d| d["consumer"] == consumer))
}

#[test]
fn status_lists_a_running_daemon_among_thousands_of_other_keys() {
    let redis = RedisServer::start();
    let mut conn = redis.connection();
    let mut pipe = redis::pipe();
    for n in 0..5_000 {
        pipe.cmd("SET")
            .arg(format!("unrelated:{n}"))
            .arg(n)
            .ignore();
    }
    for n in 0..3_000 {
        pipe.cmd("HSET")
            .arg(format!("switchyard:job:earlier-{n}"))
            .arg("status")
            .arg("ACCEPTED")
            .ignore();
    }
    pipe.query::<()>(&mut conn).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(dir.path(), &redis.url(), "", "");
    let daemon = Daemon::start(&config, "among-many");

    let mut report = serde_json::Value::Null;
    assert!(
        wait_until(TIMEOUT, || {
            report = status_report(&config);
            lists_daemon(&report, "among-many")
        }),
        "status does not list the daemon: {report:#}\nlog:\n{}",
        daemon.log()
    );
    // Over 5,000 keys the status records are estimated from random keys,
    // and the report says so (the estimate's spread is about 200 here).
    let memory = &report["memory"];
    assert_eq!(memory["status-records-counted"], false, "{memory:#}");
    let estimate = memory["status-records"].as_u64().unwrap();
    assert!((1_500..=4_500).contains(&estimate), "{memory:#}");
    let (ok, text, _) = switchyard(&["status", "--config", config.to_str().unwrap()]);
    assert!(ok);
    assert!(
        text.contains("among-many") && text.contains("estimated from"),
        "{text}"
    );
}

/// The value of sample `name` on `/metrics`, once it is there.
fn gauge(port: u16, name: &str) -> Option<f64> {
    let body = http_get(port, "/metrics", None)?.body;
    samples(&body).get(name).copied()
}

#[test]
fn lag_reads_zero_after_a_redis_restart_and_counts_what_arrives_later() {
    let mut redis = RedisServer::start_durable();
    let dir = tempfile::tempdir().unwrap();
    // No takeover during the test: the entry a vanished consumer holds
    // stays pending.
    let config = slivka_config(
        dir.path(),
        &redis.url(),
        "claim-idle-ms = 600000",
        "[metrics]\nlisten = \"127.0.0.1:0\"\n",
    );
    let mut conn = redis.connection();
    let jobs: Vec<Fields> = (0..30).map(|n| mixed_job(n).1).collect();
    push(&mut conn, SOURCE, &jobs);
    let mut daemon = Daemon::start(&config, "lagless");
    wait_settled(&mut conn, jobs.len(), &daemon);

    // Redis 7.0 loads the group without its `entries-read`: from here on
    // its own `lag` is unknown (nil) or wrong until the group reads the
    // stream's last entry again.
    redis.restart();
    let mut conn = redis.connection();
    let lag = |report: &serde_json::Value| report["sources"][0]["lag"].as_u64();
    let mut report = serde_json::Value::Null;
    assert!(
        wait_until(TIMEOUT, || {
            report = status_report(&config);
            lag(&report) == Some(0)
        }),
        "status after the restart: {report:#}"
    );

    // Three more with no daemon running: a backlog of three.
    daemon.terminate();
    push(
        &mut conn,
        SOURCE,
        &[job_of(Kind::Local, 100), job_of(Kind::Local, 101)],
    );
    push(&mut conn, SOURCE, &[job_of(Kind::Local, 102)]);
    let report = status_report(&config);
    assert_eq!(lag(&report), Some(3), "{report:#}");

    // A consumer that reads one and vanishes: one pending, with an age.
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(GROUP)
        .arg("vanished")
        .arg("COUNT")
        .arg(1)
        .arg("STREAMS")
        .arg(SOURCE)
        .arg(">")
        .query(&mut conn)
        .unwrap();
    let report = status_report(&config);
    let source = &report["sources"][0];
    assert_eq!(
        (source["lag"].as_u64(), source["pending"].as_u64()),
        (Some(2), Some(1)),
        "{source:#}"
    );
    assert!(source["oldest-pending-ms"].as_u64().is_some(), "{source:#}");

    // The daemon's gauges say the same: it routes the two, and the entry
    // the vanished consumer holds ages.
    let daemon = Daemon::start(&config, "lagless");
    let port = daemon.metrics_port();
    assert!(
        wait_until(TIMEOUT, || {
            gauge(port, r#"switchyard_consumer_lag{stream="jobs"}"#) == Some(0.0)
                && gauge(port, r#"switchyard_pending_entries{stream="jobs"}"#) == Some(1.0)
                && gauge(port, r#"switchyard_oldest_pending_seconds{stream="jobs"}"#)
                    .is_some_and(|age| age > 0.0)
        }),
        "gauges: {:?}; log:\n{}",
        http_get(port, "/metrics", None),
        daemon.log()
    );

    // Taken over from the vanished consumer, every job ends settled.
    drop(daemon);
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(dir.path(), &redis.url(), "claim-idle-ms = 100", "");
    let daemon = Daemon::start(&config, "lagless");
    wait_settled(&mut conn, jobs.len() + 3, &daemon);
}

/// Runs `switchyard ARGS`, killing it if it has not ended within `TIMEOUT`:
/// `None` then (a replay that chases its own tail never ends).
fn switchyard_ending(args: &[&str]) -> Option<(bool, String, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    if !wait_until(TIMEOUT, || child.try_wait().unwrap().is_some()) {
        child.kill().unwrap();
        child.wait().unwrap();
        return None;
    }
    let output = child.wait_with_output().unwrap();
    Some((
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

/// `n` dead letters of `service` jobs read from `source`, as the daemon
/// writes them (the job's fields, then switchyard's notes).
fn dead_letters(source: &str, first: u64, n: u64) -> Vec<Fields> {
    (first..first + n)
        .map(|i| {
            let mut fields = job_of(Kind::Local, i);
            // As the daemon writes it: the source stream and the entry's id.
            let from = format!("{source}/{}-0", 1_700_000_000_000 + i);
            fields.push(("switchyard-source".into(), from.into_bytes()));
            fields.push(("switchyard-error".into(), b"no-route".to_vec()));
            fields
        })
        .collect()
}

#[test]
fn replaying_dead_letters_that_fail_again_ends_and_moves_only_those_present_at_start() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    // No route takes service `nobody`: every such job is a dead letter, and
    // is one again after each replay.
    let config = slivka_config(dir.path(), &redis.url(), "", "");
    let mut conn = redis.connection();
    let n = 200;
    let jobs: Vec<Fields> = (0..n)
        .map(|i| {
            let mut fields = job_of(Kind::Local, i);
            fields[0].1 = b"nobody".to_vec();
            fields
        })
        .collect();
    push(&mut conn, SOURCE, &jobs);
    let daemon = Daemon::start(&config, "refailing");
    wait_settled(&mut conn, n as usize, &daemon);
    assert_eq!(xlen(&mut conn, DEAD), n as usize);

    let config_arg = config.to_str().unwrap();
    let (ok, stdout, stderr) = switchyard_ending(&[
        "replay", "--config", config_arg, "--from", DEAD, "--to", SOURCE,
    ])
    .expect("the replay did not end: it chases the dead letters it makes");
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!("replayed {n} dead letters")),
        "{stdout}"
    );
    // Each replayed job was routed once more and is a dead letter again.
    assert!(
        wait_until(TIMEOUT, || xlen(&mut conn, SOURCE) == 2 * n as usize
            && xlen(&mut conn, DEAD) == n as usize
            && pending(&mut conn) == 0),
        "source {}, dead {}; log:\n{}",
        xlen(&mut conn, SOURCE),
        xlen(&mut conn, DEAD),
        daemon.log()
    );
}

#[test]
fn replay_refuses_to_put_dead_letters_back_where_it_takes_them_from() {
    let redis = RedisServer::start();
    let mut conn = redis.connection();
    push(&mut conn, DEAD, &dead_letters(SOURCE, 0, 1));
    let (ok, _, stderr) = switchyard_ending(&[
        "replay",
        "--redis-url",
        &redis.url(),
        "--from",
        DEAD,
        "--to",
        DEAD,
    ])
    .expect("replay --from S --to S never ends");
    assert!(!ok);
    assert!(
        stderr.contains("--from jobs:dead --to jobs:dead"),
        "{stderr}"
    );
    assert_eq!(xlen(&mut conn, DEAD), 1);
}

#[test]
fn replay_refuses_a_target_no_route_reads_and_names_the_sources() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(dir.path(), &redis.url(), "", "");
    let mut conn = redis.connection();
    push(&mut conn, DEAD, &dead_letters(SOURCE, 0, 2));
    let (ok, _, stderr) = switchyard(&[
        "replay",
        "--config",
        config.to_str().unwrap(),
        "--from",
        DEAD,
        "--to",
        "queue:local",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("no route reads stream queue:local") && stderr.contains("read: jobs"),
        "{stderr}"
    );
    assert_eq!(xlen(&mut conn, DEAD), 2);
    assert_eq!(xlen(&mut conn, "queue:local"), 0);
}

#[test]
fn replay_dry_run_prints_the_count_and_moves_nothing() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(dir.path(), &redis.url(), "", "");
    let mut conn = redis.connection();
    push(&mut conn, DEAD, &dead_letters(SOURCE, 0, 5));
    let (ok, stdout, stderr) = switchyard(&[
        "replay",
        "--config",
        config.to_str().unwrap(),
        "--from",
        DEAD,
        "--dry-run",
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("would replay 5 dead letters from jobs:dead (5 to jobs)"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&job_id(4)),
        "each letter is listed: {stdout}"
    );
    assert_eq!(xlen(&mut conn, DEAD), 5);
    assert_eq!(xlen(&mut conn, SOURCE), 0);
}

#[test]
fn replay_sends_each_dead_letter_to_its_own_source_by_default() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let second = SLIVKA_SECOND_ROUTE;
    let config = slivka_config(dir.path(), &redis.url(), "", second);
    let mut conn = redis.connection();
    push(&mut conn, DEAD, &dead_letters(SOURCE, 0, 3));
    push(&mut conn, DEAD, &dead_letters("jobs:second", 3, 2));
    push(&mut conn, DEAD, &dead_letters("retired", 5, 1));
    let (ok, stdout, stderr) = switchyard(&[
        "replay",
        "--config",
        config.to_str().unwrap(),
        "--from",
        DEAD,
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("replayed 5 dead letters from jobs:dead (3 to jobs, 2 to jobs:second)")
            && stdout.contains("left 1 in place: source retired is read by no route"),
        "{stdout}"
    );
    let ids = |conn: &mut redis::Connection, stream| -> Vec<String> {
        entries(conn, stream)
            .into_iter()
            .map(|e| e["job-id"].clone())
            .collect()
    };
    assert_eq!(ids(&mut conn, SOURCE), [job_id(0), job_id(1), job_id(2)]);
    assert_eq!(ids(&mut conn, "jobs:second"), [job_id(3), job_id(4)]);
    assert_eq!(ids(&mut conn, DEAD), [job_id(5)]);

    // Back on their sources, the five are routed; the sixth stays a dead
    // letter.
    let daemon = Daemon::start(&config, "after-replay");
    wait_settled(&mut conn, 6, &daemon);
    assert_eq!(xlen(&mut conn, TARGETS[0]), 5, "log:\n{}", daemon.log());
}

/// A second route like the slivka one, reading `jobs:second`.
const SLIVKA_SECOND_ROUTE: &str = r#"
[[routes]]
name = "second"
source = "jobs:second"
match = { service = ["clustalo"] }
validators = ["slivka-form"]
router = "fasta-size"
targets = ["queue:local", "queue:default"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#;
