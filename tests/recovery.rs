//! The daemon recovering from what Redis and restarts do to it: a Redis it
//! can never use (it exits at once, saying why), a consumer group lost under
//! it (recreated; `/readyz` says when intake cannot read), a Redis restart
//! with batches in flight (no plugin runs twice), its own restart (the same
//! consumer name, so it re-reads its own pending entries), dead consumers
//! piling up in the group (forgotten once idle with nothing pending), and
//! systemd listening (`READY=1`, `WATCHDOG=1`, `STOPPING=1`).

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

use redis::Value;

use crate::harness::RedisServer;
use crate::harness::daemon::*;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A route on `jobs` whose router is fixture-clock, sleeping `sleep_ms` per
/// job before it sends the job to `queue:local`.
fn clock_route(sleep_ms: u64) -> String {
    format!(
        r#"
[[routes]]
name = "clock"
source = "jobs"
router = "fixture-clock"
targets = ["queue:local"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"

[plugin.fixture-clock.config]
sleep-ms = "{sleep_ms}"
"#
    )
}

/// `dir/switchyard.toml` for `redis`, with `consumer` keys, the clock
/// route, and a metrics listener on a free port.
fn clock_config(dir: &Path, redis: &RedisServer, consumer: &str, sleep_ms: u64) -> PathBuf {
    write_config(
        dir,
        &format!("url = \"{}\"", redis.url()),
        consumer,
        &format!(
            "{}\n[metrics]\nlisten = \"127.0.0.1:0\"\n",
            clock_route(sleep_ms)
        ),
    )
}

/// `n` jobs with distinct job ids, from number `from` on.
fn jobs(from: u64, n: u64) -> Vec<Fields> {
    (from..from + n)
        .map(|i| {
            vec![
                ("service".to_owned(), b"clock".to_vec()),
                ("job-id".to_owned(), job_id(i).into_bytes()),
                ("payload".to_owned(), b"{}".to_vec()),
            ]
        })
        .collect()
}

/// Waits until `daemon` has created its consumer group (so the test may
/// ask Redis about the group's pending entries).
fn wait_for_group(daemon: &Daemon) {
    assert!(
        wait_until(TIMEOUT, || daemon.log().contains("created consumer group")),
        "log:\n{}",
        daemon.log()
    );
}

/// The value of the sample `name` (labels included, as exposed) on
/// `/metrics`, 0 when absent.
fn sample(port: u16, name: &str) -> f64 {
    let body = http_get(port, "/metrics", None)
        .expect("/metrics answers")
        .body;
    body.lines()
        .filter_map(|l| l.rsplit_once(' '))
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0.0)
}

/// The group's consumers on `jobs`: (name, pending).
fn consumers(conn: &mut redis::Connection) -> Vec<(String, i64)> {
    let reply: Value = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(SOURCE)
        .arg(GROUP)
        .query(conn)
        .unwrap();
    let Value::Array(list) = reply else {
        return Vec::new();
    };
    list.into_iter()
        .filter_map(|consumer| {
            let Value::Array(flat) = consumer else {
                return None;
            };
            let (mut name, mut pending) = (None, 0);
            for pair in flat.chunks(2) {
                match (&pair[0], &pair[1]) {
                    (Value::BulkString(k), Value::BulkString(v)) if k == b"name" => {
                        name = Some(String::from_utf8_lossy(v).into_owned())
                    }
                    (Value::BulkString(k), Value::Int(n)) if k == b"pending" => pending = *n,
                    _ => {}
                }
            }
            Some((name?, pending))
        })
        .collect()
}

/// Item 2 of issue 15: a Redis the daemon can never use (a database index
/// the server does not have, a refused password, an ACL that forbids
/// XREADGROUP) ends it at once with exit code 1 and a message naming the
/// URL, instead of retrying forever behind a 503.
#[test]
fn a_redis_the_daemon_can_never_use_ends_it_at_once_naming_the_url() {
    let redis = RedisServer::start();
    let mut conn = redis.connection();
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("reader")
        .arg(&["on", ">secret", "~*", "+@all", "-xreadgroup"])
        .query(&mut conn)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (query, expected) in [
        ("db=99", "DB index is out of range"),
        ("user=reader&pass=wrong", "authentication failed"),
        ("user=reader&pass=secret", "NOPERM"),
    ] {
        let url = format!("{}?{query}", redis.url());
        let config = write_config(dir.path(), &format!("url = \"{url}\""), "", &clock_route(0));
        let mut daemon = Daemon::start(&config, "doomed");
        let status = daemon.wait_exit(TIMEOUT);
        let log = daemon.log();
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(1),
            "{query}: the daemon must exit 1 at once; log:\n{log}"
        );
        let error = log
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("{query}: no error line; log:\n{log}"));
        assert!(
            error.contains(&redis.url()) && !error.contains("secret"),
            "{query}: the URL, redacted: {error}"
        );
        assert!(
            error.to_lowercase().contains(&expected.to_lowercase()),
            "{query}: {error}"
        );
    }
}

/// Item 3: the source stream deleted under a running daemon takes the
/// group with it; the daemon creates the group again (once, saying so and
/// counting it) and routes what is sent next.
#[test]
fn a_deleted_source_stream_gets_its_group_back() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = clock_config(dir.path(), &redis, "block-ms = 100", 0);
    let daemon = Daemon::start(&config, "keeper");
    let port = daemon.metrics_port();
    let mut conn = redis.connection();
    push(&mut conn, SOURCE, &jobs(0, 1));
    assert!(
        wait_until(TIMEOUT, || xlen(&mut conn, "queue:local") == 1),
        "log:\n{}",
        daemon.log()
    );

    let _: () = redis::cmd("DEL").arg(SOURCE).query(&mut conn).unwrap();
    let recreated =
        "consumer group switchyard was missing on stream jobs; recreated from the stream's start";
    assert!(
        wait_until(TIMEOUT, || daemon.log().contains(recreated)),
        "log:\n{}",
        daemon.log()
    );
    push(&mut conn, SOURCE, &jobs(1, 1));
    assert!(
        wait_until(TIMEOUT, || xlen(&mut conn, "queue:local") == 2),
        "the job sent after the deletion is routed; log:\n{}",
        daemon.log()
    );
    assert_eq!(
        daemon.log().matches(recreated).count(),
        1,
        "logged once; log:\n{}",
        daemon.log()
    );
    assert_eq!(
        sample(port, "switchyard_groups_recreated_total{stream=\"jobs\"}"),
        1.0
    );
    assert_exactly_once(&mut conn, 2);
}

/// Item 3: `/readyz` is 503 whenever intake cannot read, here because the
/// source key was replaced by a string while Redis itself answers; once the
/// key is deleted, the group is created again, `/readyz` is 200 and jobs
/// are routed.
#[test]
fn readyz_is_503_while_intake_cannot_read() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = clock_config(dir.path(), &redis, "block-ms = 100", 0);
    let daemon = Daemon::start(&config, "reader");
    let port = daemon.metrics_port();
    let code = || http_get(port, "/readyz", None).map_or(0, |a| a.code);
    assert!(
        wait_until(TIMEOUT, || code() == 200),
        "log:\n{}",
        daemon.log()
    );

    let mut conn = redis.connection();
    let _: () = redis::pipe()
        .atomic()
        .cmd("DEL")
        .arg(SOURCE)
        .cmd("SET")
        .arg(SOURCE)
        .arg("not a stream")
        .query(&mut conn)
        .unwrap();
    let readyz = || {
        http_get(port, "/readyz", None)
            .map(|a| (a.code, a.body))
            .unwrap_or_default()
    };
    assert!(
        wait_until(TIMEOUT, || readyz().1.contains("WRONGTYPE")),
        "log:\n{}",
        daemon.log()
    );
    let (code_then, body) = readyz();
    assert_eq!(code_then, 503, "{body}");
    assert!(body.contains("intake cannot read from jobs"), "{body}");
    assert!(
        !body.contains("Redis is unreachable"),
        "Redis answers: {body}"
    );

    let _: () = redis::cmd("DEL").arg(SOURCE).query(&mut conn).unwrap();
    assert!(
        wait_until(TIMEOUT, || code() == 200),
        "log:\n{}",
        daemon.log()
    );
    push(&mut conn, SOURCE, &jobs(0, 1));
    assert!(
        wait_until(TIMEOUT, || xlen(&mut conn, "queue:local") == 1),
        "log:\n{}",
        daemon.log()
    );
}

/// Item 6: Redis restarts while batches are in flight (waiting for the one
/// worker, or for Redis to settle them). The daemon re-reads its own
/// pending entries, but not those its batches still hold: every job runs
/// its router once, the log never speaks of another consumer (there is
/// none), and every job is settled exactly once.
#[test]
fn entries_in_flight_at_a_redis_restart_run_their_plugins_once() {
    const JOBS: u64 = 120;
    let mut redis = RedisServer::start_durable();
    let dir = tempfile::tempdir().unwrap();
    let config = clock_config(
        dir.path(),
        &redis,
        "batch = 5\nin-flight = 60\nworkers = 1\nblock-ms = 100",
        15,
    );
    let daemon = Daemon::start(&config, "alone");
    let port = daemon.metrics_port();
    wait_for_group(&daemon);
    let mut conn = redis.connection();
    push(&mut conn, SOURCE, &jobs(0, JOBS));
    assert!(
        wait_until(TIMEOUT, || pending(&mut conn) >= 30
            && xlen(&mut conn, "queue:local") > 0),
        "the daemon holds entries in flight; log:\n{}",
        daemon.log()
    );
    drop(conn);
    redis.restart();

    let mut conn = redis.connection();
    wait_settled(&mut conn, JOBS as usize, &daemon);
    assert_exactly_once(&mut conn, JOBS as usize);
    let log = daemon.log();
    assert!(
        !log.contains("claimed by another consumer"),
        "one consumer: no entry is settled twice; log:\n{log}"
    );
    assert_eq!(
        sample(
            port,
            "switchyard_plugin_call_seconds_count{plugin=\"fixture-clock\",call=\"route\"}"
        ),
        JOBS as f64,
        "the router ran once per job; log:\n{log}"
    );
    // How many pending entries each catching-up left to batches in flight.
    let left: Vec<u64> = log
        .lines()
        .filter(|l| l.contains("caught up with the entries pending under this consumer"))
        .filter_map(|l| {
            l.split(" left=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert!(
        log.contains("Redis is reachable again") && left.iter().any(|n| *n > 0),
        "the restart was noticed with batches in flight ({left:?}); log:\n{log}"
    );
}

/// Item 7: without `--consumer` the daemon's name is the host's and the
/// config's (not the pid), so a daemon killed mid-batch and started again
/// re-reads its own pending entries itself (takeover is an hour away here)
/// and the group still has one consumer.
#[test]
fn a_restart_without_a_consumer_name_rereads_its_own_pending_entries() {
    const JOBS: u64 = 30;
    let redis = RedisServer::start_durable();
    let dir = tempfile::tempdir().unwrap();
    let config = clock_config(
        dir.path(),
        &redis,
        "batch = 5\nworkers = 1\nclaim-idle-ms = 3600000",
        50,
    );
    let mut conn = redis.connection();
    let mut first = Daemon::start_with(&config, &[], &[]);
    wait_for_group(&first);
    push(&mut conn, SOURCE, &jobs(0, JOBS));
    assert!(
        wait_until(TIMEOUT, || pending(&mut conn) > 0),
        "log:\n{}",
        first.log()
    );
    first.kill();
    let before = consumers(&mut conn);
    assert_eq!(before.len(), 1, "{before:?}");
    let (name, held) = before[0].clone();
    assert!(
        name.ends_with("-switchyard"),
        "host and config stem: {name}"
    );
    assert!(held > 0, "killed mid-batch: {before:?}");

    let second = Daemon::start_with(&config, &[], &[]);
    wait_settled(&mut conn, JOBS as usize, &second);
    assert_exactly_once(&mut conn, JOBS as usize);
    assert_eq!(
        consumers(&mut conn),
        vec![(name, 0)],
        "one consumer across the restart; log:\n{}",
        second.log()
    );
    assert!(
        second
            .log()
            .contains("caught up with the entries pending under this consumer: re-read"),
        "log:\n{}",
        second.log()
    );
}

/// Item 7: consumers idle past `forget-idle-ms` with nothing pending are
/// removed from the group; one holding an entry stays until that entry is
/// taken over (removing it would drop the entry from the pending list, and
/// the job would never be routed); the daemon's own name stays.
#[test]
fn idle_consumers_with_nothing_pending_are_forgotten() {
    let redis = RedisServer::start();
    let mut conn = redis.connection();
    let _: () = redis::cmd("XGROUP")
        .arg(&["CREATE", SOURCE, GROUP, "0", "MKSTREAM"])
        .query(&mut conn)
        .unwrap();
    push(&mut conn, SOURCE, &jobs(0, 1));
    let _: Value = redis::cmd("XREADGROUP")
        .arg(&[
            "GROUP",
            GROUP,
            "ghost-busy",
            "COUNT",
            "1",
            "STREAMS",
            SOURCE,
            ">",
        ])
        .query(&mut conn)
        .unwrap();
    let _: () = redis::cmd("XGROUP")
        .arg(&["CREATECONSUMER", SOURCE, GROUP, "ghost-idle"])
        .query(&mut conn)
        .unwrap();
    assert_eq!(
        consumers(&mut conn),
        vec![("ghost-busy".to_owned(), 1), ("ghost-idle".to_owned(), 0)]
    );

    let dir = tempfile::tempdir().unwrap();
    let config = clock_config(
        dir.path(),
        &redis,
        "claim-idle-ms = 1000\nforget-idle-ms = 300\nblock-ms = 100",
        0,
    );
    let daemon = Daemon::start(&config, "live");
    let port = daemon.metrics_port();
    let names = |conn: &mut redis::Connection| -> Vec<String> {
        consumers(conn).into_iter().map(|(name, _)| name).collect()
    };
    assert!(
        wait_until(TIMEOUT, || !names(&mut conn).contains(&"ghost-idle".into())),
        "log:\n{}",
        daemon.log()
    );
    assert!(
        wait_until(TIMEOUT, || xlen(&mut conn, "queue:local") == 1),
        "ghost-busy's entry was kept pending and taken over; log:\n{}",
        daemon.log()
    );
    assert!(
        wait_until(TIMEOUT, || names(&mut conn) == ["live"]),
        "{:?}; log:\n{}",
        names(&mut conn),
        daemon.log()
    );
    assert_exactly_once(&mut conn, 1);
    let log = daemon.log();
    assert!(log.contains("removed consumer ghost-idle"), "{log}");
    assert!(log.contains("removed consumer ghost-busy"), "{log}");
    assert_eq!(
        sample(port, "switchyard_consumers_removed_total{stream=\"jobs\"}"),
        2.0
    );
}

/// sd_notify: run as systemd would with `Type=notify` and a watchdog, the
/// daemon says `READY=1` once it can route (a job sent right after is
/// routed), pings `WATCHDOG=1` while it runs, and says `STOPPING=1` at
/// SIGTERM.
#[test]
fn systemd_hears_ready_then_watchdog_pings_then_stopping() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = clock_config(dir.path(), &redis, "block-ms = 100", 0);
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut daemon = Daemon::start_with(
        &config,
        &["--consumer", "notified"],
        &[
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    let mut heard = Vec::new();
    while hear(&socket, &mut heard, &daemon) != "READY=1" {}
    let mut conn = redis.connection();
    push(&mut conn, SOURCE, &jobs(0, 1));
    assert!(
        wait_until(TIMEOUT, || xlen(&mut conn, "queue:local") == 1),
        "ready means routing; log:\n{}",
        daemon.log()
    );
    let mut pings = 0;
    while pings < 2 {
        if hear(&socket, &mut heard, &daemon) == "WATCHDOG=1" {
            pings += 1;
        }
    }
    daemon.terminate();
    while hear(&socket, &mut heard, &daemon) != "STOPPING=1" {}
    assert_eq!(
        heard.iter().filter(|m| *m == "READY=1").count(),
        1,
        "{heard:?}"
    );
}

/// The next notification on `socket`, added to `heard`; panics with what
/// was heard and the daemon's log when none comes.
fn hear(socket: &UnixDatagram, heard: &mut Vec<String>, daemon: &Daemon) -> String {
    let mut buffer = [0u8; 256];
    let n = socket.recv(&mut buffer).unwrap_or_else(|e| {
        panic!(
            "no notification ({e}); heard {heard:?}; log:\n{}",
            daemon.log()
        )
    });
    let message = String::from_utf8_lossy(&buffer[..n]).trim().to_owned();
    heard.push(message.clone());
    message
}
