//! The embedded `redis-server`: a private server switchyard starts,
//! supervises and stops, for a host where no Redis runs yet.
//!
//! It listens only on a unix socket in the data directory (no TCP port),
//! persists with AOF, and is restarted if it dies while the daemon runs. It
//! is asked to die with its parent, so a `kill -9` of the daemon does not
//! leave it behind.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// The socket file of the embedded server, in its data directory.
pub const SOCKET_FILE: &str = "redis.sock";

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
        // The supervisor holds the receiver until it has stopped the server.
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(
                "the supervisor of the embedded redis-server in {} {}",
                self.data_dir.display(),
                crate::daemon::supervise::panic_text(e)
            );
        }
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
    let client = super::client(url)?;
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

/// Restarts the server whenever it dies, with jittered exponential backoff
/// (`backon`; 100 ms growing to 5 s, reset once a server has run a
/// minute), until `stopped`. A server that cannot be started again is
/// tried again: the daemon's connections back off meanwhile and `/readyz`
/// says Redis is unreachable.
async fn supervise(
    mut child: Child,
    data_dir: PathBuf,
    mut stopped: watch::Receiver<bool>,
    pid: Arc<AtomicU32>,
) {
    use backon::BackoffBuilder;
    let delays = || {
        backon::ExponentialBuilder::new()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_millis(2_500))
            .with_jitter()
            .without_max_times()
            .build()
    };
    let mut backoff = delays();
    let mut running_since = std::time::Instant::now();
    loop {
        tokio::select! {
            // Fails only if the sender (held by `Embedded`) is gone: stop too.
            _ = async { let _ = stopped.wait_for(|stop| *stop).await; } => {
                terminate(&pid);
                if tokio::time::timeout(Duration::from_secs(10), child.wait()).await.is_err()
                    && let Err(e) = child.kill().await
                {
                    tracing::error!("cannot kill the embedded redis-server in {}: {e}", data_dir.display());
                }
                pid.store(0, Ordering::SeqCst);
                tracing::info!("embedded redis-server stopped");
                return;
            }
            status = child.wait() => {
                pid.store(0, Ordering::SeqCst);
                if running_since.elapsed() > Duration::from_secs(60) {
                    backoff = delays();
                }
                let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                loop {
                    let delay = backoff.next().unwrap_or(Duration::from_secs(5));
                    tracing::error!(
                        "embedded redis-server in {} exited unexpectedly ({status}); restarting in {delay:.1?}",
                        data_dir.display()
                    );
                    tokio::select! {
                        _ = async { let _ = stopped.wait_for(|stop| *stop).await; } => return,
                        _ = tokio::time::sleep(delay) => {}
                    }
                    match spawn_server(&data_dir).await {
                        Ok(new) => {
                            pid.store(new.id().unwrap_or(0), Ordering::SeqCst);
                            child = new;
                            running_since = std::time::Instant::now();
                            break;
                        }
                        Err(e) => tracing::error!("cannot restart the embedded redis-server: {e:#}"),
                    }
                }
            }
        }
    }
}
