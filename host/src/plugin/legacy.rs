//! The contract's previous version, `switchyard:plugin@0.1.0`
//! (`wit/0.1.0/plugin.wit`), still offered so that plugins built against it
//! load and run unchanged.
//!
//! The two versions differ only in the job: 0.1.0's `fields` also hold the
//! `payload` field, so its value crosses the boundary twice. The host keeps
//! the current job ([`super::Job`]) and, for a 0.1.0 plugin, builds the old
//! one from it ([`job`]), the payload put back among the fields (last, when
//! the current job does not carry it there already). Answers come back as
//! the current types, so everything after the call is the same for both.
//! The host functions (`log`, `config-get`, `config-keys`) are the current
//! ones, under the old interface names.

use super::bindings;
use super::sandbox::Sandbox;

/// Rust types generated from `wit/0.1.0/plugin.wit`; see
/// [`super::bindings`] for how they are used.
pub mod bindings_0_1 {
    wasmtime::component::bindgen!({
        path: "../wit/0.1.0",
        world: "plugin",
    });
}

use bindings_0_1::switchyard::plugin::{host, types};

/// The name of the entry field whose value is the job's payload.
const PAYLOAD: &str = "payload";

/// `job` as a 0.1.0 plugin sees it: `payload` among the fields too.
pub(crate) fn job(job: &bindings::Job) -> types::Job {
    let mut fields = job.fields.clone();
    if !fields.iter().any(|(name, _)| name == PAYLOAD) {
        fields.push((PAYLOAD.to_owned(), job.payload.clone()));
    }
    types::Job {
        source: job.source.clone(),
        entry_id: job.entry_id.clone(),
        fields,
        payload: job.payload.clone(),
        delivery_count: job.delivery_count,
    }
}

/// A 0.1.0 field error as the current type.
pub(crate) fn field_error(error: types::FieldError) -> bindings::FieldError {
    bindings::FieldError {
        field: error.field,
        code: match error.code {
            types::ErrorCode::Required => bindings::ErrorCode::Required,
            types::ErrorCode::Invalid => bindings::ErrorCode::Invalid,
            types::ErrorCode::MinValue => bindings::ErrorCode::MinValue,
            types::ErrorCode::MaxValue => bindings::ErrorCode::MaxValue,
            types::ErrorCode::MinLength => bindings::ErrorCode::MinLength,
            types::ErrorCode::MaxLength => bindings::ErrorCode::MaxLength,
            types::ErrorCode::MediaType => bindings::ErrorCode::MediaType,
            types::ErrorCode::NotFound => bindings::ErrorCode::NotFound,
            types::ErrorCode::Condition => bindings::ErrorCode::Condition,
        },
        message: error.message,
    }
}

/// A 0.1.0 decision as the current type.
pub(crate) fn decision(decision: types::Decision) -> bindings::Decision {
    match decision {
        types::Decision::Reject(reason) => bindings::Decision::Reject(reason),
        types::Decision::Dispatch(targets) => bindings::Decision::Dispatch(
            targets
                .into_iter()
                .map(|target| bindings::Target {
                    stream: target.stream,
                    payload: target.payload,
                    extra_fields: target.extra_fields,
                })
                .collect(),
        ),
    }
}

/// A 0.1.0 config error as the current type.
pub(crate) fn config_error(error: types::ConfigError) -> bindings::ConfigError {
    bindings::ConfigError {
        key: error.key,
        message: error.message,
    }
}

impl types::Host for Sandbox {}

impl host::Host for Sandbox {
    fn log(&mut self, level: types::Level, message: String) {
        let level = match level {
            types::Level::Trace => bindings::Level::Trace,
            types::Level::Debug => bindings::Level::Debug,
            types::Level::Info => bindings::Level::Info,
            types::Level::Warn => bindings::Level::Warn,
            types::Level::Error => bindings::Level::Error,
        };
        bindings::switchyard::plugin::host::Host::log(self, level, message)
    }

    fn config_get(&mut self, key: String) -> Option<String> {
        bindings::switchyard::plugin::host::Host::config_get(self, key)
    }

    fn config_keys(&mut self) -> Vec<String> {
        bindings::switchyard::plugin::host::Host::config_keys(self)
    }
}
