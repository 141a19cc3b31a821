//! Supervision: every background task of the daemon runs under a name, and
//! the first one that fails (returns an error or panics) ends the daemon
//! with its cause, so nothing stalls silently behind a green health check.

use std::collections::HashMap;
use std::future::Future;

use anyhow::anyhow;
use tokio::task::{Id, JoinSet};

/// The daemon's background tasks.
#[derive(Default)]
pub struct Supervisor {
    /// Every task still running (or finished and not yet looked at).
    tasks: JoinSet<anyhow::Result<()>>,
    /// Each task's name, for the message that says which one failed.
    names: HashMap<Id, &'static str>,
}

impl Supervisor {
    /// Runs `task` in the background under `name`.
    pub fn spawn(
        &mut self,
        name: &'static str,
        task: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) {
        let id = self.tasks.spawn(task).id();
        self.names.insert(id, name);
    }

    /// Completes with the cause when a task fails; a task that ends well is
    /// let go. Never completes while none fails.
    pub async fn failure(&mut self) -> anyhow::Error {
        loop {
            match self.tasks.join_next_with_id().await {
                None => std::future::pending::<()>().await,
                Some(result) => {
                    if let Err(e) = self.outcome(result) {
                        return e;
                    }
                }
            }
        }
    }

    /// Waits for every task (after shutdown); the first failure, if any.
    pub async fn join(mut self) -> anyhow::Result<()> {
        let mut first = Ok(());
        while let Some(result) = self.tasks.join_next_with_id().await {
            if let Err(e) = self.outcome(result)
                && first.is_ok()
            {
                first = Err(e);
            }
        }
        first
    }

    /// A finished task's result, its failure named.
    fn outcome(
        &mut self,
        result: Result<(Id, anyhow::Result<()>), tokio::task::JoinError>,
    ) -> anyhow::Result<()> {
        match result {
            Ok((id, result)) => {
                let name = self.names.remove(&id).unwrap_or("a task");
                result.map_err(|e| e.context(format!("{name} failed")))
            }
            Err(e) => {
                let name = self.names.remove(&e.id()).unwrap_or("a task");
                Err(anyhow!("{name} {}", panic_text(e)))
            }
        }
    }
}

/// What a task that did not finish left: its panic's message, or that it
/// was cancelled.
pub fn panic_text(error: tokio::task::JoinError) -> String {
    if !error.is_panic() {
        return "was cancelled".to_owned();
    }
    let panic = error.into_panic();
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    format!("panicked: {message}")
}
