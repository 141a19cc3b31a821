//! What one plugin call's `Store` holds, and the host functions a plugin may
//! import.
//!
//! A `Sandbox` lives as long as its instance: one call (`isolation =
//! "job"`), or the calls of one batch (`"batch"`), re-armed before each
//! (deadline, job tag, log-line count, captured stdio emptied); it is dropped
//! with everything the plugin allocated. It carries the WASI context (no
//! files, network, environment or stdin beyond the plugin's grants), the
//! memory limiter, and the tags (plugin, job) that the plugin's log lines get.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use wasmtime::component::{Resource, ResourceTable};
use wasmtime::{ResourceLimiter, Trap};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{DynPollable, OutputStream, Pollable, StreamError, subscribe};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use super::bindings::Level;
use super::bindings::switchyard::plugin::{host, types};

/// Longest log line a plugin may write; longer ones are cut.
pub const MAX_LOG_LINE: usize = 4096;
/// Most log lines one call may write; the rest are counted and dropped.
pub const MAX_LOG_LINES: u32 = 64;
/// Most table elements one instance may hold, all its tables together.
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// What is fixed about a plugin across calls: its identity and its config.
#[derive(Debug)]
pub struct PluginIdentity {
    /// The plugin's name, from its file name (`slivka-form`).
    pub name: String,
    /// `name@hash`: the name and the first 8 hex digits of the SHA-256 of
    /// the component's bytes, so two builds never share a version.
    pub version: String,
    /// The plugin's table from the config, values as strings (non-string
    /// values as JSON text). What `config-get` reads.
    pub config: BTreeMap<String, String>,
    /// How fast it may log, across all its calls.
    pub log: super::log::LogBudget,
}

/// The state of one instance: one call, or one batch's calls.
pub struct Sandbox {
    /// WASI as the plugin sees it: stdio captured, nothing else granted.
    pub(crate) wasi: WasiCtx,
    /// WASI's resource handles.
    pub(crate) table: ResourceTable,
    /// Enforces the memory limit and remembers whether it was hit.
    pub(crate) limiter: MemoryLimiter,
    /// Who is running.
    pub(crate) plugin: Arc<PluginIdentity>,
    /// The id of the job of the call under way, for log lines.
    pub(crate) job_id: String,
    /// Log lines written so far in this call.
    pub(crate) log_lines: u32,
    /// The plugin's captured stdout, copied to the log after each call and
    /// emptied before the next.
    pub(crate) stdout: Captured,
    /// The plugin's captured stderr; also the source of panic messages.
    pub(crate) stderr: Captured,
    /// When the deadline of the call under way passes, in host time.
    pub(crate) deadline: Instant,
    /// What the plugin's monotonic clock counts from; `None` when it has no
    /// clock grant and the clock stands still at 0.
    pub(crate) monotonic_zero: Option<Instant>,
    /// Set when the call ran past its deadline in the host: it asked to
    /// sleep past it, or the watchdog interrupted a host call blocked past
    /// it. The call ends as a deadline fault, whatever the plugin answered.
    pub(crate) overran: bool,
}

impl Sandbox {
    /// Readies the sandbox for the next call of its instance, for job
    /// `job_id`, with `deadline`: what the call before left (log-line count,
    /// captured stdio, the overrun mark, a refused memory growth) is
    /// cleared, so the call's lines and its faults are its own.
    pub(crate) fn rearm(&mut self, job_id: &str, deadline: Instant) {
        job_id.clone_into(&mut self.job_id);
        self.log_lines = 0;
        self.stdout.clear();
        self.stderr.clear();
        self.deadline = deadline;
        self.overran = false;
        // A growth refused in an earlier call that the plugin survived (it
        // answered) is not this call's fault; what the memories hold stays
        // counted.
        self.limiter.refused = None;
    }

    /// The plugin's monotonic clock, in nanoseconds.
    pub(crate) fn monotonic_now(&self) -> u64 {
        MonotonicClock(self.monotonic_zero).now()
    }

    /// A pollable ready `nanos` from now: what `wasi:clocks/monotonic-clock`'s
    /// `subscribe-*` return. A sleep waits in the host, where the epoch
    /// deadline cannot interrupt it, so one that would end past the deadline
    /// ends the call at once, as a deadline error.
    pub(crate) fn sleep(&mut self, nanos: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let wake = Instant::now().checked_add(Duration::from_nanos(nanos));
        match wake {
            Some(wake) if wake <= self.deadline => {
                let nap = self.table.push(Nap(tokio::time::Instant::from_std(wake)))?;
                subscribe(&mut self.table, nap)
            }
            _ => {
                self.overran = true;
                Err(Trap::Interrupt.into())
            }
        }
    }
}

/// A plugin's stdout or stderr, captured up to a capacity: what a call
/// printed, read after the call and emptied before the next one, so an
/// instance that serves a batch of jobs tags each job's lines with that
/// job and never fills up across the batch. Clones share the buffer.
#[derive(Clone)]
pub struct Captured {
    /// Bytes one call may print; writes past it fail (the plugin's stdout
    /// closes for the rest of the call).
    capacity: usize,
    /// What the call under way printed so far.
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl Captured {
    /// An empty capture of at most `capacity` bytes per call.
    pub fn new(capacity: usize) -> Captured {
        Captured {
            capacity,
            buffer: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// What the call under way has printed so far.
    pub fn contents(&self) -> Vec<u8> {
        self.lock().clone()
    }

    /// Forgets what was printed: the next call starts empty.
    fn clear(&mut self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        // Nothing panics while holding it: copies and length checks only.
        self.buffer
            .lock()
            .expect("a capture's lock is never poisoned")
    }

    /// Room left in the capture.
    fn room(&self) -> usize {
        self.capacity.saturating_sub(self.lock().len())
    }
}

impl IsTerminal for Captured {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Captured {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl OutputStream for Captured {
    fn write(&mut self, bytes: bytes::Bytes) -> Result<(), StreamError> {
        let mut buffer = self.lock();
        if bytes.len() > self.capacity.saturating_sub(buffer.len()) {
            return Err(StreamError::Trap(wasmtime::format_err!(
                "wrote past the {} bytes of output a call may print",
                self.capacity
            )));
        }
        buffer.extend_from_slice(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        match self.room() {
            0 => Err(StreamError::Closed),
            room => Ok(room),
        }
    }
}

#[async_trait::async_trait]
impl Pollable for Captured {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for Captured {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let mut buffer = self.lock();
        let take = buf.len().min(self.capacity.saturating_sub(buffer.len()));
        buffer.extend_from_slice(&buf[..take]);
        Poll::Ready(Ok(take))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A sleep within the deadline.
struct Nap(tokio::time::Instant);

#[async_trait::async_trait]
impl Pollable for Nap {
    async fn ready(&mut self) {
        tokio::time::sleep_until(self.0).await;
    }
}

/// The wall clock of a plugin without the clock grant: always the Unix epoch.
pub(crate) struct EpochWallClock;

impl HostWallClock for EpochWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// The monotonic clock of a plugin: from `Some(zero)` on, or standing still
/// at 0 without the clock grant. The same reading as
/// [`Sandbox::monotonic_now`], which `subscribe-instant` uses.
pub(crate) struct MonotonicClock(pub(crate) Option<Instant>);

impl HostMonotonicClock for MonotonicClock {
    fn resolution(&self) -> u64 {
        match self.0 {
            Some(_) => 1,
            None => 1_000_000_000,
        }
    }

    fn now(&self) -> u64 {
        self.0.map_or(0, |zero| zero.elapsed().as_nanos() as u64)
    }
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Holds one instance to the plugin's memory limit, counting all its
/// linear memories together, and to [`MAX_TABLE_ELEMENTS`], counting all its
/// tables together; records the first refusal, so the trap that usually
/// follows is reported as a memory-limit error.
///
/// A component may hold a memory per core instance (the pool allows four),
/// so a limit per memory would let it hold four times the limit. wasmtime
/// asks the limiter before it creates each memory or table (growing it from
/// 0 to its minimum) and before each growth, so the sums count everything
/// the instance holds. A growth granted here that wasmtime then fails to make
/// (past a memory's own maximum) stays counted: the sums err high, never low.
pub struct MemoryLimiter {
    /// The plugin's memory limit in bytes: what all the instance's memories
    /// may hold together.
    pub limit: usize,
    /// Bytes the instance's memories hold together; at most `limit`.
    pub memory: usize,
    /// Elements the instance's tables hold together; at most
    /// [`MAX_TABLE_ELEMENTS`].
    pub table_elements: usize,
    /// What the memories would have held together after the first refused
    /// growth, if one was refused.
    pub refused: Option<usize>,
}

impl MemoryLimiter {
    /// A limiter for a fresh store: nothing held yet.
    pub fn new(limit: usize) -> MemoryLimiter {
        MemoryLimiter {
            limit,
            memory: 0,
            table_elements: 0,
            refused: None,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // `current` is this memory's share of `self.memory`, counted when it
        // was created or last grew.
        let total = self.memory.saturating_sub(current).saturating_add(desired);
        if total > self.limit {
            self.refused.get_or_insert(total);
            return Ok(false);
        }
        self.memory = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self
            .table_elements
            .saturating_sub(current)
            .saturating_add(desired);
        if total > MAX_TABLE_ELEMENTS {
            return Ok(false);
        }
        self.table_elements = total;
        Ok(true)
    }
}

impl types::Host for Sandbox {}

impl host::Host for Sandbox {
    fn log(&mut self, level: Level, message: String) {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES {
            if self.log_lines == MAX_LOG_LINES + 1 {
                tracing::warn!(
                    plugin = %self.plugin.version,
                    job = %self.job_id,
                    "plugin wrote more than {MAX_LOG_LINES} log lines for one job; the rest are dropped"
                );
            }
            return;
        }
        let message = cut(&message, MAX_LOG_LINE);
        if !self.plugin.log.admit(message.len()) {
            return;
        }
        let plugin = &self.plugin.version;
        let job = &self.job_id;
        match level {
            Level::Trace => tracing::trace!(plugin = %plugin, job = %job, "{message}"),
            Level::Debug => tracing::debug!(plugin = %plugin, job = %job, "{message}"),
            Level::Info => tracing::info!(plugin = %plugin, job = %job, "{message}"),
            Level::Warn => tracing::warn!(plugin = %plugin, job = %job, "{message}"),
            Level::Error => tracing::error!(plugin = %plugin, job = %job, "{message}"),
        }
    }

    fn config_get(&mut self, key: String) -> Option<String> {
        self.plugin.config.get(&key).cloned()
    }

    fn config_keys(&mut self) -> Vec<String> {
        self.plugin.config.keys().cloned().collect()
    }
}

/// `text` cut to at most `max` bytes at a character boundary, marked when cut.
pub fn cut(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes cut)", &text[..end], text.len() - end).into()
}
