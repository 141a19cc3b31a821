//! Testing a plugin natively: `cargo test` calls its `prepare`, `validate`
//! and `route` as plain Rust, with a [`Job`] built from JSON and a config
//! table, each as the host would present them. No wasm, no switchyard.
//!
//! ```
//! use switchyard_plugin::{config, testing, Job, Router, Decision, Target};
//! use switchyard_plugin::serde_json::json;
//!
//! struct BySize;
//! impl Router for BySize {
//!     fn route(job: &Job) -> Decision {
//!         let limit: usize = config::get_parsed("max-bytes", 1000).unwrap();
//!         let stream = if job.payload.len() <= limit { "queue:local" } else { "queue:cluster" };
//!         Decision::dispatch(Target::new(stream))
//!     }
//! }
//!
//! let job = testing::job(json!({"job-id": "j1", "service": "clustalo", "payload": {"inputs": {}}}));
//! assert_eq!(job.field("service"), Some("clustalo"));
//! assert_eq!(job.payload_str(), Some(r#"{"inputs":{}}"#));
//! testing::with_config(json!({"max-bytes": 5}), || {
//!     assert!(matches!(BySize::route(&job), Decision::Dispatch(t) if t[0].stream == "queue:cluster"));
//! });
//! ```
//!
//! Inside the component, [`crate::config`] and [`crate::log`] call the
//! host; built for any other target they read the table [`with_config`]
//! set (nothing set: no keys) and print log lines on stderr.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::Value;

use crate::{Job, Level};

thread_local! {
    /// The config table of the test running on this thread.
    static CONFIG: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
}

/// A job as the host presents one read from stream `jobs`: each entry
/// field of the JSON object `fields` (a string as it is, any other value
/// as its JSON text, `null` left out), with `payload` sent as
/// [`Job::payload`] and not among [`Job::fields`] (contract 0.2.0).
///
/// # Panics
///
/// When `fields` is not a JSON object: a job is an object of fields.
pub fn job(fields: Value) -> Job {
    job_from("jobs", "1700000000000-0", fields)
}

/// [`job`], read from `source` as entry `entry_id`.
pub fn job_from(source: &str, entry_id: &str, fields: Value) -> Job {
    let Value::Object(object) = fields else {
        panic!("a job is a JSON object of fields, got {fields}");
    };
    let mut job = Job {
        source: source.to_owned(),
        entry_id: entry_id.to_owned(),
        fields: Vec::new(),
        payload: Vec::new(),
        delivery_count: 1,
    };
    for (name, value) in object {
        let bytes = match value {
            Value::Null => continue,
            Value::String(text) => text.into_bytes(),
            other => other.to_string().into_bytes(),
        };
        if name == "payload" {
            job.payload = bytes;
        } else {
            job.fields.push((name, bytes));
        }
    }
    job
}

/// Runs `test` with the plugin's config table set to `table` (a JSON
/// object: a string value as it is, any other value as its JSON text, as
/// the host passes `[plugin.NAME.config]`), then clears it.
///
/// # Panics
///
/// When `table` is not a JSON object.
pub fn with_config<R>(table: Value, test: impl FnOnce() -> R) -> R {
    let Value::Object(object) = table else {
        panic!("a config table is a JSON object, got {table}");
    };
    let table = object
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            (key, text)
        })
        .collect();
    CONFIG.with(|config| *config.borrow_mut() = table);
    // Cleared however `test` ends, so a failed test leaves nothing behind.
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            CONFIG.with(|config| config.borrow_mut().clear());
        }
    }
    let _clear = Clear;
    test()
}

/// [`crate::config::get`] outside the component.
pub(crate) fn config_get(key: &str) -> Option<String> {
    CONFIG.with(|config| config.borrow().get(key).cloned())
}

/// [`crate::config::keys`] outside the component.
pub(crate) fn config_keys() -> Vec<String> {
    CONFIG.with(|config| config.borrow().keys().cloned().collect())
}

/// [`crate::log::write`] outside the component: a line on stderr.
pub(crate) fn log(level: Level, message: &str) {
    eprintln!("[{level:?}] {message}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_job_is_presented_as_the_host_presents_it() {
        let job = job(json!({"job-id": "a", "n": 3, "gone": null, "payload": {"x": [1]}}));
        assert_eq!(job.field("job-id"), Some("a"));
        assert_eq!(job.field("n"), Some("3"));
        assert_eq!(job.field("gone"), None);
        assert!(job.fields.iter().all(|(name, _)| name != "payload"));
        assert_eq!(job.field("payload"), Some(r#"{"x":[1]}"#));
    }

    #[test]
    fn config_is_the_table_set_and_only_while_the_test_runs() {
        with_config(
            json!({"target": "queue:a", "max": 30, "tiers": {"a": 1}}),
            || {
                assert_eq!(crate::config::get("target").as_deref(), Some("queue:a"));
                assert_eq!(crate::config::get_parsed("max", 0u32).unwrap(), 30);
                assert_eq!(crate::config::keys(), ["max", "target", "tiers"]);
                assert_eq!(crate::config::get("tiers").as_deref(), Some(r#"{"a":1}"#));
            },
        );
        assert_eq!(crate::config::get("target"), None);
    }
}
