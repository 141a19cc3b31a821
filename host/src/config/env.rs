//! Config keys from the environment, the twelve-factor way: a variable
//! `SWITCHYARD_<TABLE>__<KEY>` overrides `[table] key` of the file, so one
//! file serves every environment and a deployment changes a key without
//! editing it.
//!
//! The mapping: after `SWITCHYARD_`, `__` separates the table path from the
//! key, each part lower-cased with `_` read as `-`:
//! `SWITCHYARD_CONSUMER__BATCH=50` is `[consumer] batch = 50`,
//! `SWITCHYARD_PLUGIN__FASTA_SIZE__DEADLINE=250ms` is `[plugin.fasta-size]
//! deadline = "250ms"`. A variable without `__` is not a key
//! (`SWITCHYARD_CONFIG`, `SWITCHYARD_REDIS_URL` are flags' variables). The
//! value is read as a TOML value (`50`, `true`, `"007"`, `["a", "b"]`), and
//! as a string when it is not one (`redis://host`, `30s`). `[[routes]]` and
//! names holding `_` or `.` cannot be written this way. A duration set this
//! way replaces the file's in either of its forms (`claim-idle`,
//! `claim-idle-ms`).
//!
//! The file is read first, on its own, so its errors keep their line and
//! column; the variables are laid over it as a table, and an error that one
//! of them causes names it.

use std::ffi::OsString;

use serde::de::DeserializeOwned;

/// The prefix of every variable that can name a key.
const PREFIX: &str = "SWITCHYARD_";

/// What separates a variable's table path from its key.
const SEPARATOR: &str = "__";

/// The suffixes of the older integer forms of duration keys (`block-ms`
/// for `block`, `ttl-seconds` for `ttl`; see `file.rs`).
const OLD_UNITS: [&str; 2] = ["-ms", "-seconds"];

/// The config keys set by the environment, in the order of their names.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// One per variable; names are distinct.
    keys: Vec<Override>,
}

/// One variable and the key it sets.
#[derive(Debug, Clone)]
struct Override {
    /// The variable's name, for messages.
    variable: String,
    /// Tables then key, e.g. `["consumer", "batch"]`; at least two parts.
    path: Vec<String>,
    /// The value, read as TOML.
    value: toml::Value,
}

impl Overrides {
    /// None: the file alone.
    pub fn none() -> Overrides {
        Overrides::default()
    }

    /// The `SWITCHYARD_<TABLE>__<KEY>` variables of this process.
    pub fn from_env() -> Result<Overrides, String> {
        Overrides::from_vars(std::env::vars_os())
    }

    /// The variables among `vars` that name a key; a variable that names
    /// one badly (an empty part, a value that is not Unicode) is an error
    /// naming it.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Result<Overrides, String> {
        let mut keys = Vec::new();
        for (name, value) in vars {
            let Some(name) = name.to_str() else { continue };
            let Some(rest) = name.strip_prefix(PREFIX) else {
                continue;
            };
            if !rest.contains(SEPARATOR) {
                continue;
            }
            let path: Vec<String> = rest
                .split(SEPARATOR)
                .map(|part| part.to_ascii_lowercase().replace('_', "-"))
                .collect();
            if path.iter().any(String::is_empty) {
                return Err(format!(
                    "{name}: an empty table or key name (write SWITCHYARD_TABLE__KEY)"
                ));
            }
            let value = value
                .into_string()
                .map_err(|_| format!("{name}: the value is not UTF-8"))?;
            keys.push(Override {
                variable: name.to_owned(),
                path,
                value: scalar(&value),
            });
        }
        keys.sort_by(|a, b| a.variable.cmp(&b.variable));
        Ok(Overrides { keys })
    }

    /// Whether no variable sets a key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The variables' names, for messages.
    pub fn variables(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.variable.as_str()).collect()
    }

    /// `table` (the file, as read) with every variable laid over it, as a
    /// `T`. An error names the variable that causes it: one that sets a key
    /// inside a value that is not a table, or whose value `T` refuses.
    pub fn apply<T: DeserializeOwned>(&self, table: &toml::Table) -> Result<T, String> {
        let mut all = table.clone();
        for key in &self.keys {
            key.clear_other_form(&mut all);
        }
        for key in &self.keys {
            key.set(&mut all)?;
        }
        match toml::Value::Table(all).try_into::<T>() {
            Ok(value) => Ok(value),
            Err(e) => {
                // Which one? Lay each alone over the file: the file alone
                // is valid (it was read first), so the first that fails is
                // the culprit.
                for key in &self.keys {
                    let mut one = table.clone();
                    key.clear_other_form(&mut one);
                    key.set(&mut one)?;
                    if let Err(e) = toml::Value::Table(one).try_into::<T>() {
                        return Err(format!("{}: {}", key.describe(), e.message()));
                    }
                }
                Err(format!(
                    "{} together: {}",
                    self.variables().join(", "),
                    e.message()
                ))
            }
        }
    }
}

impl Override {
    /// Removes from `table` (the file's) the other form of this key, if it
    /// is a duration: `claim-idle-ms` for `claim-idle` and the reverse,
    /// `ttl-seconds` for `ttl`. The variable replaces the file's value
    /// whichever form the file wrote it in.
    fn clear_other_form(&self, table: &mut toml::Table) {
        let (key, tables) = self
            .path
            .split_last()
            .expect("a path has at least two parts: it holds the separator");
        let mut at = table;
        for name in tables {
            match at.get_mut(name) {
                Some(toml::Value::Table(inner)) => at = inner,
                _ => return,
            }
        }
        for unit in OLD_UNITS {
            match key.strip_suffix(unit) {
                Some(stem) => at.remove(stem),
                None => at.remove(&format!("{key}{unit}")),
            };
        }
    }

    /// Sets this key in `table`, making the tables on its path.
    fn set(&self, table: &mut toml::Table) -> Result<(), String> {
        let (key, tables) = self
            .path
            .split_last()
            .expect("a path has at least two parts: it holds the separator");
        let mut at = table;
        for (depth, name) in tables.iter().enumerate() {
            let entry = at
                .entry(name.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            at = match entry {
                toml::Value::Table(inner) => inner,
                toml::Value::Array(_) => {
                    return Err(format!(
                        "{}: [{}] is a list of tables in the file; set its keys there",
                        self.variable,
                        self.path[..=depth].join(".")
                    ));
                }
                _ => {
                    return Err(format!(
                        "{}: `{}` is a value, not a table",
                        self.variable,
                        self.path[..=depth].join(".")
                    ));
                }
            };
        }
        at.insert(key.clone(), self.value.clone());
        Ok(())
    }

    /// `VARIABLE (table.key = value)`, for messages.
    fn describe(&self) -> String {
        format!(
            "{} ([{}] {} = {})",
            self.variable,
            self.path[..self.path.len() - 1].join("."),
            self.path[self.path.len() - 1],
            self.value
        )
    }
}

/// `text` as a TOML value if it is one, else as a string.
fn scalar(text: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("value = {text}"))
        .ok()
        .and_then(|mut table| table.remove("value"))
        .unwrap_or_else(|| toml::Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Overrides {
        Overrides::from_vars(pairs.iter().map(|(k, v)| ((*k).into(), (*v).into()))).unwrap()
    }

    #[test]
    fn only_variables_with_a_table_and_a_key_are_keys() {
        let o = vars(&[
            ("SWITCHYARD_CONFIG", "/etc/s.toml"),
            ("SWITCHYARD_REDIS_URL", "redis://a"),
            ("PATH", "/bin"),
            ("SWITCHYARD_CONSUMER__CLAIM_IDLE", "30s"),
            ("SWITCHYARD_REDIS__URL", "redis://b:6379/0"),
        ]);
        assert_eq!(
            o.variables(),
            ["SWITCHYARD_CONSUMER__CLAIM_IDLE", "SWITCHYARD_REDIS__URL"]
        );
        assert_eq!(o.keys[0].path, ["consumer", "claim-idle"]);
        assert_eq!(o.keys[0].value, toml::Value::String("30s".into()));
        assert_eq!(
            o.keys[1].value,
            toml::Value::String("redis://b:6379/0".into())
        );
    }

    #[test]
    fn values_are_read_as_toml_and_as_strings_when_they_are_not() {
        assert_eq!(scalar("50"), toml::Value::Integer(50));
        assert_eq!(scalar("true"), toml::Value::Boolean(true));
        assert_eq!(scalar("\"007\""), toml::Value::String("007".into()));
        assert_eq!(scalar("5m"), toml::Value::String("5m".into()));
        assert_eq!(scalar("a b"), toml::Value::String("a b".into()));
    }

    #[test]
    fn a_duration_from_the_environment_replaces_the_files_in_either_form() {
        let table: toml::Table =
            toml::from_str("[consumer]\nclaim-idle-ms = 1000\n[status]\nttl = \"1d\"\n").unwrap();
        let o = vars(&[
            ("SWITCHYARD_CONSUMER__CLAIM_IDLE", "45s"),
            ("SWITCHYARD_STATUS__TTL_SECONDS", "60"),
        ]);
        let all: toml::Table = o.apply(&table).unwrap();
        assert_eq!(
            all.to_string(),
            "[consumer]\nclaim-idle = \"45s\"\n\n[status]\nttl-seconds = 60\n"
        );
    }

    #[test]
    fn a_key_inside_a_list_of_tables_is_refused_naming_the_variable() {
        let o = vars(&[("SWITCHYARD_ROUTES__ROUTER", "x")]);
        let table: toml::Table = toml::from_str("[[routes]]\nrouter = \"r\"\n").unwrap();
        let err = o.apply::<toml::Table>(&table).unwrap_err();
        assert!(
            err.starts_with("SWITCHYARD_ROUTES__ROUTER: [routes] is a list"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_part_is_refused_naming_the_variable() {
        let err = Overrides::from_vars([("SWITCHYARD___BATCH".into(), "1".into())]).unwrap_err();
        assert!(err.starts_with("SWITCHYARD___BATCH: an empty"), "{err}");
    }
}
