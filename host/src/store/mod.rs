//! Reaching Redis: a URL from the config (one server or a cluster), or an
//! embedded `redis-server` that switchyard starts, supervises and stops.
//!
//! [`Store`] hands out [`Conn`]s, one type for both kinds of Redis, so the
//! rest of the daemon sends its commands the same way to either. On a
//! cluster a command goes to the master of its key's slot, and a pipeline
//! must hold commands of one slot only (see [`crate::store::layout`]).
//!
//! The embedded server listens only on a unix socket in the data directory
//! (no TCP port), persists with AOF, and is restarted if it dies while the
//! daemon runs. It is asked to die with its parent, so a `kill -9` of the
//! daemon does not leave it behind.

pub mod layout;
mod url;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use tokio::process::{Child, Command};
use tokio::sync::watch;

pub use url::redact;

use crate::config::RedisTarget;

/// The socket file of the embedded server, in its data directory.
pub const SOCKET_FILE: &str = "redis.sock";

/// The URL to reach `target` at.
pub fn url_for(target: &RedisTarget) -> anyhow::Result<String> {
    match target {
        RedisTarget::Url(url) | RedisTarget::Cluster(url) => Ok(url.clone()),
        RedisTarget::Embedded { data_dir } => {
            let dir = std::path::absolute(data_dir)
                .with_context(|| format!("data dir {}", data_dir.display()))?;
            Ok(format!("redis+unix://{}", dir.join(SOCKET_FILE).display()))
        }
    }
}

/// The Redis URL for a command run beside the daemon: `--redis-url` if it
/// names a server, else the config's (the embedded server's socket for
/// `embedded`). Also returns the config, when one was given.
pub fn resolve(
    url: Option<String>,
    config: Option<&Path>,
) -> anyhow::Result<(String, Option<crate::config::Settings>)> {
    let settings = match config {
        Some(config) => Some(crate::config::Settings::load(
            config,
            None,
            Some("cli".into()),
        )?),
        None => None,
    };
    let url = match (url, &settings) {
        (Some(url), _) if url != "embedded" => url,
        (_, Some(settings)) => url_for(&settings.redis)?,
        (Some(_), None) => bail!("--redis-url embedded needs --config to find the data directory"),
        (None, None) => bail!("give --config (or --redis-url)"),
    };
    Ok((url, settings))
}

/// A client for `url`.
pub fn client(url: &str) -> anyhow::Result<redis::Client> {
    redis::Client::open(url).with_context(|| format!("cannot use Redis URL {}", redact(url)))
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
    /// A cluster, discovered from this seed node's URL.
    Cluster(String),
}

impl Store {
    /// The store `target` names.
    pub fn new(target: &RedisTarget) -> anyhow::Result<Store> {
        let url = url_for(target)?;
        Ok(match target {
            RedisTarget::Cluster(_) => {
                // Checked here so a bad URL fails at start, not per connect.
                ClusterClientBuilder::new(vec![url.as_str()])
                    .build()
                    .with_context(|| format!("cannot use Redis Cluster URL {}", redact(&url)))?;
                Store::Cluster(url)
            }
            _ => Store::Single(Box::new(client(&url)?)),
        })
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
            Store::Cluster(url) => {
                let client = ClusterClientBuilder::new(vec![url.as_str()])
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
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(conn) => conn.req_packed_command(cmd),
            Conn::Cluster(conn) => conn.req_packed_command(cmd),
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
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(conn) => conn.get_db(),
            Conn::Cluster(conn) => conn.get_db(),
        }
    }
}

/// A private `redis-server`, supervised by a task.
pub struct Embedded {
    /// Where the socket, AOF files and log are.
    pub data_dir: PathBuf,
    /// Tells the supervisor to stop the server.
    stop: watch::Sender<bool>,
    /// The supervisor; finishes once the server has exited.
    task: tokio::task::JoinHandle<()>,
    /// The server's pid (0 while none runs), for a forced exit.
    pid: Arc<AtomicU32>,
}

impl Embedded {
    /// Starts `redis-server` in `data_dir` and waits until it answers.
    pub async fn start(data_dir: &Path) -> anyhow::Result<Embedded> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
        let data_dir = std::fs::canonicalize(data_dir)?;
        let socket = data_dir.join(SOCKET_FILE);
        if socket.as_os_str().len() > 100 {
            bail!(
                "the embedded Redis socket path {} is too long for a unix socket; use a shorter data-dir",
                socket.display()
            );
        }
        let pid = Arc::new(AtomicU32::new(0));
        let child = spawn_server(&data_dir).await?;
        pid.store(child.id().unwrap_or(0), Ordering::SeqCst);
        let url = format!("redis+unix://{}", socket.display());
        wait_ready(&url, &data_dir).await?;
        tracing::info!(data_dir = %data_dir.display(), "embedded redis-server started");

        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(supervise(child, data_dir.clone(), stopped, pid.clone()));
        Ok(Embedded {
            data_dir,
            stop,
            task,
            pid,
        })
    }

    /// The pid cell, so a forced exit can stop the server too.
    pub fn pid(&self) -> Arc<AtomicU32> {
        self.pid.clone()
    }

    /// Stops the server (SIGTERM: it writes its AOF and exits) and waits.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Sends SIGTERM to the process `pid` holds, if any.
pub fn terminate(pid: &AtomicU32) {
    let pid = pid.load(Ordering::SeqCst);
    if pid != 0 {
        // SAFETY: kill(2) with a pid we started; no memory is involved.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
    }
}

async fn spawn_server(data_dir: &Path) -> anyhow::Result<Child> {
    let mut command = Command::new("redis-server");
    command
        .current_dir(data_dir)
        .args(["--port", "0", "--unixsocket"])
        .arg(data_dir.join(SOCKET_FILE))
        .args(["--unixsocketperm", "700", "--dir"])
        .arg(data_dir)
        .args([
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            // Routing writes ~2 KB of AOF per job, so Redis's default (rewrite
            // once the file doubles past 64 MB) forks a rewrite every few
            // seconds under load; each takes a core for a second or two and
            // shows in every job's latency. Rewrite past 1 GB instead.
            "--auto-aof-rewrite-min-size",
            "1gb",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
            "--daemonize",
            "no",
            "--logfile",
            "redis.log",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    // SAFETY: prctl only sets a flag of the child process; it allocates
    // nothing and is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    command.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow!(
                "url = \"embedded\" needs `redis-server` on PATH; install it \
                 (Debian/Ubuntu: `apt-get install redis-server`)"
            )
        } else {
            anyhow!("cannot start redis-server: {e}")
        }
    })
}

async fn wait_ready(url: &str, data_dir: &Path) -> anyhow::Result<()> {
    let client = client(url)?;
    for _ in 0..200 {
        if let Ok(mut conn) = client.get_multiplexed_async_connection().await
            && redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let log = std::fs::read_to_string(data_dir.join("redis.log")).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(5).collect();
    bail!(
        "embedded redis-server in {} did not answer within 5 s; its log ends: {}",
        data_dir.display(),
        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
    )
}

async fn supervise(
    mut child: Child,
    data_dir: PathBuf,
    mut stopped: watch::Receiver<bool>,
    pid: Arc<AtomicU32>,
) {
    let mut delay = Duration::from_millis(100);
    loop {
        tokio::select! {
            _ = async { let _ = stopped.wait_for(|stop| *stop).await; } => {
                terminate(&pid);
                if tokio::time::timeout(Duration::from_secs(10), child.wait()).await.is_err() {
                    let _ = child.kill().await;
                }
                pid.store(0, Ordering::SeqCst);
                tracing::info!("embedded redis-server stopped");
                return;
            }
            status = child.wait() => {
                pid.store(0, Ordering::SeqCst);
                tracing::error!(
                    "embedded redis-server exited unexpectedly ({}); restarting in {:?}",
                    status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
                    delay
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
                match spawn_server(&data_dir).await {
                    Ok(new) => {
                        pid.store(new.id().unwrap_or(0), Ordering::SeqCst);
                        child = new;
                    }
                    Err(e) => {
                        tracing::error!("cannot restart embedded redis-server: {e:#}");
                        return;
                    }
                }
            }
        }
    }
}
