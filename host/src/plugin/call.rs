//! One call into a plugin: a fresh `Store` (or the batch's instance), the
//! deadline armed, the call made, the answer checked.
//!
//! With `isolation = "job"` nothing survives from one call to the next: each
//! call instantiates the prepared component in a new store (the pooling
//! allocator makes that a matter of microseconds), so a plugin cannot carry
//! state between jobs. With `"batch"` the caller holds a [`Held`] slot (see
//! [`super::batch::Instances`]): the first call fills it, the next calls of
//! the batch reuse it, each re-armed with its own deadline and job tag, and a
//! call that fails in any way empties it, so the next job starts fresh.
//! The function is found through the bindings' `GuestIndices`, built at
//! load; `load` gives the instance's typed `Guest` to call. Every failure
//! leaves here as a [`Fault`].

use std::collections::HashSet;

use wasmtime::component::Instance;
use wasmtime::{Store, Trap};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use super::bindings::{Decision, FieldError, Job};
use super::error::Fault;
use super::legacy;
use super::load::{Exports, Plugin};
use super::output::{total_decision_bytes, written_errors_len};
use super::runtime::deadline_ticks;
use super::sandbox::{Captured, EpochWallClock, MemoryLimiter, MonotonicClock, Sandbox, cut};
use super::watchdog;

/// A validator's answer: valid, or every error it found.
pub type Validation = Result<(), Vec<FieldError>>;

/// An instance kept for the next call of its batch, with its store.
pub(crate) struct Live {
    /// The store the instance lives in, re-armed before each call.
    store: Store<Sandbox>,
    /// The instance; `None` until its first call instantiates it (under that
    /// call's deadline).
    instance: Option<Instance>,
}

/// Where a batch keeps a plugin's instance between calls: `None` before the
/// first call and after a fault.
pub(crate) type Held = Option<Live>;

/// Most extra fields a router may put on one target: with the job's own
/// fields (at most [`crate::pipeline::job::MAX_FIELDS`]) an outcome entry
/// stays far inside what the settle script writes in one step.
pub const MAX_EXTRA_FIELDS: usize = 256;

/// The smallest stdio buffer, so a plugin's first `println!` never fails.
const MIN_STDIO: usize = 1024;

/// Longest name from a plugin's answer that a bad-output reason quotes.
const MAX_QUOTED: usize = 256;

/// Longest trap message (a panic's, or wasmtime's) a trap fault carries.
const MAX_TRAP_MESSAGE: usize = 1024;

impl Plugin {
    /// Runs `validate` on `job`. `job_id` tags the plugin's log lines.
    ///
    /// A plugin that does not export `validate` answers
    /// [`Fault::NotExported`]; see [`Plugin::require_validator`].
    pub fn validate(&self, job: &Job, job_id: &str) -> Result<Validation, Fault> {
        self.validate_in(job, job_id, None)
    }

    /// [`Plugin::validate`] in the instance `held` keeps (a batch's), or in
    /// a fresh one without it.
    pub(crate) fn validate_in(
        &self,
        job: &Job,
        job_id: &str,
        mut held: Option<&mut Held>,
    ) -> Result<Validation, Fault> {
        let answer = self.counted(|| {
            if !self.worlds.validate {
                let export = self.contract().validate_export();
                return Err(self.not_exported("validator", export));
            }
            let answer = self.call(
                "validate",
                job_id,
                held.as_deref_mut(),
                |store, instance| match &self.exports {
                    Exports::V0_2 {
                        validate: Some(indices),
                        ..
                    } => indices
                        .load(&mut *store, instance)?
                        .call_validate(&mut *store, job),
                    Exports::V0_1 {
                        validate: Some(indices),
                        ..
                    } => Ok(indices
                        .load(&mut *store, instance)?
                        .call_validate(&mut *store, &legacy::job(job))?
                        .map_err(|errors| errors.into_iter().map(legacy::field_error).collect())),
                    _ => unreachable!("`validate` is found at load when the plugin exports it"),
                },
            )?;
            if let Err(errors) = &answer {
                self.check_output_size("its errors' JSON", written_errors_len(errors))?;
            }
            Ok(answer)
        });
        forget_on_fault(held, answer)
    }

    /// Runs `route` on `job` and checks the decision: at least one target,
    /// no target twice, every target in `allowed` (when given), no extra
    /// field that would replace one of the job's own or switchyard's.
    ///
    /// A plugin that does not export `route` answers [`Fault::NotExported`];
    /// see [`Plugin::require_router`].
    pub fn route(
        &self,
        job: &Job,
        job_id: &str,
        allowed: Option<&[String]>,
    ) -> Result<Decision, Fault> {
        self.route_in(job, job_id, allowed, None)
    }

    /// [`Plugin::route`] in the instance `held` keeps (a batch's), or in a
    /// fresh one without it.
    pub(crate) fn route_in(
        &self,
        job: &Job,
        job_id: &str,
        allowed: Option<&[String]>,
        mut held: Option<&mut Held>,
    ) -> Result<Decision, Fault> {
        let decision = self.counted(|| {
            if !self.worlds.route {
                let export = self.contract().route_export();
                return Err(self.not_exported("router", export));
            }
            let decision =
                self.call(
                    "route",
                    job_id,
                    held.as_deref_mut(),
                    |store, instance| match &self.exports {
                        Exports::V0_2 {
                            route: Some(indices),
                            ..
                        } => indices
                            .load(&mut *store, instance)?
                            .call_route(&mut *store, job),
                        Exports::V0_1 {
                            route: Some(indices),
                            ..
                        } => Ok(legacy::decision(
                            indices
                                .load(&mut *store, instance)?
                                .call_route(&mut *store, &legacy::job(job))?,
                        )),
                        _ => unreachable!("`route` is found at load when the plugin exports it"),
                    },
                )?;
            self.check_output_size("its answer", total_decision_bytes(&decision))?;
            self.check_decision(&decision, job, allowed)?;
            Ok(decision)
        });
        forget_on_fault(held, decision)
    }

    /// `answer`, its fault counted in `switchyard_plugin_faults_total` by
    /// this plugin's name and the fault's kind.
    fn counted<R>(&self, answer: impl FnOnce() -> Result<R, Fault>) -> Result<R, Fault> {
        answer().inspect_err(|fault| {
            crate::metrics::metrics().plugin_fault(&self.identity.name, fault.kind())
        })
    }

    /// A fresh store for one call: captured stdio, the plugin's grants and
    /// nothing else, the memory limiter, the deadline armed.
    pub(crate) fn store(&self, job_id: &str) -> Store<Sandbox> {
        let limits = self.settings.limits;
        let stdout = Captured::new(limits.stdio.max(MIN_STDIO));
        let stderr = Captured::new(limits.stdio.max(MIN_STDIO));
        let mut wasi = WasiCtxBuilder::new();
        // Filesystem calls run on the calling thread, not on a blocking pool,
        // so the watchdog's signal reaches one blocked past the deadline.
        wasi.stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_blocking_current_thread(true)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        let grants = &self.settings.grants;
        let monotonic_zero = grants.clocks.then(std::time::Instant::now);
        wasi.monotonic_clock(MonotonicClock(monotonic_zero));
        if !grants.clocks {
            wasi.wall_clock(EpochWallClock);
        }
        for (key, value) in &self.settings.grants.env {
            wasi.env(key, value);
        }
        for (host, guest) in &self.settings.grants.read_dirs {
            if let Err(e) = wasi.preopened_dir(host, guest, FsPerms::ReadOnly) {
                tracing::warn!(
                    plugin = %self.identity.version,
                    "cannot open granted directory {}: {e:#}",
                    host.display()
                );
            }
        }
        let sandbox = Sandbox {
            wasi: wasi.build(),
            table: Default::default(),
            limiter: MemoryLimiter::new(limits.memory),
            plugin: self.identity.clone(),
            job_id: job_id.to_owned(),
            log_lines: 0,
            stdout,
            stderr,
            deadline: std::time::Instant::now() + limits.deadline,
            monotonic_zero,
            overran: false,
        };
        let mut store = Store::new(self.pre.engine(), sandbox);
        store.limiter(|sandbox| &mut sandbox.limiter);
        store.set_epoch_deadline(deadline_ticks(limits.deadline));
        store.epoch_deadline_trap();
        store
    }

    /// Instantiates the plugin in a fresh store and runs `body` on it; or,
    /// given `held`, runs it on the instance `held` keeps (re-armed for this
    /// call: deadline, job tag, stdio), instantiating one first when it is
    /// empty, and keeps the instance there when the call succeeds.
    fn call<R>(
        &self,
        call: &str,
        job_id: &str,
        held: Option<&mut Held>,
        body: impl FnOnce(&mut Store<Sandbox>, &Instance) -> wasmtime::Result<R>,
    ) -> Result<R, Fault> {
        let started = std::time::Instant::now();
        let (mut live, slot) = match held {
            None => (self.fresh(job_id), None),
            Some(slot) => {
                let live = match slot.take() {
                    Some(live) => self.rearmed(live, job_id),
                    None => self.fresh(job_id),
                };
                (live, Some(slot))
            }
        };
        let Live { store, instance } = &mut live;
        let result = self.watched(store, |store| {
            let instance = match instance {
                Some(instance) => *instance,
                None => *instance.insert(self.pre.instantiate(&mut *store)?),
            };
            body(store, &instance)
        });
        crate::metrics::metrics().plugin_call(&self.identity.name, call, started.elapsed());
        self.forward_stdio(&live.store);
        match result {
            Ok(answer) => {
                if let Some(slot) = slot {
                    *slot = Some(live);
                }
                Ok(answer)
            }
            Err(e) => Err(self.fault(e, &live.store)),
        }
    }

    /// A fresh store for a call on `job_id`, its instance not made yet.
    fn fresh(&self, job_id: &str) -> Live {
        Live {
            store: self.store(job_id),
            instance: None,
        }
    }

    /// `live`, kept from the batch's last call, re-armed for a call on
    /// `job_id`: a deadline of its own, in the host and in epochs, and its
    /// log lines and stdio counted afresh (see [`Sandbox::rearm`]).
    fn rearmed(&self, mut live: Live, job_id: &str) -> Live {
        let deadline = self.settings.limits.deadline;
        live.store
            .data_mut()
            .rearm(job_id, std::time::Instant::now() + deadline);
        live.store.set_epoch_deadline(deadline_ticks(deadline));
        live
    }

    /// Classifies a failed call: memory limit, deadline (an epoch trap, or
    /// overran in the host), or trap (with the plugin's panic message when
    /// it printed one).
    pub(crate) fn fault(&self, error: wasmtime::Error, store: &Store<Sandbox>) -> Fault {
        let plugin = self.identity.version.clone();
        let limits = self.settings.limits;
        if let Some(requested) = store.data().limiter.refused {
            return Fault::Memory {
                plugin,
                limit: limits.memory,
                requested,
            };
        }
        if store.data().overran || matches!(error.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
            return Fault::Deadline {
                plugin,
                limit_ms: limits.deadline.as_millis() as u64,
            };
        }
        let stderr = store.data().stderr.contents();
        let message =
            panic_message(&String::from_utf8_lossy(&stderr)).unwrap_or_else(|| {
                match error.downcast_ref::<Trap>() {
                    Some(trap) => format!("{trap}"),
                    None => format!("{error:#}"),
                }
            });
        // Cut: the plugin chose the panic's words and its function names,
        // and the message is written to the dead letter and status record.
        let message = cut(&message, MAX_TRAP_MESSAGE).into_owned();
        Fault::Trap { plugin, message }
    }

    /// Runs `run` on `store` under the [`watchdog`]: a host call still
    /// blocked when the epoch deadline is due is interrupted, and a run that
    /// overran its deadline fails as an epoch trap does, so
    /// [`Plugin::fault`] reports a deadline, even if the plugin answered
    /// (after a host call's `EINTR`).
    pub(crate) fn watched<R>(
        &self,
        store: &mut Store<Sandbox>,
        run: impl FnOnce(&mut Store<Sandbox>) -> wasmtime::Result<R>,
    ) -> wasmtime::Result<R> {
        let ticks = deadline_ticks(self.settings.limits.deadline);
        let watch = watchdog::watch(&self.ticks, ticks, store.data().deadline);
        let result = run(store);
        if watch.end() {
            store.data_mut().overran = true;
        }
        match result {
            Ok(_) if store.data().overran => Err(Trap::Interrupt.into()),
            result => result,
        }
    }

    /// Copies what the plugin printed to the log, tagged with plugin and job.
    pub(crate) fn forward_stdio(&self, store: &Store<Sandbox>) {
        let sandbox = store.data();
        for (stream, pipe) in [("stdout", &sandbox.stdout), ("stderr", &sandbox.stderr)] {
            let bytes = pipe.contents();
            if bytes.is_empty() {
                continue;
            }
            let text = String::from_utf8_lossy(&bytes);
            let text = cut(text.trim_end(), super::sandbox::MAX_LOG_LINE);
            if !self.identity.log.admit(text.len()) {
                continue;
            }
            tracing::info!(
                plugin = %self.identity.version,
                job = %sandbox.job_id,
                stream,
                "{text}"
            );
        }
    }

    /// Refuses an answer that would make switchyard write more than the
    /// output limit: `size` is `what` as written (see [`super::output`]).
    fn check_output_size(&self, what: &str, size: usize) -> Result<(), Fault> {
        let limit = self.settings.limits.output;
        if size > limit {
            return Err(self.bad_output(format!(
                "{what} takes {size} bytes as written, over the output limit of {limit}"
            )));
        }
        Ok(())
    }

    fn check_decision(
        &self,
        decision: &Decision,
        job: &Job,
        allowed: Option<&[String]>,
    ) -> Result<(), Fault> {
        let Decision::Dispatch(targets) = decision else {
            return Ok(());
        };
        if targets.is_empty() {
            return Err(self.bad_output("it dispatched the job to no target".into()));
        }
        let mut seen = HashSet::new();
        for target in targets {
            // A reason quotes what the plugin named, cut: it is written to
            // the dead letter and the status record.
            let stream = cut(&target.stream, MAX_QUOTED);
            if target.stream.is_empty() {
                return Err(self.bad_output("it named a target with an empty stream name".into()));
            }
            if let Some(allowed) = allowed
                && !allowed.contains(&target.stream)
            {
                return Err(self.bad_output(format!(
                    "target `{stream}` is not one of the route's allowed targets ({})",
                    allowed.join(", ")
                )));
            }
            if !seen.insert(target.stream.as_str()) {
                return Err(self.bad_output(format!("it named target `{stream}` twice")));
            }
            if target.extra_fields.len() > MAX_EXTRA_FIELDS {
                return Err(self.bad_output(format!(
                    "it put {} extra fields on target `{stream}`, more than {MAX_EXTRA_FIELDS}",
                    target.extra_fields.len(),
                )));
            }
            let mut names = HashSet::new();
            for (name, _) in &target.extra_fields {
                let quoted = cut(name, MAX_QUOTED);
                if !names.insert(name.to_ascii_lowercase()) {
                    return Err(self.bad_output(format!(
                        "extra field `{quoted}` for target `{stream}` is named twice"
                    )));
                }
                if name.is_empty() || name.to_ascii_lowercase().starts_with("switchyard-") {
                    return Err(self.bad_output(format!(
                        "extra field `{quoted}` for target `{stream}` is empty or reserved \
                         (switchyard-*)"
                    )));
                }
                // `job-id` names the status record: a router may not give a
                // job one it was not sent with.
                if name == "payload"
                    || name == "job-id"
                    || job.fields.iter().any(|(field, _)| field == name)
                {
                    return Err(self.bad_output(format!(
                        "extra field `{quoted}` for target `{stream}` would replace the job's \
                         own field"
                    )));
                }
            }
        }
        Ok(())
    }

    fn bad_output(&self, reason: String) -> Fault {
        Fault::BadOutput {
            plugin: self.identity.version.clone(),
            reason,
        }
    }
}

/// `answer`, after emptying `held` if it is a fault: an instance that
/// trapped, ran out of time or memory, or answered badly is never called
/// again; the next job of the batch gets a fresh one.
fn forget_on_fault<R>(held: Option<&mut Held>, answer: Result<R, Fault>) -> Result<R, Fault> {
    if answer.is_err()
        && let Some(held) = held
    {
        *held = None;
    }
    answer
}

/// The message of a Rust panic, from what the standard library printed to
/// stderr: the lines after `panicked at FILE:LINE:COL:` up to the `note:`.
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.find("panicked at ")?;
    let rest = &stderr[start..];
    let (location, after) = rest.split_once('\n')?;
    let location = location
        .trim_start_matches("panicked at ")
        .trim_end_matches(':');
    let message: Vec<&str> = after
        .lines()
        .take_while(|line| !line.starts_with("note: "))
        .collect();
    let message = message.join("\n");
    let message = message.trim();
    Some(format!("panicked at {location}: {message}"))
}

#[cfg(test)]
mod tests {
    use super::panic_message;

    #[test]
    fn panic_message_is_read_from_rust_stderr() {
        let stderr = "\nthread '<unnamed>' panicked at src/lib.rs:12:5:\nfixture panic: boom\n\
                      note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("panicked at src/lib.rs:12:5: fixture panic: boom")
        );
        assert_eq!(panic_message("just some output"), None);
    }
}
