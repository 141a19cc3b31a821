//! One retention round over one stream: find the trim point from the
//! groups and the cap, archive what lies below it, then trim with
//! [`TRIM_SCRIPT`], which checks the groups again atomically.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use redis::Value;
use serde_json::{Value as Json, json};

use super::archive::{RawEntry, Writer};
use super::bound::{GroupPosition, acknowledged_bound, cap_bound, trim_bound};
use super::{LOCK_KEY, POSITION_PREFIX};
use crate::config::{Cap, RetentionSettings, Role};
use crate::daemon::heartbeat::unix_ms;
use crate::metrics::{StreamLabels, metrics};
use crate::pipeline::job::EntryId;
use crate::store::BlockingConn;
use crate::store::reply::{flat_map, groups};

/// Entries read per `XRANGE` while archiving.
const PAGE: usize = 200;
/// Entries per archive file, and per trim step when archiving.
const CHUNK: usize = 10_000;
/// Entries walked per round to find a `max-len` trim point; a longer excess
/// is trimmed over several rounds.
const MAX_WALK: usize = 100_000;

/// Trims `KEYS[1]` through entry `ARGV[1]` (inclusive) with
/// `XTRIM MINID ARGV[2]` (the id after it), if every consumer group on the
/// stream has been delivered `ARGV[1]` and has nothing pending at or below
/// it. With no group, trims only when `ARGV[3]` is `0` (an output stream).
/// Returns the count trimmed, or -1 (source with no group), -2 (a group
/// has not been delivered that far), -3 (a group has an entry pending).
pub const TRIM_SCRIPT: &str = r#"
local function num(x, y)
  if #x ~= #y then return #x < #y and -1 or 1 end
  if x == y then return 0 end
  return x < y and -1 or 1
end
local function cmp(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  local c = num(am, bm)
  if c ~= 0 then return c end
  return num(as, bs)
end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 and ARGV[3] == '1' then return -1 end
for _, g in ipairs(groups) do
  local name, last
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] end
    if g[i] == 'last-delivered-id' then last = g[i + 1] end
  end
  if cmp(last, ARGV[1]) < 0 then return -2 end
  local p = redis.call('XPENDING', KEYS[1], name)
  if p[1] > 0 and cmp(p[2], ARGV[1]) <= 0 then return -3 end
end
return redis.call('XTRIM', KEYS[1], 'MINID', ARGV[2])
"#;
/// What a round did to one stream.
#[derive(Clone, Debug, Default)]
pub struct StreamRound {
    /// The stream.
    pub stream: String,
    /// Entries trimmed.
    pub trimmed: u64,
    /// Entries written to the archive.
    pub archived: u64,
    /// The last entry trimmed.
    pub through: Option<EntryId>,
    /// Why the trim stopped short, if the groups moved under it.
    pub refused: Option<&'static str>,
}

/// Runs one round over `streams`, unless another daemon holds this
/// interval's lock (then `Ok(None)`). `stop` cuts it short between steps.
pub fn round(
    conn: &mut BlockingConn,
    settings: &RetentionSettings,
    streams: &[(String, Role)],
    holder: &str,
    stop: &AtomicBool,
) -> anyhow::Result<Option<Vec<StreamRound>>> {
    let taken: Option<String> = redis::cmd("SET")
        .arg(LOCK_KEY)
        .arg(holder)
        .arg("NX")
        .arg("PX")
        .arg(settings.interval.as_millis().max(1) as u64)
        .query(conn)?;
    if taken.is_none() {
        return Ok(None);
    }
    let mut done = Vec::new();
    let mut failures = Vec::new();
    for (stream, role) in streams {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let cap = settings.cap_for(stream, *role);
        let wanted = match role {
            Role::Source => settings.trim_sources,
            _ => cap.is_set(),
        };
        if !wanted {
            continue;
        }
        // One stream failing (a key of the wrong type, a full disk for its
        // archive) does not keep the others from being trimmed.
        match trim_stream(
            conn,
            stream,
            *role,
            cap,
            settings.archive_dir.as_deref(),
            stop,
        ) {
            Ok(result) => done.push(result),
            Err(e) => failures.push(format!("{stream}: {e:#}")),
        }
    }
    if !failures.is_empty() {
        anyhow::bail!("{}", failures.join("; "));
    }
    Ok(Some(done))
}

/// Trims one stream as its role and cap say, archiving first if `archive`.
pub fn trim_stream(
    conn: &mut BlockingConn,
    stream: &str,
    role: Role,
    cap: Cap,
    archive: Option<&Path>,
    stop: &AtomicBool,
) -> anyhow::Result<StreamRound> {
    let mut result = StreamRound {
        stream: stream.to_owned(),
        ..Default::default()
    };
    let Some(groups) = group_positions(conn, stream)? else {
        return Ok(result); // no such stream
    };
    let now = unix_ms(SystemTime::now()) as u64;
    let cap_point = match role {
        Role::Source => None,
        _ => {
            let first_kept = match cap.max_len {
                Some(max_len) => first_kept(conn, stream, max_len)?,
                None => None,
            };
            cap_bound(cap, first_kept, now)
        }
    };
    let Some(bound) = trim_bound(role, &groups, cap_point) else {
        return Ok(result);
    };
    let Some(through) = last_below(conn, stream, bound)? else {
        return Ok(result);
    };
    let source = role == Role::Source;
    match archive {
        None => match guarded_trim(conn, stream, through, source)? {
            Ok(n) => {
                result.trimmed = n;
                result.through = Some(through);
            }
            Err(why) => result.refused = Some(why),
        },
        Some(dir) => loop {
            // One file, then its trim, per chunk: memory and each XTRIM
            // stay bounded however far behind retention is.
            let mut writer = Writer::create(dir, stream, now as u128)?;
            let mut after: Option<EntryId> = None;
            while writer.count() < CHUNK {
                let page = range(conn, stream, after, through, PAGE)?;
                let Some(last) = page.last().and_then(|(id, _)| EntryId::parse(id)) else {
                    break;
                };
                writer.write(&page)?;
                after = Some(last);
                if last >= through {
                    break;
                }
            }
            let written = writer.count() as u64;
            writer.commit()?;
            let Some(last) = after else { break };
            result.archived += written;
            match guarded_trim(conn, stream, last, source)? {
                Ok(n) => {
                    result.trimmed += n;
                    result.through = Some(last);
                }
                Err(why) => {
                    result.refused = Some(why);
                    break;
                }
            }
            if last >= through || stop.load(Ordering::Relaxed) {
                break;
            }
        },
    }
    record(conn, &result, now)?;
    let labels = StreamLabels {
        stream: stream.to_owned(),
    };
    metrics()
        .retention_trimmed
        .get_or_create(&labels)
        .inc_by(result.trimmed);
    metrics()
        .retention_archived
        .get_or_create(&labels)
        .inc_by(result.archived);
    Ok(result)
}

/// Each consumer group's position on `stream`; `None` if it does not exist.
pub fn group_positions(
    conn: &mut BlockingConn,
    stream: &str,
) -> redis::RedisResult<Option<Vec<GroupPosition>>> {
    let exists: i64 = redis::cmd("EXISTS").arg(stream).query(conn)?;
    if exists == 0 {
        return Ok(None);
    }
    let reply: Value = redis::cmd("XINFO").arg("GROUPS").arg(stream).query(conn)?;
    let mut positions = Vec::new();
    for group in groups(reply) {
        let name = group.get("name").cloned().unwrap_or_default();
        let last_delivered = group
            .get("last-delivered-id")
            .and_then(|id| EntryId::parse(id))
            .unwrap_or_default();
        let summary: Value = redis::cmd("XPENDING").arg(stream).arg(&name).query(conn)?;
        positions.push(GroupPosition {
            name,
            last_delivered,
            oldest_pending: oldest_pending(summary),
        });
    }
    Ok(Some(positions))
}

/// The smallest id of an `XPENDING key group` summary, if any is pending.
fn oldest_pending(summary: Value) -> Option<EntryId> {
    let Value::Array(parts) = summary else {
        return None;
    };
    match parts.get(1) {
        Some(Value::BulkString(id)) => EntryId::parse(std::str::from_utf8(id).ok()?),
        Some(Value::SimpleString(id)) => EntryId::parse(id),
        _ => None,
    }
}

/// The id of the first entry kept by `max-len`: `None` if the stream is no
/// longer. Walks at most [`MAX_WALK`] entries (then the cap is reached over
/// several rounds).
fn first_kept(
    conn: &mut BlockingConn,
    stream: &str,
    max_len: u64,
) -> redis::RedisResult<Option<EntryId>> {
    let length: u64 = redis::cmd("XLEN").arg(stream).query(conn)?;
    let excess = length.saturating_sub(max_len).min(MAX_WALK as u64) as usize;
    let mut walked = 0;
    let mut start = "-".to_owned();
    let mut last = None;
    while walked < excess {
        let ids = entry_ids(conn, stream, &start, (excess - walked).min(1000))?;
        let Some(id) = ids.last() else { break };
        walked += ids.len();
        last = Some(*id);
        start = format!("({id}");
    }
    Ok(last.map(EntryId::next))
}

fn entry_ids(
    conn: &mut BlockingConn,
    stream: &str,
    start: &str,
    count: usize,
) -> redis::RedisResult<Vec<EntryId>> {
    let entries: Vec<RawEntry> = redis::cmd("XRANGE")
        .arg(stream)
        .arg(start)
        .arg("+")
        .arg("COUNT")
        .arg(count)
        .query(conn)?;
    Ok(entries
        .iter()
        .filter_map(|(id, _)| EntryId::parse(id))
        .collect())
}

/// The last entry of `stream` below `bound`, if any.
fn last_below(
    conn: &mut BlockingConn,
    stream: &str,
    bound: EntryId,
) -> redis::RedisResult<Option<EntryId>> {
    let entries: Vec<RawEntry> = redis::cmd("XREVRANGE")
        .arg(stream)
        .arg(format!("({bound}"))
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query(conn)?;
    Ok(entries.first().and_then(|(id, _)| EntryId::parse(id)))
}

/// Up to `count` entries after `after` (from the start if `None`) up to
/// `through`, inclusive.
fn range(
    conn: &mut BlockingConn,
    stream: &str,
    after: Option<EntryId>,
    through: EntryId,
    count: usize,
) -> redis::RedisResult<Vec<RawEntry>> {
    let start = after.map_or_else(|| "-".to_owned(), |id| format!("({id}"));
    redis::cmd("XRANGE")
        .arg(stream)
        .arg(start)
        .arg(through.to_string())
        .arg("COUNT")
        .arg(count)
        .query(conn)
}

/// Runs [`TRIM_SCRIPT`]: `Ok(count)` trimmed, or why it trimmed nothing.
fn guarded_trim(
    conn: &mut BlockingConn,
    stream: &str,
    through: EntryId,
    source: bool,
) -> redis::RedisResult<Result<u64, &'static str>> {
    let result: i64 = redis::Script::new(TRIM_SCRIPT)
        .key(stream)
        .arg(through.to_string())
        .arg(through.next().to_string())
        .arg(if source { "1" } else { "0" })
        .invoke(conn)?;
    Ok(match result {
        -1 => Err("the stream has no consumer group"),
        -2 => Err("a consumer group has not been delivered that far"),
        -3 => Err("a consumer group has an entry pending"),
        n => Ok(n.max(0) as u64),
    })
}

/// Updates the stream's position record.
fn record(conn: &mut BlockingConn, round: &StreamRound, now: u64) -> redis::RedisResult<()> {
    let key = format!("{POSITION_PREFIX}{}", round.stream);
    let mut pipe = redis::pipe();
    pipe.cmd("HSET").arg(&key).arg("checked").arg(now).ignore();
    if let Some(through) = round.through {
        pipe.cmd("HSET")
            .arg(&key)
            .arg("trimmed-through")
            .arg(through.to_string())
            .ignore();
    }
    if round.trimmed > 0 {
        pipe.cmd("HINCRBY")
            .arg(&key)
            .arg("trimmed")
            .arg(round.trimmed)
            .ignore();
    }
    if round.archived > 0 {
        pipe.cmd("HINCRBY")
            .arg(&key)
            .arg("archived")
            .arg(round.archived)
            .ignore();
    }
    pipe.exec(conn)
}

/// The retention position of `stream` for `switchyard status`: its first
/// entry, the current trim point of its groups, and what retention did.
pub fn position(conn: &mut BlockingConn, stream: &str) -> redis::RedisResult<Json> {
    let first: Vec<RawEntry> = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query(conn)?;
    let groups = group_positions(conn, stream)?.unwrap_or_default();
    let reply: Value = redis::cmd("HGETALL")
        .arg(format!("{POSITION_PREFIX}{stream}"))
        .query(conn)?;
    let record = flat_map(reply);
    let number = |key: &str| record.get(key).and_then(|v| v.parse::<u64>().ok());
    Ok(json!({
        "first-entry": first.first().map(|(id, _)| id.clone()),
        "trim-point": acknowledged_bound(&groups).map(|id| id.to_string()),
        "groups": groups.len(),
        "trimmed-through": record.get("trimmed-through"),
        "trimmed": number("trimmed").unwrap_or(0),
        "archived": number("archived").unwrap_or(0),
        "checked": number("checked"),
    }))
}
