//! Every way a plugin can fail, as one typed error.
//!
//! The pipeline branches on these: a plugin fault dead-letters the job with
//! the error's [`PluginError::kind`] and message, while a load error keeps the
//! last good snapshot. Each message names the plugin (and the file, when the
//! error is about one) so an operator knows where to look.

use std::path::PathBuf;

/// A plugin failed to load or to answer.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The file could not be read or is not a WebAssembly component.
    #[error("{file}: {reason}")]
    Load {
        /// The `.wasm` file.
        file: PathBuf,
        /// What went wrong, in words.
        reason: String,
    },

    /// The component does not satisfy the world it is used as, or imports
    /// something the sandbox does not offer.
    #[error("{file}: {reason}")]
    WrongWorld {
        /// The `.wasm` file.
        file: PathBuf,
        /// What is missing or extra, in words.
        reason: String,
    },

    /// The plugin ran past its wall-clock deadline and was interrupted.
    #[error("plugin {plugin}: deadline of {limit_ms} ms exceeded")]
    Deadline {
        /// The plugin's name and version.
        plugin: String,
        /// The deadline it had.
        limit_ms: u64,
    },

    /// The plugin tried to grow its memory past its limit.
    #[error("plugin {plugin}: memory limit of {limit} bytes exceeded (it asked for {requested})")]
    Memory {
        /// The plugin's name and version.
        plugin: String,
        /// The limit in bytes.
        limit: usize,
        /// The size the plugin tried to grow to.
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
}

impl PluginError {
    /// A short stable name for the kind of failure, used in dead-letter
    /// entries, status records and `switchyard try` output.
    pub fn kind(&self) -> &'static str {
        match self {
            PluginError::Load { .. } => "load",
            PluginError::WrongWorld { .. } => "wrong-world",
            PluginError::Deadline { .. } => "deadline",
            PluginError::Memory { .. } => "memory",
            PluginError::Trap { .. } => "trap",
            PluginError::BadOutput { .. } => "bad-output",
        }
    }
}
