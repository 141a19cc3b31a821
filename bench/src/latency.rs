//! Enqueue → dispatched latency: a producer beside running daemons offers
//! jobs smoothly (a few every half millisecond) or in bursts (`N` jobs at
//! once every `MS` ms, as front ends submit when many users act at once),
//! to one daemon and to two in one group, and the first job a freshly
//! started daemon gets is timed on its own (the cold path).
//!
//! When each job was dispatched is read from its outcome entry's id after
//! the run (the millisecond of the settle script's XADD; its middle is
//! taken). Reading the outputs after the run, rather than with a runner
//! blocked on them during it, keeps the measurement off the 2 cores it
//! measures: a blocked reader woke Redis for every batch and doubled
//! Redis's work per job.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::json;

use super::{
    OUTPUTS, for_each_entry, generate, id_ms, now_us, process_cpu_seconds, push, redis_cpu_seconds,
    settled, spawn, stop,
};

/// How a latency run's producer offers its jobs.
#[derive(Debug, Clone, Copy)]
pub enum Offer {
    /// `rate` jobs/s, spread evenly (what is due every half millisecond).
    Smooth { rate: f64 },
    /// `burst` jobs at once, every `every`.
    Bursty { burst: usize, every: Duration },
}

impl Offer {
    /// Jobs per second offered.
    pub fn rate(&self) -> f64 {
        match *self {
            Offer::Smooth { rate } => rate,
            Offer::Bursty { burst, every } => burst as f64 / every.as_secs_f64(),
        }
    }

    fn describe(&self) -> String {
        match *self {
            Offer::Smooth { rate } => format!("smooth, {rate:.0} jobs/s"),
            Offer::Bursty { burst, every } => format!(
                "bursts of {burst} every {} ms ({:.0} jobs/s)",
                every.as_millis(),
                self.rate()
            ),
        }
    }
}

/// Enqueue → dispatched latencies of one latency run.
pub struct Latency {
    /// How the jobs were offered.
    offer: Offer,
    /// Daemons in the group.
    daemons: usize,
    /// The first job sent to the freshly started daemons, once they read,
    /// in ms: the cold path.
    first_ms: f64,
    /// Jobs measured.
    samples: usize,
    /// Median, in ms.
    p50: f64,
    /// 99th percentile, in ms.
    p99: f64,
    /// Slowest, in ms.
    max: f64,
    /// CPU time redis-server spent per job during the run, in µs.
    redis_cpu_us: f64,
    /// CPU time the daemons spent per job during the run, in µs.
    daemon_cpu_us: f64,
}

impl Latency {
    /// The run's figures as the JSON result has them.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "offer": self.offer.describe(),
            "offered-jobs-per-s": self.offer.rate().round(),
            "daemons": self.daemons,
            "first-job-ms": self.first_ms,
            "samples": self.samples,
            "p50-ms": self.p50,
            "p99-ms": self.p99,
            "max-ms": self.max,
            "redis-cpu-us-per-job": self.redis_cpu_us,
            "daemon-cpu-us-per-job": self.daemon_cpu_us,
        })
    }
}

/// Prints the latency runs of a result as table lines.
pub fn print(runs: &serde_json::Value) {
    println!(
        "  latency enqueue -> dispatched (outcome entry ids, 1 ms steps; first job: the first one a freshly started daemon gets):"
    );
    println!(
        "  {:<42} {:>7} {:>8} {:>9} {:>9} {:>9} {:>13} {:>14} {:>15}",
        "offer",
        "daemons",
        "jobs",
        "p50 ms",
        "p99 ms",
        "max ms",
        "first job ms",
        "Redis CPU/job",
        "daemon CPU/job"
    );
    for run in runs.as_array().into_iter().flatten() {
        let ms = |key: &str| run[key].as_f64().unwrap_or(f64::NAN);
        println!(
            "  {:<42} {:>7} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>13.2} {:>11.1} µs {:>12.1} µs",
            run["offer"].as_str().unwrap_or("?"),
            run["daemons"].as_u64().unwrap_or(0),
            run["samples"].as_u64().unwrap_or(0),
            ms("p50-ms"),
            ms("p99-ms"),
            ms("max-ms"),
            ms("first-job-ms"),
            ms("redis-cpu-us-per-job"),
            ms("daemon-cpu-us-per-job"),
        );
    }
}

/// Starts `daemons` daemons of `config` on an emptied Redis, times the
/// first job they get, then offers jobs as `offer` says for `duration` and
/// reads when each was dispatched.
pub fn run(
    conn: &mut redis::Connection,
    config: &Path,
    offer: Offer,
    daemons: usize,
    duration: Duration,
    seed: u64,
) -> anyhow::Result<Latency> {
    redis::cmd("FLUSHALL").exec(conn)?;
    let mut children = Vec::new();
    let result = (|| {
        for i in 1..=daemons {
            children.push(spawn(config, &format!("bench-latency-{i}"), false)?);
        }
        wait_reading(conn, daemons)?;
        let first = generate(1, seed);
        push(conn, "jobs", &first, Some(now_us()))?;
        wait_settled(conn, 1, Duration::from_secs(60))?;
        let first_ms = latencies(conn)?.first().copied().unwrap_or(0.0);
        redis::cmd("DEL").arg(&OUTPUTS).exec(conn)?;
        let count = (offer.rate() * duration.as_secs_f64()) as usize + 1;
        let jobs = generate(count, seed ^ 0x5eed);
        let daemon_cpu = || {
            children
                .iter()
                .map(|c| process_cpu_seconds(c.id()))
                .sum::<f64>()
        };
        let (redis_before, daemon_before) = (redis_cpu_seconds(conn)?, daemon_cpu());
        produce(conn, &jobs, offer)?;
        wait_settled(conn, jobs.len(), Duration::from_secs(120))?;
        let per_job = |seconds: f64| (seconds * 1e6 / jobs.len() as f64 * 10.0).round() / 10.0;
        let redis_cpu_us = per_job(redis_cpu_seconds(conn)? - redis_before);
        let daemon_cpu_us = per_job(daemon_cpu() - daemon_before);
        stop_all(&mut children);
        let mut all = latencies(conn)?;
        if all.is_empty() {
            bail!("no job came through during the latency run");
        }
        all.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| (all[((all.len() - 1) as f64 * q) as usize] * 100.0).round() / 100.0;
        Ok(Latency {
            offer,
            daemons,
            first_ms,
            samples: all.len(),
            p50: at(0.5),
            p99: at(0.99),
            max: at(1.0),
            redis_cpu_us,
            daemon_cpu_us,
        })
    })();
    stop_all(&mut children);
    result
}

fn stop_all(children: &mut Vec<Child>) {
    for mut child in children.drain(..) {
        stop(&mut child);
    }
}

/// Waits until `daemons` consumers have read from the source (each
/// appears in the group at its first read).
fn wait_reading(conn: &mut redis::Connection, daemons: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let consumers: redis::RedisResult<Vec<redis::Value>> = redis::cmd("XINFO")
            .arg("CONSUMERS")
            .arg("jobs")
            .arg(super::GROUP)
            .query(conn);
        if consumers.is_ok_and(|c| c.len() >= daemons) {
            // The read is under way: give it a moment to block.
            std::thread::sleep(Duration::from_millis(100));
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the latency daemons did not start reading within a minute");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn wait_settled(
    conn: &mut redis::Connection,
    count: usize,
    within: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    while settled(conn)? < count {
        if Instant::now() > deadline {
            bail!(
                "the latency run's jobs were not all settled within {} s",
                within.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// Sends `jobs` as `offer` says, each stamped with its send time.
fn produce(
    conn: &mut redis::Connection,
    jobs: &[super::Fields],
    offer: Offer,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut sent = 0usize;
    match offer {
        Offer::Smooth { rate } => {
            while sent < jobs.len() {
                let due = ((started.elapsed().as_secs_f64() * rate) as usize).min(jobs.len());
                if due > sent {
                    push(conn, "jobs", &jobs[sent..due], Some(now_us()))?;
                    sent = due;
                }
                std::thread::sleep(Duration::from_micros(500));
            }
        }
        Offer::Bursty { burst, every } => {
            let mut next = started;
            while sent < jobs.len() {
                let now = Instant::now();
                if now < next {
                    std::thread::sleep(next - now);
                }
                let end = (sent + burst.max(1)).min(jobs.len());
                push(conn, "jobs", &jobs[sent..end], Some(now_us()))?;
                sent = end;
                next += every;
            }
        }
    }
    Ok(())
}

/// Every outcome entry's enqueue → dispatched latency, in ms.
fn latencies(conn: &mut redis::Connection) -> anyhow::Result<Vec<f64>> {
    let mut latencies = Vec::new();
    for stream in OUTPUTS {
        for_each_entry(conn, stream, |id, fields| {
            if let Some(sent) = fields
                .get("bench-sent-us")
                .and_then(|s| s.parse::<u64>().ok())
            {
                let dispatched_us = id_ms(id) * 1000 + 500;
                latencies.push(dispatched_us.saturating_sub(sent) as f64 / 1000.0);
            }
        })?;
    }
    Ok(latencies)
}
