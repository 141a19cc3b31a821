//! `[slivka]` against the real binary: a directory of slivka service files
//! becomes one route per service, routed to the runners' streams; a service
//! file added or removed while the daemon runs adds or removes its route;
//! a service file a plugin refuses stops the start, naming the file.
//!
//! The plugin is the `services` fixture, which validates and routes by
//! exactly what the section gives it (`service.<id>`, `target-pattern`), so
//! these tests see the section's work, not a form's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::RedisServer;
use crate::harness::daemon::*;

/// How long a reload or a job may take before the test gives up on it.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Two runners, in this order.
const LOCAL_AND_DEFAULT: &str = "\
slivka-version: 0.8.5b5
name: A
execution:
  runners:
    local:
      type: ShellRunner
    default:
      type: SlivkaQueueRunner
";

/// One runner.
const CLUSTER: &str = "\
execution:
  runners:
    cluster:
      type: SlivkaQueueRunner
";

/// `dir/switchyard.toml`, whose only routes come from `[slivka]` over
/// `dir/services`, through the `services` fixture.
fn config(dir: &Path, redis_url: &str) -> PathBuf {
    let text = format!(
        r#"
[redis]
url = "{redis_url}"
[consumer]
group = "{GROUP}"
batch = 16
[plugins]
dir = "{plugins}"
deadline-ms = 1000
[slivka]
services = "services"
source = "jobs"
validators = ["fixture-services"]
router = "fixture-services"
target-pattern = "queue:{{service}}:{{runner}}"
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#,
        plugins = repo().join("target/plugins").display(),
    );
    let path = dir.join("switchyard.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `dir/services`, created.
fn services(dir: &Path) -> PathBuf {
    let services = dir.join("services");
    std::fs::create_dir_all(&services).unwrap();
    services
}

/// Sends job `n` of `service` asking for `runner`, and returns its status
/// record once the daemon has settled it.
fn route(
    conn: &mut redis::Connection,
    daemon: &Daemon,
    n: u64,
    service: &str,
    runner: &str,
) -> HashMap<String, String> {
    let fields: Fields = [
        ("service", service),
        ("runner", runner),
        ("job-id", &job_id(n)),
        ("payload", "{\"inputs\": {}}"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
    .collect();
    push(conn, SOURCE, &[fields]);
    let settled = wait_until(TIMEOUT, || {
        let record = status(conn, &job_id(n));
        record.contains_key("targets") || record.contains_key("error")
    });
    assert!(settled, "job {n} not settled; log:\n{}", daemon.log());
    status(conn, &job_id(n))
}

/// Applies `change` to the files, then waits for the daemon to reload.
fn reloaded_after(daemon: &Daemon, change: impl FnOnce()) {
    let before = daemon.log().matches("reloaded:").count();
    change();
    let reloaded = wait_until(TIMEOUT, || {
        daemon.log().matches("reloaded:").count() > before
    });
    assert!(reloaded, "no reload; log:\n{}", daemon.log());
}

#[test]
fn each_service_file_routes_to_its_runners_and_files_added_or_removed_while_running_count() {
    let dir = tempfile::tempdir().unwrap();
    let services = services(dir.path());
    std::fs::write(services.join("aligner.service.yaml"), LOCAL_AND_DEFAULT).unwrap();
    std::fs::write(services.join("folder.service.yml"), CLUSTER).unwrap();
    std::fs::write(services.join("README.md"), "not a service").unwrap();
    let redis = RedisServer::start();
    let daemon = Daemon::start(&config(dir.path(), &redis.url()), "services");
    let mut conn = redis.connection();

    let record = route(&mut conn, &daemon, 1, "aligner", "default");
    assert_eq!(record["targets"], "queue:aligner:default", "{record:?}");
    let record = route(&mut conn, &daemon, 2, "folder", "cluster");
    assert_eq!(record["targets"], "queue:folder:cluster", "{record:?}");
    let entry = &entries(&mut conn, "queue:folder:cluster")[0];
    assert_eq!(entry["job-id"], job_id(2));
    // A runner the service file does not declare is not a target.
    let record = route(&mut conn, &daemon, 3, "folder", "local");
    assert_eq!(record["error"], "bad-output", "{record:?}");
    // A service with no file has no route.
    let record = route(&mut conn, &daemon, 4, "predictor", "local");
    assert_eq!(record["error"], "no-route", "{record:?}");

    reloaded_after(&daemon, || {
        std::fs::write(services.join("predictor.service.yaml"), LOCAL_AND_DEFAULT).unwrap();
    });
    let record = route(&mut conn, &daemon, 5, "predictor", "local");
    assert_eq!(record["targets"], "queue:predictor:local", "{record:?}");

    reloaded_after(&daemon, || {
        std::fs::remove_file(services.join("folder.service.yml")).unwrap();
    });
    let record = route(&mut conn, &daemon, 6, "folder", "cluster");
    assert_eq!(record["error"], "no-route", "{record:?}");
    let record = route(&mut conn, &daemon, 7, "aligner", "local");
    assert_eq!(record["targets"], "queue:aligner:local", "{record:?}");
}

#[test]
fn a_service_file_the_plugin_refuses_stops_the_start_naming_the_file_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let services = services(dir.path());
    std::fs::write(services.join("aligner.service.yaml"), LOCAL_AND_DEFAULT).unwrap();
    let refused = format!("{CLUSTER}refuse: parameters.iterations.max is not a number\n");
    std::fs::write(services.join("folder.service.yaml"), refused).unwrap();
    let redis = RedisServer::start();
    let mut daemon = Daemon::start(&config(dir.path(), &redis.url()), "refused");
    let expected = format!(
        "plugin fixture-services: config service.folder ({}): line 5: \
         parameters.iterations.max is not a number",
        services.join("folder.service.yaml").display()
    );
    let said = wait_until(TIMEOUT, || daemon.log().contains(&expected));
    let log = daemon.log();
    let status = daemon.terminate();
    assert!(said, "the start must fail with `{expected}`; log:\n{log}");
    assert!(!status.success(), "and the daemon must exit non-zero");
    assert!(!log.contains("snapshot loaded"), "{log}");
}
