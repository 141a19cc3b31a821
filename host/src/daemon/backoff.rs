//! Waiting out Redis: exponential backoff with jitter (`backon`), each
//! failure logged once and counted by what the daemon was doing
//! ([`RedisOp`]).
//!
//! Only failures that can pass are waited out (connection refused, a
//! timeout, Redis loading its data or out of memory). One that retrying
//! cannot fix (a URL or TLS setting the client refuses, a refused password,
//! an ACL that forbids a command, a command the server does not know) is
//! [`Unusable`]: it ends the daemon at once with its cause, so systemd sees
//! the exit instead of a process that retries forever.
//!
//! Intake's waits end early at shutdown; a settle's never do, since jobs in
//! flight must finish ([`Settling`]).

use std::fmt;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use redis::{ErrorKind, RedisError, ServerErrorKind};

use super::shutdown::Shutdown;
use crate::metrics::metrics;

/// The first sleep after a failure, before jitter (which adds up to as
/// much again).
const FIRST_DELAY: Duration = Duration::from_millis(100);
/// The longest sleep between two attempts, before jitter: sleeps end up
/// between 2.5 and 5 s.
const MAX_DELAY: Duration = Duration::from_millis(2_500);

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

    /// Creates `switchyard_redis_errors_total` at 0 for every operation,
    /// so an alert sees the first failure.
    pub fn create_series() {
        for op in RedisOp::ALL {
            metrics().create_redis_error_series(op.label());
        }
    }

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

/// A Redis failure that retrying cannot fix; it ends the daemon. The
/// daemon's `run` adds the (redacted) URL.
#[derive(Debug, thiserror::Error)]
#[error("cannot {op}: {error} (retrying cannot fix this)")]
pub struct Unusable {
    /// What the daemon was doing.
    pub op: RedisOp,
    /// What Redis or the client answered.
    pub error: RedisError,
}

/// Whether `error` will come back however long the daemon waits: the
/// client refuses its own settings, the server refuses who we are or what
/// we ask. Anything else (connection refused or dropped, timeouts,
/// `LOADING`, `OOM`, `BUSY`, `NOGROUP`, `WRONGTYPE` on one source, cluster
/// redirections) may pass.
pub fn is_permanent(error: &RedisError) -> bool {
    match error.kind() {
        ErrorKind::InvalidClientConfig
        | ErrorKind::AuthenticationFailed
        | ErrorKind::RESP3NotSupported
        | ErrorKind::EmptySentinelList
        | ErrorKind::Client
        | ErrorKind::Server(ServerErrorKind::NoPerm) => true,
        ErrorKind::Server(ServerErrorKind::ResponseError) => {
            let detail = error.detail().unwrap_or_default().to_ascii_lowercase();
            [
                "unknown command",
                "unknown subcommand",
                "db index is out of range",
                "wrong number of arguments",
            ]
            .iter()
            .any(|words| detail.contains(words))
        }
        ErrorKind::Extension => matches!(error.code(), Some("WRONGPASS" | "NOAUTH" | "NOPERM")),
        // The socket's permissions refuse us (redis-rs retries no I/O
        // error but that kind).
        ErrorKind::Io => matches!(error.retry_method(), redis::RetryMethod::NoRetry),
        _ => false,
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

/// Exponential backoff with jitter, logging each failure once.
pub struct Backoff {
    /// Failures since the last success.
    failures: u32,
    /// The sleeps to come: endless, each up to twice the last, jittered.
    delays: ExponentialBackoff,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            failures: 0,
            delays: delays(),
        }
    }
}

/// A fresh series of sleeps.
fn delays() -> ExponentialBackoff {
    ExponentialBuilder::new()
        .with_min_delay(FIRST_DELAY)
        .with_max_delay(MAX_DELAY)
        .with_jitter()
        .without_max_times()
        .build()
}

impl Backoff {
    /// Whether the last attempt failed.
    pub fn failing(&self) -> bool {
        self.failures > 0
    }

    /// Forgets past failures: the next one sleeps about [`FIRST_DELAY`].
    pub fn reset(&mut self) {
        *self = Backoff::default();
    }

    /// Counts a failure of `op`. One retrying cannot fix is returned as
    /// [`Unusable`] at once; any other is logged, then slept on (less if
    /// `interrupt` fires first), longer each time.
    pub async fn fail(
        &mut self,
        op: RedisOp,
        error: &RedisError,
        interrupt: &mut impl Interrupt,
    ) -> Result<(), Unusable> {
        self.failures += 1;
        metrics().redis_error(op.label());
        if is_permanent(error) {
            return Err(Unusable {
                op,
                error: error.clone(),
            });
        }
        let delay = self.delays.next().unwrap_or(MAX_DELAY);
        tracing::warn!(
            attempt = self.failures,
            "cannot {op}: {error}; retrying in {delay:.1?}"
        );
        tokio::select! {
            _ = interrupt.wait() => {}
            _ = tokio::time::sleep(delay) => {}
        }
        Ok(())
    }
}

/// Runs `attempt` until it succeeds (`Ok(Some)`), shutdown is requested
/// (`Ok(None)`) or it fails in a way retrying cannot fix (`Err`).
pub async fn retry<T>(
    op: RedisOp,
    shutdown: &mut Shutdown,
    mut attempt: impl AsyncFnMut() -> redis::RedisResult<T>,
) -> Result<Option<T>, Unusable> {
    let mut backoff = Backoff::default();
    loop {
        if shutdown.is_requested() {
            return Ok(None);
        }
        match attempt().await {
            Ok(value) => return Ok(Some(value)),
            Err(e) => backoff.fail(op, &e, shutdown).await?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: &str, detail: &str) -> RedisError {
        // The parser is the way redis-rs builds a server's error reply.
        let reply = format!("-{code} {detail}\r\n");
        redis::parse_redis_value(reply.as_bytes())
            .and_then(|v| v.extract_error())
            .expect_err("an error reply")
    }

    #[test]
    fn what_the_server_refuses_for_good_is_permanent_and_what_passes_is_not() {
        for (code, detail) in [
            (
                "NOPERM",
                "User switchyard has no permissions to run the 'xreadgroup' command",
            ),
            (
                "WRONGPASS",
                "invalid username-password pair or user is disabled.",
            ),
            ("NOAUTH", "Authentication required."),
            (
                "ERR",
                "unknown command 'XAUTOCLAIM', with args beginning with: ",
            ),
            ("ERR", "DB index is out of range"),
        ] {
            assert!(is_permanent(&server(code, detail)), "{code} {detail}");
        }
        for (code, detail) in [
            ("LOADING", "Redis is loading the dataset in memory"),
            ("OOM", "command not allowed when used memory > 'maxmemory'."),
            ("BUSY", "Redis is busy running a script."),
            (
                "NOGROUP",
                "No such key 'jobs' or consumer group 'switchyard'",
            ),
            ("ERR", "max number of clients reached"),
            ("MASTERDOWN", "Link with MASTER is down"),
            // A source key clobbered by another type: the other sources
            // are still served while someone deletes it.
            (
                "WRONGTYPE",
                "Operation against a key holding the wrong kind of value",
            ),
        ] {
            assert!(!is_permanent(&server(code, detail)), "{code} {detail}");
        }
    }

    #[test]
    fn a_client_setting_or_a_refused_password_is_permanent_and_a_refused_connection_is_not() {
        let config = redis::Client::open("redis://127.0.0.1:6379/x").unwrap_err();
        assert!(is_permanent(&config), "{config}");
        let auth = RedisError::from((
            ErrorKind::AuthenticationFailed,
            "Password authentication failed",
        ));
        assert!(is_permanent(&auth));
        let refused = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(!is_permanent(&refused));
        let denied = RedisError::from(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(is_permanent(&denied), "{denied}");
    }

    #[test]
    fn sleeps_grow_with_jitter_up_to_twice_the_longest() {
        let sleeps: Vec<Duration> = delays().take(12).collect();
        assert!(
            sleeps[0] >= FIRST_DELAY && sleeps[0] < FIRST_DELAY * 2,
            "{sleeps:?}"
        );
        assert!(sleeps.iter().all(|d| *d < MAX_DELAY * 2), "{sleeps:?}");
        assert!(sleeps[11] >= MAX_DELAY, "{sleeps:?}");
    }

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
