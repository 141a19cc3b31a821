//! Performs settlements atomically, one Lua script per batch: per entry,
//! XACK it, and only if that acknowledged it, XADD its outcome entries,
//! write its status record and give the record its TTL.
//!
//! XACK's reply is the ownership check exactly-once needs: an entry is
//! acknowledged once, so whoever acks it first writes its outcome and
//! anyone else (a consumer that reclaimed it, a daemon settling it again
//! after a lost reply) acks 0 and writes nothing. The acknowledgement and
//! the writes run in one script on one node, so a job is never written
//! twice and never acknowledged without its outcome.
//!
//! What a batch's script checks before it writes anything (a Lua script is
//! not a transaction: a write stays even if the script fails after it):
//! the type of every stream it names, once per script (a target of the
//! wrong type refuses only the entries that would write to it, before their
//! ack, so they become dead letters); that each source's consumer group
//! exists (an entry whose group is gone gets [`Settled::NoGroup`]); every
//! command's argument count against Lua's unpack limit
//! ([`MAX_SCRIPT_VALUES`]); and the shape of its arguments. Redis refuses
//! the whole script at once when it is out of memory (the `#!lua` line
//! makes the script a write script that Redis does not start then). The
//! status key is not checked: see [`SETTLE_SCRIPT`] for a key of the wrong
//! type there.
//!
//! A batch goes in one script (several when it is long or its arguments
//! large: [`MAX_SCRIPT_ENTRIES`], [`MAX_SCRIPT_BYTES`]), all of them in one
//! pipeline; on a Redis Cluster, one pipeline per hash slot, sent at the
//! same time (a route's keys share its source's slot, see
//! [`crate::store::layout`]).

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use crate::store::Conn;
use redis::{RedisResult, Value};

use crate::config::{ReplicaAcks, StatusSettings};
use crate::pipeline::settle::{Outcome, Settlement};

/// Most values one Lua `unpack` may spread into a command: Redis's Lua
/// stops at about 8,000 ("too many results to unpack"). The settle script
/// checks every command against it before an entry's first write.
pub const MAX_SCRIPT_VALUES: usize = 7_900;

/// Most entries one script settles. A script blocks Redis while it runs
/// (about 10 µs per entry), so a long batch goes in several.
pub const MAX_SCRIPT_ENTRIES: usize = 256;

/// Most bytes of field names and values one script carries, roughly; a
/// script holding one larger entry carries that one alone.
pub const MAX_SCRIPT_BYTES: usize = 1 << 20;

/// The settle script. Arguments are described inline.
///
/// An entry is settled (`1`) only if its XACK acknowledged it; an entry
/// that acks 0 (`0`) was settled elsewhere and nothing is written for it.
/// Entries the checks refuse get a letter and nothing written, not even
/// their ack: `g` their source's group is gone, `x` their source is not a
/// stream, `t` a stream they would write to holds another type, `m` one of
/// their commands would take more values than Lua can unpack.
///
/// The status key is not checked with a TYPE per job. Its HSET is a
/// `pcall`: when the key holds another type, the key is deleted and the
/// record written in its place (`r`: written, and the daemon logs a warning
/// naming the key). The status prefix names keys switchyard owns, so a
/// foreign value there is replaced rather than costing the job. The same
/// DEL + HSET replaces an older record of the job id (a job sent again, or
/// replayed): the HSET's reply says whether any of its fields were there
/// already, so a new record costs no DEL.
pub const SETTLE_SCRIPT: &str = r#"#!lua
-- KEYS[1..p] the batch's source streams, KEYS[p+1..s] the other streams it
-- writes to, KEYS[s+i] entry i's status hash.
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] status TTL (ms),
-- ARGV[4] updated (Unix ms), ARGV[5] p, ARGV[6] s, ARGV[7] the most values
-- one unpack may take; then per entry: its id, its source (index into
-- KEYS), its state's name and number, n, n field/value pairs of its status
-- record (besides status, state, source, updated and consumer), w, then
-- per entry to add: its stream (index into KEYS), m, m field/value pairs.
-- Returns {codes, notes}: codes holds one letter per entry (see dispatch.rs),
-- notes is key, reason, key, reason... for each key that refused.
local group, consumer, ttl, updated = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local p, s, most = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local e = #KEYS - s
local notes = {}
-- Per key: whether it holds something else than a stream; per source:
-- the letter of its entries when it refuses.
local wrong, source_code = {}, {}
for k = 1, s do
  local t = redis.call('TYPE', KEYS[k])['ok']
  if t ~= 'stream' and t ~= 'none' then
    wrong[k] = true
    source_code[k] = 'x'
    notes[#notes + 1] = KEYS[k]
    notes[#notes + 1] = 'WRONGTYPE key ' .. KEYS[k] .. ' holds a ' .. t .. ', not a stream'
  end
end
for k = 1, p do
  if not wrong[k] then
    local r = redis.pcall('XPENDING', KEYS[k], group, '-', '+', 0)
    if r['err'] then
      source_code[k] = 'g'
      notes[#notes + 1] = KEYS[k]
      notes[#notes + 1] = r['err']
    end
  end
end
local function shape(i)
  return redis.error_reply('ERR settle script: the arguments of entry ' .. i .. ' do not match the keys; nothing written')
end
-- Every entry's arguments, before anything is written.
local last = #ARGV
local starts, codes = {}, {}
local a = 8
for i = 1, e do
  starts[i] = a
  local src, n = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 4])
  if a + 5 > last or src == nil or src < 1 or src > p or n == nil or n < 0 then
    return shape(i)
  end
  local code = source_code[src] or false
  if 2 * n + 12 > most then code = code or 'm' end
  a = a + 5 + 2 * n
  local w = tonumber(ARGV[a])
  if w == nil or w < 1 then return shape(i) end
  a = a + 1
  for _ = 1, w do
    local t, m = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
    if t == nil or t < 1 or t > s or m == nil or m < 1 then return shape(i) end
    if wrong[t] then code = code or 't' end
    if 2 * m + 2 > most then code = code or 'm' end
    a = a + 2 + 2 * m
  end
  if a > last + 1 then return shape(i) end
  codes[i] = code
end
if a ~= last + 1 then return shape(e) end
-- The writes. A status record's fields, in one table reused for every
-- entry: status, state, source, its own fields, updated, consumer, and
-- entries (STREAM/ID of each entry written for it, comma-separated).
local record = {'status', false, 'state', false, 'source', false}
local function status(key, a, n, source, entries)
  record[2], record[4], record[6] = ARGV[a + 2], ARGV[a + 3], source
  for j = 1, 2 * n do record[6 + j] = ARGV[a + 4 + j] end
  local r = 6 + 2 * n
  record[r + 1], record[r + 2], record[r + 3], record[r + 4] = 'updated', updated, 'consumer', consumer
  record[r + 5], record[r + 6] = 'entries', entries
  return redis.pcall('HSET', key, unpack(record, 1, r + 6))
end
for i = 1, e do
  if not codes[i] then
    local a = starts[i]
    local id, src = ARGV[a], KEYS[tonumber(ARGV[a + 1])]
    if redis.call('XACK', src, group, id) == 1 then
      local n = tonumber(ARGV[a + 4])
      local c = a + 5 + 2 * n
      local written = {}
      for w = 1, tonumber(ARGV[c]) do
        local m = tonumber(ARGV[c + 2])
        local stream = KEYS[tonumber(ARGV[c + 1])]
        written[w] = stream .. '/' .. redis.call('XADD', stream, '*', unpack(ARGV, c + 3, c + 2 + 2 * m))
        c = c + 2 + 2 * m
      end
      local key, source, entries = KEYS[s + i], src .. '/' .. id, table.concat(written, ',')
      local added = status(key, a, n, source, entries)
      codes[i] = '1'
      if type(added) ~= 'number' or added < 6 + n then
        if type(added) ~= 'number' then codes[i] = 'r' end
        redis.call('DEL', key)
        added = status(key, a, n, source, entries)
        if type(added) ~= 'number' then return added end
      end
      redis.call('PEXPIRE', key, ttl)
    else
      codes[i] = '0'
    end
  end
end
return {table.concat(codes), notes}
"#;

/// What became of one settlement.
#[derive(Debug)]
pub enum Settled {
    /// Written and acknowledged.
    Done(Outcome),
    /// Another consumer settled the entry (or it was settled already);
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
    /// Replicas each pipeline of settles waits for (`WAIT`), if any.
    replica_acks: Option<ReplicaAcks>,
}

/// How many times a pipeline is sent again because Redis lost the script
/// (it restarted) before its settlements count as unavailable.
const RELOADS: usize = 3;

impl Dispatcher {
    /// Loads the settle script (on every master of a cluster) and returns
    /// a dispatcher using `conn`.
    pub async fn new(
        mut conn: Conn,
        group: &str,
        consumer: &str,
        status: StatusSettings,
        replica_acks: Option<ReplicaAcks>,
    ) -> RedisResult<Dispatcher> {
        let sha = load(&mut conn).await?;
        Ok(Dispatcher {
            replica_acks,
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
    /// so its XACK acks 0 and the script writes nothing the second time).
    pub async fn settle(&mut self, settlements: &[Settlement]) -> RedisResult<Vec<Settled>> {
        let all: Vec<&Settlement> = settlements.iter().collect();
        if !self.cluster {
            return self.settle_slot(&all).await;
        }
        let mut slots: BTreeMap<u16, Vec<usize>> = Default::default();
        for (i, settlement) in settlements.iter().enumerate() {
            slots
                .entry(crate::store::layout::slot(settlement.source()))
                .or_default()
                .push(i);
        }
        if slots.len() <= 1 {
            return self.settle_slot(&all).await;
        }
        let groups: Vec<Vec<usize>> = slots.into_values().collect();
        let replies = futures::future::join_all(groups.iter().map(|indices| {
            let mut dispatcher = self.clone();
            let group: Vec<&Settlement> = indices.iter().map(|&i| &settlements[i]).collect();
            async move { dispatcher.settle_slot(&group).await }
        }))
        .await;
        let mut settled: Vec<Option<Settled>> = settlements.iter().map(|_| None).collect();
        for (indices, reply) in groups.iter().zip(replies) {
            for (&i, one) in indices.iter().zip(reply?) {
                settled[i] = Some(one);
            }
        }
        Ok(settled
            .into_iter()
            .map(|s| s.expect("every settlement is in one slot group"))
            .collect())
    }

    /// Performs settlements whose keys are all in one slot: one script per
    /// chunk of them, all in one pipeline.
    async fn settle_slot(&mut self, settlements: &[&Settlement]) -> RedisResult<Vec<Settled>> {
        let mut settled: Vec<Option<Settled>> = settlements.iter().map(|_| None).collect();
        let mut todo = chunks(settlements);
        let mut key = Vec::new();
        for attempt in 1..=RELOADS {
            if todo.is_empty() {
                break;
            }
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            for range in &todo {
                self.add_script(&mut pipe, &settlements[range.clone()], &mut key);
            }
            // The settles' writes reach that many replicas before their jobs
            // count as done: WAIT covers every write sent before it.
            if let Some(acks) = self.replica_acks {
                pipe.cmd("WAIT")
                    .arg(acks.count)
                    .arg(acks.timeout.as_millis() as u64);
            }
            let mut replies: Vec<RedisResult<Value>> = match pipe.query_async(&mut self.conn).await
            {
                Ok(replies) => replies,
                Err(e) if is_noscript(&e) => {
                    self.reload().await?;
                    pipe.query_async(&mut self.conn).await?
                }
                Err(e) => return Err(e),
            };
            if let Some(acks) = self.replica_acks {
                let acked = match replies.pop() {
                    Some(Ok(Value::Int(n))) => n,
                    _ => 0,
                };
                if acked < i64::from(acks.count) {
                    crate::metrics::metrics().replica_acks_short.inc();
                    tracing::warn!(
                        "{acked} of the {} replicas [redis] replica-acks asks for acknowledged a settle within {}: a forced failover now could lose it",
                        acks.count,
                        humantime::format_duration(acks.timeout)
                    );
                }
            }
            let mut again = Vec::new();
            for (range, reply) in todo.into_iter().zip(replies) {
                match reply {
                    // Redis lost its scripts (restarted): that chunk is
                    // sent again once the script is loaded again.
                    Err(e) if is_noscript(&e) && attempt < RELOADS => again.push(range),
                    reply => {
                        let chunk = &settlements[range.clone()];
                        for (slot, one) in settled[range].iter_mut().zip(self.read(reply, chunk)) {
                            *slot = Some(one);
                        }
                    }
                }
            }
            if !again.is_empty() {
                self.reload().await?;
            }
            todo = again;
        }
        Ok(settled
            .into_iter()
            .map(|s| s.expect("every chunk was answered"))
            .collect())
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

    /// Adds the script call settling `chunk` to `pipe`, its arguments as
    /// [`SETTLE_SCRIPT`] describes them; `key` is the buffer each status key
    /// is built in. What the chunk shares (group, consumer, TTL, the time)
    /// goes once.
    fn add_script(&self, pipe: &mut redis::Pipeline, chunk: &[&Settlement], key: &mut Vec<u8>) {
        // The streams: sources first, then the others written to.
        let mut streams: Vec<&str> = Vec::new();
        for settlement in chunk {
            if !streams.contains(&settlement.source()) {
                streams.push(settlement.source());
            }
        }
        let sources = streams.len();
        // Per outcome entry, in order: its stream's index in KEYS.
        let mut targets: Vec<usize> = Vec::with_capacity(chunk.len());
        for settlement in chunk {
            for write in settlement.writes() {
                let stream = &write.stream[..];
                let index = match streams.iter().position(|s| *s == stream) {
                    Some(index) => index,
                    None => {
                        streams.push(stream);
                        streams.len() - 1
                    }
                };
                targets.push(index + 1);
            }
        }
        let cmd = pipe
            .cmd("EVALSHA")
            .arg(&self.sha)
            .arg(streams.len() + chunk.len());
        for stream in &streams {
            cmd.arg(*stream);
        }
        for settlement in chunk {
            crate::store::layout::write_status_key(
                key,
                &self.status.prefix,
                self.status.tagged,
                settlement.source(),
                settlement.job_id(),
            );
            cmd.arg(&key[..]);
        }
        cmd.arg(&self.group)
            .arg(&self.consumer)
            .arg(ttl_ms(self.status.ttl))
            .arg(unix_ms())
            .arg(sources)
            .arg(streams.len())
            .arg(MAX_SCRIPT_VALUES);
        let mut targets = targets.into_iter();
        for settlement in chunk {
            let source = streams
                .iter()
                .position(|s| *s == settlement.source())
                .expect("every source is among the streams");
            let status = settlement.status();
            cmd.arg(settlement.entry_id())
                .arg(source + 1)
                .arg(status.state.name())
                .arg(u64::from(status.state.code()))
                .arg(status.fields.len());
            for (name, value) in &status.fields {
                cmd.arg(&name[..]).arg(&value[..]);
            }
            cmd.arg(settlement.writes().len());
            for write in settlement.writes() {
                cmd.arg(targets.next().expect("one index per outcome entry"))
                    .arg(write.fields.len());
                for (name, value) in &write.fields {
                    cmd.arg(&name[..]).arg(&value[..]);
                }
            }
        }
    }

    /// What became of each settlement of `chunk`, from its script's reply.
    fn read(&self, reply: RedisResult<Value>, chunk: &[&Settlement]) -> Vec<Settled> {
        let all = |settled: &dyn Fn() -> Settled| chunk.iter().map(|_| settled()).collect();
        let (codes, notes) = match reply {
            Ok(Value::Array(mut parts)) if parts.len() == 2 => {
                let notes = parts.pop().expect("two parts");
                match (parts.pop(), notes) {
                    (Some(Value::BulkString(codes)), Value::Array(notes))
                        if codes.len() == chunk.len() =>
                    {
                        (codes, notes)
                    }
                    (codes, notes) => {
                        let answer = format!("{codes:?}, {notes:?}");
                        return all(&|| unexpected(&answer));
                    }
                }
            }
            Ok(other) => return all(&|| unexpected(&format!("{other:?}"))),
            Err(e) if crate::pipeline::intake::is_nogroup(&e) => return all(&|| Settled::NoGroup),
            Err(e) if is_transient(&e) || is_noscript(&e) => {
                return all(&|| Settled::Unavailable(e.clone()));
            }
            Err(e) => return all(&|| Settled::Refused(e.to_string())),
        };
        // Why each refusing key refused, by key.
        let notes: Vec<(String, String)> = notes
            .chunks_exact(2)
            .map(|pair| (text(&pair[0]), text(&pair[1])))
            .collect();
        let note = |key: &str| {
            notes
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, reason)| reason.clone())
        };
        codes
            .iter()
            .zip(chunk)
            .map(|(code, settlement)| match code {
                b'1' => Settled::Done(settlement.outcome()),
                b'r' => {
                    let key = crate::store::layout::status_key(
                        &self.status.prefix,
                        self.status.tagged,
                        settlement.source(),
                        settlement.job_id(),
                    );
                    tracing::warn!(
                        job = %settlement.job_id(), stream = %settlement.source(),
                        entry = %settlement.entry_id(), %key,
                        "the status key held a value of another type; replaced it with the job's status record"
                    );
                    Settled::Done(settlement.outcome())
                }
                b'0' => Settled::NotOwner,
                b'g' => Settled::NoGroup,
                b'x' => Settled::Refused(note(settlement.source()).unwrap_or_else(|| {
                    format!("source {} refused the settle", settlement.source())
                })),
                b't' => Settled::Refused(
                    settlement
                        .writes()
                        .iter()
                        .find_map(|write| note(&write.stream))
                        .unwrap_or_else(|| "a stream to write holds another type".into()),
                ),
                b'm' => Settled::Refused(too_many(settlement)),
                other => unexpected(&format!("the letter {:?}", *other as char)),
            })
            .collect()
    }
}

/// The refusal of a settlement whose script answered what no version of
/// [`SETTLE_SCRIPT`] answers.
fn unexpected(answer: &str) -> Settled {
    Settled::Refused(format!("the settle script answered {answer}"))
}

/// Why a settlement was refused for a command of too many values.
fn too_many(settlement: &Settlement) -> String {
    let status = settlement.status().fields.len();
    if 2 * status + 12 > MAX_SCRIPT_VALUES {
        return format!("TOOMANY status record of {status} fields; nothing written");
    }
    match settlement
        .writes()
        .iter()
        .find(|write| 2 * write.fields.len() + 2 > MAX_SCRIPT_VALUES)
    {
        Some(write) => format!(
            "TOOMANY entry for {} of {} fields; nothing written",
            write.stream,
            write.fields.len()
        ),
        None => "TOOMANY a command of too many values; nothing written".into(),
    }
}

/// The chunks `settlements` go to Redis in, one script each: at most
/// [`MAX_SCRIPT_ENTRIES`] entries and about [`MAX_SCRIPT_BYTES`] of fields.
fn chunks(settlements: &[&Settlement]) -> Vec<Range<usize>> {
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, settlement) in settlements.iter().enumerate() {
        let size: usize = settlement
            .writes()
            .iter()
            .flat_map(|write| &write.fields)
            .map(|(name, value)| name.len() + value.len())
            .sum();
        if i > start && (i - start == MAX_SCRIPT_ENTRIES || bytes + size > MAX_SCRIPT_BYTES) {
            chunks.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < settlements.len() {
        chunks.push(start..settlements.len());
    }
    chunks
}

/// A string reply as text; empty for any other kind.
fn text(value: &Value) -> String {
    match value {
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Value::SimpleString(s) => s.clone(),
        _ => String::new(),
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

/// Now, in Unix milliseconds: the status records' `updated`.
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::failure::Failure;
    use crate::pipeline::job::{Entry, EntryId};

    /// A dead letter of `job` whose payload is `size` bytes.
    fn settlement(job: u64, size: usize) -> Settlement {
        let entry = Entry {
            stream: "jobs".into(),
            id: EntryId { ms: job, seq: 0 },
            fields: vec![("payload".into(), vec![b'x'; size].into())],
            deliveries: 1,
        };
        let failure = Failure::Refused {
            reason: "test".into(),
        };
        Settlement::dead_letter(entry, None, "jobs:dead", &failure, &[])
    }

    #[test]
    fn a_long_batch_goes_in_scripts_of_at_most_max_script_entries() {
        let batch: Vec<Settlement> = (0..600).map(|i| settlement(i, 10)).collect();
        let all: Vec<&Settlement> = batch.iter().collect();
        assert_eq!(chunks(&all), vec![0..256, 256..512, 512..600]);
        assert_eq!(chunks(&all[..1]), vec![0..1]);
        assert!(chunks(&[]).is_empty());
    }

    #[test]
    fn large_entries_split_a_batch_and_a_huge_one_goes_alone() {
        let batch = [
            settlement(1, 400_000),
            settlement(2, 400_000),
            settlement(3, 400_000),
            settlement(4, 3 << 20),
            settlement(5, 10),
        ];
        let all: Vec<&Settlement> = batch.iter().collect();
        assert_eq!(chunks(&all), vec![0..2, 2..3, 3..4, 4..5]);
    }
}
