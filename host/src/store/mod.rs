//! Reaching Redis: a URL from the config (one server or a cluster), or an
//! embedded `redis-server` that switchyard starts, supervises and stops.
//!
//! [`Store`] hands out [`Conn`]s, one type for both kinds of Redis, so the
//! rest of the daemon sends its commands the same way to either. On a
//! cluster a command goes to the master of its key's slot, and a pipeline
//! must hold commands of one slot only (see [`crate::store::layout`]).
//!
//! The embedded server is in [`embedded`]; the cluster's key layout in
//! [`layout`]; reading replies in [`reply`]; a consumer group's lag and
//! pending entries in [`backlog`]; Sentinel in [`sentinel`]; the blocking
//! connections of the commands, the console and retention (one server or
//! a whole cluster from any node's URL) in [`blocking`].

pub mod backlog;
pub mod blocking;
pub mod embedded;
pub mod layout;
pub mod reply;
pub mod sentinel;
mod url;

pub use blocking::BlockingConn;
pub use embedded::{Embedded, SOCKET_FILE, terminate};

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

pub use url::{redact, redact_all};

use crate::config::RedisTarget;

/// Where `target` is, for messages: its URL without the password, a
/// cluster's seeds so, or the sentinels and master's name. Never connects.
pub fn describe(target: &RedisTarget) -> String {
    match target {
        RedisTarget::Sentinel { sentinels, master } => {
            format!(
                "master `{master}` of the sentinels {}",
                sentinels.join(", ")
            )
        }
        RedisTarget::Cluster(seeds) => format!("the cluster of {}", redact_all(seeds)),
        other => url_for(other).map_or_else(|e| format!("{e:#}"), |url| redact(&url)),
    }
}

/// The URL to reach `target` at (a cluster's first seed).
pub fn url_for(target: &RedisTarget) -> anyhow::Result<String> {
    match target {
        RedisTarget::Url(url) => Ok(url.clone()),
        RedisTarget::Cluster(seeds) => Ok(seeds[0].clone()),
        // The commands beside the daemon talk to the master of now.
        RedisTarget::Sentinel { sentinels, master } => {
            sentinel::Sentinels::master_url_blocking(sentinels, master).with_context(|| {
                format!(
                    "cannot find master `{master}` through the sentinels {}",
                    sentinels.join(", ")
                )
            })
        }
        RedisTarget::Embedded { data_dir } => {
            let dir = std::path::absolute(data_dir)
                .with_context(|| format!("data dir {}", data_dir.display()))?;
            Ok(format!("redis+unix://{}", dir.join(SOCKET_FILE).display()))
        }
    }
}

/// The Redis a command run beside the daemon talks to: `--redis-url` if it
/// names a server, else the config's (its sentinels, a cluster's seeds, the
/// embedded server's socket for `embedded`). Also returns the config, when
/// one was given.
pub fn resolve(
    url: Option<String>,
    config: Option<&Path>,
) -> anyhow::Result<(RedisTarget, Option<crate::config::Settings>)> {
    let settings = match config {
        Some(config) => Some(crate::config::Settings::load(
            config,
            None,
            Some("cli".into()),
        )?),
        None => None,
    };
    let target = match (url, &settings) {
        (Some(url), _) if url != "embedded" => RedisTarget::Url(url),
        (_, Some(settings)) => settings.redis.clone(),
        (Some(_), None) => bail!("--redis-url embedded needs --config to find the data directory"),
        (None, None) => bail!("give --config (or --redis-url)"),
    };
    Ok((target, settings))
}

/// A client for `url`.
pub fn client(url: &str) -> anyhow::Result<redis::Client> {
    install_tls();
    redis::Client::open(url).with_context(|| format!("cannot use Redis URL {}", redact(url)))
}

/// Makes `ring` the process's TLS crypto provider, which `rediss://` needs:
/// redis's rustls enables none, and rustls panics at the first TLS
/// connection unless exactly one is enabled (our `ring` feature) or one is
/// installed (this, so a dependency enabling another cannot bring the panic
/// back). Once per process.
fn install_tls() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // Refused only if a provider is installed already; that one serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reconnecting connection whose replies may take `response_timeout`
/// (a blocking read needs longer than its block time). It does not retry on
/// its own: callers back off and log.
pub async fn connect(
    client: &redis::Client,
    response_timeout: Duration,
) -> redis::RedisResult<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(500))
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(response_timeout));
    ConnectionManager::new_with_config(client.clone(), config).await
}

/// Where the daemon's connections go: one server or a cluster.
#[derive(Clone)]
pub enum Store {
    /// One server (or the embedded one).
    Single(Box<redis::Client>),
    /// A cluster, discovered from the first of these seed nodes that
    /// answers.
    Cluster(Vec<String>),
    /// The master Redis Sentinel names, followed through failovers.
    Sentinel(sentinel::Sentinels),
}

impl Store {
    /// The store `target` names.
    pub fn new(target: &RedisTarget) -> anyhow::Result<Store> {
        install_tls();
        if let RedisTarget::Sentinel { sentinels, master } = target {
            let found = sentinel::Sentinels::new(sentinels, master)
                .with_context(|| format!("cannot use the sentinels {}", sentinels.join(", ")))?;
            return Ok(Store::Sentinel(found));
        }
        if let RedisTarget::Cluster(seeds) = target {
            // Checked here so a bad URL fails at start, not per connect.
            ClusterClientBuilder::new(seeds.clone())
                .build()
                .with_context(|| format!("cannot use {}", describe(target)))?;
            return Ok(Store::Cluster(seeds.clone()));
        }
        Ok(Store::Single(Box::new(client(&url_for(target)?)?)))
    }

    /// Whether this is a cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self, Store::Cluster(_))
    }

    /// A new connection whose replies may take `response_timeout`. On a
    /// cluster, it holds its own connection to every master, so a blocking
    /// read on it holds up no other connection's commands.
    pub async fn connect(&self, response_timeout: Duration) -> redis::RedisResult<Conn> {
        match self {
            Store::Single(client) => Ok(Conn::Single(connect(client, response_timeout).await?)),
            Store::Sentinel(sentinels) => {
                Ok(Conn::Sentinel(sentinels.connect(response_timeout).await?))
            }
            Store::Cluster(seeds) => {
                let client = ClusterClientBuilder::new(seeds.clone())
                    .connection_timeout(Duration::from_secs(2))
                    .response_timeout(response_timeout)
                    // Redirections (MOVED, ASK) and a failover are retried
                    // here; longer outages are the callers' to back off.
                    .retries(3)
                    .max_retry_wait(500)
                    .build()?;
                Ok(Conn::Cluster(client.get_async_connection().await?))
            }
        }
    }
}

/// A connection to one server or to a cluster; cheap to clone (clones share
/// the underlying connections).
#[derive(Clone)]
pub enum Conn {
    /// A reconnecting multiplexed connection to one server.
    Single(ConnectionManager),
    /// A cluster connection: routes each command by its key's slot and
    /// follows redirections.
    Cluster(ClusterConnection),
    /// The master Redis Sentinel names, followed through failovers.
    Sentinel(sentinel::SentinelConn),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(conn) => conn.req_packed_command(cmd),
            Conn::Cluster(conn) => conn.req_packed_command(cmd),
            Conn::Sentinel(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
            Conn::Sentinel(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(conn) => conn.get_db(),
            Conn::Cluster(conn) => conn.get_db(),
            Conn::Sentinel(conn) => conn.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// redis's rustls enables no crypto provider; without one, the first
    /// `rediss://` connection panicked (see [`install_tls`]).
    #[test]
    fn a_tls_url_fails_as_an_error_not_a_panic() {
        // Accepts TCP (the kernel's backlog) but never answers TLS.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("rediss://{}/0", listener.local_addr().unwrap());
        let store = Store::new(&RedisTarget::Url(url)).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let connected = runtime.block_on(store.connect(Duration::from_secs(1)));
        assert!(connected.is_err(), "the listener never answers TLS");
    }
}
