//! Shutdown: the signal every task stops on.
//!
//! The first SIGINT or SIGTERM asks for a graceful stop: intake stops, jobs
//! in flight finish and are acknowledged, the daemon exits 0. A second
//! signal exits at once; entries not yet settled stay pending in Redis and
//! are re-read or reclaimed later, so nothing is lost.

use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// A handle tasks wait on; cheap to clone.
#[derive(Clone)]
pub struct Shutdown {
    /// Turns `true` once, at the first signal (or when asked in code).
    requested: watch::Receiver<bool>,
    /// Asks in code: a task's failure stops the daemon as a signal would.
    request: Arc<watch::Sender<bool>>,
}

impl Shutdown {
    /// Listens for SIGINT and SIGTERM. At the second signal the process
    /// exits at once, after sending SIGTERM to the process in `child` (the
    /// embedded Redis), if any.
    pub fn listen(child: Option<Arc<AtomicU32>>) -> std::io::Result<Shutdown> {
        let (tx, rx) = watch::channel(false);
        let tx = Arc::new(tx);
        let request = tx.clone();
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::spawn(async move {
            let mut count = 0;
            loop {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
                count += 1;
                if count == 1 {
                    tracing::info!(
                        "shutting down: finishing jobs in flight (signal again to exit at once)"
                    );
                    tx.send_replace(true);
                } else {
                    tracing::warn!("second signal: exiting now; unfinished entries stay pending");
                    if let Some(pid) = &child {
                        crate::store::terminate(pid);
                    }
                    std::process::exit(130);
                }
            }
        });
        Ok(Shutdown {
            requested: rx,
            request,
        })
    }

    /// Asks every task to stop, as the first signal does.
    pub fn request(&self) {
        self.request.send_replace(true);
    }

    /// Whether shutdown has been requested.
    pub fn is_requested(&self) -> bool {
        *self.requested.borrow()
    }

    /// Completes when shutdown is requested.
    pub async fn requested(&mut self) {
        // Fails only once the sender is gone, which `self.request` keeps.
        let _ = self.requested.wait_for(|stop| *stop).await;
    }
}
