//! The chaos run: the slivka mix plus hostile entries, three daemons in one
//! group, kill -9 of a random daemon again and again, one kill -9 of Redis
//! (`appendfsync always`), router and config swaps, all while jobs flow.
//! Then an audit of everything Redis holds: every source entry settled
//! exactly once, every status record agreeing with where its job went,
//! nothing pending.
//!
//! `make test` runs a short variant (`CHAOS_JOBS`, default 6,000);
//! `make chaos` runs 200,000 and prints the same figures. Events come at set
//! fractions of the run (so the short one sees each kind), and, in a long
//! run, also every few seconds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::harness::daemon::*;
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

/// What the producer sent, by source entry id.
#[derive(Debug, Clone)]
enum Sent {
    Mix(Kind),
    Hostile(&'static str),
}

/// Sends jobs `from..to` at `rate` jobs/s in chunks of 200, mixing in a
/// hostile entry every 97 jobs. Returns every source entry id with what it
/// holds. While `hold` is set, the producer stops between chunks and says so in
/// `holding` (the run kills Redis meanwhile, and a chunk cut in half would
/// leave the producer not knowing which of its entries were added).
fn produce(
    url: &str,
    from: u64,
    to: u64,
    rate: u64,
    hold: &AtomicBool,
    holding: &AtomicBool,
) -> HashMap<String, (Sent, String)> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_connection().unwrap();
    let mut sent = HashMap::new();
    let mut n = from;
    let started = Instant::now();
    while n < to {
        if hold.load(Ordering::SeqCst) {
            holding.store(true, Ordering::SeqCst);
            while hold.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
            holding.store(false, Ordering::SeqCst);
            conn = client.get_connection().unwrap();
        }
        let mut pipe = redis::pipe();
        let mut chunk = Vec::new();
        for _ in 0..200 {
            if n >= to {
                break;
            }
            let cmd = pipe.cmd("XADD").arg(SOURCE).arg("*");
            if n % 97 == 96 {
                let hostile = n / 97;
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
        let ids: Vec<String> = pipe.query(&mut conn).expect("XADD jobs");
        sent.extend(ids.into_iter().zip(chunk));
        // Jobs arrive at the offered rate, as from a busy front end.
        let due = started + Duration::from_secs_f64((n - from) as f64 / rate as f64);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    sent
}

/// The config: the slivka route with its router read from `router.wasm` in
/// a private plugin directory, so the run can swap it.
fn chaos_config(dir: &Path, url: &str, deadline_ms: u32) -> String {
    let path = slivka_config(
        dir,
        url,
        "batch = 64\nin-flight = 512\nclaim-idle-ms = 1500\nmax-deliveries = 1000",
        "",
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
    stream: &'static str,
    fields: HashMap<String, String>,
}

#[test]
fn chaos_run_loses_duplicates_and_strands_nothing() {
    let jobs = env_number("CHAOS_JOBS", 6_000);
    let rate = env_number("CHAOS_RATE", 1_500).max(1);
    let mut rng = Rng(env_number("CHAOS_SEED", 0x5eed_cafe) | 1);
    let started = Instant::now();

    let mut redis = RedisServer::start_durable();
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
    let configs = [
        chaos_config(dir.path(), &redis.url(), 1000),
        chaos_config(dir.path(), &redis.url(), 1500),
    ];
    std::fs::write(&config_path, &configs[0]).unwrap();

    // A tenth of the jobs wait when the daemons start; the rest arrive
    // while they work, at CHAOS_RATE jobs/s.
    let hold = Arc::new(AtomicBool::new(false));
    let holding = Arc::new(AtomicBool::new(false));
    let preloaded = produce(&redis.url(), 0, jobs / 10, u64::MAX, &hold, &holding);
    let mut daemons: Vec<Daemon> = CONSUMERS
        .iter()
        .map(|name| Daemon::start(&config_path, name))
        .collect();
    let url = redis.url();
    let producer = {
        let (hold, holding) = (hold.clone(), holding.clone());
        std::thread::spawn(move || produce(&url, jobs / 10, jobs, rate, &hold, &holding))
    };

    // Events due at fractions of the run, so a short run sees each of them
    // while jobs flow.
    let mut due: Vec<(f64, &str)> = vec![
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
    due.reverse();
    let (mut kills, mut plugin_swaps, mut config_swaps, mut redis_restarts) = (0, 0, 0, 0);
    // When each kind of event last happened.
    let mut last: HashMap<&str, Instant> = ["kill", "plugin", "config"]
        .into_iter()
        .map(|what| (what, Instant::now()))
        .collect();
    // Killed daemons and when each comes back.
    let mut down: Vec<(usize, Instant)> = Vec::new();
    let mut producer = Some(producer);
    let mut sent = preloaded;
    let mut conn = redis.connection();
    let total = jobs as usize;
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    loop {
        assert!(
            Instant::now() < deadline,
            "the run did not settle within {SETTLE_TIMEOUT:?}: {} of {} settled, {} pending",
            settled(&mut conn),
            total,
            pending(&mut conn)
        );
        let done = settled(&mut conn);
        let fraction = done as f64 / total as f64;
        if fraction >= 0.5 && redis_restarts == 0 {
            // Redis dies once, mid-run: kill -9, then back. With
            // `appendfsync always` it keeps all it acknowledged.
            hold.store(true, Ordering::SeqCst);
            // A producer that has finished (or been joined) holds nothing.
            while !holding.load(Ordering::SeqCst)
                && producer.as_ref().is_some_and(|p| !p.is_finished())
            {
                std::thread::sleep(Duration::from_millis(1));
            }
            println!("chaos: {} settled; kill -9 of Redis", settled(&mut conn));
            redis.kill();
            std::thread::sleep(Duration::from_millis(300));
            redis.start_again();
            hold.store(false, Ordering::SeqCst);
            redis_restarts += 1;
            conn = redis.connection();
            continue;
        }
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
            // A long run keeps going: a kill every 3 s, a router swap every
            // 10 s, a config swap every 15 s.
            for (every, what) in [(3, "kill"), (10, "plugin"), (15, "config")] {
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
            _ => {}
        }
        if producer.is_none()
            && due.is_empty()
            && redis_restarts == 1
            && done >= sent.len()
            && pending(&mut conn) == 0
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

    // The audit.
    let mut outcomes: HashMap<String, Vec<Outcome>> = HashMap::new();
    for stream in TARGETS.iter().chain([&REJECTED, &DEAD]) {
        for fields in entries(&mut conn, stream) {
            let source = fields
                .get("switchyard-source")
                .and_then(|s| s.strip_prefix("jobs/"))
                .unwrap_or_else(|| panic!("an entry of {stream} names no source: {fields:?}"))
                .to_owned();
            outcomes
                .entry(source)
                .or_default()
                .push(Outcome { stream, fields });
        }
    }
    let source_ids: Vec<String> = entries_ids(&mut conn, SOURCE);
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
        if let Err(why) = check_outcome(what, outcome, &versions) {
            inconsistent.push(format!("{id} ({what:?}): {why}"));
        }
        let record = status(&mut conn, job);
        if let Err(why) = check_status(&record, id, outcome) {
            inconsistent.push(format!("{id} ({what:?}) status: {why}"));
        }
    }
    let stuck = pending(&mut conn);
    for (fate, count) in &fates {
        println!("chaos: {count:7} {fate}");
    }
    println!(
        "chaos: {} jobs ({} hostile), 3 daemons, {kills} kills, {redis_restarts} Redis kill -9 \
         and restart, {plugin_swaps} router swaps, {config_swaps} config swaps: lost {lost}, \
         duplicated {duplicated}, stuck {stuck}, inconsistent {}; wall time {:.1} s",
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
    assert!(kills >= 5 && plugin_swaps >= 3 && config_swaps >= 2 && redis_restarts == 1);
}

/// Every entry id of `stream`.
fn entries_ids(conn: &mut redis::Connection, stream: &str) -> Vec<String> {
    let reply: Vec<(String, HashMap<String, redis::Value>)> = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .query(conn)
        .unwrap();
    reply.into_iter().map(|(id, _)| id).collect()
}

/// Whether `outcome` is where a job of `what` may end, stamped by the router
/// build that decided it.
fn check_outcome(what: &Sent, outcome: &Outcome, versions: &[String; 2]) -> Result<(), String> {
    let reason = |o: &Outcome| {
        ["switchyard-reason", "switchyard-errors"]
            .iter()
            .any(|f| o.fields.get(*f).is_some_and(|r| !r.is_empty()))
    };
    match what {
        Sent::Hostile(kind) => {
            if outcome.stream == REJECTED || outcome.stream == DEAD {
                if reason(outcome) {
                    return Ok(());
                }
                return Err(format!("{kind}: in {} without a reason", outcome.stream));
            }
            // Hostile but harmless to the plugins: the non-UTF-8 note.
            if *kind == "job field not UTF-8" && TARGETS.contains(&outcome.stream) {
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
            let expected = if TARGETS.contains(&outcome.stream) || *kind == Kind::TooMany {
                if plugins.contains(&versions[1]) {
                    // The swapped-in build sends everything valid to the
                    // cluster queue.
                    "queue:default"
                } else if plugins.contains(&versions[0]) || outcome.stream == REJECTED {
                    kind.stream()
                } else {
                    return Err(format!("stamped with no router build: {plugins:?}"));
                }
            } else {
                kind.stream()
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
    id: &str,
    outcome: &Outcome,
) -> Result<(), String> {
    let expected = match outcome.stream {
        s if TARGETS.contains(&s) => "ACCEPTED",
        REJECTED => "REJECTED",
        _ => "ERROR",
    };
    let get = |k: &str| status.get(k).map(String::as_str).unwrap_or("");
    if get("status") != expected {
        return Err(format!(
            "says {:?}, the job is in {}",
            get("status"),
            outcome.stream
        ));
    }
    if get("source") != format!("jobs/{id}") {
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
