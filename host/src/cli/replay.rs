//! `switchyard dead-letters` and `switchyard replay`: finding what went
//! wrong, and sending it round again once the cause is fixed.
//!
//! A replay moves one dead letter at a time with a Lua script that adds the
//! job's own fields (not switchyard's `switchyard-*` notes) to the
//! destination stream and deletes the dead letter, in one step. Interrupted
//! at any moment, every job is either still a dead letter or back on the
//! stream, never both and never neither.
//!
//! A replay ends: it moves only the dead letters present when it started
//! (up to the stream's `last-generated-id` read first), so jobs that fail
//! again and come back as new dead letters wait for the next replay instead
//! of being chased. It refuses `--from S --to S`. Each dead letter goes back
//! to the source it was read from (its `switchyard-source` field) unless
//! `--to` says otherwise; with `--config` every destination must be a
//! source some route reads, so a replay cannot feed a stream nobody reads.
//! Without `--config` nothing can be checked, so `--to` is then required.
//! `--dry-run` prints what would move and moves nothing.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use serde_json::{Value as Json, json};

use crate::pipeline::job::EntryId;
use crate::pipeline::settle::{ERROR_FIELD, REASON_FIELD, SOURCE_FIELD, STAGE_FIELD};
use crate::store::BlockingConn;

/// Moves one entry: see the module doc.
pub const REPLAY_SCRIPT: &str = r#"
-- KEYS[1] dead-letter stream, KEYS[2] destination; ARGV[1] entry id
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return 0 end
local fields = found[1][2]
local job = {}
for i = 1, #fields, 2 do
  if string.sub(fields[i], 1, 11) ~= 'switchyard-' then
    job[#job + 1] = fields[i]
    job[#job + 1] = fields[i + 1]
  end
end
if #job == 0 then return -1 end
redis.call('XADD', KEYS[2], '*', unpack(job))
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
"#;

/// `switchyard dead-letters`: prints up to `count` dead letters of `stream`
/// (default: every dead-letter stream of `config`), as text or JSON lines.
pub fn list(
    url: Option<String>,
    config: Option<&Path>,
    stream: Option<String>,
    count: usize,
    json: bool,
) -> anyhow::Result<()> {
    let (mut conn, settings) = super::connect(url, config)?;
    let streams: Vec<String> = match (stream, &settings) {
        (Some(stream), _) => vec![stream],
        (None, Some(settings)) => {
            let mut streams: Vec<String> = settings
                .routes
                .iter()
                .map(|r| r.dead_letters.clone())
                .collect();
            streams.dedup();
            streams
        }
        (None, None) => bail!("give --stream or --config"),
    };
    for stream in streams {
        let letters = read(&mut conn, &stream, "-", "+", count)?;
        if !json {
            let total: usize = redis::cmd("XLEN").arg(&stream).query(&mut conn)?;
            println!(
                "{stream}: {total} dead letters{}",
                if total > letters.len() {
                    format!(", the first {}", letters.len())
                } else {
                    String::new()
                }
            );
        }
        for letter in &letters {
            let d = describe(&stream, letter);
            if json {
                println!("{d}");
            } else {
                let s = |k: &str| d[k].as_str().unwrap_or("-").to_owned();
                println!(
                    "  {}  job {}  service {}  [{} {}] {}",
                    s("id"),
                    s("job-id"),
                    s("service"),
                    s("stage"),
                    s("error"),
                    s("reason")
                );
            }
        }
    }
    Ok(())
}

/// Where replayed dead letters go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Every one to this stream.
    Stream(String),
    /// Each to the source it was read from (its `switchyard-source`
    /// field), when that is one of these sources.
    OwnSource(Vec<String>),
}

/// What a replay moved (or, dry, would move) and what it left in place.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Dead letters moved, per destination stream.
    pub moved: BTreeMap<String, usize>,
    /// Dead letters left in place, per reason.
    pub left: BTreeMap<String, usize>,
}

impl Tally {
    /// How many moved in all.
    pub fn total(&self) -> usize {
        self.moved.values().sum()
    }

    /// One line: `N dead letters from F (to S: n, ...)`, and what was left.
    pub fn describe(&self, from: &str) -> String {
        let mut text = format!("{} dead letters from {from}", self.total());
        if !self.moved.is_empty() {
            let each: Vec<String> = self
                .moved
                .iter()
                .map(|(to, n)| format!("{n} to {to}"))
                .collect();
            text.push_str(&format!(" ({})", each.join(", ")));
        }
        for (reason, n) in &self.left {
            text.push_str(&format!("; left {n} in place: {reason}"));
        }
        text
    }
}

/// `switchyard replay`: moves up to `count` dead letters of `from` whose
/// field matches `filter` (`FIELD=VALUE`) onto `to` (default: each one's own
/// source), checked against `config` (see the module doc), and says how
/// many; `dry_run` moves nothing.
pub fn run(
    url: Option<String>,
    config: Option<&Path>,
    from: &str,
    to: Option<&str>,
    count: usize,
    filter: Option<&str>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let filter = match filter {
        Some(f) => Some(
            f.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| anyhow!("--match `{f}`: expected FIELD=VALUE"))?,
        ),
        None => None,
    };
    if to == Some(from) {
        bail!(
            "replay --from {from} --to {from}: a dead letter put back on the stream it is taken from would be replayed for ever; --to must be a source stream"
        );
    }
    let (mut conn, settings) = super::connect(url, config)?;
    let sources = settings.as_ref().map(|s| s.sources());
    let destination = match (to, sources) {
        (Some(to), Some(sources)) if !sources.iter().any(|s| s == to) => bail!(
            "replay --to {to}: no route reads stream {to}, so the jobs would wait there for ever; the routes read: {}",
            sources.join(", ")
        ),
        (Some(to), _) => Destination::Stream(to.to_owned()),
        (None, Some(sources)) => Destination::OwnSource(sources),
        (None, None) => bail!(
            "replay from {from}: give --config, to send each dead letter back to its own source after checking that a route reads it, or --to STREAM"
        ),
    };
    let tally = replay(
        &mut conn,
        from,
        &destination,
        count,
        filter.as_ref(),
        dry_run,
    )?;
    let verb = if dry_run { "would replay" } else { "replayed" };
    println!("{verb} {}", tally.describe(from));
    Ok(())
}

/// One dead letter as `dead-letters` shows it.
pub type Letter = (String, Vec<(String, Vec<u8>)>);

/// Up to `count` entries of `stream`, oldest first, after `after`
/// (exclusive; `-`: from the start) and up to `through` (inclusive; `+`:
/// to the end).
pub fn read(
    conn: &mut BlockingConn,
    stream: &str,
    after: &str,
    through: &str,
    count: usize,
) -> redis::RedisResult<Vec<Letter>> {
    let start = if after == "-" {
        "-".to_owned()
    } else {
        format!("({after}")
    };
    redis::cmd("XRANGE")
        .arg(stream)
        .arg(start)
        .arg(through)
        .arg("COUNT")
        .arg(count)
        .query(conn)
}

/// A dead letter as JSON: id, job id, service and why.
pub fn describe(stream: &str, (id, fields): &Letter) -> Json {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    json!({
        "stream": stream,
        "id": id,
        "job-id": get("job-id"),
        "service": get("service"),
        "source": get(SOURCE_FIELD),
        "stage": get(STAGE_FIELD),
        "error": get(ERROR_FIELD),
        "reason": get(REASON_FIELD),
    })
}

/// Whether `letter` has `field` equal to `value`.
pub fn matches(letter: &Letter, filter: Option<&(String, String)>) -> bool {
    match filter {
        None => true,
        Some((field, value)) => letter
            .1
            .iter()
            .any(|(k, v)| k == field && v == value.as_bytes()),
    }
}

/// Replays up to `count` dead letters of `from` that match `filter` onto
/// `destination`, one atomic move each, stopping at the last entry `from`
/// held when it started; `dry_run` only counts (and prints each). Returns
/// what moved and what was left.
pub fn replay(
    conn: &mut BlockingConn,
    from: &str,
    destination: &Destination,
    count: usize,
    filter: Option<&(String, String)>,
    dry_run: bool,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::default();
    // Entries added from here on (jobs that fail again) are not this
    // replay's: it reads up to this id and no further.
    let info: redis::Value = match redis::cmd("XINFO").arg("STREAM").arg(from).query(conn) {
        Ok(info) => info,
        // No stream: no dead letters.
        Err(e) if e.to_string().to_ascii_lowercase().contains("no such key") => {
            return Ok(tally);
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read stream {from}")),
    };
    let mut info = crate::store::reply::flat_map(info);
    let Some(last) = info
        .remove("last-generated-id")
        .and_then(|id| EntryId::parse(&id))
    else {
        bail!("stream {from} has no last-generated-id: is it a stream?");
    };
    // The letters there at the start, each looked at once; a dry run prints
    // each letter instead.
    let progress = if dry_run {
        indicatif::ProgressBar::hidden()
    } else {
        let length = info.remove("length").and_then(|n| n.parse::<u64>().ok());
        super::progress::bar(length, &format!("replaying {from}"), "letters")
    };
    let script = redis::Script::new(REPLAY_SCRIPT);
    let mut after = "-".to_owned();
    'pages: while tally.total() < count {
        let page = read(conn, from, &after, &last.to_string(), 500)?;
        let Some((end, _)) = page.last() else { break };
        after = end.clone();
        progress.inc(page.len() as u64);
        for letter in page.iter().filter(|l| matches(l, filter)) {
            if tally.total() >= count {
                break 'pages;
            }
            let to = match destination {
                Destination::Stream(to) => to.clone(),
                Destination::OwnSource(sources) => {
                    match field(letter, SOURCE_FIELD).map(|from| source_stream(&from).to_owned()) {
                        None => {
                            *tally
                                .left
                                .entry(format!("no {SOURCE_FIELD} field (give --to)"))
                                .or_default() += 1;
                            continue;
                        }
                        Some(source) if source == from || !sources.contains(&source) => {
                            *tally
                                .left
                                .entry(format!("source {source} is read by no route"))
                                .or_default() += 1;
                            continue;
                        }
                        Some(source) => source,
                    }
                }
            };
            if dry_run {
                let d = describe(from, letter);
                println!(
                    "  {}  job {}  service {}  -> {to}",
                    letter.0,
                    d["job-id"].as_str().unwrap_or("-"),
                    d["service"].as_str().unwrap_or("-"),
                );
                *tally.moved.entry(to).or_default() += 1;
                continue;
            }
            let result: i64 = script
                .key(from)
                .key(&to)
                .arg(&letter.0)
                .invoke(conn)
                .with_context(|| {
                    format!("cannot move dead letter {} from {from} to {to}", letter.0)
                })?;
            match result {
                1 => *tally.moved.entry(to).or_default() += 1,
                -1 => {
                    tracing::warn!(stream = from, entry = %letter.0, "dead letter has no job fields to replay; left in place");
                    *tally.left.entry("no job fields".to_owned()).or_default() += 1;
                }
                _ => {} // gone meanwhile (another replay took it)
            }
        }
    }
    progress.finish_and_clear();
    Ok(tally)
}

/// The stream of a `switchyard-source` value: the daemon writes
/// `STREAM/ENTRY-ID`; a value without an entry id is a stream name.
pub fn source_stream(from: &str) -> &str {
    match from.rsplit_once('/') {
        Some((stream, id)) if EntryId::parse(id).is_some() => stream,
        _ => from,
    }
}

/// `letter`'s field `name` as text.
fn field(letter: &Letter, name: &str) -> Option<String> {
    letter
        .1
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}
