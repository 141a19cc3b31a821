//! The validated settings the daemon runs on: every default filled in,
//! every path resolved against the config file's directory, every stream
//! name checked, so no later stage checks them again.
//!
//! [`Settings::load`] and [`Settings::parse`] (in `parse.rs`) are the only
//! way to build one from a file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::routes::{Role, RouteSettings, sources_of};
use crate::plugin::PluginSettings;

/// Where Redis is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// A server at this URL (`redis://`, `rediss://`, `redis+unix://`).
    Url(String),
    /// A Redis Cluster, reached through the first of these nodes that
    /// answers (`redis://` or `rediss://` URLs, at least one; the other
    /// nodes are discovered).
    Cluster(Vec<String>),
    /// The master that Redis Sentinel names: found through the sentinels
    /// at each connection, so a failover is followed.
    Sentinel {
        /// `HOST:PORT` of each sentinel.
        sentinels: Vec<String>,
        /// The master's name among the sentinels.
        master: String,
    },
    /// A private `redis-server` that switchyard starts in `data_dir`.
    Embedded {
        /// Holds the socket, the AOF files and the server's log.
        data_dir: PathBuf,
    },
}

/// How the daemon consumes. Read at start only: a reload compares it whole
/// to say that a change waits for the next restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSettings {
    /// The consumer group shared by every daemon.
    pub group: String,
    /// This daemon's name in the group; unique per daemon, and the same
    /// across its restarts (so it re-reads its own pending entries).
    pub name: String,
    /// Entries asked for per read.
    pub batch: usize,
    /// Entries read but not yet settled, at most.
    pub in_flight: usize,
    /// How long one blocking read waits.
    pub block: Duration,
    /// An entry pending this long with another consumer is taken over.
    pub claim_idle: Duration,
    /// Another consumer idle this long with nothing pending is removed from
    /// the group; `None`: never.
    pub forget_idle: Option<Duration>,
    /// How long a graceful stop waits for jobs in flight before the daemon
    /// exits with them pending; `None`: until they finish.
    pub shutdown_timeout: Option<Duration>,
    /// An entry delivered more often than this is dead-lettered.
    pub max_deliveries: u32,
    /// An entry larger than this is dead-lettered unread.
    pub max_entry_bytes: usize,
    /// Threads that run plugins.
    pub workers: usize,
    /// Benchmark mode: do all the Redis work but call no plugin (every
    /// matched job goes to its route's first target). Set by `run
    /// --null-pipeline`, never by a config file.
    pub null_pipeline: bool,
}

/// The status records. Read at start only, like [`ConsumerSettings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSettings {
    /// Key prefix; the record of job J is `PREFIX + J` (on a cluster
    /// `PREFIX{H}:J`, see [`crate::store::layout`]).
    pub prefix: String,
    /// Whether keys carry the source's hash tag (on a cluster).
    pub tagged: bool,
    /// How long a record lives after its last write.
    pub ttl: Duration,
}

/// What retention keeps in Redis, and where what it trims goes.
#[derive(Debug, Clone)]
pub struct RetentionSettings {
    /// Time between two rounds.
    pub interval: Duration,
    /// Trimmed entries are written here first; `None`: trimmed, not kept.
    pub archive_dir: Option<PathBuf>,
    /// Whether source streams are trimmed of entries every group acknowledged.
    pub trim_sources: bool,
    /// The cap of every target stream.
    pub targets: Cap,
    /// The cap of every rejected stream.
    pub rejected: Cap,
    /// The cap of every dead-letter stream.
    pub dead_letters: Cap,
    /// Per output stream: replaces the role's cap key by key.
    pub streams: BTreeMap<String, Cap>,
}

impl RetentionSettings {
    /// The cap of output stream `stream` of role `role` (a source has none).
    pub fn cap_for(&self, stream: &str, role: Role) -> Cap {
        let base = match role {
            Role::Source => return Cap::default(),
            Role::Target => self.targets,
            Role::Rejected => self.rejected,
            Role::DeadLetters => self.dead_letters,
        };
        match self.streams.get(stream) {
            Some(own) => Cap {
                max_len: own.max_len.or(base.max_len),
                max_age: own.max_age.or(base.max_age),
            },
            None => base,
        }
    }
}

/// What an output stream may hold; `None` keys do not limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cap {
    /// Entries kept, at most (the newest).
    pub max_len: Option<u64>,
    /// Entries older than this (by their id's time) are trimmed.
    pub max_age: Option<Duration>,
}

impl Cap {
    /// Whether this cap limits anything.
    pub fn is_set(&self) -> bool {
        self.max_len.is_some() || self.max_age.is_some()
    }
}

/// One plugin as the config describes it.
#[derive(Debug, Clone)]
pub struct PluginConfig {
    /// The `.wasm` file.
    pub file: PathBuf,
    /// Limits, grants and its config table.
    pub settings: PluginSettings,
    /// The files its config values were read from (`config-files`, the
    /// `[slivka]` service files), watched for hot reload.
    pub config_files: Vec<PathBuf>,
}

/// A validated config.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The file it came from.
    pub file: PathBuf,
    /// Where Redis is.
    pub redis: RedisTarget,
    /// How to consume.
    pub consumer: ConsumerSettings,
    /// The plugin directory.
    pub plugin_dir: PathBuf,
    /// Each plugin the routes use, by name.
    pub plugins: BTreeMap<String, PluginConfig>,
    /// The routes, in the order they are tried: `[[routes]]`, then one per
    /// `[slivka]` service.
    pub routes: Vec<RouteSettings>,
    /// The `[slivka] services` directory, if the file has that section:
    /// watched for service files added, changed or removed.
    pub slivka_services: Option<PathBuf>,
    /// Status records.
    pub status: StatusSettings,
    /// Where `/metrics`, `/healthz` and `/readyz` are served, if anywhere.
    pub metrics: Option<std::net::SocketAddr>,
    /// Trimming and archiving; `None` (no `[retention]`): Redis keeps all.
    pub retention: Option<RetentionSettings>,
    /// The web console's actions.
    pub console: ConsoleSettings,
    /// Replicas each settle waits for; `None`: none.
    pub replica_acks: Option<ReplicaAcks>,
}

/// `[redis] replica-acks`: after each settle, `WAIT count timeout`, so a
/// job counts as done once that many replicas have its outcome (a forced
/// failover to one of them then loses nothing switchyard counted done).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaAcks {
    /// Replicas that must acknowledge.
    pub count: u32,
    /// How long a settle waits for them before counting the shortfall.
    pub timeout: Duration,
}

/// `[console]`: whether the console's actions (replaying dead letters) are
/// on, and where their bearer token is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSettings {
    /// Whether the actions are on (off unless the config says so).
    pub actions: bool,
    /// The environment variable that holds the bearer token (never the
    /// config file itself, which is often world-readable).
    pub token_env: String,
}

/// The variable the actions' token is read from unless `token-env` names another.
pub const CONSOLE_TOKEN_ENV: &str = "SWITCHYARD_CONSOLE_TOKEN";

impl Settings {
    /// Whether Redis is a cluster.
    pub fn cluster(&self) -> bool {
        matches!(self.redis, RedisTarget::Cluster(_))
    }

    /// The distinct source streams, in route order.
    pub fn sources(&self) -> Vec<String> {
        sources_of(&self.routes)
    }
}
