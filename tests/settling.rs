//! Settling: the one Lua script per batch that acknowledges each entry and,
//! only if that acknowledged it, writes its outcome and status record.
//!
//! The script's own tests call it as the daemon does (see
//! `host/src/pipeline/dispatch.rs` for its arguments) and look at what it
//! wrote: exactly once, nothing written for an entry it refuses, and the
//! status key's odd cases. The daemon's tests show what a user sees when a
//! target or a status key holds a value of another type.

use std::collections::HashMap;

use redis::Value;
use switchyard::pipeline::dispatch::{MAX_SCRIPT_VALUES, SETTLE_SCRIPT};

use crate::harness::RedisServer;
use crate::harness::daemon::*;

/// The group the script tests read with.
const G: &str = "g";

/// One entry of a script call: its id, its source (index into the
/// streams, from 1), its status record's own fields and its outcome
/// entries (stream index, fields).
struct Call<'a> {
    id: &'a str,
    source: usize,
    status: Vec<(&'a str, &'a str)>,
    writes: Vec<(usize, Vec<(String, String)>)>,
}

/// Runs the settle script over `calls`: `streams` are KEYS[1..], the first
/// `sources` of them sources; entry i's status key is `status:i`. Returns
/// the letters and the notes.
fn settle(
    conn: &mut redis::Connection,
    streams: &[&str],
    sources: usize,
    calls: &[Call],
) -> redis::RedisResult<(String, Vec<String>)> {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(SETTLE_SCRIPT).arg(streams.len() + calls.len());
    cmd.arg(streams);
    for i in 0..calls.len() {
        cmd.arg(format!("status:{}", i + 1));
    }
    cmd.arg(G)
        .arg("me")
        .arg(60_000)
        .arg(1_700_000_000_000u64)
        .arg(sources)
        .arg(streams.len())
        .arg(MAX_SCRIPT_VALUES);
    for call in calls {
        cmd.arg(call.id)
            .arg(call.source)
            .arg("ACCEPTED")
            .arg(3)
            .arg(call.status.len());
        for (name, value) in &call.status {
            cmd.arg(*name).arg(*value);
        }
        cmd.arg(call.writes.len());
        for (stream, fields) in &call.writes {
            cmd.arg(*stream).arg(fields.len());
            for (name, value) in fields {
                cmd.arg(name).arg(value);
            }
        }
    }
    let (codes, notes): (String, Vec<String>) = cmd.query(conn)?;
    Ok((codes, notes))
}

/// Adds `n` entries to `source`, creates group `g` and reads them as `me`:
/// their ids, pending.
fn pending_entries(conn: &mut redis::Connection, source: &str, n: usize) -> Vec<String> {
    let ids: Vec<String> = (0..n)
        .map(|i| {
            redis::cmd("XADD")
                .arg(source)
                .arg("*")
                .arg("n")
                .arg(i)
                .query(conn)
                .unwrap()
        })
        .collect();
    redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(source)
        .arg(G)
        .arg("0")
        .exec(conn)
        .unwrap();
    redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(G)
        .arg("me")
        .arg("STREAMS")
        .arg(source)
        .arg(">")
        .exec(conn)
        .unwrap();
    ids
}

fn fields(n: usize) -> Vec<(String, String)> {
    (0..n).map(|i| (format!("f{i}"), "v".to_owned())).collect()
}

fn exists(conn: &mut redis::Connection, key: &str) -> bool {
    redis::cmd("EXISTS").arg(key).query(conn).unwrap()
}

fn group_pending(conn: &mut redis::Connection, source: &str) -> usize {
    let pending: Vec<Value> = redis::cmd("XPENDING")
        .arg(source)
        .arg(G)
        .arg("-")
        .arg("+")
        .arg(100)
        .query(conn)
        .unwrap();
    pending.len()
}

fn hash(conn: &mut redis::Connection, key: &str) -> HashMap<String, String> {
    redis::cmd("HGETALL").arg(key).query(conn).unwrap()
}

#[test]
fn the_script_writes_an_entry_once_however_often_it_is_sent() {
    let redis = RedisServer::start();
    let mut conn = redis.connection();
    let ids = pending_entries(&mut conn, "src", 2);
    let calls: Vec<Call> = ids
        .iter()
        .map(|id| Call {
            id,
            source: 1,
            status: vec![("targets", "out"), ("plugins", "p@1")],
            writes: vec![(2, fields(2))],
        })
        .collect();

    let first = settle(&mut conn, &["src", "out"], 1, &calls).unwrap();
    assert_eq!(first, ("11".to_owned(), vec![]));
    // Sent again (a reply lost, or the entry reclaimed and settled by
    // another consumer): the XACK acks nothing, and nothing is written.
    let again = settle(&mut conn, &["src", "out"], 1, &calls).unwrap();
    assert_eq!(again, ("00".to_owned(), vec![]));

    assert_eq!(xlen(&mut conn, "out"), 2);
    assert_eq!(group_pending(&mut conn, "src"), 0);
    // The fields in the order the daemon has always written them, then
    // the entry it wrote for the job.
    let written: Vec<(String, HashMap<String, String>)> = redis::cmd("XRANGE")
        .arg("out")
        .arg("-")
        .arg("+")
        .query(&mut conn)
        .unwrap();
    let record: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg("status:1")
        .query(&mut conn)
        .unwrap();
    let expected: Vec<(String, String)> = [
        ("status", "ACCEPTED"),
        ("state", "3"),
        ("source", &format!("src/{}", ids[0])),
        ("targets", "out"),
        ("plugins", "p@1"),
        ("updated", "1700000000000"),
        ("consumer", "me"),
        ("entries", &format!("out/{}", written[0].0)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(record, expected);
    let ttl: i64 = redis::cmd("PTTL").arg("status:1").query(&mut conn).unwrap();
    assert!(ttl > 0 && ttl <= 60_000, "{ttl}");
}

#[test]
fn entries_the_script_refuses_are_left_pending_with_nothing_written_and_the_rest_are_settled() {
    let redis = RedisServer::start();
    let mut conn = redis.connection();
    let ids = pending_entries(&mut conn, "src", 3);
    // `gone` is a stream with no group `g`.
    redis::cmd("XADD")
        .arg("gone")
        .arg("*")
        .arg("n")
        .arg(0)
        .exec(&mut conn)
        .unwrap();
    redis::cmd("SET")
        .arg("wrong")
        .arg("not a stream")
        .exec(&mut conn)
        .unwrap();
    let streams = ["src", "gone", "out", "second", "wrong"];
    let calls = [
        // Its second entry has more fields than one Lua unpack takes.
        Call {
            id: &ids[0],
            source: 1,
            status: vec![],
            writes: vec![(3, fields(1)), (4, fields(4000))],
        },
        // It would write to a key of another type.
        Call {
            id: &ids[1],
            source: 1,
            status: vec![],
            writes: vec![(3, fields(1)), (5, fields(1))],
        },
        // Its source's group is gone.
        Call {
            id: "1-1",
            source: 2,
            status: vec![],
            writes: vec![(3, fields(1))],
        },
        Call {
            id: &ids[2],
            source: 1,
            status: vec![],
            writes: vec![(3, fields(1)), (4, fields(3))],
        },
    ];

    let (codes, notes) = settle(&mut conn, &streams, 2, &calls).unwrap();
    assert_eq!(codes, "mtg1");
    assert_eq!(notes.len(), 4, "{notes:?}");
    assert_eq!(notes[0], "wrong");
    assert!(
        notes[1].contains("WRONGTYPE key wrong holds a string"),
        "{notes:?}"
    );
    assert_eq!(notes[2], "gone");
    assert!(notes[3].starts_with("NOGROUP"), "{notes:?}");

    // Only the last entry was written, and only it acknowledged.
    assert_eq!(xlen(&mut conn, "out"), 1);
    assert_eq!(xlen(&mut conn, "second"), 1);
    assert!(!exists(&mut conn, "status:1") && !exists(&mut conn, "status:2"));
    assert!(!exists(&mut conn, "status:3"));
    assert!(exists(&mut conn, "status:4"));
    assert_eq!(group_pending(&mut conn, "src"), 2);
}

#[test]
fn arguments_that_do_not_match_the_keys_are_refused_before_anything_is_written() {
    let redis = RedisServer::start();
    let mut conn = redis.connection();
    let ids = pending_entries(&mut conn, "src", 2);
    // The second entry names a stream index past the keys.
    let calls = [
        Call {
            id: &ids[0],
            source: 1,
            status: vec![],
            writes: vec![(2, fields(1))],
        },
        Call {
            id: &ids[1],
            source: 1,
            status: vec![],
            writes: vec![(3, fields(1))],
        },
    ];
    let refused = settle(&mut conn, &["src", "out"], 1, &calls).unwrap_err();
    assert!(refused.to_string().contains("nothing written"), "{refused}");
    assert_eq!(xlen(&mut conn, "out"), 0);
    assert_eq!(group_pending(&mut conn, "src"), 2);
}

#[test]
fn a_status_key_of_another_type_or_an_older_record_is_replaced_whole() {
    let redis = RedisServer::start();
    let mut conn = redis.connection();
    let ids = pending_entries(&mut conn, "src", 3);
    redis::cmd("SET")
        .arg("status:1")
        .arg("foreign")
        .exec(&mut conn)
        .unwrap();
    // An older record of the same job id (a job sent again, or replayed
    // from its dead letters): its fields must not outlive it.
    redis::cmd("HSET")
        .arg("status:2")
        .arg("status")
        .arg("ERROR")
        .arg("reason")
        .arg("old")
        .exec(&mut conn)
        .unwrap();
    let calls: Vec<Call> = ids
        .iter()
        .map(|id| Call {
            id,
            source: 1,
            status: vec![("targets", "out")],
            writes: vec![(2, fields(1))],
        })
        .collect();
    let (codes, _) = settle(&mut conn, &["src", "out"], 1, &calls).unwrap();
    assert_eq!(codes, "r11", "r: written over a key of another type");
    for key in ["status:1", "status:2", "status:3"] {
        let record = hash(&mut conn, key);
        assert_eq!(record.len(), 7, "{key}: {record:?}");
        assert_eq!(record["status"], "ACCEPTED", "{key}");
        let ttl: i64 = redis::cmd("PTTL").arg(key).query(&mut conn).unwrap();
        assert!(ttl > 0, "{key} has no TTL");
    }
    assert_eq!(xlen(&mut conn, "out"), 3);
}

/// queue:default holds a string: the jobs fasta-size sends there are
/// dead-lettered (Redis refused their outcome), those for queue:local are
/// dispatched, and every entry is acknowledged, written once.
#[test]
fn a_target_of_the_wrong_type_dead_letters_only_the_jobs_bound_for_it() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(dir.path(), &redis.url(), "batch = 64", "");
    let mut conn = redis.connection();
    redis::cmd("SET")
        .arg("queue:default")
        .arg("not a stream")
        .exec(&mut conn)
        .unwrap();
    let kinds = [Kind::Local, Kind::Cluster];
    let jobs: Vec<Fields> = (0..40).map(|n| job_of(kinds[n as usize % 2], n)).collect();
    push(&mut conn, SOURCE, &jobs);

    let daemon = Daemon::start(&config, "typed");
    let done = wait_until(SETTLE_TIMEOUT, || {
        xlen(&mut conn, "queue:local") + xlen(&mut conn, DEAD) >= 40
    });
    assert!(done, "log:\n{}", daemon.log());
    assert!(wait_until(SETTLE_TIMEOUT, || pending(&mut conn) == 0));

    let local = entries(&mut conn, "queue:local");
    let dead = entries(&mut conn, DEAD);
    assert_eq!(
        (local.len(), dead.len()),
        (20, 20),
        "log:\n{}",
        daemon.log()
    );
    let mut sources: Vec<&String> = local
        .iter()
        .chain(&dead)
        .map(|entry| &entry["switchyard-source"])
        .collect();
    sources.sort();
    sources.dedup();
    assert_eq!(sources.len(), 40, "an entry was written twice");
    for entry in &dead {
        assert_eq!(entry["switchyard-stage"], "dispatch", "{entry:?}");
        assert!(
            entry["switchyard-reason"].contains("queue:default"),
            "the reason names the key: {entry:?}"
        );
    }
    for n in 0..40u64 {
        let record = status(&mut conn, &job_id(n));
        let expected = if n % 2 == 0 { "ACCEPTED" } else { "ERROR" };
        assert_eq!(record["status"], expected, "job {n}: {record:?}");
    }
    let kept: String = redis::cmd("GET")
        .arg("queue:default")
        .query(&mut conn)
        .unwrap();
    assert_eq!(kept, "not a stream", "a target is never replaced");
}

/// A string where a job's status record goes costs neither the job nor a
/// TYPE per job: the record replaces it, and the log names the key.
#[test]
fn a_status_key_of_the_wrong_type_is_replaced_and_logged() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(dir.path(), &redis.url(), "", "");
    let mut conn = redis.connection();
    let key = format!("switchyard:job:{}", job_id(1));
    redis::cmd("SET")
        .arg(&key)
        .arg("foreign")
        .exec(&mut conn)
        .unwrap();
    push(
        &mut conn,
        SOURCE,
        &[job_of(Kind::Local, 0), job_of(Kind::Local, 1)],
    );

    let daemon = Daemon::start(&config, "replacer");
    wait_settled(&mut conn, 2, &daemon);
    assert_exactly_once(&mut conn, 2);
    assert_eq!(xlen(&mut conn, "queue:local"), 2);
    let record = status(&mut conn, &job_id(1));
    assert_eq!(record["status"], "ACCEPTED", "{record:?}");
    assert_eq!(record["consumer"], "replacer", "{record:?}");
    let logged = wait_until(SETTLE_TIMEOUT, || {
        daemon.log().lines().any(|line| {
            line.contains("WARN") && line.contains(&key) && line.contains("another type")
        })
    });
    assert!(logged, "log:\n{}", daemon.log());
}
