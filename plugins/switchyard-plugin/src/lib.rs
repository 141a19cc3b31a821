//! The SDK for writing switchyard plugins in Rust.
//!
//! switchyard runs each plugin as a WebAssembly component (`wasm32-wasip2`)
//! that implements `wit/plugin.wit`. Writing against the raw `wit-bindgen`
//! output means choosing a world, wiring its `export!` macro to the right
//! module and converting bytes by hand in every plugin. This crate does that
//! once: a plugin is one Rust file that implements [`Validator`] and/or
//! [`Router`] and ends with one export macro line. The component it builds
//! exports exactly the interfaces of the chosen world.
//!
//! # A minimal plugin
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "non-empty"
//! version = "0.1.0"
//! edition = "2024"
//!
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! switchyard-plugin = { path = "../switchyard-plugin" }
//! ```
//!
//! `src/lib.rs`:
//!
//! ```
//! use switchyard_plugin::{ErrorCode, FieldError, Job, Validator};
//!
//! /// Refuses jobs without a payload.
//! struct NonEmpty;
//!
//! impl Validator for NonEmpty {
//!     fn validate(job: &Job) -> Result<(), Vec<FieldError>> {
//!         if job.payload.is_empty() {
//!             return Err(vec![FieldError::new("payload", ErrorCode::Required, "the job has no payload")]);
//!         }
//!         Ok(())
//!     }
//! }
//!
//! switchyard_plugin::export_validator!(NonEmpty);
//! ```
//!
//! Build it with `cargo build --target wasm32-wasip2 --release`; the component
//! is `target/wasm32-wasip2/release/non_empty.wasm`.
//!
//! # Layout
//!
//! - [`contract`]: the [`Validator`] and [`Router`] traits a plugin implements.
//! - [`export_validator!`], [`export_router!`], [`export_plugin!`]: turn an
//!   implementation into the component's exports (world `validator`, `router`
//!   or `plugin`).
//! - [`job`]: reading a [`Job`]'s entry fields and JSON payload.
//! - [`json`]: reading only the parts of a payload a plugin needs, with
//!   serde visitors ([`json::Skip`], [`skip_other_json!`]).
//! - [`field_error`]: building a [`FieldError`]; slivka's names for each
//!   [`ErrorCode`].
//! - [`decision`]: building a [`Decision`] and its [`Target`]s.
//! - [`config`]: the plugin's table in the routing config, raw, parsed or
//!   JSON, and the [`ConfigError`] with which `prepare` refuses it.
//! - [`log`]: lines in switchyard's log, tagged with the plugin and the job.
//! - `testing` (native builds only): a [`Job`] from JSON and a config table,
//!   as the host presents them, so `cargo test` runs a plugin's logic
//!   without wasm.
//!
//! A plugin sees one job per call in a fresh instance: statics do not survive
//! from one job to the next, except what [`Validator::prepare`] (or
//! [`Router::prepare`]) left in them once, at load; `prepare` returns a
//! [`ConfigError`] to refuse a config it cannot work with. (An operator may
//! set `isolation = "batch"` for a plugin: then the jobs of one batch share
//! one fresh instance, and a static a job writes is there for the batch's
//! next jobs. Write plugins that keep nothing from a job.)
//!
//! The SDK builds against contract 0.2.0 (`wit/plugin.wit`): the payload
//! crosses once, as `job.payload`, not also among `job.fields`
//! ([`Job::field`]`("payload")` still reads it). The host functions
//! ([`config`], [`log`]) call the host inside the component; natively (in
//! unit tests) they read the table that `testing::with_config` sets and
//! print log lines on stderr.

#![warn(missing_docs)]

mod bindings;
pub mod config;
pub mod contract;
pub mod decision;
mod export;
pub mod field_error;
pub mod job;
pub mod json;
pub mod log;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use config::ConfigError;
pub use contract::{Router, Validator};
/// JSON, re-exported so plugins parse payloads and config with the same
/// version the SDK uses.
pub use serde_json;

/// A job request, as read from a source stream. See [`job`] for the helpers.
pub use bindings::validates::switchyard::plugin::types::Job;

/// One reason a job is invalid: a field, a code and a readable message.
pub use bindings::validates::switchyard::plugin::types::FieldError;

/// slivka's reasons for refusing a field (`required`, `min-value`, ...).
pub use bindings::validates::switchyard::plugin::types::ErrorCode;

/// A router's answer: dispatch to targets or reject with a reason.
pub use bindings::validates::switchyard::plugin::types::Decision;

/// One stream a job is dispatched to, with optional payload and extra fields.
pub use bindings::validates::switchyard::plugin::types::Target;

/// The severity of a [`log`] line.
pub use bindings::validates::switchyard::plugin::types::Level;

/// What the export macros expand to. Not part of the API: it may change
/// without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::bindings::{prepares, routes, validates};
    pub use crate::contract::{
        Export, PreparePlugin, PrepareRouter, PrepareValidator, assert_plugin, assert_router,
        assert_validator,
    };
}
