//! Stage one: reading entries from the source streams.
//!
//! Three ways in, all through the consumer group:
//! - [`Intake::read_own_pending`]: at start (and after Redis comes back), the
//!   entries already delivered to this consumer and not yet acknowledged;
//! - [`Intake::read_new`]: new entries, with a blocking `XREADGROUP` (never
//!   a sleep-and-poll loop);
//! - [`Intake::claim`]: entries another consumer left pending longer than
//!   the claim time, taken over with `XAUTOCLAIM`.
//!
//! Delivery counts come from the pending list, so an entry that keeps
//! failing is noticed and dead-lettered after the maximum.
//!
//! On a Redis Cluster one `XREADGROUP` can only name streams of one hash
//! slot, so the daemon runs one intake per slot ([`Intake::for_slot`]), each
//! on its own connection.

use std::collections::HashMap;
use std::time::Duration;

use redis::{RedisResult, Value};

use super::job::{Cursor, Entry, EntryId, Text};
use crate::store::Conn;
use crate::store::reply::{
    PackedEntry, groups, parse_packed_entries, parse_streams, text, text_list,
};

/// A connection to the group on behalf of one consumer.
pub struct Intake {
    /// Used only by intake, so blocking reads hold up nothing else.
    conn: Conn,
    /// The consumer group.
    group: String,
    /// This consumer.
    consumer: String,
    /// The streams read, in config order.
    sources: Vec<String>,
    /// On a cluster: the hash slot this intake reads; only sources in it
    /// are kept.
    slot: Option<u16>,
}

impl Intake {
    /// Intake for `consumer` of `group` on `sources`.
    pub fn new(conn: Conn, group: &str, consumer: &str, sources: Vec<String>) -> Intake {
        Intake {
            conn,
            group: group.to_owned(),
            consumer: consumer.to_owned(),
            sources,
            slot: None,
        }
    }

    /// Makes this intake read only the sources in hash `slot` (of those
    /// given to it now and later).
    pub fn for_slot(mut self, slot: u16) -> Intake {
        self.slot = Some(slot);
        let sources = std::mem::take(&mut self.sources);
        self.set_sources(sources);
        self
    }

    /// Makes `sources` the streams read from now on (a reload may add or
    /// drop routes). Returns whether they changed.
    pub fn set_sources(&mut self, mut sources: Vec<String>) -> bool {
        if let Some(slot) = self.slot {
            sources.retain(|s| crate::store::layout::slot(s) == slot);
        }
        if sources == self.sources {
            return false;
        }
        self.sources = sources;
        true
    }

    /// The streams read.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// Creates the group on every source that lacks it (and the stream, if
    /// missing). A new group starts at the beginning of the stream, so jobs
    /// sent before the first daemon started are routed too. Returns the
    /// sources whose group was created.
    pub async fn ensure_groups(&mut self) -> RedisResult<Vec<String>> {
        let mut created = Vec::new();
        for source in self.sources.clone() {
            if create_group(&mut self.conn, &source, &self.group).await? {
                created.push(source);
            }
        }
        Ok(created)
    }

    /// Creates the group on `source` if it is missing (see
    /// [`create_group`]); returns whether it was created.
    pub async fn create_group(&mut self, source: &str) -> RedisResult<bool> {
        create_group(&mut self.conn, source, &self.group).await
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// Removes from the group on `source` every consumer but this one that
    /// has nothing pending and has been idle longer than `idle`; returns
    /// their names. One script, so a consumer that reads meanwhile is not
    /// removed with entries pending.
    pub async fn forget_idle(&mut self, source: &str, idle: Duration) -> RedisResult<Vec<String>> {
        static FORGET: std::sync::LazyLock<redis::Script> =
            std::sync::LazyLock::new(|| redis::Script::new(FORGET_SCRIPT));
        match FORGET
            .key(source)
            .arg(&self.group)
            .arg(&self.consumer)
            .arg(idle.as_millis() as u64)
            .invoke_async(&mut self.conn)
            .await
        {
            Err(e) if is_nogroup(&e) || missing_key(&e) => Ok(Vec::new()),
            other => other,
        }
    }

    /// Up to `count` entries of this consumer's pending list past each
    /// source's cursor (a missing cursor is [`Cursor::Start`]), with their
    /// delivery counts. Entries deleted from the stream meanwhile are
    /// acknowledged and skipped. Returns an empty list once every source's
    /// cursor is [`Cursor::Done`].
    pub async fn read_own_pending(
        &mut self,
        cursors: &mut HashMap<String, Cursor>,
        count: usize,
    ) -> RedisResult<Vec<Entry>> {
        let open: Vec<(String, Cursor)> = self
            .sources
            .iter()
            .map(|s| (s.clone(), cursors.get(s).copied().unwrap_or_default()))
            .filter(|(_, cursor)| *cursor != Cursor::Done)
            .collect();
        if open.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = self.read_group(count);
        cmd.arg("STREAMS");
        for (source, _) in &open {
            cmd.arg(source.as_str());
        }
        for (_, cursor) in &open {
            match cursor {
                Cursor::After(id) => cmd.arg(id),
                _ => cmd.arg("0"),
            };
        }
        let reply: Value = cmd.query_async(&mut self.conn).await?;
        let mut read = parse_streams(reply);
        let mut entries = Vec::new();
        for (source, _) in open {
            let list = read.remove(&source).unwrap_or_default();
            let Some(last) = list.last().and_then(|(id, _)| EntryId::parse(id)) else {
                cursors.insert(source, Cursor::Done);
                continue;
            };
            cursors.insert(source.clone(), Cursor::After(last));
            let (live, gone): (Vec<_>, Vec<_>) = list.into_iter().partition(|(_, f)| f.is_some());
            if !gone.is_empty() {
                let ids: Vec<String> = gone.into_iter().map(|(id, _)| id).collect();
                tracing::warn!(stream = %source, "acknowledging {} pending entries deleted from the stream: {}", ids.len(), ids.join(", "));
                redis::cmd("XACK")
                    .arg(&source)
                    .arg(&self.group)
                    .arg(&ids)
                    .query_async::<()>(&mut self.conn)
                    .await?;
            }
            let counts = self.delivery_counts(&source, &live).await?;
            entries.extend(entries_of(&source, live, &counts));
        }
        Ok(entries)
    }

    /// Up to `count` new entries, waiting at most `block` for the first.
    pub async fn read_new(&mut self, count: usize, block: Duration) -> RedisResult<Vec<Entry>> {
        let mut cmd = self.read_group(count);
        cmd.arg("BLOCK")
            .arg(block.as_millis() as u64)
            .arg("STREAMS");
        for source in &self.sources {
            cmd.arg(source);
        }
        for _ in &self.sources {
            cmd.arg(">");
        }
        let reply: Value = cmd.query_async(&mut self.conn).await?;
        let none = HashMap::new();
        Ok(parse_streams(reply)
            .into_iter()
            .flat_map(|(stream, list)| entries_of(&stream, list, &none))
            .collect())
    }

    /// `XREADGROUP GROUP <group> <consumer> COUNT <count>`, to be completed.
    fn read_group(&self, count: usize) -> redis::Cmd {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(&self.group)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(count);
        cmd
    }

    /// Takes over up to `count` entries of `source` that have been pending
    /// with any consumer for at least `idle`, from `cursor` on. Returns the
    /// next cursor ([`Cursor::Done`] when the pending list has been walked).
    pub async fn claim(
        &mut self,
        source: &str,
        cursor: Cursor,
        idle: Duration,
        count: usize,
    ) -> RedisResult<(Cursor, Vec<Entry>)> {
        let from = match cursor {
            Cursor::Start => EntryId::default(),
            Cursor::After(id) => id,
            Cursor::Done => return Ok((Cursor::Done, Vec::new())),
        };
        let reply: Value = redis::cmd("XAUTOCLAIM")
            .arg(source)
            .arg(&self.group)
            .arg(&self.consumer)
            .arg(idle.as_millis() as u64)
            .arg(from)
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.conn)
            .await?;
        let Value::Array(mut parts) = reply else {
            return Ok((Cursor::Done, Vec::new()));
        };
        if parts.len() > 2 {
            let deleted = text_list(parts.remove(2));
            if !deleted.is_empty() {
                tracing::warn!(stream = %source, "pending entries deleted from the stream before they were routed: {}", deleted.join(", "));
            }
        }
        let list = parts
            .pop()
            .map(|list| parse_packed_entries(&list))
            .unwrap_or_default();
        // XAUTOCLAIM answers `0-0` when the whole pending list was walked.
        let next = match parts.pop().and_then(text).and_then(|t| EntryId::parse(&t)) {
            Some(id) if id != EntryId::default() => Cursor::After(id),
            _ => Cursor::Done,
        };
        let live: Vec<PackedEntry> = list.into_iter().filter(|(_, f)| f.is_some()).collect();
        let counts = self.delivery_counts(source, &live).await?;
        Ok((next, entries_of(source, live, &counts)))
    }

    /// The delivery count of each of `entries` (all of one stream, in id
    /// order) from the group's pending list.
    async fn delivery_counts(
        &mut self,
        source: &str,
        entries: &[PackedEntry],
    ) -> RedisResult<HashMap<String, u32>> {
        let (Some((first, _)), Some((last, _))) = (entries.first(), entries.last()) else {
            return Ok(HashMap::new());
        };
        let reply: Value = redis::cmd("XPENDING")
            .arg(source)
            .arg(&self.group)
            .arg(first)
            .arg(last)
            .arg(entries.len())
            .arg(&self.consumer)
            .query_async(&mut self.conn)
            .await?;
        let mut counts = HashMap::new();
        if let Value::Array(rows) = reply {
            for row in rows {
                if let Value::Array(cols) = row
                    && let (Some(id), Some(Value::Int(n))) =
                        (cols.first().cloned().and_then(text), cols.get(3))
                {
                    counts.insert(id, *n as u32);
                }
            }
        }
        Ok(counts)
    }
}

/// Removes idle consumers with nothing pending: see [`Intake::forget_idle`].
/// `XINFO CONSUMERS` answers each consumer as a flat list of names and
/// values (Redis 7.0: name, pending, idle).
const FORGET_SCRIPT: &str = r#"
-- KEYS[1] source stream; ARGV[1] group, ARGV[2] this consumer, ARGV[3] idle ms
local removed = {}
local limit = tonumber(ARGV[3])
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local seen = {}
  for i = 1, #consumer, 2 do seen[consumer[i]] = consumer[i + 1] end
  if seen['name'] ~= ARGV[2] and seen['pending'] == 0 and seen['idle'] > limit then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], seen['name'])
    removed[#removed + 1] = seen['name']
  end
end
return removed
"#;

/// Creates `group` on `source` (and the stream, if missing) from the
/// stream's start, unless it exists; returns whether it was created.
pub async fn create_group(conn: &mut Conn, source: &str, group: &str) -> RedisResult<bool> {
    // Look first: creating is a write, which Redis refuses when it is out of
    // memory even if the group exists.
    if group_exists(conn, source, group).await? {
        return Ok(false);
    }
    let created: RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(source)
        .arg(group)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(conn)
        .await;
    match created {
        Ok(()) => Ok(true),
        // Another daemon (or loop) created it meanwhile.
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether `source` exists and has `group`.
async fn group_exists(conn: &mut Conn, source: &str, group: &str) -> RedisResult<bool> {
    let reply: RedisResult<Value> = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(source)
        .query_async(conn)
        .await;
    match reply {
        Ok(reply) => Ok(groups(reply)
            .iter()
            .any(|g| g.get("name") == Some(&group.to_owned()))),
        // "no such key": the stream does not exist yet.
        Err(e) if missing_key(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether Redis answered that the stream does not exist.
fn missing_key(error: &redis::RedisError) -> bool {
    error.code() == Some("ERR")
        && error
            .detail()
            .is_some_and(|d| d.to_ascii_lowercase().contains("no such key"))
}

/// Whether Redis answered that the consumer group (or its stream) is gone:
/// deleted, or lost in a restart without persistence.
pub fn is_nogroup(error: &redis::RedisError) -> bool {
    error.code() == Some("NOGROUP")
}

/// Entries of `stream` as read, with their delivery counts from `counts`
/// (1 when not listed: a first delivery). Entries deleted from the stream
/// while pending (no fields) and ids Redis would never send are skipped.
/// Field names that are not UTF-8 are read with U+FFFD in place of each
/// invalid sequence.
fn entries_of(stream: &str, list: Vec<PackedEntry>, counts: &HashMap<String, u32>) -> Vec<Entry> {
    list.into_iter()
        .filter_map(|(id, fields)| {
            Some(Entry {
                stream: stream.to_owned(),
                deliveries: counts.get(&id).copied().unwrap_or(1),
                id: EntryId::parse(&id)?,
                fields: fields?
                    .into_iter()
                    .map(|(name, value)| (Text::from_utf8_lossy(name), value))
                    .collect(),
            })
        })
        .collect()
}
