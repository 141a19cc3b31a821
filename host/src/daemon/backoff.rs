//! Waiting out Redis: exponential backoff from 100 ms to 5 s, each failure
//! logged once and counted by what the daemon was doing ([`RedisOp`]).
//!
//! Intake's waits end early at shutdown; a settle's never do, since jobs in
//! flight must finish ([`Settling`]).

use std::fmt;
use std::time::Duration;

use super::metrics::metrics;
use super::shutdown::Shutdown;

/// The first sleep after a failure.
const FIRST_DELAY: Duration = Duration::from_millis(100);
/// The longest sleep between two attempts.
const MAX_DELAY: Duration = Duration::from_secs(5);

/// What the daemon was doing when Redis failed it: a log's words and the
/// `op` label of `switchyard_redis_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisOp {
    /// Opening a connection.
    Connect,
    /// Creating the consumer groups on the sources.
    CreateGroups,
    /// Loading the settle script.
    LoadScript,
    /// Reading entries from the sources.
    Read,
    /// Taking over entries idle with other consumers.
    Claim,
    /// Settling jobs.
    Settle,
}

impl RedisOp {
    /// Every operation, for the metric series created at 0.
    pub const ALL: [RedisOp; 6] = [
        RedisOp::Connect,
        RedisOp::CreateGroups,
        RedisOp::LoadScript,
        RedisOp::Read,
        RedisOp::Claim,
        RedisOp::Settle,
    ];

    /// The metric label value.
    pub fn label(self) -> &'static str {
        match self {
            RedisOp::Connect => "connect",
            RedisOp::CreateGroups => "create_groups",
            RedisOp::LoadScript => "load_script",
            RedisOp::Read => "read",
            RedisOp::Claim => "claim",
            RedisOp::Settle => "settle",
        }
    }
}

/// What the daemon could not do, for a log line: "cannot {op}".
impl fmt::Display for RedisOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RedisOp::Connect => "connect to Redis",
            RedisOp::CreateGroups => "create the consumer groups",
            RedisOp::LoadScript => "load the settle script",
            RedisOp::Read => "read from the source streams",
            RedisOp::Claim => "claim idle entries",
            RedisOp::Settle => "settle jobs",
        })
    }
}

/// Something a backoff sleep can be cut short by. Used inside the daemon
/// only, where no caller needs the future to be `Send` by name.
#[allow(async_fn_in_trait)]
pub trait Interrupt {
    /// Completes when the sleep should end early.
    async fn wait(&mut self);
}

impl Interrupt for Shutdown {
    async fn wait(&mut self) {
        self.requested().await
    }
}

/// Settling goes on through shutdown: jobs in flight must finish.
pub struct Settling;

impl Interrupt for Settling {
    async fn wait(&mut self) {
        std::future::pending::<()>().await
    }
}

/// Exponential backoff, logging each failure once.
pub struct Backoff {
    /// Failures since the last success.
    failures: u32,
    /// The next sleep.
    delay: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            failures: 0,
            delay: FIRST_DELAY,
        }
    }
}

impl Backoff {
    /// Whether the last attempt failed.
    pub fn failing(&self) -> bool {
        self.failures > 0
    }

    /// Forgets past failures: the next one sleeps [`FIRST_DELAY`].
    pub fn reset(&mut self) {
        *self = Backoff::default();
    }

    /// Logs and counts a failure of `op`, then sleeps (less if `interrupt`
    /// fires first), twice as long as last time, at most [`MAX_DELAY`].
    pub async fn fail(
        &mut self,
        op: RedisOp,
        error: &redis::RedisError,
        interrupt: &mut impl Interrupt,
    ) {
        self.failures += 1;
        metrics().redis_error(op.label());
        tracing::warn!(
            attempt = self.failures,
            "cannot {op}: {error}; retrying in {:?}",
            self.delay
        );
        tokio::select! {
            _ = interrupt.wait() => {}
            _ = tokio::time::sleep(self.delay) => {}
        }
        self.delay = (self.delay * 2).min(MAX_DELAY);
    }
}

/// Runs `attempt` until it succeeds (`Some`) or shutdown is requested
/// (`None`).
pub async fn retry<T>(
    op: RedisOp,
    shutdown: &mut Shutdown,
    mut attempt: impl AsyncFnMut() -> redis::RedisResult<T>,
) -> Option<T> {
    let mut backoff = Backoff::default();
    loop {
        if shutdown.is_requested() {
            return None;
        }
        match attempt().await {
            Ok(value) => return Some(value),
            Err(e) => backoff.fail(op, &e, shutdown).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_operation_once_in_order() {
        for (i, op) in RedisOp::ALL.into_iter().enumerate() {
            // Adding a variant breaks this match: add it to ALL as well.
            let position = match op {
                RedisOp::Connect => 0,
                RedisOp::CreateGroups => 1,
                RedisOp::LoadScript => 2,
                RedisOp::Read => 3,
                RedisOp::Claim => 4,
                RedisOp::Settle => 5,
            };
            assert_eq!(position, i, "{op:?}");
        }
    }
}
