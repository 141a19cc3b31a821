//! The plugin runtime: loads WebAssembly components, checks them against the
//! contract in `wit/`, and calls them in a sandbox.
//!
//! # Layout
//! - [`runtime`]: the process-wide [`Runtime`]: one wasmtime `Engine` with
//!   the pooling allocator and epoch interruption, the epoch ticker thread, and
//!   the linker offering the sandbox's imports.
//! - [`load`]: turns a `.wasm` file into a ready [`Plugin`]: compiled once,
//!   checked against the worlds, linked (`InstancePre`).
//! - [`prepare`]: runs a plugin's `prepare` once and snapshots the memory
//!   it leaves (wizer), so every job's instance starts prepared.
//! - [`call`]: runs `validate` / `route` on one job in a fresh `Store`, and
//!   turns every failure into a typed [`PluginError`].
//! - [`sandbox`]: what a plugin's store holds and the host functions it may
//!   import (`log`, `config-get`, `config-keys`).
//! - [`limits`]: resource limits and capability grants.
//! - [`error`]: the typed [`PluginError`].

pub mod call;
pub mod error;
pub mod limits;
pub mod load;
pub mod prepare;
pub mod runtime;
pub mod sandbox;

pub use call::{Validation, total_decision_bytes};
pub use error::PluginError;
pub use limits::{Grants, LimitOverrides, Limits};
pub use load::{Plugin, PluginSettings, Worlds};
pub use runtime::Runtime;

/// Rust types generated from `wit/plugin.wit`, shared by host and guests.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "plugin",
    });

    pub use self::switchyard::plugin::types::{
        Decision, ErrorCode, FieldError, Job, Level, Target,
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
