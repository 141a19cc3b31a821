//! Hot reload: when the config, a plugin or a file the config reads changes,
//! or a `[slivka]` service file is added, changed or removed (or on SIGHUP),
//! build a complete new snapshot off the hot path, check it, and swap it in
//! one step.
//!
//! Changes are watched with `notify` and its debouncer, so the burst of
//! events from an editor's save, a `cp` in several writes or a
//! write-then-rename ends in one reload of the final content. A file caught
//! half-written cannot load (a truncated component does not validate; a
//! truncated config does not parse): that reload fails, the last good
//! snapshot stays, and the next event, when the write completes, loads it.
//! Unchanged plugins are reused, not recompiled.
//!
//! `[redis]`, `[consumer]` and `[status]` are read at start only; a reload
//! that changes them says so and keeps the running values.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::config::slivka::is_service_file;
use crate::config::{ConsumerSettings, Settings, StatusSettings};
use crate::daemon::shutdown::Shutdown;
use crate::daemon::snapshot::SnapshotCell;
use crate::pipeline::snapshot::Snapshot;
use crate::plugin::Runtime;

/// How long the files must be quiet before a reload starts.
pub const QUIET: Duration = Duration::from_millis(150);

/// The outcome of the latest reload, for operators.
#[derive(Debug, Clone, Default)]
pub struct ReloadReport {
    /// Reloads that swapped in a new snapshot.
    pub ok: u64,
    /// Reloads that failed and kept the last good snapshot.
    pub failed: u64,
    /// The error of the latest reload, if it failed.
    pub last_error: Option<String>,
    /// When the latest reload finished.
    pub at: Option<SystemTime>,
}

/// What a reload needs: where the config is, how it was overridden, and
/// what to swap.
pub struct Reloader {
    /// The config file.
    pub config: PathBuf,
    /// `--redis-url` / `SWITCHYARD_REDIS_URL`, reapplied at each reload.
    pub url: Option<String>,
    /// `--consumer` / `SWITCHYARD_CONSUMER`, reapplied at each reload.
    pub consumer: Option<String>,
    /// The settings the daemon started with (Redis, consumer, status).
    pub running: Arc<Settings>,
    /// The plugin runtime new snapshots are built on.
    pub runtime: Arc<Runtime>,
    /// The snapshot new batches take.
    pub snapshot: SnapshotCell,
    /// The outcome of the latest reload.
    pub report: Arc<Mutex<ReloadReport>>,
}

impl Reloader {
    /// Watches the config, the plugin files and the config's files, and
    /// reloads on each change and on SIGHUP, until shutdown.
    pub async fn watch(self, mut shutdown: Shutdown) {
        let (tx, mut changes) = mpsc::unbounded_channel::<Vec<PathBuf>>();
        let mut debouncer = match new_debouncer(QUIET, None, move |result: DebounceEventResult| {
            match result {
                Ok(events) => {
                    // Reading a file is no change (and the reload itself
                    // reads them): only creations, writes, renames and
                    // removals count.
                    let paths: Vec<PathBuf> = events
                        .into_iter()
                        .filter(|e| {
                            !matches!(e.event.kind, EventKind::Access(_) | EventKind::Other)
                        })
                        .flat_map(|e| e.event.paths)
                        .collect();
                    if !paths.is_empty() {
                        // Refused only once the reloader has stopped.
                        let _ = tx.send(paths);
                    }
                }
                Err(errors) => {
                    for e in errors {
                        tracing::warn!("file watcher: {e}");
                    }
                }
            }
        }) {
            Ok(debouncer) => debouncer,
            Err(e) => {
                tracing::error!("cannot watch files for hot reload ({e}); SIGHUP still reloads");
                return self.on_hangup_only(shutdown).await;
            }
        };
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(hangup) => Some(hangup),
            Err(e) => {
                tracing::warn!("cannot listen for SIGHUP: {e}");
                None
            }
        };
        let mut inputs = self.inputs(&self.running);
        let mut watched = BTreeSet::new();
        watch_dirs(&mut debouncer, &inputs.dirs(), &mut watched);

        loop {
            let reason = tokio::select! {
                _ = shutdown.requested() => return,
                Some(()) = async {
                    match hangup.as_mut() {
                        Some(h) => h.recv().await,
                        None => std::future::pending().await,
                    }
                } => "SIGHUP".to_owned(),
                Some(paths) = changes.recv() => {
                    let relevant: Vec<&PathBuf> = paths.iter().filter(|p| inputs.concerns(p)).collect();
                    if relevant.is_empty() {
                        continue;
                    }
                    format!("{} changed", relevant[0].display())
                }
            };
            // Events that arrived while deciding belong to this reload.
            while changes.try_recv().is_ok() {}
            if let Some(settings) = self.reload(&reason).await {
                inputs = self.inputs(&settings);
                watch_dirs(&mut debouncer, &inputs.dirs(), &mut watched);
            }
        }
    }

    async fn on_hangup_only(self, mut shutdown: Shutdown) {
        let Ok(mut hangup) = signal(SignalKind::hangup()) else {
            return;
        };
        loop {
            tokio::select! {
                _ = shutdown.requested() => return,
                _ = hangup.recv() => { self.reload("SIGHUP").await; }
            }
        }
    }

    /// Builds and checks a new snapshot and swaps it in; on any error keeps
    /// the current one. Returns the new settings when it swapped.
    pub async fn reload(&self, reason: &str) -> Option<Settings> {
        let config = self.config.clone();
        let url = self.url.clone();
        let consumer = self.consumer.clone();
        let runtime = self.runtime.clone();
        let previous = self.snapshot.current();
        let started = std::time::Instant::now();
        let running = self.running.clone();
        let built = tokio::task::spawn_blocking(move || {
            let mut settings = Settings::load(&config, url, consumer)?;
            // `run --null-pipeline` holds for the daemon's life, reloads too.
            settings.consumer.null_pipeline = running.consumer.null_pipeline;
            // The running daemon's Redis decides (a change of [redis] takes
            // effect at restart): on a cluster the new routes' keys must
            // share slots even if the new file no longer says cluster.
            if running.cluster() && !settings.cluster() {
                crate::store::layout::check(&settings.routes, &running.status.prefix)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", config.display()))?;
            }
            let snapshot = Snapshot::build(&runtime, &settings, Some(&previous))?;
            anyhow::Ok((settings, snapshot))
        })
        .await;
        let mut report = self.report.lock().expect("report lock is never poisoned");
        report.at = Some(SystemTime::now());
        match built {
            Ok(Ok((settings, snapshot))) => {
                self.warn_restart_only(&settings);
                let versions: Vec<String> =
                    snapshot.versions().into_iter().map(str::to_owned).collect();
                self.snapshot.swap(snapshot);
                report.ok += 1;
                crate::metrics::metrics().reload(true);
                report.last_error = None;
                tracing::info!(
                    reason,
                    plugins = ?versions,
                    took_ms = started.elapsed().as_millis() as u64,
                    "reloaded: new jobs use the new snapshot"
                );
                Some(settings)
            }
            Ok(Err(e)) => {
                let message = format!("{e:#}");
                tracing::error!(
                    reason,
                    "reload failed, still running the last good snapshot: {message}"
                );
                report.failed += 1;
                report.last_error = Some(message);
                crate::metrics::metrics().reload(false);
                None
            }
            Err(e) => {
                tracing::error!(reason, "reload failed: {e}");
                report.failed += 1;
                report.last_error = Some(e.to_string());
                crate::metrics::metrics().reload(false);
                None
            }
        }
    }

    /// Every file a snapshot is built from: the config, each plugin, each
    /// config file a plugin reads; and the `[slivka]` services directory.
    fn inputs(&self, settings: &Settings) -> Inputs {
        let mut files = BTreeSet::new();
        files.insert(absolute(&self.config));
        for plugin in settings.plugins.values() {
            files.insert(absolute(&plugin.file));
            files.extend(plugin.config_files.iter().map(|f| absolute(f)));
        }
        Inputs {
            files,
            service_dirs: settings
                .slivka_services
                .iter()
                .map(|d| absolute(d))
                .collect(),
        }
    }

    fn warn_restart_only(&self, new: &Settings) {
        let old = &self.running;
        // Whole values, so a field added to one of these is compared too.
        // `null_pipeline` is a flag of `run`, not a key of the file, and
        // `tagged` follows `[redis] cluster`: the new values take the running
        // ones, so neither is reported as a change of its table.
        let consumer = ConsumerSettings {
            null_pipeline: old.consumer.null_pipeline,
            ..new.consumer.clone()
        };
        let status = StatusSettings {
            tagged: old.status.tagged,
            ..new.status.clone()
        };
        let mut changed = Vec::new();
        if old.redis != new.redis {
            changed.push("[redis]");
        }
        if old.consumer != consumer {
            changed.push("[consumer]");
        }
        if old.status != status {
            changed.push("[status]");
        }
        if !changed.is_empty() {
            tracing::warn!(
                "{}: changes to {} take effect at the next restart; routes and plugins were reloaded",
                self.config.display(),
                changed.join(", ")
            );
        }
    }
}

/// What a snapshot is built from, as absolute paths: a change to any of it
/// reloads.
struct Inputs {
    /// The config, the plugins and the files their config values come from.
    files: BTreeSet<PathBuf>,
    /// `[slivka] services` directories: a service file in one appearing,
    /// changing or going away is a change, whether the snapshot read it or
    /// not.
    service_dirs: BTreeSet<PathBuf>,
}

impl Inputs {
    /// Whether a change to `path` can change the snapshot.
    fn concerns(&self, path: &Path) -> bool {
        self.files.contains(path)
            || self
                .service_dirs
                .iter()
                .any(|dir| is_service_file(dir, path))
    }

    /// The directories to watch: each file's and each services directory
    /// (directories, not files: editors and deploy tools replace files by
    /// renaming, which a file watch misses).
    fn dirs(&self) -> BTreeSet<PathBuf> {
        let parents = self.files.iter().filter_map(|f| f.parent());
        parents
            .map(Path::to_owned)
            .chain(self.service_dirs.iter().cloned())
            .collect()
    }
}

/// Watches each of `dirs` not yet `watched`.
fn watch_dirs(
    debouncer: &mut notify_debouncer_full::Debouncer<
        notify::RecommendedWatcher,
        notify_debouncer_full::RecommendedCache,
    >,
    dirs: &BTreeSet<PathBuf>,
    watched: &mut BTreeSet<PathBuf>,
) {
    for dir in dirs {
        let dir = dir.as_path();
        if watched.contains(dir) {
            continue;
        }
        match debouncer.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                watched.insert(dir.to_owned());
            }
            Err(e) => tracing::warn!("cannot watch {} for changes: {e}", dir.display()),
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    // Resolve `..` so the path compares equal to what the watcher reports.
    let mut clean = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                clean.pop();
            }
            std::path::Component::CurDir => {}
            other => clean.push(other),
        }
    }
    clean
}
