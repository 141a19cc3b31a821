//! Lines in switchyard's log, tagged by the host with the plugin's name and
//! the job's id.
//!
//! A plugin has no stderr worth reading (the sandbox discards it); this is
//! where its diagnostics go. The host cuts lines over 4 KiB.
//!
//! ```no_run
//! use switchyard_plugin::log;
//!
//! log::debug("checking the form");
//! log::warn(format_args!("{} sequences, close to the limit", 990));
//! ```
//!
//! Inside the component these functions call the host; built natively (a
//! plugin's `cargo test`) they print the line on stderr.

use std::fmt::Display;

use crate::Level;
#[cfg(target_arch = "wasm32")]
use crate::bindings::validates::switchyard::plugin::host;

/// Writes `message` at `level`.
pub fn write(level: Level, message: impl Display) {
    #[cfg(target_arch = "wasm32")]
    host::log(level, &message.to_string());
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::log(level, &message.to_string());
}

/// Writes very detailed tracing of the plugin's steps.
pub fn trace(message: impl Display) {
    write(Level::Trace, message);
}

/// Writes detail useful when debugging the plugin.
pub fn debug(message: impl Display) {
    write(Level::Debug, message);
}

/// Writes normal operation worth recording.
pub fn info(message: impl Display) {
    write(Level::Info, message);
}

/// Writes something unexpected that the plugin handled.
pub fn warn(message: impl Display) {
    write(Level::Warn, message);
}

/// Writes that something failed.
pub fn error(message: impl Display) {
    write(Level::Error, message);
}
