//! `fasta-size`: a router plugin that picks a runner by the size of a job's
//! FASTA input, as slivka-bio's limiters do.
//!
//! slivka-bio sends small alignment jobs to a local queue, larger ones to the
//! cluster (SLURM) and refuses the rest. This plugin applies that rule to
//! `payload.inputs.<input-field>` (see [`rule`]):
//!
//! - at most `local-max-sequences` sequences whose average length (rounded
//!   down) is at most `local-max-average-length` → `local-target`;
//! - else at most `cluster-max-sequences` sequences → `cluster-target`;
//! - else rejected, naming the count and the limit.
//!
//! Each dispatch carries extra fields `runner` (`local` or `cluster`) and
//! `sequences` (the count). A payload that is not JSON, a missing input or
//! one that is not FASTA is rejected with a reason.
//!
//! # Config
//!
//! | key | default |
//! |---|---|
//! | `input-field` | `input` |
//! | `local-max-sequences` | `30` |
//! | `local-max-average-length` | `150` |
//! | `cluster-max-sequences` | `1000` |
//! | `local-target` | `queue:local` |
//! | `cluster-target` | `queue:cluster` |
//!
//! The config is read once, in `prepare`, when switchyard loads the plugin.
//! A limit that is set but is not a non-negative integer is an operator's
//! mistake, not the user's: `prepare` logs it and traps, so switchyard
//! refuses the plugin (at start, or keeps the running one on a reload) and
//! no job is judged by a broken rule.
//!
//! # Layout
//!
//! - [`rule`]: the rule itself, on plain values.
//! - [`payload`]: reading the FASTA input out of a job's payload.
//! - this file: reading the config, and the export.

pub mod payload;
pub mod rule;

use std::sync::OnceLock;

use switchyard_plugin::{Decision, Job, Router, config, log};

use crate::rule::Settings;

/// The router exported by this plugin.
struct FastaSize;

/// The settings, read by `prepare` at load; every job's instance starts
/// with them in place.
static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// The settings, read from the config the first time.
fn settings() -> &'static Settings {
    SETTINGS.get_or_init(|| match read_settings() {
        Ok(settings) => settings,
        Err(error) => {
            log::error(format_args!("fasta-size is misconfigured: {error}"));
            panic!("fasta-size is misconfigured: {error}");
        }
    })
}

impl Router for FastaSize {
    fn prepare() -> Result<(), config::ConfigError> {
        read_settings().map(|read| {
            SETTINGS.get_or_init(|| read);
        })
    }

    fn route(job: &Job) -> Decision {
        rule::route(&job.payload, settings())
    }
}

switchyard_plugin::export_router!(FastaSize);

/// Reads the settings from the config, with slivka-bio's defaults.
fn read_settings() -> Result<Settings, config::ConfigError> {
    let defaults = Settings::default();
    Ok(Settings {
        input_field: config::get("input-field").unwrap_or(defaults.input_field),
        local_max_sequences: config::get_parsed(
            "local-max-sequences",
            defaults.local_max_sequences,
        )?,
        local_max_average_length: config::get_parsed(
            "local-max-average-length",
            defaults.local_max_average_length,
        )?,
        cluster_max_sequences: config::get_parsed(
            "cluster-max-sequences",
            defaults.cluster_max_sequences,
        )?,
        local_target: config::get("local-target").unwrap_or(defaults.local_target),
        cluster_target: config::get("cluster-target").unwrap_or(defaults.cluster_target),
    })
}
