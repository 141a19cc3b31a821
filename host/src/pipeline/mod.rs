//! A job's path through switchyard, one stage a file, in the order a job
//! meets them:
//! - [`intake`]: reads entries with `XREADGROUP` (and takes over abandoned
//!   ones with `XAUTOCLAIM`).
//! - [`job`]: an entry decoded into a [`job::Job`]; entry ids and cursors.
//! - [`failure`]: the typed [`failure::Stage`] and [`failure::Failure`] a
//!   dead letter records, and the [`failure::Halt`] a stage stops a job with.
//! - [`validate`]: the route's validators turn a `Job` into a `Validated`.
//! - [`route`]: the route's router turns a `Validated` into a `Routed`.
//! - [`settle`]: every outcome (routed, rejected, dead letter) as the writes
//!   it needs: a `Settlement`.
//! - [`dispatch`]: performs a settlement atomically: XADD + status + XACK.
//! - [`status`]: the status record a front end reads.
pub mod dispatch;
pub mod failure;
pub mod intake;
pub mod job;
pub mod route;
pub mod settle;
pub mod snapshot;
pub mod status;
pub mod validate;

use self::snapshot::Snapshot;
use crate::config::ConsumerSettings;
use crate::plugin::Instances;
use failure::Failure;
use job::{DecodeLimits, Entry, Job};
use settle::Settlement;

/// Decides what becomes of one entry: the whole path short of Redis, with
/// the rules of `snapshot` (the one its batch was read with). Decode, match,
/// validate, route; whichever stage stops the job says how it ends.
///
/// A batch of one: plugins with `isolation = "batch"` get a fresh instance
/// for this entry alone. A batch loop decides its entries with one
/// [`Deciding`] instead.
pub fn decide(snapshot: &Snapshot, consumer: &ConsumerSettings, entry: Entry) -> Settlement {
    Deciding::new(snapshot, consumer).decide(entry)
}

/// Decides the entries of one batch (or of one chunk of it), one after the
/// other, with the rules of the `snapshot` the batch was read with.
///
/// It holds the batch's plugin instances: one per plugin with `isolation =
/// "batch"`, made at the plugin's first call and called once per entry,
/// dropped with the `Deciding` (so nothing survives the batch) or at once
/// after a fault (so the next entry gets a fresh one). Plugins with
/// `isolation = "job"` get a fresh instance per call, as in [`decide`].
#[derive(Debug)]
pub struct Deciding<'a> {
    /// The rules of the batch.
    snapshot: &'a Snapshot,
    /// The decode limits and where dead letters go.
    consumer: &'a ConsumerSettings,
    /// The batch-isolated plugins' instances, made as they are first called.
    instances: Instances<'a>,
}

impl<'a> Deciding<'a> {
    /// Ready to decide a batch read with `snapshot`; no instance made yet.
    pub fn new(snapshot: &'a Snapshot, consumer: &'a ConsumerSettings) -> Deciding<'a> {
        Deciding {
            snapshot,
            consumer,
            instances: Instances::new(),
        }
    }

    /// Decides what becomes of `entry` (see [`decide`]).
    pub fn decide(&mut self, entry: Entry) -> Settlement {
        let (snapshot, consumer) = (self.snapshot, self.consumer);
        let limits = DecodeLimits {
            max_deliveries: consumer.max_deliveries,
            max_bytes: consumer.max_entry_bytes,
        };
        let job = match Job::decode(entry, limits) {
            Ok(job) => job,
            Err((entry, error)) => {
                let dead_letters = snapshot.dead_letters_for(&entry.stream);
                return Settlement::dead_letter(
                    entry,
                    None,
                    dead_letters,
                    &Failure::Undecodable(error),
                    &[],
                );
            }
        };
        let Some(route) = snapshot.route_for(job.entry()) else {
            let entry = job.into_entry();
            let failure = Failure::NoRoute {
                stream: entry.stream.clone(),
                service: entry.field("service").map(str::to_owned),
            };
            let dead_letters = snapshot.dead_letters_for(&entry.stream);
            return Settlement::dead_letter(entry, None, dead_letters, &failure, &[]);
        };
        let instances = &mut self.instances;
        match validate::validate(route, job, instances)
            .and_then(|valid| route::route(route, valid, instances))
        {
            Ok(routed) => Settlement::dispatched(routed),
            Err(halt) => Settlement::halted(*halt, &route.settings),
        }
    }
}
