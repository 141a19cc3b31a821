//! Routes and the plugins they use, loaded and checked as one unit.
//!
//! The pipeline reads a snapshot through an `Arc`: a job holds the snapshot
//! it started with until it is settled, so swapping in a new one (hot
//! reload) never changes the rules under a job in flight.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::anyhow;

use crate::config::{RouteSettings, Settings};
use crate::pipeline::job::Entry;
use crate::plugin::{Plugin, Runtime};

/// A route with its plugins resolved.
#[derive(Debug)]
pub struct Route {
    /// The route as configured.
    pub settings: RouteSettings,
    /// Validators, in order; each satisfies the `validator` world.
    pub validators: Vec<Arc<Plugin>>,
    /// The router; satisfies the `router` world.
    pub router: Arc<Plugin>,
}

/// Every route, with every plugin loaded and checked.
#[derive(Debug)]
pub struct Snapshot {
    /// Routes in config order; the first that matches an entry takes it.
    pub routes: Vec<Route>,
    /// Each loaded plugin by name.
    pub plugins: BTreeMap<String, Arc<Plugin>>,
}

impl Snapshot {
    /// Loads every plugin `settings` names and resolves the routes. Plugins
    /// whose file and settings are unchanged since `previous` are reused,
    /// not recompiled. Fails, naming the file, if any plugin is missing, not
    /// a component, or of the wrong world for its use.
    pub fn build(
        runtime: &Runtime,
        settings: &Settings,
        previous: Option<&Snapshot>,
    ) -> anyhow::Result<Snapshot> {
        let mut plugins = BTreeMap::new();
        for (name, plugin) in &settings.plugins {
            let (file, plugin_settings) = (&plugin.file, &plugin.settings);
            let bytes = std::fs::read(file).map_err(|e| {
                anyhow!(
                    "plugin {name}: cannot read {}: {e} (is it built? `make plugins`)",
                    file.display()
                )
            })?;
            let reused = previous
                .and_then(|p| p.plugins.get(name))
                .filter(|p| p.is_same(&bytes, plugin_settings))
                .cloned();
            let plugin = match reused {
                Some(plugin) => plugin,
                None => Arc::new(Plugin::from_bytes(
                    runtime,
                    name,
                    file,
                    &bytes,
                    plugin_settings.clone(),
                )?),
            };
            plugins.insert(name.clone(), plugin);
        }
        let mut routes = Vec::new();
        for route in &settings.routes {
            let mut validators = Vec::new();
            for name in &route.validators {
                let plugin = plugins[name].clone();
                plugin.require_validator()?;
                validators.push(plugin);
            }
            let router = plugins[&route.router].clone();
            router.require_router()?;
            routes.push(Route {
                settings: route.clone(),
                validators,
                router,
            });
        }
        Ok(Snapshot { routes, plugins })
    }

    /// The first route whose source and match fit the entry.
    pub fn route_for(&self, entry: &Entry) -> Option<&Route> {
        self.routes.iter().find(|route| {
            route.settings.source == entry.stream
                && route
                    .settings
                    .matches(|name| entry.field(name).map(str::to_owned))
        })
    }

    /// Where an entry of `source` goes when no route takes it: the dead-letter
    /// stream of the first route reading `source`.
    pub fn dead_letters_for(&self, source: &str) -> Option<&str> {
        self.routes
            .iter()
            .find(|route| route.settings.source == source)
            .map(|route| route.settings.dead_letters.as_str())
    }

    /// The distinct source streams of the routes, in route order.
    pub fn sources(&self) -> Vec<String> {
        crate::config::sources_of(self.routes.iter().map(|route| &route.settings))
    }

    /// `name@hash` of every plugin, for logs.
    pub fn versions(&self) -> Vec<&str> {
        self.plugins.values().map(|p| p.version()).collect()
    }
}
