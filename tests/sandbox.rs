//! The sandbox, proved by name: each test runs a real plugin built to
//! misbehave in one way (spin, eat memory, panic, open a file, route where it
//! may not, read the environment) and checks that switchyard stops it with
//! the right typed error, and that the host goes on running other plugins.
//!
//! Most tests use the library API (`switchyard::plugin`); the last ones run
//! `switchyard check` and `switchyard try` as a plugin author would.

use std::path::Path;
use std::time::Duration;

use switchyard::config::Settings;
use switchyard::pipeline::Deciding;
use switchyard::pipeline::job::{Entry, EntryId};
use switchyard::pipeline::snapshot::Snapshot;
use switchyard::plugin::{
    Decision, ErrorCode, Fault, FieldError, Grants, Instances, Isolation, Job, Limits, LoadError,
    Plugin, PluginSettings, Runtime,
};

use crate::harness::{
    fasta, job, plugin_path, repo_root, run_switchyard, run_try, slivka_job, slivka_tiers,
};

/// What a plugin answered for one job: the validator's verdict, then (if it
/// is valid and the plugin routes) the router's decision.
#[derive(Debug)]
enum Answer {
    /// The validator refused the job.
    Invalid(Vec<FieldError>),
    /// The job is valid and the plugin does not route.
    Valid,
    /// The plugin routed the (valid) job.
    Routed(Decision),
}

/// Runs the job through the plugin as the pipeline would: `validate` if
/// exported, then `route` if exported and the job is valid.
fn answer(plugin: &Plugin, job: &Job, allowed: Option<&[String]>) -> Result<Answer, Fault> {
    if plugin.worlds().validate
        && let Err(errors) = plugin.validate(job, "test-job")?
        && !errors.is_empty()
    {
        return Ok(Answer::Invalid(errors));
    }
    if plugin.worlds().route {
        return Ok(Answer::Routed(plugin.route(job, "test-job", allowed)?));
    }
    Ok(Answer::Valid)
}

/// Loads `target/plugins/NAME.wasm` with `settings`, failing the test if it
/// does not load.
fn load(runtime: &Runtime, name: &str, settings: PluginSettings) -> Plugin {
    Plugin::load(runtime, name, &plugin_path(name), settings)
        .unwrap_or_else(|e| panic!("plugin {name} does not load: {e}"))
}

/// Settings with a config table of `pairs`.
fn with_config(pairs: &[(&str, &str)]) -> PluginSettings {
    PluginSettings {
        config: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    }
}

/// A job any fixture accepts as input.
fn any_job() -> Job {
    slivka_job("clustalo", serde_json::json!({ "input": fasta(2, 10) }))
}

fn spin_job_fails(runtime: &Runtime) -> Fault {
    let settings = PluginSettings {
        limits: Limits {
            deadline: Duration::from_millis(50),
            ..Default::default()
        },
        ..Default::default()
    };
    let spin = load(runtime, "fixture-spin", settings);
    answer(&spin, &any_job(), None).expect_err("fixture-spin never answers")
}

fn memory_bomb_fails(runtime: &Runtime) -> Fault {
    let settings = PluginSettings {
        limits: Limits {
            memory: 16 << 20,
            ..Default::default()
        },
        ..Default::default()
    };
    let bomb = load(runtime, "fixture-memory-bomb", settings);
    answer(&bomb, &any_job(), None).expect_err("fixture-memory-bomb cannot fit in 16 MiB")
}

fn panic_fails(runtime: &Runtime) -> Fault {
    let panic = load(runtime, "fixture-panic", PluginSettings::default());
    answer(&panic, &any_job(), None).expect_err("fixture-panic panics")
}

fn undeclared_target_fails(runtime: &Runtime) -> Fault {
    let plugin = load(
        runtime,
        "fixture-undeclared-target",
        PluginSettings::default(),
    );
    let allowed = ["queue:local".to_string()];
    answer(&plugin, &any_job(), Some(&allowed)).expect_err("queue:elsewhere is not allowed")
}

fn wrong_world_fails(runtime: &Runtime) -> LoadError {
    let path = plugin_path("fixture-wrong-world");
    Plugin::load(
        runtime,
        "fixture-wrong-world",
        &path,
        PluginSettings::default(),
    )
    .expect_err("a WASI command is not a plugin")
}

/// Loads the bytes as if they were a plugin in `dir/name`.
fn load_bytes(runtime: &Runtime, dir: &Path, name: &str, bytes: &[u8]) -> LoadError {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("cannot write into the test's tempdir");
    Plugin::load(runtime, "broken", &path, PluginSettings::default())
        .expect_err("these bytes are not a component")
}

/// `len` bytes that look random (xorshift), the same on every run.
fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// fasta-size, with the example's tiers, answers a small clustalo job with
/// `queue:local`: the host still works.
fn assert_good_plugin_answers(runtime: &Runtime, after: &str) {
    let mut settings = PluginSettings::default();
    settings.config.insert("tiers".into(), slivka_tiers());
    settings
        .config
        .insert("target-pattern".into(), "queue:{runner}".into());
    let router = load(runtime, "fasta-size", settings);
    let job = slivka_job("clustalo", serde_json::json!({ "input": fasta(5, 50) }));
    match answer(&router, &job, None) {
        Ok(Answer::Routed(Decision::Dispatch(targets))) => {
            assert_eq!(targets.len(), 1, "after {after}: {targets:?}");
            assert_eq!(targets[0].stream, "queue:local", "after {after}");
        }
        other => panic!("after {after}, fasta-size answered {other:?}"),
    }
}

#[test]
fn deadline_exceeded_is_interrupted() {
    let runtime = Runtime::new().unwrap();
    match spin_job_fails(&runtime) {
        Fault::Deadline { plugin, limit_ms } => {
            assert!(plugin.starts_with("fixture-spin@"), "{plugin}");
            assert_eq!(limit_ms, 50);
        }
        other => panic!("expected a deadline error, got {other:?}"),
    }
}

#[test]
fn memory_limit_is_enforced() {
    let runtime = Runtime::new().unwrap();
    match memory_bomb_fails(&runtime) {
        Fault::Memory {
            limit, requested, ..
        } => {
            assert_eq!(limit, 16 << 20);
            assert!(requested > limit, "refused {requested} under the limit");
        }
        other => panic!("expected a memory error, got {other:?}"),
    }
}

/// Loads the hand-written component `tests/fixtures/components/NAME.wat`
/// with `settings`, failing the test if it does not load.
fn load_wat(runtime: &Runtime, name: &str, settings: PluginSettings) -> Plugin {
    let path = repo_root().join(format!("tests/fixtures/components/{name}.wat"));
    let bytes = wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Plugin::from_bytes(runtime, name, &path, &bytes, settings)
        .unwrap_or_else(|e| panic!("component {name} does not load: {e}"))
}

/// A component with four core instances, each with its own linear memory:
/// `memory-mib` bounds what they hold together, as it bounds a Rust
/// plugin's one memory.
#[test]
fn memory_limit_bounds_all_memories_of_an_instance_together() {
    let runtime = Runtime::new().unwrap();
    let with_memory = |mib: usize| PluginSettings {
        limits: Limits {
            memory: mib << 20,
            ..Default::default()
        },
        ..Default::default()
    };

    // Room for three memories of 60 MiB and the main one: it answers.
    let roomy = load_wat(&runtime, "four-memories", with_memory(256));
    match roomy.route(&any_job(), "test-job", None) {
        Ok(Decision::Reject(reason)) => assert_eq!(reason, "hoarded"),
        other => panic!("under 256 MiB, four-memories answers, got {other:?}"),
    }

    // Each memory fits in 64 MiB; together they do not.
    let tight = load_wat(&runtime, "four-memories", with_memory(64));
    let fault = tight
        .route(&any_job(), "test-job", None)
        .expect_err("three memories of 60 MiB cannot fit in 64 MiB together");
    let message = fault.to_string();
    match fault {
        Fault::Memory {
            plugin,
            limit,
            requested,
        } => {
            assert!(plugin.starts_with("four-memories@"), "{plugin}");
            assert_eq!(limit, 64 << 20);
            assert!(requested > limit, "refused {requested} under the limit");
        }
        other => panic!("expected a memory error, got {other:?}"),
    }
    assert!(
        message.contains("four-memories@") && message.contains("memory limit of 67108864 bytes"),
        "{message}"
    );
    assert_good_plugin_answers(&runtime, "a component over its memory limit");
}

#[test]
fn trap_reports_panic_message() {
    let runtime = Runtime::new().unwrap();
    match panic_fails(&runtime) {
        Fault::Trap { message, .. } => assert!(
            message.contains("fixture panic: the job made me do it"),
            "the trap does not carry the panic message: {message}"
        ),
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn file_access_is_denied() {
    let runtime = Runtime::new().unwrap();
    let plugin = load(&runtime, "fixture-open-file", PluginSettings::default());
    match answer(&plugin, &any_job(), None) {
        Ok(Answer::Invalid(errors)) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].field, "path");
            assert_eq!(errors[0].code, ErrorCode::NotFound, "{errors:?}");
        }
        other => panic!("reading /etc/passwd must fail in the sandbox, got {other:?}"),
    }
}

#[test]
fn read_only_grant_allows_reading() {
    let runtime = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("input.fasta"), fasta(1, 20)).unwrap();
    let mut settings = with_config(&[("path", "/uploads/input.fasta")]);
    settings.grants = Grants {
        read_dirs: vec![(dir.path().to_path_buf(), "/uploads".into())],
        ..Default::default()
    };
    let plugin = load(&runtime, "fixture-open-file", settings);
    match answer(&plugin, &any_job(), None) {
        Ok(Answer::Valid) => {}
        other => panic!("a granted file must be readable, got {other:?}"),
    }

    // The grant is that directory only.
    let mut settings = with_config(&[("path", "/etc/passwd")]);
    settings.grants = Grants {
        read_dirs: vec![(dir.path().to_path_buf(), "/uploads".into())],
        ..Default::default()
    };
    let plugin = load(&runtime, "fixture-open-file", settings);
    match answer(&plugin, &any_job(), None) {
        Ok(Answer::Invalid(errors)) => assert_eq!(errors[0].code, ErrorCode::NotFound),
        other => panic!("a file outside the grant must stay unreadable, got {other:?}"),
    }
}

#[test]
fn undeclared_target_is_refused() {
    let runtime = Runtime::new().unwrap();
    match undeclared_target_fails(&runtime) {
        Fault::BadOutput { reason, .. } => {
            assert!(reason.contains("queue:elsewhere"), "{reason}");
        }
        other => panic!("expected bad output, got {other:?}"),
    }
}

#[test]
fn wrong_world_is_refused() {
    let runtime = Runtime::new().unwrap();
    match wrong_world_fails(&runtime) {
        error @ LoadError::WrongWorld { .. } => {
            let message = error.to_string();
            assert!(
                message.contains("fixture-wrong-world.wasm"),
                "the error does not name the file: {message}"
            );
            assert!(message.contains("WASI command"), "{message}");
        }
        other => panic!("expected a wrong-world error, got {other:?}"),
    }
}

#[test]
fn not_a_component_is_refused() {
    let runtime = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(plugin_path("slivka-form")).unwrap();
    let cases: [(&str, Vec<u8>); 3] = [
        ("truncated.wasm", good[..good.len() / 2].to_vec()),
        ("noise.wasm", noise(4096)),
        ("core-module.wasm", b"\0asm\x01\0\0\0".to_vec()),
    ];
    for (name, bytes) in cases {
        match load_bytes(&runtime, dir.path(), name, &bytes) {
            error @ LoadError::Load { .. } => {
                let message = error.to_string();
                assert!(
                    message.contains(name),
                    "{name}: the error does not name the file: {message}"
                );
            }
            other => panic!("{name}: expected a load error, got {other:?}"),
        }
    }
}

#[test]
fn each_job_gets_a_fresh_instance() {
    let runtime = Runtime::new().unwrap();
    let counter = load(&runtime, "fixture-counter", PluginSettings::default());
    for round in 1..=5 {
        let job = job(&[("job-id", &format!("job-{round}")), ("payload", "{}")]);
        match answer(&counter, &job, None) {
            Ok(Answer::Routed(Decision::Dispatch(targets))) => {
                assert_eq!(targets.len(), 1);
                assert_eq!(targets[0].stream, "queue:local");
                assert_eq!(
                    targets[0].extra_fields,
                    vec![("count".to_string(), "1".to_string())],
                    "job {round} saw state left by an earlier job"
                );
            }
            other => panic!("job {round}: expected a dispatch, got {other:?}"),
        }
    }
}

#[test]
fn jobs_start_from_what_prepare_left_and_nothing_else() {
    let runtime = Runtime::new().unwrap();
    let counter = load(
        &runtime,
        "fixture-counter",
        with_config(&[("prepared-count", "100")]),
    );
    assert!(counter.is_prepared(), "fixture-counter exports prepare");
    for round in 1..=5 {
        let job = job(&[("job-id", &format!("job-{round}")), ("payload", "{}")]);
        match answer(&counter, &job, None) {
            Ok(Answer::Routed(Decision::Dispatch(targets))) => assert_eq!(
                targets[0].extra_fields,
                vec![("count".to_string(), "101".to_string())],
                "job {round}: prepare's 100 plus this call, nothing from earlier jobs"
            ),
            other => panic!("job {round}: expected a dispatch, got {other:?}"),
        }
    }
}

/// fixture-counter loaded with `isolation` and `deadline`.
fn counter_with(runtime: &Runtime, isolation: Isolation, deadline: Duration) -> Plugin {
    let settings = PluginSettings {
        isolation,
        limits: Limits {
            deadline,
            ..Default::default()
        },
        ..Default::default()
    };
    load(runtime, "fixture-counter", settings)
}

/// The `count` fixture-counter's `route` answered for a job of `fields`,
/// called through `instances`; or its fault.
fn count_in<'a>(
    instances: &mut Instances<'a>,
    counter: &'a Plugin,
    fields: &[(&str, &str)],
) -> Result<String, Fault> {
    let job = job(fields);
    match instances.route(counter, &job, "test-job", None)? {
        Decision::Dispatch(targets) => Ok(targets[0]
            .extra_fields
            .iter()
            .find(|(name, _)| name == "count")
            .map(|(_, count)| count.clone())
            .expect("fixture-counter always writes `count`")),
        other => panic!("fixture-counter always dispatches, got {other:?}"),
    }
}

#[test]
fn batch_isolation_shares_one_instance_per_batch_and_job_isolation_none() {
    let runtime = Runtime::new().unwrap();
    let second = Duration::from_secs(1);
    let batched = counter_with(&runtime, Isolation::Batch, second);
    let fresh = counter_with(&runtime, Isolation::Job, second);
    assert_eq!(batched.isolation(), Isolation::Batch);
    assert_eq!(fresh.isolation(), Isolation::Job);

    for batch in 1..=2 {
        let mut instances = Instances::new();
        let counts: Vec<String> = (0..5)
            .map(|_| count_in(&mut instances, &batched, &[("payload", "{}")]).unwrap())
            .collect();
        assert_eq!(
            counts,
            ["1", "2", "3", "4", "5"],
            "batch {batch}: the jobs of one batch share one fresh instance"
        );
        let counts: Vec<String> = (0..5)
            .map(|_| count_in(&mut instances, &fresh, &[("payload", "{}")]).unwrap())
            .collect();
        assert_eq!(
            counts, ["1"; 5],
            "batch {batch}: with isolation = \"job\" no job sees another's state"
        );
    }
}

#[test]
fn a_fault_in_a_batch_drops_its_instance_and_the_next_job_starts_fresh() {
    let runtime = Runtime::new().unwrap();
    let counter = counter_with(&runtime, Isolation::Batch, Duration::from_secs(1));
    let mut instances = Instances::new();
    let plain = [("payload", "{}")];
    assert_eq!(count_in(&mut instances, &counter, &plain).unwrap(), "1");
    assert_eq!(count_in(&mut instances, &counter, &plain).unwrap(), "2");
    match count_in(
        &mut instances,
        &counter,
        &[("crash", "counter crashes as asked")],
    ) {
        Err(Fault::Trap { plugin, message }) => {
            assert!(plugin.starts_with("fixture-counter@"), "{plugin}");
            assert!(message.contains("counter crashes as asked"), "{message}");
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_eq!(
        count_in(&mut instances, &counter, &plain).unwrap(),
        "1",
        "the job after a trap gets a fresh instance, not the trapped one"
    );
    assert_eq!(count_in(&mut instances, &counter, &plain).unwrap(), "2");
}

#[test]
fn each_call_of_a_batch_gets_its_own_deadline() {
    let runtime = Runtime::new().unwrap();
    let deadline = Duration::from_millis(300);
    let counter = counter_with(&runtime, Isolation::Batch, deadline);
    let mut instances = Instances::new();
    // Together the calls take longer than one deadline; each is well inside
    // its own.
    let nap = [("payload", "{}"), ("sleep-ms", "30")];
    for call in 1..=15 {
        assert_eq!(
            count_in(&mut instances, &counter, &nap).unwrap(),
            call.to_string()
        );
    }
    match count_in(&mut instances, &counter, &[("sleep-ms", "5000")]) {
        Err(Fault::Deadline { limit_ms, .. }) => assert_eq!(limit_ms, 300),
        other => panic!("expected a deadline fault, got {other:?}"),
    }
    assert_eq!(
        count_in(&mut instances, &counter, &nap).unwrap(),
        "1",
        "the job after a deadline gets a fresh instance"
    );
}

/// What a [`tracing`] subscriber wrote, for a test to read.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn in_a_batch_each_printed_line_names_the_job_that_printed_it() {
    let runtime = Runtime::new().unwrap();
    let counter = counter_with(&runtime, Isolation::Batch, Duration::from_secs(1));
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let mut instances = Instances::new();
        for n in 1..=4 {
            let say = format!("hello from job {n}");
            // Job 3 prints nothing: nothing of job 2's is left to name it.
            let job = match n {
                3 => job(&[("payload", "{}")]),
                _ => job(&[("payload", "{}"), ("say", &say)]),
            };
            let decision = instances.route(&counter, &job, &format!("job-{n}"), None);
            assert!(
                matches!(decision, Ok(Decision::Dispatch(_))),
                "{decision:?}"
            );
        }
    });
    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let printed: Vec<&str> = log.lines().filter(|l| l.contains("hello from")).collect();
    assert_eq!(printed.len(), 3, "{log}");
    for n in [1, 2, 4] {
        let line = printed
            .iter()
            .find(|l| l.contains(&format!("hello from job {n}")))
            .unwrap_or_else(|| panic!("job {n} printed no line: {log}"));
        assert!(line.contains(&format!("job=job-{n} ")), "{line}");
    }
    assert!(!log.contains("job=job-3"), "job 3 printed nothing: {log}");
}

#[test]
fn the_pipeline_decides_a_batch_in_one_instance_of_a_batch_isolated_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let route = |isolation: &str| {
        format!(
            r#"
[[routes]]
name = "counted"
source = "jobs"
match = {{ service = "count" }}
router = "fixture-counter"
targets = ["queue:local"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"

[plugin.fixture-counter]
isolation = "{isolation}"
"#
        )
    };
    // No daemon runs: the URL is never dialled.
    let url = "redis://127.0.0.1:1";
    let runtime = Runtime::new().unwrap();
    let entry = |n: u64, extra: Option<(&str, &str)>| {
        let mut fields = vec![
            ("service".to_owned(), b"count".to_vec()),
            ("job-id".to_owned(), format!("job-{n}").into_bytes()),
            ("payload".to_owned(), b"{}".to_vec()),
        ];
        if let Some((name, value)) = extra {
            fields.push((name.to_owned(), value.as_bytes().to_vec()));
        }
        Entry {
            stream: "jobs".to_owned(),
            id: EntryId::parse(&format!("1700000000000-{n}")).unwrap(),
            fields: switchyard::pipeline::job::fields_of(fields),
            deliveries: 1,
        }
    };
    let field = |settlement: &switchyard::pipeline::settle::Settlement, name: &str| {
        let write = &settlement.writes()[0];
        write
            .fields
            .iter()
            .find(|(n, _)| &n[..] == name)
            .map(|(_, v)| String::from_utf8_lossy(&v[..]).into_owned())
    };
    let decided = |isolation: &str| -> Vec<(String, Option<String>)> {
        let config = crate::harness::daemon::slivka_config(dir.path(), url, "", &route(isolation));
        let settings = Settings::load(&config, None, Some("isolation".into())).unwrap();
        let snapshot = Snapshot::build(&runtime, &settings, None).unwrap();
        let mut deciding = Deciding::new(&snapshot, &settings.consumer);
        [None, None, Some(("crash", "boom")), None, None]
            .into_iter()
            .enumerate()
            .map(|(n, extra)| {
                let settlement = deciding.decide(entry(n as u64, extra));
                let stream = settlement.writes()[0].stream.clone();
                if stream == "jobs:dead" {
                    let reason = field(&settlement, "switchyard-reason").unwrap_or_default();
                    assert!(reason.contains("boom"), "entry {n}: {reason}");
                }
                (stream, field(&settlement, "count"))
            })
            .collect()
    };
    let count = |n: &str| ("queue:local".to_owned(), Some(n.to_owned()));
    assert_eq!(
        decided("batch"),
        [
            count("1"),
            count("2"),
            ("jobs:dead".to_owned(), None),
            count("1"),
            count("2")
        ],
        "one instance for the batch, a fresh one after the trap"
    );
    assert_eq!(
        decided("job"),
        [
            count("1"),
            count("1"),
            ("jobs:dead".to_owned(), None),
            count("1"),
            count("1")
        ]
    );
}

#[test]
fn a_prepare_that_fails_refuses_its_config_or_leaves_stdout_open_is_refused_at_load() {
    let runtime = Runtime::new().unwrap();
    let path = plugin_path("fixture-counter");
    let refusal = |mode: &str| {
        Plugin::load(
            &runtime,
            "fixture-counter",
            &path,
            with_config(&[("prepare", mode)]),
        )
        .expect_err("this prepare must be refused")
    };

    let printed = refusal("print");
    assert!(matches!(printed, LoadError::Load { .. }), "{printed:?}");
    let message = printed.to_string();
    assert!(message.contains("fixture-counter.wasm"), "{message}");
    assert!(
        message.contains("prepare left a WASI resource open"),
        "{message}"
    );

    let panicked = refusal("panic");
    let message = panicked.to_string();
    assert!(matches!(panicked, LoadError::Load { .. }), "{message}");
    assert!(message.contains("fixture-counter.wasm"), "{message}");
    assert!(
        message.contains("its prepare failed") && message.contains("counter refuses to prepare"),
        "{message}"
    );

    let refused = refusal("refuse");
    assert_eq!(refused.kind(), "config", "{refused:?}");
    assert_eq!(
        refused.to_string(),
        "plugin fixture-counter: config prepare: refused as asked"
    );
}

#[test]
fn host_survives_and_keeps_running_plugins() {
    let runtime = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    assert_good_plugin_answers(&runtime, "nothing");

    assert!(matches!(spin_job_fails(&runtime), Fault::Deadline { .. }));
    assert_good_plugin_answers(&runtime, "a deadline");

    assert!(matches!(memory_bomb_fails(&runtime), Fault::Memory { .. }));
    assert_good_plugin_answers(&runtime, "a memory limit");

    assert!(matches!(panic_fails(&runtime), Fault::Trap { .. }));
    assert_good_plugin_answers(&runtime, "a panic");

    assert!(matches!(
        undeclared_target_fails(&runtime),
        Fault::BadOutput { .. }
    ));
    assert_good_plugin_answers(&runtime, "an undeclared target");

    assert!(matches!(
        wrong_world_fails(&runtime),
        LoadError::WrongWorld { .. }
    ));
    assert_good_plugin_answers(&runtime, "a wrong world");

    assert!(matches!(
        load_bytes(&runtime, dir.path(), "noise.wasm", &noise(1024)),
        LoadError::Load { .. }
    ));
    assert_good_plugin_answers(&runtime, "a file that is not a component");

    // Failures in a row, then good calls, all in the same runtime.
    for _ in 0..3 {
        assert!(matches!(spin_job_fails(&runtime), Fault::Deadline { .. }));
        assert!(matches!(panic_fails(&runtime), Fault::Trap { .. }));
    }
    assert_good_plugin_answers(&runtime, "repeated failures");
}

#[test]
fn environment_and_network_are_denied() {
    let runtime = Runtime::new().unwrap();
    let probe = load(&runtime, "fixture-env-probe", PluginSettings::default());
    assert_eq!(probe_report(&probe), "env=0 net=denied stdin=empty");

    // Granted variables, and only those, are visible.
    let settings = PluginSettings {
        grants: Grants {
            env: vec![("SLIVKA_HOME".into(), "/srv/slivka".into())],
            ..Default::default()
        },
        ..Default::default()
    };
    let probe = load(&runtime, "fixture-env-probe", settings);
    assert_eq!(probe_report(&probe), "env=1 net=denied stdin=empty");
}

/// The extra fields fixture-clock dispatched with.
fn clock_report(clock: &Plugin) -> Result<std::collections::HashMap<String, String>, Fault> {
    let decision = clock.route(&any_job(), "test-job", None)?;
    match decision {
        Decision::Dispatch(targets) => Ok(targets[0].extra_fields.iter().cloned().collect()),
        other => panic!("fixture-clock dispatches, got {other:?}"),
    }
}

#[test]
fn clocks_stand_still_unless_granted() {
    let runtime = Runtime::new().unwrap();
    let clock = load(&runtime, "fixture-clock", PluginSettings::default());
    let seen = clock_report(&clock).unwrap();
    assert_eq!(
        seen["wall"], "0",
        "the wall clock reads the epoch: {seen:?}"
    );
    assert_eq!(seen["monotonic-advanced"], "no", "{seen:?}");

    let settings = PluginSettings {
        grants: Grants {
            clocks: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let clock = load(&runtime, "fixture-clock", settings);
    let seen = clock_report(&clock).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let wall: u64 = seen["wall"].parse().unwrap();
    assert!(
        now.abs_diff(wall) < 60,
        "granted, the wall clock is the host's: {seen:?}"
    );
    assert_eq!(seen["monotonic-advanced"], "yes", "{seen:?}");
}

/// A plugin that sleeps is waiting in the host, where no epoch check runs:
/// the sleep must still end at the deadline, as a deadline error.
#[test]
fn a_sleep_cannot_outlast_the_deadline() {
    let runtime = Runtime::new().unwrap();
    for clocks in [false, true] {
        let mut settings = with_config(&[("sleep-ms", "600000")]);
        settings.limits.deadline = Duration::from_millis(50);
        settings.grants.clocks = clocks;
        let clock = load(&runtime, "fixture-clock", settings);
        match clock_report(&clock) {
            Err(Fault::Deadline { limit_ms, .. }) => assert_eq!(limit_ms, 50),
            other => panic!("a 10-minute sleep must end as a deadline error, got {other:?}"),
        }
    }
}

/// What fixture-env-probe saw: the message of the one error it reports.
fn probe_report(probe: &Plugin) -> String {
    match answer(probe, &any_job(), None) {
        Ok(Answer::Invalid(errors)) if errors.len() == 1 && errors[0].field == "env" => {
            errors[0].message.clone()
        }
        other => panic!("fixture-env-probe should report one error on field env, got {other:?}"),
    }
}

#[test]
fn check_names_the_worlds() {
    for (name, world) in [("slivka-form", "validator"), ("fasta-size", "router")] {
        let path = plugin_path(name);
        let output = run_switchyard(&["check", path.to_str().unwrap()], "");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "check {name} failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains(&format!("satisfies {world}")),
            "{name}: {stdout}"
        );
        assert!(
            stdout.contains("prepare: ran once at load"),
            "{name}: {stdout}"
        );
    }
}

#[test]
fn check_shows_a_refused_config_naming_the_key_and_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.service.yaml");
    std::fs::write(&file, "name: x\nrefuse: not a number\n").unwrap();
    let path = plugin_path("fixture-services");
    let config = format!("service.x=@{}", file.display());
    let output = run_switchyard(&["check", path.to_str().unwrap(), "--config", &config], "");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!(
            "error: plugin fixture-services: config service.x ({}): line 2: not a number",
            file.display()
        )
    );
    // The same value given inline names no file.
    let output = run_switchyard(
        &[
            "check",
            path.to_str().unwrap(),
            "--config",
            "service.x=refuse: no",
        ],
        "",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim(),
        "error: plugin fixture-services: config service.x: line 1: no"
    );
}

#[test]
fn check_refuses_wrong_world() {
    let path = plugin_path("fixture-wrong-world");
    let output = run_switchyard(&["check", path.to_str().unwrap()], "");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("fixture-wrong-world.wasm"), "{stderr}");
    assert!(stderr.contains("WASI command"), "{stderr}");
}

#[test]
fn try_reports_deadline_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let job_file = dir.path().join("job.json");
    std::fs::write(&job_file, r#"{"service": "clustalo", "payload": "{}"}"#).unwrap();
    let spin = plugin_path("fixture-spin");
    let (code, json, stderr) = run_try(&[
        "--deadline-ms",
        "50",
        spin.to_str().unwrap(),
        job_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "stderr: {stderr}");
    assert_eq!(json["error"]["kind"], "deadline", "{json}");
    assert!(
        json["error"]["message"].as_str().unwrap().contains("50 ms"),
        "{json}"
    );
}
