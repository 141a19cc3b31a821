//! The plugin runtime: loads WebAssembly components, checks them against the
//! contract in `wit/`, and calls them in a sandbox.
//!
//! # Layout
//! - [`runtime`]: the process-wide [`Runtime`]: one wasmtime `Engine` with
//!   the pooling allocator and epoch interruption, the epoch ticker thread, and
//!   the linker offering the sandbox's imports.
//! - [`load`]: turns a `.wasm` file into a ready [`Plugin`]: compiled once,
//!   checked against the worlds, linked (`InstancePre`), its exports found
//!   and type-checked (the bindings' `GuestIndices`); or a [`LoadError`].
//! - [`prepare`]: runs a plugin's `prepare` once and snapshots the memory
//!   it leaves (wizer), so every job's instance starts prepared; or takes
//!   its refusal of its config ([`LoadError::Refused`]).
//! - [`call`]: runs `validate` / `route` on one job in a fresh `Store` (or
//!   a batch's instance), and turns every failure into a typed [`Fault`].
//! - [`batch`]: the [`Instances`] one batch of jobs shares, for plugins
//!   with `isolation = "batch"`.
//! - [`output`]: an answer as switchyard writes it, which is what the output
//!   limit counts.
//! - [`sandbox`]: what a plugin's store holds and the host functions it may
//!   import (`log`, `config-get`, `config-keys`).
//! - [`watchdog`]: holds a call's deadline in the host: interrupts a host
//!   call (a FIFO's open) still blocked when the deadline passes.
//! - [`limits`]: resource limits and capability grants.
//! - [`log`]: the rate each plugin may log at, across all its calls.
//! - [`error`]: the typed [`LoadError`] (at load) and [`Fault`] (per call).

pub mod batch;
pub mod call;
pub mod error;
pub mod limits;
pub mod load;
pub mod log;
pub mod output;
pub mod prepare;
pub mod runtime;
pub mod sandbox;
pub mod watchdog;

// What callers outside the plugin runtime use: load a `Plugin` (or get a
// `LoadError`), call it on a `Job` (or get a `Fault`), read its answer.
pub use batch::Instances;
pub use call::Validation;
pub use error::{Fault, LoadError};
pub use limits::{Grants, LimitOverrides, Limits};
pub use load::{Isolation, Plugin, PluginSettings, Worlds};
pub use output::{WrittenError, total_decision_bytes, written_errors_len};
pub use runtime::Runtime;

/// Rust types generated from `wit/plugin.wit`, shared by host and guests.
///
/// World `plugin` includes every interface of the contract, so its bindings
/// serve the `validator` and `router` worlds too: the host imports
/// (`Plugin::add_to_linker`), the records, and for each exported interface
/// (`exports::switchyard::plugin::{validate, route, prepare}`) a
/// `GuestIndices`, built once per plugin at load, whose `load` gives one
/// instance's typed `Guest`. The world-level `PluginPre` is not used: it
/// would require all three exports, and a plugin may have only some.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "plugin",
    });

    pub use self::switchyard::plugin::types::{
        ConfigError, Decision, ErrorCode, FieldError, Job, Level, Target,
    };

    impl ErrorCode {
        /// The code as slivka spells it (`min_value`, `media_type`, ...).
        pub fn as_str(&self) -> &'static str {
            match self {
                ErrorCode::Required => "required",
                ErrorCode::Invalid => "invalid",
                ErrorCode::MinValue => "min_value",
                ErrorCode::MaxValue => "max_value",
                ErrorCode::MinLength => "min_length",
                ErrorCode::MaxLength => "max_length",
                ErrorCode::MediaType => "media_type",
                ErrorCode::NotFound => "not_found",
                ErrorCode::Condition => "condition",
            }
        }
    }
}

pub use bindings::{Decision, ErrorCode, FieldError, Job, Target};

/// The interface names a plugin exports, as they appear in a component.
pub const VALIDATE_EXPORT: &str = "switchyard:plugin/validate@0.1.0";
/// See [`VALIDATE_EXPORT`].
pub const ROUTE_EXPORT: &str = "switchyard:plugin/route@0.1.0";
/// See [`VALIDATE_EXPORT`]; optional, run once at load (see [`prepare`]).
pub const PREPARE_EXPORT: &str = "switchyard:plugin/prepare@0.1.0";
