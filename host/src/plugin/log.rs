//! How much a plugin may log: a byte rate per plugin, shared by all its
//! calls on every worker, on top of the per-call line cap.
//!
//! A plugin logs through the `log` host function and by printing (stdout
//! and stderr, forwarded after each call). Either way its lines go through
//! its [`LogBudget`]: past the rate, lines are dropped and counted
//! (`switchyard_plugin_log_dropped_lines`), and a warning says so at most
//! once per [`WARN_EVERY`], so a plugin cannot flood the daemon's log or
//! the disk under it.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::metrics::{PluginLabels, metrics};

/// Bytes of log a plugin may write per second, on average.
pub const LOG_BYTES_PER_SECOND: u32 = 64 * 1024;
/// Bytes of log a plugin may write at once, after a quiet while.
pub const LOG_BURST_BYTES: u32 = 512 * 1024;
/// Least time between two warnings about one plugin's dropped lines.
pub const WARN_EVERY: Duration = Duration::from_secs(10);

/// One plugin's log allowance.
pub struct LogBudget {
    /// The plugin's name, for the metric and the warning.
    plugin: String,
    /// Bytes, refilled at [`LOG_BYTES_PER_SECOND`] up to [`LOG_BURST_BYTES`].
    limiter: DefaultDirectRateLimiter,
    /// Lines dropped since the last warning.
    dropped: AtomicU64,
    /// When the last warning was logged.
    warned: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for LogBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogBudget")
            .field("plugin", &self.plugin)
            .finish_non_exhaustive()
    }
}

impl LogBudget {
    /// A full allowance for `plugin`.
    pub fn new(plugin: &str) -> LogBudget {
        let rate = NonZeroU32::new(LOG_BYTES_PER_SECOND).expect("a constant above zero");
        let burst = NonZeroU32::new(LOG_BURST_BYTES).expect("a constant above zero");
        LogBudget {
            plugin: plugin.to_owned(),
            limiter: RateLimiter::direct(Quota::per_second(rate).allow_burst(burst)),
            dropped: AtomicU64::new(0),
            warned: Mutex::new(None),
        }
    }

    /// Whether a line of `bytes` may be logged now. A line that may not is
    /// counted, and the first refusal in a while is said in a warning.
    pub fn admit(&self, bytes: usize) -> bool {
        let cost = NonZeroU32::new(bytes.clamp(1, LOG_BURST_BYTES as usize) as u32)
            .expect("clamped to at least 1");
        if matches!(self.limiter.check_n(cost), Ok(Ok(()))) {
            return true;
        }
        metrics()
            .plugin_log_dropped
            .get_or_create(&PluginLabels {
                plugin: self.plugin.clone(),
            })
            .inc();
        let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        let mut warned = self
            .warned
            .lock()
            .expect("never poisoned: no panic holds it");
        if warned.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
            *warned = Some(Instant::now());
            self.dropped.store(0, Ordering::Relaxed);
            tracing::warn!(
                plugin = %self.plugin,
                "plugin logs faster than {} KiB/s; dropped {dropped} lines",
                LOG_BYTES_PER_SECOND / 1024
            );
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_and_a_flood_past_it_is_dropped() {
        let budget = LogBudget::new("chatty");
        let line = 4096;
        let burst_lines = LOG_BURST_BYTES as usize / line;
        let admitted = (0..burst_lines * 4).filter(|_| budget.admit(line)).count();
        // The burst, plus what refilled while the loop ran (well under a
        // second's worth).
        assert!(admitted >= burst_lines, "{admitted}");
        assert!(
            admitted < burst_lines + LOG_BYTES_PER_SECOND as usize / line,
            "{admitted}"
        );
    }
}
