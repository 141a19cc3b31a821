//! The routing config: TOML as the operator writes it, validated into
//! [`Settings`] the daemon can use without further checks.
//!
//! Every key is documented in the README. Paths in the file are relative to
//! the file's directory. Errors name the file (and, for syntax errors, the
//! line and column).
//!
//! # Layout
//! - `file.rs`: the file's schema as written, one serde struct per table;
//!   nothing defaulted, nothing checked beyond TOML types.
//! - [`settings`]: the validated types the daemon runs on ([`Settings`],
//!   [`ConsumerSettings`], [`RouteSettings`], ...).
//! - [`defaults`]: the value of every key a file may leave out, and the
//!   bounds values are clamped to.
//! - [`env`]: `SWITCHYARD_<TABLE>__<KEY>` variables laid over the file's
//!   keys ([`Overrides`]).
//! - `parse.rs`: [`Settings::load`] and [`Settings::parse`], one function
//!   per table; `plugins.rs` and `retention.rs` do the `[plugin.NAME]` and
//!   `[retention]` tables.
//! - [`slivka`]: `[slivka]`, a directory of slivka service files made into
//!   routes and plugin config.
//! - [`routes`]: a route as configured ([`RouteSettings`]) and what each
//!   stream is to switchyard ([`Role`]), from the routes.
//!
//! Redacting a Redis URL for messages is Redis access: [`crate::store::redact`].

pub mod defaults;
pub mod env;
mod file;
mod parse;
mod plugins;
mod retention;
pub mod routes;
pub mod settings;
pub mod slivka;

pub use env::Overrides;
pub use routes::{Role, RouteSettings, sources_of, streams_of};
pub use settings::{
    CONSOLE_TOKEN_ENV, Cap, ConsoleSettings, ConsumerSettings, PluginConfig, RedisTarget,
    ReplicaAcks, RetentionSettings, Settings, StatusSettings,
};

/// A config the tests of every table start from: one route, two plugins
/// named, a Redis URL nothing listens on.
#[cfg(test)]
const GOOD: &str = r#"
[redis]
url = "redis://127.0.0.1:1"
[[routes]]
source = "jobs"
match = { service = ["clustalo", "mafft"] }
validators = ["slivka-form"]
router = "fasta-size"
targets = ["queue:local"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#;
