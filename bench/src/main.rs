//! `switchyard-bench`: how close the router gets to the limit, the least
//! Redis work a correct exactly-once router must do.
//!
//! It starts a private `redis-server`, generates slivka-like jobs from a
//! fixed seed (the demo's mix: mostly valid, some invalid, a few broken,
//! about 1 KB each), preloads them and measures, in one run:
//! 1. the drain rate of *the limit* ([`limit`]): a minimal consumer in this
//!    process, written without switchyard's pipeline, that reads a batch and
//!    settles it with one Lua script (per entry XACK, and only if that acked,
//!    XADD to the route's first target and the status record with its TTL),
//!    writing the fields switchyard writes. Every other drain's rate and
//!    Redis CPU per job are printed as a ratio against it;
//! 2. the drain rate of the real pipeline (slivka-form + fasta-size, status
//!    records), one daemon, then two daemons in one group;
//! 3. the drain rate of the *null pipeline*: switchyard's own pipeline
//!    (`switchyard run --null-pipeline`, the same scripts) with no plugin
//!    call, every job sent to its route's first target;
//! 4. enqueue → dispatched latency at half the measured rate ([`latency`]),
//!    offered smoothly and in bursts, to one daemon and to two;
//! 5. the daemon's peak RSS;
//! 6. with `--hostile-every N`, the drain again with one job in N sent to
//!    a route of its own per hostile fixture plugin (spinning, eating
//!    memory, panicking, naming a target it may not use, reading files or
//!    the environment): the good jobs' rate beside the plain run's, and
//!    where the hostile jobs ended;
//! 7. with `--replica-acks N`, the real pipeline again with a replica
//!    attached ([`replica`]) and `[redis] replica-acks = N`: the rate and
//!    the CPU per job (master, daemon, replica) that waiting for copies
//!    costs.
//!
//! Daemons are the `switchyard` executable built beside this one (`switchyard
//! run`), so what is measured is what runs in production. Beside each rate
//! it prints the CPU time Redis (`INFO cpu`) and the consumer (the daemons'
//! processes, or the limit's thread) spent per job. This is a dev harness,
//! kept out of the daemon crate. A benchmark prints figures; it asserts none.

mod latency;
mod limit;
mod replica;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use serde_json::json;

use clap::Parser;
use switchyard::store::Embedded;

/// The streams of the bench config.
const OUTPUTS: [&str; 4] = ["queue:local", "queue:default", "jobs:rejected", "jobs:dead"];

/// The `switchyard` executable of `--daemon`, when given.
static DAEMON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// The source stream the jobs are preloaded on.
const SOURCE: &str = "jobs";

/// The consumer group every drain reads with.
const GROUP: &str = "bench";

/// Entries per read, for the daemons (`[consumer] batch`) and the limit.
const BATCH: usize = 256;

/// The slivka route's first target: where the limit (and the null
/// pipeline) sends every job.
const FIRST_TARGET: &str = "queue:local";

/// Measure the router against the least Redis work a correct router must do
/// (starts its own redis-server, and daemons from the `switchyard` built
/// beside this binary).
#[derive(Debug, Clone, Parser)]
#[command(name = "switchyard-bench", about)]
pub struct BenchOptions {
    /// Jobs per drain.
    #[arg(long, default_value_t = 200_000)]
    pub jobs: usize,
    /// Seed of the job generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where slivka-form.wasm and fasta-size.wasm are.
    #[arg(long, default_value = "target/plugins")]
    pub plugins: PathBuf,
    /// Seconds of the latency run.
    #[arg(long, default_value_t = 5)]
    pub latency_seconds: u64,
    /// Jobs/s offered in the latency run (0: half the real pipeline's
    /// measured rate).
    #[arg(long, default_value_t = 0.0)]
    pub latency_rate: f64,
    /// In the bursty latency runs, jobs per burst (0: the offered rate's
    /// worth of `--burst-every`).
    #[arg(long, default_value_t = 0)]
    pub burst: usize,
    /// In the bursty latency runs, milliseconds between bursts.
    #[arg(long, default_value_t = 50)]
    pub burst_every: u64,
    /// Only the latency runs (needs `--latency-rate`): no drain.
    #[arg(long)]
    pub latency_only: bool,
    /// The `switchyard` executable the daemons run (default: the one
    /// beside this binary).
    #[arg(long)]
    pub daemon: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Hot-swap the router this many times during an extra drain (0: skip).
    #[arg(long, default_value_t = 5)]
    pub swaps: usize,
    /// Also drain with one job in N for a hostile fixture plugin on its own
    /// route (0: skip; needs the fixtures from `make plugins`).
    #[arg(long, default_value_t = 0)]
    pub hostile_every: usize,
    /// `isolation` of slivka-form and fasta-size in the daemons' config:
    /// `job` (a fresh instance per job) or `batch` (one per batch).
    #[arg(long, default_value = "job", value_parser = ["job", "batch"])]
    pub isolation: String,
    /// Also drain with a replica attached and `[redis] replica-acks = N`
    /// (0: skip): what waiting for N copies of each batch's settles costs.
    #[arg(long, default_value_t = 0)]
    pub replica_acks: usize,
}

fn main() -> std::process::ExitCode {
    switchyard::logging::init("text");
    match run(&BenchOptions::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The hostile fixtures of the hostile run: (service, validators, router,
/// the outcome each job must get). Each takes the jobs of its own service.
const HOSTILE_ROUTES: [(&str, &str, &str, &str); 7] = [
    ("spin", "[]", "fixture-spin", "dead letter: deadline"),
    (
        "spin-validate",
        r#"["fixture-spin"]"#,
        "fasta-size",
        "dead letter: deadline",
    ),
    ("bomb", "[]", "fixture-memory-bomb", "dead letter: memory"),
    ("panic", "[]", "fixture-panic", "dead letter: trap"),
    (
        "elsewhere",
        "[]",
        "fixture-undeclared-target",
        "dead letter: bad-output",
    ),
    (
        "snoop-files",
        r#"["fixture-open-file"]"#,
        "fasta-size",
        "rejected",
    ),
    (
        "snoop-env",
        r#"["fixture-env-probe"]"#,
        "fasta-size",
        "rejected",
    ),
];

/// The config lines for [`HOSTILE_ROUTES`], with tight limits for the
/// fixtures that would otherwise run to the default ones.
fn hostile_routes() -> String {
    let mut text = String::from(
        "[plugin.fixture-spin]\ndeadline-ms = 20\n[plugin.fixture-memory-bomb]\nmemory-mib = 16\n",
    );
    for (service, validators, router, _) in HOSTILE_ROUTES {
        text.push_str(&format!(
            r#"[[routes]]
name = "{service}"
source = "jobs"
match = {{ service = "{service}" }}
validators = {validators}
router = "{router}"
targets = ["queue:local", "queue:default"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#
        ));
    }
    text
}

/// `jobs` with a hostile job after every `every` of them, the fixtures
/// taking turns.
fn with_hostile(jobs: &[Fields], every: usize) -> Vec<Fields> {
    let mut mixed = Vec::with_capacity(jobs.len() + jobs.len() / every + 1);
    for (i, job) in jobs.iter().enumerate() {
        mixed.push(job.clone());
        if (i + 1) % every == 0 {
            let (service, ..) = HOSTILE_ROUTES[(i / every) % HOSTILE_ROUTES.len()];
            let mut fields = jobs[0].clone();
            fields[0].1 = service.as_bytes().to_vec();
            fields[1].1 = format!("hostile{i:011}").into_bytes();
            mixed.push(fields);
        }
    }
    mixed
}

/// Calls `each` with every entry of `stream`, oldest first, a page at a time.
fn for_each_entry(
    conn: &mut redis::Connection,
    stream: &str,
    mut each: impl FnMut(&str, &HashMap<String, String>),
) -> anyhow::Result<()> {
    let mut cursor = "-".to_owned();
    loop {
        let page: Vec<TextEntry> = redis::cmd("XRANGE")
            .arg(stream)
            .arg(&cursor)
            .arg("+")
            .arg("COUNT")
            .arg(10_000)
            .query(conn)?;
        let Some((last, _)) = page.last() else {
            return Ok(());
        };
        cursor = format!("({last}");
        for (id, fields) in &page {
            each(id, fields);
        }
    }
}

/// Where the hostile jobs of the last drain ended, per service: "dead
/// letter: STAGE-KIND" or "rejected" or a target, with counts.
fn hostile_outcomes(conn: &mut redis::Connection) -> anyhow::Result<serde_json::Value> {
    let mut outcomes: HashMap<String, HashMap<String, usize>> = HashMap::new();
    for stream in OUTPUTS {
        for_each_entry(conn, stream, |_, fields| {
            let service = fields.get("service").map(String::as_str).unwrap_or("");
            if !HOSTILE_ROUTES.iter().any(|(s, ..)| *s == service) {
                return;
            }
            let outcome = match stream {
                "jobs:dead" => format!(
                    "dead letter: {}",
                    fields
                        .get("switchyard-error")
                        .map(String::as_str)
                        .unwrap_or("?")
                ),
                "jobs:rejected" => "rejected".to_owned(),
                target => target.to_owned(),
            };
            *outcomes
                .entry(service.to_owned())
                .or_default()
                .entry(outcome)
                .or_default() += 1;
        })?;
    }
    Ok(json!(outcomes))
}

/// Runs the benchmark and prints its table (or JSON).
pub fn run(options: &BenchOptions) -> anyhow::Result<()> {
    if let Some(daemon) = &options.daemon {
        DAEMON
            .set(std::path::absolute(daemon)?)
            .expect("set once, here");
    }
    if options.latency_only && options.latency_rate <= 0.0 {
        bail!("--latency-only needs --latency-rate (there is no drain to take half of)");
    }
    let plugins = std::path::absolute(&options.plugins)?;
    for name in ["slivka-form", "fasta-size"] {
        if !plugins.join(format!("{name}.wasm")).is_file() {
            bail!(
                "{}/{name}.wasm is missing: run `make plugins` first",
                plugins.display()
            );
        }
    }
    let dir = std::env::temp_dir().join(format!("switchyard-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = bench_in(options, &plugins, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn bench_in(options: &BenchOptions, plugins: &Path, dir: &Path) -> anyhow::Result<()> {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let embedded = tokio.block_on(Embedded::start(&dir.join("redis")))?;
    let url = format!(
        "redis+unix://{}",
        embedded
            .data_dir
            .join(switchyard::store::SOCKET_FILE)
            .display()
    );
    // The daemons load copies, so the swap run can rewrite them.
    let own_plugins = dir.join("plugins");
    std::fs::create_dir_all(&own_plugins)?;
    for name in ["slivka-form", "fasta-size"] {
        std::fs::copy(
            plugins.join(format!("{name}.wasm")),
            own_plugins.join(format!("{name}.wasm")),
        )?;
    }
    let isolation = format!(
        "[plugin.slivka-form]\nisolation = \"{0}\"\n[plugin.fasta-size]\nisolation = \"{0}\"\n",
        options.isolation
    );
    let config = write_config(dir, "bench.toml", &url, "", &own_plugins, &isolation)?;
    let mut conn = switchyard::store::client(&url)?.get_connection()?;
    let jobs = generate(options.jobs, options.seed);
    let bytes: usize = jobs
        .iter()
        .flat_map(|j| j.iter())
        .map(|(k, v)| k.len() + v.len())
        .sum();
    eprintln!(
        "bench: {} jobs of {} bytes on average; redis-server {}",
        jobs.len(),
        bytes / jobs.len().max(1),
        server_version(&mut conn)
    );

    if options.latency_only {
        let latency = latency_runs(&mut conn, &config, options, options.latency_rate)?;
        tokio.block_on(embedded.stop());
        if options.json {
            println!("{}", serde_json::to_string_pretty(&latency)?);
        } else {
            latency::print(&latency);
        }
        return Ok(());
    }
    let daemons = |count, null| Router::Daemons {
        config: &config,
        count,
        null,
    };
    let daemons_with = |config| Router::Daemons {
        config,
        count: 1,
        null: false,
    };
    let limit = limit::Limit {
        url: url.clone(),
        source: SOURCE.to_owned(),
        group: GROUP.to_owned(),
        consumer: "bench-limit".to_owned(),
        batch: BATCH,
        target: FIRST_TARGET.to_owned(),
        status_prefix: switchyard::config::defaults::DEFAULT_STATUS_PREFIX.to_owned(),
        status_ttl_ms: switchyard::config::defaults::DEFAULT_STATUS_TTL.as_millis() as u64,
        plugins: plugin_versions(&own_plugins, &["slivka-form", "fasta-size"])?,
        // fasta-size's extra fields, with the values of the mix's commonest
        // job (6 sequences of 120), so each entry has the same fields and
        // size as the real pipeline's.
        extra_fields: [
            ("runner", "local"),
            ("sequences", "6"),
            ("average-length", "120"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec(),
    };
    // A first drain, not counted: Redis touches its memory for the first
    // time (page faults, counted as its CPU), which would weigh on
    // whichever drain came first.
    drain(&mut conn, &jobs, &Router::Limit(&limit))?;
    let least = drain(&mut conn, &jobs, &Router::Limit(&limit))?;
    let least_shape = dispatched_shape(&mut conn)?;
    eprintln!("bench: the limit {:.0} jobs/s", least.rate);
    let real = drain(&mut conn, &jobs, &daemons(1, false))?;
    let real_shape = dispatched_shape(&mut conn)?;
    eprintln!("bench: real pipeline {:.0} jobs/s", real.rate);
    if least_shape != real_shape {
        eprintln!(
            "bench: warning: the limit writes {least_shape:?}, the real pipeline {real_shape:?}"
        );
    }
    let bare = drain(&mut conn, &jobs, &daemons(1, true))?;
    eprintln!("bench: null pipeline {:.0} jobs/s", bare.rate);
    let two = drain(&mut conn, &jobs, &daemons(2, false))?;
    eprintln!("bench: real pipeline, two daemons {:.0} jobs/s", two.rate);
    let acked = if options.replica_acks > 0 {
        let n = options.replica_acks;
        let mut replica = replica::Replica::attach(&mut conn, dir)?;
        let acks_config = write_config(
            dir,
            "acks.toml",
            &url,
            &format!("replica-acks = {n}"),
            &own_plugins,
            &isolation,
        )?;
        let replica_cpu = redis_cpu_seconds(&mut replica.conn)?;
        let run = drain(&mut conn, &jobs, &daemons_with(&acks_config))?;
        let replica_cpu_us =
            (redis_cpu_seconds(&mut replica.conn)? - replica_cpu) * 1e6 / jobs.len() as f64;
        eprintln!(
            "bench: real pipeline, replica-acks {n} {:.0} jobs/s",
            run.rate
        );
        let mut row = run.to_json(&least);
        row["replica-acks"] = json!(n);
        row["replica-cpu-us-per-job"] = json!(replica_cpu_us);
        row["vs-real"] = json!({
            "rate": ratio(run.rate, real.rate),
            "redis-cpu-us-per-job-added": run.redis_cpu_us - real.redis_cpu_us,
            "daemon-cpu-us-per-job-added": run.consumer_cpu_us - real.consumer_cpu_us,
        });
        Some(row)
    } else {
        None
    };
    let swaps = options.swaps;
    let (swapped, swap_latencies) = if swaps > 0 {
        let router = own_plugins.join("fasta-size.wasm");
        let original = std::fs::read(&router)?;
        let interval = Duration::from_secs_f64(jobs.len() as f64 / real.rate / (swaps + 1) as f64);
        let swapper = std::thread::spawn({
            let url = url.clone();
            move || swap_router(&url, &router, &original, swaps, interval)
        });
        let swapped = drain(&mut conn, &jobs, &daemons(1, false))?;
        let latencies = swapper
            .join()
            .map_err(|_| anyhow::anyhow!("the swapper panicked"))??;
        eprintln!(
            "bench: real pipeline with {swaps} router swaps {:.0} jobs/s",
            swapped.rate
        );
        (Some(swapped), latencies)
    } else {
        (None, Vec::new())
    };
    let hostile = if options.hostile_every > 0 {
        for (_, validators, router, _) in HOSTILE_ROUTES {
            for name in std::iter::once(router).chain(
                validators
                    .trim_matches(['[', ']'])
                    .split(',')
                    .map(|v| v.trim().trim_matches('"'))
                    .filter(|v| !v.is_empty()),
            ) {
                let from = plugins.join(format!("{name}.wasm"));
                std::fs::copy(&from, own_plugins.join(format!("{name}.wasm"))).with_context(
                    || format!("{} is missing: run `make plugins` first", from.display()),
                )?;
            }
        }
        let hostile_config = write_config(
            dir,
            "hostile.toml",
            &url,
            "",
            &own_plugins,
            &hostile_routes(),
        )?;
        let mixed = with_hostile(&jobs, options.hostile_every);
        let run = drain(
            &mut conn,
            &mixed,
            &Router::Daemons {
                config: &hostile_config,
                count: 1,
                null: false,
            },
        )?;
        let good_rate = jobs.len() as f64 / run.seconds;
        eprintln!(
            "bench: real pipeline beside hostile plugins {:.0} good jobs/s",
            good_rate
        );
        Some(json!({
            "hostile-jobs": mixed.len() - jobs.len(),
            "plugins-loaded": std::fs::read_dir(&own_plugins)?.count(),
            "peak-rss-mib": run.rss_mib,
            "good-jobs-per-s": good_rate.round(),
            "seconds": run.seconds,
            "good-throughput-vs-plain": ratio(good_rate, real.rate),
            "good-throughput-vs-limit": ratio(good_rate, least.rate),
            "expected": HOSTILE_ROUTES.iter().map(|(s, .., e)| (s.to_string(), e.to_string())).collect::<HashMap<_, _>>(),
            "outcomes": hostile_outcomes(&mut conn)?,
        }))
    } else {
        None
    };
    let offered = if options.latency_rate > 0.0 {
        options.latency_rate
    } else {
        (real.rate / 2.0).max(100.0)
    };
    let latency = latency_runs(&mut conn, &config, options, offered)?;
    tokio.block_on(embedded.stop());

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let result = json!({
        "machine": { "cores": cores },
        "jobs": jobs.len(),
        "average-job-bytes": bytes / jobs.len().max(1),
        "limit": least.to_json(&least),
        "limit-writes-same-fields": least_shape == real_shape,
        "real": real.to_json(&least),
        "null": bare.to_json(&least),
        "real-two-daemons": two.to_json(&least),
        "isolation": options.isolation,
        "plugin-cpu-us-per-job": real.consumer_cpu_us - bare.consumer_cpu_us,
        "real-with-swaps": swapped.as_ref().map(|d| json!({
            "swaps": swaps,
            "jobs-per-s": d.rate.round(),
            "seconds": d.seconds,
            "throughput-vs-no-swaps": ratio(d.rate, real.rate),
            "throughput-vs-limit": ratio(d.rate, least.rate),
            "swap-latency-ms": swap_latencies,
        })),
        "real-beside-hostile-plugins": hostile,
        "real-replica-acks": acked,
        "latency": latency,
    });
    if options.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print_table(&result);
    }
    Ok(())
}

fn print_table(r: &serde_json::Value) {
    println!(
        "switchyard-bench: {} jobs (~{} B each), {} cores, one local redis-server",
        r["jobs"], r["average-job-bytes"], r["machine"]["cores"]
    );
    println!();
    println!(
        "  {:<42} {:>8} {:>8} {:>14} {:>17} {:>13} {:>18}",
        "drain",
        "jobs/s",
        "seconds",
        "Redis CPU/job",
        "consumer CPU/job",
        "rate ÷ limit",
        "Redis CPU ÷ limit"
    );
    for (name, key) in [
        ("the limit (minimal consumer, no pipeline)", "limit"),
        ("real pipeline (plugins + status)", "real"),
        ("null pipeline (switchyard minus plugins)", "null"),
        ("real pipeline, two daemons", "real-two-daemons"),
    ] {
        println!(
            "  {:<42} {:>8.0} {:>8.2} {:>11.1} µs {:>14.1} µs {:>13.3} {:>18.3}",
            name,
            r[key]["jobs-per-s"].as_f64().unwrap_or(0.0),
            r[key]["seconds"].as_f64().unwrap_or(0.0),
            r[key]["redis-cpu-us-per-job"].as_f64().unwrap_or(0.0),
            r[key]["consumer-cpu-us-per-job"].as_f64().unwrap_or(0.0),
            r[key]["vs-limit"]["rate"].as_f64().unwrap_or(0.0),
            r[key]["vs-limit"]["redis-cpu-per-job"]
                .as_f64()
                .unwrap_or(0.0),
        );
    }
    println!(
        "  the limit: per batch of {BATCH}, one XREADGROUP and one script that per entry XACKs and, if that acked, XADDs + HSET + PEXPIRE; written the same fields as switchyard: {}",
        if r["limit-writes-same-fields"].as_bool() == Some(true) {
            "yes"
        } else {
            "NO (see the warning above)"
        }
    );
    println!(
        "  plugins (isolation = \"{}\"): {:.1} µs daemon CPU per job (real pipeline's minus the null pipeline's)",
        r["isolation"].as_str().unwrap_or("?"),
        r["plugin-cpu-us-per-job"].as_f64().unwrap_or(0.0)
    );
    let s = &r["real-with-swaps"];
    if !s.is_null() {
        println!(
            "  {:<42} {:>8.0} {:>8.2} {:>32} {:>13.3}",
            format!("real pipeline, {} router swaps", s["swaps"]),
            s["jobs-per-s"].as_f64().unwrap_or(0.0),
            s["seconds"].as_f64().unwrap_or(0.0),
            "",
            s["throughput-vs-limit"].as_f64().unwrap_or(0.0)
        );
        println!(
            "  swaps: throughput {:.3} of the run without; file written -> first job on the new build (ms): {}",
            s["throughput-vs-no-swaps"].as_f64().unwrap_or(0.0),
            s["swap-latency-ms"]
        );
    }
    let a = &r["real-replica-acks"];
    if !a.is_null() {
        println!(
            "  {:<42} {:>8.0} {:>8.2} {:>11.1} µs {:>14.1} µs {:>13.3} {:>18.3}",
            format!("real pipeline, replica-acks {}", a["replica-acks"]),
            a["jobs-per-s"].as_f64().unwrap_or(0.0),
            a["seconds"].as_f64().unwrap_or(0.0),
            a["redis-cpu-us-per-job"].as_f64().unwrap_or(0.0),
            a["consumer-cpu-us-per-job"].as_f64().unwrap_or(0.0),
            a["vs-limit"]["rate"].as_f64().unwrap_or(0.0),
            a["vs-limit"]["redis-cpu-per-job"].as_f64().unwrap_or(0.0),
        );
        println!(
            "  replica-acks: throughput {:.3} of the real pipeline; master Redis {:+.1} µs/job, daemon {:+.1} µs/job; the replica {:.1} µs/job",
            a["vs-real"]["rate"].as_f64().unwrap_or(0.0),
            a["vs-real"]["redis-cpu-us-per-job-added"]
                .as_f64()
                .unwrap_or(0.0),
            a["vs-real"]["daemon-cpu-us-per-job-added"]
                .as_f64()
                .unwrap_or(0.0),
            a["replica-cpu-us-per-job"].as_f64().unwrap_or(0.0),
        );
    }
    let h = &r["real-beside-hostile-plugins"];
    if !h.is_null() {
        println!(
            "  {:<42} {:>8.0} {:>8.2} {:>32} {:>13.3}",
            format!("real, beside {} hostile jobs", h["hostile-jobs"]),
            h["good-jobs-per-s"].as_f64().unwrap_or(0.0),
            h["seconds"].as_f64().unwrap_or(0.0),
            "",
            h["good-throughput-vs-limit"].as_f64().unwrap_or(0.0)
        );
        println!(
            "  hostile plugins: good jobs' throughput {:.3} of the plain run; daemon peak RSS {} MiB with {} plugins loaded; where the hostile jobs went:",
            h["good-throughput-vs-plain"].as_f64().unwrap_or(0.0),
            h["peak-rss-mib"],
            h["plugins-loaded"]
        );
        if let Some(outcomes) = h["outcomes"].as_object() {
            let mut services: Vec<_> = outcomes.iter().collect();
            services.sort_by_key(|(service, _)| service.as_str());
            for (service, counts) in services {
                println!(
                    "    {service:<14} expected {:<24} got {counts}",
                    h["expected"][service].as_str().unwrap_or("?")
                );
            }
        }
    }
    println!();
    latency::print(&r["latency"]);
    println!(
        "  daemon peak RSS: {} MiB (real pipeline)",
        r["real"]["peak-rss-mib"]
    );
}

/// The `switchyard-plugins` value switchyard writes for `names` loaded from
/// `dir`: `name@` and the first 8 hex digits of the file's SHA-256, by commas.
fn plugin_versions(dir: &Path, names: &[&str]) -> anyhow::Result<String> {
    use sha2::Digest;
    let versions = names
        .iter()
        .map(|name| {
            let bytes = std::fs::read(dir.join(format!("{name}.wasm")))?;
            Ok(format!(
                "{name}@{}",
                &hex::encode(sha2::Sha256::digest(&bytes))[..8]
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(versions.join(","))
}

/// slivka-bio's size tiers, the figures the differential test proves on
/// slivka's own selector (fasta-size's `tiers`, as JSON).
const SLIVKA_BIO_TIERS: &str = include_str!("../../tests/slivka/tiers.json");

/// Writes the bench config `name` in `dir`: the slivka route, then `extra`.
fn write_config(
    dir: &Path,
    name: &str,
    url: &str,
    redis_extra: &str,
    plugins: &Path,
    extra: &str,
) -> anyhow::Result<PathBuf> {
    let services = dir.join("services");
    std::fs::create_dir_all(&services)?;
    for (name, text) in [
        (
            "clustalo",
            include_str!("../../examples/slivka/services/clustalo.service.yaml"),
        ),
        (
            "mafft",
            include_str!("../../examples/slivka/services/mafft.service.yaml"),
        ),
    ] {
        std::fs::write(services.join(format!("{name}.service.yaml")), text)?;
    }
    let config = dir.join(name);
    std::fs::write(
        &config,
        format!(
            r#"
[redis]
url = "{url}"
{redis_extra}
[consumer]
group = "{GROUP}"
batch = {BATCH}
in-flight = 2048
claim-idle-ms = 60000
[plugins]
dir = "{plugins}"
deadline-ms = 1000
[plugin.slivka-form.config-files]
"service.clustalo" = "services/clustalo.service.yaml"
"service.mafft" = "services/mafft.service.yaml"
[plugin.fasta-size.config]
target-pattern = "queue:{{runner}}"
tiers = '''{SLIVKA_BIO_TIERS}'''
[[routes]]
name = "slivka"
source = "{SOURCE}"
match = {{ service = ["clustalo", "mafft"] }}
validators = ["slivka-form"]
router = "fasta-size"
targets = ["queue:local", "queue:default"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
{extra}"#,
            plugins = plugins.display()
        ),
    )?;
    Ok(config)
}

type Fields = Vec<(String, Vec<u8>)>;

/// A stream entry with text fields.
type TextEntry = (String, HashMap<String, String>);

/// `n` jobs of the demo's mix, the same for the same seed.
pub fn generate(n: usize, seed: u64) -> Vec<Fields> {
    let mut rng = XorShift(seed.max(1));
    (0..n)
        .map(|i| {
            let roll = rng.next() % 100;
            let job_id = format!("bench{i:011}");
            let fasta = |rng: &mut XorShift, count: u64, length: u64| {
                let mut text = String::new();
                for s in 0..count {
                    text.push_str(&format!(">seq{s}\n"));
                    for _ in 0..length {
                        text.push(b"ACDEFGHIKLMNPQRSTVWY"[(rng.next() % 20) as usize] as char);
                    }
                    text.push('\n');
                }
                text
            };
            let (service, payload) = match roll {
                0..=79 => ("clustalo", Some(json!({"inputs": {"input": fasta(&mut rng, 6, 120), "dealign": "yes", "iterations": "1"}}).to_string())),
                80..=87 => ("mafft", Some(json!({"inputs": {"input": fasta(&mut rng, 40, 15)}}).to_string())),
                88..=94 => ("clustalo", Some(json!({"inputs": {"input": fasta(&mut rng, 6, 120), "iterations": "500"}}).to_string())),
                95..=96 => ("clustalo", Some(format!("{{\"inputs\": {}", "x".repeat(900)))),
                97..=98 => ("clustalo", None),
                _ => ("blast", Some(json!({"inputs": {"input": fasta(&mut rng, 6, 120)}}).to_string())),
            };
            let mut fields = vec![
                ("service".to_owned(), service.as_bytes().to_vec()),
                ("job-id".to_owned(), job_id.into_bytes()),
            ];
            if let Some(payload) = payload {
                fields.push(("payload".to_owned(), payload.into_bytes()));
            }
            fields
        })
        .collect()
}

/// The job generator's random numbers: xorshift64, never seeded with 0.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// The figures of one drain.
struct Drain {
    /// Jobs per second, from the first outcome entry's id to the last's.
    rate: f64,
    /// Seconds from the first outcome entry to the last.
    seconds: f64,
    /// The daemons' peak RSS in MiB (0 for the limit, which runs in this
    /// process).
    rss_mib: f64,
    /// CPU time redis-server spent per job during the drain, in µs: on a
    /// shared machine a steadier measure of the Redis work than the rate.
    redis_cpu_us: f64,
    /// CPU time the consumer spent per job (start-up included), in µs: the
    /// daemons' processes, or the limit's thread.
    consumer_cpu_us: f64,
}

impl Drain {
    /// The drain's figures as the JSON result has them, with its rate and
    /// its Redis CPU per job as ratios against `limit`'s.
    fn to_json(&self, limit: &Drain) -> serde_json::Value {
        json!({
            "jobs-per-s": self.rate.round(),
            "seconds": self.seconds,
            "peak-rss-mib": self.rss_mib,
            "redis-cpu-us-per-job": self.redis_cpu_us,
            "consumer-cpu-us-per-job": self.consumer_cpu_us,
            "vs-limit": {
                "rate": ratio(self.rate, limit.rate),
                "redis-cpu-per-job": ratio(self.redis_cpu_us, limit.redis_cpu_us),
            },
        })
    }
}

/// `a / b` to three decimals (0 when `b` is 0).
fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        return 0.0;
    }
    (a / b * 1000.0).round() / 1000.0
}

/// The field names of the first entry on [`FIRST_TARGET`] and of its status
/// record: what a drain wrote for a dispatched job, to check that the limit
/// writes what switchyard writes.
fn dispatched_shape(conn: &mut redis::Connection) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let first: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(FIRST_TARGET)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query(conn)?;
    let Some((_, fields)) = first.into_iter().next() else {
        bail!("nothing was dispatched to {FIRST_TARGET}");
    };
    let job_id = fields
        .iter()
        .find(|(name, _)| name == "job-id")
        .map(|(_, id)| id.clone())
        .unwrap_or_default();
    let status: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(format!(
            "{}{job_id}",
            switchyard::config::defaults::DEFAULT_STATUS_PREFIX
        ))
        .query(conn)?;
    Ok((
        fields.into_iter().map(|(name, _)| name).collect(),
        status.into_iter().map(|(name, _)| name).collect(),
    ))
}

/// CPU seconds redis-server has used (user + system), from `INFO cpu`.
fn redis_cpu_seconds(conn: &mut redis::Connection) -> anyhow::Result<f64> {
    let info: String = redis::cmd("INFO").arg("cpu").query(conn)?;
    Ok(info
        .lines()
        .filter_map(|line| {
            let value = line
                .strip_prefix("used_cpu_user:")
                .or_else(|| line.strip_prefix("used_cpu_sys:"))?;
            value.trim().parse::<f64>().ok()
        })
        .sum())
}

/// CPU seconds process `pid` has used (user + system), from /proc.
fn process_cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command (which may hold spaces), from field 3 on.
    let Some((_, rest)) = stat.rsplit_once(") ") else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks / per_second
}

/// Each daemon's CPU seconds when it first read (its consumer appears in
/// the group): its start-up (loading and preparing the plugins, warming
/// them), which the CPU per job leaves out as the rate does (the rate runs
/// from the first settled entry to the last). A daemon that has not read
/// within a minute counts from zero.
fn startup_cpu(conn: &mut redis::Connection, children: &[Child]) -> anyhow::Result<Vec<f64>> {
    let mut startup: Vec<Option<f64>> = vec![None; children.len()];
    let deadline = Instant::now() + Duration::from_secs(60);
    while startup.iter().any(Option::is_none) && Instant::now() < deadline {
        let consumers: redis::streams::StreamInfoConsumersReply = redis::cmd("XINFO")
            .arg("CONSUMERS")
            .arg(SOURCE)
            .arg(GROUP)
            .query(conn)
            .unwrap_or_default();
        for (i, child) in children.iter().enumerate() {
            let name = format!("bench-{i}");
            if startup[i].is_none() && consumers.consumers.iter().any(|c| c.name == name) {
                startup[i] = Some(process_cpu_seconds(child.id()));
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(startup.into_iter().map(|s| s.unwrap_or(0.0)).collect())
}

/// What drains the preloaded jobs.
enum Router<'a> {
    /// The limit's minimal consumer, on a thread of this process.
    Limit(&'a limit::Limit),
    /// `switchyard run` processes reading in one group.
    Daemons {
        /// Their config file.
        config: &'a Path,
        /// How many run side by side.
        count: usize,
        /// Whether they run the null pipeline (`--null-pipeline`).
        null: bool,
    },
}

impl Router<'_> {
    /// What a drain through this router is called on its progress bar.
    fn name(&self) -> String {
        match self {
            Router::Limit(_) => "the limit".to_owned(),
            Router::Daemons {
                count, null: true, ..
            } => format!("null pipeline, {count} daemon(s)"),
            Router::Daemons { count, .. } => format!("real pipeline, {count} daemon(s)"),
        }
    }
}

/// Preloads `jobs`, starts `router`, and times the drain from the first
/// settled entry to the last (by their Redis entry ids).
fn drain(conn: &mut redis::Connection, jobs: &[Fields], router: &Router) -> anyhow::Result<Drain> {
    redis::cmd("FLUSHALL").exec(conn)?;
    push(conn, SOURCE, jobs, None)?;
    let redis_cpu_before = redis_cpu_seconds(conn)?;
    let deadline = Instant::now() + Duration::from_secs(600);
    // Shown on a terminal only (stderr), as the CLI's own progress.
    let progress = switchyard::cli::progress::bar(
        Some(jobs.len() as u64),
        &format!("bench: {}", router.name()),
        "jobs settled",
    );
    // Polls until every job is settled; fails at the deadline, or when
    // `stopped` says the consumer has ended with jobs left.
    let wait = |conn: &mut redis::Connection, stopped: &mut dyn FnMut() -> bool| {
        loop {
            let ended = stopped();
            let count = settled(conn)?;
            progress.set_position(count as u64);
            if count >= jobs.len() {
                progress.finish_and_clear();
                return anyhow::Ok(redis_cpu_seconds(conn)? - redis_cpu_before);
            }
            if ended || Instant::now() > deadline {
                bail!(
                    "the drain did not finish ({count} of {} settled)",
                    jobs.len()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let mut rss = 0.0f64;
    let (redis_cpu, consumer_cpu) = match *router {
        Router::Limit(limit) => {
            let consumer = std::thread::spawn({
                let limit = limit.clone();
                move || limit.consume()
            });
            let waited = wait(conn, &mut || consumer.is_finished());
            let consumed = consumer
                .join()
                .map_err(|_| anyhow::anyhow!("the limit's consumer panicked"))??;
            let redis_cpu = waited?;
            if consumed.settled != jobs.len() as u64 {
                bail!(
                    "the limit settled {} of {} jobs",
                    consumed.settled,
                    jobs.len()
                );
            }
            (redis_cpu, consumed.cpu_seconds)
        }
        Router::Daemons {
            config,
            count,
            null,
        } => {
            let mut children: Vec<Child> = (0..count)
                .map(|i| spawn(config, &format!("bench-{i}"), null))
                .collect::<anyhow::Result<_>>()?;
            let startup = startup_cpu(conn, &children)?;
            let waited = wait(conn, &mut || {
                for child in &children {
                    rss = rss.max(peak_rss_mib(child.id()));
                }
                false
            });
            let mut daemon_cpu = 0.0;
            for (child, startup) in children.iter().zip(startup) {
                rss = rss.max(peak_rss_mib(child.id()));
                daemon_cpu += process_cpu_seconds(child.id()) - startup;
            }
            for child in &mut children {
                stop(child);
            }
            (waited?, daemon_cpu)
        }
    };
    let per_job_us = |cpu: f64| (cpu * 1e6 / jobs.len().max(1) as f64 * 10.0).round() / 10.0;
    let (mut first, mut last) = (u64::MAX, 0u64);
    for stream in OUTPUTS {
        let head: Vec<(String, Fields)> = redis::cmd("XRANGE")
            .arg(stream)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .query(conn)?;
        let tail: Vec<(String, Fields)> = redis::cmd("XREVRANGE")
            .arg(stream)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query(conn)?;
        if let (Some((h, _)), Some((t, _))) = (head.first(), tail.first()) {
            first = first.min(id_ms(h));
            last = last.max(id_ms(t));
        }
    }
    let seconds = ((last.saturating_sub(first)) as f64 / 1000.0).max(0.001);
    Ok(Drain {
        rate: jobs.len() as f64 / seconds,
        seconds: (seconds * 1000.0).round() / 1000.0,
        rss_mib: (rss * 10.0).round() / 10.0,
        redis_cpu_us: per_job_us(redis_cpu),
        consumer_cpu_us: per_job_us(consumer_cpu),
    })
}

/// The latency runs at `offered` jobs/s: smooth, then in bursts (of
/// `--burst` every `--burst-every` ms), each to one daemon, then to two in
/// one group; as JSON.
fn latency_runs(
    conn: &mut redis::Connection,
    config: &Path,
    options: &BenchOptions,
    offered: f64,
) -> anyhow::Result<serde_json::Value> {
    let every = Duration::from_millis(options.burst_every.max(1));
    let burst = if options.burst > 0 {
        options.burst
    } else {
        ((offered * every.as_secs_f64()).round() as usize).max(1)
    };
    let mut runs = Vec::new();
    for daemons in [1, 2] {
        for offer in [
            latency::Offer::Smooth { rate: offered },
            latency::Offer::Bursty { burst, every },
        ] {
            let run = latency::run(
                conn,
                config,
                offer,
                daemons,
                Duration::from_secs(options.latency_seconds),
                options.seed,
            )?;
            eprintln!("bench: latency {}", run.to_json());
            runs.push(run.to_json());
        }
    }
    Ok(serde_json::Value::Array(runs))
}

/// Rewrites `router` `swaps` times, `interval` apart, each time as a new
/// build (the original plus a distinct custom section, so its hash and
/// version change and its behaviour does not), written then renamed as a
/// deploy tool would. Returns, per swap, the milliseconds from the rename to
/// the first dispatched job stamped with the new version.
fn swap_router(
    url: &str,
    router: &Path,
    original: &[u8],
    swaps: usize,
    interval: Duration,
) -> anyhow::Result<Vec<u64>> {
    use sha2::Digest;
    let mut conn = redis::Client::open(url)?.get_connection()?;
    let mut latencies = Vec::new();
    for swap in 1..=swaps {
        std::thread::sleep(interval);
        let mut bytes = original.to_vec();
        let name = b"switchyard-bench";
        let payload = format!("build {swap}");
        let body_len = 1 + name.len() + payload.len();
        bytes.push(0); // custom section
        bytes.push(body_len as u8);
        bytes.push(name.len() as u8);
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(payload.as_bytes());
        let version = format!(
            "fasta-size@{}",
            &hex::encode(sha2::Sha256::digest(&bytes))[..8]
        );
        let tmp = router.with_extension("wasm.new");
        std::fs::write(&tmp, &bytes)?;
        std::fs::rename(&tmp, router)?;
        let written = Instant::now();
        loop {
            if written.elapsed() > Duration::from_secs(30) {
                break;
            }
            let newest: Vec<(String, HashMap<String, String>)> = redis::cmd("XREVRANGE")
                .arg("queue:local")
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query(&mut conn)?;
            if newest
                .first()
                .and_then(|(_, f)| f.get("switchyard-plugins"))
                .is_some_and(|p| p.contains(&version))
            {
                latencies.push(written.elapsed().as_millis() as u64);
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    Ok(latencies)
}

fn push(
    conn: &mut redis::Connection,
    stream: &str,
    jobs: &[Fields],
    sent_us: Option<u64>,
) -> anyhow::Result<()> {
    for chunk in jobs.chunks(1000) {
        let mut pipe = redis::pipe();
        for fields in chunk {
            let cmd = pipe.cmd("XADD").arg(stream).arg("*");
            for (k, v) in fields {
                cmd.arg(k).arg(v.as_slice());
            }
            if let Some(sent) = sent_us {
                cmd.arg("bench-sent-us").arg(sent);
            }
            cmd.ignore();
        }
        pipe.exec(conn).context("cannot preload jobs")?;
    }
    Ok(())
}

fn settled(conn: &mut redis::Connection) -> anyhow::Result<usize> {
    let mut pipe = redis::pipe();
    for s in OUTPUTS {
        pipe.cmd("XLEN").arg(s);
    }
    let lengths: Vec<usize> = pipe.query(conn)?;
    Ok(lengths.iter().sum())
}

fn spawn(config: &Path, consumer: &str, null: bool) -> anyhow::Result<Child> {
    // The daemon is `--daemon`, or the `switchyard` cargo built into the
    // same directory.
    let exe = match DAEMON.get() {
        Some(exe) => exe.clone(),
        None => std::env::current_exe()?.with_file_name("switchyard"),
    };
    if !exe.is_file() {
        bail!(
            "{} is missing: build the daemon too (`cargo build --release`)",
            exe.display()
        );
    }
    let log = std::fs::File::create(config.with_file_name(format!("{consumer}.log")))?;
    let mut command = Command::new(exe);
    command
        .args(["run", "--config"])
        .arg(config)
        .args(["--consumer", consumer]);
    if null {
        command.arg("--null-pipeline");
    }
    command
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("cannot start a daemon")
}

fn stop(child: &mut Child) {
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let _ = child.wait();
}

fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn id_ms(id: &str) -> u64 {
    id.split('-')
        .next()
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(0)
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

fn server_version(conn: &mut redis::Connection) -> String {
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query(conn)
        .unwrap_or_default();
    info.lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("?")
        .trim()
        .to_owned()
}
