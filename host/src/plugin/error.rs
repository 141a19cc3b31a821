//! How a plugin fails, typed by when: a [`LoadError`] while a file becomes a
//! [`Plugin`](super::Plugin), a [`Fault`] while a plugin answers a job.
//!
//! The two have different owners. A load error is the reload's (or `check`'s):
//! the new snapshot is refused and the last good one keeps running. A fault is
//! the pipeline's: it dead-letters that one job with the fault's
//! [`Fault::kind`] and message, and the daemon goes on. Each message names the
//! plugin (and the file, when the error is about one) so an operator knows
//! where to look.

use std::path::{Path, PathBuf};

/// A `.wasm` file could not become a plugin, or not the one it is used as.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read, is not a WebAssembly component, or its
    /// `prepare` (or its first instantiation) failed.
    #[error("{file}: {reason}")]
    Load {
        /// The `.wasm` file.
        file: PathBuf,
        /// What went wrong, in words.
        reason: String,
    },

    /// The component does not satisfy the world it is used as, imports
    /// something the sandbox does not offer, or exports a contract function
    /// with another type than the contract's.
    #[error("{file}: {reason}")]
    WrongWorld {
        /// The `.wasm` file.
        file: PathBuf,
        /// What is missing or extra, in words.
        reason: String,
    },

    /// The plugin's `prepare` refused its config (returned a
    /// `config-error`): `plugin NAME: config KEY (FILE): MESSAGE`, the file
    /// shown when the key's value was read from one.
    #[error("plugin {plugin}: {}", refusal(key.as_deref(), file.as_deref(), message))]
    Refused {
        /// The plugin's name, as the config calls it.
        plugin: String,
        /// The key whose value it refuses; `None`: the config as a whole.
        key: Option<String>,
        /// The file the key's value was read from (`config-files`, a
        /// `[slivka]` service file, `--config KEY=@FILE`), if it was.
        file: Option<PathBuf>,
        /// The plugin's own words.
        message: String,
    },
}

/// `config KEY (FILE): MESSAGE`, without what is not known.
fn refusal(key: Option<&str>, file: Option<&Path>, message: &str) -> String {
    match (key, file) {
        (Some(key), Some(file)) => format!("config {key} ({}): {message}", file.display()),
        (Some(key), None) => format!("config {key}: {message}"),
        (None, _) => format!("config: {message}"),
    }
}

impl LoadError {
    /// A short stable name for the kind of failure, as `switchyard check`
    /// and the reload log show it.
    pub fn kind(&self) -> &'static str {
        match self {
            LoadError::Load { .. } => "load",
            LoadError::WrongWorld { .. } => "wrong-world",
            LoadError::Refused { .. } => "config",
        }
    }
}

/// A loaded plugin failed to answer one job.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    /// The plugin ran past its wall-clock deadline and was interrupted.
    #[error("plugin {plugin}: deadline of {limit_ms} ms exceeded")]
    Deadline {
        /// The plugin's name and version.
        plugin: String,
        /// The deadline it had.
        limit_ms: u64,
    },

    /// The plugin tried to grow its memories past its limit, which bounds
    /// all the linear memories of its instance together.
    #[error(
        "plugin {plugin}: memory limit of {limit} bytes exceeded (its memories would have held \
         {requested} bytes together)"
    )]
    Memory {
        /// The plugin's name and version.
        plugin: String,
        /// The limit in bytes.
        limit: usize,
        /// What all its memories would have held after the refused growth.
        requested: usize,
    },

    /// The plugin trapped: a panic, an `unreachable`, an out-of-bounds access.
    #[error("plugin {plugin} trapped: {message}")]
    Trap {
        /// The plugin's name and version.
        plugin: String,
        /// The panic message if the plugin printed one, else the trap.
        message: String,
    },

    /// The plugin answered, but with something switchyard cannot use: a
    /// target that is not allowed, an answer over the output limit, ...
    #[error("plugin {plugin} returned bad output: {reason}")]
    BadOutput {
        /// The plugin's name and version.
        plugin: String,
        /// What is wrong with the answer.
        reason: String,
    },

    /// The plugin was asked for an export it does not have: `validate` of a
    /// router-only plugin, `route` of a validator-only one. The pipeline never
    /// asks: a snapshot checks [`require_validator`] and [`require_router`] at
    /// load, and `switchyard try` calls only what [`worlds`] lists. The
    /// message is the one those checks give.
    ///
    /// [`require_validator`]: super::Plugin::require_validator
    /// [`require_router`]: super::Plugin::require_router
    /// [`worlds`]: super::Plugin::worlds
    #[error("{file}: {reason}")]
    NotExported {
        /// The `.wasm` file.
        file: PathBuf,
        /// Which export is missing and which worlds the plugin satisfies.
        reason: String,
    },
}

impl Fault {
    /// Every name [`Fault::kind`] gives, for the metric series created at 0.
    pub const KINDS: [&'static str; 5] =
        ["deadline", "memory", "trap", "bad-output", "wrong-world"];

    /// A short stable name for the kind of failure, used in dead-letter
    /// entries, status records and `switchyard try` output.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Deadline { .. } => "deadline",
            Fault::Memory { .. } => "memory",
            Fault::Trap { .. } => "trap",
            Fault::BadOutput { .. } => "bad-output",
            Fault::NotExported { .. } => "wrong-world",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_lists_every_kind_a_fault_has() {
        let plugin = || "p@0".to_owned();
        let faults = [
            Fault::Deadline {
                plugin: plugin(),
                limit_ms: 1,
            },
            Fault::Memory {
                plugin: plugin(),
                limit: 1,
                requested: 2,
            },
            Fault::Trap {
                plugin: plugin(),
                message: String::new(),
            },
            Fault::BadOutput {
                plugin: plugin(),
                reason: String::new(),
            },
            Fault::NotExported {
                file: PathBuf::new(),
                reason: String::new(),
            },
        ];
        let kinds: Vec<&str> = faults.iter().map(Fault::kind).collect();
        assert_eq!(kinds, Fault::KINDS);
        // Adding a variant breaks this match: add it to `faults` and KINDS.
        match &faults[0] {
            Fault::Deadline { .. }
            | Fault::Memory { .. }
            | Fault::Trap { .. }
            | Fault::BadOutput { .. }
            | Fault::NotExported { .. } => {}
        }
    }

    #[test]
    fn a_refusal_names_the_plugin_the_key_and_the_file_it_was_read_from() {
        let refused = |key: Option<&str>, file: Option<&str>| LoadError::Refused {
            plugin: "slivka-form".into(),
            key: key.map(Into::into),
            file: file.map(Into::into),
            message: "line 12, key parameters.iterations.max: not a number".into(),
        };
        assert_eq!(
            refused(
                Some("service.clustalo"),
                Some("services/clustalo.service.yaml")
            )
            .to_string(),
            "plugin slivka-form: config service.clustalo (services/clustalo.service.yaml): \
             line 12, key parameters.iterations.max: not a number"
        );
        assert_eq!(
            refused(Some("tiers"), None).to_string(),
            "plugin slivka-form: config tiers: line 12, key parameters.iterations.max: not a number"
        );
        assert_eq!(
            refused(None, None).to_string(),
            "plugin slivka-form: config: line 12, key parameters.iterations.max: not a number"
        );
        assert_eq!(refused(None, None).kind(), "config");
    }
}
