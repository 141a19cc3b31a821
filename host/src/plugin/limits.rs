//! What a plugin may use: its resource limits and its capability grants.
//!
//! Limits have process-wide defaults (`[plugins]` in the config) and
//! per-plugin overrides (`[plugin.NAME]`). Grants are empty by default: a
//! plugin gets no files, network, environment or stdin unless the operator
//! writes them down.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// The largest memory limit a plugin may be given. The instance pool reserves
/// address space for this much per instance.
pub const MAX_MEMORY_LIMIT: usize = 1 << 30;

/// Resource limits for one call into a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time one call may take before it is interrupted.
    pub deadline: Duration,
    /// Bytes all the linear memories of one instance may hold together; at
    /// most [`MAX_MEMORY_LIMIT`].
    pub memory: usize,
    /// Bytes one answer may make switchyard write, counted as written:
    /// errors as JSON, reasons, target names, payloads, extra fields (see
    /// [`super::output`]).
    pub output: usize,
    /// Bytes of stdout and of stderr kept per call and copied to the log.
    pub stdio: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deadline: Duration::from_millis(100),
            memory: 64 << 20,
            output: 1 << 20,
            stdio: 16 << 10,
        }
    }
}

/// Limits as written in a config file: every key optional, so a plugin's
/// table can override just one of the defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LimitOverrides {
    /// Overrides [`Limits::deadline`]: `deadline = "200ms"`.
    #[serde(default, with = "humantime_serde")]
    pub deadline: Option<Duration>,
    /// Overrides [`Limits::deadline`], in milliseconds (the older key).
    pub deadline_ms: Option<u64>,
    /// Overrides [`Limits::memory`], in MiB.
    pub memory_mib: Option<usize>,
    /// Overrides [`Limits::output`], in KiB.
    pub output_kib: Option<usize>,
    /// Overrides [`Limits::stdio`], in KiB.
    pub stdio_kib: Option<usize>,
}

impl LimitOverrides {
    /// Applies these overrides on top of `base`, refusing values that make no
    /// sense (zero, or memory over [`MAX_MEMORY_LIMIT`]).
    pub fn apply(&self, base: Limits) -> Result<Limits, String> {
        let mut limits = base;
        let deadline = match (self.deadline, self.deadline_ms) {
            (Some(_), Some(_)) => {
                return Err("deadline and deadline-ms are the same setting: give only \
                     `deadline`, with its unit (e.g. \"200ms\")"
                    .into());
            }
            (deadline, ms) => deadline.or(ms.map(Duration::from_millis)),
        };
        if let Some(deadline) = deadline {
            if deadline < Duration::from_millis(1) {
                return Err("deadline must be at least 1ms".into());
            }
            limits.deadline = deadline;
        }
        if let Some(mib) = self.memory_mib {
            let bytes = mib.saturating_mul(1 << 20);
            if mib == 0 || bytes > MAX_MEMORY_LIMIT {
                return Err(format!(
                    "memory-mib must be between 1 and {}, got {mib}",
                    MAX_MEMORY_LIMIT >> 20
                ));
            }
            limits.memory = bytes;
        }
        if let Some(kib) = self.output_kib {
            if kib == 0 {
                return Err("output-kib must be at least 1".into());
            }
            limits.output = kib.saturating_mul(1 << 10);
        }
        if let Some(kib) = self.stdio_kib {
            limits.stdio = kib.saturating_mul(1 << 10);
        }
        Ok(limits)
    }
}

/// Capabilities granted to a plugin beyond computing on its job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Host directories pre-opened read-only, each with the path the plugin
    /// sees it at (e.g. slivka's upload directory, for selectors that read
    /// the uploaded input files).
    pub read_dirs: Vec<(PathBuf, String)>,
    /// Environment variables the plugin sees; none by default.
    pub env: Vec<(String, String)>,
    /// Whether the plugin reads the host's clocks. Without this grant the
    /// wall clock reads the Unix epoch and the monotonic clock stands still,
    /// so a decision depends on the job alone (`switchyard try` repeats it)
    /// and a plugin cannot time the host.
    pub clocks: bool,
}
