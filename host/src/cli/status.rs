//! `switchyard status`: one screen an operator reads.
//!
//! Per source stream its length, the group's lag, pending count and oldest
//! pending entry ([`crate::store::backlog`], the daemon's gauges' figures)
//! and its consumers with their idle time; the length of every target,
//! rejected and dead-letter stream; the daemons alive (from the heartbeat
//! hash, [`DAEMONS_KEY`]: one key, however many others Redis holds) with
//! their plugin versions and last reload error; the memory switchyard's keys
//! use and, per source, the retention position. `--json` prints the same for
//! scripts.
//!
//! Nothing here walks the whole keyspace: the status records are counted by
//! `SCAN` only while Redis holds at most [`COUNT_ALL_UP_TO`] keys; beyond
//! that their number is estimated from [`KEY_SAMPLE`] random keys and
//! labelled so.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow};
use bytesize::ByteSize;
use comfy_table::{CellAlignment, Table, presets::NOTHING};
use redis::Value;
use serde_json::{Value as Json, json};

use crate::config::{Settings, streams_of};
use crate::daemon::heartbeat::{DAEMONS_KEY, HEARTBEAT_TTL, unix_ms};
use crate::store::BlockingConn;
use crate::store::backlog;
use crate::store::reply::{flat_map, groups};

/// Status records whose size is measured to estimate them all.
const STATUS_SAMPLE: usize = 200;
/// Up to this many keys in Redis, the status records are counted by SCAN.
pub const COUNT_ALL_UP_TO: u64 = 5_000;
/// Beyond [`COUNT_ALL_UP_TO`], how many random keys the estimate reads.
pub const KEY_SAMPLE: usize = 500;

/// Prints the report of the system `config` describes, as text or `json`;
/// `url` overrides the config's Redis.
pub fn run(url: Option<String>, config: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let (mut conn, settings) = super::connect(url, config)?;
    let settings = settings.ok_or_else(|| anyhow!("status needs --config to know the streams"))?;
    let report = collect(&mut conn, &settings)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(())
}

/// Collects the report from Redis.
pub fn collect(conn: &mut BlockingConn, settings: &Settings) -> anyhow::Result<Json> {
    let group = &settings.consumer.group;
    let now = redis_now_ms(conn);
    let mut sources = Vec::new();
    for source in settings.sources() {
        let length: usize = redis::cmd("XLEN").arg(&source).query(conn)?;
        let found = backlog::read(conn, &source, group)
            .with_context(|| format!("cannot read group {group} on stream {source}"))?;
        let consumers = match &found {
            Some(_) => {
                let reply: Value = redis::cmd("XINFO")
                    .arg("CONSUMERS")
                    .arg(&source)
                    .arg(group)
                    .query(conn)?;
                groups(reply)
                    .into_iter()
                    .map(|c| {
                        json!({
                            "name": c.get("name").cloned().unwrap_or_default(),
                            "pending": number(c.get("pending")),
                            "idle-ms": number(c.get("idle")),
                        })
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        let retention = crate::retention::position(conn, &source).ok();
        sources.push(json!({
            "stream": source,
            "length": length,
            "memory-bytes": memory_usage(conn, &source),
            "retention": retention,
            "group": group,
            "group-exists": found.is_some(),
            "pending": found.as_ref().map_or(0, |b| b.pending),
            "lag": found.as_ref().map_or(0, |b| b.lag),
            "lag-exact": found.as_ref().is_none_or(|b| b.lag_exact),
            "oldest-pending-ms": found.as_ref().map_or(0, |b| b.oldest_pending_ms(now)),
            "consumers": consumers,
        }));
    }

    let mut streams = Vec::new();
    for (stream, role) in streams_of(&settings.routes) {
        if role == crate::config::Role::Source {
            continue;
        }
        let length: usize = redis::cmd("XLEN").arg(&stream).query(conn)?;
        streams.push(json!({
            "stream": stream,
            "role": role.name(),
            "length": length,
            "memory-bytes": memory_usage(conn, &stream),
        }));
    }
    let memory = memory(conn, settings, &sources, &streams);
    let daemons = daemons(conn, now)?;
    Ok(json!({
        "sources": sources,
        "streams": streams,
        "memory": memory,
        "daemons": daemons,
    }))
}

/// The daemons whose heartbeat is younger than [`HEARTBEAT_TTL`], by name.
pub fn daemons(conn: &mut BlockingConn, now: u64) -> anyhow::Result<Vec<Json>> {
    let reply: Value = redis::cmd("HGETALL")
        .arg(DAEMONS_KEY)
        .query(conn)
        .with_context(|| format!("cannot read the daemons' heartbeats ({DAEMONS_KEY})"))?;
    let mut beats: Vec<(String, String)> = flat_map(reply).into_iter().collect();
    beats.sort();
    let mut daemons = Vec::new();
    for (consumer, record) in beats {
        // A record that is not JSON is stale by the daemons' own rule.
        let Ok(beat) = serde_json::from_str::<Json>(&record) else {
            continue;
        };
        let updated = beat["updated"].as_u64().unwrap_or(0);
        let seen = now.saturating_sub(updated);
        if seen > HEARTBEAT_TTL.as_millis() as u64 {
            continue;
        }
        let list = |key: &str| -> Vec<Json> { beat[key].as_array().cloned().unwrap_or_default() };
        let error = beat["last-reload-error"].as_str().filter(|e| !e.is_empty());
        daemons.push(json!({
            "consumer": consumer,
            "group": beat["group"],
            "version": beat["version"],
            "pid": beat["pid"],
            "plugins": list("plugins"),
            "sources": list("sources"),
            "in-flight": beat["in-flight"],
            "reloads-ok": beat["reloads-ok"],
            "reloads-failed": beat["reloads-failed"],
            "last-reload-error": error,
            "shadow": beat["shadow"].as_array().cloned().unwrap_or_default(),
            "seen-ms-ago": seen,
        }));
    }
    Ok(daemons)
}

/// Redis's clock in Unix ms (the heartbeats are stamped with it, and stream
/// ids are); this machine's clock when Redis will not say.
pub fn redis_now_ms(conn: &mut BlockingConn) -> u64 {
    redis::cmd("TIME")
        .query::<(u64, u64)>(conn)
        .map(|(s, us)| s * 1000 + us / 1000)
        .unwrap_or_else(|_| unix_ms(std::time::SystemTime::now()) as u64)
}

/// `MEMORY USAGE key` in bytes; null if the key is missing or the user may
/// not ask.
fn memory_usage(conn: &mut BlockingConn, key: &str) -> Option<i64> {
    redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .query::<Option<i64>>(conn)
        .ok()
        .flatten()
}

/// The memory of switchyard's keys: the streams (measured), the status
/// records (counted, or estimated on a big keyspace: see the module doc;
/// sized from a sample), and Redis's total.
fn memory(
    conn: &mut BlockingConn,
    settings: &Settings,
    sources: &[Json],
    streams: &[Json],
) -> Json {
    let streams_bytes: i64 = sources
        .iter()
        .chain(streams)
        .filter_map(|s| s["memory-bytes"].as_i64())
        .sum();
    let prefix = &settings.status.prefix;
    let keys: u64 = redis::cmd("DBSIZE").query(conn).unwrap_or(0);
    let (count, sample, method) = if keys <= COUNT_ALL_UP_TO {
        // Every master's keys, on a cluster.
        let counted = conn.scan_match(&format!("{prefix}*")).unwrap_or_default();
        let sample = counted.iter().take(STATUS_SAMPLE).cloned().collect();
        (counted.len() as u64, sample, "counted".to_owned())
    } else {
        // Per master on a cluster: the records of a route live in its slot,
        // so one master's keys say nothing of another's.
        let masters = conn.masters().unwrap_or_default();
        let draws = (KEY_SAMPLE / masters.len().max(1)).max(1);
        let mut estimate = 0u64;
        let mut hits = Vec::new();
        for master in &masters {
            let here: u64 = conn
                .query_at(master, &redis::cmd("DBSIZE"))
                .and_then(|v| Ok(redis::from_redis_value(v)?))
                .unwrap_or(0);
            let drawn = conn.random_keys_at(master, draws).unwrap_or_default();
            let found: Vec<String> = drawn
                .into_iter()
                .filter(|k| k.starts_with(prefix.as_str()))
                .collect();
            estimate += found.len() as u64 * here / draws as u64;
            hits.extend(found);
        }
        hits.sort();
        hits.dedup();
        hits.truncate(STATUS_SAMPLE);
        (
            estimate,
            hits,
            format!("estimated from {KEY_SAMPLE} random keys of {keys}"),
        )
    };
    let sampled: Vec<i64> = sample
        .iter()
        .filter_map(|key| memory_usage(conn, key))
        .collect();
    let status_bytes = if sampled.is_empty() {
        0
    } else {
        sampled.iter().sum::<i64>() * count as i64 / sampled.len() as i64
    };
    // Summed over the masters, on a cluster.
    let used_memory = conn.info_sum("memory", "used_memory");
    json!({
        "streams-bytes": streams_bytes,
        "status-records": count,
        "status-records-counted": method == "counted",
        "status-records-method": method,
        "status-records-bytes": status_bytes,
        "status-records-sampled": sampled.len(),
        "switchyard-bytes": streams_bytes + status_bytes,
        "redis-keys": keys,
        "redis-used-memory": used_memory,
    })
}

/// A table with no borders, its columns from `header`, numbers (columns
/// listed in `right`) aligned right.
fn table(header: &[&str], right: &[usize]) -> Table {
    let mut table = Table::new();
    table.load_preset(NOTHING).set_header(header.to_vec());
    for &column in right {
        if let Some(column) = table.column_mut(column) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// `table` indented under its section title.
fn section(out: &mut String, title: &str, table: &Table) {
    out.push_str(title);
    out.push('\n');
    for line in table.lines() {
        out.push(' ');
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// The report as text for a terminal.
pub fn render(report: &Json) -> String {
    let mut out = String::new();
    let sources = report["sources"].as_array().cloned().unwrap_or_default();
    let mut t = table(
        &[
            "stream",
            "length",
            "lag",
            "pending",
            "oldest pending",
            "consumers (pending, idle)",
        ],
        &[1, 2, 3, 4],
    );
    for s in &sources {
        let consumers: Vec<String> = s["consumers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                format!(
                    "{} ({}, {})",
                    text(&c["name"]),
                    c["pending"],
                    duration(&c["idle-ms"])
                )
            })
            .collect();
        let mut consumers = consumers.join(", ");
        if s["group-exists"].as_bool() != Some(true) {
            consumers.push_str("(no group yet)");
        }
        let lag = if s["lag-exact"].as_bool() == Some(false) {
            format!("~{}", text(&s["lag"]))
        } else {
            text(&s["lag"])
        };
        let oldest = if s["pending"].as_u64().unwrap_or(0) == 0 {
            "-".to_owned()
        } else {
            duration(&s["oldest-pending-ms"])
        };
        t.add_row(vec![
            text(&s["stream"]),
            text(&s["length"]),
            lag,
            text(&s["pending"]),
            oldest,
            consumers,
        ]);
    }
    section(&mut out, "SOURCE STREAMS", &t);

    let mut t = table(&["stream", "role", "length", "memory"], &[2, 3]);
    for s in report["streams"].as_array().into_iter().flatten() {
        t.add_row(vec![
            text(&s["stream"]),
            text(&s["role"]),
            text(&s["length"]),
            bytes(&s["memory-bytes"]),
        ]);
    }
    section(&mut out, "\nOUTPUT STREAMS", &t);

    let mut t = table(
        &[
            "stream",
            "memory",
            "first entry",
            "trim point",
            "trimmed through",
            "trimmed",
            "archived",
        ],
        &[1, 5, 6],
    );
    for s in &sources {
        let r = &s["retention"];
        let or_dash = |v: &Json| if v.is_null() { "-".to_owned() } else { text(v) };
        t.add_row(vec![
            text(&s["stream"]),
            bytes(&s["memory-bytes"]),
            or_dash(&r["first-entry"]),
            or_dash(&r["trim-point"]),
            or_dash(&r["trimmed-through"]),
            or_dash(&r["trimmed"]),
            or_dash(&r["archived"]),
        ]);
    }
    section(&mut out, "\nRETENTION (per source)", &t);

    let m = &report["memory"];
    let records = if m["status-records-counted"].as_bool() == Some(true) {
        format!(
            "{} ({}, size estimated from {} sampled)",
            text(&m["status-records"]),
            bytes(&m["status-records-bytes"]),
            text(&m["status-records-sampled"]),
        )
    } else {
        format!(
            "about {} ({}, {}; size from {} sampled)",
            text(&m["status-records"]),
            bytes(&m["status-records-bytes"]),
            text(&m["status-records-method"]),
            text(&m["status-records-sampled"]),
        )
    };
    out.push_str(&format!(
        "\nMEMORY\n  streams {}, status records {records}, switchyard total {}; Redis uses {}\n",
        bytes(&m["streams-bytes"]),
        bytes(&m["switchyard-bytes"]),
        bytes(&m["redis-used-memory"]),
    ));
    out.push_str("\nDAEMONS\n");
    let daemons = report["daemons"].as_array().cloned().unwrap_or_default();
    if daemons.is_empty() {
        out.push_str(&format!(
            "  none alive (no heartbeat in the last {})\n",
            humantime::format_duration(HEARTBEAT_TTL)
        ));
    }
    for d in daemons {
        out.push_str(&format!(
            "  {} (v{}, pid {}, seen {} ago, {} in flight)\n    plugins: {}\n",
            text(&d["consumer"]),
            text(&d["version"]),
            d["pid"],
            duration(&d["seen-ms-ago"]),
            d["in-flight"],
            d["plugins"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect::<Vec<_>>()
                .join(", "),
        ));
        if let Some(error) = d["last-reload-error"].as_str() {
            out.push_str(&format!("    last reload FAILED: {error}\n"));
        }
        for s in d["shadow"].as_array().into_iter().flatten() {
            let agrees = if s["live"] == s["would"] {
                "agrees"
            } else {
                "differs"
            };
            out.push_str(&format!(
                "    shadow {} on route {}: {} jobs {} → would {} ({agrees})\n",
                text(&s["shadow"]),
                text(&s["route"]),
                s["count"],
                text(&s["live"]),
                text(&s["would"]),
            ));
        }
    }
    out
}

fn number(value: Option<&String>) -> i64 {
    value.and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn text(value: &Json) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// Bytes as `12.3 KiB`; `-` when unknown.
fn bytes(value: &Json) -> String {
    value.as_u64().map_or_else(
        || "-".to_owned(),
        |n| ByteSize::b(n).display().iec().to_string(),
    )
}

/// Milliseconds as `1m 30s` (to the second; below 10 s, to the tenth).
fn duration(ms: &Json) -> String {
    let ms = ms.as_u64().unwrap_or(0);
    let rounded = if ms < 10_000 {
        Duration::from_millis(ms / 100 * 100)
    } else {
        Duration::from_secs(ms / 1000)
    };
    if rounded.is_zero() {
        return "0s".to_owned();
    }
    humantime::format_duration(rounded).to_string()
}
