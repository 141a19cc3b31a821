//! Hot reload against the real binary: the router is swapped under load
//! between two builds, bad files and bad configs leave routing on the last
//! good snapshot, and config edits take effect without a restart. A plugin
//! that refuses its config stops the start, and on a reload leaves the
//! running plugin in place; either way the error names the file.
//!
//! Swap latencies are printed (run with `--nocapture`), not asserted: timing
//! claims live in figures, not in timed asserts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::harness::daemon::*;
use crate::harness::{RedisServer, plugin_path};

/// How long a reload may take before the test gives up on it.
const RELOAD_TIMEOUT: Duration = Duration::from_secs(20);

/// A config whose one route sends every job of `jobs` through `swap.wasm`
/// in `dir/plugins`.
fn swap_config(dir: &Path, redis_url: &str, routes: &str) -> PathBuf {
    let text = format!(
        r#"
[redis]
url = "{redis_url}"
[consumer]
group = "{GROUP}"
batch = 64
[plugins]
dir = "plugins"
deadline-ms = 1000
{routes}
"#
    );
    let path = dir.join("switchyard.toml");
    std::fs::write(&path, text).unwrap();
    path
}

const SWAP_ROUTE: &str = r#"
[[routes]]
name = "all"
source = "jobs"
router = "swap"
targets = ["queue:local", "queue:default"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#;

/// A route that sends what `SWAP_ROUTE` dispatched back to its source.
const LOOP_ROUTE: &str = r#"
[[routes]]
name = "back"
source = "queue:default"
router = "swap"
targets = ["jobs"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#;

#[test]
fn a_routing_loop_is_refused_at_start_naming_the_routes() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path());
    std::fs::copy(plugin_path("fixture-swap-local"), plugins.join("swap.wasm")).unwrap();
    let redis = RedisServer::start();
    let routes = format!("{SWAP_ROUTE}{LOOP_ROUTE}");
    let config = swap_config(dir.path(), &redis.url(), &routes);
    let mut daemon = Daemon::start(&config, "looped");
    let refused = wait_until(Duration::from_secs(20), || {
        daemon.log().contains("routes form a loop")
    });
    let log = daemon.log();
    let status = daemon.terminate();
    assert!(refused, "a loop must be refused at start; log:\n{log}");
    assert!(!status.success(), "and the daemon must exit non-zero");
    assert!(
        log.contains("switchyard.toml: routes form a loop")
            && log.contains("route `all` reads `jobs`")
            && log.contains("route `back` reads `queue:default`"),
        "{log}"
    );
}

fn plugin_dir(dir: &Path) -> PathBuf {
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    plugins
}

fn version(bytes: &[u8]) -> String {
    format!("swap@{}", &hex::encode(Sha256::digest(bytes))[..8])
}

/// The four ways files get replaced in practice.
fn replace(path: &Path, bytes: &[u8], how: usize) -> &'static str {
    match how % 4 {
        0 => {
            std::fs::write(path, bytes).unwrap();
            "written in place"
        }
        1 => {
            let tmp = path.with_extension("wasm.tmp");
            std::fs::write(&tmp, bytes).unwrap();
            std::fs::rename(&tmp, path).unwrap();
            "written then renamed"
        }
        2 => {
            use std::io::Write;
            let mut file = std::fs::File::create(path).unwrap();
            for chunk in bytes.chunks(bytes.len() / 4 + 1) {
                file.write_all(chunk).unwrap();
                file.flush().unwrap();
                std::thread::sleep(Duration::from_millis(40));
            }
            "copied in several writes"
        }
        _ => {
            std::fs::remove_file(path).unwrap();
            std::thread::sleep(Duration::from_millis(60));
            std::fs::write(path, bytes).unwrap();
            "deleted and re-created"
        }
    }
}

fn count(log: &str, needle: &str) -> usize {
    log.matches(needle).count()
}

#[test]
fn swapping_the_router_under_load_routes_every_job_exactly_once() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path());
    let builds = [
        std::fs::read(plugin_path("fixture-swap-local")).unwrap(),
        std::fs::read(plugin_path("fixture-swap-cluster")).unwrap(),
    ];
    let streams = ["queue:local", "queue:default"];
    let swap = plugins.join("swap.wasm");
    std::fs::write(&swap, &builds[0]).unwrap();
    let config = swap_config(dir.path(), &redis.url(), SWAP_ROUTE);
    let daemon = Daemon::start(&config, "swapper");

    // A producer sends jobs steadily until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let producer = {
        let (stop, sent, url) = (stop.clone(), sent.clone(), redis.url());
        std::thread::spawn(move || {
            let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) || n < 20_000 {
                let jobs: Vec<Fields> = (n..n + 100).map(|i| job_of(Kind::Local, i)).collect();
                push(&mut conn, SOURCE, &jobs);
                n += 100;
                sent.store(n, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };

    let mut conn = redis.connection();
    assert!(
        wait_until(RELOAD_TIMEOUT, || xlen(&mut conn, "queue:local") > 0),
        "log:\n{}",
        daemon.log()
    );
    let mut latencies = Vec::new();
    for swap_number in 1..=10 {
        let build = swap_number % 2;
        let before = xlen(&mut conn, streams[build]);
        let started = Instant::now();
        let how = replace(&swap, &builds[build], swap_number);
        let written = Instant::now();
        let switched = wait_until(RELOAD_TIMEOUT, || xlen(&mut conn, streams[build]) > before);
        assert!(
            switched,
            "swap {swap_number} ({how}) never took effect; log:\n{}",
            daemon.log()
        );
        let latency = written.elapsed();
        eprintln!(
            "swap {swap_number:2} to {:13} ({how:24}): write took {:4} ms, first job on the new build {:4} ms after the write",
            streams[build],
            (written - started).as_millis(),
            latency.as_millis()
        );
        latencies.push(latency);
        std::thread::sleep(Duration::from_millis(300));
    }
    stop.store(true, Ordering::Relaxed);
    producer.join().unwrap();
    let total = sent.load(Ordering::Relaxed) as usize;
    assert!(
        wait_until(Duration::from_secs(120), || settled(&mut conn) >= total
            && pending(&mut conn) == 0),
        "settled {} of {total}",
        settled(&mut conn)
    );
    assert_exactly_once(&mut conn, total);
    assert_eq!(xlen(&mut conn, REJECTED) + xlen(&mut conn, DEAD), 0);

    // Each job names exactly one version, and that version's build routed it.
    let versions = [version(&builds[0]), version(&builds[1])];
    for (build, stream) in streams.iter().enumerate() {
        for entry in entries(&mut conn, stream) {
            assert_eq!(entry["switchyard-plugins"], versions[build], "{entry:?}");
            assert_eq!(entry["build"], stream.trim_start_matches("queue:"));
        }
    }
    latencies.sort();
    eprintln!(
        "{total} jobs, 10 swaps: swap latency min {} ms, median {} ms, max {} ms",
        latencies[0].as_millis(),
        latencies[latencies.len() / 2].as_millis(),
        latencies[latencies.len() - 1].as_millis()
    );
}

/// Sends one job and returns the stream it ended in.
fn route_one(conn: &mut redis::Connection, n: u64) -> String {
    let before: HashMap<&str, usize> = [
        "queue:local",
        "queue:default",
        "queue:mafft",
        DEAD,
        REJECTED,
    ]
    .into_iter()
    .map(|s| (s, xlen(conn, s)))
    .collect();
    push(conn, SOURCE, &[job_of(Kind::Local, n)]);
    let mut landed = None;
    assert!(wait_until(RELOAD_TIMEOUT, || {
        landed = before
            .iter()
            .find(|(s, n)| xlen(conn, s) > **n)
            .map(|(s, _)| s.to_string());
        landed.is_some()
    }));
    landed.unwrap()
}

/// Writes `bytes` to `path` and waits for the daemon to log a failed reload
/// whose line contains `expect`.
fn write_and_expect_failed_reload(
    daemon: &Daemon,
    path: &Path,
    bytes: &[u8],
    what: &str,
    expect: &str,
) {
    let failures = count(&daemon.log(), "reload failed");
    std::fs::write(path, bytes).unwrap();
    assert!(
        wait_until(RELOAD_TIMEOUT, || count(&daemon.log(), "reload failed")
            > failures),
        "{what}: no failed reload logged; log:\n{}",
        daemon.log()
    );
    let log = daemon.log();
    let line = log.lines().rfind(|l| l.contains("reload failed")).unwrap();
    assert!(line.contains(expect), "{what}: {line}");
}

#[test]
fn bad_reloads_keep_the_last_good_snapshot_until_a_good_write() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path());
    let local = std::fs::read(plugin_path("fixture-swap-local")).unwrap();
    let cluster = std::fs::read(plugin_path("fixture-swap-cluster")).unwrap();
    let swap = plugins.join("swap.wasm");
    std::fs::write(&swap, &local).unwrap();
    let config = swap_config(dir.path(), &redis.url(), SWAP_ROUTE);
    let good_config = std::fs::read_to_string(&config).unwrap();
    let daemon = Daemon::start(&config, "careful");
    let mut conn = redis.connection();
    let mut n = 0;
    assert_eq!(route_one(&mut conn, n), "queue:local");

    let wrong_world = std::fs::read(plugin_path("fixture-wrong-world")).unwrap();
    let cases: [(&str, Vec<u8>, &str); 3] = [
        (
            "truncated",
            cluster[..cluster.len() / 2].to_vec(),
            "swap.wasm",
        ),
        (
            "corrupt",
            b"\0asm\x0d\0\x01\0garbage garbage garbage".to_vec(),
            "swap.wasm",
        ),
        ("wrong world", wrong_world, "WASI command"),
    ];
    for (what, bytes, expect) in cases {
        write_and_expect_failed_reload(&daemon, &swap, &bytes, what, expect);
        n += 1;
        assert_eq!(
            route_one(&mut conn, n),
            "queue:local",
            "{what}: routing must stay on the old build"
        );
    }
    std::fs::write(&swap, &cluster).unwrap();
    assert!(wait_until(RELOAD_TIMEOUT, || {
        n += 1;
        route_one(&mut conn, n) == "queue:default"
    }));

    let config_cases = [
        (
            "syntax error",
            good_config.replace("[[routes]]", "[[routes]\n"),
            "switchyard.toml:",
        ),
        (
            "missing plugin",
            good_config.replace("router = \"swap\"", "router = \"nope\""),
            "nope.wasm",
        ),
        (
            "routing loop",
            format!("{good_config}{LOOP_ROUTE}"),
            "routes form a loop",
        ),
    ];
    for (what, text, expect) in config_cases {
        write_and_expect_failed_reload(&daemon, &config, text.as_bytes(), what, expect);
        n += 1;
        assert_eq!(
            route_one(&mut conn, n),
            "queue:default",
            "{what}: routing must stay on the old snapshot"
        );
    }
    // The syntax error says where.
    assert!(
        daemon.log().lines().any(|l| l.contains("reload failed")
            && l.contains("switchyard.toml:")
            && l.contains(":1")),
        "log:\n{}",
        daemon.log()
    );
    let reloads = count(&daemon.log(), "reloaded:");
    std::fs::write(&config, &good_config).unwrap();
    assert!(wait_until(RELOAD_TIMEOUT, || count(
        &daemon.log(),
        "reloaded:"
    ) > reloads));
    n += 1;
    assert_eq!(route_one(&mut conn, n), "queue:default");
}

#[test]
fn config_edits_take_effect_without_a_restart() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path());
    std::fs::copy(plugin_path("fixture-swap-local"), plugins.join("swap.wasm")).unwrap();
    std::fs::copy(
        plugin_path("fixture-echo-target"),
        plugins.join("echo.wasm"),
    )
    .unwrap();
    let clustalo = SWAP_ROUTE.replace(
        "name = \"all\"",
        "name = \"clustalo\"\nmatch = { service = \"clustalo\" }",
    );
    let config = swap_config(dir.path(), &redis.url(), &clustalo);
    let daemon = Daemon::start(&config, "editor");
    let mut conn = redis.connection();

    let job = |conn: &mut redis::Connection, service: &str, n: u64| {
        let mut fields = job_of(Kind::Local, n);
        fields[0].1 = service.as_bytes().to_vec();
        let before = settled(conn) + xlen(conn, "queue:mafft");
        push(conn, SOURCE, &[fields]);
        assert!(wait_until(RELOAD_TIMEOUT, || settled(conn)
            + xlen(conn, "queue:mafft")
            > before));
        status(conn, &job_id(n))
    };
    let edit = |text: String| {
        let reloads = count(&daemon.log(), "reloaded:");
        std::fs::write(&config, text).unwrap();
        assert!(
            wait_until(RELOAD_TIMEOUT, || count(&daemon.log(), "reloaded:")
                > reloads),
            "no reload; log:\n{}",
            daemon.log()
        );
    };

    assert_eq!(job(&mut conn, "mafft", 1)["error"], "no-route");

    // Add a route.
    let mafft = r#"
[plugin.echo.config]
target = "queue:mafft"
[[routes]]
name = "mafft"
source = "jobs"
match = { service = "mafft" }
router = "echo"
targets = ["queue:mafft"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#;
    edit(format!(
        "{}{mafft}",
        std::fs::read_to_string(&config).unwrap()
    ));
    assert_eq!(job(&mut conn, "mafft", 2)["targets"], "queue:mafft");

    // Change a match.
    let text = std::fs::read_to_string(&config).unwrap();
    edit(text.replace("service = \"clustalo\"", "service = \"jpred\""));
    assert_eq!(job(&mut conn, "clustalo", 3)["error"], "no-route");
    assert_eq!(job(&mut conn, "jpred", 4)["targets"], "queue:local");

    // Change the allowed targets: the router's choice is no longer allowed.
    let text = std::fs::read_to_string(&config).unwrap();
    edit(text.replacen(
        "targets = [\"queue:local\", \"queue:default\"]",
        "targets = [\"queue:default\"]",
        1,
    ));
    let record = job(&mut conn, "jpred", 5);
    assert_eq!(record["error"], "bad-output", "{record:?}");
    assert!(record["reason"].contains("queue:local"), "{record:?}");
}

/// A config whose route `x` goes through the `services` fixture, which
/// reads `service.x` from `dir/x.service.yaml`.
fn refusable_config(dir: &Path, redis_url: &str) -> PathBuf {
    let routes = r#"
[plugin.fixture-services.config]
target-pattern = "queue:{service}:{runner}"
[plugin.fixture-services.config-files]
"service.x" = "x.service.yaml"
[[routes]]
name = "x"
source = "jobs"
match = { service = "x" }
validators = ["fixture-services"]
router = "fixture-services"
targets = ["queue:x:local"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#;
    let config = swap_config(dir, redis_url, routes);
    let plugins = crate::harness::repo_root().join("target/plugins");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "dir = \"plugins\"",
        &format!("dir = \"{}\"", plugins.display()),
    );
    std::fs::write(&config, text).unwrap();
    config
}

/// Sends job `n` of service `x` and returns where it went once settled.
fn route_x(conn: &mut redis::Connection, daemon: &Daemon, n: u64) -> HashMap<String, String> {
    let fields: Fields = [("service", "x"), ("job-id", &job_id(n)), ("payload", "{}")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect();
    push(conn, SOURCE, &[fields]);
    let settled = wait_until(RELOAD_TIMEOUT, || {
        let record = status(conn, &job_id(n));
        record.contains_key("targets") || record.contains_key("error")
    });
    assert!(settled, "job {n} not settled; log:\n{}", daemon.log());
    status(conn, &job_id(n))
}

#[test]
fn a_config_refused_at_start_fails_it_naming_the_plugin_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start();
    let config = refusable_config(dir.path(), &redis.url());
    let file = dir.path().join("x.service.yaml");
    std::fs::write(&file, "name: x\nrefuse: not a number\n").unwrap();
    let mut daemon = Daemon::start(&config, "refused");
    let expected = format!(
        "plugin fixture-services: config service.x ({}): line 2: not a number",
        file.display()
    );
    let said = wait_until(RELOAD_TIMEOUT, || daemon.log().contains(&expected));
    let log = daemon.log();
    let status = daemon.terminate();
    assert!(said, "the start must fail with `{expected}`; log:\n{log}");
    assert!(!status.success(), "and the daemon must exit non-zero");
}

#[test]
fn a_config_refused_on_reload_keeps_the_running_plugin_routing() {
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start();
    let config = refusable_config(dir.path(), &redis.url());
    let file = dir.path().join("x.service.yaml");
    std::fs::write(&file, "name: x\n").unwrap();
    let daemon = Daemon::start(&config, "kept");
    let mut conn = redis.connection();
    assert_eq!(route_x(&mut conn, &daemon, 1)["targets"], "queue:x:local");

    let failures = count(&daemon.log(), "reload failed");
    std::fs::write(&file, "name: x\n\nrefuse: changed my mind\n").unwrap();
    let expected = format!(
        "plugin fixture-services: config service.x ({}): line 3: changed my mind",
        file.display()
    );
    let refused = wait_until(RELOAD_TIMEOUT, || {
        count(&daemon.log(), "reload failed") > failures
    });
    let log = daemon.log();
    assert!(refused, "the refusal must fail the reload; log:\n{log}");
    let line = log.lines().rfind(|l| l.contains("reload failed")).unwrap();
    assert!(line.contains(&expected), "`{expected}` in:\n{line}");

    for n in 2..5 {
        let record = route_x(&mut conn, &daemon, n);
        assert_eq!(record["targets"], "queue:x:local", "{record:?}");
    }
    assert_eq!(xlen(&mut conn, "queue:x:local"), 4);
}
