//! Telling systemd how the daemon is doing (`sd_notify(3)`, through the
//! `sd-notify` crate): `READY=1` once the consumer groups exist and intake's
//! first read succeeded, `WATCHDOG=1` while the pipeline makes progress,
//! `STOPPING=1` at shutdown. Without `NOTIFY_SOCKET` (not run by systemd
//! with `Type=notify`) nothing is sent.
//!
//! Progress is what a stalled daemon stops doing: a read returning (with
//! entries, empty after its block time, or with an error it backs off
//! from) or a job decided. A read loop waiting for in-flight permits while
//! its batches run plugins still shows progress through the jobs decided;
//! one stuck for good shows none, the pings stop, and systemd's
//! `WatchdogSec=` restarts the daemon.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sd_notify::NotifyState;

use super::shutdown::Shutdown;

/// How much longer than one blocking read the pipeline may go without
/// progress before the watchdog pings stop: a read that hangs fails after
/// its block time plus 10 s (the connection's response timeout), and a
/// failed read is progress too.
pub const STALL_MARGIN: Duration = Duration::from_secs(15);

/// What the pipeline reports as it moves, for systemd.
#[derive(Debug)]
pub struct Progress {
    /// When the daemon started; marks count from here.
    started: Instant,
    /// The latest progress, in ms since `started`.
    last: AtomicU64,
    /// Whether `READY=1` has been sent.
    ready: AtomicBool,
    /// Whether a failed notification has been logged (once is enough).
    complained: AtomicBool,
}

impl Default for Progress {
    fn default() -> Progress {
        Progress {
            started: Instant::now(),
            last: AtomicU64::new(0),
            ready: AtomicBool::new(false),
            complained: AtomicBool::new(false),
        }
    }
}

impl Progress {
    /// The pipeline moved: a read returned or a job was decided.
    pub fn mark(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    /// Intake read its sources successfully: progress, and the first time,
    /// `READY=1` (the groups exist by then).
    pub fn read_ok(&self) {
        self.mark();
        if !self.ready.swap(true, Ordering::Relaxed) {
            self.send(NotifyState::Ready);
        }
    }

    /// Whether the pipeline moved within `window` of now.
    pub fn moved_within(&self, window: Duration) -> bool {
        let now = self.started.elapsed().as_millis() as u64;
        now.saturating_sub(self.last.load(Ordering::Relaxed)) <= window.as_millis() as u64
    }

    /// Sends `state`; a failure is logged once, never fatal (systemd's
    /// watchdog, if any, notices the silence).
    fn send(&self, state: NotifyState) {
        if let Err(e) = sd_notify::notify(&[state])
            && !self.complained.swap(true, Ordering::Relaxed)
        {
            let socket = std::env::var("NOTIFY_SOCKET").unwrap_or_default();
            tracing::warn!("cannot notify systemd at NOTIFY_SOCKET {socket}: {e}");
        }
    }

    /// Pings systemd's watchdog every half `WATCHDOG_USEC` while the
    /// pipeline moved within `window`, until shutdown. Returns at once when
    /// systemd asked for no watchdog.
    pub async fn watchdog(&self, window: Duration, mut shutdown: Shutdown) -> anyhow::Result<()> {
        let Some(timeout) = sd_notify::watchdog_enabled() else {
            return Ok(());
        };
        let every = (timeout / 2).max(Duration::from_millis(10));
        tracing::info!(
            "pinging systemd's watchdog every {every:?} while the pipeline moves (stalled after {window:?})"
        );
        let mut stalled = false;
        loop {
            tokio::select! {
                _ = shutdown.requested() => return Ok(()),
                _ = tokio::time::sleep(every) => {}
            }
            if self.moved_within(window) {
                if stalled {
                    tracing::info!("the pipeline moves again; watchdog pings resume");
                    stalled = false;
                }
                self.send(NotifyState::Watchdog);
            } else if !stalled {
                tracing::error!(
                    "no read returned and no job was decided for {window:?}; watchdog pings stop \
                     so systemd restarts the daemon"
                );
                stalled = true;
            }
        }
    }
}

/// Tells systemd the daemon is stopping.
pub fn stopping() {
    if let Err(e) = sd_notify::notify(&[NotifyState::Stopping]) {
        let socket = std::env::var("NOTIFY_SOCKET").unwrap_or_default();
        tracing::warn!("cannot notify systemd at NOTIFY_SOCKET {socket}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_fresh_within_its_window_only() {
        let progress = Progress {
            started: Instant::now() - Duration::from_secs(60),
            ..Progress::default()
        };
        assert!(
            !progress.moved_within(Duration::from_secs(30)),
            "nothing moved since start"
        );
        progress.mark();
        assert!(progress.moved_within(Duration::from_secs(30)));
    }
}
