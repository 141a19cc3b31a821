//! The instances one batch of jobs shares: `isolation = "batch"`.
//!
//! A plugin with `isolation = "batch"` gets one fresh instance per batch,
//! made at its first call and called once per job, instead of one per job:
//! the instantiation (several microseconds) is paid once per batch. What a
//! job leaves in the instance's memory, the batch's next jobs can see;
//! nothing survives the batch, since [`Instances`] drops every instance with
//! itself. Each call still gets its own deadline, its log lines name its own
//! job, and an instance that faults (trap, deadline, memory, bad output) is
//! dropped at once: the next job gets a fresh one. Plugins with `isolation =
//! "job"` are called in a fresh instance as ever.

use super::call::{Held, Validation};
use super::error::Fault;
use super::load::{Isolation, Plugin};
use super::{Decision, Job};

/// The live instances of one batch, one per plugin with `isolation =
/// "batch"` that the batch has called; dropped with the batch.
#[derive(Default)]
pub struct Instances<'a> {
    /// Each batch-isolated plugin called so far, with its instance (empty
    /// after a fault, until its next call).
    held: Vec<(&'a Plugin, Held)>,
}

impl std::fmt::Debug for Instances<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.held
                    .iter()
                    .map(|(plugin, held)| (plugin.version(), held.is_some())),
            )
            .finish()
    }
}

impl<'a> Instances<'a> {
    /// No instance yet: each is made at its plugin's first call.
    pub fn new() -> Instances<'a> {
        Instances::default()
    }

    /// Runs `plugin`'s `validate` on `job` (see [`Plugin::validate`]): in
    /// the batch's instance of it if its isolation is `"batch"`, else in a
    /// fresh one.
    pub fn validate(
        &mut self,
        plugin: &'a Plugin,
        job: &Job,
        job_id: &str,
    ) -> Result<Validation, Fault> {
        let held = self.slot(plugin);
        plugin.validate_in(job, job_id, held)
    }

    /// Runs `plugin`'s `route` on `job` (see [`Plugin::route`]): in the
    /// batch's instance of it if its isolation is `"batch"`, else in a fresh
    /// one.
    pub fn route(
        &mut self,
        plugin: &'a Plugin,
        job: &Job,
        job_id: &str,
        allowed: Option<&[String]>,
    ) -> Result<Decision, Fault> {
        let held = self.slot(plugin);
        plugin.route_in(job, job_id, allowed, held)
    }

    /// Where `plugin`'s instance is kept; `None` for a plugin whose
    /// instances live for one job.
    fn slot(&mut self, plugin: &'a Plugin) -> Option<&mut Held> {
        if plugin.isolation() != Isolation::Batch {
            return None;
        }
        // A linear search: a route has a handful of plugins.
        let index = match self
            .held
            .iter()
            .position(|(known, _)| std::ptr::eq(*known, plugin))
        {
            Some(index) => index,
            None => {
                self.held.push((plugin, None));
                self.held.len() - 1
            }
        };
        Some(&mut self.held[index].1)
    }
}
