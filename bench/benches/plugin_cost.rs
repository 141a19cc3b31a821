//! What a plugin call costs the daemon: every job gets a fresh instance, so
//! the price of a job is instantiate + call, once for the validator and once
//! for the router. This measures it with the real plugins (slivka-form with
//! the example clustalo service file, fasta-size with slivka-bio's tiers) on a realistic clustalo job, beside a
//! router that does nothing (fixture-echo-target): the floor, what
//! instantiating a component and crossing the boundary cost by themselves.
//!
//! Not a test: it asserts nothing about time. Run it with
//! `make bench` (or `cargo bench -p switchyard-bench --bench plugin_cost` after
//! `make plugins`);
//! `PLUGIN_COST_ITERATIONS` changes the number of jobs per measurement and
//! `PLUGIN_COST_ONLY=TEXT` runs only the rows whose name holds TEXT;
//! `PLUGIN_COST_PLUGINS=DIR` loads the plugins from DIR.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use switchyard::plugin::{Decision, Instances, Isolation, Job, Plugin, PluginSettings, Runtime};

/// Jobs per batch in the `isolation = "batch"` row: the daemon's default
/// `[consumer] batch`.
const BATCH: usize = 256;
/// Jobs per measurement unless `PLUGIN_COST_ITERATIONS` says otherwise.
const DEFAULT_ITERATIONS: usize = 20_000;
/// Calls made before measuring, so caches and the instance pool are warm.
const WARMUP: usize = 200;

fn main() {
    let iterations = std::env::var("PLUGIN_COST_ITERATIONS")
        .ok()
        .map(|n| n.parse().expect("PLUGIN_COST_ITERATIONS must be a number"))
        .unwrap_or(DEFAULT_ITERATIONS);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the bench crate lives one level below the repository root")
        .to_path_buf();

    let runtime = Runtime::new().expect("cannot create the plugin runtime");
    let service = "examples/slivka/services/clustalo.service.yaml";
    let service = std::fs::read_to_string(root.join(service))
        .unwrap_or_else(|e| panic!("cannot read {service}: {e}"));
    let mut validator_settings = PluginSettings::default();
    validator_settings
        .config
        .insert("service.clustalo".into(), service);
    let mut router_settings = PluginSettings::default();
    router_settings
        .config
        .insert("tiers".into(), SLIVKA_BIO_TIERS.into());
    let started = Instant::now();
    let validator = load(&runtime, &root, "slivka-form", validator_settings.clone());
    let router = load(&runtime, &root, "fasta-size", router_settings.clone());
    let load_time = started.elapsed();
    // The same two with `isolation = "batch"`: one instance per batch.
    validator_settings.isolation = Isolation::Batch;
    router_settings.isolation = Isolation::Batch;
    let batch_validator = load(&runtime, &root, "slivka-form", validator_settings);
    let batch_router = load(&runtime, &root, "fasta-size", router_settings);
    // Jobs decided so far in the batch under way, and its instances; a new
    // batch every `BATCH` jobs, as the daemon reads them.
    let batch = std::cell::RefCell::new((0usize, Instances::new()));
    let floor = load(
        &runtime,
        &root,
        "fixture-echo-target",
        PluginSettings::default(),
    );

    let job = clustalo_job();
    let validate = || {
        let verdict = validator
            .validate(&job, "bench")
            .expect("slivka-form failed");
        assert!(verdict.is_ok(), "the bench job is invalid: {verdict:?}");
    };
    let route = || {
        let decision = router
            .route(&job, "bench", None)
            .expect("fasta-size failed");
        assert!(
            matches!(decision, Decision::Dispatch(_)),
            "the bench job is not dispatched: {decision:?}"
        );
    };

    let nothing = || {
        floor
            .route(&job, "bench", None)
            .expect("fixture-echo-target failed");
    };

    println!(
        "plugin cost: {iterations} jobs per row, {} bytes of payload; both plugins loaded in {:.1} ms",
        job.payload.len(),
        load_time.as_secs_f64() * 1e3
    );
    println!(
        "{:<38} {:>10} {:>10} {:>10} {:>12} {:>10}",
        "", "mean µs", "p50 µs", "p99 µs", "jobs/s", "max µs"
    );
    // `PLUGIN_COST_ONLY=fasta` runs only the rows whose name holds it: one
    // row at a time is what a profiler should see.
    let only = std::env::var("PLUGIN_COST_ONLY").unwrap_or_default();
    let batched = || {
        let mut batch = batch.borrow_mut();
        if batch.0 == BATCH {
            *batch = (0, Instances::new());
        }
        batch.0 += 1;
        let verdict = batch
            .1
            .validate(&batch_validator, &job, "bench")
            .expect("slivka-form failed");
        assert!(verdict.is_ok(), "the bench job is invalid: {verdict:?}");
        let decision = batch
            .1
            .route(&batch_router, &job, "bench", None)
            .expect("fasta-size failed");
        assert!(matches!(decision, Decision::Dispatch(_)), "{decision:?}");
    };
    let rows: [(&str, &dyn Fn()); 5] = [
        ("instantiate + route (does nothing)", &nothing),
        ("instantiate + validate (slivka-form)", &validate),
        ("instantiate + route (fasta-size)", &route),
        ("validate + route (one job)", &|| {
            validate();
            route();
        }),
        ("validate + route, isolation = batch", &batched),
    ];
    for (name, job) in rows {
        if name.contains(&only) {
            report(name, measure(iterations, job));
        }
    }
}

fn load(runtime: &Runtime, root: &Path, name: &str, settings: PluginSettings) -> Plugin {
    // `PLUGIN_COST_PLUGINS=DIR` measures other builds of the plugins (an
    // older commit's, say) against this host.
    let dir = std::env::var_os("PLUGIN_COST_PLUGINS")
        .map_or_else(|| root.join("target/plugins"), PathBuf::from);
    let path: PathBuf = dir.join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing; run `make plugins` first",
        path.display()
    );
    Plugin::load(runtime, name, &path, settings)
        .unwrap_or_else(|e| panic!("cannot load {name}: {e}"))
}

/// slivka-bio's size tiers, the figures the differential test proves on
/// slivka's own selector (fasta-size's `tiers`, as JSON).
const SLIVKA_BIO_TIERS: &str = include_str!("../../tests/slivka/tiers.json");

/// A clustalo job as slivka's web workers send it: 12 protein sequences of
/// 180 residues, dealign and iterations set.
fn clustalo_job() -> Job {
    let residues = b"ACDEFGHIKLMNPQRSTVWY";
    let mut input = String::new();
    for i in 0..12 {
        input.push_str(&format!(
            ">sp|P{:05}|PROT{i}_HUMAN test protein\n",
            10_000 + i
        ));
        let sequence: Vec<u8> = (0..180)
            .map(|j| residues[(i * 13 + j * 7) % residues.len()])
            .collect();
        for line in sequence.chunks(60) {
            input.push_str(std::str::from_utf8(line).expect("residues are ASCII"));
            input.push('\n');
        }
    }
    let payload = serde_json::json!({
        "inputs": { "input": input, "dealign": "yes", "iterations": "2" }
    })
    .to_string();
    // As the daemon sends it (contract 0.2.0): the payload once, not among
    // the fields; a 0.1.0 plugin gets it among them too, as it expects.
    let fields = [("service", "clustalo"), ("job-id", "Zm9vYmFyYmF6cXV4")];
    Job {
        source: "jobs".into(),
        entry_id: "1700000000000-0".into(),
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect(),
        payload: payload.into_bytes(),
        delivery_count: 1,
    }
}

/// Runs `job` `iterations` times after a warm-up; each run's duration.
fn measure(iterations: usize, job: &dyn Fn()) -> Vec<Duration> {
    for _ in 0..WARMUP {
        job();
    }
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        job();
        times.push(start.elapsed());
    }
    times
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort_unstable();
    let total: Duration = times.iter().sum();
    let mean = total.as_secs_f64() / times.len() as f64;
    let percentile = |p: f64| {
        let index = ((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1;
        times[index].as_secs_f64() * 1e6
    };
    println!(
        "{name:<38} {:>10.1} {:>10.1} {:>10.1} {:>12.0} {:>10.0}",
        mean * 1e6,
        percentile(0.50),
        percentile(0.99),
        1.0 / mean,
        percentile(1.0)
    );
}
