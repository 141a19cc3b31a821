//! Redis Cluster on loopback for the tests: `redis-server`s made one
//! cluster by `redis-cli --cluster create` (or one plain server, like a
//! node in every other way), what the tests ask it (which master holds a
//! key), and a master failing over to its replica, gracefully or killed -9.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use redis::{ConnectionLike, Value};
use tempfile::TempDir;

use super::daemon::wait_until;
use super::loopback::{Process, connect, free_port};

/// How long a cluster has to form, sync its replicas or fail over.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(90);

/// Local `redis-server`s on loopback TCP ports, each in its own directory,
/// made into one cluster (or left as one plain server). Every process is
/// killed when this is dropped, also when a test panics.
pub struct Servers {
    /// Each node: its port and process. The first is the seed the tests
    /// give the daemons; the failovers here never touch it.
    pub nodes: Vec<Process>,
    /// Whether the nodes run in cluster mode.
    cluster: bool,
    /// Holds each node's directory (config, log); declared last, so
    /// removed after the nodes are killed.
    dir: TempDir,
}

impl Servers {
    /// Three masters, no replicas, all 16384 slots assigned, state ok.
    pub fn cluster() -> Servers {
        Servers::cluster_of(3, 0)
    }

    /// Three masters with a replica each, every replica in sync.
    pub fn cluster_with_replicas() -> Servers {
        let servers = Servers::cluster_of(6, 1);
        let synced = wait_until(CLUSTER_TIMEOUT, || {
            servers.nodes.iter().all(|n| {
                let info: String = connect(n.port)
                    .and_then(|mut c| redis::cmd("INFO").arg("replication").query(&mut c))
                    .unwrap_or_default();
                info.contains("role:slave") && info.contains("master_link_status:up")
                    || info.contains("role:master") && info.contains("state=online")
            })
        });
        assert!(synced, "the replicas did not sync");
        servers
    }

    /// `count` nodes made one cluster with `replicas` replicas per master.
    fn cluster_of(count: usize, replicas: usize) -> Servers {
        let servers = Servers::spawn(count, true);
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for n in &servers.nodes {
            create.arg(format!("127.0.0.1:{}", n.port));
        }
        let out = create
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .expect("cannot run redis-cli");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            wait_until(CLUSTER_TIMEOUT, || servers.is_ok()),
            "the cluster did not reach cluster_state:ok"
        );
        servers
    }

    /// One plain server on TCP, like a cluster node in every other way.
    pub fn single() -> Servers {
        Servers::spawn(1, false)
    }

    fn spawn(count: usize, cluster: bool) -> Servers {
        let dir = tempfile::Builder::new()
            .prefix("switchyard-cluster-")
            .tempdir()
            .unwrap();
        let mut servers = Servers {
            nodes: Vec::new(),
            cluster,
            dir,
        };
        for _ in 0..count {
            let node = servers.start_node(free_port());
            servers.nodes.push(node);
        }
        servers
    }

    /// The node on `port`, in its directory (a killed one starts again
    /// from its `nodes.conf`, so it rejoins the cluster it was in).
    fn start_node(&self, port: u16) -> Process {
        let cluster = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "5000",
        ];
        let extra: &[&str] = if self.cluster { &cluster } else { &[] };
        Process::server(port, &self.home(port), extra)
    }

    fn home(&self, port: u16) -> PathBuf {
        self.dir.path().join(port.to_string())
    }

    /// The port of the first node: the seed.
    pub fn seed(&self) -> u16 {
        self.nodes[0].port
    }

    /// The URL of the first node: the daemons' seed.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.seed())
    }

    /// Whether the seed says `cluster_state:ok`.
    fn is_ok(&self) -> bool {
        connect(self.seed())
            .and_then(|mut c| redis::cmd("CLUSTER").arg("INFO").query::<String>(&mut c))
            .is_ok_and(|info| info.contains("cluster_state:ok"))
    }

    /// A connection that routes by key: a cluster connection, or a plain
    /// one to the single server.
    pub fn connection(&self) -> Box<dyn ConnectionLike> {
        if self.nodes.len() == 1 {
            Box::new(connect(self.seed()).unwrap())
        } else {
            let client = redis::cluster::ClusterClient::new(vec![self.url()]).unwrap();
            Box::new(client.get_connection().unwrap())
        }
    }

    /// A plain connection to the node that holds `key` (pipelines of one
    /// slot go there: the synchronous cluster client does not pipeline).
    pub fn connection_for(&self, key: &str) -> redis::Connection {
        let port = if self.nodes.len() == 1 {
            self.seed()
        } else {
            self.master_of(key)
        };
        connect(port).unwrap()
    }

    /// The port of the master that holds `key`'s slot.
    pub fn master_of(&self, key: &str) -> u16 {
        master_of(self.seed(), key).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fails the master that holds `key` over to its replica: gracefully
    /// (`CLUSTER FAILOVER` on the replica: it takes over once in sync), or
    /// by force (the master killed -9: the replica takes over after
    /// `cluster-node-timeout`, maybe without its last writes). Returns the
    /// old master's port once the seed names the replica as the slot's
    /// master and the cluster is ok; [`Servers::rejoin`] brings a killed
    /// one back.
    pub fn fail_over(&mut self, key: &str, forced: bool) -> u16 {
        let old = self.master_of(key);
        assert_ne!(old, self.seed(), "the seed is never failed over");
        let replica = replica_of(old).unwrap_or_else(|| panic!("master {old} has no replica"));
        if forced {
            self.nodes
                .iter_mut()
                .find(|n| n.port == old)
                .expect("the master is one of the nodes")
                .kill();
        } else {
            let _: String = redis::cmd("CLUSTER")
                .arg("FAILOVER")
                .query(&mut connect(replica).unwrap())
                .unwrap();
        }
        assert!(
            wait_until(CLUSTER_TIMEOUT, || self.is_ok()
                && master_of(self.seed(), key).is_ok_and(|m| m == replica)),
            "replica {replica} did not take over the slot of {key} from {old}"
        );
        old
    }

    /// After [`Servers::fail_over`]: a killed old master is started again
    /// on its port and directory, and rejoins as its successor's replica
    /// (a graceful one already is). [`Servers::wait_ready`] says when it is
    /// in sync.
    pub fn rejoin(&mut self, old: u16) {
        if let Some(i) = self
            .nodes
            .iter()
            .position(|n| n.port == old && !n.is_running())
        {
            self.nodes[i] = self.start_node(old);
        }
    }

    /// Waits until the master holding `key` has a replica online (synced,
    /// taking the stream of writes), and the cluster is ok.
    pub fn wait_ready(&self, key: &str) {
        let online = |port: u16| {
            connect(port)
                .and_then(|mut c| {
                    redis::cmd("INFO")
                        .arg("replication")
                        .query::<String>(&mut c)
                })
                .is_ok_and(|info| info.contains("state=online"))
        };
        assert!(
            wait_until(CLUSTER_TIMEOUT, || self.is_ok()
                && master_of(self.seed(), key).is_ok_and(online)),
            "the master of {key} has no replica online"
        );
    }
}

/// The port of the master that holds `key`'s slot, as the node on `seed`
/// sees the cluster.
pub fn master_of(seed: u16, key: &str) -> Result<u16, String> {
    let mut conn = connect(seed).map_err(|e| format!("seed node {seed}: {e}"))?;
    let slot: i64 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query(&mut conn)
        .map_err(|e| format!("CLUSTER KEYSLOT on {seed}: {e}"))?;
    let ranges = match redis::cmd("CLUSTER").arg("SLOTS").query(&mut conn) {
        Ok(Value::Array(ranges)) => ranges,
        other => return Err(format!("CLUSTER SLOTS on {seed}: {other:?}")),
    };
    for range in ranges {
        let Value::Array(parts) = range else { continue };
        if let (Some(Value::Int(from)), Some(Value::Int(to)), Some(Value::Array(master))) =
            (parts.first(), parts.get(1), parts.get(2))
            && (*from..=*to).contains(&slot)
            && let Some(Value::Int(port)) = master.get(1)
        {
            return Ok(*port as u16);
        }
    }
    Err(format!("no master holds slot {slot} ({key})"))
}

/// The port of the first replica of the master on `port`.
fn replica_of(port: u16) -> Option<u16> {
    let info: String = connect(port)
        .and_then(|mut c| redis::cmd("INFO").arg("replication").query(&mut c))
        .ok()?;
    info.lines()
        .find(|l| l.starts_with("slave0:"))?
        .split("port=")
        .nth(1)?
        .split(',')
        .next()?
        .parse()
        .ok()
}

/// Whether the master on `port` has replicas, every one online with all it
/// was sent.
pub fn replicas_caught_up(port: u16) -> bool {
    let info: String = connect(port)
        .and_then(|mut c| redis::cmd("INFO").arg("replication").query(&mut c))
        .unwrap_or_default();
    let Some(offset) = info
        .lines()
        .find_map(|l| l.strip_prefix("master_repl_offset:"))
    else {
        return false;
    };
    let replicas: Vec<&str> = info.lines().filter(|l| l.starts_with("slave")).collect();
    !replicas.is_empty()
        && replicas.iter().all(|l| {
            l.contains("state=online") && l.contains(&format!("offset={},", offset.trim()))
        })
}
