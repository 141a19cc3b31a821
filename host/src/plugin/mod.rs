//! The plugin runtime: loads WebAssembly components, checks them against the
//! contract in `wit/` (version 0.2.0, or the previous 0.1.0 in
//! `wit/0.1.0/`), and calls them in a sandbox.
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
//! - [`legacy`]: the contract's 0.1.0 bindings, and what turns the current
//!   job into the old one and the old answers into the current ones.

pub mod batch;
pub mod call;
pub mod error;
pub mod legacy;
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

/// Rust types generated from `wit/plugin.wit` (0.2.0), shared by host and
/// guests. A plugin built against 0.1.0 is called through
/// [`legacy::bindings_0_1`] instead, with these types converted.
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

/// A version of the contract a plugin can be built against: what it
/// exports and how a job crosses to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contract {
    /// `switchyard:plugin@0.2.0`, `wit/plugin.wit`: the payload crosses
    /// once (not among the fields).
    V0_2,
    /// `switchyard:plugin@0.1.0`, `wit/0.1.0/plugin.wit`: the payload also
    /// among the fields.
    V0_1,
}

impl Contract {
    /// Every version switchyard loads, the current one first.
    pub const ALL: [Contract; 2] = [Contract::V0_2, Contract::V0_1];

    /// The package version, `0.2.0`.
    pub fn version(self) -> &'static str {
        match self {
            Contract::V0_2 => "0.2.0",
            Contract::V0_1 => "0.1.0",
        }
    }

    /// The `validate` interface as it appears among a component's exports.
    pub fn validate_export(self) -> &'static str {
        match self {
            Contract::V0_2 => VALIDATE_EXPORT,
            Contract::V0_1 => "switchyard:plugin/validate@0.1.0",
        }
    }

    /// The `route` interface as it appears among a component's exports.
    pub fn route_export(self) -> &'static str {
        match self {
            Contract::V0_2 => ROUTE_EXPORT,
            Contract::V0_1 => "switchyard:plugin/route@0.1.0",
        }
    }

    /// The `prepare` interface as it appears among a component's exports.
    pub fn prepare_export(self) -> &'static str {
        match self {
            Contract::V0_2 => PREPARE_EXPORT,
            Contract::V0_1 => "switchyard:plugin/prepare@0.1.0",
        }
    }
}

/// The interface names a plugin of the current contract exports, as they
/// appear in a component.
pub const VALIDATE_EXPORT: &str = "switchyard:plugin/validate@0.2.0";
/// See [`VALIDATE_EXPORT`].
pub const ROUTE_EXPORT: &str = "switchyard:plugin/route@0.2.0";
/// See [`VALIDATE_EXPORT`]; optional, run once at load (see [`prepare`]).
pub const PREPARE_EXPORT: &str = "switchyard:plugin/prepare@0.2.0";
