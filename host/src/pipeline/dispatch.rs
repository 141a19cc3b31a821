//! Performs settlements atomically: XADD the outcome entries, write the
//! status record and XACK the source entry, in one Lua script per job.
//!
//! The script first checks that this consumer still owns the entry (it is
//! in the group's pending list under our name). If another consumer has
//! claimed it meanwhile, the script writes nothing: the other consumer will
//! settle it. That check and the writes run as one script on one node, so a
//! job is never written twice and never acknowledged without its outcome.
//! Scripts for a whole batch go in one pipeline; on a Redis Cluster, in one
//! pipeline per hash slot, sent at the same time (a route's keys share its
//! source's slot, see [`crate::store::layout`]).

use std::time::Duration;

use crate::store::Conn;
use redis::{RedisResult, Value};

use crate::config::StatusSettings;
use crate::pipeline::settle::{Outcome, Settlement};

/// Most values one Lua `unpack` may spread into a command: Redis's Lua
/// stops at about 8,000 ("too many results to unpack"). The settle script
/// checks every write against it before its first write.
pub const MAX_SCRIPT_VALUES: usize = 7_900;

/// The settle script. See the module doc; arguments are described inline.
///
/// A Lua script is not a transaction: an error raised after a write keeps
/// that write. So everything that can fail is checked before the first
/// write: ownership, every key's type, and every argument count.
pub const SETTLE_SCRIPT: &str = r#"
-- KEYS[1] source stream, KEYS[2] status hash, KEYS[3..] streams to add to
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] entry id, ARGV[4] status TTL (ms)
-- ARGV[5] n, then n field/value pairs of the status record
-- then for each stream in KEYS[3..]: m, then m field/value pairs
-- ARGV[#ARGV] the most values one unpack may take
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #pending == 0 or pending[1][2] ~= ARGV[2] then
  return 0
end
for i = 3, #KEYS do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'stream' and t ~= 'none' then
    return redis.error_reply('WRONGTYPE key ' .. KEYS[i] .. ' holds a ' .. t .. ', not a stream')
  end
end
local t = redis.call('TYPE', KEYS[2])['ok']
if t ~= 'hash' and t ~= 'none' then
  return redis.error_reply('WRONGTYPE status key ' .. KEYS[2] .. ' holds a ' .. t .. ', not a hash')
end
local most = tonumber(ARGV[#ARGV])
local last = #ARGV - 1
local a = 5
local n = tonumber(ARGV[a])
if n == nil or n < 1 or 2 * n > most or a + 2 * n > last then
  return redis.error_reply('TOOMANY status record of ' .. tostring(n) .. ' fields; nothing written')
end
a = a + 2 * n + 1
for i = 3, #KEYS do
  local m = tonumber(ARGV[a])
  if m == nil or m < 1 or 2 * m + 2 > most or a + 2 * m > last then
    return redis.error_reply('TOOMANY entry for ' .. KEYS[i] .. ' of ' .. tostring(m) .. ' fields; nothing written')
  end
  a = a + 2 * m + 1
end
if a ~= last + 1 then
  return redis.error_reply('TOOMANY arguments do not match the keys; nothing written')
end
a = 5
local status = {}
for j = 1, 2 * n do status[j] = ARGV[a + j] end
a = a + 2 * n + 1
for i = 3, #KEYS do
  local m = tonumber(ARGV[a])
  local args = {}
  for j = 1, 2 * m do args[j] = ARGV[a + j] end
  redis.call('XADD', KEYS[i], '*', unpack(args))
  a = a + 2 * m + 1
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], unpack(status))
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
return 1
"#;

/// What became of one settlement.
#[derive(Debug)]
pub enum Settled {
    /// Written and acknowledged.
    Done(Outcome),
    /// Another consumer owns the entry now (or it was settled already);
    /// nothing was written.
    NotOwner,
    /// The consumer group (or the source stream) is gone, and the entry's
    /// delivery with it; nothing was written. If the entry is still in the
    /// stream, the recreated group delivers it again.
    NoGroup,
    /// Redis refused this one settlement (e.g. a target key of the wrong
    /// type); the message says why. Nothing was written.
    Refused(String),
    /// Redis could not run the script just now (loading its data after a
    /// restart, out of memory, busy with another script, a lost
    /// connection). Nothing was written; trying again later will do.
    Unavailable(redis::RedisError),
}

/// Sends settlements to Redis.
#[derive(Clone)]
pub struct Dispatcher {
    /// A multiplexed connection that reconnects on its own.
    conn: Conn,
    /// SHA-1 of [`SETTLE_SCRIPT`], as `SCRIPT LOAD` returned it.
    sha: String,
    /// The consumer group.
    group: String,
    /// This daemon's consumer name.
    consumer: String,
    /// Status key prefix and TTL.
    status: StatusSettings,
    /// Whether Redis is a cluster: one pipeline per slot.
    cluster: bool,
}

impl Dispatcher {
    /// Loads the settle script (on every master of a cluster) and returns
    /// a dispatcher using `conn`.
    pub async fn new(
        mut conn: Conn,
        group: &str,
        consumer: &str,
        status: StatusSettings,
    ) -> RedisResult<Dispatcher> {
        let sha = load(&mut conn).await?;
        Ok(Dispatcher {
            cluster: matches!(conn, Conn::Cluster(_)),
            conn,
            sha,
            group: group.to_owned(),
            consumer: consumer.to_owned(),
            status,
        })
    }

    /// Performs every settlement, in one pipeline per hash slot (one in
    /// all on a single server). `Err` means a pipeline as a whole failed
    /// (connection lost): none, some or all may have been performed, and
    /// performing them again is safe (a performed one is no longer pending,
    /// so the script writes nothing the second time).
    pub async fn settle(&mut self, settlements: &[Settlement]) -> RedisResult<Vec<Settled>> {
        if !self.cluster {
            return self.settle_slot(settlements).await;
        }
        let mut slots: std::collections::BTreeMap<u16, Vec<usize>> = Default::default();
        for (i, settlement) in settlements.iter().enumerate() {
            slots
                .entry(crate::store::layout::slot(settlement.source()))
                .or_default()
                .push(i);
        }
        if slots.len() <= 1 {
            return self.settle_slot(settlements).await;
        }
        let groups: Vec<(Vec<usize>, Vec<Settlement>)> = slots
            .into_values()
            .map(|indices| {
                let group = indices.iter().map(|&i| settlements[i].clone()).collect();
                (indices, group)
            })
            .collect();
        let replies = futures::future::join_all(groups.iter().map(|(_, group)| {
            let mut dispatcher = self.clone();
            async move { dispatcher.settle_slot(group).await }
        }))
        .await;
        let mut settled: Vec<Option<Settled>> = settlements.iter().map(|_| None).collect();
        for ((indices, _), reply) in groups.iter().zip(replies) {
            for (&i, one) in indices.iter().zip(reply?) {
                settled[i] = Some(one);
            }
        }
        Ok(settled
            .into_iter()
            .map(|s| s.expect("every settlement is in one slot group"))
            .collect())
    }

    /// Performs settlements whose keys are all in one slot, in one pipeline.
    async fn settle_slot(&mut self, settlements: &[Settlement]) -> RedisResult<Vec<Settled>> {
        if settlements.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for settlement in settlements {
            self.add_script(&mut pipe, settlement);
        }
        let replies: Vec<RedisResult<Value>> = match pipe.query_async(&mut self.conn).await {
            Ok(replies) => replies,
            Err(e) if is_noscript(&e) => {
                self.reload().await?;
                pipe.query_async(&mut self.conn).await?
            }
            Err(e) => return Err(e),
        };
        let mut settled = Vec::with_capacity(replies.len());
        let mut reload = false;
        for (reply, settlement) in replies.into_iter().zip(settlements) {
            settled.push(match reply {
                Ok(Value::Int(1)) => Settled::Done(settlement.outcome()),
                Ok(_) => Settled::NotOwner,
                Err(e) if crate::pipeline::intake::is_nogroup(&e) => Settled::NoGroup,
                Err(e) if is_noscript(&e) => {
                    reload = true;
                    Settled::Refused("settle script not loaded".into())
                }
                Err(e) if is_transient(&e) => Settled::Unavailable(e),
                Err(e) => Settled::Refused(e.to_string()),
            });
        }
        if reload {
            // Redis lost its scripts (restarted); load again and redo all:
            // those already done are no longer pending and write nothing.
            self.reload().await?;
            return Box::pin(self.settle_slot(settlements)).await;
        }
        Ok(settled)
    }

    /// Creates the consumer group on `source` again if it is missing;
    /// returns whether it was created.
    pub async fn create_group(&mut self, source: &str) -> RedisResult<bool> {
        crate::pipeline::intake::create_group(&mut self.conn, source, &self.group).await
    }

    async fn reload(&mut self) -> RedisResult<()> {
        self.sha = load(&mut self.conn).await?;
        Ok(())
    }

    fn add_script(&self, pipe: &mut redis::Pipeline, settlement: &Settlement) {
        let writes = settlement.writes();
        let cmd = pipe.cmd("EVALSHA").arg(&self.sha).arg(2 + writes.len());
        cmd.arg(settlement.source())
            .arg(crate::store::layout::status_key(
                &self.status.prefix,
                self.status.tagged,
                settlement.source(),
                settlement.job_id(),
            ));
        for write in writes {
            cmd.arg(&write.stream);
        }
        let mut status = settlement.status().to_fields(&format!(
            "{}/{}",
            settlement.source(),
            settlement.entry_id()
        ));
        status.push(("consumer".to_owned(), self.consumer.clone()));
        cmd.arg(&self.group)
            .arg(&self.consumer)
            .arg(settlement.entry_id())
            .arg(ttl_ms(self.status.ttl))
            .arg(status.len());
        for (name, value) in &status {
            cmd.arg(name).arg(value);
        }
        for write in writes {
            cmd.arg(write.fields.len());
            for (name, value) in &write.fields {
                cmd.arg(name).arg(value.as_slice());
            }
        }
        cmd.arg(MAX_SCRIPT_VALUES);
    }
}

/// Loads [`SETTLE_SCRIPT`] and returns its SHA-1. On a cluster `SCRIPT
/// LOAD` goes to every master (and fails unless all of them load it).
async fn load(conn: &mut Conn) -> RedisResult<String> {
    redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(SETTLE_SCRIPT)
        .query_async(conn)
        .await
}

/// Whether Redis answered that it does not know the script (it restarted).
fn is_noscript(error: &redis::RedisError) -> bool {
    error.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
}

/// Whether an error reply to one script call says "not now" rather than
/// "never": the same call is expected to succeed once Redis recovers.
fn is_transient(error: &redis::RedisError) -> bool {
    use redis::RetryMethod;
    if matches!(error.code(), Some("OOM" | "BUSY")) {
        return true;
    }
    !matches!(error.retry_method(), RetryMethod::NoRetry)
}

fn ttl_ms(ttl: Duration) -> u64 {
    ttl.as_millis().min(u64::MAX as u128) as u64
}
