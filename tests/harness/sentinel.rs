//! Redis Sentinel on loopback for the tests: servers (a master and its
//! replicas) and sentinels, each a `redis-server` process on a free port
//! with its own directory, killed when dropped; and what the tests ask
//! them (who is master now).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::daemon::wait_until;
pub use super::loopback::{Process, connect, free_port};

/// The name the sentinels know the master by.
pub const MASTER: &str = "mymaster";

/// A server on a free port with its own directory in `dir`, a replica of
/// `master` if given.
pub fn server(dir: &Path, master: Option<u16>) -> Process {
    server_at(dir, free_port(), master)
}

/// A server on `port` (a killed one started again) with its directory in
/// `dir`, a replica of `master` if given.
pub fn server_at(dir: &Path, port: u16, master: Option<u16>) -> Process {
    let home = dir.join(format!("redis-{port}"));
    let master = master.map(|m| m.to_string());
    let replica_of: Vec<&str> = match &master {
        Some(m) => vec!["--replicaof", "127.0.0.1", m],
        None => Vec::new(),
    };
    Process::server(port, &home, &replica_of)
}

/// A sentinel watching the master on `master`, quorum 2, a master down
/// after 1 s without answers.
pub fn sentinel(dir: &Path, master: u16) -> Process {
    let port = free_port();
    let home = dir.join(format!("sentinel-{port}"));
    std::fs::create_dir_all(&home).unwrap();
    let conf = home.join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\ndir {}\nlogfile sentinel.log\n\
             sentinel monitor {MASTER} 127.0.0.1 {master} 2\n\
             sentinel down-after-milliseconds {MASTER} 1000\n\
             sentinel failover-timeout {MASTER} 4000\n\
             sentinel parallel-syncs {MASTER} 1\n",
            home.display()
        ),
    )
    .unwrap();
    Process::spawn(
        Command::new("redis-server").arg(&conf).arg("--sentinel"),
        port,
    )
}

/// The port of the master the sentinel on `port` names now.
pub fn master_port(sentinel: u16) -> Option<u16> {
    let mut conn = connect(sentinel).ok()?;
    let (_, port): (String, String) = redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg(MASTER)
        .query(&mut conn)
        .ok()?;
    port.parse().ok()
}

/// Whether the server on `port` says it is a master.
pub fn is_master(port: u16) -> bool {
    connect(port)
        .and_then(|mut c| redis::cmd("ROLE").query::<redis::Value>(&mut c))
        .is_ok_and(|role| format!("{role:?}").contains("master"))
}

/// A master and a replica behind three sentinels, all on loopback.
pub struct Sentinels {
    /// The two servers; which one is master changes with each failover.
    pub servers: Vec<Process>,
    /// The three sentinels.
    pub watchers: Vec<Process>,
    /// Their directories; declared last, so removed after they are killed.
    dir: tempfile::TempDir,
}

impl Sentinels {
    /// Starts them and waits until the sentinels know the master, its
    /// replica and each other.
    pub fn start() -> Sentinels {
        let dir = tempfile::tempdir().unwrap();
        let first = server(dir.path(), None);
        let second = server(dir.path(), Some(first.port));
        let watchers: Vec<Process> = (0..3).map(|_| sentinel(dir.path(), first.port)).collect();
        let set = Sentinels {
            servers: vec![first, second],
            watchers,
            dir,
        };
        set.wait_ready();
        set
    }

    /// The sentinels' ports.
    pub fn ports(&self) -> Vec<u16> {
        self.watchers.iter().map(|w| w.port).collect()
    }

    /// The `[redis]` lines of a config that finds the master through them.
    pub fn redis_lines(&self) -> String {
        let list: Vec<String> = self
            .ports()
            .iter()
            .map(|p| format!("\"127.0.0.1:{p}\""))
            .collect();
        format!("sentinels = [{}]\nmaster = \"{MASTER}\"", list.join(", "))
    }

    /// The master's port, as the first sentinel names it.
    pub fn master(&self) -> u16 {
        master_port(self.watchers[0].port).expect("the sentinels name a master")
    }

    /// Waits until every sentinel can fail the master over (quorum, a known
    /// replica) and the master's replica is in sync.
    pub fn wait_ready(&self) {
        let ready = wait_until(Duration::from_secs(60), || {
            self.ports().iter().all(|&s| {
                let Ok(mut c) = connect(s) else { return false };
                redis::cmd("SENTINEL")
                    .arg("ckquorum")
                    .arg(MASTER)
                    .query::<String>(&mut c)
                    .is_ok()
                    && redis::cmd("SENTINEL")
                        .arg("replicas")
                        .arg(MASTER)
                        .query::<Vec<redis::Value>>(&mut c)
                        .is_ok_and(|r| !r.is_empty())
            }) && master_port(self.watchers[0].port).is_some_and(|m| {
                connect(m)
                    .and_then(|mut c| {
                        redis::cmd("INFO")
                            .arg("replication")
                            .query::<String>(&mut c)
                    })
                    .is_ok_and(|info| info.contains("state=online"))
            })
        });
        assert!(ready, "the sentinels and the replica did not settle");
    }

    /// Fails the master over to its replica: gracefully (`SENTINEL
    /// FAILOVER`), or by force (the master killed -9). Returns the old
    /// master's port once the replica is master; [`Sentinels::rejoin`]
    /// brings the old one back as its replica.
    pub fn fail_over(&mut self, forced: bool) -> u16 {
        let old = self.master();
        let other = self
            .servers
            .iter()
            .map(|s| s.port)
            .find(|p| *p != old)
            .unwrap();
        if forced {
            let dead = self.servers.iter().position(|s| s.port == old).unwrap();
            self.servers[dead].kill();
        } else {
            let _: String = redis::cmd("SENTINEL")
                .arg("failover")
                .arg(MASTER)
                .query(&mut connect(self.watchers[0].port).unwrap())
                .unwrap();
        }
        assert!(
            wait_until(Duration::from_secs(90), || master_port(
                self.watchers[0].port
            ) == Some(other)
                && is_master(other)),
            "the sentinels did not promote {other}"
        );
        old
    }

    /// After [`Sentinels::fail_over`]: the old master, killed, is started
    /// again on its port as the new one's replica, or, alive, is made its
    /// replica. [`Sentinels::wait_ready`]
    /// says when it is in sync and the sentinels know it.
    pub fn rejoin(&mut self, old: u16) {
        let master = self.master();
        match self
            .servers
            .iter()
            .position(|s| s.port == old && !s.is_running())
        {
            Some(dead) => self.servers[dead] = server_at(self.dir.path(), old, Some(master)),
            // The sentinels would make it a replica too, at their next look
            // (up to 10 s on); this saves the run the wait.
            None => {
                let _: redis::RedisResult<()> = connect(old).and_then(|mut c| {
                    redis::cmd("REPLICAOF")
                        .arg("127.0.0.1")
                        .arg(master)
                        .query(&mut c)
                });
            }
        }
    }
}
