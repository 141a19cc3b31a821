//! `[plugins]` and `[plugin.NAME]`: for each plugin the routes name, its
//! `.wasm` file, its limits, its config values, what the sandbox grants it
//! and how long one of its instances lives (`isolation`), all resolved at
//! load so a plugin that cannot start fails the load.
//!
//! A plugin without a table is `DIR/NAME.wasm` with the `[plugins]` limits;
//! a table nothing uses is only warned about (see [`super::Settings::parse`]).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, anyhow, bail};

use super::file::Base;
use super::file::PluginSection;
use super::routes::RouteSettings;
use super::settings::{PluginConfig, Settings};
use crate::plugin::{Grants, Isolation, Limits, PluginSettings};

/// Every plugin `routes` use, in the order they first appear: its
/// `[plugin.NAME]` table if there is one, else `DIR/NAME.wasm` with the
/// `[plugins]` limits.
pub(super) fn plugin_configs(
    routes: &[RouteSettings],
    sections: &BTreeMap<String, PluginSection>,
    dir: &Path,
    limits: Limits,
    base: &Base,
) -> Result<BTreeMap<String, PluginConfig>, String> {
    let mut plugins = BTreeMap::new();
    for route in routes {
        for name in route
            .validators
            .iter()
            .chain([&route.router])
            .chain(route.shadow.as_ref())
        {
            if plugins.contains_key(name) {
                continue;
            }
            let section = sections.get(name);
            let settings = match section {
                None => PluginSettings {
                    limits,
                    ..Default::default()
                },
                Some(s) => plugin_settings(name, s, limits, base).map_err(|e| format!("{e:#}"))?,
            };
            let file = section
                .and_then(|s| s.file.as_deref())
                .map(|f| base.resolve(f))
                .unwrap_or_else(|| dir.join(format!("{name}.wasm")));
            let config_files = section
                .map(|s| s.config_files.values().map(|p| base.resolve(p)).collect())
                .unwrap_or_default();
            plugins.insert(
                name.clone(),
                PluginConfig {
                    file,
                    settings,
                    config_files,
                },
            );
        }
    }
    Ok(plugins)
}

/// One `[plugin.NAME]` table: its limits over `defaults`, its config values
/// (files read now), its grants (directories checked now).
fn plugin_settings(
    name: &str,
    section: &PluginSection,
    defaults: Limits,
    base: &Base,
) -> anyhow::Result<PluginSettings> {
    let limits = section
        .limits
        .apply(defaults)
        .map_err(|e| anyhow!("[plugin.{name}] {e}"))?;
    let mut config = BTreeMap::new();
    let mut config_sources = BTreeMap::new();
    for (key, value) in &section.config {
        let text = match value {
            toml::Value::String(s) => s.clone(),
            other => serde_json::to_string(other).with_context(|| {
                format!("[plugin.{name}.config] {key}: cannot be written as JSON")
            })?,
        };
        config.insert(key.clone(), text);
    }
    for (key, path) in &section.config_files {
        let path = base.resolve(path);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "[plugin.{name}.config-files] {key}: cannot read {}",
                path.display()
            )
        })?;
        config.insert(key.clone(), text);
        config_sources.insert(key.clone(), path);
    }
    let mut grants = Grants::default();
    for (guest, host) in &section.grants.read_dirs {
        let host = base.resolve(host);
        if !host.is_dir() {
            bail!(
                "[plugin.{name}.grants] read-dirs: {} is not a directory",
                host.display()
            );
        }
        grants.read_dirs.push((host, guest.clone()));
    }
    grants.env = section
        .grants
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    grants.clocks = section.grants.clocks;
    let isolation = match section.isolation.as_deref() {
        None => Isolation::default(),
        Some(value) => Isolation::parse(value).ok_or_else(|| {
            anyhow!(
                "[plugin.{name}] isolation = {value:?}: must be \"job\" (a fresh instance per \
                 job, the default) or \"batch\" (a fresh instance per batch of jobs)"
            )
        })?,
    };
    Ok(PluginSettings {
        limits,
        grants,
        config,
        config_sources,
        isolation,
    })
}

impl Settings {
    /// Refuses a route naming a plugin that does not exist: no `.wasm` file
    /// where its `[plugin.NAME] file` (or `[plugins] dir`) says. The message
    /// names the first route and key (`router`, `validators`) that name it,
    /// the file looked for, and the plugins the directory does hold, since
    /// a misspelt name is the usual cause. Checked when the plugins are
    /// loaded, not when the file is read: the commands beside the daemon
    /// read the config for its Redis URL on machines without the plugins.
    pub fn check_plugin_files(&self) -> anyhow::Result<()> {
        for route in &self.routes {
            let named = route
                .validators
                .iter()
                .map(|name| ("validators", name))
                .chain([("router", &route.router)])
                .chain(route.shadow.iter().map(|name| ("shadow", name)));
            for (key, name) in named {
                let Some(plugin) = self.plugins.get(name) else {
                    continue;
                };
                if plugin.file.is_file() {
                    continue;
                }
                let default = self.plugin_dir.join(format!("{name}.wasm"));
                let looked = if plugin.file == default {
                    format!(
                        "no [plugin.{name}] table gives its `file`, and {} does not exist",
                        default.display()
                    )
                } else {
                    format!(
                        "[plugin.{name}] file {} does not exist",
                        plugin.file.display()
                    )
                };
                bail!(
                    "route `{}`: `{key}` names plugin `{name}`, which does not exist: {looked} \
                     (plugins in {}: {}; built? `make plugins`)",
                    route.name,
                    self.plugin_dir.display(),
                    wasm_names(&self.plugin_dir)
                );
            }
        }
        Ok(())
    }
}

/// The plugin names `dir` holds (`NAME.wasm`), sorted, for messages.
fn wasm_names(dir: &Path) -> String {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return "none: cannot read the directory".into();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let path = e.path();
            (path.extension()? == "wasm").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    match names.is_empty() {
        true => "none".into(),
        false => names.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{GOOD, Settings};

    #[test]
    fn a_route_naming_a_plugin_that_does_not_exist_is_refused_naming_route_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let plugins = dir.path().join("plugins");
        std::fs::create_dir(&plugins).unwrap();
        std::fs::write(plugins.join("fasta-size.wasm"), b"").unwrap();
        std::fs::write(plugins.join("slivka-form.wasm"), b"").unwrap();
        let file = dir.path().join("s.toml");
        let good = Settings::parse(&file, GOOD, None, None).unwrap();
        good.check_plugin_files().unwrap();

        let misspelt = GOOD.replace("router = \"fasta-size\"", "router = \"fasta-sise\"");
        let err = Settings::parse(&file, &misspelt, None, None)
            .unwrap()
            .check_plugin_files()
            .unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.starts_with(
                "route `jobs#1`: `router` names plugin `fasta-sise`, which does not exist: \
                 no [plugin.fasta-sise] table gives its `file`"
            ),
            "{msg}"
        );
        assert!(msg.contains("fasta-size, slivka-form"), "{msg}");

        let moved = format!("{GOOD}\n[plugin.slivka-form]\nfile = \"elsewhere.wasm\"\n");
        let err = Settings::parse(&file, &moved, None, None)
            .unwrap()
            .check_plugin_files()
            .unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.starts_with("route `jobs#1`: `validators` names plugin `slivka-form`"),
            "{msg}"
        );
        assert!(msg.contains("[plugin.slivka-form] file"), "{msg}");
    }

    #[test]
    fn isolation_is_job_unless_a_plugin_table_says_batch_and_nothing_else() {
        use crate::plugin::Isolation;
        let file = std::path::Path::new("/etc/switchyard/s.toml");
        let with = |table: &str| format!("{GOOD}\n[plugin.fasta-size]\n{table}\n");
        let isolation = |settings: &Settings, name: &str| settings.plugins[name].settings.isolation;

        let plain = Settings::parse(file, GOOD, None, None).unwrap();
        assert_eq!(isolation(&plain, "fasta-size"), Isolation::Job);
        let batch = Settings::parse(file, &with("isolation = \"batch\""), None, None).unwrap();
        assert_eq!(isolation(&batch, "fasta-size"), Isolation::Batch);
        assert_eq!(isolation(&batch, "slivka-form"), Isolation::Job);
        let job = Settings::parse(file, &with("isolation = \"job\""), None, None).unwrap();
        assert_eq!(isolation(&job, "fasta-size"), Isolation::Job);

        let err = Settings::parse(file, &with("isolation = \"shared\""), None, None).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("/etc/switchyard/s.toml"), "{msg}");
        assert!(
            msg.contains("[plugin.fasta-size] isolation = \"shared\": must be \"job\""),
            "{msg}"
        );
    }
}
