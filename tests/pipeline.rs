//! The daemon's main job, end to end: the real binary against a private
//! redis-server, with the real slivka-form and fasta-size plugins. A mixed
//! stream is routed exactly once, across crashes, restarts and a second
//! daemon.

use std::collections::HashMap;

use redis::Value;

use crate::harness::RedisServer;
use crate::harness::daemon::*;

fn expected_per_stream(kinds: &HashMap<Kind, usize>) -> HashMap<String, usize> {
    let mut expected = HashMap::new();
    for stream in TARGETS.iter().chain([&REJECTED, &DEAD]) {
        expected.insert(stream.to_string(), 0);
    }
    for (kind, count) in kinds {
        *expected.get_mut(kind.stream()).unwrap() += count;
    }
    expected
}

/// Asserts that the mix of `kinds` was routed exactly once, each job to the
/// stream its kind goes to; on failure, shows the dead letters' reasons.
fn assert_mix_routed(conn: &mut redis::Connection, kinds: &HashMap<Kind, usize>, daemon: &Daemon) {
    let per_stream = assert_exactly_once(conn, kinds.values().sum());
    let expected = expected_per_stream(kinds);
    if per_stream != expected {
        let mut reasons: HashMap<String, usize> = HashMap::new();
        for entry in entries(conn, DEAD) {
            *reasons
                .entry(entry["switchyard-reason"].clone())
                .or_default() += 1;
        }
        panic!(
            "{per_stream:?} != {expected:?}\ndead letters by reason: {reasons:#?}\nlog:\n{}",
            daemon.log()
        );
    }
}

#[test]
fn a_mixed_stream_is_routed_exactly_once_with_status_records() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(dir.path(), &redis.url(), "", "");
    let mut conn = redis.connection();
    let n = 400;
    let kinds = send_mix(&mut conn, n);
    // Hostile entries beside the mix: a 2 MB sequence, fields that are not
    // UTF-8, thousands of fields.
    let big = serde_json::json!({"inputs": {"input": format!(">big\n{}\n", "A".repeat(2 << 20))}})
        .to_string();
    push(
        &mut conn,
        SOURCE,
        &[
            vec![
                ("service".into(), b"clustalo".to_vec()),
                ("job-id".into(), b"hostile-big".to_vec()),
                ("payload".into(), big.into_bytes()),
            ],
            vec![
                ("service".into(), b"clustalo".to_vec()),
                ("job-id".into(), b"hostile-bytes".to_vec()),
                ("payload".into(), vec![0xff, 0xfe, 0x00, 0x80]),
            ],
            (0..3000)
                .map(|i| (format!("f{i}"), b"x".to_vec()))
                .chain([("job-id".into(), b"hostile-fields".to_vec())])
                .collect(),
        ],
    );
    let total = n as usize + 3;

    let mut daemon = Daemon::start(&config, "solo");
    wait_settled(&mut conn, total, &daemon);

    let per_stream = assert_exactly_once(&mut conn, total);
    let mut expected = expected_per_stream(&kinds);
    *expected.get_mut(DEAD).unwrap() += 2; // too large, too many fields
    *expected.get_mut(REJECTED).unwrap() += 1; // payload bytes are not JSON
    assert_eq!(per_stream, expected);

    // Every job has a status record saying where it went.
    for i in 0..n {
        let (kind, _) = mixed_job(i);
        let record = status(&mut conn, &job_id(i));
        assert_eq!(
            record.get("status").map(String::as_str),
            Some(kind.status()),
            "job {i} ({kind:?}): {record:?}"
        );
        if kind.status() == "ACCEPTED" {
            assert_eq!(record["targets"], kind.stream());
            assert!(
                record["plugins"].contains("slivka-form@")
                    && record["plugins"].contains("fasta-size@")
            );
        }
    }
    let big = status(&mut conn, "hostile-big");
    assert_eq!(big["status"], "ERROR");
    assert!(big["reason"].contains("over the maximum"), "{big:?}");

    // Dispatched entries carry the job's fields, the source and the plugins.
    let local = entries(&mut conn, "queue:local");
    let first = &local[0];
    assert_eq!(first["service"], "clustalo");
    assert!(first["switchyard-source"].starts_with("jobs/"));
    assert_eq!(first["runner"], "local");
    // Rejected entries carry the errors as JSON, naming field and code.
    let rejected = entries(&mut conn, REJECTED);
    let invalid = rejected
        .iter()
        .find(|e| {
            e.get("switchyard-errors")
                .is_some_and(|e| e.contains("iterations"))
        })
        .expect("the invalid-iterations job is rejected with its field named");
    let errors: serde_json::Value = serde_json::from_str(&invalid["switchyard-errors"]).unwrap();
    assert_eq!(errors[0]["field"], "iterations");
    assert_eq!(errors[0]["code"], "max_value");
    // Dead letters say why in words.
    let dead = entries(&mut conn, DEAD);
    assert!(
        dead.iter().any(|e| e["switchyard-error"] == "no-route"
            && e["switchyard-reason"].contains("no-such-tool"))
    );
    assert!(dead.iter().any(|e| e["switchyard-error"] == "no-payload"));

    assert!(daemon.terminate().success());
}

#[test]
fn kill_9_mid_stream_then_restart_routes_everything_exactly_once() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(dir.path(), &redis.url(), "batch = 64\nin-flight = 256", "");
    let mut conn = redis.connection();
    let n = 4000;
    let kinds = send_mix(&mut conn, n);

    let mut first = Daemon::start(&config, "crashy");
    assert!(
        wait_until(SETTLE_TIMEOUT, || settled(&mut conn) > 200),
        "nothing settled; log:\n{}",
        first.log()
    );
    first.kill();
    let at_kill = settled(&mut conn);

    let second = Daemon::start(&config, "crashy");
    wait_settled(&mut conn, n as usize, &second);
    let per_stream = assert_exactly_once(&mut conn, n as usize);
    assert_eq!(per_stream, expected_per_stream(&kinds));
    eprintln!("killed after {at_kill} of {n} settled");
}

#[test]
fn two_daemons_split_the_work_and_reclaim_a_dead_ones_entries() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(
        dir.path(),
        &redis.url(),
        "batch = 32\nin-flight = 128\nclaim-idle-ms = 1000",
        "",
    );
    let mut conn = redis.connection();
    let n = 3000;
    let a = Daemon::start(&config, "a");
    let mut b = Daemon::start(&config, "b");
    // Both read before the jobs arrive, so both get a share.
    assert!(wait_until(SETTLE_TIMEOUT, || {
        let consumers: Vec<HashMap<String, Value>> = redis::cmd("XINFO")
            .arg("CONSUMERS")
            .arg("jobs")
            .arg("switchyard")
            .query(&mut conn)
            .unwrap_or_default();
        consumers.len() == 2
    }));
    let kinds = send_mix(&mut conn, n);

    // b dies mid-stream, with entries pending under its name; a takes them
    // over once they have been idle for the claim time.
    assert!(wait_until(SETTLE_TIMEOUT, || {
        settled(&mut conn) > 300 && settled_by(&mut conn, "b", n) > 0
    }));
    b.kill();
    wait_settled(&mut conn, n as usize, &a);
    let per_stream = assert_exactly_once(&mut conn, n as usize);
    assert_eq!(per_stream, expected_per_stream(&kinds));

    let mut by_consumer: HashMap<String, usize> = HashMap::new();
    for i in 0..n {
        let record = status(&mut conn, &job_id(i));
        *by_consumer.entry(record["consumer"].clone()).or_default() += 1;
    }
    assert!(
        by_consumer.get("a").copied().unwrap_or(0) > 0,
        "{by_consumer:?}"
    );
    assert!(
        by_consumer.get("b").copied().unwrap_or(0) > 0,
        "{by_consumer:?}"
    );
}

#[test]
fn an_entry_delivered_too_often_is_dead_lettered() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(
        dir.path(),
        &redis.url(),
        "claim-idle-ms = 200\nmax-deliveries = 3",
        "",
    );
    let mut conn = redis.connection();
    // A consumer that keeps crashing on an entry: it was delivered, and
    // claimed again and again, without ever being acknowledged.
    redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(SOURCE)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .exec(&mut conn)
        .unwrap();
    push(&mut conn, SOURCE, &[job_of(Kind::Local, 1)]);
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(GROUP)
        .arg("ghost")
        .arg("COUNT")
        .arg(1)
        .arg("STREAMS")
        .arg(SOURCE)
        .arg(">")
        .query(&mut conn)
        .unwrap();
    let id: String = {
        let list = entries(&mut conn, SOURCE);
        assert_eq!(list.len(), 1);
        let reply: Vec<Vec<redis::Value>> = redis::cmd("XPENDING")
            .arg(SOURCE)
            .arg(GROUP)
            .arg("-")
            .arg("+")
            .arg(10)
            .query(&mut conn)
            .unwrap();
        redis::from_redis_value(reply[0][0].clone()).unwrap()
    };
    let _: redis::Value = redis::cmd("XCLAIM")
        .arg(SOURCE)
        .arg(GROUP)
        .arg("ghost")
        .arg(0)
        .arg(&id)
        .arg("RETRYCOUNT")
        .arg(3)
        .query(&mut conn)
        .unwrap();

    let daemon = Daemon::start(&config, "survivor");
    wait_settled(&mut conn, 1, &daemon);
    let dead = entries(&mut conn, DEAD);
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["switchyard-stage"], "deliveries");
    assert!(
        dead[0]["switchyard-reason"].contains("max-deliveries 3"),
        "{:?}",
        dead[0]
    );
    assert_eq!(status(&mut conn, &job_id(1))["status"], "ERROR");
}

#[test]
fn redis_restarted_mid_run_loses_nothing() {
    let mut redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(dir.path(), &redis.url(), "batch = 64\nin-flight = 256", "");
    let mut conn = redis.connection();
    let n = 6000;
    let kinds = send_mix(&mut conn, n);

    let daemon = Daemon::start(&config, "steady");
    assert!(wait_until(SETTLE_TIMEOUT, || settled(&mut conn) > 300));
    redis.restart();
    let mut conn = redis.connection();
    wait_settled(&mut conn, n as usize, &daemon);
    assert_mix_routed(&mut conn, &kinds, &daemon);
    assert!(
        daemon.log().contains("retrying in"),
        "the daemon never noticed the restart; log:\n{}",
        daemon.log()
    );
}

/// Creates the group on the jobs already sent, then makes Redis refuse
/// every write (`maxmemory` 1): the daemon can read them, never settle.
fn starve(conn: &mut redis::Connection) {
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(SOURCE)
        .arg(GROUP)
        .arg(0)
        .query(conn)
        .unwrap();
    set_maxmemory(conn, 1);
}

/// Redis answering "not now" (out of memory here; loading its data after a
/// restart, busy with a script) is no fault of the jobs: they wait, pending,
/// and are routed once Redis recovers, none dead-lettered for it.
#[test]
fn jobs_wait_out_a_redis_out_of_memory_and_are_routed_after() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(dir.path(), &redis.url(), "", "");
    let mut conn = redis.connection();
    let n = 500;
    let kinds = send_mix(&mut conn, n);
    starve(&mut conn);

    let daemon = Daemon::start(&config, "starved");
    let refused = wait_until(SETTLE_TIMEOUT, || {
        daemon.log().contains("cannot settle jobs") && daemon.log().contains("OOM")
    });
    assert!(
        refused,
        "Redis never refused a write; log:\n{}",
        daemon.log()
    );
    assert_eq!(settled(&mut conn), 0, "log:\n{}", daemon.log());
    set_maxmemory(&mut conn, 0);

    wait_settled(&mut conn, n as usize, &daemon);
    assert_mix_routed(&mut conn, &kinds, &daemon);
}

#[test]
fn sigterm_lets_jobs_in_flight_finish_and_exits_0() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(
        dir.path(),
        &redis.url(),
        "batch = 128\nin-flight = 1024",
        "",
    );
    let mut conn = redis.connection();
    let n = 20_000;
    send_mix(&mut conn, n);

    let mut daemon = Daemon::start(&config, "graceful");
    assert!(wait_until(SETTLE_TIMEOUT, || settled(&mut conn) > 100));
    let status = daemon.terminate();
    assert!(status.success(), "exit {status:?}; log:\n{}", daemon.log());
    // What was read was settled: nothing is left pending.
    assert_eq!(pending(&mut conn), 0, "log:\n{}", daemon.log());
    let done = settled(&mut conn);
    assert!(
        done < n as usize,
        "the test needs jobs left when SIGTERM arrives"
    );

    // A new daemon routes the rest, still exactly once.
    let again = Daemon::start(&config, "graceful");
    wait_settled(&mut conn, n as usize, &again);
    assert_exactly_once(&mut conn, n as usize);
}

/// A stop cannot wait on Redis forever: with every settle refused (out of
/// memory), SIGTERM ends the daemon once `shutdown-timeout` has passed,
/// exit 1, naming the jobs left in flight; their entries stay pending, and
/// a daemon started after Redis recovers settles every one exactly once.
#[test]
fn a_stop_whose_settles_keep_failing_exits_1_at_shutdown_timeout_leaving_entries_pending() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(dir.path(), &redis.url(), "shutdown-timeout = \"2s\"", "");
    let mut conn = redis.connection();
    let n = 300;
    let kinds = send_mix(&mut conn, n);
    starve(&mut conn);

    let mut daemon = Daemon::start(&config, "stuck");
    let refused = wait_until(SETTLE_TIMEOUT, || {
        daemon.log().contains("cannot settle jobs") && pending(&mut conn) > 0
    });
    assert!(refused, "no settle was refused; log:\n{}", daemon.log());
    let asked = std::time::Instant::now();
    let status = daemon.terminate();
    let took = asked.elapsed();
    let log = daemon.log();
    assert_eq!(status.code(), Some(1), "exit {status:?}; log:\n{log}");
    assert!(
        took >= std::time::Duration::from_secs(2),
        "exited after {took:?}, before the timeout; log:\n{log}"
    );
    let said = log
        .lines()
        .find(|l| l.contains("shutdown-timeout (2.0s) has passed with"))
        .unwrap_or_else(|| panic!("the log does not say why it stopped:\n{log}"));
    let left = pending(&mut conn);
    assert!(left > 0, "nothing was left pending; log:\n{log}");
    assert!(
        said.contains(&format!("with {left} jobs still in flight")),
        "{left} entries pending, but the log says: {said}"
    );
    assert_eq!(settled(&mut conn), 0, "Redis refused every write");

    set_maxmemory(&mut conn, 0);
    let again = Daemon::start(&config, "stuck");
    wait_settled(&mut conn, n as usize, &again);
    assert_mix_routed(&mut conn, &kinds, &again);
}
