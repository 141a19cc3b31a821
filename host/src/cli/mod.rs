//! The commands beside `switchyard run`, one file each; `main.rs` parses the
//! command line and calls them with the values it parsed.
//! - [`trial`]: `switchyard check` and `switchyard try`.
//! - [`dry_run`]: `switchyard run --dry-run`.
//! - [`send`]: `switchyard send`.
//! - [`status`]: `switchyard status`.
//! - [`replay`]: `switchyard dead-letters` and `switchyard replay`.
//! - [`archive`]: `switchyard archive`.
//!
//! `switchyard run` is [`crate::daemon::run`]. The commands that talk to a
//! running system reach its Redis with [`connect`].

pub mod archive;
pub mod diff;
pub mod dry_run;
pub mod progress;
pub mod replay;
pub mod scaffold;
pub mod send;
pub mod status;
pub mod trial;

use std::path::Path;
use std::time::Duration;

use crate::config::Settings;
use crate::store::BlockingConn;

/// How long one command of a command beside the daemon may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection to the Redis of `config` (or of `url`, which overrides it),
/// and the config's settings when one was given. A cluster node's URL
/// reaches the whole cluster ([`BlockingConn`]).
pub fn connect(
    url: Option<String>,
    config: Option<&Path>,
) -> anyhow::Result<(BlockingConn, Option<Settings>)> {
    let (target, settings) = crate::store::resolve(url, config)?;
    Ok((BlockingConn::to_target(&target, COMMAND_TIMEOUT)?, settings))
}
