//! Shutdown: the signal every task stops on.
//!
//! The first SIGINT or SIGTERM asks for a graceful stop: intake stops, jobs
//! in flight finish and are acknowledged, the daemon exits 0. A second
//! signal exits at once; entries not yet settled stay pending in Redis and
//! are re-read or reclaimed later, so nothing is lost. So does the end of
//! `[consumer] shutdown-timeout` after the first (Redis refusing every
//! settle would otherwise hold the stop forever), exiting 1 with the count
//! of jobs left in flight.

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

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
    /// Listens for SIGINT and SIGTERM. At the second signal, or `timeout`
    /// after the first, the process exits at once, after sending SIGTERM
    /// to the process in `child` (the embedded Redis), if any.
    pub fn listen(
        child: Option<Arc<AtomicU32>>,
        timeout: Option<Duration>,
    ) -> std::io::Result<Shutdown> {
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
                    if let Some(timeout) = timeout {
                        let child = child.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(timeout).await;
                            let left = crate::metrics::metrics().in_flight.get();
                            tracing::error!(
                                "[consumer] shutdown-timeout ({timeout:.1?}) has passed with \
                                 {left} jobs still in flight (is Redis refusing their settles?): \
                                 exiting now; their entries stay pending in the group, re-read \
                                 at restart or claimed by another daemon"
                            );
                            exit(child.as_ref(), 1);
                        });
                    }
                } else {
                    tracing::warn!("second signal: exiting now; unfinished entries stay pending");
                    exit(child.as_ref(), 130);
                }
            }
        });
        Ok(Shutdown {
            requested: rx,
            request,
        })
    }

    /// Asks every task to stop, as the first signal does (the timeout does
    /// not apply: a stop asked in code follows a task's failure, and the
    /// daemon exits as soon as the batches in flight end).
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

/// Exits with `code` at once, first stopping the embedded Redis in `child`.
fn exit(child: Option<&Arc<AtomicU32>>, code: i32) -> ! {
    if let Some(pid) = child {
        crate::store::terminate(pid);
    }
    std::process::exit(code)
}
