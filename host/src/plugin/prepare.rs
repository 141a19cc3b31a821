//! Running a plugin's `prepare` once, at load, and keeping what it leaves.
//!
//! Every job gets a fresh instance, so work a plugin does before it can look
//! at a job (parsing its forms, reading its limits) would be paid on every
//! job: for slivka-form that was most of its cost. A plugin that exports
//! `switchyard:plugin/prepare` does that work here instead. Wizer instruments
//! the component, `prepare` runs in a sandbox like any call, and the memory
//! and globals it leaves are written into a new component: instantiating
//! that one is as cheap as the original, and every job starts prepared.
//!
//! What cannot be snapshotted is refused: a plugin that returns from
//! `prepare` with a WASI resource open (stdout after a `println!`, a file)
//! would hand its jobs a handle that no longer exists.
//!
//! `prepare` may refuse its config (`err(config-error)`): the load fails
//! with [`LoadError::Refused`], naming the key and the file its value was
//! read from (`PluginSettings::config_sources`).

use std::path::Path;
use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::{Component, Instance, InstancePre, Lift, WasmList};
use wasmtime_wizer::{ComponentInstanceState, Wizer};

use super::Contract;
use super::bindings::ConfigError;
use super::bindings::exports::switchyard::plugin as contract;
use super::error::LoadError;
use super::legacy::{self, bindings_0_1::exports::switchyard::plugin as contract_0_1};
// load runs prepare, and prepare runs it in a `Plugin` of its own, to share
// the one store, limits and fault reports every call has: the two files
// import each other by design.
use super::load::{Exports, Plugin, PluginSettings, Worlds};
use super::runtime::{Runtime, deadline_ticks};
use super::sandbox::{MAX_LOG_LINE, PluginIdentity, Sandbox, cut};

/// How much longer than one job's deadline `prepare` may run: it does once
/// what jobs would otherwise each do, for every service at once.
const PREPARE_DEADLINE_FACTOR: u32 = 10;
/// The largest prepared component a plugin may leave: every load compiles
/// it, and the compile cache keeps it.
pub const MAX_PREPARED_BYTES: usize = 32 << 20;
/// The least time `prepare` gets, whatever the per-job deadline.
const MIN_PREPARE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs `prepare` of the component in `bytes`, built against `contract`,
/// and returns the prepared component's bytes.
pub(crate) fn prepare(
    runtime: &Runtime,
    identity: &Arc<PluginIdentity>,
    file: &Path,
    bytes: &[u8],
    settings: &PluginSettings,
    version: Contract,
) -> Result<Vec<u8>, LoadError> {
    let refused = |reason: String| LoadError::Load {
        file: file.to_owned(),
        reason,
    };
    let wizer = Wizer::new();
    let (context, instrumented) = wizer
        .instrument_component(bytes)
        .map_err(|e| refused(format!("cannot be prepared (wizer): {e:#}")))?;
    let component = Component::new(&runtime.engine, &instrumented)
        .map_err(|e| refused(format!("cannot compile for prepare: {e:#}")))?;
    let pre = runtime
        .linker
        .instantiate_pre(&component)
        .map_err(|e| refused(format!("cannot be linked in the sandbox: {e:#}")))?;
    // A plugin for this one call: its store, limits and fault reports.
    let mut limits = settings.limits;
    limits.deadline = (limits.deadline * PREPARE_DEADLINE_FACTOR).max(MIN_PREPARE_DEADLINE);
    let preparing = Plugin {
        identity: identity.clone(),
        file: file.to_owned(),
        worlds: Worlds {
            validate: false,
            route: false,
        },
        pre,
        exports: Exports::V0_2 {
            validate: None,
            route: None,
        },
        settings: PluginSettings {
            limits,
            ..settings.clone()
        },
        extra_exports: Vec::new(),
        digest: Vec::new(),
        prepared: false,
        ticks: runtime.ticks.clone(),
    };
    let mut store = preparing.store("(prepare)");
    let ran = preparing.watched(&mut store, |store| {
        let instance = preparing.pre.instantiate(&mut *store)?;
        call_prepare(store, &preparing.pre, &instance, version).map(|outcome| (instance, outcome))
    });
    preparing.forward_stdio(&store);
    let (instance, outcome) = ran.map_err(|e| {
        let fault = preparing.fault(e, &store);
        refused(format!("its prepare failed: {fault}"))
    })?;
    match outcome {
        Outcome::Prepared => {}
        Outcome::Refused(error) => {
            // The plugin chose these words, and they are printed and logged:
            // cut as a log line is.
            return Err(LoadError::Refused {
                plugin: identity.name.clone(),
                file: error
                    .key
                    .as_ref()
                    .and_then(|key| settings.config_sources.get(key))
                    .cloned(),
                key: error.key.map(|key| cut(&key, MAX_LOG_LINE).into_owned()),
                message: cut(&error.message, MAX_LOG_LINE).into_owned(),
            });
        }
        Outcome::WrongType(reason) => {
            return Err(LoadError::WrongWorld {
                file: file.to_owned(),
                reason,
            });
        }
    }
    if !store.data().table.is_empty() {
        return Err(refused(
            "its prepare left a WASI resource open (stdout or stderr after a print, a file, \
             a clock subscription); a prepared instance cannot carry it into its jobs: log \
             with switchyard_plugin::log instead of printing, and open nothing in prepare"
                .into(),
        ));
    }
    // Reading the state out calls accessor functions that wizer added; give
    // them a fresh deadline.
    store.set_epoch_deadline(deadline_ticks(limits.deadline));
    let mut state = Snapshotting {
        store: &mut store,
        instance,
        error: None,
    };
    let prepared = futures::executor::block_on(wizer.snapshot_component(&context, &mut state));
    if let Some(error) = state.error {
        return Err(refused(format!(
            "cannot read the state prepare left: {error}"
        )));
    }
    let prepared =
        prepared.map_err(|e| refused(format!("cannot write the prepared component: {e:#}")))?;
    if prepared.len() > MAX_PREPARED_BYTES {
        return Err(refused(format!(
            "its prepare left {} MiB of state, over the {} MiB a prepared plugin may carry",
            prepared.len() >> 20,
            MAX_PREPARED_BYTES >> 20
        )));
    }
    Ok(prepared)
}

/// How a `prepare` that ran to its end ended.
enum Outcome {
    /// It returned `ok`: its memory is the jobs' starting point.
    Prepared,
    /// It returned `err`: it refuses its config.
    Refused(ConfigError),
    /// It is not the contract's function (`func() -> result<_,
    /// config-error>`), so it was not called; why, in words.
    WrongType(String),
}

/// Calls the component's `prepare` of contract `version`, found and
/// type-checked by the bindings.
fn call_prepare(
    store: &mut Store<Sandbox>,
    pre: &InstancePre<Sandbox>,
    instance: &Instance,
    version: Contract,
) -> wasmtime::Result<Outcome> {
    let export = version.prepare_export();
    let missing = || {
        let reason = match pre.component().get_export_index(None, export) {
            None => format!("cannot find export `{export}`"),
            Some(_) => format!("exports `{export}` without its function `prepare`"),
        };
        Ok(Outcome::WrongType(reason))
    };
    // An older contract's `prepare: func()`, most likely.
    let wrong_type = |e: wasmtime::Error| {
        Ok(Outcome::WrongType(format!(
            "its `prepare` function does not have the contract's type \
             (`func() -> result<_, config-error>`; rebuild it against this \
             switchyard-plugin): {e:#}"
        )))
    };
    let answer = match version {
        Contract::V0_2 => {
            let Ok(indices) = contract::prepare::GuestIndices::new(pre) else {
                return missing();
            };
            match indices.load(&mut *store, instance) {
                Ok(guest) => guest.call_prepare(&mut *store)?,
                Err(e) => return wrong_type(e),
            }
        }
        Contract::V0_1 => {
            let Ok(indices) = contract_0_1::prepare::GuestIndices::new(pre) else {
                return missing();
            };
            match indices.load(&mut *store, instance) {
                Ok(guest) => guest
                    .call_prepare(&mut *store)?
                    .map_err(legacy::config_error),
                Err(e) => return wrong_type(e),
            }
        }
    };
    Ok(match answer {
        Ok(()) => Outcome::Prepared,
        Err(error) => Outcome::Refused(error),
    })
}

/// Wizer's view of the prepared instance: its accessor functions, called
/// synchronously. The trait cannot return errors, so the first one is kept
/// and the snapshot is refused after.
struct Snapshotting<'a> {
    store: &'a mut Store<Sandbox>,
    instance: Instance,
    error: Option<String>,
}

impl Snapshotting<'_> {
    /// Calls `func` of exported `interface`, which takes nothing and returns
    /// one `R`; `None` (and the error kept) if that fails.
    fn call<R: Lift + Send + Sync + 'static>(&mut self, interface: &str, func: &str) -> Option<R> {
        let result = (|| {
            let outer = self
                .instance
                .get_export_index(&mut *self.store, None, interface)
                .ok_or_else(|| wasmtime::format_err!("no export `{interface}`"))?;
            let inner = self
                .instance
                .get_export_index(&mut *self.store, Some(&outer), func)
                .ok_or_else(|| wasmtime::format_err!("no `{func}` in `{interface}`"))?;
            let typed = self
                .instance
                .get_typed_func::<(), (R,)>(&mut *self.store, inner)?;
            Ok::<R, wasmtime::Error>(typed.call(&mut *self.store, ())?.0)
        })();
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.error
                    .get_or_insert_with(|| format!("{interface}#{func}: {e:#}"));
                None
            }
        }
    }
}

impl ComponentInstanceState for Snapshotting<'_> {
    async fn call_func_ret_list_u8(
        &mut self,
        instance: &str,
        func: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) {
        match self.call::<WasmList<u8>>(instance, func) {
            Some(list) => contents(list.as_le_slice(&*self.store)),
            None => contents(&[]),
        }
    }

    async fn call_func_ret_s32(&mut self, instance: &str, func: &str) -> i32 {
        self.call(instance, func).unwrap_or_default()
    }

    async fn call_func_ret_s64(&mut self, instance: &str, func: &str) -> i64 {
        self.call(instance, func).unwrap_or_default()
    }

    async fn call_func_ret_f32(&mut self, instance: &str, func: &str) -> u32 {
        self.call::<f32>(instance, func)
            .map(f32::to_bits)
            .unwrap_or_default()
    }

    async fn call_func_ret_f64(&mut self, instance: &str, func: &str) -> u64 {
        self.call::<f64>(instance, func)
            .map(f64::to_bits)
            .unwrap_or_default()
    }
}
