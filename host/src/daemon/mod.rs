//! The running daemon: `switchyard run`.
//!
//! The call chain is the data flow: [`run`] resolves the config, loads the
//! snapshot, starts Redis (when embedded), the health listener and the
//! reloader; [`serve`] connects, creates the groups, loads the settle
//! script, starts the background tasks under a [`Supervisor`], and runs the
//! read loop. Each read becomes a [`batch::Batch`] that carries its snapshot
//! to its settle.
//!
//! # Layout
//! - [`consume`]: the read loops (one per hash slot on a cluster) and the
//!   claim loop.
//! - [`batch`]: a batch, split over the worker threads, each job settled
//!   as soon as it is decided, holding its in-flight permit until then.
//! - [`backoff`]: waiting out Redis, with the operation that failed typed.
//! - [`supervise`]: every task named; the first failure ends the daemon.
//! - [`shutdown`]: the signal every task stops on.
//! - [`snapshot`]: the cell that holds the current snapshot (the routes
//!   and plugins loaded as one unit, `pipeline::snapshot`).
//! - [`reload`]: watches the files and swaps in new snapshots.
//! - [`health`]: `/metrics`, `/healthz` and `/readyz`.
//! - [`heartbeat`]: readiness checks, gauges and the heartbeat record.
//! - [`notify`]: `sd_notify` for systemd: ready, watchdog, stopping.

pub mod backoff;
pub mod batch;
pub mod consume;
pub mod health;
pub mod heartbeat;
pub mod notify;
pub mod reload;
pub mod shutdown;
pub mod snapshot;
pub mod supervise;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use tokio::sync::Semaphore;

use crate::config::{RedisTarget, Settings};
use crate::console::Console;
use crate::pipeline::dispatch::Dispatcher;
use crate::pipeline::intake::Intake;
use crate::pipeline::snapshot::Snapshot;
use crate::plugin::Runtime;
use crate::store::{self, Embedded, Store};
use backoff::{RedisOp, Unusable, retry};
use batch::{Held, Processor};
use health::Readiness;
use heartbeat::{Observer, unix_ms};
use notify::Progress;
use reload::{ReloadReport, Reloader};
use shutdown::Shutdown;
use snapshot::SnapshotCell;
use supervise::Supervisor;

/// Runs the daemon until SIGINT/SIGTERM, or until a task fails.
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
    RedisOp::create_series();
    let runtime = Arc::new(Runtime::new()?);
    let snapshot = Snapshot::build(&runtime, &settings, None)
        .with_context(|| format!("cannot load the plugins of {}", config.display()))?;
    tracing::info!(plugins = ?snapshot.versions(), routes = snapshot.routes.len(), "snapshot loaded");
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // Held past the batches' end, so the epoch ticker and the watchdog keep
    // the deadlines of plugin calls in flight at shutdown (the reloader's
    // copy is gone by then).
    let ticking = runtime.clone();
    let result = tokio.block_on(async move {
        let embedded = match &settings.redis {
            RedisTarget::Embedded { data_dir } => Some(Embedded::start(data_dir).await?),
            RedisTarget::Url(_) | RedisTarget::Cluster(_) | RedisTarget::Sentinel { .. } => None,
        };
        let shutdown = Shutdown::listen(
            embedded.as_ref().map(Embedded::pid),
            settings.consumer.shutdown_timeout,
        )
        .context("cannot listen for signals")?;
        let mut tasks = Supervisor::default();
        let mut stopping = shutdown.clone();
        tasks.spawn("the stop notice to systemd", async move {
            stopping.requested().await;
            notify::stopping();
            Ok(())
        });
        let readiness = Arc::new(Readiness::default());
        readiness.snapshot.store(true, Ordering::Relaxed);
        let snapshot = SnapshotCell::new(snapshot);
        if let Some(addr) = settings.metrics {
            let current = snapshot.clone();
            let routes = Box::new(move || {
                current
                    .current()
                    .routes
                    .iter()
                    .map(|route| route.settings.clone())
                    .collect()
            });
            let console = Console::new(settings.redis.clone(), settings.clone(), routes)?;
            tokio::spawn(console.clone().sample_until(shutdown.clone()));
            let console = crate::console::router(console);
            let listener =
                health::listen(addr, readiness.clone(), console, shutdown.clone()).await?;
            tasks.spawn("the metrics listener", listener);
        }
        let settings = Arc::new(settings);
        let reloads = Arc::new(Mutex::new(ReloadReport::default()));
        let reloader = Reloader {
            config: config.to_owned(),
            url,
            consumer,
            running: settings.clone(),
            runtime,
            snapshot: snapshot.clone(),
            report: reloads.clone(),
        };
        let watching = shutdown.clone();
        tasks.spawn("the reloader", async move {
            reloader.watch(watching).await;
            Ok(())
        });
        let shared = Shared {
            settings,
            snapshot,
            reloads,
            readiness,
        };
        let result = serve(shared, tasks, shutdown).await;
        if let Some(embedded) = embedded {
            embedded.stop().await;
        }
        result
    });
    // Dropping the runtime would wait for every blocking thread, and a
    // worker stuck in a plugin's host call may never return (see
    // `batch::STUCK_AFTER`); its entries stay pending.
    tokio.shutdown_timeout(BLOCKING_GRACE);
    drop(ticking);
    result
}

/// How long the exiting daemon waits for blocking threads still running.
const BLOCKING_GRACE: Duration = Duration::from_secs(1);

/// What the daemon's parts share.
struct Shared {
    /// The validated config the daemon started with.
    settings: Arc<Settings>,
    /// The snapshot new batches take.
    snapshot: SnapshotCell,
    /// The outcome of the latest hot reload.
    reloads: Arc<Mutex<ReloadReport>>,
    /// What `/readyz` says.
    readiness: Arc<Readiness>,
}

/// Connects and consumes until shutdown (or a task's failure), then waits
/// for every batch in flight and every task. A Redis failure that retrying
/// cannot fix ends it at once, naming the URL.
async fn serve(shared: Shared, tasks: Supervisor, shutdown: Shutdown) -> anyhow::Result<()> {
    let at = store::describe(&shared.settings.redis);
    consume_from(shared, tasks, shutdown).await.map_err(|e| {
        if e.downcast_ref::<Unusable>().is_some() {
            e.context(format!("Redis at {at}"))
        } else {
            e
        }
    })
}

/// [`serve`]'s work, its errors without the URL.
async fn consume_from(
    shared: Shared,
    mut tasks: Supervisor,
    mut shutdown: Shutdown,
) -> anyhow::Result<()> {
    let settings = shared.settings.clone();
    let consumer = &settings.consumer;
    let store = Store::new(&settings.redis)?;
    tracing::info!(
        redis = %store::describe(&settings.redis),
        cluster = store.is_cluster(),
        group = %consumer.group,
        consumer = %consumer.name,
        sources = ?settings.sources(),
        "switchyard starting"
    );

    let read_timeout = consumer.block + Duration::from_secs(10);
    let Some(intake_conn) = retry(RedisOp::Connect, &mut shutdown, async || {
        store.connect(read_timeout).await
    })
    .await?
    else {
        return tasks.join().await;
    };
    let mut intake = Intake::new(
        intake_conn,
        &consumer.group,
        &consumer.name,
        settings.sources(),
    );
    let groups = retry(RedisOp::CreateGroups, &mut shutdown, async || {
        intake.ensure_groups().await
    });
    match groups.await? {
        None => return tasks.join().await,
        Some(created) => {
            for stream in created {
                tracing::info!(%stream, group = %consumer.group, "created consumer group");
            }
        }
    }
    let Some(dispatch_conn) = retry(RedisOp::Connect, &mut shutdown, async || {
        store.connect(Duration::from_secs(30)).await
    })
    .await?
    else {
        return tasks.join().await;
    };
    let Some(dispatcher) = retry(RedisOp::LoadScript, &mut shutdown, async || {
        Dispatcher::new(
            dispatch_conn.clone(),
            &consumer.group,
            &consumer.name,
            settings.status.clone(),
            settings.replica_acks,
        )
        .await
    })
    .await?
    else {
        return tasks.join().await;
    };
    let progress = Arc::new(Progress::default());
    let processor = Processor {
        consumer: Arc::new(consumer.clone()),
        snapshot: shared.snapshot.clone(),
        dispatcher,
        in_flight: Arc::new(Semaphore::new(consumer.in_flight)),
        workers: Arc::new(Semaphore::new(consumer.workers)),
        shutdown: shutdown.clone(),
        held: Held::default(),
        progress: progress.clone(),
        readiness: shared.readiness.clone(),
    };
    let watching = shutdown.clone();
    let stalled_after = consumer.block + notify::STALL_MARGIN;
    tasks.spawn("the systemd watchdog", async move {
        progress.watchdog(stalled_after, watching).await
    });

    if let Some(conn) = retry(RedisOp::Connect, &mut shutdown, async || {
        store.connect(Duration::from_secs(5)).await
    })
    .await?
    {
        let observer = Observer {
            conn,
            group: consumer.group.clone(),
            consumer: consumer.name.clone(),
            snapshot: shared.snapshot.clone(),
            reloads: shared.reloads.clone(),
            readiness: shared.readiness.clone(),
            started: unix_ms(SystemTime::now()),
        };
        let watching = shutdown.clone();
        tasks.spawn("the heartbeat", async move {
            observer.run(watching).await;
            Ok(())
        });
    }
    if let Some(retention) = settings.retention.clone() {
        let task = crate::retention::Retention {
            target: settings.redis.clone(),
            settings: retention,
            snapshot: shared.snapshot.clone(),
            holder: consumer.name.clone(),
        };
        let watching = shutdown.clone();
        tasks.spawn("retention", async move {
            task.run(watching).await;
            Ok(())
        });
    }
    if let Some(conn) = retry(RedisOp::Connect, &mut shutdown, async || {
        store.connect(Duration::from_secs(30)).await
    })
    .await?
    {
        let intake = Intake::new(conn, &consumer.group, &consumer.name, settings.sources());
        tasks.spawn(
            "the claim loop",
            consume::claim_loop(intake, processor.clone(), shutdown.clone()),
        );
    }

    let reading = async {
        if store.is_cluster() {
            drop(intake);
            consume::read_per_slot(
                &store,
                &processor,
                &consumer.group,
                &consumer.name,
                &mut shutdown.clone(),
            )
            .await
        } else {
            consume::read_loop(&mut intake, &processor, &mut shutdown.clone()).await
        }
    };
    let read = tokio::select! {
        read = reading => read,
        failure = tasks.failure() => Err(failure),
    };
    if let Err(e) = &read {
        tracing::error!("{e:#}; stopping");
        shutdown.request();
    }
    tracing::info!("intake stopped; waiting for jobs in flight");
    let joined = tasks.join().await;
    tracing::info!("all jobs in flight settled; bye");
    read.and(joined)
}
