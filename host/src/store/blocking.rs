//! Blocking connections for everything beside the daemon's hot path: the
//! commands (`send`, `status`, `dead-letters`, `replay`, `diff`), the console
//! and retention's rounds.
//!
//! An operator gives one URL. When the server there is a cluster node, the
//! connection becomes one to the whole cluster ([`BlockingConn::Cluster`]):
//! each command goes to the master of its key's slot, wherever the URL
//! pointed, and the few commands that are about a server rather than a key
//! (`SCAN`, `INFO`) run on every master through [`BlockingConn::on_masters`]
//! and [`BlockingConn::scan_match`]. With sentinels, the master is asked for
//! at every connect, so a connection made after a failover reaches the new
//! master.

use std::time::Duration;

use anyhow::Context;
use redis::cluster::{ClusterClientBuilder, ClusterConnection};
use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, ConnectionLike, RedisResult, Value};

use super::{client, redact, url_for};
use crate::config::RedisTarget;
use crate::store::reply::text;

/// The longest a connect may take, whatever a command may.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A blocking connection to one server or to a cluster.
pub enum BlockingConn {
    /// One server (the embedded one, a URL's, or the sentinels' master).
    Single(redis::Connection),
    /// The cluster the URL's node belongs to.
    Cluster(Box<ClusterConnection>),
}

impl BlockingConn {
    /// Connects to the Redis `target` names, each command allowed `timeout`.
    /// Sentinels are asked for the master now; a cluster is reached through
    /// the first of its seeds that answers.
    pub fn to_target(target: &RedisTarget, timeout: Duration) -> anyhow::Result<BlockingConn> {
        let RedisTarget::Cluster(seeds) = target else {
            return BlockingConn::open(&url_for(target)?, timeout);
        };
        // The first seed that answers; else the last seed's error.
        let mut failed = None;
        for seed in seeds {
            match BlockingConn::open(seed, timeout) {
                Ok(conn) => return Ok(conn),
                Err(e) => failed = Some(e),
            }
        }
        Err(failed.expect("a cluster has at least one seed"))
    }

    /// Connects to the server at `url`, or to its whole cluster when it is a
    /// cluster node (`INFO cluster` says `cluster_enabled:1`).
    pub fn open(url: &str, timeout: Duration) -> anyhow::Result<BlockingConn> {
        let fail = || format!("cannot connect to Redis at {}", redact(url));
        let connecting = timeout.min(CONNECT_TIMEOUT);
        let mut conn = client(url)?
            .get_connection_with_timeout(connecting)
            .with_context(fail)?;
        conn.set_read_timeout(Some(timeout))?;
        conn.set_write_timeout(Some(timeout))?;
        // A user the ACL does not allow INFO is taken for a single server, as
        // before this check existed.
        let info: String = redis::cmd("INFO")
            .arg("cluster")
            .query(&mut conn)
            .unwrap_or_default();
        if !info.lines().any(|l| l.trim() == "cluster_enabled:1") {
            return Ok(BlockingConn::Single(conn));
        }
        let cluster = ClusterClientBuilder::new(vec![url])
            .connection_timeout(connecting)
            .response_timeout(timeout)
            .retries(3)
            .build()
            .with_context(|| format!("cannot use Redis Cluster URL {}", redact(url)))?
            .get_connection()
            .with_context(|| format!("cannot reach the cluster of {}", redact(url)))?;
        Ok(BlockingConn::Cluster(Box::new(cluster)))
    }

    /// Whether this reaches a cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self, BlockingConn::Cluster(_))
    }

    /// Runs `cmd` on every master: each master's address (`host:port`, or
    /// `this server` on one server) with its reply.
    pub fn on_masters(&mut self, cmd: &Cmd) -> RedisResult<Vec<(String, Value)>> {
        match self {
            BlockingConn::Single(conn) => Ok(vec![("this server".to_owned(), cmd.query(conn)?)]),
            BlockingConn::Cluster(cluster) => {
                // No response policy: the replies come back per master.
                let route = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
                let reply = cluster.route_command(cmd, route)?;
                let Value::Map(replies) = reply else {
                    return Ok(vec![("the cluster".to_owned(), reply)]);
                };
                Ok(replies
                    .into_iter()
                    .map(|(address, value)| (text(address).unwrap_or_default(), value))
                    .collect())
            }
        }
    }

    /// The masters' addresses (`host:port`); one empty name on one server.
    pub fn masters(&mut self) -> RedisResult<Vec<String>> {
        match self {
            BlockingConn::Single(_) => Ok(vec![String::new()]),
            BlockingConn::Cluster(_) => Ok(self
                .on_masters(&redis::cmd("PING"))?
                .into_iter()
                .map(|(address, _)| address)
                .collect()),
        }
    }

    /// `cmd`'s reply on the master at `master` (one of [`Self::masters`]).
    pub fn query_at(&mut self, master: &str, cmd: &Cmd) -> RedisResult<Value> {
        match self {
            BlockingConn::Single(conn) => cmd.query(conn),
            BlockingConn::Cluster(cluster) => {
                let (host, port) = master.rsplit_once(':').unwrap_or((master, ""));
                let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host: host.to_owned(),
                    port: port.parse().unwrap_or(6379),
                });
                cluster.route_command(cmd, route)
            }
        }
    }

    /// `count` keys drawn at random (`RANDOMKEY`) on the master at `master`;
    /// in one pipeline on one server.
    pub fn random_keys_at(&mut self, master: &str, count: usize) -> RedisResult<Vec<String>> {
        let drawn: Vec<Option<String>> = match self {
            BlockingConn::Single(conn) => {
                let mut pipe = redis::pipe();
                for _ in 0..count {
                    pipe.cmd("RANDOMKEY");
                }
                pipe.query(conn)?
            }
            BlockingConn::Cluster(_) => (0..count)
                .map(|_| -> RedisResult<Option<String>> {
                    Ok(redis::from_redis_value(
                        self.query_at(master, &redis::cmd("RANDOMKEY"))?,
                    )?)
                })
                .collect::<RedisResult<_>>()?,
        };
        Ok(drawn.into_iter().flatten().collect())
    }

    /// Every key that matches `pattern`, on every master (`SCAN MATCH`).
    pub fn scan_match(&mut self, pattern: &str) -> RedisResult<Vec<String>> {
        let mut keys = Vec::new();
        for master in self.masters()? {
            let mut cursor = 0u64;
            loop {
                let mut scan = redis::cmd("SCAN");
                scan.arg(cursor)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(1000);
                let (next, found): (u64, Vec<String>) =
                    redis::from_redis_value(self.query_at(&master, &scan)?)?;
                keys.extend(found);
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        Ok(keys)
    }

    /// The sum over every master of the `INFO` field `field` of `section`.
    pub fn info_sum(&mut self, section: &str, field: &str) -> Option<i64> {
        let replies = self.on_masters(redis::cmd("INFO").arg(section)).ok()?;
        let prefix = format!("{field}:");
        let values: Vec<i64> = replies
            .into_iter()
            .filter_map(|(_, reply)| text(reply))
            .filter_map(|info| {
                info.lines()
                    .find_map(|l| l.strip_prefix(prefix.as_str()))
                    .and_then(|v| v.trim().parse().ok())
            })
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    }
}

impl ConnectionLike for BlockingConn {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        match self {
            BlockingConn::Single(conn) => conn.req_packed_command(cmd),
            BlockingConn::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        match self {
            BlockingConn::Single(conn) => conn.req_packed_commands(cmd, offset, count),
            BlockingConn::Cluster(conn) => conn.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            BlockingConn::Single(conn) => conn.get_db(),
            BlockingConn::Cluster(conn) => conn.get_db(),
        }
    }

    fn check_connection(&mut self) -> bool {
        match self {
            BlockingConn::Single(conn) => conn.check_connection(),
            BlockingConn::Cluster(conn) => conn.check_connection(),
        }
    }

    fn is_open(&self) -> bool {
        match self {
            BlockingConn::Single(conn) => conn.is_open(),
            BlockingConn::Cluster(conn) => conn.is_open(),
        }
    }
}
