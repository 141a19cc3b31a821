//! `switchyard status`: one screen an operator reads.
//!
//! Per source stream its length, the group's lag and pending count and its
//! consumers with their idle time; the length of every target, rejected and
//! dead-letter stream; the daemons alive (from their heartbeat records) with
//! their plugin versions and last reload error; the memory switchyard's keys
//! use and, per source, the retention position. `--json` prints the same for
//! scripts.

use std::path::Path;

use anyhow::{Context, anyhow};
use redis::Value;
use serde_json::{Value as Json, json};

use crate::config::{Settings, streams_of};
use crate::daemon::heartbeat::{HEARTBEAT_PREFIX, unix_ms};
use crate::store::reply::{flat_map, groups};

/// Status records whose size is measured to estimate them all.
const STATUS_SAMPLE: usize = 200;

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
pub fn collect(conn: &mut redis::Connection, settings: &Settings) -> anyhow::Result<Json> {
    let group = &settings.consumer.group;
    let mut sources = Vec::new();
    for source in settings.sources() {
        let length: usize = redis::cmd("XLEN").arg(&source).query(conn)?;
        let reply: Value = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(&source)
            .query(conn)
            .unwrap_or(Value::Nil);
        let info = groups(reply)
            .into_iter()
            .find(|g| g.get("name") == Some(group));
        let consumers = match &info {
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
            "group-exists": info.is_some(),
            "pending": info.as_ref().map_or(0, |g| number(g.get("pending"))),
            "lag": info.as_ref().map_or(0, |g| number(g.get("lag"))),
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

    let mut daemons = Vec::new();
    let keys: Vec<String> = redis::cmd("SCAN")
        .arg(0)
        .arg("MATCH")
        .arg(format!("{HEARTBEAT_PREFIX}*"))
        .arg("COUNT")
        .arg(1000)
        .query::<(String, Vec<String>)>(conn)
        .map(|(_, keys)| keys)
        .context("cannot list the daemons' heartbeats")?;
    let now = unix_ms(std::time::SystemTime::now()) as i64;
    for key in keys {
        let reply: Value = redis::cmd("HGETALL").arg(&key).query(conn)?;
        let beat = flat_map(reply);
        daemons.push(json!({
            "consumer": beat.get("consumer"),
            "group": beat.get("group"),
            "version": beat.get("version"),
            "pid": number(beat.get("pid")),
            "plugins": split(beat.get("plugins")),
            "sources": split(beat.get("sources")),
            "in-flight": number(beat.get("in-flight")),
            "reloads-ok": number(beat.get("reloads-ok")),
            "reloads-failed": number(beat.get("reloads-failed")),
            "last-reload-error": beat.get("last-reload-error").filter(|e| !e.is_empty()),
            "seen-ms-ago": now - number(beat.get("updated")),
        }));
    }
    Ok(json!({
        "sources": sources,
        "streams": streams,
        "memory": memory,
        "daemons": daemons,
    }))
}

/// `MEMORY USAGE key` in bytes; null if the key is missing or the user may
/// not ask.
fn memory_usage(conn: &mut redis::Connection, key: &str) -> Option<i64> {
    redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .query::<Option<i64>>(conn)
        .ok()
        .flatten()
}

/// The memory of switchyard's keys: the streams (measured), the status
/// records (counted with SCAN, sized from a sample), and Redis's total.
fn memory(
    conn: &mut redis::Connection,
    settings: &Settings,
    sources: &[Json],
    streams: &[Json],
) -> Json {
    let streams_bytes: i64 = sources
        .iter()
        .chain(streams)
        .filter_map(|s| s["memory-bytes"].as_i64())
        .sum();
    let mut count = 0usize;
    let mut sample = Vec::new();
    let mut cursor = 0u64;
    let pattern = format!("{}*", settings.status.prefix);
    loop {
        let Ok((next, keys)) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query::<(u64, Vec<String>)>(conn)
        else {
            break;
        };
        count += keys.len();
        for key in keys {
            if sample.len() < STATUS_SAMPLE {
                sample.push(key);
            }
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let sampled: Vec<i64> = sample
        .iter()
        .filter_map(|key| memory_usage(conn, key))
        .collect();
    let status_bytes = if sampled.is_empty() {
        0
    } else {
        sampled.iter().sum::<i64>() * count as i64 / sampled.len() as i64
    };
    let used_memory = redis::cmd("INFO")
        .arg("memory")
        .query::<String>(conn)
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("used_memory:"))
                .and_then(|v| v.trim().parse::<i64>().ok())
        });
    json!({
        "streams-bytes": streams_bytes,
        "status-records": count,
        "status-records-bytes": status_bytes,
        "status-records-sampled": sampled.len(),
        "switchyard-bytes": streams_bytes + status_bytes,
        "redis-used-memory": used_memory,
    })
}

/// The report as text for a terminal.
pub fn render(report: &Json) -> String {
    let mut out = String::new();
    out.push_str("SOURCE STREAMS\n");
    out.push_str(&format!(
        "  {:<24} {:>10} {:>10} {:>10}  {}\n",
        "stream", "length", "lag", "pending", "consumers (pending, idle)"
    ));
    for s in report["sources"].as_array().into_iter().flatten() {
        let consumers: Vec<String> = s["consumers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                format!(
                    "{} ({}, {})",
                    text(&c["name"]),
                    c["pending"],
                    idle(c["idle-ms"].as_i64().unwrap_or(0))
                )
            })
            .collect();
        let group = if s["group-exists"].as_bool() == Some(true) {
            ""
        } else {
            "  (no group yet)"
        };
        out.push_str(&format!(
            "  {:<24} {:>10} {:>10} {:>10}  {}{group}\n",
            text(&s["stream"]),
            text(&s["length"]),
            text(&s["lag"]),
            text(&s["pending"]),
            consumers.join(", ")
        ));
    }
    out.push_str("\nOUTPUT STREAMS\n");
    out.push_str(&format!(
        "  {:<24} {:<13} {:>10} {:>10}\n",
        "stream", "role", "length", "memory"
    ));
    for s in report["streams"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {:<24} {:<13} {:>10} {:>10}\n",
            text(&s["stream"]),
            text(&s["role"]),
            text(&s["length"]),
            bytes(&s["memory-bytes"])
        ));
    }
    out.push_str("\nRETENTION (per source)\n");
    out.push_str(&format!(
        "  {:<24} {:>10} {:>20} {:>20} {:>20} {:>10} {:>10}\n",
        "stream", "memory", "first entry", "trim point", "trimmed through", "trimmed", "archived"
    ));
    for s in report["sources"].as_array().into_iter().flatten() {
        let r = &s["retention"];
        let or_dash = |v: &Json| if v.is_null() { "-".to_owned() } else { text(v) };
        out.push_str(&format!(
            "  {:<24} {:>10} {:>20} {:>20} {:>20} {:>10} {:>10}\n",
            text(&s["stream"]),
            bytes(&s["memory-bytes"]),
            or_dash(&r["first-entry"]),
            or_dash(&r["trim-point"]),
            or_dash(&r["trimmed-through"]),
            or_dash(&r["trimmed"]),
            or_dash(&r["archived"]),
        ));
    }
    let m = &report["memory"];
    out.push_str(&format!(
        "\nMEMORY\n  streams {}, status records {} ({} estimated from {} sampled), switchyard total {}; Redis uses {}\n",
        bytes(&m["streams-bytes"]),
        text(&m["status-records"]),
        bytes(&m["status-records-bytes"]),
        text(&m["status-records-sampled"]),
        bytes(&m["switchyard-bytes"]),
        bytes(&m["redis-used-memory"]),
    ));
    out.push_str("\nDAEMONS\n");
    let daemons = report["daemons"].as_array().cloned().unwrap_or_default();
    if daemons.is_empty() {
        out.push_str("  none alive (no heartbeat in the last 15 s)\n");
    }
    for d in daemons {
        out.push_str(&format!(
            "  {} (v{}, pid {}, seen {} ago, {} in flight)\n    plugins: {}\n",
            text(&d["consumer"]),
            text(&d["version"]),
            d["pid"],
            idle(d["seen-ms-ago"].as_i64().unwrap_or(0)),
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
    }
    out
}

fn number(value: Option<&String>) -> i64 {
    value.and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn split(value: Option<&String>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn text(value: &Json) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

fn bytes(value: &Json) -> String {
    match value.as_i64() {
        None => "-".to_owned(),
        Some(n) if n < 10 << 10 => format!("{n} B"),
        Some(n) if n < 10 << 20 => format!("{} KiB", n >> 10),
        Some(n) if n < 10 << 30 => format!("{} MiB", n >> 20),
        Some(n) => format!("{} GiB", n >> 30),
    }
}

fn idle(ms: i64) -> String {
    if ms < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{}m{}s", ms / 60_000, ms / 1000 % 60)
    } else {
        format!("{}h{}m", ms / 3_600_000, ms / 60_000 % 60)
    }
}
