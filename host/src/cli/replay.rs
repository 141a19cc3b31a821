//! `switchyard dead-letters` and `switchyard replay`: finding what went
//! wrong, and sending it round again once the cause is fixed.
//!
//! A replay moves one dead letter at a time with a Lua script that adds the
//! job's own fields (not switchyard's `switchyard-*` notes) to the
//! destination stream and deletes the dead letter, in one step. Interrupted
//! at any moment, every job is either still a dead letter or back on the
//! stream, never both and never neither.

use std::path::Path;

use anyhow::{anyhow, bail};
use serde_json::{Value as Json, json};

use crate::pipeline::settle::{ERROR_FIELD, REASON_FIELD, SOURCE_FIELD, STAGE_FIELD};

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
        let letters = read(&mut conn, &stream, "-", count)?;
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

/// `switchyard replay`: moves up to `count` dead letters of `from` whose
/// field matches `filter` (`FIELD=VALUE`) onto `to`, and says how many.
pub fn run(
    url: Option<String>,
    config: Option<&Path>,
    from: &str,
    to: &str,
    count: usize,
    filter: Option<&str>,
) -> anyhow::Result<()> {
    let filter = match filter {
        Some(f) => Some(
            f.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| anyhow!("--match `{f}`: expected FIELD=VALUE"))?,
        ),
        None => None,
    };
    let (mut conn, _) = super::connect(url, config)?;
    let moved = replay(&mut conn, from, to, count, filter.as_ref())?;
    println!("replayed {moved} dead letters from {from} to {to}");
    Ok(())
}

/// One dead letter as `dead-letters` shows it.
pub type Letter = (String, Vec<(String, Vec<u8>)>);

/// Up to `count` entries of `stream`, oldest first, from `after` (exclusive).
pub fn read(
    conn: &mut redis::Connection,
    stream: &str,
    after: &str,
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
        .arg("+")
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
/// `to`, one atomic move each. Returns how many moved.
pub fn replay(
    conn: &mut redis::Connection,
    from: &str,
    to: &str,
    count: usize,
    filter: Option<&(String, String)>,
) -> anyhow::Result<usize> {
    let script = redis::Script::new(REPLAY_SCRIPT);
    let mut moved = 0;
    let mut after = "-".to_owned();
    while moved < count {
        let page = read(conn, from, &after, 500)?;
        let Some((last, _)) = page.last() else { break };
        after = last.clone();
        for letter in page.iter().filter(|l| matches(l, filter)) {
            if moved >= count {
                break;
            }
            let result: i64 = script.key(from).key(to).arg(&letter.0).invoke(conn)?;
            match result {
                1 => moved += 1,
                -1 => {
                    tracing::warn!(stream = from, entry = %letter.0, "dead letter has no job fields to replay; left in place")
                }
                _ => {} // gone meanwhile (another replay took it)
            }
        }
    }
    Ok(moved)
}
