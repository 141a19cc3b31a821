//! The deployment's Redis ACL (`examples/deploy/users.acl`) against the real
//! daemon: switchyard must do all of its work as the `switchyard` user, with
//! no command or key beyond those the file grants, the operator commands
//! (`status`, `dead-letters`, `replay`) must work as `operator`, and the
//! file must keep each user to its part (the front end pushes jobs and
//! reads status records; it cannot read the queue, bypass routing or forge
//! a status).
//!
//! The harness's `RedisServer` takes no ACL file, so this file starts its
//! own private `redis-server` with `--aclfile`, the same way: a unix socket
//! in a temporary directory, an append-only file, no TCP port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::harness;
use crate::harness::daemon::{self, Daemon, Kind};

/// The daemon's user and the password `users.acl` ships with.
const SWITCHYARD: (&str, &str) = ("switchyard", "change-me");
/// The web workers' user: push jobs, read status records.
const FRONTEND: (&str, &str) = ("frontend", "change-me-frontend");
/// `switchyard status`, `dead-letters` and `replay`.
const OPERATOR: (&str, &str) = ("operator", "change-me-operator");
/// Everything: the test's own reads and writes.
const ADMIN: (&str, &str) = ("admin", "change-me-admin");

/// How long a starting `redis-server` has to answer PING.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the daemon has to settle the mixed stream.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(90);

/// A private `redis-server` that loads `examples/deploy/users.acl`. Killed
/// when dropped.
struct AclRedis {
    /// Holds the socket, the copy of the ACL file, the AOF and the log;
    /// removed on drop, after the server is killed (fields drop in order,
    /// and `Drop` kills first).
    dir: TempDir,
    /// The unix socket the server listens on.
    socket: PathBuf,
    /// The running server.
    child: Child,
}

impl AclRedis {
    /// Copies the deployment's ACL file into a temporary directory, starts
    /// a server with it and waits until the `admin` user gets PONG.
    fn start() -> AclRedis {
        let dir = tempfile::Builder::new()
            .prefix("switchyard-acl-")
            .tempdir()
            .expect("cannot create a directory for redis-server");
        let acl = dir.path().join("users.acl");
        let shipped = harness::repo_root().join("examples/deploy/users.acl");
        std::fs::copy(&shipped, &acl)
            .unwrap_or_else(|e| panic!("cannot copy {}: {e}", shipped.display()));
        let socket = dir.path().join("redis.sock");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args(["--unixsocketperm", "700", "--dir"])
            .arg(dir.path())
            .arg("--logfile")
            .arg(dir.path().join("redis.log"))
            .arg("--aclfile")
            .arg(&acl)
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
            ])
            .args(["--maxmemory-policy", "noeviction", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run redis-server ({e}); install it with `make setup`")
            });
        let mut server = AclRedis { dir, socket, child };
        server.wait_ready();
        server
    }

    /// `redis+unix:///…/redis.sock?user=USER&pass=PASS`: the form the
    /// redis crate reads credentials from for a unix socket.
    fn url(&self, (user, pass): (&str, &str)) -> String {
        format!(
            "redis+unix://{}?user={user}&pass={pass}",
            self.socket.display()
        )
    }

    /// A connection as `user`.
    fn connect(&self, user: (&str, &str)) -> redis::Connection {
        redis::Client::open(self.url(user))
            .expect("the test builds a valid redis URL")
            .get_connection()
            .unwrap_or_else(|e| panic!("cannot connect as {}: {e}\n{}", user.0, self.log()))
    }

    /// The server's log so far (it names ACL errors at start).
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut last_error = String::from("the socket did not appear");
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "redis-server exited at start ({status}); is users.acl valid for this \
                     Redis? Its log:\n{}",
                    self.log()
                );
            }
            if self.socket.exists() {
                let ping = redis::Client::open(self.url(ADMIN))
                    .and_then(|client| client.get_connection())
                    .and_then(|mut conn| redis::cmd("PING").query::<String>(&mut conn));
                match ping {
                    Ok(_) => return,
                    Err(e) => last_error = e.to_string(),
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "redis-server did not answer PING within {START_TIMEOUT:?} ({last_error}). Its log:\n{}",
            self.log()
        );
    }
}

impl Drop for AclRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command` and asserts Redis refused it with NOPERM.
fn assert_noperm(conn: &mut redis::Connection, user: &str, command: &mut redis::Cmd) {
    let result: redis::RedisResult<redis::Value> = command.query(conn);
    match result {
        Err(e) if e.code() == Some("NOPERM") => {}
        other => panic!(
            "{user} ran {:?}; expected NOPERM, got {other:?}",
            command_name(command)
        ),
    }
}

fn command_name(command: &redis::Cmd) -> String {
    command
        .args_iter()
        .filter_map(|arg| match arg {
            redis::Arg::Simple(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A daemon config for the slivka example that logs in as `switchyard`.
fn config(dir: &Path, server: &AclRedis) -> PathBuf {
    daemon::slivka_config(
        dir,
        &server.url(SWITCHYARD),
        "batch = 32\nin-flight = 128\nblock-ms = 200\nclaim-idle-ms = 5000",
        "[metrics]\nlisten = \"127.0.0.1:0\"\n",
    )
}

#[test]
fn daemon_settles_every_job_exactly_once_as_the_switchyard_user() {
    let server = AclRedis::start();
    let dir = TempDir::new().unwrap();
    let config = config(dir.path(), &server);
    let mut daemon = Daemon::start(&config, "acl-1");

    // The front end pushes a mix of valid, invalid and broken jobs.
    let jobs: Vec<(Kind, daemon::Fields)> = (0..200).map(daemon::mixed_job).collect();
    let fields: Vec<daemon::Fields> = jobs.iter().map(|(_, f)| f.clone()).collect();
    daemon::push(&mut server.connect(FRONTEND), daemon::SOURCE, &fields);

    let mut admin = server.connect(ADMIN);
    let done = daemon::wait_until(SETTLE_TIMEOUT, || daemon::settled(&mut admin) >= jobs.len());
    assert!(
        done,
        "settled {} of {} as the switchyard user; daemon log:\n{}",
        daemon::settled(&mut admin),
        jobs.len(),
        daemon.log()
    );
    let per_stream = daemon::assert_exactly_once(&mut admin, jobs.len());
    for stream in daemon::TARGETS
        .iter()
        .chain([&daemon::REJECTED, &daemon::DEAD])
    {
        let expected = jobs
            .iter()
            .filter(|(kind, _)| kind.stream() == *stream)
            .count();
        assert_eq!(
            per_stream[*stream], expected,
            "entries on {stream}: {per_stream:?}"
        );
    }
    assert_eq!(daemon::pending(&mut admin), 0, "entries left pending");

    // The front end reads each status record with its own user.
    let mut frontend = server.connect(FRONTEND);
    for (n, (kind, _)) in jobs.iter().enumerate().take(20) {
        let record = daemon::status(&mut frontend, &daemon::job_id(n as u64));
        assert_eq!(
            record.get("status").map(String::as_str),
            Some(kind.status()),
            "job {n}: {record:?}"
        );
    }

    // The heartbeat (a script: HSET, HGETALL, HDEL, PEXPIRE and TIME on the
    // daemons' hash) is written and expires.
    let heartbeat = "switchyard:daemons";
    let beating = daemon::wait_until(Duration::from_secs(15), || {
        pttl(&mut admin, heartbeat) > 0 && hexists(&mut admin, heartbeat, "acl-1")
    });
    assert!(
        beating,
        "no heartbeat for acl-1 in {heartbeat} with a TTL; daemon log:\n{}",
        daemon.log()
    );

    // The console the daemon serves reads everything it shows as the
    // daemon's own user.
    let port = daemon.metrics_port();
    for path in [
        "/api/overview",
        "/api/streams",
        "/api/daemons",
        "/api/letters",
    ] {
        let answer = daemon::http_get(port, path, None).expect("the console answers");
        assert_eq!(answer.code, 200, "{path}: {}", answer.body);
    }
    let rejected = daemon::job_id(16);
    let answer = daemon::http_get(port, &format!("/api/job/{rejected}"), None).unwrap();
    assert_eq!(answer.code, 200, "{}", answer.body);
    let job: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(job["status"], "REJECTED", "{job}");
    assert_eq!(job["outcomes"][0]["stream"], daemon::REJECTED, "{job}");

    // The operator commands work with the `operator` user.
    let operator = server.url(OPERATOR);
    let config_arg = config.display().to_string();
    let redis_args = [
        "--config",
        config_arg.as_str(),
        "--redis-url",
        operator.as_str(),
    ];
    let status = operator_command("status", &redis_args, &["--json"]);
    let report: serde_json::Value =
        serde_json::from_str(&status).expect("status --json prints JSON");
    let daemons = report["daemons"]
        .as_array()
        .expect("the report lists daemons");
    assert!(
        daemons.iter().any(|d| d["consumer"] == "acl-1"),
        "acl-1 is not listed alive: {report:#}"
    );
    let letters = operator_command(
        "dead-letters",
        &redis_args,
        &["--stream", daemon::DEAD, "--count", "5"],
    );
    assert!(
        letters.contains("no-route"),
        "dead-letters printed:\n{letters}"
    );

    // Replay moves three dead letters back; with no route for them they
    // are dead-lettered again, each once.
    let dead = daemon::xlen(&mut admin, daemon::DEAD);
    let replayed = operator_command(
        "replay",
        &redis_args,
        &[
            "--from",
            daemon::DEAD,
            "--to",
            daemon::SOURCE,
            "--count",
            "3",
            "--match",
            "switchyard-error=no-route",
        ],
    );
    assert!(
        replayed.contains("replayed 3"),
        "replay printed:\n{replayed}"
    );
    assert_eq!(daemon::xlen(&mut admin, daemon::SOURCE), jobs.len() + 3);
    let again = daemon::wait_until(SETTLE_TIMEOUT, || {
        daemon::xlen(&mut admin, daemon::DEAD) == dead && daemon::pending(&mut admin) == 0
    });
    assert!(
        again,
        "the replayed jobs were not settled again; daemon log:\n{}",
        daemon.log()
    );
    daemon::assert_exactly_once(&mut admin, jobs.len());

    let log = daemon.log();
    assert!(
        !log.contains("NOPERM"),
        "the daemon was refused a command or key:\n{log}"
    );
    assert!(!log.contains("panicked"), "the daemon panicked:\n{log}");
    let status = daemon.terminate();
    assert!(
        status.success(),
        "daemon exited with {status}; log:\n{}",
        daemon.log()
    );
    assert!(
        !hexists(&mut admin, heartbeat, "acl-1"),
        "the heartbeat outlived a clean shutdown"
    );
}

/// Whether hash `key` has `field`.
fn hexists(conn: &mut redis::Connection, key: &str, field: &str) -> bool {
    redis::cmd("HEXISTS")
        .arg(key)
        .arg(field)
        .query(conn)
        .unwrap()
}

/// The remaining time to live of `key` in ms (negative: none, or no key).
fn pttl(conn: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query(conn).unwrap()
}

/// Runs `switchyard COMMAND REDIS_ARGS... ARGS...` and returns its stdout;
/// panics with its stderr when it fails.
fn operator_command(command: &str, redis_args: &[&str], args: &[&str]) -> String {
    let mut all = vec![command];
    all.extend_from_slice(redis_args);
    all.extend_from_slice(args);
    let output = harness::run_switchyard(&all, "");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "switchyard {command} as operator failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn retention_trims_and_status_reports_it_with_the_shipped_users() {
    let server = AclRedis::start();
    let dir = TempDir::new().unwrap();
    let config = daemon::slivka_config(
        dir.path(),
        &server.url(SWITCHYARD),
        "block-ms = 200",
        "[retention]\ninterval-ms = 20\narchive-dir = \"archive\"\n[retention.rejected]\nmax-len = 1\n",
    );
    let daemon = Daemon::start(&config, "acl-3");
    let jobs: Vec<daemon::Fields> = (0..40).map(|n| daemon::mixed_job(n).1).collect();
    daemon::push(&mut server.connect(FRONTEND), daemon::SOURCE, &jobs);

    // The switchyard user may trim (through the guard script), archive,
    // take the round's lock and write the position record.
    let mut admin = server.connect(ADMIN);
    let trimmed = daemon::wait_until(SETTLE_TIMEOUT, || {
        daemon::xlen(&mut admin, daemon::SOURCE) == 0
            && daemon::xlen(&mut admin, daemon::REJECTED) <= 1
    });
    assert!(
        trimmed,
        "source {} rejected {}; daemon log:\n{}",
        daemon::xlen(&mut admin, daemon::SOURCE),
        daemon::xlen(&mut admin, daemon::REJECTED),
        daemon.log()
    );
    assert!(
        !daemon.log().contains("retention round failed"),
        "{}",
        daemon.log()
    );

    // The operator user may read memory and the retention position.
    let operator = server.url(OPERATOR);
    let config_arg = config.display().to_string();
    let status = operator_command(
        "status",
        &["--config", &config_arg, "--redis-url", &operator],
        &["--json"],
    );
    let report: serde_json::Value = serde_json::from_str(&status).unwrap();
    let source = &report["sources"][0];
    assert_eq!(source["retention"]["trimmed"], 40, "{report:#}");
    assert!(source["memory-bytes"].is_i64(), "{report:#}");
    assert!(report["memory"]["redis-used-memory"].is_i64(), "{report:#}");
    assert_eq!(report["memory"]["status-records"], 40, "{report:#}");
}

#[test]
fn daemon_log_does_not_show_the_password() {
    let server = AclRedis::start();
    let dir = TempDir::new().unwrap();
    let mut daemon = Daemon::start(&config(dir.path(), &server), "acl-2");
    let mut admin = server.connect(ADMIN);
    daemon::push(
        &mut server.connect(FRONTEND),
        daemon::SOURCE,
        &[daemon::job_of(Kind::Local, 1)],
    );
    assert!(
        daemon::wait_until(SETTLE_TIMEOUT, || daemon::settled(&mut admin) == 1),
        "the job was not settled; daemon log:\n{}",
        daemon.log()
    );
    assert!(daemon.terminate().success());
    let log = daemon.log();
    assert!(
        !log.contains(SWITCHYARD.1),
        "the daemon logged the Redis password: a unix-socket URL carries it in the query \
         (`?user=...&pass=...`), which `config::redact` does not hide:\n{log}"
    );
}

#[test]
fn switchyard_user_cannot_touch_other_keys_or_commands() {
    let server = AclRedis::start();
    let mut conn = server.connect(SWITCHYARD);
    let user = SWITCHYARD.0;
    assert_noperm(&mut conn, user, redis::cmd("SET").arg("other").arg("1"));
    assert_noperm(
        &mut conn,
        user,
        redis::cmd("XADD")
            .arg("elsewhere")
            .arg("*")
            .arg("a")
            .arg("b"),
    );
    assert_noperm(
        &mut conn,
        user,
        redis::cmd("HSET").arg("jobs:rejected").arg("a").arg("b"),
    );
    // DEL is granted for status records only: never a queue.
    assert_noperm(&mut conn, user, redis::cmd("DEL").arg("jobs"));
    assert_noperm(&mut conn, user, redis::cmd("DEL").arg("queue:local"));
    assert_noperm(&mut conn, user, redis::cmd("EVAL").arg("return 1").arg(0));
    assert_noperm(&mut conn, user, redis::cmd("KEYS").arg("*"));
    assert_noperm(&mut conn, user, &mut redis::cmd("FLUSHALL"));
    assert_noperm(&mut conn, user, redis::cmd("CONFIG").arg("GET").arg("*"));
    assert_noperm(
        &mut conn,
        user,
        redis::cmd("XGROUP")
            .arg("DESTROY")
            .arg("jobs")
            .arg("switchyard"),
    );
}

#[test]
fn frontend_user_may_only_push_jobs_and_read_status() {
    let server = AclRedis::start();
    let mut conn = server.connect(FRONTEND);
    let user = FRONTEND.0;
    let id: String = redis::cmd("XADD")
        .arg("jobs")
        .arg("*")
        .arg("payload")
        .arg("{}")
        .query(&mut conn)
        .expect("frontend may XADD to jobs");
    assert!(id.contains('-'), "XADD answered {id}");
    let record: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
        .arg("switchyard:job:AAAAAAAAAAAAAAAA")
        .query(&mut conn)
        .expect("frontend may read status records");
    assert!(record.is_empty());
    let field: Option<String> = redis::cmd("HGET")
        .arg("switchyard:job:AAAAAAAAAAAAAAAA")
        .arg("status")
        .query(&mut conn)
        .expect("frontend may read one field of a status record");
    assert_eq!(field, None);

    assert_noperm(
        &mut conn,
        user,
        redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg("switchyard")
            .arg("c")
            .arg("STREAMS")
            .arg("jobs")
            .arg(">"),
    );
    assert_noperm(
        &mut conn,
        user,
        redis::cmd("XRANGE").arg("jobs").arg("-").arg("+"),
    );
    // It cannot bypass routing by writing to a runner's queue, or forge a status.
    assert_noperm(
        &mut conn,
        user,
        redis::cmd("XADD")
            .arg("queue:local")
            .arg("*")
            .arg("a")
            .arg("b"),
    );
    assert_noperm(
        &mut conn,
        user,
        redis::cmd("HSET")
            .arg("switchyard:job:x")
            .arg("status")
            .arg("ACCEPTED"),
    );
    assert_noperm(
        &mut conn,
        user,
        redis::cmd("XADD")
            .arg("switchyard:job:x")
            .arg("*")
            .arg("a")
            .arg("b"),
    );
    assert_noperm(&mut conn, user, redis::cmd("DEL").arg("jobs"));

    // `switchyard send`, the command-line front end, needs nothing more.
    let line = serde_json::json!({
        "service": "clustalo",
        "job-id": "AAAAAAAAAAAAAAAB",
        "payload": {"inputs": {"input": ">s1\nMKV\n"}},
    });
    let output = harness::run_switchyard(
        &[
            "send",
            "--stream",
            "jobs",
            "--redis-url",
            &server.url(FRONTEND),
            "-",
        ],
        &format!("{line}\n{line}\n"),
    );
    assert!(
        output.status.success(),
        "switchyard send as frontend failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(daemon::xlen(&mut server.connect(ADMIN), "jobs"), 3);
}

#[test]
fn operator_user_may_look_and_replay_but_not_consume_or_destroy() {
    let server = AclRedis::start();
    let mut conn = server.connect(OPERATOR);
    let user = OPERATOR.0;
    let length: usize = redis::cmd("XLEN")
        .arg("queue:local")
        .query(&mut conn)
        .unwrap();
    assert_eq!(length, 0);
    assert_noperm(
        &mut conn,
        user,
        redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg("switchyard")
            .arg("c")
            .arg("STREAMS")
            .arg("jobs")
            .arg(">"),
    );
    assert_noperm(
        &mut conn,
        user,
        redis::cmd("XADD")
            .arg("queue:local")
            .arg("*")
            .arg("a")
            .arg("b"),
    );
    assert_noperm(&mut conn, user, redis::cmd("XDEL").arg("jobs").arg("0-1"));
    assert_noperm(&mut conn, user, redis::cmd("DEL").arg("jobs:dead"));
    assert_noperm(
        &mut conn,
        user,
        redis::cmd("HSET").arg("switchyard:job:x").arg("a").arg("b"),
    );
    assert_noperm(&mut conn, user, &mut redis::cmd("FLUSHALL"));
    assert_noperm(&mut conn, user, redis::cmd("EVAL").arg("return 1").arg(0));
}

#[test]
fn default_user_is_disabled() {
    let server = AclRedis::start();
    let socket = server.socket.display().to_string();
    let mut conn = redis::Client::open(format!("redis+unix://{socket}"))
        .unwrap()
        .get_connection()
        .expect("connecting needs no login; commands do");
    let result: redis::RedisResult<String> = redis::cmd("PING").query(&mut conn);
    match result {
        Err(e) if e.code() == Some("NOAUTH") => {}
        other => panic!("an unauthenticated PING answered {other:?}; expected NOAUTH"),
    }
    // A wrong password for a real user is refused too.
    let wrong = redis::Client::open(server.url(("switchyard", "wrong")))
        .unwrap()
        .get_connection();
    assert!(wrong.is_err(), "logged in with a wrong password");
}
