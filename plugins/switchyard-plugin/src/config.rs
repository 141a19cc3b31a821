//! The plugin's own table in the routing config (`[plugin.NAME.config]`).
//!
//! One plugin can serve many services without being rebuilt: limits, target
//! streams and forms live in the config. Values arrive as text; non-string
//! values (numbers, tables) arrive as their JSON text, so `30` reads as `"30"`
//! and a table reads as a JSON object.
//!
//! ```no_run
//! use switchyard_plugin::config;
//!
//! # fn settings() -> Result<(), config::ConfigError> {
//! let target = config::get("target").unwrap_or_else(|| "queue:local".to_string());
//! let max: u32 = config::get_parsed("max-sequences", 1000)?;
//! let extra: Option<serde_json::Value> = config::get_json("extra")?;
//! # Ok(())
//! # }
//! ```
//!
//! Inside the component these functions call the host; built natively (a
//! plugin's `cargo test`) they read the table [`crate::testing::with_config`]
//! set.

use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;

#[cfg(target_arch = "wasm32")]
use crate::bindings::validates::switchyard::plugin::host;

/// The value of `key`, or `None` if the plugin's table does not set it.
pub fn get(key: &str) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    return host::config_get(key);
    #[cfg(not(target_arch = "wasm32"))]
    return crate::testing::config_get(key);
}

/// The value of `key` parsed with [`FromStr`], or `default` if it is not set.
///
/// A value that is set but does not parse is an error rather than a silent
/// fallback: a typo in the config should be seen.
pub fn get_parsed<T>(key: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    parse(key, get(key), default)
}

/// The value of `key` parsed as JSON into `T`, or `None` if it is not set.
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, ConfigError> {
    parse_json(key, get(key))
}

/// The keys the plugin's table sets, sorted: what a plugin walks in
/// `prepare` to read every entry of a family (`form.*`).
pub fn keys() -> Vec<String> {
    #[cfg(target_arch = "wasm32")]
    return host::config_keys();
    #[cfg(not(target_arch = "wasm32"))]
    return crate::testing::config_keys();
}

/// [`get_parsed`] without the host call, so it can be tested natively.
fn parse<T>(key: &str, raw: Option<String>, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    match raw {
        None => Ok(default),
        Some(value) => match value.trim().parse() {
            Ok(parsed) => Ok(parsed),
            Err(error) => Err(ConfigError::unreadable(key, &value, error)),
        },
    }
}

/// [`get_json`] without the host call, so it can be tested natively.
fn parse_json<T: DeserializeOwned>(
    key: &str,
    raw: Option<String>,
) -> Result<Option<T>, ConfigError> {
    match raw {
        None => Ok(None),
        Some(value) => match serde_json::from_str(&value) {
            Ok(parsed) => Ok(Some(parsed)),
            Err(error) => Err(ConfigError::unreadable(key, &value, error)),
        },
    }
}

/// Why a plugin refuses its config: what [`Validator::prepare`] and
/// [`Router::prepare`] return instead of preparing, and what [`get_parsed`]
/// and [`get_json`] return for a value they cannot read.
///
/// switchyard then refuses to load the plugin (at start the daemon exits,
/// on a reload it keeps the plugin it had) with an error naming the
/// plugin, [`key`](ConfigError::key), the file the key's value was read
/// from when it was, and [`message`](ConfigError::message):
///
/// ```text
/// plugin slivka-form: config service.clustalo (services/clustalo.service.yaml): line 12, key parameters.iterations.max: not a number
/// ```
///
/// [`Validator::prepare`]: crate::Validator::prepare
/// [`Router::prepare`]: crate::Router::prepare
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key whose value is refused (`service.clustalo`); `None` when the
    /// error is about the config as a whole (a required key is missing, two
    /// keys disagree).
    pub key: Option<String>,
    /// What is wrong, saying where in the value when it can (`line 12, key
    /// parameters.iterations.max: not a number`). The host names the plugin,
    /// the key and the file, so the message need not.
    pub message: String,
}

impl ConfigError {
    /// The value of `key` is refused because of `message`.
    pub fn for_key(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            key: Some(key.into()),
            message: message.into(),
        }
    }

    /// The config as a whole is refused because of `message`.
    pub fn whole(message: impl Into<String>) -> ConfigError {
        ConfigError {
            key: None,
            message: message.into(),
        }
    }

    /// `value` of `key` could not be read: `` `value`: reason ``, the value
    /// cut to 80 characters.
    fn unreadable(key: &str, value: &str, reason: impl fmt::Display) -> ConfigError {
        let shown: String = value.chars().take(80).collect();
        let ellipsis = if shown.len() < value.len() { "..." } else { "" };
        ConfigError::for_key(key, format!("`{shown}{ellipsis}`: {reason}"))
    }
}

/// `config `key`: message`, or `config: message` without a key.
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "config `{key}`: {}", self.message),
            None => write!(f, "config: {}", self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// What crosses the boundary: the contract's `config-error` record.
impl From<ConfigError> for crate::bindings::validates::switchyard::plugin::types::ConfigError {
    fn from(error: ConfigError) -> Self {
        Self {
            key: error.key,
            message: error.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_uses_default_when_unset() {
        assert_eq!(parse("n", None, 30u32), Ok(30));
        assert_eq!(parse("n", Some(" 12 ".into()), 30u32), Ok(12));
    }

    #[test]
    fn parse_reports_bad_values() {
        let error = parse("local-max-sequences", Some("lots".into()), 30u32).unwrap_err();
        assert_eq!(error.key.as_deref(), Some("local-max-sequences"));
        assert!(error.message.starts_with("`lots`: "), "{error}");
        assert!(
            error
                .to_string()
                .starts_with("config `local-max-sequences`: `lots`: ")
        );
    }

    #[test]
    fn parse_json_reads_objects() {
        let value: Option<serde_json::Value> =
            parse_json("form", Some(r#"{"a": 1}"#.into())).unwrap();
        assert_eq!(value.unwrap()["a"], 1);
        assert_eq!(parse_json::<serde_json::Value>("form", None), Ok(None));
        assert!(parse_json::<serde_json::Value>("form", Some("{".into())).is_err());
    }

    #[test]
    fn a_long_value_is_cut_in_the_message() {
        let long = "x".repeat(200);
        let error = parse("n", Some(long), 1u32).unwrap_err();
        assert!(
            error
                .message
                .starts_with(&format!("`{}...`: ", "x".repeat(80)))
        );
    }

    #[test]
    fn an_error_about_the_whole_config_shows_no_key() {
        assert_eq!(
            ConfigError::whole("no service.* key").to_string(),
            "config: no service.* key"
        );
        assert_eq!(
            ConfigError::for_key("tiers", "not JSON").to_string(),
            "config `tiers`: not JSON"
        );
    }
}
