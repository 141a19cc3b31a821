//! Following a master through Redis Sentinel failovers.
//!
//! The master is found by asking the sentinels (the redis crate's Sentinel
//! client: `SENTINEL get-master-addr-by-name`, then `ROLE` on the answer).
//! A [`SentinelConn`] sends every command to the master it last found. When
//! a command fails in a way a failover causes (the connection refused or
//! dropped, a timeout, `READONLY` from a master demoted to a replica), it
//! asks the sentinels again and, if they name another server, moves to it;
//! the failed command's error still goes to the caller, which backs off and
//! tries again, as for any Redis outage. Nothing is retried here, so a
//! settle is never sent twice by this layer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::sentinel::{SentinelClient, SentinelServerType};
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult, Value};
use tokio::sync::Mutex as AsyncMutex;

/// The sentinels of one master.
#[derive(Clone)]
pub struct Sentinels {
    client: Arc<AsyncMutex<SentinelClient>>,
    /// `name (sentinels a, b, c)`, for messages.
    label: String,
}

impl Sentinels {
    /// The sentinels at `addresses` (`HOST:PORT`) watching `master`.
    pub fn new(addresses: &[String], master: &str) -> RedisResult<Sentinels> {
        let urls: Vec<String> = addresses.iter().map(|a| format!("redis://{a}")).collect();
        let client = SentinelClient::build(urls, master, None, SentinelServerType::Master)?;
        Ok(Sentinels {
            client: Arc::new(AsyncMutex::new(client)),
            label: format!(
                "master `{master}` of the sentinels {}",
                addresses.join(", ")
            ),
        })
    }

    /// What these sentinels and master are, for messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// A client for the master the sentinels name now.
    async fn master(&self) -> RedisResult<redis::Client> {
        self.client.lock().await.async_get_client().await
    }

    /// The URL of the master the sentinels name now, found synchronously
    /// (for the commands beside the daemon).
    pub fn master_url_blocking(addresses: &[String], master: &str) -> RedisResult<String> {
        let urls: Vec<String> = addresses.iter().map(|a| format!("redis://{a}")).collect();
        let mut client = SentinelClient::build(urls, master, None, SentinelServerType::Master)?;
        let found = client.get_client()?;
        Ok(url_of(&found))
    }

    /// A connection to the master, which follows it through failovers.
    pub async fn connect(&self, response_timeout: Duration) -> RedisResult<SentinelConn> {
        let client = self.master().await?;
        let at = url_of(&client);
        let manager = super::connect(&client, response_timeout).await?;
        Ok(SentinelConn {
            sentinels: self.clone(),
            response_timeout,
            current: Arc::new(Mutex::new((at, manager))),
        })
    }
}

/// `redis://HOST:PORT` of a client's server.
fn url_of(client: &redis::Client) -> String {
    format!("redis://{}", client.get_connection_info().addr())
}

/// Whether `error` is what a failover looks like from a client.
fn after_failover(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_timeout()
        || error.kind() == ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
}

/// A connection to the master the sentinels name; cheap to clone (clones
/// share it).
#[derive(Clone)]
pub struct SentinelConn {
    sentinels: Sentinels,
    response_timeout: Duration,
    /// The master's URL and a connection to it.
    current: Arc<Mutex<(String, ConnectionManager)>>,
}

impl SentinelConn {
    fn manager(&self) -> ConnectionManager {
        self.current
            .lock()
            .expect("the sentinel connection lock is never poisoned")
            .1
            .clone()
    }

    /// After `error`, asks the sentinels where the master is and moves
    /// there if it moved.
    async fn follow(&self, error: &RedisError) {
        if !after_failover(error) {
            return;
        }
        let Ok(client) = self.sentinels.master().await else {
            return; // the sentinels do not know yet: the next error asks again
        };
        let at = url_of(&client);
        let was = self
            .current
            .lock()
            .expect("the sentinel connection lock is never poisoned")
            .0
            .clone();
        if at == was {
            return;
        }
        if let Ok(manager) = super::connect(&client, self.response_timeout).await {
            tracing::warn!(
                "Redis Sentinel: {} moved from {was} to {at} ({error}); following it",
                self.sentinels.label()
            );
            *self
                .current
                .lock()
                .expect("the sentinel connection lock is never poisoned") = (at, manager);
        }
    }
}

/// The first reply of `replies` that is a server's error, as an error: a
/// pipeline's (or a script's) `READONLY` comes back inside an `Ok`, as a
/// reply, and says the master moved as surely as a dropped connection.
fn error_in<'a>(replies: impl IntoIterator<Item = &'a Value>) -> Option<RedisError> {
    replies.into_iter().find_map(|reply| match reply {
        Value::ServerError(error) => Some(RedisError::from(error.clone())),
        _ => None,
    })
}

impl ConnectionLike for SentinelConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut manager = self.manager();
            let result = manager.req_packed_command(cmd).await;
            match &result {
                Err(error) => self.follow(error).await,
                Ok(reply) => {
                    if let Some(error) = error_in([reply]) {
                        self.follow(&error).await;
                    }
                }
            }
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let mut manager = self.manager();
            let result = manager.req_packed_commands(pipeline, offset, count).await;
            match &result {
                Err(error) => self.follow(error).await,
                Ok(replies) => {
                    if let Some(error) = error_in(replies) {
                        self.follow(&error).await;
                    }
                }
            }
            result
        })
    }

    fn get_db(&self) -> i64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A settle pipeline on a demoted master answers `READONLY` inside its
    /// replies; that must send the connection after the master.
    #[test]
    fn a_readonly_reply_inside_a_pipeline_counts_as_a_failover() {
        let readonly =
            redis::parse_redis_value(b"-READONLY You can't write against a read only replica.\r\n")
                .unwrap();
        let replies = [Value::Okay, readonly];
        let error = error_in(&replies).expect("the READONLY reply is found");
        assert!(after_failover(&error), "{error}");
        assert!(error_in(&[Value::Okay, Value::Int(1)]).is_none());
        let other = redis::parse_redis_value(b"-ERR unknown command\r\n").unwrap();
        assert!(!after_failover(&error_in(&[other]).unwrap()));
    }
}
