//! The process-wide plugin runtime: one `Engine`, one `Linker`, one ticker.
//!
//! Every plugin is compiled by the same engine, so compiled code, the
//! instance pool and the epoch counter are shared. The epoch ticker thread
//! advances the engine's epoch every [`TICK`]; a call's deadline is a number
//! of ticks, so a plugin stuck in a loop is interrupted within one tick of
//! its deadline. On the same tick it runs the [`watchdog`], which interrupts
//! a call blocked in the host past its deadline. The ticker is joined when
//! the runtime drops.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::anyhow;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::bindings;
use super::limits::MAX_MEMORY_LIMIT;
use super::sandbox::Sandbox;
use super::watchdog;

/// How often the engine's epoch advances; the resolution of deadlines.
pub const TICK: Duration = Duration::from_millis(1);

/// The epoch ticks a call's store allows for `deadline`: rounded up, plus
/// one for the tick already under way.
pub(crate) fn deadline_ticks(deadline: Duration) -> u64 {
    deadline.as_nanos().div_ceil(TICK.as_nanos()) as u64 + 1
}

/// Bytes of each pooled memory and table that may stay mapped between
/// instances (reset page by page, see `pagemap_scan`).
const KEEP_RESIDENT: usize = 16 << 20;

/// How many plugin instances may be alive at once across the process. Calls
/// beyond this wait for a slot (the daemon bounds its workers below it).
pub const MAX_INSTANCES: u32 = 256;
/// The size past which the compile cache drops its least used entries.
const COMPILE_CACHE_BYTES: u64 = 256 << 20;
/// How often the compile cache is pruned.
const COMPILE_CACHE_CLEANUP: Duration = Duration::from_secs(10 * 60);

/// The engine, the linker and the ticker, shared by every plugin.
pub struct Runtime {
    /// Compiles and runs every plugin; cheap to clone (reference counted).
    pub(crate) engine: Engine,
    /// Offers the sandbox's imports: `switchyard:plugin/host` and WASI.
    pub(crate) linker: Arc<Linker<Sandbox>>,
    /// The ticker's count, which the watchdog reads deadlines in.
    pub(crate) ticks: Arc<watchdog::Ticks>,
    /// Advances the epoch; stopped and joined when the runtime drops.
    _ticker: EpochTicker,
}

impl Runtime {
    /// Builds the engine (component model, pooling allocator, epoch
    /// interruption) and the linker. Compiled plugins are cached on disk
    /// (wasmtime's cache) unless `SWITCHYARD_NO_COMPILE_CACHE` is set.
    pub fn new() -> anyhow::Result<Runtime> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.parallel_compilation(true);
        if std::env::var_os("SWITCHYARD_PERF_MAP").is_some() {
            // For `perf record`: plugin code gets symbols in /tmp/perf-PID.map.
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }

        // valgrind cannot reserve the address space of the full pool (a
        // guarded GiB per memory); `SWITCHYARD_INSTANCE_POOL=4` lets
        // callgrind count a plugin call's instructions.
        let instances = std::env::var("SWITCHYARD_INSTANCE_POOL")
            .ok()
            .and_then(|n| n.parse::<u32>().ok())
            .map_or(MAX_INSTANCES, |n| n.clamp(1, MAX_INSTANCES));
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(instances);
        pool.total_core_instances(instances * 8);
        pool.total_memories(instances * 2);
        pool.total_tables(instances * 4);
        pool.max_memories_per_component(4);
        pool.max_tables_per_component(8);
        pool.max_core_instances_per_component(16);
        pool.max_memory_size(MAX_MEMORY_LIMIT);
        // A fresh instance per job should not pay a page fault for each page
        // it touches, nor an madvise (and its TLB shootdown) when it ends:
        // with PAGEMAP_SCAN (Linux 6.7+) only the pages a job dirtied are
        // reset, with memset, and stay mapped for the next job.
        pool.pagemap_scan(wasmtime::Enabled::Auto);
        pool.linear_memory_keep_resident(KEEP_RESIDENT);
        pool.table_keep_resident(KEEP_RESIDENT);

        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));

        if std::env::var_os("SWITCHYARD_NO_COMPILE_CACHE").is_none() {
            // Pruned well before wasmtime's default 512 MiB: each reload of a
            // changed plugin adds its compiled form.
            let mut cache = wasmtime::CacheConfig::new();
            cache
                .with_files_total_size_soft_limit(COMPILE_CACHE_BYTES)
                .with_cleanup_interval(COMPILE_CACHE_CLEANUP);
            match wasmtime::Cache::new(cache) {
                Ok(cache) => {
                    config.cache(Some(cache));
                }
                Err(e) => tracing::warn!("compiled-plugin cache disabled: {e:#}"),
            }
        }

        let engine = Engine::new(&config)
            .map_err(|e| anyhow!("cannot create the wasmtime engine: {e:#}"))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| anyhow!("cannot add WASI to the plugin linker: {e:#}"))?;
        bound_sleeps(&mut linker)
            .map_err(|e| anyhow!("cannot bound plugin sleeps in the linker: {e:#}"))?;
        bindings::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |sandbox| sandbox)
            .map_err(|e| anyhow!("cannot add switchyard's host interface to the linker: {e:#}"))?;
        // Plugins built against the contract's 0.1.0 import its interfaces
        // by their old names.
        super::legacy::bindings_0_1::Plugin::add_to_linker::<_, HasSelf<_>>(
            &mut linker,
            |sandbox| sandbox,
        )
        .map_err(|e| {
            anyhow!("cannot add switchyard's 0.1.0 host interface to the linker: {e:#}")
        })?;

        watchdog::install()
            .map_err(|e| anyhow!("cannot install the plugin watchdog's signal handler: {e}"))?;
        let ticks = Arc::new(watchdog::Ticks::default());
        let ticker = EpochTicker::start(engine.clone(), ticks.clone());
        Ok(Runtime {
            engine,
            linker: Arc::new(linker),
            ticks,
            _ticker: ticker,
        })
    }

    /// The engine, for callers that compile components themselves.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// A thread that advances an engine's epoch every [`TICK`], and signals the
/// threads whose plugin call is past its deadline ([`watchdog::scan`]).
struct EpochTicker {
    /// Set to ask the thread to stop.
    stop: Arc<AtomicBool>,
    /// The thread; `None` once joined.
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine, ticks: Arc<watchdog::Ticks>) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("switchyard-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    engine.increment_epoch();
                    watchdog::scan(&ticks, ticks.tick());
                }
            })
            .expect("spawning the epoch ticker thread");
        EpochTicker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The thread only sleeps, increments and signals; it cannot
            // panic.
            let _ = thread.join();
        }
    }
}

/// The WASI interface whose sleeps [`bound_sleeps`] replaces.
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// Replaces WASI's `subscribe-duration` and `subscribe-instant` with ones
/// that refuse to sleep past the call's deadline (see [`Sandbox::sleep`]):
/// the epoch deadline stops code that runs, not a host that waits.
fn bound_sleeps(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap(
        "subscribe-duration",
        |mut store: wasmtime::StoreContextMut<'_, Sandbox>, (nanos,): (u64,)| {
            Ok((store.data_mut().sleep(nanos)?,))
        },
    )?;
    clock.func_wrap(
        "subscribe-instant",
        |mut store: wasmtime::StoreContextMut<'_, Sandbox>, (when,): (u64,)| {
            let sandbox = store.data_mut();
            let nanos = when.saturating_sub(sandbox.monotonic_now());
            Ok((sandbox.sleep(nanos)?,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}
