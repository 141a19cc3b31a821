//! The daemon looking at itself: every second it checks that Redis answers
//! (for `/readyz`); every few seconds it sets the backlog gauges (lag,
//! pending, oldest pending: [`crate::store::backlog`]) and writes its
//! heartbeat, which `switchyard status` reads to list the daemons alive.
//!
//! Heartbeats live in one hash, [`DAEMONS_KEY`]: field = consumer name,
//! value = the daemon's record as JSON with `updated` (Redis's clock, Unix
//! ms). `status` reads that one key, so it finds every daemon however many
//! other keys Redis holds; one key also means one slot on a cluster. Each
//! write, in one script, drops the records not updated within
//! [`HEARTBEAT_TTL`] (daemons that died without saying so) and sets the
//! hash to expire after it, so it vanishes when the last daemon does.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::store::Conn;
use serde_json::json;

use crate::daemon::health::Readiness;
use crate::daemon::reload::ReloadReport;
use crate::daemon::shutdown::Shutdown;
use crate::daemon::snapshot::SnapshotCell;
use crate::metrics::{StreamLabels, metrics};
use crate::store::backlog;

/// The hash of the daemons' heartbeat records (see the module doc).
pub const DAEMONS_KEY: &str = "switchyard:daemons";
/// How long a heartbeat record counts as alive after its last write.
pub const HEARTBEAT_TTL: Duration = Duration::from_secs(15);
/// How often the heartbeat and gauges are written.
const REPORT_EVERY: Duration = Duration::from_secs(5);

/// Writes one daemon's record and drops the stale ones; see the module doc.
/// Scripts are not transactions, so nothing in it can fail after the first
/// write: a record that is not JSON with a number `updated` is stale.
const BEAT_SCRIPT: &str = r#"
-- KEYS[1] the daemons hash; ARGV[1] consumer, ARGV[2] record JSON, ARGV[3] TTL ms
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ok, record = pcall(cjson.decode, ARGV[2])
if not ok or type(record) ~= 'table' then return redis.error_reply('heartbeat record is not a JSON object') end
record['updated'] = now
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(record))
local cutoff = now - tonumber(ARGV[3])
local all = redis.call('HGETALL', KEYS[1])
local dropped = 0
for i = 1, #all, 2 do
  local fine, other = pcall(cjson.decode, all[i + 1])
  if not fine or type(other) ~= 'table' or type(other['updated']) ~= 'number' or other['updated'] < cutoff then
    redis.call('HDEL', KEYS[1], all[i])
    dropped = dropped + 1
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return dropped
"#;

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
        if let Err(e) = redis::cmd("HDEL")
            .arg(DAEMONS_KEY)
            .arg(&self.consumer)
            .query_async::<()>(&mut self.conn)
            .await
        {
            // Not fatal: the record goes stale, status stops listing it
            // after HEARTBEAT_TTL and the next beat of any daemon drops it.
            tracing::warn!(
                "cannot remove this daemon's heartbeat ({} in {DAEMONS_KEY}): {e}",
                self.consumer
            );
        }
    }

    async fn report(&mut self) -> redis::RedisResult<()> {
        let snapshot = self.snapshot.current();
        // Redis's clock, which stamped the entry ids the ages come from.
        let (seconds, micros): (u64, u64) = redis::cmd("TIME").query_async(&mut self.conn).await?;
        let now = seconds * 1000 + micros / 1000;
        for source in snapshot.sources() {
            let Some(found) = backlog::read_async(&mut self.conn, &source, &self.group).await?
            else {
                continue;
            };
            let labels = StreamLabels {
                stream: source.clone(),
            };
            let m = metrics();
            m.pending.get_or_create(&labels).set(found.pending as i64);
            m.lag.get_or_create(&labels).set(found.lag as i64);
            m.oldest_pending
                .get_or_create(&labels)
                .set(found.oldest_pending_ms(now) as f64 / 1000.0);
        }
        let reloads = self
            .reloads
            .lock()
            .expect("report lock is never poisoned")
            .clone();
        let record = json!({
            "consumer": self.consumer,
            "group": self.group,
            "version": env!("CARGO_PKG_VERSION"),
            "pid": std::process::id(),
            "sources": snapshot.sources(),
            "plugins": snapshot.versions(),
            "in-flight": metrics().in_flight.get(),
            "reloads-ok": reloads.ok,
            "reloads-failed": reloads.failed,
            "last-reload-error": reloads.last_error.unwrap_or_default(),
            "started": self.started as u64,
            "shadow": metrics().shadow_tally(),
        });
        redis::Script::new(BEAT_SCRIPT)
            .key(DAEMONS_KEY)
            .arg(&self.consumer)
            .arg(record.to_string())
            .arg(HEARTBEAT_TTL.as_millis() as u64)
            .invoke_async::<i64>(&mut self.conn)
            .await
            .map(drop)
    }
}

/// Unix milliseconds.
pub fn unix_ms(time: SystemTime) -> u128 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}
