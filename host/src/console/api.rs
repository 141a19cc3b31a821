//! The console's JSON API: what the page shows, for any tool to read
//! (documented in docs/operations.md, "The console").
//!
//! Every answer is built from a bounded number of commands on keys the
//! config names: the streams' `XINFO`, the latest entries of the rejected
//! and dead-letter streams, one status record by its key, and a window of
//! entries around a job's settle time. Nothing walks the keyspace, so an
//! answer costs the same with a million status records as with ten (the
//! memory figures of [`streams`] are `switchyard status`'s, which samples).
//! The commands are read-only: a user allowed `+@read` (and `+info`,
//! `+time`, `+memory`) is enough.

use std::collections::{BTreeMap, HashMap};

use crate::store::BlockingConn;
use anyhow::Context;
use serde_json::{Value as Json, json};

use super::rates::Reading;
use crate::cli::replay::{Letter, describe};
use crate::config::{Role, Settings, streams_of};
use crate::pipeline::job::{EntryId, JOB_ID_FIELD};
use crate::pipeline::settle::{ERRORS_FIELD, REASON_FIELD, SOURCE_FIELD};
use crate::store::layout::status_key;
use crate::store::reply::flat_map;

/// Entries looked at, at most, to find the outcome entries of one job.
pub const OUTCOME_SEARCH_LIMIT: usize = 20_000;
/// A field value longer than this is cut (payloads can be large).
const SHOWN_BYTES: usize = 4096;

/// Each stream's `entries-added` and length, read now; a stream that does
/// not exist yet is left out.
pub fn reading(conn: &mut BlockingConn, settings: &Settings) -> anyhow::Result<(Reading, Json)> {
    let (seconds, micros): (u64, u64) = redis::cmd("TIME").query(conn)?;
    let mut added = BTreeMap::new();
    let mut streams = Vec::new();
    for (stream, role) in streams_of(&settings.routes) {
        let info = match redis::cmd("XINFO").arg("STREAM").arg(&stream).query(conn) {
            Ok(info) => flat_map(info),
            Err(e) if e.to_string().to_ascii_lowercase().contains("no such key") => HashMap::new(),
            Err(e) => return Err(e).with_context(|| format!("cannot read stream {stream}")),
        };
        let number = |name: &str| info.get(name).and_then(|v| v.parse::<u64>().ok());
        if let Some(n) = number("entries-added") {
            added.insert(stream.clone(), n);
        }
        streams.push(json!({
            "stream": stream,
            "role": role.name(),
            "exists": !info.is_empty(),
            "length": number("length").unwrap_or(0),
            "added": number("entries-added").unwrap_or(0),
            "last-id": info.get("last-generated-id"),
        }));
    }
    let at_ms = seconds * 1000 + micros / 1000;
    Ok((Reading { at_ms, added }, Json::Array(streams)))
}

/// `/api/overview`: the routes as a flow (source → validators → router →
/// targets, rejected, dead letters) and every stream's counts.
pub fn overview(conn: &mut BlockingConn, settings: &Settings) -> anyhow::Result<(Reading, Json)> {
    let (reading, streams) = reading(conn, settings)?;
    let routes: Vec<Json> = settings
        .routes
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "source": r.source,
                "matches": r.matches.iter().map(|(f, v)| json!({"field": f, "values": v})).collect::<Vec<_>>(),
                "validators": r.validators,
                "router": r.router,
                "targets": r.targets,
                "rejected": r.rejected,
                "dead-letters": r.dead_letters,
            })
        })
        .collect();
    let overview = json!({
        "config": settings.file.display().to_string(),
        "group": settings.consumer.group,
        "now-ms": reading.at_ms,
        "routes": routes,
        "streams": streams,
    });
    Ok((reading, overview))
}

/// `/api/streams`: `switchyard status --json`'s report (sources with lag,
/// pending, oldest pending and consumers; output lengths; memory; daemons).
pub fn streams(conn: &mut BlockingConn, settings: &Settings) -> anyhow::Result<Json> {
    crate::cli::status::collect(conn, settings)
}

/// `/api/daemons`: the daemons alive, their plugin versions and their last
/// reload's result.
pub fn daemons(conn: &mut BlockingConn) -> anyhow::Result<Json> {
    let now = crate::cli::status::redis_now_ms(conn);
    Ok(Json::Array(crate::cli::status::daemons(conn, now)?))
}

/// `/api/letters`: the latest `count` entries of every rejected and
/// dead-letter stream, newest first, and the same grouped by reason.
pub fn letters(conn: &mut BlockingConn, settings: &Settings, count: usize) -> anyhow::Result<Json> {
    let mut all: Vec<(EntryId, Json)> = Vec::new();
    for (stream, role) in streams_of(&settings.routes) {
        if !matches!(role, Role::Rejected | Role::DeadLetters) {
            continue;
        }
        let entries: Vec<Letter> = redis::cmd("XREVRANGE")
            .arg(&stream)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(count)
            .query(conn)
            .with_context(|| format!("cannot read stream {stream}"))?;
        for letter in &entries {
            let mut shown = describe(&stream, letter);
            shown["role"] = json!(role.name());
            if let Some((_, errors)) = letter.1.iter().find(|(k, _)| k == ERRORS_FIELD) {
                shown["errors"] = json!(in_words(&String::from_utf8_lossy(errors)));
            }
            let id = EntryId::parse(&letter.0).unwrap_or_default();
            all.push((id, shown));
        }
    }
    all.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
    let mut groups: BTreeMap<(String, String), (u64, Json, Vec<Json>)> = BTreeMap::new();
    for (_, letter) in &all {
        let reason = letter["reason"]
            .as_str()
            .unwrap_or("(no reason given)")
            .to_owned();
        let key = (letter["role"].as_str().unwrap_or("").to_owned(), reason);
        let group = groups
            .entry(key)
            .or_insert_with(|| (0, letter["id"].clone(), Vec::new()));
        group.0 += 1;
        if group.2.len() < 5 {
            group.2.push(letter["job-id"].clone());
        }
    }
    let mut groups: Vec<Json> = groups
        .into_iter()
        .map(|((role, reason), (n, latest, jobs))| {
            json!({"role": role, "reason": reason, "count": n, "latest-id": latest, "jobs": jobs})
        })
        .collect();
    groups.sort_by(|a, b| b["count"].as_u64().cmp(&a["count"].as_u64()));
    Ok(json!({
        "looked-at-per-stream": count,
        "groups": groups,
        "letters": all.into_iter().map(|(_, l)| l).collect::<Vec<_>>(),
    }))
}

/// `/api/job/{id}`: the job's status record (found by its key, one per
/// source on a cluster), the entry it came from, the outcome entries it
/// produced (by the ids its record's `entries` names; for an older record
/// without them, looked for around its settle time), the plugins that
/// decided and the reason in words.
pub fn job(conn: &mut BlockingConn, settings: &Settings, job_id: &str) -> anyhow::Result<Json> {
    let prefix = &settings.status.prefix;
    let mut keys: Vec<String> = settings
        .sources()
        .iter()
        .map(|source| status_key(prefix, settings.status.tagged, source, job_id))
        .collect();
    keys.dedup();
    let mut found = None;
    for key in &keys {
        let record: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(key)
            .query(conn)
            .with_context(|| format!("cannot read job {job_id}'s status record {key}"))?;
        if !record.is_empty() {
            found = Some((key.clone(), record));
            break;
        }
    }
    let Some((key, record)) = found else {
        return Ok(json!({
            "job-id": job_id,
            "found": false,
            "message": format!(
                "no status record for job {job_id} (looked at {}); records expire {} after their last write",
                keys.join(", "),
                humantime::format_duration(settings.status.ttl),
            ),
        }));
    };
    let from = record.get("source").cloned().unwrap_or_default();
    let (source, entry_id) = from.rsplit_once('/').unwrap_or((from.as_str(), ""));
    let source_entry = if entry_id.is_empty() {
        None
    } else {
        fetch(conn, source, entry_id)?
    };
    let updated: u64 = record
        .get("updated")
        .and_then(|u| u.parse().ok())
        .unwrap_or(0);
    let list = |name: &str| -> Vec<String> {
        record
            .get(name)
            .map(|v| {
                v.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut outcomes = Vec::new();
    let mut missing = Vec::new();
    // The entries the settle script wrote for the job, by their ids.
    let written = list("entries");
    for at in &written {
        let (stream, id) = at.rsplit_once('/').unwrap_or((at.as_str(), ""));
        match fetch(conn, stream, id)? {
            Some(mut entry) => {
                entry["reason"] = entry["fields"][REASON_FIELD].clone();
                outcomes.push(entry);
            }
            None => missing.push(stream.to_owned()),
        }
    }
    // A record written before its entries were named: looked for by time.
    let mut outputs: Vec<String> = list("targets");
    outputs.extend(list("dead-letters"));
    if record.get("status").map(String::as_str) == Some("REJECTED") {
        for route in settings.routes.iter().filter(|r| r.source == source) {
            if !outputs.contains(&route.rejected) {
                outputs.push(route.rejected.clone());
            }
        }
    }
    if !written.is_empty() {
        outputs.clear();
    }
    for stream in &outputs {
        match find_outcome(conn, stream, &from, updated)? {
            Some(entry) => outcomes.push(entry),
            None => missing.push(stream.clone()),
        }
    }
    Ok(json!({
        "job-id": job_id,
        "found": true,
        "key": key,
        "record": record,
        "status": record.get("status"),
        "reason": record.get("reason"),
        "errors": record.get("errors").map(|e| in_words(e)),
        "plugins": list("plugins"),
        "source-entry": source_entry,
        "outcomes": outcomes,
        "outcomes-not-found": missing,
    }))
}

/// `/api/entry/{stream}/{id}`: one entry with its fields, and the job it
/// carries (as [`job`] finds it) when it has a `job-id`.
pub fn entry(
    conn: &mut BlockingConn,
    settings: &Settings,
    stream: &str,
    id: &str,
) -> anyhow::Result<Json> {
    let role = streams_of(&settings.routes)
        .into_iter()
        .find(|(s, _)| s == stream)
        .map(|(_, role)| role.name());
    let Some(found) = fetch(conn, stream, id)? else {
        return Ok(json!({
            "stream": stream, "id": id, "role": role, "found": false,
            "message": format!("stream {stream} has no entry {id} (trimmed, replayed or never there)"),
        }));
    };
    let job = match found["fields"][JOB_ID_FIELD].as_str() {
        Some(job_id) => job(conn, settings, job_id)?,
        None => Json::Null,
    };
    Ok(json!({"stream": stream, "id": id, "role": role, "found": true, "entry": found, "job": job}))
}

/// Entry `id` of `stream` as `{stream, id, fields}` (long values cut).
fn fetch(conn: &mut BlockingConn, stream: &str, id: &str) -> anyhow::Result<Option<Json>> {
    if EntryId::parse(id).is_none() {
        anyhow::bail!("`{id}` is not a stream entry id (MS-SEQ)");
    }
    let entries: Vec<Letter> = redis::cmd("XRANGE")
        .arg(stream)
        .arg(id)
        .arg(id)
        .query(conn)
        .with_context(|| format!("cannot read entry {id} of stream {stream}"))?;
    Ok(entries
        .into_iter()
        .next()
        .map(|(id, fields)| shown(stream, &id, &fields)))
}

fn shown(stream: &str, id: &str, fields: &[(String, Vec<u8>)]) -> Json {
    let fields: serde_json::Map<String, Json> = fields
        .iter()
        .map(|(name, value)| {
            let mut text = String::from_utf8_lossy(value).into_owned();
            if text.len() > SHOWN_BYTES {
                let mut cut = SHOWN_BYTES;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
                text.push_str(&format!(" … ({} bytes in all)", value.len()));
            }
            (name.clone(), json!(text))
        })
        .collect();
    json!({"stream": stream, "id": id, "fields": fields})
}

/// The entry of `stream` whose `switchyard-source` is `from`, looked for
/// from a little before `updated` (the settle time the status record keeps;
/// the entry's id is Redis's clock at the same moment) onwards, at most
/// [`OUTCOME_SEARCH_LIMIT`] entries.
fn find_outcome(
    conn: &mut BlockingConn,
    stream: &str,
    from: &str,
    updated: u64,
) -> anyhow::Result<Option<Json>> {
    let mut start = format!("{}-0", updated.saturating_sub(2_000));
    let end = format!("{}", updated + 60_000);
    let mut looked = 0;
    while looked < OUTCOME_SEARCH_LIMIT {
        let page: Vec<Letter> = redis::cmd("XRANGE")
            .arg(stream)
            .arg(&start)
            .arg(&end)
            .arg("COUNT")
            .arg(500)
            .query(conn)
            .with_context(|| format!("cannot read stream {stream}"))?;
        let Some((last, _)) = page.last() else { break };
        start = format!("({last}");
        looked += page.len();
        if let Some((id, fields)) = page.iter().find(|(_, fields)| {
            fields
                .iter()
                .any(|(k, v)| k == SOURCE_FIELD && v == from.as_bytes())
        }) {
            let mut entry = shown(stream, id, fields);
            entry["reason"] = entry["fields"][REASON_FIELD].clone();
            return Ok(Some(entry));
        }
        if page.len() < 500 {
            break;
        }
    }
    Ok(None)
}

/// A validator's errors (`[{"field", "code", "message"}, ...]`, as the
/// status record and rejected entries keep them) as lines of words:
/// `FIELD: MESSAGE`. Text that is not such a list is kept as it is.
fn in_words(errors: &str) -> Vec<String> {
    let Ok(Json::Array(list)) = serde_json::from_str::<Json>(errors) else {
        return vec![errors.to_owned()];
    };
    list.iter()
        .map(|e| {
            let message = e["message"]
                .as_str()
                .or(e["code"].as_str())
                .unwrap_or("invalid");
            match e["field"].as_str() {
                Some(field) if !field.is_empty() => format!("{field}: {message}"),
                _ => message.to_owned(),
            }
        })
        .collect()
}
