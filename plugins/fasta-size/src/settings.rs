//! The plugin's settings, and reading them from its config table.
//!
//! The config is read once, when switchyard loads the plugin. Everything an
//! operator can get wrong is found here, named by its key, so no job is ever
//! judged by a half-read rule: a tier without a limit, a limit that is not a
//! count, an empty pattern, a key that is not read.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use switchyard_plugin::ConfigError;

/// One tier of a service: the runner for jobs no larger than its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    /// The runner's id, as the service file names it (`local`, `default`).
    pub runner: String,
    /// The most records a job may have.
    pub max_sequences: usize,
    /// The longest average record length (rounded down) a job may have.
    pub max_average_length: usize,
}

/// How jobs are routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Each service's tiers, in the order they are tried; never empty. A
    /// service not here runs on `default`.
    pub tiers: BTreeMap<String, Vec<Tier>>,
    /// The input holding the FASTA text (`payload.inputs.<input_field>`).
    pub input_field: String,
    /// The entry field naming the job's service.
    pub service_field: String,
    /// The target stream for a runner; `{service}` and `{runner}` are
    /// replaced. Holds no other `{` or `}`.
    pub target_pattern: String,
}

impl Default for Settings {
    /// No tiers: every job runs on `default`.
    fn default() -> Self {
        Settings {
            tiers: BTreeMap::new(),
            input_field: "input".to_string(),
            service_field: "service".to_string(),
            target_pattern: "{runner}".to_string(),
        }
    }
}

impl Settings {
    /// The target stream for `runner` of `service`.
    /// The pattern is read once, left to right, so a service or runner
    /// whose name holds `{runner}` is not substituted again.
    pub fn target(&self, service: &str, runner: &str) -> String {
        let mut target = String::with_capacity(self.target_pattern.len() + 32);
        let mut rest = self.target_pattern.as_str();
        while let Some(open) = rest.find('{') {
            target.push_str(&rest[..open]);
            rest = &rest[open..];
            // Any other brace is kept: a hash tag.
            if let Some(after) = rest.strip_prefix("{service}") {
                target.push_str(service);
                rest = after;
            } else if let Some(after) = rest.strip_prefix("{runner}") {
                target.push_str(runner);
                rest = after;
            } else {
                target.push('{');
                rest = &rest[1..];
            }
        }
        target.push_str(rest);
        target
    }
}

/// The keys this plugin reads.
const KEYS: [&str; 4] = ["tiers", "input-field", "service-field", "target-pattern"];

/// The keys of the local/cluster rule this plugin had before tiers.
const OLD_KEYS: [&str; 5] = [
    "local-max-sequences",
    "local-max-average-length",
    "cluster-max-sequences",
    "local-target",
    "cluster-target",
];

/// Reads the settings from the plugin's config table (values as the host
/// gives them: strings as they are, tables as JSON text).
///
/// `service.<id>` keys (the service files switchyard's `[slivka]` section
/// hands every plugin) are not this plugin's and are passed over; any other
/// key it does not read is an error, so a misspelt key is seen.
pub fn load(config: &BTreeMap<String, String>) -> Result<Settings, ConfigError> {
    for key in config.keys() {
        if OLD_KEYS.contains(&key.as_str()) {
            return Err(ConfigError::for_key(
                key,
                "is no longer read: give each service's runners and limits in `tiers`",
            ));
        }
        if !KEYS.contains(&key.as_str()) && !key.starts_with("service.") {
            return Err(ConfigError::for_key(
                key,
                format!(
                    "is not a setting of fasta-size (it reads {})",
                    KEYS.join(", ")
                ),
            ));
        }
    }
    let mut settings = Settings::default();
    if let Some(text) = config.get("tiers") {
        settings.tiers =
            read_tiers(text).map_err(|message| ConfigError::for_key("tiers", message))?;
    }
    for (key, value) in [
        ("input-field", &mut settings.input_field),
        ("service-field", &mut settings.service_field),
    ] {
        if let Some(text) = config.get(key) {
            if text.is_empty() {
                return Err(ConfigError::for_key(key, "must not be empty"));
            }
            *value = text.clone();
        }
    }
    if let Some(pattern) = config.get("target-pattern") {
        check_pattern(pattern)
            .map_err(|message| ConfigError::for_key("target-pattern", message))?;
        settings.target_pattern = pattern.clone();
    }
    Ok(settings)
}

/// Reads `tiers`: `{service: [{runner, max-sequences, max-average-length}]}`.
/// Errors name the place: `clustalo[2].max-sequences: ...`.
fn read_tiers(text: &str) -> Result<BTreeMap<String, Vec<Tier>>, String> {
    let json: Json = serde_json::from_str(text).map_err(|error| format!("is not JSON: {error}"))?;
    let Json::Object(services) = json else {
        return Err(format!(
            "must be a table of services, each a list of tiers; got {json}"
        ));
    };
    let mut tiers = BTreeMap::new();
    for (service, list) in services {
        let Json::Array(list) = list else {
            return Err(format!(
                "`{service}` must be a list of tiers ({{runner, max-sequences, max-average-length}}), got {list}"
            ));
        };
        if list.is_empty() {
            return Err(format!(
                "`{service}` has no tiers: give at least one, or leave the service out to run it on `default`"
            ));
        }
        let read = list
            .iter()
            .enumerate()
            .map(|(index, tier)| {
                read_tier(tier).map_err(|message| format!("`{service}[{}]`{message}", index + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;
        tiers.insert(service, read);
    }
    Ok(tiers)
}

/// One tier; the error starts where its place ends (`.runner: ...`).
fn read_tier(tier: &Json) -> Result<Tier, String> {
    let Json::Object(fields) = tier else {
        return Err(format!(
            " must be a table {{runner, max-sequences, max-average-length}}, got {tier}"
        ));
    };
    if let Some(unknown) = fields
        .keys()
        .find(|key| !["runner", "max-sequences", "max-average-length"].contains(&key.as_str()))
    {
        return Err(format!(
            ".{unknown}: is not a tier setting (runner, max-sequences, max-average-length)"
        ));
    }
    let runner = match fields.get("runner") {
        Some(Json::String(runner)) if !runner.is_empty() => runner.clone(),
        Some(other) => return Err(format!(".runner: must be a runner id, got {other}")),
        None => return Err(".runner: is missing".to_string()),
    };
    let limit = |key: &str| match fields.get(key) {
        Some(value) => value
            .as_u64()
            .and_then(|limit| usize::try_from(limit).ok())
            .ok_or_else(|| format!(".{key}: must be a whole number, 0 or more, got {value}")),
        None => Err(format!(".{key}: is missing")),
    };
    Ok(Tier {
        runner,
        max_sequences: limit("max-sequences")?,
        max_average_length: limit("max-average-length")?,
    })
}

/// Checks `pattern`. Braces other than `{service}` and `{runner}` are
/// kept as written: a Redis Cluster hash tag (`{jobs}:queue:{runner}`) is
/// what puts a target in its source's slot.
fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("must not be empty".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    fn error(pairs: &[(&str, &str)]) -> String {
        load(&config(pairs)).unwrap_err().to_string()
    }

    #[test]
    fn an_empty_config_runs_everything_on_default() {
        assert_eq!(load(&config(&[])), Ok(Settings::default()));
        assert_eq!(Settings::default().target("mafft", "default"), "default");
    }

    #[test]
    fn reads_tiers_in_order_and_the_other_keys() {
        let settings = load(&config(&[
            (
                "tiers",
                r#"{"clustalo": [
                    {"runner": "local", "max-sequences": 30, "max-average-length": 500},
                    {"runner": "default", "max-sequences": 2000, "max-average-length": 1000}]}"#,
            ),
            ("input-field", "sequences"),
            ("service-field", "svc"),
            ("target-pattern", "queue:{service}:{runner}"),
            ("service.clustalo", "slivka-version: 0.8.5b5\n"),
        ]))
        .unwrap();
        assert_eq!(
            settings.tiers["clustalo"],
            vec![
                Tier {
                    runner: "local".into(),
                    max_sequences: 30,
                    max_average_length: 500
                },
                Tier {
                    runner: "default".into(),
                    max_sequences: 2000,
                    max_average_length: 1000
                },
            ]
        );
        assert_eq!(settings.input_field, "sequences");
        assert_eq!(settings.service_field, "svc");
        assert_eq!(settings.target("mafft", "local"), "queue:mafft:local");
        assert_eq!(
            settings.target("{runner}", "{service}"),
            "queue:{runner}:{service}"
        );
    }

    #[test]
    fn bad_tiers_are_named_by_their_place() {
        let tiers = |text: &str| error(&[("tiers", text)]);
        assert!(tiers("{").starts_with("config `tiers`: is not JSON: "));
        assert_eq!(
            tiers("[1]"),
            "config `tiers`: must be a table of services, each a list of tiers; got [1]"
        );
        assert_eq!(
            tiers(r#"{"mafft": []}"#),
            "config `tiers`: `mafft` has no tiers: give at least one, or leave the service out to run it on `default`"
        );
        assert_eq!(
            tiers(r#"{"mafft": [{"runner": "local", "max-sequences": 20}]}"#),
            "config `tiers`: `mafft[1]`.max-average-length: is missing"
        );
        assert_eq!(
            tiers(
                r#"{"mafft": [{"runner": "local", "max-sequences": 20, "max-average-length": 500},
                              {"runner": "default", "max-sequences": -1, "max-average-length": 1}]}"#
            ),
            "config `tiers`: `mafft[2]`.max-sequences: must be a whole number, 0 or more, got -1"
        );
        assert_eq!(
            tiers(r#"{"mafft": [{"runner": "", "max-sequences": 1, "max-average-length": 1}]}"#),
            "config `tiers`: `mafft[1]`.runner: must be a runner id, got \"\""
        );
        assert_eq!(
            tiers(
                r#"{"mafft": [{"runner": "a", "max-seqs": 1, "max-sequences": 1, "max-average-length": 1}]}"#
            ),
            "config `tiers`: `mafft[1]`.max-seqs: is not a tier setting (runner, max-sequences, max-average-length)"
        );
        assert_eq!(
            tiers(r#"{"mafft": [{"runner": "a", "max-sequences": 2.5, "max-average-length": 1}]}"#),
            "config `tiers`: `mafft[1]`.max-sequences: must be a whole number, 0 or more, got 2.5"
        );
    }

    #[test]
    fn unknown_and_old_keys_are_errors() {
        assert_eq!(
            error(&[("local-max-sequences", "30")]),
            "config `local-max-sequences`: is no longer read: give each service's runners and limits in `tiers`"
        );
        assert_eq!(
            load(&config(&[("tier", "{}")])).unwrap_err().key.as_deref(),
            Some("tier")
        );
    }

    #[test]
    fn patterns_and_fields_are_checked() {
        let hash_tagged = load(&config(&[("target-pattern", "{jobs}:queue:{runner}")])).unwrap();
        assert_eq!(
            hash_tagged.target("clustalo", "local"),
            "{jobs}:queue:local"
        );
        assert_eq!(
            error(&[("target-pattern", "")]),
            "config `target-pattern`: must not be empty"
        );
        assert_eq!(
            error(&[("input-field", "")]),
            "config `input-field`: must not be empty"
        );
    }
}
