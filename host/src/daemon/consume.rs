//! The consume loops: reading batches from the sources and taking over
//! entries other consumers left idle.
//!
//! Each loop takes the current snapshot, reads with its sources, and hands
//! the entries on as one [`Batch`] carrying one snapshot to its settle (the
//! newest that reads all their streams). A loop waits for
//! in-flight permits before it reads, so a slow pipeline slows intake, not
//! memory. On a Redis Cluster there is one read loop per hash slot of the
//! sources ([`read_per_slot`]), each on its own connection.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use anyhow::anyhow;
use tokio::task::JoinSet;

use super::backoff::{Backoff, RedisOp, Unusable, is_permanent};
use super::batch::{Batch, Held, Processor, group_recreated};
use super::shutdown::Shutdown;
use super::supervise::panic_text;
use crate::metrics::{StreamLabels, metrics};
use crate::pipeline::intake::{Intake, is_nogroup};
use crate::pipeline::job::Cursor;
use crate::store::Store;

/// Reads batches with `intake` and starts each, until shutdown (or, on a
/// cluster, until no source is left in the intake's slot); then waits for
/// the batches it started. Fails if a batch panicked or Redis refuses for
/// good ([`super::backoff::Unusable`]).
///
/// Before the first read it warms the path a job takes
/// ([`Processor::warm`]). Each read says whether intake can read
/// (`/readyz`), and the first that
/// succeeds tells systemd the daemon is ready. A consumer group found
/// missing (`NOGROUP`: its stream was deleted, or Redis restarted without
/// persistence) is created again at once.
pub async fn read_loop(
    intake: &mut Intake,
    processor: &Processor,
    shutdown: &mut Shutdown,
) -> anyhow::Result<()> {
    let consumer = processor.consumer.clone();
    let mut batches = JoinSet::new();
    // Some while this consumer's own pending entries are being re-read,
    // page by page; None once caught up.
    let mut recovering: Option<Recovery> = Some(Recovery::default());
    let mut backoff = Backoff::default();
    // So the first job read is as fast as the rest.
    processor.warm().await;
    while !shutdown.is_requested() {
        reap(&mut batches)?;
        let permit = tokio::select! {
            _ = shutdown.requested() => break,
            permit = processor.permit() => permit,
        };
        let snapshot = processor.snapshot.current();
        if intake.set_sources(snapshot.sources()) {
            if intake.sources().is_empty() {
                tracing::info!("no source left in this intake's hash slot; it stops");
                break;
            }
            tracing::info!(sources = ?intake.sources(), "source streams changed");
            if let Err(e) = intake.ensure_groups().await {
                drop(permit);
                recovering = Some(Recovery::default());
                processor.readiness.read_failed(intake.sources(), &e);
                backoff.fail(RedisOp::CreateGroups, &e, shutdown).await?;
                continue;
            }
        }
        let read = match recovering.as_mut() {
            Some(recovery) => {
                // Entries our batches still hold are pending under our name
                // too: they are left to those batches, not run again.
                let held = processor.held.now();
                intake
                    .read_own_pending(&mut recovery.cursors, consumer.batch)
                    .await
                    .map(|entries| {
                        let exhausted = entries.is_empty();
                        let (entries, skipped) = Held::without(&held, entries);
                        recovery.reread += entries.len();
                        recovery.left += skipped;
                        (entries, exhausted)
                    })
            }
            // Not cancelled by shutdown: Redis may already have
            // delivered entries to us, and what was read is settled.
            // Shutdown waits at most one block time for it.
            None => intake
                .read_new(consumer.batch, consumer.block)
                .await
                .map(|entries| (entries, false)),
        };
        processor.progress.mark();
        match read {
            Ok((entries, exhausted)) => {
                if backoff.failing() {
                    tracing::info!("Redis is reachable again; resuming");
                    metrics().reconnects.inc();
                }
                backoff.reset();
                processor.readiness.read_ok();
                processor.progress.read_ok();
                if exhausted && let Some(recovery) = recovering.take() {
                    recovery.report();
                }
                if let Some(batch) = Batch::new(&processor.snapshot, snapshot, entries, permit) {
                    processor.start(batch, &mut batches);
                }
            }
            Err(e) => {
                drop(permit);
                processor.readiness.read_failed(intake.sources(), &e);
                // Entries may have been delivered to us by the failed
                // read: re-read our pending list once Redis is back.
                recovering = Some(Recovery::default());
                if is_nogroup(&e) {
                    match recreate_groups(intake).await {
                        // Created again: read at once.
                        Ok(true) => continue,
                        Ok(false) => {}
                        Err(e) => {
                            processor.readiness.read_failed(intake.sources(), &e);
                            backoff.fail(RedisOp::CreateGroups, &e, shutdown).await?;
                            continue;
                        }
                    }
                }
                backoff.fail(RedisOp::Read, &e, shutdown).await?;
            }
        }
    }
    drain(batches).await
}

/// A read loop re-reading the entries pending under its consumer (at
/// start, and after a failed read), page by page.
#[derive(Default)]
struct Recovery {
    /// Where each source's next page starts.
    cursors: HashMap<String, Cursor>,
    /// Entries re-read and started again.
    reread: usize,
    /// Entries left to the batches in flight that hold them.
    left: usize,
}

impl Recovery {
    /// Says once, when caught up, what was re-read and what left alone.
    fn report(self) {
        if self.reread > 0 || self.left > 0 {
            tracing::info!(
                reread = self.reread,
                left = self.left,
                "caught up with the entries pending under this consumer: re-read {}, left {} to the batches in flight here that hold them",
                self.reread,
                self.left
            );
        }
    }
}

/// Creates again the groups missing on `intake`'s sources; whether any was.
async fn recreate_groups(intake: &mut Intake) -> redis::RedisResult<bool> {
    let created = intake.ensure_groups().await?;
    for stream in &created {
        group_recreated(stream, intake.group());
    }
    Ok(!created.is_empty())
}

/// Every half claim time, until shutdown: removes consumers idle past
/// `forget-idle` with nothing pending, then takes over entries left idle by
/// other consumers (a consumer with entries pending is removed only in a
/// later round, once they are taken over). Then waits for the batches it
/// started.
pub async fn claim_loop(
    mut intake: Intake,
    processor: Processor,
    mut shutdown: Shutdown,
) -> anyhow::Result<()> {
    let consumer = processor.consumer.clone();
    let period =
        (consumer.claim_idle / 2).clamp(Duration::from_millis(50), Duration::from_secs(10));
    let mut backoff = Backoff::default();
    let mut batches = JoinSet::new();
    let mut forget_idle = consumer.forget_idle;
    'rounds: loop {
        tokio::select! {
            _ = shutdown.requested() => break,
            _ = tokio::time::sleep(period) => {}
        }
        let snapshot = processor.snapshot.current();
        for source in snapshot.sources() {
            if let Some(idle) = forget_idle {
                match intake.forget_idle(&source, idle).await {
                    Ok(removed) => {
                        for name in &removed {
                            tracing::info!(stream = %source, consumer = %name, "removed consumer {name}: idle over {} ms with nothing pending", idle.as_millis());
                        }
                        if !removed.is_empty() {
                            metrics()
                                .consumers_removed
                                .get_or_create(&StreamLabels {
                                    stream: source.clone(),
                                })
                                .inc_by(removed.len() as u64);
                        }
                    }
                    // Housekeeping only: routing goes on without it.
                    Err(e) if is_permanent(&e) => {
                        metrics().redis_error(RedisOp::Claim.label());
                        tracing::error!(
                            stream = %source,
                            "cannot remove idle consumers from group {} ({e}); no longer trying until restart. \
                             The daemon's Redis user needs +xinfo|consumers and +xgroup|delconsumer, \
                             or set [consumer] forget-idle = \"0s\"",
                            consumer.group
                        );
                        forget_idle = None;
                    }
                    Err(e) => {
                        backoff.fail(RedisOp::Claim, &e, &mut shutdown).await?;
                        continue;
                    }
                }
            }
            let mut cursor = Cursor::Start;
            while cursor != Cursor::Done {
                let permit = tokio::select! {
                    _ = shutdown.requested() => break 'rounds,
                    permit = processor.permit() => permit,
                };
                // XAUTOCLAIM takes our own idle entries too: those our
                // batches hold are left to them.
                let held = processor.held.now();
                match intake
                    .claim(&source, cursor, consumer.claim_idle, consumer.batch)
                    .await
                {
                    Ok((next, entries)) => {
                        backoff.reset();
                        let (entries, _) = Held::without(&held, entries);
                        if !entries.is_empty() {
                            tracing::info!(stream = %source, entries = entries.len(), "took over entries left idle by other consumers");
                            metrics()
                                .reclaimed
                                .get_or_create(&StreamLabels {
                                    stream: source.clone(),
                                })
                                .inc_by(entries.len() as u64);
                        }
                        if let Some(batch) =
                            Batch::new(&processor.snapshot, snapshot.clone(), entries, permit)
                        {
                            processor.start(batch, &mut batches);
                        }
                        cursor = next;
                    }
                    Err(e) => {
                        drop(permit);
                        if is_nogroup(&e) {
                            match intake.create_group(&source).await {
                                Ok(true) => group_recreated(&source, intake.group()),
                                Ok(false) => {}
                                Err(e) => {
                                    backoff
                                        .fail(RedisOp::CreateGroups, &e, &mut shutdown)
                                        .await?
                                }
                            }
                            break;
                        }
                        backoff.fail(RedisOp::Claim, &e, &mut shutdown).await?;
                        break;
                    }
                }
            }
        }
        reap(&mut batches)?;
    }
    drain(batches).await
}

/// On a cluster: one read loop per hash slot of the sources, each with its
/// own intake and connection, so a blocking read on one shard never delays
/// another's entries. A reload that adds a source in a new slot starts its
/// loop within a second; a loop whose slot has no source left ends.
pub async fn read_per_slot(
    store: &Store,
    processor: &Processor,
    group: &str,
    name: &str,
    shutdown: &mut Shutdown,
) -> anyhow::Result<()> {
    let consumer = processor.consumer.clone();
    let read_timeout = consumer.block + Duration::from_secs(10);
    let mut readers: HashMap<u16, tokio::task::JoinHandle<anyhow::Result<()>>> = HashMap::new();
    while !shutdown.is_requested() {
        for slot in readers
            .iter()
            .filter(|(_, reader)| reader.is_finished())
            .map(|(slot, _)| *slot)
            .collect::<Vec<_>>()
        {
            let reader = readers.remove(&slot).expect("listed just now");
            joined(reader.await)?;
        }
        let snapshot = processor.snapshot.current();
        let slots: BTreeSet<u16> = snapshot
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
                Err(e) if is_permanent(&e) => {
                    return Err(Unusable {
                        op: RedisOp::Connect,
                        error: e,
                    }
                    .into());
                }
                Err(e) => {
                    tracing::warn!(
                        slot,
                        "cannot connect to read this slot's sources: {e}; retrying"
                    );
                    continue;
                }
            };
            let mut intake = Intake::new(conn, group, name, snapshot.sources()).for_slot(slot);
            tracing::info!(slot, sources = ?intake.sources(), "reading the sources of a hash slot");
            let (processor, mut shutdown) = (processor.clone(), shutdown.clone());
            readers.insert(
                slot,
                tokio::spawn(async move {
                    let mut backoff = Backoff::default();
                    while let Err(e) = intake.ensure_groups().await {
                        if shutdown.is_requested() {
                            return Ok(());
                        }
                        backoff
                            .fail(RedisOp::CreateGroups, &e, &mut shutdown)
                            .await?;
                    }
                    read_loop(&mut intake, &processor, &mut shutdown).await
                }),
            );
        }
        tokio::select! {
            _ = shutdown.requested() => break,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    for (_, reader) in readers {
        joined(reader.await)?;
    }
    Ok(())
}

/// Collects the batches that have finished; fails if one panicked or
/// failed.
fn reap(batches: &mut JoinSet<anyhow::Result<()>>) -> anyhow::Result<()> {
    while let Some(done) = batches.try_join_next() {
        done.map_err(|e| anyhow!("a batch {}", panic_text(e)))??;
    }
    Ok(())
}

/// Waits for every batch to be settled; fails if one panicked or failed.
async fn drain(mut batches: JoinSet<anyhow::Result<()>>) -> anyhow::Result<()> {
    while let Some(done) = batches.join_next().await {
        done.map_err(|e| anyhow!("a batch {}", panic_text(e)))??;
    }
    Ok(())
}

/// A slot reader's end: its own result, or its panic.
fn joined(result: Result<anyhow::Result<()>, tokio::task::JoinError>) -> anyhow::Result<()> {
    result.map_err(|e| anyhow!("a slot's read loop {}", panic_text(e)))?
}
