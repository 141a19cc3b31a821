//! Retention: keeps Redis memory flat on a daemon that runs for months.
//!
//! On an interval, one daemon (whichever takes the round's lock) trims:
//! - each source stream of the entries that **every** consumer group on it
//!   (not only switchyard's) has acknowledged: never an entry still pending
//!   in some group, nor one some group has not been delivered yet. A source
//!   with no group is not trimmed.
//! - each output stream (targets, rejected, dead letters) with a cap, down
//!   to `max-len` entries and of entries older than `max-age`; but never of
//!   an entry that a consumer group on that stream (a runner's) still needs.
//!
//! The trim point is computed from `XINFO GROUPS` and `XPENDING`
//! ([`bound::acknowledged_bound`]); when an archive directory is set, the entries
//! below it are written there first ([`crate::retention::archive`]), fsynced, and only
//! then trimmed. The trim itself ([`TRIM_SCRIPT`]) checks the groups again,
//! atomically with `XTRIM MINID`, so a group created or moved back in the
//! meantime makes it trim nothing rather than too much. The trim is exact
//! (not `~`).
//!
//! A round runs on a blocking thread with its own connection: it is never on
//! the path of a job. Its position per stream (last id trimmed, totals) is
//! kept in `switchyard:retention:STREAM` for `switchyard status`.

//!
//! # Layout
//! - [`bound`]: where a stream may be trimmed, as pure functions.
//! - [`round`]: one round over one stream: bound, archive, trim.
//! - [`archive`]: the files trimmed entries are kept in.

pub mod archive;
pub mod bound;
pub mod round;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::config::{RedisTarget, RetentionSettings, streams_of};
use crate::daemon::shutdown::Shutdown;
use crate::daemon::snapshot::SnapshotCell;
use crate::metrics::{ResultLabels, metrics};
use crate::store::BlockingConn;

/// How long one command of a round may take (an XRANGE of a batch to
/// archive, the trim script).
const ROUND_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

pub use bound::acknowledged_bound;
pub use round::{TRIM_SCRIPT, position, round, trim_stream};

/// The position record of stream S is `POSITION_PREFIX + S`.
pub const POSITION_PREFIX: &str = "switchyard:retention:";
/// Taken (`SET NX PX interval`) by the daemon that runs a round.
pub const LOCK_KEY: &str = "switchyard:retention-lock";
/// The daemon's retention task.
pub struct Retention {
    /// Where Redis is: one server, a cluster (each stream trimmed on the
    /// master of its slot) or the sentinels' master of the moment. The task
    /// holds its own connection and makes a new one after a failed round.
    pub target: RedisTarget,
    /// What to keep.
    pub settings: RetentionSettings,
    /// The current routes, for the stream names.
    pub snapshot: SnapshotCell,
    /// This daemon's consumer name, written into the round's lock.
    pub holder: String,
}

impl Retention {
    /// Runs a round every interval until shutdown; a round in progress at
    /// shutdown stops after its current step.
    pub async fn run(self, mut shutdown: Shutdown) {
        let stop = Arc::new(AtomicBool::new(false));
        let settings = Arc::new(self.settings);
        let mut conn: Option<BlockingConn> = None;
        let mut failing = false;
        tracing::info!(
            interval = ?settings.interval,
            archive = ?settings.archive_dir,
            "retention on"
        );
        loop {
            tokio::select! {
                _ = shutdown.requested() => break,
                _ = tokio::time::sleep(settings.interval) => {}
            }
            let streams = {
                let snapshot = self.snapshot.current();
                streams_of(snapshot.routes.iter().map(|r| &r.settings))
            };
            let (target, settings_, holder, stop_) = (
                self.target.clone(),
                settings.clone(),
                self.holder.clone(),
                stop.clone(),
            );
            let taken = conn.take();
            let mut job = tokio::task::spawn_blocking(move || {
                let mut conn = match taken {
                    Some(conn) => conn,
                    None => BlockingConn::to_target(&target, ROUND_COMMAND_TIMEOUT)?,
                };
                let result = round(&mut conn, &settings_, &streams, &holder, &stop_);
                result.map(|r| (conn, r))
            });
            let joined = tokio::select! {
                joined = &mut job => joined,
                _ = shutdown.requested() => {
                    stop.store(true, Ordering::Relaxed);
                    job.await
                }
            };
            let result = joined.unwrap_or_else(|e| Err(anyhow::anyhow!("the round panicked: {e}")));
            let ok = result.is_ok();
            metrics()
                .retention_rounds
                .get_or_create(&ResultLabels {
                    result: if ok { "ok" } else { "failed" }.to_owned(),
                })
                .inc();
            match result {
                Ok((kept, streams)) => {
                    conn = Some(kept);
                    if failing {
                        tracing::info!("retention works again");
                        failing = false;
                    }
                    for s in streams.into_iter().flatten() {
                        if let Some(why) = s.refused {
                            tracing::info!(stream = %s.stream, "retention trimmed less: {why} (it moved during the round)");
                        }
                        if s.trimmed > 0 || s.archived > 0 {
                            tracing::debug!(stream = %s.stream, trimmed = s.trimmed, archived = s.archived, through = ?s.through.map(|t| t.to_string()), "retention");
                        }
                    }
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(
                            "retention round failed (nothing is trimmed that was not archived; retrying next interval): {e:#}"
                        );
                    }
                    failing = true;
                }
            }
            if stop.load(Ordering::Relaxed) {
                break;
            }
        }
    }
}
