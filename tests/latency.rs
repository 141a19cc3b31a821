//! Latency inside the daemon: a job is settled as soon as it is decided, not
//! when the last job of its batch is, and a batch is spread over the
//! workers, so one slow job holds back neither the jobs decided before it on
//! its worker nor those on the other workers. (How fast is the bench's
//! business: `switchyard-bench --latency-only`; these tests assert what
//! happens, not how long it takes.)

use std::time::Duration;

use crate::harness::RedisServer;
use crate::harness::daemon::*;

/// A route whose router spins until its deadline of 5 s: a job that takes
/// far longer to decide than any other.
const SLOW_ROUTE: &str = r#"
[plugin.fixture-spin]
deadline-ms = 5000

[[routes]]
name = "slow"
source = "jobs"
match = { service = "slow" }
router = "fixture-spin"
targets = ["queue:local"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#;

fn slow_job(n: u64) -> Fields {
    let mut fields = job_of(Kind::Local, n);
    fields[0].1 = b"slow".to_vec();
    fields
}

/// Starts a daemon with `workers` on `jobs` preloaded (so the first read
/// takes them all as one batch), waits until `dispatched` of them are in
/// `queue:local` while the slow one is still being decided, then until all
/// are settled exactly once, the slow one as a deadline dead letter.
fn dispatched_beside_a_slow_job(workers: usize, jobs: &[Fields], dispatched: usize) {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let consumer = format!("batch = 64\nworkers = {workers}");
    let config = slivka_config(dir.path(), &redis.url(), &consumer, SLOW_ROUTE);
    let mut conn = redis.connection();
    push(&mut conn, SOURCE, jobs);
    let daemon = Daemon::start(&config, "quick");

    assert!(
        wait_until(Duration::from_secs(60), || xlen(&mut conn, "queue:local")
            >= dispatched),
        "only {} of {dispatched} dispatched; log:\n{}",
        xlen(&mut conn, "queue:local"),
        daemon.log()
    );
    assert_eq!(
        xlen(&mut conn, DEAD),
        0,
        "the slow job was decided before the others were dispatched; log:\n{}",
        daemon.log()
    );
    assert!(pending(&mut conn) >= 1, "the slow job is still pending");

    wait_settled(&mut conn, jobs.len(), &daemon);
    assert_exactly_once(&mut conn, jobs.len());
    let dead = entries(&mut conn, DEAD);
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["service"], "slow");
    assert_eq!(dead[0]["switchyard-error"], "deadline", "{dead:?}");
}

#[test]
fn jobs_decided_before_a_slow_one_on_its_worker_are_dispatched_without_waiting_for_it() {
    // One worker: the slow job is the batch's last; the ten before it are
    // settled while it spins.
    let mut jobs: Vec<Fields> = (0..10).map(|n| job_of(Kind::Local, n)).collect();
    jobs.push(slow_job(99));
    dispatched_beside_a_slow_job(1, &jobs, 10);
}

#[test]
fn a_batch_is_spread_over_the_workers_so_a_slow_first_job_holds_back_only_its_own_chunk() {
    // Two workers: the slow job is the first of a batch of 16, so the
    // worker that takes it (with the next 7) decides nothing else for 5 s;
    // the other worker's half of the batch (8 jobs) is dispatched meanwhile.
    let mut jobs = vec![slow_job(99)];
    jobs.extend((0..15).map(|n| job_of(Kind::Local, n)));
    dispatched_beside_a_slow_job(2, &jobs, 8);
}
