//! `redis-server` processes on loopback TCP ports, each with its own
//! directory, killed when dropped: what the Sentinel and Cluster harnesses
//! are built from. (The single server of most tests listens on a unix
//! socket instead; see [`super::RedisServer`].)

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::daemon::wait_until;

/// How long a starting server has to answer PING.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A `redis-server` process (a server or a sentinel), killed when dropped.
pub struct Process {
    child: Option<Child>,
    /// The port it listens on.
    pub port: u16,
}

impl Process {
    /// A server on `port`, its directory `home` (created), its log
    /// `home/redis.log`, no persistence, `extra` arguments after those;
    /// returned once it answers PING.
    pub fn server(port: u16, home: &Path, extra: &[&str]) -> Process {
        std::fs::create_dir_all(home).unwrap();
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(home)
            .args(["--logfile", "redis.log", "--save", "", "--appendonly", "no"])
            .args(["--maxmemory-policy", "noeviction", "--daemonize", "no"])
            .args(extra);
        let process = Process::spawn(&mut command, port);
        assert!(
            wait_until(START_TIMEOUT, || connect(port)
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
                .is_ok()),
            "redis-server on port {port} did not answer PING; its log is {}",
            home.join("redis.log").display()
        );
        process
    }

    /// Runs `command` (a redis-server) listening on `port`, without
    /// waiting for it.
    pub fn spawn(command: &mut Command, port: u16) -> Process {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run redis-server ({e}); install it with `make setup`")
            });
        Process {
            child: Some(child),
            port,
        }
    }

    /// Kills it with SIGKILL (no-op once dead).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether it runs: not killed.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A loopback port that is free now, and whose cluster bus port (+10000)
/// is too.
pub fn free_port() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        if port < 55000 && TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return port;
        }
    }
}

/// A plain connection to the server on `port`.
pub fn connect(port: u16) -> redis::RedisResult<redis::Connection> {
    redis::Client::open(format!("redis://127.0.0.1:{port}"))?.get_connection()
}
