//! The daemon looking at itself: every second it checks that Redis answers
//! (for `/readyz`); every few seconds it sets the pending and lag gauges from
//! `XINFO GROUPS` and writes its heartbeat record, which `switchyard status`
//! reads to list the daemons alive.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::store::Conn;
use redis::Value;

use crate::daemon::health::Readiness;
use crate::daemon::metrics::{StreamLabels, metrics};
use crate::daemon::reload::ReloadReport;
use crate::daemon::shutdown::Shutdown;
use crate::daemon::snapshot::SnapshotCell;
use crate::store::reply::groups;

/// Heartbeat records are `HEARTBEAT_PREFIX + consumer name`.
pub const HEARTBEAT_PREFIX: &str = "switchyard:daemon:";
/// How long a heartbeat record outlives its last write.
pub const HEARTBEAT_TTL: Duration = Duration::from_secs(15);
/// How often the heartbeat and gauges are written.
const REPORT_EVERY: Duration = Duration::from_secs(5);

/// What the observer reads and reports.
pub struct Observer {
    /// Its own connection.
    pub conn: Conn,
    /// The consumer group.
    pub group: String,
    /// This daemon's consumer name.
    pub consumer: String,
    /// The current snapshot (sources, plugin versions).
    pub snapshot: SnapshotCell,
    /// The latest reload.
    pub reloads: Arc<Mutex<ReloadReport>>,
    /// Where readiness is published.
    pub readiness: Arc<Readiness>,
    /// When the daemon started, Unix ms.
    pub started: u128,
}

impl Observer {
    /// Runs until shutdown, then removes the heartbeat record.
    pub async fn run(mut self, mut shutdown: Shutdown) {
        let mut last_report = None::<std::time::Instant>;
        let mut reported_error = false;
        loop {
            let ok = redis::cmd("PING")
                .query_async::<String>(&mut self.conn)
                .await
                .is_ok();
            self.readiness.redis.store(ok, Ordering::Relaxed);
            if ok && last_report.is_none_or(|t| t.elapsed() >= REPORT_EVERY) {
                match self.report().await {
                    Err(e) if !reported_error => {
                        tracing::warn!(
                            "cannot write the heartbeat record (status will not list this daemon): {e}"
                        );
                        reported_error = true;
                    }
                    Err(_) => {}
                    Ok(()) => reported_error = false,
                }
                last_report = Some(std::time::Instant::now());
            }
            tokio::select! {
                _ = shutdown.requested() => break,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
        let key = format!("{HEARTBEAT_PREFIX}{}", self.consumer);
        if let Err(e) = redis::cmd("DEL")
            .arg(&key)
            .query_async::<()>(&mut self.conn)
            .await
        {
            // It expires on its own within the TTL.
            tracing::info!("cannot remove the heartbeat record {key} at shutdown: {e}");
        }
    }

    async fn report(&mut self) -> redis::RedisResult<()> {
        let snapshot = self.snapshot.current();
        for source in snapshot.sources() {
            let reply: Value = redis::cmd("XINFO")
                .arg("GROUPS")
                .arg(&source)
                .query_async(&mut self.conn)
                .await?;
            if let Some(group) = groups(reply)
                .into_iter()
                .find(|g| g.get("name").map(String::as_str) == Some(&self.group))
            {
                let labels = StreamLabels {
                    stream: source.clone(),
                };
                let number = |key: &str| {
                    group
                        .get(key)
                        .and_then(|v| v.parse::<i64>().ok())
                        .unwrap_or(0)
                };
                metrics()
                    .pending
                    .get_or_create(&labels)
                    .set(number("pending"));
                metrics().lag.get_or_create(&labels).set(number("lag"));
            }
        }
        let reloads = self
            .reloads
            .lock()
            .expect("report lock is never poisoned")
            .clone();
        let now = unix_ms(SystemTime::now());
        let key = format!("{HEARTBEAT_PREFIX}{}", self.consumer);
        let fields: Vec<(&str, String)> = vec![
            ("consumer", self.consumer.clone()),
            ("group", self.group.clone()),
            ("version", env!("CARGO_PKG_VERSION").to_owned()),
            ("pid", std::process::id().to_string()),
            ("sources", snapshot.sources().join(",")),
            ("plugins", snapshot.versions().join(",")),
            ("in-flight", metrics().in_flight.get().to_string()),
            ("reloads-ok", reloads.ok.to_string()),
            ("reloads-failed", reloads.failed.to_string()),
            ("last-reload-error", reloads.last_error.unwrap_or_default()),
            ("started", self.started.to_string()),
            ("updated", now.to_string()),
        ];
        redis::pipe()
            .atomic()
            .cmd("HSET")
            .arg(&key)
            .arg(fields)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(HEARTBEAT_TTL.as_millis() as u64)
            .ignore()
            .exec_async(&mut self.conn)
            .await
    }
}

/// Unix milliseconds.
pub fn unix_ms(time: SystemTime) -> u128 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}
