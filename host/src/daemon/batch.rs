//! A batch: the entries of one read, the snapshot they were read with and
//! the in-flight permits they hold, carried together from intake to settle.
//!
//! [`Processor::start`] takes a [`Batch`] and runs it in the background. Its
//! entries are split into one chunk per worker (of at least [`MIN_CHUNK`]
//! entries), each decided ([`crate::pipeline::Deciding`]) on a worker thread
//! of its own with the batch's snapshot (the `workers` semaphore bounds the
//! threads of all batches together). A job is settled as soon as it is
//! decided, not when its batch is: each settle of the batch takes every
//! settlement decided since the previous one returned, and those decided
//! within [`LINGER`] of the first of them, in one pipeline, retried while
//! Redis is unavailable (so a busy Redis gets bigger pipelines). Each
//! entry's in-flight permit is released when it is settled, so intake never
//! runs further ahead than `in-flight` entries.
//!
//! While a batch runs, its unsettled entries are [`Held`]: a read of this
//! consumer's own pending list (after Redis comes back) or a takeover round
//! skips them, so no plugin runs twice on an entry this process still holds.
//! What happens to many entries alike (claimed by another consumer, their
//! group gone) is logged once per batch.
//!
//! At shutdown a batch is waited for while its workers' plugin calls keep
//! their deadlines. Once every chunk still running is stuck in a host call
//! past [`STUCK_AFTER`] after the watchdog interrupted it (or waits for a
//! worker behind one), the batch is given up: its undecided entries stay
//! pending, to be read again or reclaimed.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;

use super::backoff::{Backoff, RedisOp, Settling, Unusable};
use super::health::Readiness;
use super::notify::Progress;
use super::shutdown::Shutdown;
use super::snapshot::SnapshotCell;
use crate::config::ConsumerSettings;
use crate::metrics::{StreamLabels, metrics};
use crate::pipeline::dispatch::{Dispatcher, Settled};
use crate::pipeline::failure::Failure;
use crate::pipeline::job::{Entry, EntryId};
use crate::pipeline::settle::{Outcome, Settlement};
use crate::pipeline::snapshot::Snapshot;
use crate::plugin::watchdog::ThreadWatch;

/// How long after the watchdog interrupted a plugin call at its deadline
/// the call may still hold its worker before shutdown stops waiting for the
/// worker's batch: this covers a wait the signal cannot break.
pub const STUCK_AFTER: Duration = Duration::from_millis(500);

/// How long a settle waits, from the first job decided since the previous
/// settle returned, for more of its batch's jobs to be decided (unless all
/// are): a job waits at most this long for company, and a batch being
/// decided is settled in a few pipelines rather than one per job.
const LINGER: Duration = Duration::from_millis(1);

/// The fewest entries a batch gives a worker: a smaller batch is decided on
/// fewer workers, as handing it to another thread costs more than the
/// jobs take.
const MIN_CHUNK: usize = 8;

/// How often shutdown looks at a batch's worker.
const STUCK_POLL: Duration = Duration::from_millis(50);

/// Entries read together, with what they were read under.
pub struct Batch {
    /// The rules the entries were read with; they are decided and settled
    /// with the same ones, whatever a reload swaps in meanwhile.
    snapshot: Arc<Snapshot>,
    /// The entries, at least one.
    entries: Vec<Entry>,
    /// One in-flight permit per entry, released when all are settled.
    permit: OwnedSemaphorePermit,
}

impl Batch {
    /// A batch of `entries`, or `None` when the read found nothing. They
    /// were read from the sources of `read_with`; the batch takes the
    /// snapshot in `cell` now if it still reads every one of their streams
    /// (so a job read just after a reload gets the new rules), else
    /// `read_with`. `permit` was taken for a full read; the permits the
    /// entries do not need are given back at once.
    pub fn new(
        cell: &SnapshotCell,
        read_with: Arc<Snapshot>,
        entries: Vec<Entry>,
        mut permit: OwnedSemaphorePermit,
    ) -> Option<Batch> {
        if entries.is_empty() {
            return None;
        }
        let held = permit.num_permits();
        if entries.len() < held {
            drop(permit.split(held - entries.len()));
        }
        let current = cell.current();
        let snapshot = if Arc::ptr_eq(&current, &read_with)
            || entries.iter().all(|e| current.reads(&e.stream))
        {
            current
        } else {
            read_with
        };
        Some(Batch {
            snapshot,
            entries,
            permit,
        })
    }
}

/// An entry as this process names it while it holds it: its stream and id.
type EntryKey = (String, EntryId);

/// The entries this process's batches hold: read (or taken over) and not
/// yet settled or given up. Cheap to clone; clones share the set.
#[derive(Clone, Default)]
pub struct Held(Arc<Mutex<HashSet<EntryKey>>>);

impl Held {
    /// The entries held now. Taken before a read of entries this consumer
    /// may already hold: an entry held now and read then is left to its
    /// batch; one released between the two was settled (acknowledged) before
    /// the read and is not read again.
    pub fn now(&self) -> HashSet<EntryKey> {
        self.0.lock().expect("never poisoned").clone()
    }

    /// `entries` without those in `held`, and how many were left out.
    pub fn without(held: &HashSet<EntryKey>, entries: Vec<Entry>) -> (Vec<Entry>, usize) {
        let before = entries.len();
        let kept: Vec<Entry> = entries
            .into_iter()
            .filter(|e| !held.contains(&(e.stream.clone(), e.id)))
            .collect();
        let skipped = before - kept.len();
        (kept, skipped)
    }

    fn hold(&self, keys: &[EntryKey]) {
        self.0
            .lock()
            .expect("never poisoned")
            .extend(keys.iter().cloned());
    }

    fn release(&self, keys: &[EntryKey]) {
        let mut held = self.0.lock().expect("never poisoned");
        for key in keys {
            held.remove(key);
        }
    }
}

/// What runs batches: the workers, the dispatcher and the in-flight limit;
/// cheap to clone.
#[derive(Clone)]
pub struct Processor {
    /// How entries are decoded (limits) and how many are read at once.
    pub consumer: Arc<ConsumerSettings>,
    /// The snapshot new batches are read with.
    pub snapshot: SnapshotCell,
    /// Settles batches.
    pub dispatcher: Dispatcher,
    /// Permits for entries read but not settled; never closed.
    pub in_flight: Arc<Semaphore>,
    /// Permits for worker threads running plugins; never closed.
    pub workers: Arc<Semaphore>,
    /// Once requested, a batch whose worker is stuck is given up.
    pub shutdown: Shutdown,
    /// The entries batches hold now.
    pub held: Held,
    /// Marked as jobs are decided and reads return, for systemd's watchdog.
    pub progress: Arc<Progress>,
    /// Where the read loops say whether they can read.
    pub readiness: Arc<Readiness>,
}

impl Processor {
    /// Permits for one full read; waits while `in-flight` entries are out.
    pub async fn permit(&self) -> OwnedSemaphorePermit {
        self.in_flight
            .clone()
            .acquire_many_owned(self.consumer.batch as u32)
            .await
            .expect("the in-flight semaphore is never closed")
    }

    /// Warms the path a job takes, so the first job read is as fast as the
    /// rest: instantiates each plugin of the current snapshot once per
    /// worker (all at once, so as many instance slots are touched as calls
    /// can run together) on a worker thread, and drops the instances
    /// uncalled. The settle script was loaded, and its connection made a
    /// round trip, when the dispatcher was made.
    pub async fn warm(&self) {
        let snapshot = self.snapshot.current();
        if snapshot.plugins.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        let worker = self
            .workers
            .clone()
            .acquire_owned()
            .await
            .expect("the worker semaphore is never closed");
        let instances = self.consumer.workers.max(1);
        let warmed = tokio::task::spawn_blocking(move || {
            let _worker = worker;
            for plugin in snapshot.plugins.values() {
                let mut warm = Vec::with_capacity(instances);
                for _ in 0..instances {
                    let mut store = plugin.store("warm-up");
                    if let Err(e) = plugin.pre.instantiate(&mut store) {
                        // Its jobs will say what is wrong, job by job.
                        tracing::debug!(plugin = %plugin.version(), "cannot warm up: {e:#}");
                        break;
                    }
                    warm.push(store);
                }
            }
        })
        .await;
        if let Err(e) = warmed {
            tracing::warn!("warming up the plugins {}", super::supervise::panic_text(e));
        }
        tracing::debug!(
            ms = started.elapsed().as_millis() as u64,
            "plugins warmed up"
        );
    }

    /// Runs `batch` in `batches`, in the background, until it is settled;
    /// its entries are [`Held`] meanwhile. The task fails only if Redis
    /// refuses the settlements for good.
    pub fn start(&self, batch: Batch, batches: &mut JoinSet<anyhow::Result<()>>) {
        let m = metrics();
        let streams: BTreeSet<&str> = batch.entries.iter().map(|e| e.stream.as_str()).collect();
        for stream in streams {
            m.read(
                stream,
                batch.entries.iter().filter(|e| e.stream == stream).count(),
            );
        }
        m.in_flight.inc_by(batch.entries.len() as i64);
        let keys: Vec<EntryKey> = batch
            .entries
            .iter()
            .map(|e| (e.stream.clone(), e.id))
            .collect();
        self.held.hold(&keys);
        let processor = self.clone();
        batches.spawn(async move { processor.run(batch, keys).await });
    }

    /// Decides `batch` in chunks, one worker thread each, and settles what
    /// is decided as it comes: each settle takes every settlement decided
    /// since the previous one returned. Each settled entry is released
    /// (held, its in-flight permit) at once; entries left undecided because
    /// shutdown gave up on a stuck worker are released at the end, still
    /// pending.
    async fn run(&self, batch: Batch, keys: Vec<EntryKey>) -> anyhow::Result<()> {
        let Batch {
            snapshot,
            entries,
            mut permit,
        } = batch;
        let mut unsettled: HashSet<EntryKey> = keys.into_iter().collect();
        let (decided, mut deciding) = mpsc::unbounded_channel();
        let chunks = self.chunks(&snapshot, entries, decided);
        let mut report = Report::default();
        let mut settled = Ok(());
        let mut given_up = false;
        loop {
            let first = match self.next_decided(&mut deciding, &chunks).await {
                Next::Decided(first) => first,
                Next::Done => break,
                Next::GivenUp => {
                    given_up = true;
                    break;
                }
            };
            let mut ready = vec![first];
            let flush = tokio::time::Instant::now() + LINGER;
            loop {
                tokio::select! {
                    more = deciding.recv() => match more {
                        Some(more) => ready.push(more),
                        // Every chunk is done: nothing more to wait for.
                        None => break,
                    },
                    _ = tokio::time::sleep_until(flush) => break,
                }
            }
            let keys: Vec<EntryKey> = ready
                .iter()
                .map(|s| (s.source().to_owned(), s.entry_id()))
                .collect();
            settled = self.settle(&snapshot, ready, &mut report).await;
            self.release(&keys, &mut unsettled, &mut permit);
            if settled.is_err() {
                given_up = true;
                break;
            }
        }
        // Given up: a chunk still running waits for a worker, or its thread
        // is stuck, and what it decides is not settled here. Otherwise every
        // chunk has sent all it decided, and its task ends now (or has
        // ended), with its panic if its thread panicked.
        drop(deciding);
        let mut panicked = None;
        for chunk in chunks {
            if given_up && !chunk.task.is_finished() {
                chunk.task.abort();
                continue;
            }
            if let Err(e) = chunk.task.await
                && e.is_panic()
            {
                panicked = Some(e.into_panic());
            }
        }
        self.report(report).await;
        let left: Vec<EntryKey> = unsettled.iter().cloned().collect();
        self.release(&left, &mut unsettled, &mut permit);
        if let Some(panic) = panicked {
            std::panic::resume_unwind(panic);
        }
        Ok(settled?)
    }

    /// Splits `entries` into one chunk per worker (in order) and starts
    /// each: it waits for a worker permit, then decides its entries on a
    /// blocking thread, sending each settlement to `decided` as soon as it
    /// is made.
    fn chunks(
        &self,
        snapshot: &Arc<Snapshot>,
        mut entries: Vec<Entry>,
        decided: mpsc::UnboundedSender<Settlement>,
    ) -> Vec<Chunk> {
        let size = entries
            .len()
            .div_ceil(self.consumer.workers.max(1))
            .max(MIN_CHUNK);
        let mut chunks = Vec::new();
        while !entries.is_empty() {
            let rest = entries.split_off(size.min(entries.len()));
            let chunk = std::mem::replace(&mut entries, rest);
            let watch = Arc::new(OnceLock::new());
            let watching = watch.clone();
            let (snapshot, consumer) = (snapshot.clone(), self.consumer.clone());
            let (workers, progress) = (self.workers.clone(), self.progress.clone());
            let decided = decided.clone();
            let task = tokio::spawn(async move {
                let worker = workers
                    .acquire_owned()
                    .await
                    .expect("the worker semaphore is never closed");
                tokio::task::spawn_blocking(move || {
                    let _worker = worker;
                    // Set once, by this thread only: it cannot be refused.
                    let _ = watching.set(ThreadWatch::current());
                    // What decides this chunk's entries, one at a time.
                    let mut deciding = crate::pipeline::Deciding::new(&snapshot, &consumer);
                    for entry in chunk {
                        let settlement = deciding.decide(entry);
                        progress.mark();
                        if decided.send(settlement).is_err() {
                            // The batch gave up (shutdown, Redis refusing
                            // for good): the rest stays pending.
                            return;
                        }
                    }
                })
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
            });
            chunks.push(Chunk { task, watch });
        }
        chunks
    }

    /// The next decided settlement, or that every chunk is done, or that
    /// shutdown gives up on the batch: every chunk still running is
    /// stuck in a plugin's host call [`STUCK_AFTER`] after the watchdog
    /// interrupted it, or waiting for a worker behind such a call.
    async fn next_decided(
        &self,
        deciding: &mut mpsc::UnboundedReceiver<Settlement>,
        chunks: &[Chunk],
    ) -> Next {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            decided = deciding.recv() => return decided.map_or(Next::Done, Next::Decided),
            _ = shutdown.requested() => {}
        }
        loop {
            tokio::select! {
                decided = deciding.recv() => return decided.map_or(Next::Done, Next::Decided),
                _ = tokio::time::sleep(STUCK_POLL) => {}
            }
            let running: Vec<&Chunk> = chunks.iter().filter(|c| !c.task.is_finished()).collect();
            let overdue = |chunk: &&Chunk| {
                chunk
                    .watch
                    .get()
                    .and_then(|watch| watch.overdue())
                    .filter(|overdue| *overdue > STUCK_AFTER)
            };
            let Some(stuck) = running.iter().find_map(overdue) else {
                continue;
            };
            // A chunk that has not started waits for a worker; one of this
            // batch's is stuck, so it may wait for ever.
            if running
                .iter()
                .all(|chunk| chunk.watch.get().is_none() || overdue(chunk).is_some())
            {
                tracing::error!(
                    "shutting down: a worker is stuck in a plugin's host call {} ms after the \
                     watchdog interrupted it at its deadline; the entries of its batch not yet \
                     decided are left pending, to be read again or reclaimed",
                    stuck.as_millis()
                );
                return Next::GivenUp;
            }
        }
    }

    /// Releases the entries `keys` (settled, or given up): no longer held,
    /// nor in flight, their permits given back.
    fn release(
        &self,
        keys: &[EntryKey],
        unsettled: &mut HashSet<EntryKey>,
        permit: &mut OwnedSemaphorePermit,
    ) {
        let keys: Vec<EntryKey> = keys
            .iter()
            .filter(|key| unsettled.remove(*key))
            .cloned()
            .collect();
        if keys.is_empty() {
            return;
        }
        self.held.release(&keys);
        metrics().in_flight.dec_by(keys.len() as i64);
        drop(permit.split(keys.len()));
    }

    /// Settles `settlements`, retrying while Redis is unavailable. A
    /// settlement Redis refuses (a target of the wrong type) becomes a dead
    /// letter of `snapshot`'s route. What happens to many entries of the
    /// batch alike (settled by another consumer, their group gone) goes to
    /// `report`, to be logged once for the batch. Fails only when Redis
    /// refuses for good ([`Unusable`]).
    async fn settle(
        &self,
        snapshot: &Snapshot,
        settlements: Vec<Settlement>,
        report: &mut Report,
    ) -> Result<(), Unusable> {
        let mut dispatcher = self.dispatcher.clone();
        let mut backoff = Backoff::default();
        let mut pending = settlements;
        loop {
            let results = match dispatcher.settle(&pending).await {
                Ok(results) => results,
                Err(e) => {
                    backoff.fail(RedisOp::Settle, &e, &mut Settling).await?;
                    continue;
                }
            };
            let mut retry = Vec::new();
            let mut unavailable = None;
            for (settled, settlement) in results.into_iter().zip(pending) {
                match settled {
                    Settled::Unavailable(e) => {
                        // Not this job's fault: try it again as it is.
                        unavailable.get_or_insert(e);
                        retry.push(settlement);
                    }
                    Settled::Done(outcome) => record(&settlement, outcome),
                    Settled::NotOwner => report
                        .not_owned
                        .entry(settlement.source().to_owned())
                        .or_default()
                        .push(settlement.entry_id()),
                    Settled::NoGroup => report
                        .no_group
                        .entry(settlement.source().to_owned())
                        .or_default()
                        .push(settlement.entry_id()),
                    Settled::Refused(reason) if settlement.outcome() != Outcome::DeadLettered => {
                        tracing::warn!(
                            job = %settlement.job_id(), stream = %settlement.source(), entry = %settlement.entry_id(),
                            "cannot write the outcome ({reason}); dead-lettering it"
                        );
                        retry.push(refused(snapshot, settlement, reason));
                    }
                    Settled::Refused(reason) => tracing::error!(
                        job = %settlement.job_id(), stream = %settlement.source(), entry = %settlement.entry_id(),
                        "cannot dead-letter the entry ({reason}); it stays pending"
                    ),
                }
            }
            if retry.is_empty() {
                return Ok(());
            }
            pending = retry;
            if let Some(e) = unavailable {
                backoff.fail(RedisOp::Settle, &e, &mut Settling).await?;
            }
        }
    }

    /// Logs once, with a count, what happened to many of a batch's entries
    /// alike, and creates again the groups found gone.
    async fn report(&self, report: Report) {
        for (stream, ids) in report.not_owned {
            tracing::info!(
                %stream, entries = ids.len(), first = %ids[0],
                "entries of this batch were claimed by another consumer (or settled already); nothing written for them here"
            );
        }
        let mut dispatcher = self.dispatcher.clone();
        for (stream, ids) in report.no_group {
            let group = &self.consumer.group;
            match dispatcher.create_group(&stream).await {
                Ok(true) => group_recreated(&stream, group),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(%stream, "cannot create consumer group {group} again: {e}")
                }
            }
            tracing::warn!(
                %stream, entries = ids.len(), first = %ids[0],
                "consumer group {group} was gone when this batch settled; nothing written for its entries, which the recreated group delivers again if they are still in the stream"
            );
        }
    }
}

/// What a batch's settle loop waits for next.
enum Next {
    /// A job decided, to be settled.
    Decided(Settlement),
    /// Every chunk has ended: all is decided (or a worker panicked).
    Done,
    /// Shutdown gave up on the batch's stuck workers.
    GivenUp,
}

/// A part of a batch being decided on a worker thread of its own.
struct Chunk {
    /// Waits for a worker, then decides the chunk's entries on it; ends
    /// when all are sent (or the batch stopped listening).
    task: tokio::task::JoinHandle<()>,
    /// The worker thread's watch, once it has started.
    watch: Arc<OnceLock<Arc<ThreadWatch>>>,
}

/// What happened to many of a batch's entries alike, per source stream,
/// gathered over its settles to be logged once.
#[derive(Default)]
struct Report {
    /// Entries another consumer settles (or settled already).
    not_owned: BTreeMap<String, Vec<EntryId>>,
    /// Entries whose consumer group was gone.
    no_group: BTreeMap<String, Vec<EntryId>>,
}

/// The dead letter for a settlement Redis refused: to its route's
/// dead-letter stream in the batch's snapshot.
fn refused(snapshot: &Snapshot, settlement: Settlement, reason: String) -> Settlement {
    let route = settlement.route().map(str::to_owned);
    let dead_letters = route
        .as_deref()
        .and_then(|name| snapshot.route_named(name))
        .map_or_else(
            || snapshot.dead_letters_for(settlement.source()),
            |route| route.settings.dead_letters.as_str(),
        )
        .to_owned();
    Settlement::dead_letter(
        settlement.into_entry(),
        route.as_deref(),
        &dead_letters,
        &Failure::Refused { reason },
        &[],
    )
}

/// Counts and logs a settled job.
fn record(settlement: &Settlement, outcome: Outcome) {
    let route = settlement.route().unwrap_or("none");
    for write in settlement.writes() {
        metrics().settled(route, outcome.name(), &write.stream);
    }
    tracing::debug!(
        job = %settlement.job_id(), stream = %settlement.source(), entry = %settlement.entry_id(),
        to = ?settlement.writes().iter().map(|w| w.stream.as_str()).collect::<Vec<_>>(),
        "{}", outcome.name()
    );
}

/// Says (once, at warn) and counts that `group` was missing on `stream` and
/// was created again.
pub fn group_recreated(stream: &str, group: &str) {
    tracing::warn!(
        %stream, %group,
        "consumer group {group} was missing on stream {stream}; recreated from the stream's start"
    );
    metrics()
        .groups_recreated
        .get_or_create(&StreamLabels {
            stream: stream.to_owned(),
        })
        .inc();
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Settings;
    use crate::pipeline::job::EntryId;
    use crate::plugin::Runtime;

    /// A null-pipeline snapshot (no plugin file needed) of one route reading
    /// `source`.
    fn snapshot(runtime: &Runtime, source: &str) -> Snapshot {
        let text = format!(
            "[redis]\nurl = \"redis://127.0.0.1:1\"\n[[routes]]\nsource = \"{source}\"\n\
             router = \"r\"\ntargets = [\"out\"]\nrejected = \"rej\"\ndead-letters = \"dead:{source}\"\n"
        );
        let mut settings = Settings::parse(Path::new("t.toml"), &text, None, None).unwrap();
        settings.consumer.null_pipeline = true;
        Snapshot::build(runtime, &settings, None).unwrap()
    }

    fn entries(stream: &str) -> Vec<Entry> {
        vec![Entry {
            stream: stream.to_owned(),
            id: EntryId { ms: 1, seq: 0 },
            fields: Vec::new(),
            deliveries: 1,
        }]
    }

    fn permit() -> OwnedSemaphorePermit {
        Arc::new(Semaphore::new(4))
            .try_acquire_many_owned(4)
            .unwrap()
    }

    #[test]
    fn a_batch_takes_the_newest_snapshot_that_still_reads_its_streams() {
        let runtime = Runtime::new().unwrap();
        let old = Arc::new(snapshot(&runtime, "jobs"));
        let cell = SnapshotCell::new(snapshot(&runtime, "jobs"));
        let batch = Batch::new(&cell, old.clone(), entries("jobs"), permit()).unwrap();
        assert!(Arc::ptr_eq(&batch.snapshot, &cell.current()));
        assert_eq!(batch.permit.num_permits(), 1, "unused permits go back");

        // A reload dropped the source while the read was under way: the
        // batch keeps the rules it was read with, dead letters included.
        cell.swap(snapshot(&runtime, "other"));
        let batch = Batch::new(&cell, old.clone(), entries("jobs"), permit()).unwrap();
        assert!(Arc::ptr_eq(&batch.snapshot, &old));
        assert_eq!(batch.snapshot.dead_letters_for("jobs"), "dead:jobs");

        assert!(Batch::new(&cell, old, Vec::new(), permit()).is_none());
    }
}
