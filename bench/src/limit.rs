//! The limit: the least Redis work a correct exactly-once router must do,
//! done by a minimal consumer written without switchyard's pipeline.
//!
//! Every other drain of the bench is compared with this one. It is what any
//! router has to ask of Redis for each job, whatever its language or design:
//! read the entry, and atomically acknowledge it, add it to its target and
//! write its status record with a TTL, doing nothing for an entry that is no
//! longer pending. One connection reads a batch (`XREADGROUP COUNT`), and one
//! Lua script per batch ([`SCRIPT`], by `EVALSHA`) settles it. Per entry the
//! script XACKs it first: XACK's reply says whether the entry was still
//! pending, which is all exactly-once needs; an entry reclaimed and settled
//! elsewhere acks 0 and the script writes nothing for it. Only when the XACK
//! acked does it XADD the entry to the target and HSET + PEXPIRE the status
//! record. The target stream's type is checked once per batch. While Redis
//! runs one batch's script, the consumer prepares the next.
//!
//! No plugin is called and nothing is validated: every job goes to the
//! route's first target. What is written has the field names and about the
//! size of what switchyard writes for a dispatched job (see
//! `host/src/pipeline/settle.rs` and `dispatch.rs`): the job's fields, the
//! router's extra fields (`runner`, `sequences`, `average-length`, here
//! fixed), `switchyard-source` and `switchyard-plugins`; the status record's
//! `status`, `state`, `source`, `targets`, `plugins`, `updated`,
//! `consumer` and `entries` (the entry written, by id). The bench compares the two shapes after the drains.

use std::io::Write;

use anyhow::{Context, bail};
use redis::Value;

/// The settle script, one call per batch. Arguments are described inline.
///
/// The only check that can fail comes before the first write: the target's
/// type. A status key of the wrong type would fail its HSET after the XACK;
/// the limit leaves that check out, as it leaves out every other check a
/// real router adds.
pub const SCRIPT: &str = r#"
-- KEYS[1] source stream, KEYS[2] target stream, KEYS[2 + i] entry i's status hash
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] status TTL (ms),
-- ARGV[4] the plugins (name@hash,...), ARGV[5] updated (Unix ms),
-- ARGV[6] n, then n field/value pairs added to every entry after its own,
-- then per entry: its id, m, then its m field/value pairs
local t = redis.call('TYPE', KEYS[2])['ok']
if t ~= 'stream' and t ~= 'none' then
  return redis.error_reply('WRONGTYPE target ' .. KEYS[2] .. ' holds a ' .. t .. ', not a stream')
end
local n = tonumber(ARGV[6])
local settled = 0
local a = 7 + 2 * n
for i = 3, #KEYS do
  local id = ARGV[a]
  local m = tonumber(ARGV[a + 1])
  if redis.call('XACK', KEYS[1], ARGV[1], id) == 1 then
    local source = KEYS[1] .. '/' .. id
    local entry = {}
    for j = 1, 2 * m do entry[j] = ARGV[a + 1 + j] end
    for j = 1, 2 * n do entry[2 * m + j] = ARGV[6 + j] end
    local e = 2 * (m + n)
    entry[e + 1] = 'switchyard-source'
    entry[e + 2] = source
    entry[e + 3] = 'switchyard-plugins'
    entry[e + 4] = ARGV[4]
    local id = redis.call('XADD', KEYS[2], '*', unpack(entry))
    redis.call('HSET', KEYS[i], 'status', 'ACCEPTED', 'state', '3', 'source', source,
      'targets', KEYS[2], 'plugins', ARGV[4], 'updated', ARGV[5], 'consumer', ARGV[2],
      'entries', KEYS[2] .. '/' .. id)
    redis.call('PEXPIRE', KEYS[i], ARGV[3])
    settled = settled + 1
  end
  a = a + 2 + 2 * m
end
return settled
"#;

/// The field whose value names the status record (as switchyard's
/// `job-id`); an entry without one is named by its entry id.
const JOB_ID_FIELD: &[u8] = b"job-id";

/// Everything the limit's consumer needs, resolved before it starts.
#[derive(Debug, Clone)]
pub struct Limit {
    /// Where Redis listens, as a `redis://` or `redis+unix://` URL.
    pub url: String,
    /// The source stream the jobs are preloaded on.
    pub source: String,
    /// The consumer group, created from the stream's start if missing.
    pub group: String,
    /// This consumer's name in the group.
    pub consumer: String,
    /// Entries read per `XREADGROUP` and settled per script call.
    pub batch: usize,
    /// The stream every job goes to: the route's first target.
    pub target: String,
    /// Prefix of the status keys; the job id follows it.
    pub status_prefix: String,
    /// The status record's TTL, in milliseconds.
    pub status_ttl_ms: u64,
    /// The `switchyard-plugins` value: `name@hash` of each plugin, by commas.
    pub plugins: String,
    /// Fields added to every entry after the job's own: the router's.
    pub extra_fields: Vec<(String, String)>,
}

/// What one run of the consumer did.
#[derive(Debug, Clone, Copy)]
pub struct Consumed {
    /// Entries the script acknowledged and wrote.
    pub settled: u64,
    /// CPU time of the consumer's thread, start-up included, in seconds.
    pub cpu_seconds: f64,
}

/// One entry as read: its id and its fields, names and values alternating,
/// kept as Redis sent them until they are copied into the script's call.
struct Read {
    /// The entry id.
    id: Vec<u8>,
    /// Field names and values, alternating.
    fields: Vec<Value>,
}

impl Limit {
    /// Reads and settles the source until a read finds nothing new; runs on
    /// the calling thread, whose CPU time it reports.
    ///
    /// One script is in flight while the next batch is prepared: each
    /// round sends the read of the next batch, then this batch's script, so
    /// Redis answers the read at once and runs the script while this thread
    /// turns that answer into the next script call.
    pub fn consume(&self) -> anyhow::Result<Consumed> {
        let started = thread_cpu_seconds();
        let mut conn = redis::Client::open(self.url.as_str())?
            .get_connection()
            .context("the limit's consumer cannot connect")?;
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.source)
            .arg(&self.group)
            .arg("0")
            .arg("MKSTREAM")
            .query(&mut conn);
        if let Err(e) = created
            && e.code() != Some("BUSYGROUP")
        {
            return Err(e).context("cannot create the limit's consumer group");
        }
        let sha: String = redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(SCRIPT)
            .query(&mut conn)?;
        let read = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(&self.group)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(self.batch)
            .arg("STREAMS")
            .arg(&self.source)
            .arg(">")
            .get_packed_command();
        let mut settled = 0u64;
        // What one round sends; reused, so a round allocates nothing here.
        let mut out = Vec::new();
        let mut key = Vec::new();
        conn.send_packed_command(&read)?;
        let mut batch = entries(conn.recv_response()?)?;
        // Whether a script was sent and its answer is still to be read.
        let mut in_flight = false;
        while !batch.is_empty() {
            out.clear();
            out.extend_from_slice(&read);
            self.write_script(&mut out, &sha, &batch, &mut key);
            conn.send_packed_command(&out)?;
            if in_flight {
                settled += script_answer(conn.recv_response()?)?;
            }
            batch = entries(conn.recv_response()?)?;
            in_flight = true;
        }
        if in_flight {
            settled += script_answer(conn.recv_response()?)?;
        }
        Ok(Consumed {
            settled,
            cpu_seconds: thread_cpu_seconds() - started,
        })
    }

    /// Appends the script call that settles `batch` to `out`, as Redis's
    /// protocol has it; `key` is the buffer each status key is built in.
    /// The entries' fields are copied once, from the read's answer to `out`.
    fn write_script(&self, out: &mut Vec<u8>, sha: &str, batch: &[Read], key: &mut Vec<u8>) {
        let updated = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let fields: usize = batch.iter().map(|entry| 2 + entry.fields.len()).sum();
        let mut out = Resp(out);
        out.array(3 + 2 + batch.len() + 6 + 2 * self.extra_fields.len() + fields);
        out.bulk(b"EVALSHA");
        out.bulk(sha.as_bytes());
        out.number(2 + batch.len() as u64);
        out.bulk(self.source.as_bytes());
        out.bulk(self.target.as_bytes());
        for entry in batch {
            key.clear();
            key.extend_from_slice(self.status_prefix.as_bytes());
            key.extend_from_slice(job_id(entry));
            out.bulk(key);
        }
        out.bulk(self.group.as_bytes());
        out.bulk(self.consumer.as_bytes());
        out.number(self.status_ttl_ms);
        out.bulk(self.plugins.as_bytes());
        out.number(updated);
        out.number(self.extra_fields.len() as u64);
        for (name, value) in &self.extra_fields {
            out.bulk(name.as_bytes());
            out.bulk(value.as_bytes());
        }
        for entry in batch {
            out.bulk(&entry.id);
            out.number(entry.fields.len() as u64 / 2);
            for value in &entry.fields {
                out.bulk(bytes(value));
            }
        }
    }
}

/// A command being written in Redis's protocol (RESP), straight into the
/// buffer that is sent.
struct Resp<'a>(
    /// The buffer; each method appends to it.
    &'a mut Vec<u8>,
);

impl Resp<'_> {
    /// The header of a command of `n` arguments.
    fn array(&mut self, n: usize) {
        write!(self.0, "*{n}\r\n").expect("writing to a Vec cannot fail");
    }

    /// One argument.
    fn bulk(&mut self, bytes: &[u8]) {
        write!(self.0, "${}\r\n", bytes.len()).expect("writing to a Vec cannot fail");
        self.0.extend_from_slice(bytes);
        self.0.extend_from_slice(b"\r\n");
    }

    /// One argument, a number in decimal.
    fn number(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        let mut cursor = &mut digits[..];
        write!(cursor, "{n}").expect("20 digits hold any u64");
        let len = 20 - cursor.len();
        self.bulk(&digits[..len]);
    }
}

/// The number of entries a script call settled, from its answer.
fn script_answer(answer: Value) -> anyhow::Result<u64> {
    match answer {
        Value::Int(n) => Ok(n as u64),
        other => bail!("the limit's script answered {other:?}"),
    }
}

/// The job id of `entry`: its `job-id` field if present, non-empty and at
/// most 256 bytes (as switchyard takes it), else its entry id.
fn job_id(entry: &Read) -> &[u8] {
    entry
        .fields
        .chunks_exact(2)
        .find(|pair| bytes(&pair[0]) == JOB_ID_FIELD)
        .map(|pair| bytes(&pair[1]))
        .filter(|id| !id.is_empty() && id.len() <= 256)
        .unwrap_or(&entry.id)
}

/// The bytes of a string reply; empty for any other kind.
fn bytes(value: &Value) -> &[u8] {
    match value {
        Value::BulkString(b) => b,
        Value::SimpleString(s) => s.as_bytes(),
        _ => b"",
    }
}

/// The entries of an `XREADGROUP` reply (RESP2 or RESP3), taken out of it
/// without copying; none for a nil reply.
fn entries(reply: Value) -> anyhow::Result<Vec<Read>> {
    let streams: Vec<Value> = match reply {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(streams) => streams
            .into_iter()
            .filter_map(|stream| match stream {
                Value::Array(mut pair) if pair.len() == 2 => pair.pop(),
                _ => None,
            })
            .collect(),
        Value::Map(streams) => streams.into_iter().map(|(_, list)| list).collect(),
        other => bail!("XREADGROUP answered {other:?}"),
    };
    let mut read = Vec::new();
    for list in streams {
        let Value::Array(list) = list else {
            bail!("XREADGROUP answered a stream's entries as {list:?}");
        };
        for entry in list {
            let Value::Array(mut parts) = entry else {
                bail!("XREADGROUP answered an entry as {entry:?}");
            };
            match (parts.pop(), parts.pop()) {
                (Some(Value::Array(fields)), Some(Value::BulkString(id))) => {
                    read.push(Read { id, fields })
                }
                other => bail!("XREADGROUP answered an entry as {other:?}"),
            }
        }
    }
    Ok(read)
}

/// CPU time the calling thread has used (user + system), in seconds.
fn thread_cpu_seconds() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, which `now` is; the clock
    // exists on every Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    now.tv_sec as f64 + now.tv_nsec as f64 / 1e9
}
