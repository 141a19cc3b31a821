//! `fasta-size`: a router plugin that picks a job's runner by the size of
//! its FASTA input, as slivka-bio's limiters do.
//!
//! Each service has ordered tiers, each naming a runner and its limits: the
//! number of FASTA records and their average length, rounded down. The first
//! tier whose limits hold (records ≤ `max-sequences` and average ≤
//! `max-average-length`) runs the job; past the last tier no runner takes
//! it and the job is rejected with a reason naming the service, the size and
//! the last tier. A service without tiers runs on `default`, as slivka's
//! default selector does, and its input is not read. See [`rule`].
//!
//! The FASTA text is `payload.inputs.<input-field>` (a list's first value),
//! read exactly as slivka reads it (Biopython, see the `fasta` crate). A
//! job with no service field, no payload, a payload that is not JSON, a
//! missing input or one that is not FASTA is rejected with a reason.
//!
//! A dispatch goes to `target-pattern` with `{service}` and `{runner}`
//! replaced, with extra fields `runner`, `sequences` and `average-length`
//! (only `runner` for a service without tiers).
//!
//! # Config
//!
//! | key | default | what |
//! |---|---|---|
//! | `tiers` | none | `{service: [{runner, max-sequences, max-average-length}, ...]}`, tried in order |
//! | `input-field` | `input` | the input holding the FASTA text |
//! | `service-field` | `service` | the entry field naming the service |
//! | `target-pattern` | `{runner}` | the stream for a runner; `{service}`, `{runner}` replaced, other braces kept (a Redis Cluster hash tag: `{jobs}:queue:{runner}`) |
//!
//! `service.<id>` keys (handed to every plugin by switchyard's `[slivka]`
//! section) are passed over; any other key is an error. In
//! `switchyard.toml`, with slivka-bio's limits:
//!
//! ```toml
//! [plugin.fasta-size.config]
//! target-pattern = "queue:{runner}"
//!
//! [plugin.fasta-size.config.tiers]
//! clustalo = [
//!     { runner = "local", max-sequences = 30, max-average-length = 500 },
//!     { runner = "default", max-sequences = 2000, max-average-length = 1000 },
//! ]
//! mafft = [
//!     { runner = "local", max-sequences = 20, max-average-length = 500 },
//!     { runner = "default", max-sequences = 1000, max-average-length = 1000 },
//! ]
//! ```
//!
//! The config is read once, in `prepare`, when switchyard loads the plugin
//! ([`settings::load`]). A bad value is an operator's mistake, not the
//! user's: `prepare` logs it, naming the key, and traps, so switchyard
//! refuses the plugin (at start, or keeps the running one on a reload) and
//! no job is judged by a broken rule.
//!
//! # Layout
//!
//! - [`settings`]: the settings, and reading them from the config.
//! - [`rule`]: the rule itself, on plain values.
//! - [`payload`]: reading the FASTA input out of a job's payload.
//! - this file: the export.

pub mod payload;
pub mod rule;
pub mod settings;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use switchyard_plugin::{ConfigError, Decision, Job, Router, config, log};

use crate::settings::Settings;

/// The router exported by this plugin.
struct FastaSize;

/// The settings, read by `prepare` at load; every job's instance starts
/// with them in place.
static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// The config table, read through the host.
fn config_table() -> BTreeMap<String, String> {
    config::keys()
        .into_iter()
        .filter_map(|key| config::get(&key).map(|value| (key, value)))
        .collect()
}

/// The settings, read from the config the first time. `prepare` has read
/// them at load, and refused a config they cannot be read from, so a job
/// never reads them; without `prepare` (an older host) a bad config traps
/// the job, with the reason in the log.
fn settings() -> &'static Settings {
    SETTINGS.get_or_init(|| match settings::load(&config_table()) {
        Ok(settings) => settings,
        Err(error) => {
            log::error(format_args!("fasta-size is misconfigured: {error}"));
            panic!("fasta-size is misconfigured: {error}");
        }
    })
}

impl Router for FastaSize {
    fn prepare() -> Result<(), ConfigError> {
        let read = settings::load(&config_table())?;
        SETTINGS.get_or_init(|| read);
        Ok(())
    }

    fn route(job: &Job) -> Decision {
        rule::route(job, settings())
    }
}

switchyard_plugin::export_router!(FastaSize);
