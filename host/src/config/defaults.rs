//! The value of every key a config file may leave out, and the bounds a
//! given value is raised or lowered to, in one place.
//!
//! The README's config reference shows the same values; a change here is a
//! change there. Paths are relative to the config file's directory.

use std::path::Path;
use std::time::Duration;

/// `[redis] data-dir`, for `url = "embedded"`.
pub const DEFAULT_DATA_DIR: &str = "switchyard-data";

/// `[consumer] group`.
pub const DEFAULT_GROUP: &str = "switchyard";

/// `[consumer] batch`.
pub const DEFAULT_BATCH: usize = 256;

/// `[consumer] in-flight`, in batches: `in-flight = batch × this`.
pub const DEFAULT_IN_FLIGHT_BATCHES: usize = 4;

/// `[consumer] block-ms`.
pub const DEFAULT_BLOCK: Duration = Duration::from_millis(2000);

/// The shortest `block-ms`: a smaller one is raised to it (0 would make a
/// read block until an entry comes).
pub const MIN_BLOCK: Duration = Duration::from_millis(1);

/// `[consumer] claim-idle-ms`.
pub const DEFAULT_CLAIM_IDLE: Duration = Duration::from_millis(30_000);

/// The shortest `claim-idle-ms`: a smaller one is raised to it.
pub const MIN_CLAIM_IDLE: Duration = Duration::from_millis(10);

/// `[consumer] forget-idle`: 1 hour. A consumer of the group idle this
/// long with nothing pending is removed (0 disables).
pub const DEFAULT_FORGET_IDLE: Duration = Duration::from_secs(3600);

/// `[consumer] shutdown-timeout`: 30 s, well inside systemd's default
/// stop timeout (90 s), so the daemon says why it stops unfinished before
/// systemd would kill it. Entries left pending are re-read at restart or
/// claimed by another daemon.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// `[consumer] max-deliveries`.
pub const DEFAULT_MAX_DELIVERIES: u32 = 5;

/// The smallest `max-deliveries`: a smaller one is raised to it.
pub const MIN_MAX_DELIVERIES: u32 = 1;

/// `[consumer] max-entry-bytes`: 1 MiB.
pub const DEFAULT_MAX_ENTRY_BYTES: usize = 1 << 20;

/// `[consumer] workers` when the number of cores cannot be read (the
/// default is one per core, see [`workers`]).
pub const FALLBACK_WORKERS: usize = 2;

/// The fewest `workers`: a smaller number is raised to it.
pub const MIN_WORKERS: usize = 1;

/// The most `workers`: a larger number is lowered to it.
pub const MAX_WORKERS: usize = 64;

/// `[plugins] dir`.
pub const DEFAULT_PLUGIN_DIR: &str = "plugins";

/// `[status] prefix`.
pub const DEFAULT_STATUS_PREFIX: &str = "switchyard:job:";

/// `[status] ttl-seconds`: 7 days.
pub const DEFAULT_STATUS_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The shortest `ttl-seconds`: a smaller one is raised to it.
pub const MIN_STATUS_TTL: Duration = Duration::from_secs(1);

/// `[retention] interval-ms`: 5 minutes.
pub const DEFAULT_RETENTION_INTERVAL: Duration = Duration::from_millis(300_000);

/// The shortest `interval-ms`: a smaller one is raised to it.
pub const MIN_RETENTION_INTERVAL: Duration = Duration::from_millis(10);

/// `[retention] trim-sources`.
pub const DEFAULT_TRIM_SOURCES: bool = true;

/// The host part of [`consumer_name`] when the host name cannot be read.
const UNKNOWN_HOST: &str = "switchyard";

/// `[consumer] workers`: one per core.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(FALLBACK_WORKERS, |n| n.get())
}

/// `[consumer] name`: the host name and the config file's stem
/// (`vm1-switchyard` for `switchyard.toml` on host `vm1`). Stable across
/// restarts, so a restarted daemon re-reads its own pending entries; two
/// configs on one host give two names. Two daemons of one config on one
/// host need `--consumer` (or `[consumer] name`) each.
pub fn consumer_name(config: &Path) -> String {
    let host = hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| UNKNOWN_HOST.into());
    let stem = config
        .file_stem()
        .map_or_else(|| "switchyard".into(), |s| s.to_string_lossy());
    format!("{host}-{stem}")
}

/// `[slivka] validators`: slivka's form checks.
pub const DEFAULT_SLIVKA_VALIDATORS: [&str; 1] = ["slivka-form"];

/// `[slivka] router`: slivka-bio's size tiers.
pub const DEFAULT_SLIVKA_ROUTER: &str = "fasta-size";

/// `[slivka] target-pattern`: a service's runner's stream.
pub const DEFAULT_TARGET_PATTERN: &str = "{service}:{runner}";
