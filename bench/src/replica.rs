//! A replica for the bench's Redis, so a drain can measure what
//! `[redis] replica-acks` costs: the settles' `WAIT` for a copy.
//!
//! The bench's embedded server listens on a unix socket only, and a replica
//! follows its master over TCP; so the master is given a loopback port
//! (`CONFIG SET port`, which Redis 7 allows at run time) and a second
//! `redis-server`, with the same AOF settings, replicates it until this is
//! dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A `redis-server` replicating the bench's; killed when dropped.
pub struct Replica {
    child: Child,
    /// A connection to the replica, to read its CPU time.
    pub conn: redis::Connection,
}

impl Replica {
    /// Gives the master of `master` a loopback port and starts a replica of
    /// it in `dir`; returns once the replica is in sync.
    pub fn attach(master: &mut redis::Connection, dir: &Path) -> anyhow::Result<Replica> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        redis::cmd("CONFIG")
            .arg("SET")
            .arg("port")
            .arg(port)
            .exec(master)
            .context("the bench's Redis would not listen on a port for its replica")?;
        let home = dir.join("replica");
        std::fs::create_dir_all(&home)?;
        let socket = home.join("replica.sock");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .arg("--dir")
            .arg(&home)
            .args(["--replicaof", "127.0.0.1", &port.to_string()])
            .args(["--appendonly", "yes", "--appendfsync", "everysec"])
            .args(["--save", "", "--logfile", "replica.log"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start redis-server as a replica")?;
        let url = format!("redis+unix://{}", socket.display());
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut replica = None;
        while Instant::now() < deadline {
            if replica.is_none() {
                replica = redis::Client::open(url.as_str())?.get_connection().ok();
            }
            let info: String = redis::cmd("INFO")
                .arg("replication")
                .query(master)
                .unwrap_or_default();
            if let Some(conn) = replica.take_if(|_| info.contains("state=online")) {
                return Ok(Replica { child, conn });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("the replica did not come in sync within 30 s")
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
