//! `switchyard run`: wires intake, the plugin workers and dispatch, and owns
//! their lifetime.
//!
//! The call chain is the data flow: [`run`] resolves the config, loads the
//! snapshot and connects, then [`Daemon::serve`] reads batches; each batch
//! runs through [`decide`] (decode → match → validate → route) on a worker
//! thread, and its settlements are dispatched in one pipeline. A batch holds
//! permits of the in-flight semaphore until it is settled, so intake never
//! runs further ahead than `in-flight` entries. On a Redis Cluster there is
//! one read loop per hash slot of the sources, each on its own connection.

pub mod health;
pub mod heartbeat;
pub mod metrics;
pub mod reload;
pub mod shutdown;
pub mod snapshot;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::config::{ConsumerSettings, RedisTarget, Settings};
use crate::daemon::heartbeat::{Observer, unix_ms};
use crate::daemon::metrics::{SettledLabels, StreamLabels, metrics};
use crate::daemon::reload::{ReloadReport, Reloader};
use crate::daemon::shutdown::Shutdown;
use crate::daemon::snapshot::Snapshot;
use crate::pipeline::dispatch::{Dispatcher, Settled};
use crate::pipeline::intake::Intake;
use crate::pipeline::job::{Entry, Job};
use crate::pipeline::settle::{MAX_FIELDS, Outcome, Settlement};
use crate::plugin::Runtime;
use crate::store::{self, Embedded, Store};
use health::Readiness;

/// Where dead letters go when the config gives none for a source (cannot
/// happen with a valid config; kept so no entry is ever without a place).
const FALLBACK_DEAD_LETTERS: &str = "switchyard:dead";

/// Runs the daemon until SIGINT/SIGTERM.
pub fn run(
    config: &Path,
    url: Option<String>,
    consumer: Option<String>,
    null_pipeline: bool,
) -> anyhow::Result<()> {
    let mut settings = Settings::load(config, url.clone(), consumer.clone())?;
    if null_pipeline {
        tracing::warn!(
            "null pipeline: no plugin is called; every job goes to its route's first target"
        );
        settings.consumer.null_pipeline = true;
    }
    let runtime = Arc::new(Runtime::new()?);
    let snapshot = Snapshot::build(&runtime, &settings, None)
        .with_context(|| format!("cannot load the plugins of {}", config.display()))?;
    tracing::info!(plugins = ?snapshot.versions(), routes = snapshot.routes.len(), "snapshot loaded");
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    tokio.block_on(async move {
        let embedded = match &settings.redis {
            RedisTarget::Embedded { data_dir } => Some(Embedded::start(data_dir).await?),
            RedisTarget::Url(_) | RedisTarget::Cluster(_) => None,
        };
        let shutdown = Shutdown::listen(embedded.as_ref().map(Embedded::pid))
            .context("cannot listen for signals")?;
        let readiness = Arc::new(Readiness::default());
        readiness.snapshot.store(true, Ordering::Relaxed);
        let listener = match settings.metrics {
            Some(addr) => Some(health::listen(addr, readiness.clone(), shutdown.clone()).await?),
            None => None,
        };
        let settings = Arc::new(settings);
        let daemon = Daemon {
            settings: settings.clone(),
            snapshot: Arc::new(RwLock::new(Arc::new(snapshot))),
            runtime: runtime.clone(),
            reloads: Default::default(),
            readiness,
        };
        let reloader = Reloader {
            config: config.to_owned(),
            url,
            consumer,
            running: settings,
            runtime,
            snapshot: daemon.snapshot.clone(),
            report: daemon.reloads.clone(),
        };
        let watcher = tokio::spawn(reloader.watch(shutdown.clone()));
        let result = daemon.serve(shutdown).await;
        let _ = watcher.await;
        if let Some(listener) = listener {
            let _ = listener.await;
        }
        if let Some(embedded) = embedded {
            embedded.stop().await;
        }
        result
    })
}

/// The running daemon's shared state.
pub struct Daemon {
    /// The validated config.
    pub settings: Arc<Settings>,
    /// The snapshot new batches take; a batch keeps the one it took.
    pub snapshot: Arc<RwLock<Arc<Snapshot>>>,
    /// The plugin runtime (engine and epoch ticker) the snapshot runs on.
    pub runtime: Arc<Runtime>,
    /// The outcome of the latest hot reload.
    pub reloads: Arc<Mutex<ReloadReport>>,
    /// What `/readyz` says.
    pub readiness: Arc<Readiness>,
}

impl Daemon {
    /// Consumes until shutdown, then waits for every batch in flight.
    pub async fn serve(&self, mut shutdown: Shutdown) -> anyhow::Result<()> {
        let settings = self.settings.clone();
        let consumer = &settings.consumer;
        let url = store::url_for(&settings.redis)?;
        let store = Store::new(&settings.redis)?;
        tracing::info!(
            redis = %crate::store::redact(&url),
            cluster = store.is_cluster(),
            group = %consumer.group,
            consumer = %consumer.name,
            sources = ?settings.sources(),
            "switchyard starting"
        );

        let read_timeout = consumer.block + Duration::from_secs(10);
        let Some(intake_conn) = retry("connect to Redis", &mut shutdown, async || {
            store.connect(read_timeout).await
        })
        .await
        else {
            return Ok(());
        };
        let mut intake = Intake::new(
            intake_conn,
            &consumer.group,
            &consumer.name,
            settings.sources(),
        );
        if retry("create the consumer groups", &mut shutdown, async || {
            intake.ensure_groups().await
        })
        .await
        .is_none()
        {
            return Ok(());
        }
        let Some(dispatch_conn) = retry("connect to Redis", &mut shutdown, async || {
            store.connect(Duration::from_secs(30)).await
        })
        .await
        else {
            return Ok(());
        };
        let Some(dispatcher) = retry("load the settle script", &mut shutdown, async || {
            Dispatcher::new(
                dispatch_conn.clone(),
                &consumer.group,
                &consumer.name,
                settings.status.clone(),
            )
            .await
        })
        .await
        else {
            return Ok(());
        };

        let pipeline = Pipeline {
            settings: settings.clone(),
            snapshot: self.snapshot.clone(),
            dispatcher,
            in_flight: Arc::new(Semaphore::new(consumer.in_flight)),
            workers: Arc::new(Semaphore::new(consumer.workers)),
        };
        let mut batches = JoinSet::new();

        let observer = retry("connect to Redis", &mut shutdown, async || {
            store.connect(Duration::from_secs(5)).await
        })
        .await
        .map(|conn| {
            let observer = Observer {
                conn,
                group: consumer.group.clone(),
                consumer: consumer.name.clone(),
                snapshot: self.snapshot.clone(),
                reloads: self.reloads.clone(),
                readiness: self.readiness.clone(),
                started: unix_ms(std::time::SystemTime::now()),
            };
            tokio::spawn(observer.run(shutdown.clone()))
        });

        // Retention is refused on a cluster (see config): one server here.
        let retention = match settings.retention.clone() {
            Some(retention) => Some((retention, store::client(&url)?)),
            None => None,
        };
        let retention = retention.map(|(retention, client)| {
            let task = crate::retention::Retention {
                client,
                settings: retention,
                snapshot: self.snapshot.clone(),
                holder: consumer.name.clone(),
            };
            tokio::spawn(task.run(shutdown.clone()))
        });

        let claim_conn = retry("connect to Redis", &mut shutdown, async || {
            store.connect(Duration::from_secs(30)).await
        })
        .await;
        let claimer = claim_conn.map(|conn| {
            let intake = Intake::new(conn, &consumer.group, &consumer.name, settings.sources());
            tokio::spawn(claim_loop(intake, pipeline.clone(), shutdown.clone()))
        });

        if store.is_cluster() {
            drop(intake);
            self.read_per_slot(&store, &pipeline, &mut shutdown).await;
        } else {
            read_loop(
                self.settings.clone(),
                &mut intake,
                &pipeline,
                &mut batches,
                &mut shutdown,
            )
            .await;
        }

        tracing::info!(
            batches = batches.len(),
            "intake stopped; waiting for jobs in flight"
        );
        if let Some(claimer) = claimer {
            let _ = claimer.await;
        }
        while batches.join_next().await.is_some() {}
        if let Some(observer) = observer {
            let _ = observer.await;
        }
        if let Some(retention) = retention {
            let _ = retention.await;
        }
        tracing::info!("all jobs in flight settled; bye");
        Ok(())
    }

    /// On a cluster: one read loop per hash slot of the sources, each with
    /// its own intake and connection, so a blocking read on one shard never
    /// delays another's entries. A reload that adds a source in a new slot
    /// starts its loop within a second; a loop whose slot has no source
    /// left ends.
    async fn read_per_slot(&self, store: &Store, pipeline: &Pipeline, shutdown: &mut Shutdown) {
        let consumer = &self.settings.consumer;
        let read_timeout = consumer.block + Duration::from_secs(10);
        let mut readers: HashMap<u16, tokio::task::JoinHandle<()>> = HashMap::new();
        while !shutdown.is_requested() {
            readers.retain(|_, reader| !reader.is_finished());
            let slots: BTreeSet<u16> = pipeline
                .current()
                .sources()
                .iter()
                .map(|s| crate::store::layout::slot(s))
                .collect();
            if slots.len() * consumer.batch > consumer.in_flight && slots.len() > readers.len() {
                // Each reader holds `batch` permits while it blocks; too few
                // permits and a quiet shard's read delays a busy one's.
                tracing::warn!(
                    slots = slots.len(),
                    "[consumer] in-flight {} is less than batch {} × {} hash slots read; a busy shard may wait for a quiet one's blocking read",
                    consumer.in_flight,
                    consumer.batch,
                    slots.len()
                );
            }
            for slot in slots {
                if readers.contains_key(&slot) {
                    continue;
                }
                let conn = match store.connect(read_timeout).await {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!(
                            slot,
                            "cannot connect to read this slot's sources: {e}; retrying"
                        );
                        continue;
                    }
                };
                let mut intake = Intake::new(
                    conn,
                    &consumer.group,
                    &consumer.name,
                    pipeline.current().sources(),
                )
                .for_slot(slot);
                tracing::info!(slot, sources = ?intake.sources(), "reading the sources of a hash slot");
                let (settings, pipeline, mut shutdown) =
                    (self.settings.clone(), pipeline.clone(), shutdown.clone());
                readers.insert(
                    slot,
                    tokio::spawn(async move {
                        let mut batches = JoinSet::new();
                        let mut backoff = Backoff::new();
                        while let Err(e) = intake.ensure_groups().await {
                            if shutdown.is_requested() {
                                return;
                            }
                            backoff
                                .fail("create the consumer groups", &e, &mut shutdown)
                                .await;
                        }
                        read_loop(
                            settings,
                            &mut intake,
                            &pipeline,
                            &mut batches,
                            &mut shutdown,
                        )
                        .await;
                        while batches.join_next().await.is_some() {}
                    }),
                );
            }
            tokio::select! {
                _ = shutdown.requested() => break,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
        for (_, reader) in readers {
            let _ = reader.await;
        }
    }
}

/// Reads batches with `intake` and starts each, until shutdown (or, on a
/// cluster, until no source is left in the intake's slot).
async fn read_loop(
    settings: Arc<Settings>,
    intake: &mut Intake,
    pipeline: &Pipeline,
    batches: &mut JoinSet<()>,
    shutdown: &mut Shutdown,
) {
    let consumer = &settings.consumer;
    // Some(cursors) while this consumer's own pending entries are being
    // re-read, page by page; None once caught up.
    let mut recovering: Option<HashMap<String, String>> = Some(HashMap::new());
    let mut backoff = Backoff::new();
    while !shutdown.is_requested() {
        while batches.try_join_next().is_some() {}
        let permit = tokio::select! {
            _ = shutdown.requested() => break,
            permit = pipeline.in_flight.clone().acquire_many_owned(consumer.batch as u32) => {
                permit.expect("the in-flight semaphore is never closed")
            }
        };
        let sources = pipeline.current().sources();
        if intake.set_sources(sources) {
            if intake.sources().is_empty() {
                tracing::info!("no source left in this intake's hash slot; it stops");
                break;
            }
            tracing::info!(sources = ?intake.sources(), "source streams changed");
            if let Err(e) = intake.ensure_groups().await {
                drop(permit);
                recovering = Some(HashMap::new());
                backoff
                    .fail("create the consumer groups", &e, shutdown)
                    .await;
                continue;
            }
        }
        let read = match recovering.as_mut() {
            Some(cursors) => intake.read_own_pending(cursors, consumer.batch).await,
            // Not cancelled by shutdown: Redis may already have
            // delivered entries to us, and what was read is settled.
            // Shutdown waits at most one block time for it.
            None => intake.read_new(consumer.batch, consumer.block).await,
        };
        match read {
            Ok(entries) => {
                if backoff.failures > 0 {
                    tracing::info!("Redis is reachable again; resuming");
                    metrics().reconnects.inc();
                }
                backoff.reset();
                if recovering.is_some() {
                    if entries.is_empty() {
                        recovering = None;
                    } else {
                        tracing::info!(
                            entries = entries.len(),
                            "re-reading entries pending under this consumer"
                        );
                    }
                }
                pipeline.start(entries, permit, batches);
            }
            Err(e) => {
                drop(permit);
                // Entries may have been delivered to us by the failed
                // read: re-read our pending list once Redis is back.
                recovering = Some(HashMap::new());
                backoff
                    .fail("read from the source streams", &e, shutdown)
                    .await;
            }
        }
    }
}

/// What a batch needs to be processed and settled; cheap to clone.
#[derive(Clone)]
struct Pipeline {
    /// The config.
    settings: Arc<Settings>,
    /// The current snapshot.
    snapshot: Arc<RwLock<Arc<Snapshot>>>,
    /// Settles batches.
    dispatcher: Dispatcher,
    /// Permits for entries read but not settled.
    in_flight: Arc<Semaphore>,
    /// Permits for worker threads running plugins.
    workers: Arc<Semaphore>,
}

impl Pipeline {
    /// Processes `entries` in the background, holding the permits of
    /// `permit` that they need until they are settled.
    fn start(
        &self,
        entries: Vec<Entry>,
        mut permit: OwnedSemaphorePermit,
        batches: &mut JoinSet<()>,
    ) {
        let held = permit.num_permits();
        if entries.len() < held {
            // Return the permits this batch does not need.
            drop(permit.split(held - entries.len().max(1)));
        }
        if entries.is_empty() {
            return;
        }
        let m = metrics();
        for source in entries
            .iter()
            .map(|e| e.stream.as_str())
            .collect::<BTreeSet<_>>()
        {
            m.read(
                source,
                entries.iter().filter(|e| e.stream == source).count(),
            );
        }
        let count = entries.len() as i64;
        m.in_flight.inc_by(count);
        let pipeline = self.clone();
        batches.spawn(async move {
            pipeline.process(entries).await;
            metrics().in_flight.dec_by(count);
            drop(permit);
        });
    }

    /// Decides every entry on a worker thread, then settles them all.
    async fn process(&self, entries: Vec<Entry>) {
        let snapshot = self.current();
        let consumer = self.settings.consumer.clone();
        let worker = self
            .workers
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        let settlements = tokio::task::spawn_blocking(move || {
            let _worker = worker;
            entries
                .into_iter()
                .map(|entry| decide(&snapshot, &consumer, entry))
                .collect::<Vec<_>>()
        })
        .await
        .expect("deciding a batch does not panic");
        self.settle(settlements).await;
    }

    /// Settles `settlements`, retrying while Redis is unreachable. A
    /// settlement Redis refuses (a target of the wrong type) is turned into
    /// a dead letter.
    async fn settle(&self, settlements: Vec<Settlement>) {
        let mut dispatcher = self.dispatcher.clone();
        let mut backoff = Backoff::new();
        let mut pending = settlements;
        loop {
            match dispatcher.settle(&pending).await {
                Ok(results) => {
                    let mut retry = Vec::new();
                    let mut unavailable = None;
                    for (settled, settlement) in results.into_iter().zip(pending) {
                        match settled {
                            Settled::Unavailable(e) => {
                                // Not this job's fault: try it again as it is.
                                unavailable.get_or_insert(e);
                                retry.push(settlement);
                            }
                            Settled::Done(outcome) => {
                                count_outcome(&settlement, outcome);
                                log_outcome(&settlement, outcome);
                            }
                            Settled::NotOwner => tracing::info!(
                                job = %settlement.job_id, stream = %settlement.source, entry = %settlement.entry_id,
                                "entry was claimed by another consumer; it settles it"
                            ),
                            Settled::Refused(reason)
                                if settlement.outcome != Outcome::DeadLettered =>
                            {
                                tracing::warn!(
                                    job = %settlement.job_id, stream = %settlement.source, entry = %settlement.entry_id,
                                    "cannot write the outcome ({reason}); dead-lettering it"
                                );
                                let dead = self.dead_letters_for(&settlement.source);
                                retry.push(Settlement::dead_letter(
                                    settlement.entry().clone(),
                                    &dead,
                                    "dispatch",
                                    "refused",
                                    &format!("Redis refused the outcome: {reason}"),
                                    &[],
                                ));
                            }
                            Settled::Refused(reason) => tracing::error!(
                                job = %settlement.job_id, stream = %settlement.source, entry = %settlement.entry_id,
                                "cannot dead-letter the entry ({reason}); it stays pending"
                            ),
                        }
                    }
                    if retry.is_empty() {
                        return;
                    }
                    pending = retry;
                    if let Some(e) = unavailable {
                        let mut never = NeverShutdown;
                        backoff.fail("settle jobs", &e, &mut never).await;
                    }
                }
                Err(e) => {
                    let mut never = NeverShutdown;
                    backoff.fail("settle jobs", &e, &mut never).await;
                }
            }
        }
    }

    /// The snapshot new work takes.
    fn current(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .expect("snapshot lock is never poisoned")
            .clone()
    }

    fn dead_letters_for(&self, source: &str) -> String {
        self.current()
            .dead_letters_for(source)
            .unwrap_or(FALLBACK_DEAD_LETTERS)
            .to_owned()
    }
}

/// Decides what becomes of one entry: the whole pipeline short of Redis.
pub fn decide(snapshot: &Snapshot, consumer: &ConsumerSettings, entry: Entry) -> Settlement {
    let dead = snapshot
        .dead_letters_for(&entry.stream)
        .unwrap_or(FALLBACK_DEAD_LETTERS)
        .to_owned();
    if entry.deliveries > consumer.max_deliveries {
        let reason = format!(
            "delivered {} times, more than max-deliveries {}; every earlier attempt failed or its consumer died",
            entry.deliveries, consumer.max_deliveries
        );
        return Settlement::dead_letter(entry, &dead, "deliveries", "max-deliveries", &reason, &[]);
    }
    if entry.fields.len() > MAX_FIELDS {
        let reason = format!(
            "entry has {} fields, more than {MAX_FIELDS}",
            entry.fields.len()
        );
        return Settlement::dead_letter(entry, &dead, "decode", "too-many-fields", &reason, &[]);
    }
    let job = match Job::decode(entry, consumer.max_entry_bytes) {
        Ok(job) => job,
        Err((entry, error)) => {
            let kind = match error {
                crate::pipeline::job::DecodeError::NoPayload => "no-payload",
                crate::pipeline::job::DecodeError::TooLarge { .. } => "too-large",
            };
            return Settlement::dead_letter(entry, &dead, "decode", kind, &error.to_string(), &[]);
        }
    };
    let Some(route) = snapshot.route_for(&job.entry) else {
        let reason = format!(
            "no route of stream `{}` matches this entry (service `{}`)",
            job.entry.stream,
            job.entry.field("service").unwrap_or("<none>")
        );
        return Settlement::dead_letter(job.entry, &dead, "match", "no-route", &reason, &[]);
    };
    let name = &route.settings.name;
    if consumer.null_pipeline {
        let target = crate::plugin::Target {
            stream: route.settings.targets[0].clone(),
            payload: None,
            extra_fields: Vec::new(),
        };
        let routed = crate::pipeline::route::Routed {
            job,
            targets: vec![target],
            plugins: Vec::new(),
        };
        return Settlement::dispatched(routed).on_route(name);
    }
    let validated = match crate::pipeline::validate::validate(route, job) {
        Ok(validated) => validated,
        Err(settlement) => return settlement.on_route(name),
    };
    match crate::pipeline::route::route(route, validated) {
        Ok(routed) => Settlement::dispatched(routed).on_route(name),
        Err(settlement) => settlement.on_route(name),
    }
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Dispatched => "dispatched",
        Outcome::Rejected => "rejected",
        Outcome::DeadLettered => "dead_lettered",
    }
}

fn count_outcome(settlement: &Settlement, outcome: Outcome) {
    for write in &settlement.writes {
        metrics()
            .settled
            .get_or_create(&SettledLabels {
                route: settlement.route.clone(),
                outcome: outcome_name(outcome).to_owned(),
                target: write.stream.clone(),
            })
            .inc();
    }
}

fn log_outcome(settlement: &Settlement, outcome: Outcome) {
    let targets: Vec<&str> = settlement
        .writes
        .iter()
        .map(|w| w.stream.as_str())
        .collect();
    let what = match outcome {
        Outcome::Dispatched => "dispatched",
        Outcome::Rejected => "rejected",
        Outcome::DeadLettered => "dead-lettered",
    };
    tracing::debug!(
        job = %settlement.job_id, stream = %settlement.source, entry = %settlement.entry_id,
        to = ?targets, "{what}"
    );
}

/// Takes over entries left idle by dead consumers, every half claim time.
async fn claim_loop(mut intake: Intake, pipeline: Pipeline, mut shutdown: Shutdown) {
    let consumer = pipeline.settings.consumer.clone();
    let period =
        (consumer.claim_idle / 2).clamp(Duration::from_millis(50), Duration::from_secs(10));
    let mut backoff = Backoff::new();
    let mut batches = JoinSet::new();
    'outer: loop {
        tokio::select! {
            _ = shutdown.requested() => break,
            _ = tokio::time::sleep(period) => {}
        }
        for source in pipeline.current().sources() {
            let mut cursor = "0-0".to_owned();
            loop {
                let permit = tokio::select! {
                    _ = shutdown.requested() => break 'outer,
                    permit = pipeline.in_flight.clone().acquire_many_owned(consumer.batch as u32) => {
                        permit.expect("never closed")
                    }
                };
                match intake
                    .claim(&source, &cursor, consumer.claim_idle, consumer.batch)
                    .await
                {
                    Ok((next, entries)) => {
                        backoff.reset();
                        if !entries.is_empty() {
                            tracing::info!(stream = %source, entries = entries.len(), "took over entries left idle by other consumers");
                            metrics()
                                .reclaimed
                                .get_or_create(&StreamLabels {
                                    stream: source.clone(),
                                })
                                .inc_by(entries.len() as u64);
                        }
                        pipeline.start(entries, permit, &mut batches);
                        if next == "0-0" {
                            break;
                        }
                        cursor = next;
                    }
                    Err(e) => {
                        drop(permit);
                        backoff.fail("claim idle entries", &e, &mut shutdown).await;
                        break;
                    }
                }
            }
        }
        while batches.try_join_next().is_some() {}
    }
    while batches.join_next().await.is_some() {}
}

/// Something a backoff sleep can be cut short by.
trait Interrupt {
    async fn wait(&mut self);
}

impl Interrupt for Shutdown {
    async fn wait(&mut self) {
        self.requested().await
    }
}

/// Settling goes on through shutdown: jobs in flight must finish.
struct NeverShutdown;

impl Interrupt for NeverShutdown {
    async fn wait(&mut self) {
        std::future::pending::<()>().await
    }
}

/// Exponential backoff from 100 ms to 5 s, logging each failure once.
struct Backoff {
    /// Failures since the last success.
    failures: u32,
    /// The next sleep.
    delay: Duration,
}

impl Backoff {
    fn new() -> Backoff {
        Backoff {
            failures: 0,
            delay: Duration::from_millis(100),
        }
    }

    fn reset(&mut self) {
        self.failures = 0;
        self.delay = Duration::from_millis(100);
    }

    async fn fail(
        &mut self,
        what: &str,
        error: &redis::RedisError,
        interrupt: &mut impl Interrupt,
    ) {
        self.failures += 1;
        metrics().redis_error(what);
        tracing::warn!(
            attempt = self.failures,
            "cannot {what}: {error}; retrying in {:?}",
            self.delay
        );
        tokio::select! {
            _ = interrupt.wait() => {}
            _ = tokio::time::sleep(self.delay) => {}
        }
        self.delay = (self.delay * 2).min(Duration::from_secs(5));
    }
}

/// Runs `attempt` until it succeeds or shutdown is requested.
async fn retry<T>(
    what: &str,
    shutdown: &mut Shutdown,
    mut attempt: impl AsyncFnMut() -> redis::RedisResult<T>,
) -> Option<T> {
    let mut backoff = Backoff::new();
    loop {
        if shutdown.is_requested() {
            return None;
        }
        match attempt().await {
            Ok(value) => return Some(value),
            Err(e) => backoff.fail(what, &e, shutdown).await,
        }
    }
}
