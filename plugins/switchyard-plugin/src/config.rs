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
//! These functions call the host: inside the component only.

use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;

use crate::bindings::validates::switchyard::plugin::host;

/// The value of `key`, or `None` if the plugin's table does not set it.
pub fn get(key: &str) -> Option<String> {
    host::config_get(key)
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
    host::config_keys()
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
            Err(error) => Err(ConfigError {
                key: key.to_string(),
                value,
                reason: error.to_string(),
            }),
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
            Err(error) => Err(ConfigError {
                key: key.to_string(),
                value,
                reason: error.to_string(),
            }),
        },
    }
}

/// A config value that is set but cannot be read as the plugin expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key in the plugin's config table.
    pub key: String,
    /// The value as the host gave it.
    pub value: String,
    /// Why it could not be read (the parser's message).
    pub reason: String,
}

/// `config `key` = `value`: reason`; the value is cut to 80 characters.
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.value.chars().take(80).collect();
        let ellipsis = if shown.len() < self.value.len() {
            "..."
        } else {
            ""
        };
        write!(
            f,
            "config `{}` = `{shown}{ellipsis}`: {}",
            self.key, self.reason
        )
    }
}

impl std::error::Error for ConfigError {}

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
        assert_eq!(error.key, "local-max-sequences");
        assert!(
            error
                .to_string()
                .starts_with("config `local-max-sequences` = `lots`: ")
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
}
