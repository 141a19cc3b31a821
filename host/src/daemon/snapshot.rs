//! The one cell the daemon keeps the current [`Snapshot`] in.
//!
//! A batch takes the snapshot in the [`SnapshotCell`] when it is read and
//! holds it until it is settled, so swapping in a new one (hot reload)
//! never changes the rules under a job in flight. A snapshot's metric
//! series are created when it becomes current.

use std::sync::{Arc, RwLock};

use crate::metrics::metrics;
use crate::pipeline::settle::Outcome;
use crate::pipeline::snapshot::{Router, Snapshot};
use crate::plugin::Fault;

/// The snapshot new batches take; hot reload swaps it in one step.
#[derive(Debug, Clone)]
pub struct SnapshotCell(Arc<RwLock<Arc<Snapshot>>>);

impl SnapshotCell {
    /// A cell holding `snapshot`; its metric series are created at 0.
    pub fn new(snapshot: Snapshot) -> SnapshotCell {
        create_series(&snapshot);
        SnapshotCell(Arc::new(RwLock::new(Arc::new(snapshot))))
    }

    /// The current snapshot; the caller keeps it as long as it needs.
    pub fn current(&self) -> Arc<Snapshot> {
        self.0
            .read()
            .expect("the snapshot lock is never poisoned: nothing panics holding it")
            .clone()
    }

    /// Makes `snapshot` the one new batches take, its metric series
    /// created at 0 first.
    pub fn swap(&self, snapshot: Snapshot) {
        create_series(&snapshot);
        *self
            .0
            .write()
            .expect("the snapshot lock is never poisoned: nothing panics holding it") =
            Arc::new(snapshot);
    }
}

/// Creates at 0 every metric series `snapshot` can move that does not
/// exist yet: per source, per route (jobs settled per outcome × the stream
/// it writes, a call per validator and router plugin) and per plugin.
/// Called when a snapshot becomes current; series of an earlier snapshot
/// stay.
fn create_series(snapshot: &Snapshot) {
    let m = metrics();
    for source in snapshot.sources() {
        let dead_letters = snapshot.dead_letters_for(&source);
        m.create_source_series(&source);
        m.create_settled_series("none", Outcome::DeadLettered.name(), dead_letters);
    }
    for route in &snapshot.routes {
        let settings = &route.settings;
        for target in &settings.targets {
            m.create_settled_series(&settings.name, Outcome::Dispatched.name(), target);
        }
        m.create_settled_series(&settings.name, Outcome::Rejected.name(), &settings.rejected);
        m.create_settled_series(
            &settings.name,
            Outcome::DeadLettered.name(),
            &settings.dead_letters,
        );
        let router = match &route.router {
            Router::Plugin(router) => Some(router.name()),
            _ => None,
        };
        m.create_call_series(route.validators.iter().map(|v| v.name()), router);
    }
    for plugin in snapshot.plugins.keys() {
        m.create_plugin_series(plugin, &Fault::KINDS);
    }
}
