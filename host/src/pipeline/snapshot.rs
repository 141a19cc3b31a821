//! Routes and the plugins they use, loaded and checked as one unit: what
//! the pipeline runs a batch's jobs through.
//!
//! A batch holds its [`Snapshot`] until it is settled, so swapping in a new
//! one (hot reload, see `daemon::snapshot`) never changes the rules under a
//! job in flight.

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
    /// Chooses the targets of a valid job.
    pub router: Router,
    /// Decides beside `router` on every valid job, counted and compared,
    /// never acted on.
    pub shadow: Option<Arc<Plugin>>,
}

/// What chooses a route's targets.
#[derive(Debug)]
pub enum Router {
    /// A plugin that satisfies the `router` world.
    Plugin(Arc<Plugin>),
    /// The route's first target, always: the null pipeline's router
    /// (`run --null-pipeline`, for benchmarks), which calls no plugin.
    FirstTarget,
}

impl Router {
    /// `name@hash` of the plugin, or what stands in for one.
    pub fn version(&self) -> &str {
        match self {
            Router::Plugin(plugin) => plugin.version(),
            Router::FirstTarget => "first-target",
        }
    }
}

/// Where dead letters go for an entry of a stream no route reads. A batch
/// carries a snapshot that reads every one of its entries' streams (see
/// `Batch::new`), so every entry has a route's dead-letter stream; this
/// keeps an entry visible should that ever not hold.
pub const FALLBACK_DEAD_LETTERS: &str = "switchyard:dead";

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
    /// not recompiled. Fails, naming the route and the file, if any plugin
    /// is missing (see [`Settings::check_plugin_files`]), naming the file if
    /// one is not a component or of the wrong world for its use. With the null
    /// pipeline no plugin is loaded: routes have no validator and the
    /// [`Router::FirstTarget`] router.
    pub fn build(
        runtime: &Runtime,
        settings: &Settings,
        previous: Option<&Snapshot>,
    ) -> anyhow::Result<Snapshot> {
        if settings.consumer.null_pipeline {
            let routes = settings
                .routes
                .iter()
                .map(|route| Route {
                    settings: route.clone(),
                    validators: Vec::new(),
                    router: Router::FirstTarget,
                    shadow: None,
                })
                .collect();
            return Ok(Snapshot {
                routes,
                plugins: BTreeMap::new(),
            });
        }
        settings.check_plugin_files()?;
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
            let shadow = match &route.shadow {
                Some(name) => {
                    let shadow = plugins[name].clone();
                    shadow.require_router()?;
                    Some(shadow)
                }
                None => None,
            };
            routes.push(Route {
                settings: route.clone(),
                validators,
                router: Router::Plugin(router),
                shadow,
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

    /// The route called `name`.
    pub fn route_named(&self, name: &str) -> Option<&Route> {
        self.routes.iter().find(|route| route.settings.name == name)
    }

    /// Where an entry of `source` goes when no route takes it: the dead-letter
    /// stream of the first route reading `source` (see
    /// [`FALLBACK_DEAD_LETTERS`]).
    pub fn dead_letters_for(&self, source: &str) -> &str {
        self.routes
            .iter()
            .find(|route| route.settings.source == source)
            .map_or(FALLBACK_DEAD_LETTERS, |route| {
                route.settings.dead_letters.as_str()
            })
    }

    /// Whether some route reads `stream`.
    pub fn reads(&self, stream: &str) -> bool {
        self.routes
            .iter()
            .any(|route| route.settings.source == stream)
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
