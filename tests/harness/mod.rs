//! The harness every test module under `tests/` shares: where the repository,
//! the built plugins and the `switchyard` binary are, a private
//! `redis-server` per test, and running `switchyard try` as a user would.
//!
//! Tests are black-box where they can be: they use real plugins (built by
//! `make plugins` into `target/plugins/`), the real binary and a real Redis
//! on a unix socket in a temporary directory, so no two tests share state
//! and nothing listens on a TCP port.

pub mod cluster;
pub mod daemon;
pub mod loopback;
pub mod sentinel;
pub mod venv;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use switchyard::plugin::Job;
use tempfile::TempDir;

/// How long a starting `redis-server` has to answer PING (a restart loads
/// its AOF first: gigabytes after the long chaos run).
const REDIS_START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a stopping `redis-server` has to exit before it is killed.
const REDIS_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The repository's root: the workspace above the `host` crate.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the host crate lives one level below the repository root")
        .to_path_buf()
}

/// `target/plugins/NAME.wasm`, as `make plugins` leaves it. Panics, saying
/// what to run, when the plugin has not been built.
pub fn plugin_path(name: &str) -> PathBuf {
    let path = repo_root()
        .join("target")
        .join("plugins")
        .join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "plugin {name} is not built: {} is missing; run `make plugins` at the repository root",
        path.display()
    );
    path
}

/// A file under `examples/slivka/`, read as text.
pub fn slivka_example(relative: &str) -> String {
    let path = repo_root().join("examples").join("slivka").join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read example {}: {e}", path.display()))
}

/// slivka-bio's size tiers as `examples/slivka/switchyard.toml` gives them
/// (`[plugin.fasta-size.config.tiers]`), as the host hands a TOML table to a
/// plugin: its JSON text. Every test that configures fasta-size by hand
/// uses these, so the tests and the example cannot drift apart.
pub fn slivka_tiers() -> String {
    let file: toml::Table = slivka_example("switchyard.toml")
        .parse()
        .expect("examples/slivka/switchyard.toml is TOML");
    let tiers = &file["plugin"]["fasta-size"]["config"]["tiers"];
    serde_json::to_string(tiers).expect("a TOML table is JSON")
}

/// The `switchyard` binary cargo built for this test run.
pub fn switchyard_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_switchyard"))
}

/// A job as the plugin contract describes it, from entry fields; `payload`
/// is taken from the field of that name (empty without one).
pub fn job(fields: &[(&str, &str)]) -> Job {
    let payload = fields
        .iter()
        .find(|(name, _)| *name == "payload")
        .map(|(_, value)| value.as_bytes().to_vec())
        .unwrap_or_default();
    Job {
        source: "jobs".into(),
        entry_id: "1700000000000-0".into(),
        fields: fields
            .iter()
            .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
            .collect(),
        payload,
        delivery_count: 1,
    }
}

/// A slivka job for `service`: fields `service`, `job-id` and a payload
/// `{"inputs": inputs}`.
pub fn slivka_job(service: &str, inputs: Value) -> Job {
    let payload = serde_json::json!({ "inputs": inputs }).to_string();
    job(&[
        ("service", service),
        ("job-id", "AAAAAAAAAAAAAAAA"),
        ("payload", &payload),
    ])
}

/// `count` FASTA records of `length` residues each.
pub fn fasta(count: usize, length: usize) -> String {
    let residues = b"ACDEFGHIKLMNPQRSTVWY";
    let mut text = String::new();
    for i in 0..count {
        text.push_str(&format!(">seq{}\n", i + 1));
        let sequence: String = (0..length)
            .map(|j| residues[(i * 7 + j) % residues.len()] as char)
            .collect();
        for line in sequence.as_bytes().chunks(60) {
            text.push_str(std::str::from_utf8(line).expect("residues are ASCII"));
            text.push('\n');
        }
    }
    text
}

/// Runs `switchyard ARGS...` with `stdin` as its standard input.
pub fn run_switchyard(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(switchyard_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the switchyard binary");
    let mut input = child.stdin.take().expect("stdin is piped");
    // A command that exits without reading stdin closes the pipe; that is
    // not the test's concern.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    child
        .wait_with_output()
        .expect("cannot wait for the switchyard binary")
}

/// Runs `switchyard try ARGS...` and returns its exit code, its stdout as
/// JSON (`Null` when it printed nothing) and its stderr.
pub fn run_try(args: &[&str]) -> (i32, Value, String) {
    run_try_with_stdin(args, "")
}

/// [`run_try`] with a job on standard input (pass `-` as the job argument).
pub fn run_try_with_stdin(args: &[&str], stdin: &str) -> (i32, Value, String) {
    let mut all = vec!["try"];
    all.extend_from_slice(args);
    let output = run_switchyard(&all, stdin);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let json = if stdout.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!("switchyard try printed something that is not JSON ({e}):\n{stdout}\nstderr:\n{stderr}")
        })
    };
    let code = output
        .status
        .code()
        .unwrap_or_else(|| panic!("switchyard try was killed by a signal; stderr:\n{stderr}"));
    (code, json, stderr)
}

/// A private `redis-server` listening only on a unix socket in its own
/// temporary directory, with an append-only file so that a restart keeps
/// what was written. Stopped when dropped.
pub struct RedisServer {
    /// Holds the socket, the AOF and the log; removed on drop, after the
    /// server has stopped.
    dir: TempDir,
    /// The unix socket the server listens on; the same across restarts.
    socket: PathBuf,
    /// The running server; `None` while stopped or killed.
    child: Option<Child>,
    /// The AOF's fsync policy: `everysec`, or `always` so that a kill -9
    /// loses no write Redis has answered.
    appendfsync: &'static str,
}

impl RedisServer {
    /// Starts a server and waits until it answers PING. Panics (saying what
    /// to install) when `redis-server` cannot be run.
    pub fn start() -> RedisServer {
        RedisServer::start_with_fsync("everysec")
    }

    /// Starts a server that fsyncs its AOF before answering each write
    /// (`appendfsync always`): a kill -9 loses nothing it acknowledged.
    pub fn start_durable() -> RedisServer {
        RedisServer::start_with_fsync("always")
    }

    fn start_with_fsync(appendfsync: &'static str) -> RedisServer {
        let dir = tempfile::Builder::new()
            .prefix("switchyard-redis-")
            .tempdir()
            .expect("cannot create a directory for redis-server");
        let socket = dir.path().join("redis.sock");
        let mut server = RedisServer {
            dir,
            socket,
            child: None,
            appendfsync,
        };
        server.spawn();
        server
    }

    /// `redis+unix:///…/redis.sock`, for switchyard's config and clients.
    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket.display())
    }

    /// A client for this server.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("the harness builds a valid redis URL")
    }

    /// A new synchronous connection, for a test's own reads and writes.
    pub fn connection(&self) -> redis::Connection {
        self.client()
            .get_connection()
            .unwrap_or_else(|e| panic!("cannot connect to the test redis-server: {e}"))
    }

    /// Stops the server cleanly (`SHUTDOWN`: the AOF is flushed) and waits
    /// for it to exit. Does nothing when it is not running.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(mut connection) = self.client().get_connection() {
            // The server closes the connection instead of answering.
            let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").query(&mut connection);
        }
        let deadline = Instant::now() + REDIS_STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "redis-server did not stop within {REDIS_STOP_TIMEOUT:?}; killed it. Its log:\n{}",
            self.log()
        );
    }

    /// Kills the server (SIGKILL), as a crash would: what the AOF had not
    /// yet written to disk is lost.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server if it runs, then starts it again on the same
    /// directory and socket, so it reloads its AOF.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Starts the server again after [`RedisServer::kill`] or
    /// [`RedisServer::stop`].
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "redis-server is already running");
        self.spawn();
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    fn spawn(&mut self) {
        // A socket left by a killed server would make the readiness check
        // below connect to nothing; redis-server replaces it anyway.
        let _ = std::fs::remove_file(&self.socket);
        let dir = self.dir.path();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(&self.socket)
            .args(["--unixsocketperm", "700", "--dir"])
            .arg(dir)
            .args(["--logfile"])
            .arg(dir.join("redis.log"))
            .args(["--save", ""])
            .args(["--appendonly", "yes", "--appendfsync", self.appendfsync])
            .args(["--maxmemory-policy", "noeviction", "--daemonize", "no"])
            // The chaos run stalls Redis with DEBUG SLEEP (off by default
            // since 7.0; `local` allows the unix socket).
            .args(["--enable-debug-command", "local"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run redis-server ({e}); install it with `make setup` \
                     (apt-get install redis-server)"
                )
            });
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + REDIS_START_TIMEOUT;
        let mut last_error = String::from("the socket did not appear");
        while Instant::now() < deadline {
            let child = self.child.as_mut().expect("wait_ready follows spawn");
            if let Ok(Some(status)) = child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                self.child = None;
                panic!(
                    "redis-server exited at start ({status}):\n{stderr}\nIts log:\n{}",
                    self.log()
                );
            }
            if self.socket.exists() {
                match self.ping() {
                    Ok(()) => return,
                    Err(e) => last_error = e.to_string(),
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
        panic!(
            "redis-server did not answer PING within {REDIS_START_TIMEOUT:?} ({last_error}). \
             Its log:\n{}",
            self.log()
        );
    }

    fn ping(&self) -> redis::RedisResult<()> {
        let mut connection = self.client().get_connection()?;
        // While it loads the AOF the server answers LOADING; keep waiting.
        let pong: String = redis::cmd("PING").query(&mut connection)?;
        assert_eq!(pong, "PONG");
        Ok(())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // Killing is enough: the directory is removed right after.
        self.kill();
    }
}
