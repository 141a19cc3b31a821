//! The chaos run: the slivka mix plus hostile entries, three daemons in one
//! group, kill -9 of a random daemon again and again, and of Redis
//! (`appendfsync always`) several times, Redis out of memory for a while
//! (`maxmemory` 1: every write refused), Redis stalled (`DEBUG SLEEP`),
//! router and config swaps, all while jobs flow. Two more runs do the same
//! behind Redis Sentinel (a master, a replica, three sentinels) and on a
//! Redis Cluster (3 masters, 3 replicas; the route's streams tagged to one
//! slot), failing the master over gracefully and by kill -9 instead, each
//! time just after a burst of jobs, so that settles are in flight, and
//! making it refuse writes with `min-replicas-to-write` unmet.
//! Then an audit of everything Redis holds: every source entry settled
//! exactly once, every status record agreeing with where its job went,
//! nothing pending.
//!
//! `make test` runs short variants (`CHAOS_JOBS` and
//! `CHAOS_FAILOVER_JOBS`, default 6,000 each); `make chaos` runs 1,000,000
//! and 100,000 (each failover variant) and prints the same figures. Events come at set
//! fractions of the run (so the short one sees each kind), and, in a long
//! run, also every few seconds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::harness::cluster::{Servers, master_of};
use crate::harness::daemon::*;
use crate::harness::sentinel::{Sentinels, master_port};
use crate::harness::{RedisServer, plugin_path};

/// How long the run may take to settle everything after the last event.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(600);

/// The three consumers of the group.
const CONSUMERS: [&str; 3] = ["chaos-a", "chaos-b", "chaos-c"];

/// A small deterministic generator (xorshift64*), so a run can be repeated
/// with `CHAOS_SEED`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The kinds of hostile entry, each built by [`hostile_entry`].
const HOSTILE: [&str; 7] = [
    "payload not UTF-8",
    "job field not UTF-8",
    "payload over the size limit",
    "deeply nested JSON",
    "enormous JSON",
    "empty payload",
    "thousands of fields",
];

/// Hostile entry `n` of kind `HOSTILE[n % len]`, as raw (name, value) bytes.
fn hostile_entry(n: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    let id = job_id(10_000_000 + n).into_bytes();
    let mut fields = vec![
        (b"service".to_vec(), b"clustalo".to_vec()),
        (b"job-id".to_vec(), id),
    ];
    let payload: Vec<u8> = match HOSTILE[(n % HOSTILE.len() as u64) as usize] {
        "payload not UTF-8" => vec![0xff, 0xfe, b'{', 0xc3, 0x28],
        "job field not UTF-8" => {
            fields.push((b"note".to_vec(), vec![0x80, 0x81, 0xfe]));
            b"{\"inputs\":{\"input\":\">a\\nACD\\n\",\"iterations\":\"1\"}}".to_vec()
        }
        "payload over the size limit" => vec![b'x'; (1 << 20) + 10],
        "deeply nested JSON" => {
            let depth = 50_000;
            let mut text = "[".repeat(depth);
            text.push_str(&"]".repeat(depth));
            text.into_bytes()
        }
        "enormous JSON" => {
            let items: Vec<String> = (0..40_000).map(|i| format!("\"k{i}\":{i}")).collect();
            format!("{{\"inputs\":{{{}}}}}", items.join(",")).into_bytes()
        }
        "empty payload" => Vec::new(),
        "thousands of fields" => {
            for i in 0..3000 {
                fields.push((format!("f{i}").into_bytes(), b"v".to_vec()));
            }
            b"{}".to_vec()
        }
        other => unreachable!("{other}"),
    };
    fields.push((b"payload".to_vec(), payload));
    fields
}

/// One job in this many is hostile (in a short run).
const HOSTILE_EVERY: u64 = 97;

/// What the producer sent, by source entry id.
#[derive(Debug, Clone)]
enum Sent {
    Mix(Kind),
    Hostile(&'static str),
}

/// How the run steers the producer.
#[derive(Default)]
struct Flow {
    /// Set by the run: stop between chunks.
    hold: AtomicBool,
    /// Set by the producer while it stops.
    holding: AtomicBool,
    /// Jobs to send at once, whatever the rate, before the next stop.
    burst: AtomicU64,
}

/// Where the producer sends, and how.
struct Production {
    /// The master of now.
    url: Locator,
    /// The route's streams.
    streams: Streams,
    /// Replicas that must hold every job sent before the producer stops
    /// (and before it returns): `WAIT` on its own connection, since `WAIT`
    /// counts a client's own writes.
    replicas: u32,
    /// One job in this many is hostile.
    hostile_every: u64,
}

/// Sends jobs `from..to` at `rate` jobs/s in chunks of 200, mixing in a
/// hostile entry every `hostile_every` jobs. Returns every source entry id
/// with what it holds. While `flow.hold` is set, the producer stops between
/// chunks (after any burst asked for) and says so in `flow.holding` (the
/// run fails Redis meanwhile, and a chunk cut in half would leave the
/// producer not knowing which of its entries were added).
fn produce(
    to_send: &Production,
    from: u64,
    to: u64,
    rate: u64,
    flow: &Flow,
) -> HashMap<String, (Sent, String)> {
    // Tried again for a while: after a failover the sentinels may name the
    // new master a moment after the run lets the producer go on.
    let connect = || {
        let mut last = None;
        for _ in 0..300 {
            match redis::Client::open((to_send.url)()).and_then(|c| c.get_connection()) {
                Ok(conn) => return conn,
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the producer cannot reach the master: {last:?}")
    };
    // Every job sent so far is on the replicas.
    let replicated = |conn: &mut redis::Connection| {
        if to_send.replicas > 0 {
            let copies: u32 = redis::cmd("WAIT")
                .arg(to_send.replicas)
                .arg(10_000)
                .query(conn)
                .expect("WAIT for the replicas");
            assert!(
                copies >= to_send.replicas,
                "{copies} of {} replicas hold the jobs sent",
                to_send.replicas
            );
        }
    };
    let source = to_send.streams.source();
    let hostile_every = to_send.hostile_every;
    let mut conn = connect();
    let mut sent = HashMap::new();
    let mut n = from;
    // Jobs of a burst still to send, and all sent in bursts (off the rate).
    let (mut burst, mut bursts) = (0, 0);
    let started = Instant::now();
    while n < to {
        if burst == 0 && flow.hold.load(Ordering::SeqCst) {
            burst = flow.burst.swap(0, Ordering::SeqCst);
            bursts += burst;
        }
        if burst == 0 && flow.hold.load(Ordering::SeqCst) {
            replicated(&mut conn);
            flow.holding.store(true, Ordering::SeqCst);
            while flow.hold.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
            flow.holding.store(false, Ordering::SeqCst);
            // The master of now, after a failover.
            conn = connect();
        }
        let mut pipe = redis::pipe();
        let mut chunk = Vec::new();
        for _ in 0..200 {
            if n >= to {
                break;
            }
            let cmd = pipe.cmd("XADD").arg(&source).arg("*");
            if n % hostile_every == hostile_every - 1 {
                let hostile = n / hostile_every;
                for (k, v) in hostile_entry(hostile) {
                    cmd.arg(k).arg(v);
                }
                let kind = HOSTILE[(hostile % HOSTILE.len() as u64) as usize];
                chunk.push((Sent::Hostile(kind), job_id(10_000_000 + hostile)));
            } else {
                let (kind, fields) = mixed_job(n);
                for (k, v) in fields {
                    cmd.arg(k).arg(v);
                }
                chunk.push((Sent::Mix(kind), job_id(n)));
            }
            n += 1;
        }
        burst = burst.saturating_sub(chunk.len() as u64);
        let ids: Vec<String> = pipe.query(&mut conn).expect("XADD jobs");
        sent.extend(ids.into_iter().zip(chunk));
        if burst > 0 {
            continue;
        }
        // Jobs arrive at the offered rate, as from a busy front end.
        let due = started + Duration::from_secs_f64((n - from - bursts) as f64 / rate as f64);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    replicated(&mut conn);
    sent
}

/// The config: the slivka route with its router read from `router.wasm` in
/// a private plugin directory, so the run can swap it; `redis` is the
/// `[redis]` table's lines.
fn chaos_config(dir: &Path, redis: &str, streams: &Streams, deadline_ms: u32) -> String {
    let path = write_config(
        dir,
        redis,
        "batch = 64\nin-flight = 512\nclaim-idle-ms = 1500\nmax-deliveries = 1000",
        &streams.route(),
    );
    let text = std::fs::read_to_string(path).unwrap();
    let plugins = repo().join("target/plugins");
    text.replace(
        &format!("dir = \"{}\"", plugins.display()),
        "dir = \"plugins\"",
    )
    .replace("router = \"fasta-size\"", "router = \"router\"")
    .replace("[plugin.fasta-size.", "[plugin.router.")
    .replace(
        "deadline-ms = 1000",
        &format!("deadline-ms = {deadline_ms}"),
    )
    .replace(
        "target-pattern = \"queue:{runner}\"",
        &format!("target-pattern = \"{}\"", streams.target_pattern()),
    )
}

/// Writes `bytes` to `path` the way deploy tools do: a temporary file, then
/// a rename over the old one.
fn replace_file(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn version(name: &str, bytes: &[u8]) -> String {
    format!("{name}@{}", &hex::encode(Sha256::digest(bytes))[..8])
}

/// One outcome entry, as the audit needs it.
struct Outcome {
    stream: String,
    fields: HashMap<String, String>,
}

/// An event due once a fraction of the jobs is settled.
type Due = (f64, &'static str);
/// An event every so many seconds of a long run.
type Timer = (u64, &'static str);

/// Gives the URL of the master of now.
type Locator = Arc<dyn Fn() -> String + Send + Sync>;

/// The Redis the run fails.
enum Backend {
    /// One server with `appendfsync always`: killed -9 and restarted, out
    /// of memory, stalled.
    Single(RedisServer),
    /// A master and a replica behind three sentinels: failed over,
    /// gracefully and by force.
    Sentinel(Sentinels),
    /// 3 masters with a replica each; the route's streams share the hash
    /// tag `{tag}`, so the master of that slot is the one failed over.
    Cluster { servers: Servers, tag: String },
}

impl Backend {
    /// A cluster, and a tag whose slot is on a master other than the seed
    /// (which the daemons are given, so it never fails).
    fn cluster() -> Backend {
        let servers = Servers::cluster_with_replicas();
        let tag = (0..)
            .map(|i| format!("chaos{i}"))
            .find(|tag| servers.master_of(&Streams::tagged(tag).source()) != servers.seed())
            .unwrap();
        Backend::Cluster { servers, tag }
    }

    /// The config's `[redis]` lines.
    fn redis_lines(&self) -> String {
        match self {
            Backend::Single(redis) => format!("url = \"{}\"", redis.url()),
            Backend::Sentinel(set) => set.redis_lines(),
            Backend::Cluster { servers, .. } => {
                format!("url = \"{}\"\ncluster = true", servers.url())
            }
        }
    }

    /// The route's streams: the slivka example's, tagged on a cluster.
    fn streams(&self) -> Streams {
        match self {
            Backend::Cluster { tag, .. } => Streams::tagged(tag),
            Backend::Single(_) | Backend::Sentinel(_) => Streams::slivka(),
        }
    }

    /// Replicas of the master (each job is on them before a failover).
    fn replicas(&self) -> u32 {
        match self {
            Backend::Single(_) => 0,
            Backend::Sentinel(_) | Backend::Cluster { .. } => 1,
        }
    }

    /// Where the master of the route's streams is now, asked afresh at
    /// each call.
    fn locator(&self) -> Locator {
        match self {
            Backend::Single(redis) => {
                let url = redis.url();
                Arc::new(move || url.clone())
            }
            Backend::Sentinel(set) => {
                let sentinel = set.ports()[0];
                Arc::new(move || {
                    let port = master_port(sentinel).expect("the sentinels name a master");
                    format!("redis://127.0.0.1:{port}")
                })
            }
            Backend::Cluster { servers, .. } => {
                let (seed, source) = (servers.seed(), self.streams().source());
                Arc::new(move || {
                    let port = master_of(seed, &source).unwrap_or_else(|e| panic!("{e}"));
                    format!("redis://127.0.0.1:{port}")
                })
            }
        }
    }

    /// A connection to the master of now.
    fn connection(&self) -> redis::Connection {
        redis::Client::open(self.locator()())
            .and_then(|c| c.get_connection())
            .unwrap()
    }

    /// The faults of Redis this backend has, due at fractions of the run
    /// and then every so many seconds.
    fn faults(&self) -> (Vec<Due>, Vec<Timer>) {
        match self {
            Backend::Single(_) => (
                vec![
                    (0.16, "stall"),
                    (0.25, "redis-kill"),
                    (0.40, "oom"),
                    (0.50, "redis-kill"),
                    (0.60, "stall"),
                    (0.70, "redis-kill"),
                    (0.76, "oom"),
                ],
                vec![(30, "stall"), (45, "oom"), (90, "redis-kill")],
            ),
            Backend::Sentinel(_) | Backend::Cluster { .. } => (
                vec![
                    (0.15, "failover"),
                    (0.30, "no-replicas"),
                    (0.40, "forced-failover"),
                    (0.60, "no-replicas"),
                ],
                vec![
                    (40, "failover"),
                    (50, "no-replicas"),
                    (90, "forced-failover"),
                ],
            ),
        }
    }

    /// Waits until the master can fail over: a replica online (and, with
    /// sentinels, the sentinels agreeing).
    fn wait_ready(&self) {
        match self {
            Backend::Single(_) => panic!("one server has no replica"),
            Backend::Sentinel(set) => set.wait_ready(),
            Backend::Cluster { servers, .. } => servers.wait_ready(&self.streams().source()),
        }
    }

    /// Fails the master over to its replica, gracefully or by kill -9;
    /// returns the old master's port once the replica has taken over.
    fn fail_over(&mut self, forced: bool) -> u16 {
        let source = self.streams().source();
        match self {
            Backend::Single(_) => panic!("one server has no replica"),
            Backend::Sentinel(set) => set.fail_over(forced),
            Backend::Cluster { servers, .. } => servers.fail_over(&source, forced),
        }
    }

    /// Brings the old master back as the new one's replica.
    fn rejoin(&mut self, old: u16) {
        match self {
            Backend::Single(_) => panic!("one server has no replica"),
            Backend::Sentinel(set) => set.rejoin(old),
            Backend::Cluster { servers, .. } => servers.rejoin(old),
        }
    }
}

#[test]
fn chaos_run_loses_duplicates_and_strands_nothing() {
    let jobs = env_number("CHAOS_JOBS", 6_000);
    let rate = env_number("CHAOS_RATE", 1_500).max(1);
    chaos(Backend::Single(RedisServer::start_durable()), jobs, rate);
}

/// The same run behind Redis Sentinel, the master failed over while jobs
/// flow: gracefully (nothing may be lost or doubled) and by force, with
/// every job on the replica first (`WAIT`): what the dead master had not
/// passed on is its settles, each lost with its ack, so their jobs are
/// routed again on the new master, and the audit holds there.
#[test]
fn chaos_through_sentinel_failovers_loses_duplicates_and_strands_nothing() {
    // Slower, so that jobs still flow at each failover of the short run.
    let jobs = env_number("CHAOS_FAILOVER_JOBS", 6_000);
    let rate = env_number("CHAOS_FAILOVER_RATE", 300).max(1);
    chaos(Backend::Sentinel(Sentinels::start()), jobs, rate);
}

/// The same on a Redis Cluster: the master of the route's slot fails over
/// to its replica (`CLUSTER FAILOVER`, and kill -9 with the replica taking
/// over after `cluster-node-timeout`), the daemons following the slot.
#[test]
fn chaos_through_cluster_failovers_loses_duplicates_and_strands_nothing() {
    let jobs = env_number("CHAOS_FAILOVER_JOBS", 6_000);
    let rate = env_number("CHAOS_FAILOVER_RATE", 300).max(1);
    chaos(Backend::cluster(), jobs, rate);
}

/// Jobs sent at once just before a failover (`CHAOS_BURST`), so that the
/// daemons are still settling when the master fails.
fn burst() -> u64 {
    env_number("CHAOS_BURST", 1_000)
}

fn chaos(mut backend: Backend, jobs: u64, rate: u64) {
    let mut rng = Rng(env_number("CHAOS_SEED", 0x5eed_cafe) | 1);
    let started = Instant::now();

    let dir = tempfile::tempdir().unwrap();
    let plugins: PathBuf = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    for name in ["slivka-form", "fasta-size"] {
        std::fs::copy(plugin_path(name), plugins.join(format!("{name}.wasm"))).unwrap();
    }
    // The two routers swapped in and out: the real one, and a build that
    // sends every job to the cluster queue.
    let routers = [
        std::fs::read(plugin_path("fasta-size")).unwrap(),
        std::fs::read(plugin_path("fixture-swap-cluster")).unwrap(),
    ];
    let versions = [
        version("router", &routers[0]),
        version("router", &routers[1]),
    ];
    let router = plugins.join("router.wasm");
    std::fs::write(&router, &routers[0]).unwrap();
    let config_path = dir.path().join("switchyard.toml");
    let streams = backend.streams();
    let configs = [
        chaos_config(dir.path(), &backend.redis_lines(), &streams, 1000),
        chaos_config(dir.path(), &backend.redis_lines(), &streams, 1500),
    ];
    std::fs::write(&config_path, &configs[0]).unwrap();

    // A tenth of the jobs wait when the daemons start; the rest arrive
    // while they work, at CHAOS_RATE jobs/s.
    let flow = Arc::new(Flow::default());
    let production = Production {
        url: backend.locator(),
        streams: streams.clone(),
        replicas: backend.replicas(),
        // One job in 97 is hostile, up to about 2,000 in all: a long run's
        // Redis (and its audit) would otherwise hold gigabytes of hostile
        // payloads.
        hostile_every: HOSTILE_EVERY.max(jobs / 2_000),
    };
    let preloaded = produce(&production, 0, jobs / 10, u64::MAX, &flow);
    let mut daemons: Vec<Daemon> = CONSUMERS
        .iter()
        .map(|name| Daemon::start(&config_path, name))
        .collect();
    let producer = {
        let flow = flow.clone();
        std::thread::spawn(move || produce(&production, jobs / 10, jobs, rate, &flow))
    };

    // Events due at fractions of the run, so a short run sees each of them
    // while jobs flow.
    let (faults, fault_timers) = backend.faults();
    let mut due: Vec<Due> = vec![
        (0.05, "kill"),
        (0.12, "plugin"),
        (0.20, "kill"),
        (0.28, "config"),
        (0.35, "kill"),
        (0.45, "plugin"),
        (0.55, "kill"),
        (0.65, "config"),
        (0.72, "plugin"),
        (0.80, "kill"),
    ];
    due.extend(faults);
    due.sort_by(|a, b| b.0.total_cmp(&a.0));
    // A long run keeps going: a kill every 3 s, a router swap every 10 s,
    // a config swap every 15 s, and the backend's faults on their timers.
    let mut timers: Vec<Timer> = vec![(3, "kill"), (10, "plugin"), (15, "config")];
    timers.extend(fault_timers);
    let (mut kills, mut plugin_swaps, mut config_swaps) = (0, 0, 0);
    let (mut redis_kills, mut ooms, mut stalls) = (0, 0, 0);
    let (mut failovers, mut forced_failovers, mut no_replicas) = (0, 0, 0);
    // The DEBUG SLEEPs, checked at the end: each must have run.
    let mut stalling = Vec::new();
    // When each kind of event last happened.
    let mut last: HashMap<&str, Instant> = timers
        .iter()
        .map(|(_, what)| (*what, Instant::now()))
        .collect();
    // Killed daemons and when each comes back.
    let mut down: Vec<(usize, Instant)> = Vec::new();
    let mut producer = Some(producer);
    let mut sent = preloaded;
    let mut conn = backend.connection();
    let total = jobs as usize;
    // The whole run: the jobs at no less than 500 jobs/s, then the settle.
    let deadline = Instant::now() + SETTLE_TIMEOUT + Duration::from_secs(jobs / 500);
    loop {
        if Instant::now() >= deadline {
            let tails: Vec<String> = daemons
                .iter()
                .zip(CONSUMERS)
                .map(|(d, name)| {
                    let log = d.log();
                    let lines: Vec<&str> = log.lines().collect();
                    format!(
                        "--- {name}:\n{}",
                        lines[lines.len().saturating_sub(30)..].join("\n")
                    )
                })
                .collect();
            panic!(
                "the run did not settle in time: {} of {} settled, {} pending\n{}",
                streams.try_settled(&mut conn).unwrap(),
                total,
                streams.pending(&mut conn),
                tails.join("\n")
            );
        }
        // Sentinel drops every client of a server it reconfigures
        // (`CLIENT KILL TYPE normal`), this one's too.
        let done = match streams.try_settled(&mut conn) {
            Ok(done) => done,
            Err(e) => {
                println!("chaos: the run's own connection failed ({e}); connecting again");
                std::thread::sleep(Duration::from_millis(100));
                conn = backend.connection();
                continue;
            }
        };
        let fraction = done as f64 / total as f64;
        if producer.as_ref().is_some_and(|p| p.is_finished()) {
            sent.extend(producer.take().unwrap().join().unwrap());
        }
        down.retain(|&(victim, at)| {
            if Instant::now() < at {
                return true;
            }
            daemons[victim] = Daemon::start(&config_path, CONSUMERS[victim]);
            false
        });
        let mut event = None;
        if due.last().is_some_and(|(at, _)| fraction >= *at) {
            event = due.pop().map(|(_, what)| what);
        } else if fraction < 0.9 {
            for &(every, what) in &timers {
                let last = last[what];
                if last.elapsed() > Duration::from_secs(every) {
                    event = Some(what);
                    break;
                }
            }
        }
        if let Some(what) = event {
            last.insert(what, Instant::now());
        }
        match event {
            Some("kill") => {
                let victim = rng.below(CONSUMERS.len() as u64) as usize;
                daemons[victim].kill();
                // Back at once (it re-reads its own pending entries) or
                // after a while (the others claim them).
                let delay = if rng.below(3) == 0 { 2000 } else { 0 };
                down.push((victim, Instant::now() + Duration::from_millis(delay)));
                kills += 1;
            }
            Some("plugin") => {
                plugin_swaps += 1;
                replace_file(&router, &routers[plugin_swaps % 2]);
            }
            Some("config") => {
                config_swaps += 1;
                std::fs::write(&config_path, &configs[config_swaps % 2]).unwrap();
            }
            Some("redis-kill") => {
                // kill -9, then back. With `appendfsync always` Redis keeps
                // all it acknowledged. The producer waits between chunks: a
                // chunk cut in half would leave it not knowing which of its
                // entries were added.
                let Backend::Single(redis) = &mut backend else {
                    unreachable!("only one server is killed and restarted")
                };
                hold_producer(&flow, producer.as_ref());
                println!(
                    "chaos: {} settled; kill -9 of Redis",
                    streams.try_settled(&mut conn).unwrap()
                );
                redis.kill();
                std::thread::sleep(Duration::from_millis(300));
                redis.start_again();
                flow.hold.store(false, Ordering::SeqCst);
                redis_kills += 1;
                conn = redis.connection();
            }
            Some(how @ ("oom" | "no-replicas")) => {
                // Every write refused for 1.5 s: the daemons' settles, reads
                // and heartbeats. Out of memory (`maxmemory` 1), or, with a
                // replica, `min-replicas-to-write` unmet (2 asked, 1 there:
                // NOREPLICAS). The producer waits (a front end would retry;
                // here it keeps the audit exact).
                hold_producer(&flow, producer.as_ref());
                let (key, on, off) = match how {
                    "oom" => ("maxmemory", 1, 0),
                    _ => (
                        "min-replicas-to-write",
                        u64::from(backend.replicas()) + 1,
                        0,
                    ),
                };
                println!(
                    "chaos: {} settled; Redis refuses writes: {key} {on}",
                    streams.try_settled(&mut conn).unwrap()
                );
                set_config(&mut conn, key, on);
                std::thread::sleep(Duration::from_millis(1500));
                set_config(&mut conn, key, off);
                flow.hold.store(false, Ordering::SeqCst);
                match how {
                    "oom" => ooms += 1,
                    _ => no_replicas += 1,
                }
            }
            Some("stall") => {
                // Redis answers no one for 3 s; every daemon's commands,
                // a settle among them, wait behind the stall.
                println!(
                    "chaos: {} settled; Redis stalled for 3 s",
                    streams.try_settled(&mut conn).unwrap()
                );
                let url = backend.locator()();
                stalling.push(std::thread::spawn(move || {
                    let mut stall = redis::Client::open(url)?.get_connection()?;
                    redis::cmd("DEBUG")
                        .arg("SLEEP")
                        .arg(3)
                        .query::<()>(&mut stall)
                }));
                stalls += 1;
            }
            Some(how @ ("failover" | "forced-failover")) => {
                let forced = how == "forced-failover";
                // The last failover's old master is a replica in sync (and
                // the sentinels know it); jobs flow while this waits.
                let began = Instant::now();
                backend.wait_ready();
                println!(
                    "chaos: the replica was ready after {:.1} s",
                    began.elapsed().as_secs_f64()
                );
                // A burst of jobs, then the producer stops once they are
                // all on the replica (`WAIT` on its connection): a forced
                // failover may lose settles, never a job. The daemons are
                // still working through the burst when the master fails.
                flow.burst.store(burst(), Ordering::SeqCst);
                hold_producer(&flow, producer.as_ref());
                let done = streams.try_settled(&mut conn).unwrap();
                let added = xlen(&mut conn, &streams.source());
                println!(
                    "chaos: {done} settled, {} not yet; {} failover of the master",
                    added.saturating_sub(done),
                    if forced {
                        "forced (kill -9)"
                    } else {
                        "graceful"
                    }
                );
                let began = Instant::now();
                let old = backend.fail_over(forced);
                println!(
                    "chaos: the replica was master after {:.1} s",
                    began.elapsed().as_secs_f64()
                );
                // The producer finds the new master; the old one comes back
                // as its replica while jobs flow.
                flow.hold.store(false, Ordering::SeqCst);
                backend.rejoin(old);
                if forced {
                    forced_failovers += 1;
                } else {
                    failovers += 1;
                }
                conn = backend.connection();
            }
            _ => {}
        }
        if producer.is_none()
            && due.is_empty()
            && done >= sent.len()
            && streams.pending(&mut conn) == 0
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // A daemon killed just before the end (still waiting to come back)
    // has nothing to stop.
    for daemon in daemons.iter_mut().filter(|d| d.is_running()) {
        daemon.terminate();
    }

    for stall in stalling {
        stall.join().unwrap().expect("DEBUG SLEEP stalled Redis");
    }
    // Each kind of refusal reached the daemons: some daemon (of any life)
    // logged Redis's error for it.
    let logs: String = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?.to_owned();
            (name.starts_with("daemon-") && name.ends_with(".log"))
                .then(|| std::fs::read_to_string(&path).ok())?
        })
        .collect();
    for (count, code) in [(ooms, "OOM"), (no_replicas, "NOREPLICAS")] {
        assert!(
            count == 0 || logs.contains(code),
            "Redis refused writes {count} times ({code}), and no daemon logged {code}"
        );
    }

    // The audit.
    let mut outcomes: HashMap<String, Vec<Outcome>> = HashMap::new();
    let source_prefix = format!("{}/", streams.source());
    for stream in streams.outcomes() {
        for fields in entries(&mut conn, &stream) {
            let source = fields
                .get("switchyard-source")
                .and_then(|s| s.strip_prefix(&source_prefix))
                .unwrap_or_else(|| panic!("an entry of {stream} names no source: {fields:?}"))
                .to_owned();
            outcomes.entry(source).or_default().push(Outcome {
                stream: stream.clone(),
                fields,
            });
        }
    }
    let source_ids: Vec<String> = entries_with_ids(&mut conn, &streams.source())
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        source_ids.len(),
        sent.len(),
        "the source stream lost or gained entries"
    );
    // Where each kind ended, and which router build decided the dispatched.
    let mut fates: std::collections::BTreeMap<String, usize> = Default::default();
    let mut lost = 0;
    let mut duplicated = 0;
    let mut inconsistent = Vec::new();
    for id in &source_ids {
        let (what, job) = &sent[id];
        let Some(found) = outcomes.get(id) else {
            lost += 1;
            continue;
        };
        if found.len() > 1 {
            duplicated += 1;
            continue;
        }
        let outcome = &found[0];
        let by = match (what, outcome.fields.get("switchyard-plugins")) {
            (Sent::Mix(_), Some(p)) if p.contains(&versions[1]) => " (swapped-in router)".into(),
            (Sent::Hostile(_), _) => match outcome.fields.get("switchyard-reason") {
                Some(reason) => format!(": {}", reason.chars().take(100).collect::<String>()),
                None => String::new(),
            },
            _ => String::new(),
        };
        *fates
            .entry(format!("{what:?} -> {}{by}", outcome.stream))
            .or_default() += 1;
        if let Err(why) = check_outcome(what, outcome, &streams, &versions) {
            inconsistent.push(format!("{id} ({what:?}): {why}"));
        }
        let record = streams.status(&mut conn, job);
        if let Err(why) = check_status(&record, &streams, id, outcome) {
            inconsistent.push(format!("{id} ({what:?}) status: {why}"));
        }
    }
    let stuck = streams.pending(&mut conn);
    for (fate, count) in &fates {
        println!("chaos: {count:7} {fate}");
    }
    println!(
        "chaos: {} jobs ({} hostile), 3 daemons, {kills} kills, {redis_kills} Redis kill -9 \
         and restart, {ooms} Redis out of memory, {stalls} Redis stalls, {failovers} graceful \
         and {forced_failovers} forced failovers, {no_replicas} min-replicas-to-write unmet, \
         {plugin_swaps} router swaps, {config_swaps} \
         config swaps: lost {lost}, duplicated {duplicated}, stuck {stuck}, inconsistent {}; \
         wall time {:.1} s",
        sent.len(),
        sent.values()
            .filter(|(s, _)| matches!(s, Sent::Hostile(_)))
            .count(),
        inconsistent.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!((lost, duplicated, stuck), (0, 0, 0));
    assert!(
        inconsistent.is_empty(),
        "{} inconsistent, first ones:\n{}",
        inconsistent.len(),
        inconsistent[..inconsistent.len().min(20)].join("\n")
    );
    assert!(kills >= 5 && plugin_swaps >= 3 && config_swaps >= 2);
    match backend {
        Backend::Single(_) => assert!(redis_kills >= 3 && ooms >= 2 && stalls >= 2),
        Backend::Sentinel(_) | Backend::Cluster { .. } => {
            assert!(failovers >= 1 && forced_failovers >= 1 && no_replicas >= 2)
        }
    }
}

/// Stops the producer between chunks, after any burst asked for (it says
/// so in `flow.holding`); one that has finished holds nothing.
fn hold_producer(
    flow: &Flow,
    producer: Option<&std::thread::JoinHandle<HashMap<String, (Sent, String)>>>,
) {
    flow.hold.store(true, Ordering::SeqCst);
    while !flow.holding.load(Ordering::SeqCst) && producer.is_some_and(|p| !p.is_finished()) {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether `outcome` is where a job of `what` may end, stamped by the router
/// build that decided it.
fn check_outcome(
    what: &Sent,
    outcome: &Outcome,
    streams: &Streams,
    versions: &[String; 2],
) -> Result<(), String> {
    let reason = |o: &Outcome| {
        ["switchyard-reason", "switchyard-errors"]
            .iter()
            .any(|f| o.fields.get(*f).is_some_and(|r| !r.is_empty()))
    };
    let targets = streams.targets();
    let dispatched = targets.contains(&outcome.stream);
    let refused = outcome.stream == streams.rejected() || outcome.stream == streams.dead();
    match what {
        Sent::Hostile(kind) => {
            if refused {
                if reason(outcome) {
                    return Ok(());
                }
                return Err(format!("{kind}: in {} without a reason", outcome.stream));
            }
            // Hostile but harmless to the plugins: the non-UTF-8 note.
            if *kind == "job field not UTF-8" && dispatched {
                return Ok(());
            }
            Err(format!("{kind}: ended in {}", outcome.stream))
        }
        Sent::Mix(kind) => {
            let plugins = outcome
                .fields
                .get("switchyard-plugins")
                .cloned()
                .unwrap_or_default();
            let expected = if dispatched || *kind == Kind::TooMany {
                if plugins.contains(&versions[1]) {
                    // The swapped-in build sends everything valid to the
                    // cluster queue.
                    streams.of(Kind::Cluster)
                } else if plugins.contains(&versions[0]) || outcome.stream == streams.rejected() {
                    streams.of(*kind)
                } else {
                    return Err(format!("stamped with no router build: {plugins:?}"));
                }
            } else {
                streams.of(*kind)
            };
            if outcome.stream == expected {
                Ok(())
            } else {
                Err(format!(
                    "ended in {}, expected {expected} ({plugins})",
                    outcome.stream
                ))
            }
        }
    }
}

/// Whether the status record agrees with the outcome entry.
fn check_status(
    status: &HashMap<String, String>,
    streams: &Streams,
    id: &str,
    outcome: &Outcome,
) -> Result<(), String> {
    let expected = if streams.targets().contains(&outcome.stream) {
        "ACCEPTED"
    } else if outcome.stream == streams.rejected() {
        "REJECTED"
    } else {
        "ERROR"
    };
    let get = |k: &str| status.get(k).map(String::as_str).unwrap_or("");
    if get("status") != expected {
        return Err(format!(
            "says {:?}, the job is in {}",
            get("status"),
            outcome.stream
        ));
    }
    if get("source") != format!("{}/{id}", streams.source()) {
        return Err(format!("names source {:?}", get("source")));
    }
    if expected == "ACCEPTED" && get("targets") != outcome.stream {
        return Err(format!(
            "names targets {:?}, the job is in {}",
            get("targets"),
            outcome.stream
        ));
    }
    Ok(())
}
