//! Turning a `.wasm` file into a ready [`Plugin`].
//!
//! Loading compiles the component once, checks its imports and exports
//! against the worlds in `wit/plugin.wit` (or, for a plugin built against
//! the previous version, `wit/0.1.0/plugin.wit`: see [`super::legacy`]),
//! runs its `prepare` if it has one
//! (see [`super::prepare`]), links it (`InstancePre`), finds its `validate`
//! and `route` with the bindings' `GuestIndices`, and instantiates it once to
//! check their types (the bindings' `load`). Everything that can be wrong
//! with a file is reported here as a [`LoadError`] naming the file, so that a
//! bad plugin never reaches the pipeline.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, InstancePre};

use super::Contract;
use super::bindings::exports::switchyard::plugin::{route, validate};
use super::error::{Fault, LoadError};
use super::legacy::bindings_0_1::exports::switchyard::plugin::{
    route as route_0_1, validate as validate_0_1,
};
use super::limits::{Grants, Limits};
use super::runtime::Runtime;
use super::sandbox::{PluginIdentity, Sandbox};
use super::{ROUTE_EXPORT, VALIDATE_EXPORT};

/// The interfaces a plugin may import from switchyard's own package, in
/// either version of the contract.
const HOST_IMPORTS: [&str; 4] = [
    "switchyard:plugin/host@0.2",
    "switchyard:plugin/types@0.2",
    "switchyard:plugin/host@0.1",
    "switchyard:plugin/types@0.1",
];

/// Where a plugin's `validate` and `route` are, found once at load, by the
/// version of the contract it was built against. Each is `Some` exactly when
/// the plugin exports it, and its type was checked at load.
pub(crate) enum Exports {
    /// Built against 0.2.0: called with the job as it is.
    V0_2 {
        /// `validate`, if exported.
        validate: Option<validate::GuestIndices>,
        /// `route`, if exported.
        route: Option<route::GuestIndices>,
    },
    /// Built against 0.1.0: called with the job made old
    /// ([`super::legacy::job`]).
    V0_1 {
        /// `validate`, if exported.
        validate: Option<validate_0_1::GuestIndices>,
        /// `route`, if exported.
        route: Option<route_0_1::GuestIndices>,
    },
}

impl Exports {
    /// The contract version these exports belong to.
    pub(crate) fn contract(&self) -> Contract {
        match self {
            Exports::V0_2 { .. } => Contract::V0_2,
            Exports::V0_1 { .. } => Contract::V0_1,
        }
    }
}

/// How a plugin is configured: limits, grants and its own config table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginSettings {
    /// Resource limits for each call.
    pub limits: Limits,
    /// Capabilities beyond computing.
    pub grants: Grants,
    /// What `config-get` returns, key by key.
    pub config: std::collections::BTreeMap<String, String>,
    /// The file each value of `config` was read from, for the keys read from
    /// one (`config-files`, a `[slivka]` service file, `--config KEY=@FILE`):
    /// a refusal of that key names the file.
    pub config_sources: std::collections::BTreeMap<String, PathBuf>,
    /// How long one instance of the plugin lives: a job, or a batch.
    pub isolation: Isolation,
}

/// How long one instance of a plugin lives (`isolation` in `[plugin.NAME]`).
///
/// A trade-off the operator makes per plugin: a fresh instance per job
/// costs an instantiation per call (several microseconds) but no job can see
/// what another left; a fresh instance per batch costs one instantiation per
/// batch, but the jobs of one batch run in the same memory, one after the
/// other, and can see each other's leftovers (statics, caches, the heap).
/// Nothing survives a batch either way, and an instance that faults is
/// dropped at once: the next job gets a fresh one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Isolation {
    /// `"job"` (the default): a fresh instance for every call.
    #[default]
    Job,
    /// `"batch"`: a fresh instance per batch of jobs, called once per job
    /// (see [`super::batch::Instances`]).
    Batch,
}

impl Isolation {
    /// The setting's value as the config spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::Job => "job",
            Isolation::Batch => "batch",
        }
    }

    /// The isolation the config spells `value`; `None` for any other value.
    pub fn parse(value: &str) -> Option<Isolation> {
        match value {
            "job" => Some(Isolation::Job),
            "batch" => Some(Isolation::Batch),
            _ => None,
        }
    }
}

/// Which of the contract's interfaces a component exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Worlds {
    /// Exports `switchyard:plugin/validate`: usable as a validator.
    pub validate: bool,
    /// Exports `switchyard:plugin/route`: usable as a router.
    pub route: bool,
}

impl Worlds {
    /// The worlds of `wit/plugin.wit` this component satisfies.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.validate {
            names.push("validator");
        }
        if self.route {
            names.push("router");
        }
        if self.validate && self.route {
            names.push("plugin");
        }
        names
    }
}

/// A compiled, checked and linked plugin. Cheap to share behind an `Arc`;
/// every call gets a fresh instance.
pub struct Plugin {
    /// Name, version and config, shared with every call's sandbox.
    pub(crate) identity: Arc<PluginIdentity>,
    /// The file it was loaded from.
    pub(crate) file: PathBuf,
    /// Which interfaces it exports.
    pub(crate) worlds: Worlds,
    /// The component, linked against the sandbox's imports.
    pub(crate) pre: InstancePre<Sandbox>,
    /// Where `validate` and `route` are in the component, for the version
    /// of the contract it was built against.
    pub(crate) exports: Exports,
    /// Limits, grants and config.
    pub(crate) settings: PluginSettings,
    /// Exports beyond the contract's, which switchyard ignores.
    pub(crate) extra_exports: Vec<String>,
    /// SHA-256 of the component's bytes.
    pub(crate) digest: Vec<u8>,
    /// Whether its `prepare` ran at load: jobs start from what it left.
    pub(crate) prepared: bool,
    /// The runtime's ticks, which the watchdog counts its calls' deadlines
    /// in.
    pub(crate) ticks: Arc<super::watchdog::Ticks>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("version", &self.identity.version)
            .field("file", &self.file)
            .field("worlds", &self.worlds)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// Loads the plugin in `file` under `name`.
    pub fn load(
        runtime: &Runtime,
        name: &str,
        file: &Path,
        settings: PluginSettings,
    ) -> Result<Plugin, LoadError> {
        let bytes = std::fs::read(file).map_err(|e| LoadError::Load {
            file: file.to_owned(),
            reason: format!("cannot read: {e}"),
        })?;
        Plugin::from_bytes(runtime, name, file, &bytes, settings)
    }

    /// Loads a plugin from bytes already read from `file`.
    pub fn from_bytes(
        runtime: &Runtime,
        name: &str,
        file: &Path,
        bytes: &[u8],
        settings: PluginSettings,
    ) -> Result<Plugin, LoadError> {
        let load_error = |reason: String| LoadError::Load {
            file: file.to_owned(),
            reason,
        };
        let world_error = |reason: String| LoadError::WrongWorld {
            file: file.to_owned(),
            reason,
        };
        check_header(bytes).map_err(load_error)?;
        let component = Component::new(&runtime.engine, bytes)
            .map_err(|e| load_error(format!("not a valid component: {e:#}")))?;

        let ty = component.component_type();
        let unknown: Vec<String> = ty
            .imports(&runtime.engine)
            .map(|(name, _)| name.to_owned())
            .filter(|name| {
                !name.starts_with("wasi:") && !HOST_IMPORTS.iter().any(|p| name.starts_with(p))
            })
            .collect();
        if !unknown.is_empty() {
            return Err(world_error(format!(
                "imports {} which the sandbox does not offer (a plugin may import only \
                 switchyard:plugin/host (0.2.0, or 0.1.0) and WASI)",
                quote_list(&unknown)
            )));
        }

        let exports: Vec<String> = ty
            .exports(&runtime.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        let exported = |name: &str| exports.iter().any(|e| e == name);
        // The newest version the component exports `validate` or `route` of.
        let contract = Contract::ALL
            .into_iter()
            .find(|c| exported(c.validate_export()) || exported(c.route_export()))
            .unwrap_or(Contract::V0_2);
        let worlds = Worlds {
            validate: exported(contract.validate_export()),
            route: exported(contract.route_export()),
        };
        let extra_exports: Vec<String> = exports
            .iter()
            .filter(|e| {
                *e != contract.validate_export()
                    && *e != contract.route_export()
                    && *e != contract.prepare_export()
            })
            .cloned()
            .collect();
        if !worlds.validate && !worlds.route {
            let older = exports
                .iter()
                .filter(|e| e.starts_with("switchyard:plugin/"))
                .cloned()
                .collect::<Vec<_>>();
            let hint = if !older.is_empty() {
                format!(
                    "; it exports {}, a different version of the contract",
                    quote_list(&older)
                )
            } else if exports.iter().any(|e| e.starts_with("wasi:cli/run")) {
                "; it is a WASI command (fn main), not a plugin".to_owned()
            } else if exports.is_empty() {
                "; it exports nothing".to_owned()
            } else {
                format!("; it exports {}", quote_list(&exports))
            };
            return Err(world_error(format!(
                "satisfies none of the worlds validator, router, plugin: it exports neither \
                 `{VALIDATE_EXPORT}` nor `{ROUTE_EXPORT}` (nor their 0.1.0 versions){hint}"
            )));
        }

        let digest = Sha256::digest(bytes);
        let identity = Arc::new(PluginIdentity {
            name: name.to_owned(),
            version: format!("{name}@{}", &hex::encode(digest)[..8]),
            config: settings.config.clone(),
            log: super::log::LogBudget::new(name),
        });
        let prepared = exported(contract.prepare_export());
        let component = if prepared {
            let bytes =
                super::prepare::prepare(runtime, &identity, file, bytes, &settings, contract)?;
            Component::new(&runtime.engine, &bytes)
                .map_err(|e| load_error(format!("cannot compile once prepared: {e:#}")))?
        } else {
            component
        };

        let pre = runtime
            .linker
            .instantiate_pre(&component)
            .map_err(|e| world_error(format!("cannot be linked in the sandbox: {e:#}")))?;
        // Found once here; each call's `load` then only type-checks the
        // instance's function (checked once below, so it cannot fail later).
        let missing = |interface: &str, func: &str| {
            world_error(missing_function(&component, interface, func))
        };
        let exports = match contract {
            Contract::V0_2 => Exports::V0_2 {
                validate: worlds
                    .validate
                    .then(|| validate::GuestIndices::new(&pre))
                    .transpose()
                    .map_err(|_| missing(contract.validate_export(), "validate"))?,
                route: worlds
                    .route
                    .then(|| route::GuestIndices::new(&pre))
                    .transpose()
                    .map_err(|_| missing(contract.route_export(), "route"))?,
            },
            Contract::V0_1 => Exports::V0_1 {
                validate: worlds
                    .validate
                    .then(|| validate_0_1::GuestIndices::new(&pre))
                    .transpose()
                    .map_err(|_| missing(contract.validate_export(), "validate"))?,
                route: worlds
                    .route
                    .then(|| route_0_1::GuestIndices::new(&pre))
                    .transpose()
                    .map_err(|_| missing(contract.route_export(), "route"))?,
            },
        };

        let plugin = Plugin {
            identity,
            file: file.to_owned(),
            worlds,
            pre,
            exports,
            settings,
            extra_exports,
            digest: digest.to_vec(),
            prepared,
            ticks: runtime.ticks.clone(),
        };
        plugin.check_types()?;
        Ok(plugin)
    }

    /// The plugin's name (`slivka-form`).
    pub fn name(&self) -> &str {
        &self.identity.name
    }

    /// `name@hash`, the version stamped on everything this plugin decides.
    pub fn version(&self) -> &str {
        &self.identity.version
    }

    /// The file the plugin was loaded from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Which interfaces the plugin exports.
    pub fn worlds(&self) -> Worlds {
        self.worlds
    }

    /// The version of the contract the plugin was built against.
    pub fn contract(&self) -> Contract {
        self.exports.contract()
    }

    /// Whether the plugin's `prepare` ran at load (it exports one).
    pub fn is_prepared(&self) -> bool {
        self.prepared
    }

    /// Exports beyond the contract's (ignored, reported by `check`).
    pub fn extra_exports(&self) -> &[String] {
        &self.extra_exports
    }

    /// Whether this plugin was loaded from exactly `bytes` with `settings`,
    /// so a reload can keep it instead of compiling it again.
    pub fn is_same(&self, bytes: &[u8], settings: &PluginSettings) -> bool {
        self.digest == Sha256::digest(bytes).as_slice() && self.settings == *settings
    }

    /// The plugin's limits.
    pub fn limits(&self) -> Limits {
        self.settings.limits
    }

    /// How long one of its instances lives: a job or a batch.
    pub fn isolation(&self) -> Isolation {
        self.settings.isolation
    }

    /// Fails unless the plugin can serve as a validator.
    pub fn require_validator(&self) -> Result<(), LoadError> {
        if self.worlds.validate {
            return Ok(());
        }
        Err(LoadError::WrongWorld {
            file: self.file.clone(),
            reason: self.not_exported_reason("validator", self.contract().validate_export()),
        })
    }

    /// Fails unless the plugin can serve as a router.
    pub fn require_router(&self) -> Result<(), LoadError> {
        if self.worlds.route {
            return Ok(());
        }
        Err(LoadError::WrongWorld {
            file: self.file.clone(),
            reason: self.not_exported_reason("router", self.contract().route_export()),
        })
    }

    /// The fault of a call to `export`, which the plugin does not have: what
    /// [`Plugin::require_validator`] or [`Plugin::require_router`] says.
    pub(crate) fn not_exported(&self, role: &str, export: &str) -> Fault {
        Fault::NotExported {
            file: self.file.clone(),
            reason: self.not_exported_reason(role, export),
        }
    }

    /// Why the plugin cannot serve as `role`: it does not export `export`.
    fn not_exported_reason(&self, role: &str, export: &str) -> String {
        format!(
            "plugin {} is used as a {role} but does not export `{export}` (it satisfies: {})",
            self.identity.name,
            self.worlds.names().join(", ")
        )
    }

    /// Instantiates the plugin once and checks that its functions have the
    /// contract's types: the bindings' `load` is what every call does, so a
    /// type it would refuse is refused here, naming the file. Also catches a
    /// component whose instantiation fails (a start that traps).
    fn check_types(&self) -> Result<(), LoadError> {
        let mut store = self.store("(load check)");
        let instance = self.pre.instantiate(&mut store).map_err(|e| {
            let fault = self.fault(e, &store);
            LoadError::Load {
                file: self.file.clone(),
                reason: format!("cannot be instantiated: {fault}"),
            }
        })?;
        let world_error = |name: &str, e: wasmtime::Error| LoadError::WrongWorld {
            file: self.file.clone(),
            reason: format!("its `{name}` function does not have the contract's type: {e:#}"),
        };
        let (validate, route) = match &self.exports {
            Exports::V0_2 { validate, route } => (
                validate
                    .as_ref()
                    .map(|indices| indices.load(&mut store, &instance).map(drop)),
                route
                    .as_ref()
                    .map(|indices| indices.load(&mut store, &instance).map(drop)),
            ),
            Exports::V0_1 { validate, route } => (
                validate
                    .as_ref()
                    .map(|indices| indices.load(&mut store, &instance).map(drop)),
                route
                    .as_ref()
                    .map(|indices| indices.load(&mut store, &instance).map(drop)),
            ),
        };
        if let Some(checked) = validate {
            checked.map_err(|e| world_error("validate", e))?;
        }
        if let Some(checked) = route {
            checked.map_err(|e| world_error("route", e))?;
        }
        Ok(())
    }
}

/// Recognises files that are not components before the compiler does, so the
/// message can say what the file is instead.
fn check_header(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(format!(
            "not a WebAssembly file ({} bytes, no `\\0asm` header); truncated or not a plugin",
            bytes.len()
        ));
    }
    if bytes[4..8] == [1, 0, 0, 0] {
        return Err(
            "is a core WebAssembly module, not a component: build the plugin for \
                    the wasm32-wasip2 target"
                .into(),
        );
    }
    Ok(())
}

/// Why the bindings' `GuestIndices` could not find function `func` of
/// exported interface `interface`, in the words of switchyard's messages.
fn missing_function(component: &Component, interface: &str, func: &str) -> String {
    if component.get_export_index(None, interface).is_none() {
        format!("cannot find export `{interface}`")
    } else {
        format!("exports `{interface}` without its function `{func}`")
    }
}

/// `a`, `b` and `c` quoted for a message.
fn quote_list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
