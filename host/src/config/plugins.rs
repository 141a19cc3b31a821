//! `[plugins]` and `[plugin.NAME]`: for each plugin the routes name, its
//! `.wasm` file, its limits, its config values and what the sandbox grants
//! it, all resolved at load so a plugin that cannot start fails the load.
//!
//! A plugin without a table is `DIR/NAME.wasm` with the `[plugins]` limits;
//! a table nothing uses is only warned about (see [`super::Settings::parse`]).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, anyhow, bail};

use super::file::Base;
use super::file::PluginSection;
use super::routes::RouteSettings;
use super::settings::PluginConfig;
use crate::plugin::{Grants, Limits, PluginSettings};

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
        for name in route.validators.iter().chain([&route.router]) {
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
    Ok(PluginSettings {
        limits,
        grants,
        config,
        config_sources,
    })
}
