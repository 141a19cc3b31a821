//! switchyard on a Redis Cluster: a local 3-master cluster on loopback, two
//! source streams on different shards, two daemons, one of them killed with
//! SIGKILL mid-run, and every entry settled exactly once with its status
//! record; and a master failing over to its replica under load, gracefully
//! and killed -9 (3 masters with a replica each). The commands beside the
//! daemon (`send`, `status`, `dead-letters`, `replay`, the console) given
//! any node's URL, and retention trimming each source on its own master.
//! Also the start-up refusal of a key layout that cannot be settled
//! atomically, and (ignored by default) a throughput comparison of one node
//! against the cluster.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis::{ConnectionLike, Value};
use tempfile::TempDir;

use crate::harness;
use crate::harness::cluster::{Servers, replicas_caught_up};
use crate::harness::daemon::{
    Daemon, Fields, Kind, Streams, entries, job_id, mixed_job, push, wait_until, write_config,
};
use crate::harness::loopback::free_port;

const SETTLE_TIMEOUT: Duration = Duration::from_secs(180);
const GROUP: &str = "switchyard";

/// The streams of one route, all sharing the hash tag `{tag}`.
struct Layout {
    streams: Streams,
}

impl Layout {
    fn new(tag: &str) -> Layout {
        Layout {
            streams: Streams::tagged(tag),
        }
    }
    fn source(&self) -> String {
        self.streams.source()
    }
    fn local(&self) -> String {
        self.streams.targets()[0].clone()
    }
    fn cluster(&self) -> String {
        self.streams.targets()[1].clone()
    }
    fn rejected(&self) -> String {
        self.streams.rejected()
    }
    fn dead(&self) -> String {
        self.streams.dead()
    }
    /// Every stream an entry of this source can end in.
    fn outcomes(&self) -> [String; 4] {
        self.streams.outcomes()
    }
    /// Where a job of `kind` ends.
    fn stream(&self, kind: Kind) -> String {
        self.streams.of(kind)
    }
    /// The status key of `job` read from this source, as a front end
    /// computes it: `switchyard:job:{TAG}:JOB-ID`.
    fn status_key(&self, job: &str) -> String {
        self.streams.status_key(job)
    }

    /// The route (and its router plugin's settings) for this layout.
    fn toml(&self, name: &str) -> String {
        let plugins = harness::repo_root().join("target/plugins");
        format!(
            r#"
[plugin.fasta-size-{name}]
file = "{router}"
[plugin.fasta-size-{name}.config]
target-pattern = "{pattern}"
tiers = '{tiers}'

[[routes]]
name = "{name}"
source = "{source}"
match = {{ service = ["clustalo", "mafft", "jpred"] }}
validators = ["slivka-form"]
router = "fasta-size-{name}"
targets = ["{local}", "{cluster}"]
rejected = "{rejected}"
dead-letters = "{dead}"
"#,
            router = plugins.join("fasta-size.wasm").display(),
            pattern = self.streams.target_pattern(),
            tiers = harness::slivka_tiers(),
            local = self.local(),
            cluster = self.cluster(),
            source = self.source(),
            rejected = self.rejected(),
            dead = self.dead(),
        )
    }
}

/// A config for `routes` against `url`.
fn config(dir: &Path, url: &str, cluster: bool, consumer: &str, routes: &str) -> PathBuf {
    write_config(
        dir,
        &format!("url = \"{url}\"\ncluster = {cluster}"),
        consumer,
        routes,
    )
}

/// Two hash tags whose slots are on different masters.
fn tags_on_two_shards(servers: &Servers) -> (Layout, Layout) {
    let a = Layout::new("sy0");
    let master = servers.master_of(&a.source());
    let b = (1..)
        .map(|i| Layout::new(&format!("sy{i}")))
        .find(|b| servers.master_of(&b.source()) != master)
        .unwrap();
    (a, b)
}

/// Routes of two sources on two shards (see [`tags_on_two_shards`]), and
/// their daemons' config in a new directory (kept alive by the caller).
fn two_shard_routes(servers: &Servers) -> (Layout, Layout, TempDir, PathBuf) {
    let (a, b) = tags_on_two_shards(servers);
    let dir = tempfile::tempdir().unwrap();
    let routes = format!("{}{}", a.toml("a"), b.toml("b"));
    let config = config(
        dir.path(),
        &servers.url(),
        true,
        "batch = 32\nblock-ms = 500\nclaim-idle-ms = 2000",
        &routes,
    );
    (a, b, dir, config)
}

fn xlen(conn: &mut dyn ConnectionLike, stream: &str) -> usize {
    redis::cmd("XLEN").arg(stream).query(conn).unwrap()
}

/// Entries settled so far over every outcome stream of `layouts`.
fn settled(conn: &mut dyn ConnectionLike, layouts: &[&Layout]) -> usize {
    layouts
        .iter()
        .flat_map(|l| l.outcomes())
        .map(|s| xlen(conn, &s))
        .sum()
}

/// The group's pending entries on `source`, per consumer.
fn pending(conn: &mut dyn ConnectionLike, source: &str) -> HashMap<String, usize> {
    let reply: Value = redis::cmd("XPENDING")
        .arg(source)
        .arg(GROUP)
        .query(conn)
        .unwrap_or(Value::Nil);
    let mut per_consumer = HashMap::new();
    if let Value::Array(parts) = reply
        && let Some(Value::Array(consumers)) = parts.get(3)
    {
        for consumer in consumers {
            if let Value::Array(pair) = consumer
                && let (Some(Value::BulkString(name)), Some(Value::BulkString(count))) =
                    (pair.first(), pair.get(1))
            {
                per_consumer.insert(
                    String::from_utf8_lossy(name).into_owned(),
                    String::from_utf8_lossy(count).parse().unwrap_or(0),
                );
            }
        }
    }
    per_consumer
}

fn pending_total(conn: &mut dyn ConnectionLike, layouts: &[&Layout]) -> usize {
    layouts
        .iter()
        .map(|l| pending(conn, &l.source()).values().sum::<usize>())
        .sum()
}

/// The `switchyard-source` of every entry of `stream`.
fn sources_in(conn: &mut dyn ConnectionLike, stream: &str) -> Vec<String> {
    entries(conn, stream)
        .into_iter()
        .map(|mut entry| {
            entry
                .remove("switchyard-source")
                .unwrap_or_else(|| panic!("an entry of {stream} has no switchyard-source"))
        })
        .collect()
}

/// The jobs of the mix, split between `a` (even numbers) and `b` (odd),
/// pushed; returns each job's number, kind and layout index.
fn send_mix(servers: &Servers, n: u64, layouts: [&Layout; 2]) -> Vec<(u64, Kind, usize)> {
    let mut sent = Vec::new();
    for (side, layout) in layouts.iter().enumerate() {
        let jobs: Vec<(u64, Kind, Fields)> = (0..n)
            .filter(|i| (*i % 2) as usize == side)
            .map(|i| {
                let (kind, fields) = mixed_job(i);
                (i, kind, fields)
            })
            .collect();
        let fields: Vec<Fields> = jobs.iter().map(|(_, _, f)| f.clone()).collect();
        push(
            &mut servers.connection_for(&layout.source()),
            &layout.source(),
            &fields,
        );
        sent.extend(jobs.into_iter().map(|(i, kind, _)| (i, kind, side)));
    }
    sent
}

/// Waits until every job of `sent` is settled and nothing is pending, then
/// asserts exactly once ([`assert_exactly_once`]); gives up after
/// [`SETTLE_TIMEOUT`] with the `daemons`' logs.
fn settle_all(
    conn: &mut dyn ConnectionLike,
    layouts: [&Layout; 2],
    sent: &[(u64, Kind, usize)],
    daemons: &[&Daemon],
) {
    let done = wait_until(SETTLE_TIMEOUT, || {
        settled(conn, &layouts) >= sent.len() && pending_total(conn, &layouts) == 0
    });
    if !done {
        let logs: Vec<String> = daemons.iter().map(|d| d.log()).collect();
        panic!(
            "only {} of {} settled, {} pending; the daemons' logs:\n{}",
            settled(conn, &layouts),
            sent.len(),
            pending_total(conn, &layouts),
            logs.join("\n---\n")
        );
    }
    assert_exactly_once(conn, layouts, sent);
}

/// Asserts exactly once: every source entry appears once over all outcome
/// streams, each job in the stream its kind goes to on its own shard, with
/// a status record under its source's tag.
fn assert_exactly_once(
    conn: &mut dyn ConnectionLike,
    layouts: [&Layout; 2],
    sent: &[(u64, Kind, usize)],
) {
    let mut seen = HashSet::new();
    let mut per_stream: HashMap<String, usize> = HashMap::new();
    for layout in layouts {
        for stream in layout.outcomes() {
            let sources = sources_in(conn, &stream);
            per_stream.insert(stream.clone(), sources.len());
            for source in sources {
                assert!(
                    source.starts_with(&format!("{}/", layout.source())),
                    "{stream} holds an entry of another source: {source}"
                );
                assert!(seen.insert(source.clone()), "{source} was settled twice");
            }
        }
    }
    assert_eq!(seen.len(), sent.len(), "settled per stream: {per_stream:?}");
    let mut expected: HashMap<String, usize> = per_stream.keys().map(|k| (k.clone(), 0)).collect();
    for (i, kind, side) in sent {
        let layout = layouts[*side];
        *expected.get_mut(&layout.stream(*kind)).unwrap() += 1;
        let record: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(layout.status_key(&job_id(*i)))
            .query(conn)
            .unwrap();
        assert_eq!(
            record.get("status").map(String::as_str),
            Some(kind.status()),
            "job {i} ({kind:?}) on {}: {record:?}",
            layout.source()
        );
        if kind.status() == "ACCEPTED" {
            assert_eq!(record["targets"], layout.stream(*kind));
        }
    }
    assert_eq!(per_stream, expected);
    for layout in layouts {
        assert!(
            pending(conn, &layout.source()).values().all(|n| *n == 0),
            "entries still pending on {}",
            layout.source()
        );
    }
}

#[test]
fn two_sources_on_two_shards_are_routed_exactly_once_through_a_kill_9() {
    let servers = Servers::cluster();
    let (a, b, _dir, config) = two_shard_routes(&servers);
    let mut conn = servers.connection();
    let n = 800;
    let sent = send_mix(&servers, n, [&a, &b]);

    // The first daemon alone until it holds entries it has not settled:
    // with both started at once, on a loaded machine the second could take
    // every entry before the first read any.
    let mut first = Daemon::start(&config, "first");
    // Entries pending under the first daemon, on both sources.
    let held_by_first = |conn: &mut dyn ConnectionLike| -> usize {
        [&a, &b]
            .iter()
            .map(|l| {
                pending(conn, &l.source())
                    .get("first")
                    .copied()
                    .unwrap_or(0)
            })
            .sum()
    };
    let holding = wait_until(SETTLE_TIMEOUT, || held_by_first(conn.as_mut()) > 0);
    assert!(
        holding,
        "the first daemon never held entries; its log:\n{}",
        first.log()
    );
    first.kill();
    let held = held_by_first(conn.as_mut());
    eprintln!(
        "killed the first daemon (SIGKILL) with {held} entries pending under it, after {} of {n} were settled",
        settled(conn.as_mut(), &[&a, &b])
    );
    assert!(
        held > 0,
        "the first daemon settled what it held before the kill"
    );

    // The second claims them once idle past claim-idle, and reads the rest.
    let second = Daemon::start(&config, "second");
    settle_all(conn.as_mut(), [&a, &b], &sent, &[&second]);
    let log = second.log();
    assert!(
        log.contains("took over entries left idle"),
        "the survivor did not claim the killed daemon's {held} entries:\n{log}"
    );
    assert!(log.contains("reading the sources of a hash slot"), "{log}");
    // The heartbeat script and the backlog gauges work on a cluster too.
    assert!(!log.contains("cannot write the heartbeat"), "{log}");

    // The front end's side: the Python client names the record from the
    // job id and the stream it pushed to.
    let (i, kind, _) = sent.iter().find(|(_, _, side)| *side == 1).unwrap();
    let output = Command::new(harness::venv::python())
        .arg(harness::repo_root().join("examples/clients/python/switchyard_client.py"))
        .args(["--redis-url", &servers.url(), "--cluster", "status"])
        .arg(job_id(*i))
        .args(["--stream", &b.source()])
        .env_remove("REDIS_URL")
        .output()
        .expect("cannot run the venv's python");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let record: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "the Python client printed no JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(record["status"], kind.status(), "{record}");
}

/// Runs the switchyard binary with `args`; its success, stdout and stderr.
fn switchyard(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .env_remove("SWITCHYARD_REDIS_URL")
        .env_remove("SWITCHYARD_CONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("cannot run switchyard");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The row of `stream` in `switchyard status --json`'s report.
fn status_row<'a>(report: &'a serde_json::Value, stream: &str) -> &'a serde_json::Value {
    report["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stream"] == stream)
        .unwrap_or_else(|| panic!("status lists no {stream}: {report}"))
}

/// The jobs of the mix for `side` (even numbers 0, odd 1) as a JSON-lines
/// file in `dir`; each job's number and kind.
fn mix_file(dir: &Path, n: u64, side: u64) -> (PathBuf, Vec<(u64, Kind)>) {
    let mut text = String::new();
    let mut jobs = Vec::new();
    for i in (0..n).filter(|i| i % 2 == side) {
        let (kind, fields) = mixed_job(i);
        let object: serde_json::Map<String, serde_json::Value> = fields
            .into_iter()
            .map(|(k, v)| (k, serde_json::json!(String::from_utf8(v).unwrap())))
            .collect();
        text.push_str(&serde_json::Value::Object(object).to_string());
        text.push('\n');
        jobs.push((i, kind));
    }
    let path = dir.join(format!("mix-{side}.jsonl"));
    std::fs::write(&path, text).unwrap();
    (path, jobs)
}

/// What an operator runs beside the daemons, given the URL of a node that
/// holds neither source: `send` reaches each source's master, the daemon
/// routes, retention trims each source on its own master (archiving first),
/// `status` sums every master, `dead-letters` and `replay` find the letters
/// on their shard, and the console's API reads the same figures.
#[test]
fn every_command_works_from_any_nodes_url_and_retention_trims_each_shard() {
    let servers = Servers::cluster();
    let (a, b) = tags_on_two_shards(&servers);
    let holders = [
        servers.master_of(&a.source()),
        servers.master_of(&b.source()),
    ];
    let other = servers
        .nodes
        .iter()
        .map(|n| n.port)
        .find(|port| !holders.contains(port))
        .expect("three masters, two tags: one master holds neither");
    let url = format!("redis://127.0.0.1:{other}");
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let routes = format!(
        "{}{}\n[retention]\ninterval = \"300ms\"\narchive-dir = \"{}\"\n",
        a.toml("a"),
        b.toml("b"),
        archive.display()
    );
    let config = config(
        dir.path(),
        &url,
        true,
        "batch = 32\nblock-ms = 500\nclaim-idle-ms = 2000",
        &routes,
    );
    let config_arg = config.to_str().unwrap();
    let mut conn = servers.connection();

    // send: each file to its source, through the node that holds neither.
    let n = 200;
    let mut sent = Vec::new();
    for (side, layout) in [&a, &b].into_iter().enumerate() {
        let (file, jobs) = mix_file(dir.path(), n, side as u64);
        let (ok, stdout, stderr) = switchyard(&[
            "send",
            "--redis-url",
            &url,
            "--stream",
            &layout.source(),
            file.to_str().unwrap(),
        ]);
        assert!(ok, "send to {}: {stderr}", layout.source());
        assert!(
            stdout.contains(&format!("sent {} jobs", jobs.len())),
            "{stdout}"
        );
        assert_eq!(xlen(conn.as_mut(), &layout.source()), jobs.len());
        sent.extend(jobs.into_iter().map(|(i, kind)| (i, kind, side)));
    }

    let daemon = Daemon::start(&config, "ops");
    settle_all(conn.as_mut(), [&a, &b], &sent, &[&daemon]);

    // Retention: every source entry is acknowledged, so each source is
    // trimmed to nothing on its own master, after its archive file.
    let trimmed = wait_until(SETTLE_TIMEOUT, || {
        xlen(conn.as_mut(), &a.source()) == 0 && xlen(conn.as_mut(), &b.source()) == 0
    });
    assert!(trimmed, "the sources were not trimmed:\n{}", daemon.log());
    for layout in [&a, &b] {
        let position: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(format!("switchyard:retention:{}", layout.source()))
            .query(conn.as_mut())
            .unwrap();
        assert_eq!(
            position.get("trimmed").map(String::as_str),
            Some((n / 2).to_string().as_str()),
            "{}: {position:?}",
            layout.source()
        );
        assert_eq!(position.get("archived"), position.get("trimmed"));
    }
    let (ok, history, stderr) = switchyard(&[
        "archive",
        "--config",
        config_arg,
        "--job",
        &job_id(sent.iter().find(|(_, _, side)| *side == 1).unwrap().0),
    ]);
    assert!(ok, "{stderr}");
    assert!(history.contains(&b.source()), "{history}");

    // status: the figures of every master, from the node holding neither.
    let (ok, report, stderr) = switchyard(&["status", "--config", config_arg, "--json"]);
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    for layout in [&a, &b] {
        let source = report["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stream"] == layout.source().as_str())
            .unwrap();
        assert_eq!(source["length"], 0, "{source}");
        assert_eq!(source["pending"], 0, "{source}");
        assert_eq!(source["group-exists"], true, "{source}");
        for stream in layout.outcomes() {
            let row = status_row(&report, &stream);
            assert_eq!(row["length"], xlen(conn.as_mut(), &stream), "{stream}");
        }
    }
    assert_eq!(report["daemons"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["memory"]["status-records"], n, "{report}");

    // The console's API, served alone, reads the same.
    let mut console = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["console", "--config", config_arg, "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .env_remove("SWITCHYARD_REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("console.log")).unwrap())
        .spawn()
        .unwrap();
    let mut port = None;
    let listening = wait_until(Duration::from_secs(30), || {
        port = std::fs::read_to_string(dir.path().join("console.log"))
            .unwrap_or_default()
            .split("console listening on http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split('/').next()?.parse::<u16>().ok());
        port.is_some()
    });
    assert!(listening, "the console did not start");
    let answer = harness::daemon::http_get(port.unwrap(), "/api/streams", None)
        .expect("the console answers");
    let _ = console.kill();
    let _ = console.wait();
    let streams: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    let local = streams["streams"]
        .as_array()
        .unwrap_or_else(|| panic!("/api/streams has no streams: {streams}"))
        .iter()
        .find(|s| s["stream"] == b.local().as_str())
        .unwrap_or_else(|| panic!("the console lists no {}: {streams}", b.local()))
        .clone();
    assert_eq!(local["length"], xlen(conn.as_mut(), &b.local()), "{local}");

    // dead-letters and replay, on the shard that holds the letters.
    let dead = xlen(conn.as_mut(), &b.dead());
    assert!(dead > 0, "the mix dead-letters some jobs");
    let (ok, listing, stderr) = switchyard(&[
        "dead-letters",
        "--config",
        config_arg,
        "--stream",
        &b.dead(),
        "--count",
        "1000",
        "--json",
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(listing.lines().count(), dead, "{listing}");
    let before: Vec<String> = entries(conn.as_mut(), &b.dead())
        .into_iter()
        .map(|mut e| e.remove("switchyard-source").unwrap())
        .collect();
    let (ok, stdout, stderr) = switchyard(&["replay", "--config", config_arg, "--from", &b.dead()]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!("replayed {dead} dead letters")),
        "{stdout}"
    );
    // Routed again, they die again (the reason is in the job), as new
    // entries of their source.
    let again = wait_until(SETTLE_TIMEOUT, || {
        xlen(conn.as_mut(), &b.dead()) == dead && pending_total(conn.as_mut(), &[&b]) == 0
    });
    assert!(again, "{}", daemon.log());
    let after: Vec<String> = entries(conn.as_mut(), &b.dead())
        .into_iter()
        .map(|mut e| e.remove("switchyard-source").unwrap())
        .collect();
    assert!(
        after.iter().all(|s| !before.contains(s)),
        "every letter was replayed as a new source entry: {before:?} {after:?}"
    );
}

/// A cluster config may list several nodes (`url = [...]`): with the first
/// one down, the daemon and the commands beside it reach the cluster
/// through the next, and every job is settled exactly once.
#[test]
fn with_its_first_seed_down_the_daemon_and_status_reach_the_cluster_through_the_next() {
    let servers = Servers::cluster();
    let (a, b) = tags_on_two_shards(&servers);
    // Nothing listens there.
    let down = format!("redis://127.0.0.1:{}", free_port());
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!("url = [\"{down}\", \"{}\"]\ncluster = true", servers.url()),
        "batch = 32\nblock-ms = 500",
        &format!("{}{}", a.toml("a"), b.toml("b")),
    );
    let n = 400;
    let sent = send_mix(&servers, n, [&a, &b]);
    let daemon = Daemon::start(&config, "second-seed");
    let mut conn = servers.connection();
    settle_all(conn.as_mut(), [&a, &b], &sent, &[&daemon]);

    let (ok, report, stderr) =
        switchyard(&["status", "--config", config.to_str().unwrap(), "--json"]);
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    for layout in [&a, &b] {
        let row = status_row(&report, &layout.local());
        assert_eq!(row["length"], xlen(conn.as_mut(), &layout.local()));
    }
}

/// How a master holding a source loses its slots to its replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failover {
    /// `CLUSTER FAILOVER` on the replica: it takes over once in sync.
    Graceful,
    /// The master killed -9: the replica takes over after
    /// `cluster-node-timeout`, maybe without its last writes.
    Forced,
}

#[test]
fn a_master_killed_9_under_load_is_replaced_by_its_replica_and_every_job_is_settled_once() {
    failover_under_load(Failover::Forced);
}

#[test]
fn a_graceful_cluster_failover_under_load_settles_every_job_once() {
    failover_under_load(Failover::Graceful);
}

/// 3 masters with a replica each, two sources on two shards, two daemons
/// routing 3,000 jobs; once a quarter are settled, the master of a source
/// (not the seed node) fails over `how`; every job ends settled exactly once.
fn failover_under_load(how: Failover) {
    let mut servers = Servers::cluster_with_replicas();
    let (a, b, _dir, config) = two_shard_routes(&servers);
    let n = 3000;
    let sent = send_mix(&servers, n, [&a, &b]);
    // The victim: a master holding a source, not the seed node.
    let seed = servers.seed();
    let source = [&a, &b]
        .iter()
        .map(|l| l.source())
        .find(|s| servers.master_of(s) != seed)
        .expect("a source on a master other than the seed");
    let victim = servers.master_of(&source);
    assert!(
        wait_until(Duration::from_secs(30), || replicas_caught_up(victim)),
        "the victim's replica did not catch up"
    );
    let mut conn = servers.connection();
    let first = Daemon::start(&config, "first");
    let second = Daemon::start(&config, "second");
    assert!(
        wait_until(SETTLE_TIMEOUT, || settled(conn.as_mut(), &[&a, &b])
            >= n as usize / 4),
        "{}",
        first.log()
    );
    drop(conn);
    eprintln!("{how:?} failover of master {victim} after a quarter of the {n} jobs were settled");
    // Its replica takes its slots over.
    servers.fail_over(&source, how == Failover::Forced);
    // Forced: writes the killed master acknowledged but had not passed on
    // are gone with it; a settle's ack and outcome go together, so such a
    // job is routed again on the new master. Every job ends settled once.
    let mut conn = servers.connection();
    settle_all(conn.as_mut(), [&a, &b], &sent, &[&first, &second]);
}

#[test]
fn a_layout_that_cannot_settle_atomically_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let routes = r#"
[[routes]]
name = "slivka"
source = "{jobs}"
router = "fasta-size"
targets = ["{jobs}:local", "queue:default"]
rejected = "{jobs}:rejected"
dead-letters = "jobs:dead"
"#;
    // Nothing listens there: the refusal comes before any connection.
    let config = config(dir.path(), "redis://127.0.0.1:1", true, "", routes);
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["run", "--config"])
        .arg(&config)
        .env_remove("SWITCHYARD_REDIS_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let slot = |key: &str| switchyard::store::layout::slot(key);
    for expected in [
        "cannot be settled atomically".to_owned(),
        "route `slivka`".to_owned(),
        format!("source `{{jobs}}` is in slot {}", slot("jobs")),
        format!("target `queue:default` → slot {}", slot("queue:default")),
        format!("dead-letters `jobs:dead` → slot {}", slot("jobs:dead")),
    ] {
        assert!(stderr.contains(&expected), "no `{expected}` in:\n{stderr}");
    }
    assert!(!stderr.contains("target `{jobs}:local`"), "{stderr}");
}

#[test]
fn a_reload_to_a_layout_that_cannot_settle_atomically_keeps_the_last_good_one() {
    let servers = Servers::cluster();
    let (a, b) = tags_on_two_shards(&servers);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &servers.url(), true, "", &a.toml("a"));
    let mut conn = servers.connection();
    let daemon = Daemon::start(&config, "solo");
    push(
        &mut servers.connection_for(&a.source()),
        &a.source(),
        &[mixed_job(0).1],
    );
    assert!(
        wait_until(SETTLE_TIMEOUT, || settled(conn.as_mut(), &[&a]) == 1),
        "{}",
        daemon.log()
    );

    // Route `b` writes its rejected entries to a stream on route a's shard.
    let bad = b.toml("b").replace(&b.rejected(), &a.rejected());
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}{bad}")).unwrap();
    let refused = wait_until(Duration::from_secs(30), || {
        let log = daemon.log();
        log.contains("reload failed") && log.contains("cannot be settled atomically")
    });
    assert!(refused, "{}", daemon.log());
    assert!(daemon.log().contains("route `b`"), "{}", daemon.log());

    // The last good snapshot goes on routing.
    push(
        &mut servers.connection_for(&a.source()),
        &a.source(),
        &[mixed_job(1).1],
    );
    assert!(
        wait_until(SETTLE_TIMEOUT, || settled(conn.as_mut(), &[&a]) == 2),
        "{}",
        daemon.log()
    );
}

/// Drains `n` preloaded jobs (two sources) with two daemons; returns jobs/s
/// from the first outcome to the last.
fn drain_rate(servers: &Servers, cluster: bool, n: u64) -> f64 {
    let (a, b) = if cluster {
        tags_on_two_shards(servers)
    } else {
        (Layout::new("sy0"), Layout::new("sy1"))
    };
    let dir = tempfile::tempdir().unwrap();
    let routes = format!("{}{}", a.toml("a"), b.toml("b"));
    let config = config(dir.path(), &servers.url(), cluster, "", &routes);
    let mut conn = servers.connection();
    let _ = send_mix(servers, n, [&a, &b]);
    let bin = std::env::var_os("SWITCHYARD_BIN");
    // NULL_PIPELINE=1: the same Redis work, no plugin: what Redis allows.
    let null = std::env::var_os("NULL_PIPELINE").is_some();
    let daemons: Vec<Child> = ["one", "two"]
        .iter()
        .map(|name| {
            Command::new(
                bin.clone()
                    .unwrap_or_else(|| env!("CARGO_BIN_EXE_switchyard").into()),
            )
            .args(["run", "--config"])
            .arg(&config)
            .args(["--consumer", name])
            .args(null.then_some("--null-pipeline"))
            .env("RUST_LOG", "warn")
            .env_remove("SWITCHYARD_REDIS_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
        })
        .collect();
    let guard = KillOnDrop(daemons);
    assert!(wait_until(SETTLE_TIMEOUT, || settled(
        conn.as_mut(),
        &[&a, &b]
    ) > 0));
    let start = Instant::now();
    assert!(wait_until(SETTLE_TIMEOUT, || settled(
        conn.as_mut(),
        &[&a, &b]
    ) >= n as usize));
    let rate = n as f64 / start.elapsed().as_secs_f64();
    drop(guard);
    rate
}

/// Child processes killed (SIGKILL) when dropped.
struct KillOnDrop(Vec<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `SWITCHYARD_BIN=target/release/switchyard cargo test -p switchyard --test
/// integration cluster:: -- --ignored --nocapture` measures the release
/// binary; `JOBS=N` sets the number of jobs, `NULL_PIPELINE=1` calls no plugin.
#[test]
#[ignore = "a measurement, not a check: run it on its own"]
fn throughput_one_node_against_the_cluster() {
    let n = std::env::var("JOBS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let single = drain_rate(&Servers::single(), false, n);
    let cluster = drain_rate(&Servers::cluster(), true, n);
    eprintln!(
        "{n} jobs, two sources, two daemons: one node {single:.0} jobs/s, 3-master cluster {cluster:.0} jobs/s ({:.2}×)",
        cluster / single
    );
}
