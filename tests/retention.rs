//! Retention, end to end: the real daemon trims its source stream while a
//! second, slow consumer group reads the same stream, archives what it
//! trims so `switchyard archive` can read it back, and keeps Redis memory
//! flat over many waves of jobs when the output streams are capped.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use serde_json::Value as Json;

use crate::harness::daemon::*;
use crate::harness::{self, RedisServer};

const TIMEOUT: Duration = Duration::from_secs(120);
/// The second group, read by the test itself, slowly.
const SLOW: &str = "slow";

/// An entry as XRANGE returns it.
type Entry = (String, Fields);

/// The ids among `ids` that `stream` no longer holds.
fn missing(conn: &mut redis::Connection, stream: &str, ids: &[&String]) -> Vec<String> {
    let mut pipe = redis::pipe();
    for id in ids {
        pipe.cmd("XRANGE").arg(stream).arg(*id).arg(*id);
    }
    let found: Vec<Vec<Entry>> = pipe.query(conn).unwrap();
    ids.iter()
        .zip(found)
        .filter(|(_, f)| f.is_empty())
        .map(|(id, _)| (*id).clone())
        .collect()
}

/// The first entry id of `stream`, if any.
fn first_id(conn: &mut redis::Connection, stream: &str) -> Option<String> {
    let first: Vec<Entry> = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query(conn)
        .unwrap();
    first.into_iter().next().map(|(id, _)| id)
}

/// Orders ids as Redis does.
fn id_key(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap();
    (ms.parse().unwrap(), seq.parse().unwrap())
}

/// Waits until the daemon's group has settled all `n` entries: it has
/// delivered the source's last entry and has nothing pending. (Counting the
/// outcome streams would not do: the targets are capped, and jobs are
/// settled as they are decided, so retention trims them meanwhile.)
fn wait_daemon_done(conn: &mut redis::Connection, n: usize, daemon: &Daemon) {
    let done = wait_until(TIMEOUT, || delivered_all(conn) && pending(conn) == 0);
    assert!(
        done,
        "not all {n} settled: {} pending, last entry delivered: {}; log:\n{}",
        pending(conn),
        delivered_all(conn),
        daemon.log()
    );
}

/// Whether the daemon's group has been delivered the source's last entry.
fn delivered_all(conn: &mut redis::Connection) -> bool {
    use redis::Commands;
    let stream: redis::streams::StreamInfoStreamReply = conn.xinfo_stream(SOURCE).unwrap();
    let groups: redis::streams::StreamInfoGroupsReply = conn.xinfo_groups(SOURCE).unwrap();
    groups
        .groups
        .iter()
        .any(|g| g.name == GROUP && g.last_delivered_id == stream.last_generated_id)
}

#[test]
fn nothing_pending_or_undelivered_is_trimmed_under_load_with_a_slow_group() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(
        dir.path(),
        &redis.url(),
        "batch = 32",
        "[retention]\ninterval-ms = 20\n",
    );
    let mut conn = redis.connection();
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(SOURCE)
        .arg(SLOW)
        .arg("0")
        .arg("MKSTREAM")
        .query(&mut conn)
        .unwrap();
    let daemon = Daemon::start(&config, "retainer");
    // The load starts once the daemon reads (its plugins take a second or
    // two to load): retention must trim while jobs come in.
    assert!(
        wait_until(Duration::from_secs(60), || {
            let groups: Vec<redis::Value> = redis::cmd("XINFO")
                .arg("GROUPS")
                .arg(SOURCE)
                .query(&mut conn)
                .unwrap_or_default();
            groups.len() == 2
        }),
        "the daemon never created its group; log:\n{}",
        daemon.log()
    );

    let mut sent: Vec<String> = Vec::new();
    // What the slow group has acknowledged; everything else (pending in it,
    // or not yet delivered to it) must stay in the stream.
    let mut acked: HashSet<String> = HashSet::new();
    // Entries the slow group holds pending for a few waves: (wave, id).
    let mut held: Vec<(usize, String)> = Vec::new();
    let mut trimmed_during_load = false;
    for wave in 0..25 {
        let jobs: Vec<Fields> = (0..60)
            .map(|i| mixed_job((wave * 60 + i) as u64).1)
            .collect();
        sent.extend(push(&mut conn, SOURCE, &jobs));

        // The slow group reads 40 of every 60, keeps every 10th pending for
        // three waves, and acknowledges the rest at once.
        let read: Option<redis::streams::StreamReadReply> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(SLOW)
            .arg("slow-reader")
            .arg("COUNT")
            .arg(40)
            .arg("STREAMS")
            .arg(SOURCE)
            .arg(">")
            .query(&mut conn)
            .unwrap();
        let ids: Vec<String> = read
            .unwrap_or_default()
            .keys
            .into_iter()
            .flat_map(|k| k.ids.into_iter().map(|e| e.id))
            .collect();
        let mut to_ack = Vec::new();
        for (i, id) in ids.into_iter().enumerate() {
            if i % 10 == 0 {
                held.push((wave, id));
            } else {
                to_ack.push(id);
            }
        }
        let (old, young): (Vec<_>, Vec<_>) = held.drain(..).partition(|(w, _)| wave >= w + 3);
        held = young;
        to_ack.extend(old.into_iter().map(|(_, id)| id));
        if !to_ack.is_empty() {
            let _: i64 = redis::cmd("XACK")
                .arg(SOURCE)
                .arg(SLOW)
                .arg(&to_ack)
                .query(&mut conn)
                .unwrap();
            acked.extend(to_ack);
        }
        std::thread::sleep(Duration::from_millis(30));

        let unacked: Vec<&String> = sent.iter().filter(|id| !acked.contains(*id)).collect();
        let gone = missing(&mut conn, SOURCE, &unacked);
        assert!(
            gone.is_empty(),
            "wave {wave}: retention trimmed {} entries the slow group had not acknowledged: {:?}\nlog:\n{}",
            gone.len(),
            &gone[..gone.len().min(5)],
            daemon.log()
        );
        trimmed_during_load |= xlen(&mut conn, SOURCE) < sent.len();
    }
    assert!(
        trimmed_during_load,
        "nothing was trimmed while jobs came in; log:\n{}",
        daemon.log()
    );

    // Once the daemon is done, every entry below the slow group's oldest
    // unacknowledged one is acknowledged by both groups: it goes, and the
    // rest stays.
    wait_daemon_done(&mut conn, sent.len(), &daemon);
    let oldest_unacked = sent
        .iter()
        .filter(|id| !acked.contains(*id))
        .min_by_key(|id| id_key(id))
        .cloned()
        .expect("the slow group is behind");
    let reached = wait_until(TIMEOUT, || {
        first_id(&mut conn, SOURCE).as_deref() == Some(oldest_unacked.as_str())
    });
    assert!(
        reached,
        "the stream starts at {:?}, not at the slow group's oldest unacknowledged entry {oldest_unacked}",
        first_id(&mut conn, SOURCE)
    );
    let unacked: Vec<&String> = sent.iter().filter(|id| !acked.contains(*id)).collect();
    assert!(missing(&mut conn, SOURCE, &unacked).is_empty());

    // The slow group catches up: then the whole stream goes.
    loop {
        let read: Option<redis::streams::StreamReadReply> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(SLOW)
            .arg("slow-reader")
            .arg("COUNT")
            .arg(500)
            .arg("STREAMS")
            .arg(SOURCE)
            .arg(">")
            .query(&mut conn)
            .unwrap();
        let ids: Vec<String> = read
            .unwrap_or_default()
            .keys
            .into_iter()
            .flat_map(|k| k.ids.into_iter().map(|e| e.id))
            .collect();
        if ids.is_empty() {
            break;
        }
        acked.extend(ids.iter().cloned());
        let _: i64 = redis::cmd("XACK")
            .arg(SOURCE)
            .arg(SLOW)
            .arg(&ids)
            .query(&mut conn)
            .unwrap();
    }
    let still: Vec<String> = held.iter().map(|(_, id)| id.clone()).collect();
    let _: i64 = redis::cmd("XACK")
        .arg(SOURCE)
        .arg(SLOW)
        .arg(&still)
        .query(&mut conn)
        .unwrap();
    assert!(
        wait_until(TIMEOUT, || xlen(&mut conn, SOURCE) == 0),
        "{} entries left after both groups acknowledged all",
        xlen(&mut conn, SOURCE)
    );
    // Trimming the source changed nothing downstream.
    assert_exactly_once(&mut conn, sent.len());
}

#[test]
fn archived_entries_can_be_read_back_with_the_cli() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(
        dir.path(),
        &redis.url(),
        "",
        "[retention]\ninterval-ms = 20\narchive-dir = \"archive\"\n[retention.targets]\nmax-len = 5\n",
    );
    let mut conn = redis.connection();
    let mut daemon = Daemon::start(&config, "archivist");

    let mut jobs: Vec<Fields> = (0..120).map(|i| mixed_job(i).1).collect();
    // Bytes that are not UTF-8 must come back as they were.
    jobs.push(vec![
        ("service".into(), b"clustalo".to_vec()),
        ("job-id".into(), b"binary-job".to_vec()),
        ("payload".into(), vec![0xff, 0xfe, 0x00, 0x80]),
    ]);
    let ids = push(&mut conn, SOURCE, &jobs);
    wait_daemon_done(&mut conn, jobs.len(), &daemon);
    assert!(
        wait_until(TIMEOUT, || xlen(&mut conn, SOURCE) == 0
            && xlen(&mut conn, "queue:local") <= 5),
        "not trimmed: jobs {}, queue:local {}; log:\n{}",
        xlen(&mut conn, SOURCE),
        xlen(&mut conn, "queue:local"),
        daemon.log()
    );

    let archive = |args: &[&str]| -> Vec<Json> {
        let mut all = vec!["archive", "--config", config.to_str().unwrap()];
        all.extend_from_slice(args);
        let out = harness::run_switchyard(&all, "");
        assert!(
            out.status.success(),
            "archive failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let check_source = |lines: &[Json]| {
        let got: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
        assert_eq!(got, ids.iter().map(String::as_str).collect::<Vec<_>>());
        for (line, fields) in lines.iter().zip(&jobs) {
            assert_eq!(line["stream"], SOURCE);
            let back: Vec<(String, Vec<u8>)> = line["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|pair| {
                    (
                        pair[0].as_str().unwrap().to_owned(),
                        switchyard::retention::archive::json_bytes(&pair[1]).unwrap(),
                    )
                })
                .collect();
            assert_eq!(&back, fields, "entry {}", line["id"]);
            assert!(line["archived-at"].as_u64().is_some());
        }
    };
    check_source(&archive(&["--stream", SOURCE]));

    // A job's history: its source entry and the dispatched entry that the
    // target's cap trimmed.
    let history = archive(&["--job", &job_id(3)]);
    let streams: BTreeSet<&str> = history
        .iter()
        .map(|l| l["stream"].as_str().unwrap())
        .collect();
    assert_eq!(
        streams,
        BTreeSet::from([SOURCE, "queue:local"]),
        "{history:#?}"
    );
    let one = archive(&["--stream", SOURCE, "--entry", &ids[7]]);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["id"], ids[7].as_str());

    // A crash between writing a file and trimming its entries archives them
    // twice; the reader shows each once.
    let file = walk(&dir.path().join("archive").join(SOURCE))
        .into_iter()
        .next()
        .expect("an archive file of the source");
    std::fs::copy(&file, file.with_file_name("copy_after_crash.jsonl.gz")).unwrap();
    check_source(&archive(&["--stream", SOURCE]));

    // Memory, and the retention position of the source, are in status.
    let out = harness::run_switchyard(
        &["status", "--config", config.to_str().unwrap(), "--json"],
        "",
    );
    let report: Json = serde_json::from_slice(&out.stdout).unwrap();
    let retention = &report["sources"][0]["retention"];
    assert_eq!(
        retention["trimmed"].as_u64(),
        Some(jobs.len() as u64),
        "{report:#}"
    );
    assert_eq!(retention["archived"].as_u64(), Some(jobs.len() as u64));
    assert_eq!(retention["trimmed-through"], ids.last().unwrap().as_str());
    assert!(report["memory"]["streams-bytes"].as_i64().unwrap() > 0);
    assert_eq!(
        report["memory"]["status-records"].as_u64(),
        Some(jobs.len() as u64)
    );

    // The retention task stops with the daemon.
    let status = daemon.terminate();
    assert!(status.success(), "{status:?}; log:\n{}", daemon.log());
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Redis's `used_memory`.
fn used_memory(conn: &mut redis::Connection) -> i64 {
    let info: String = redis::cmd("INFO").arg("memory").query(conn).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn memory_stays_flat_over_many_waves_with_capped_outputs() {
    const CAP: usize = 50;
    const WAVE: u64 = 300;
    const WAVES: usize = 7;
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let caps = format!(
        "[retention]\ninterval-ms = 20\n\
         [retention.targets]\nmax-len = {CAP}\n\
         [retention.rejected]\nmax-len = {CAP}\n\
         [retention.dead-letters]\nmax-len = {CAP}\n"
    );
    let config = slivka_config(dir.path(), &redis.url(), "", &caps);
    let mut conn = redis.connection();
    let daemon = Daemon::start(&config, "flat");
    let outputs = TARGETS.iter().chain([&REJECTED, &DEAD]);

    // The same job ids every wave: status records are replaced, so what
    // grows (if anything does) is the streams.
    let jobs: Vec<Fields> = (0..WAVE).map(|i| mixed_job(i).1).collect();
    let wave_bytes: usize = jobs.iter().flatten().map(|(k, v)| k.len() + v.len()).sum();
    let mut memory = Vec::new();
    let mut stream_memory = Vec::new();
    for wave in 0..WAVES {
        push(&mut conn, SOURCE, &jobs);
        let drained = wait_until(TIMEOUT, || {
            xlen(&mut conn, SOURCE) == 0
                && pending(&mut conn) == 0
                && outputs.clone().all(|s| xlen(&mut conn, s) <= CAP)
        });
        let lengths: Vec<(&str, usize)> = std::iter::once(&SOURCE)
            .chain(outputs.clone())
            .map(|s| (*s, xlen(&mut conn, s)))
            .collect();
        assert!(
            drained,
            "wave {wave}: lengths {lengths:?} (cap {CAP}); log:\n{}",
            daemon.log()
        );
        memory.push(used_memory(&mut conn));
        stream_memory.push(
            std::iter::once(&SOURCE)
                .chain(outputs.clone())
                .map(|s| {
                    redis::cmd("MEMORY")
                        .arg("USAGE")
                        .arg(*s)
                        .query::<Option<i64>>(&mut conn)
                        .unwrap()
                        .unwrap_or(0)
                })
                .sum::<i64>(),
        );
    }
    eprintln!(
        "one wave: {wave_bytes} bytes sent; used_memory per wave: {memory:?}; stream memory per wave: {stream_memory:?}"
    );
    // After the first waves have filled the caps, Redis grows by less than
    // one wave's data over all the later waves together: without
    // retention it would grow by about two waves' data per wave (source
    // and outputs).
    let growth = memory[WAVES - 1] - memory[1];
    assert!(
        growth < wave_bytes as i64,
        "used_memory grew by {growth} bytes over {} waves of {wave_bytes} bytes: {memory:?}",
        WAVES - 2
    );
    let stream_growth = stream_memory[WAVES - 1] - stream_memory[1];
    assert!(
        stream_growth < wave_bytes as i64 / 2,
        "streams grew by {stream_growth} bytes: {stream_memory:?}"
    );
    let status_records: usize = {
        let out = harness::run_switchyard(
            &["status", "--config", config.to_str().unwrap(), "--json"],
            "",
        );
        let report: Json = serde_json::from_slice(&out.stdout).unwrap();
        report["memory"]["status-records"].as_u64().unwrap() as usize
    };
    // Every job of the mix has a job-id: each wave replaced the records.
    assert_eq!(status_records, WAVE as usize);
}

/// Runs the guard script on `stream` for everything through `through`.
fn guarded(conn: &mut redis::Connection, stream: &str, through: &str, source: bool) -> i64 {
    let next = {
        let (ms, seq) = id_key(through);
        format!("{ms}-{}", seq + 1)
    };
    redis::Script::new(switchyard::retention::TRIM_SCRIPT)
        .key(stream)
        .arg(through)
        .arg(next)
        .arg(if source { "1" } else { "0" })
        .invoke(conn)
        .unwrap()
}

#[test]
fn the_trim_script_refuses_what_some_group_still_needs() {
    let redis = RedisServer::start();
    let mut conn = redis.connection();
    let ids: Vec<String> = (1..=10)
        .map(|i| {
            redis::cmd("XADD")
                .arg("s")
                .arg(format!("{i}-0"))
                .arg("f")
                .arg(i)
                .query(&mut conn)
                .unwrap()
        })
        .collect();
    let group = |conn: &mut redis::Connection, name: &str, at: &str| {
        let _: () = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg("s")
            .arg(name)
            .arg(at)
            .query(conn)
            .unwrap();
    };
    let read = |conn: &mut redis::Connection, name: &str, count: usize| -> Vec<String> {
        let reply: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(name)
            .arg("c")
            .arg("COUNT")
            .arg(count)
            .arg("STREAMS")
            .arg("s")
            .arg(">")
            .query(conn)
            .unwrap();
        reply.keys[0].ids.iter().map(|e| e.id.clone()).collect()
    };

    // A source with no group is never trimmed; an output stream is.
    assert_eq!(guarded(&mut conn, "s", "2-0", true), -1);
    assert_eq!(xlen(&mut conn, "s"), 10);

    // A group that has read nothing (last-delivered 0-0) holds everything.
    group(&mut conn, "a", "0");
    assert_eq!(guarded(&mut conn, "s", "1-0", true), -2);
    // Group a reads 6 and acknowledges all but entry 3.
    let got = read(&mut conn, "a", 6);
    let _: i64 = redis::cmd("XACK")
        .arg("s")
        .arg("a")
        .arg(got.iter().filter(|id| *id != "3-0").collect::<Vec<_>>())
        .query(&mut conn)
        .unwrap();
    assert_eq!(guarded(&mut conn, "s", "5-0", true), -3, "3-0 is pending");
    assert_eq!(
        guarded(&mut conn, "s", "7-0", true),
        -2,
        "7-0 not delivered"
    );
    assert_eq!(guarded(&mut conn, "s", "2-0", true), 2);
    assert_eq!(xlen(&mut conn, "s"), 8);

    // The whole round agrees: it trims below the pending 3-0 and no further.
    let mut blocking =
        switchyard::store::BlockingConn::open(&redis.url(), Duration::from_secs(10)).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let round = switchyard::retention::trim_stream(
        &mut blocking,
        "s",
        switchyard::config::Role::Source,
        Default::default(),
        None,
        &stop,
    )
    .unwrap();
    assert_eq!(round.trimmed, 0);
    let _: i64 = redis::cmd("XACK")
        .arg("s")
        .arg("a")
        .arg("3-0")
        .query(&mut conn)
        .unwrap();
    let round = switchyard::retention::trim_stream(
        &mut blocking,
        "s",
        switchyard::config::Role::Source,
        Default::default(),
        None,
        &stop,
    )
    .unwrap();
    assert_eq!(round.trimmed, 4, "3-0 to 6-0, all that group a read");
    assert_eq!(first_id(&mut conn, "s").as_deref(), Some("7-0"));

    // A second group created at the start is a new reader: nothing more
    // goes until it has read and acknowledged.
    group(&mut conn, "b", "0");
    let rest = read(&mut conn, "a", 10);
    let _: i64 = redis::cmd("XACK")
        .arg("s")
        .arg("a")
        .arg(&rest)
        .query(&mut conn)
        .unwrap();
    assert_eq!(guarded(&mut conn, "s", "8-0", true), -2);
    let got = read(&mut conn, "b", 2);
    assert_eq!(got, ids[6..8]);
    assert_eq!(guarded(&mut conn, "s", "8-0", true), -3);
}
