//! switchyard behind Redis Sentinel: a master, a replica and three
//! sentinels on loopback (`redis-server --sentinel`, the same binary as
//! Debian's `redis-sentinel`). Two daemons route a known mix while the
//! master is failed over, first gracefully (`SENTINEL FAILOVER`), then by
//! force (the new master killed -9); after each, every job is settled
//! exactly once on the master the sentinels name, and retention, asking
//! the sentinels, trims the source there. And `[redis]
//! replica-acks`: settles wait for a replica, and a missing one is counted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::daemon::{
    Daemon, GROUP, SLIVKA_ROUTE, assert_exactly_once, mixed_job, pending, push, settled,
    wait_until, write_config, xlen,
};
use crate::harness::sentinel::{
    MASTER, Process, connect, is_master, master_port, sentinel, server,
};

const TIMEOUT: Duration = Duration::from_secs(90);

/// The mix's jobs `from..to`.
fn mix(from: u64, to: u64) -> Vec<Vec<(String, Vec<u8>)>> {
    (from..to).map(|i| mixed_job(i).1).collect()
}

fn config(dir: &Path, sentinels: &[u16]) -> PathBuf {
    let list: Vec<String> = sentinels
        .iter()
        .map(|p| format!("\"127.0.0.1:{p}\""))
        .collect();
    let redis = format!("sentinels = [{}]\nmaster = \"{MASTER}\"", list.join(", "));
    // Entries pending with a daemon that lost them in a failover are taken
    // over after 2 s.
    write_config(dir, &redis, "batch = 64\nclaim-idle = \"2s\"", SLIVKA_ROUTE)
}

#[test]
fn daemons_follow_the_master_through_a_graceful_and_a_forced_failover_and_settle_every_job_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = server(dir.path(), None);
    let second = server(dir.path(), Some(first.port));
    let sentinels: Vec<Process> = (0..3).map(|_| sentinel(dir.path(), first.port)).collect();
    let ports: Vec<u16> = sentinels.iter().map(|s| s.port).collect();
    // The sentinels know the master, its replica and each other.
    assert!(
        wait_until(Duration::from_secs(30), || ports.iter().all(|&s| {
            connect(s)
                .and_then(|mut c| {
                    redis::cmd("SENTINEL")
                        .arg("ckquorum")
                        .arg(MASTER)
                        .query::<String>(&mut c)
                })
                .is_ok()
                && connect(s)
                    .and_then(|mut c| {
                        redis::cmd("SENTINEL")
                            .arg("replicas")
                            .arg(MASTER)
                            .query::<Vec<redis::Value>>(&mut c)
                    })
                    .is_ok_and(|r| !r.is_empty())
        })),
        "the sentinels did not settle"
    );

    // Phase 1: a graceful failover while two daemons route.
    let n1 = 6000u64;
    let mut master = connect(first.port).unwrap();
    push(&mut master, "jobs", &mix(0, n1));
    // Every job is on the replica before the failover starts.
    let copies: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(5000)
        .query(&mut master)
        .unwrap();
    assert_eq!(copies, 1, "the replica has every job");
    let config = config(dir.path(), &ports);
    let a = Daemon::start(&config, "sentinel-a");
    let b = Daemon::start(&config, "sentinel-b");
    assert!(
        wait_until(TIMEOUT, || settled(&mut master) >= 1000),
        "{}",
        a.log()
    );
    let _: String = redis::cmd("SENTINEL")
        .arg("failover")
        .arg(MASTER)
        .query(&mut connect(ports[0]).unwrap())
        .unwrap();
    assert!(
        wait_until(TIMEOUT, || master_port(ports[0]) == Some(second.port)
            && is_master(second.port)),
        "the sentinels did not promote the replica"
    );
    let mut promoted = connect(second.port).unwrap();
    assert!(
        wait_until(TIMEOUT, || settled(&mut promoted) == n1 as usize
            && pending(&mut promoted) == 0),
        "settled {} of {n1} after a graceful failover\n{}\n{}",
        settled(&mut promoted),
        a.log(),
        b.log()
    );
    assert_exactly_once(&mut promoted, n1 as usize);
    assert!(
        a.log().contains("following it") || b.log().contains("following it"),
        "no daemon said it followed the master"
    );

    // Phase 2: the new master killed -9 while the daemons route more jobs;
    // the old master, a replica since phase 1, is promoted back.
    let n2 = 6000u64;
    push(&mut promoted, "jobs", &mix(n1, n1 + n2));
    let copies: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(5000)
        .query(&mut promoted)
        .unwrap();
    assert_eq!(copies, 1, "the old master, now a replica, has every job");
    assert!(wait_until(TIMEOUT, || settled(&mut promoted) >= n1 as usize + 1000));
    let mut second = second;
    second.kill();
    assert!(
        wait_until(TIMEOUT, || master_port(ports[0]) == Some(first.port)
            && is_master(first.port)),
        "the sentinels did not promote the old master back"
    );
    let mut back = connect(first.port).unwrap();
    // Writes the killed master acknowledged but had not passed on are gone
    // with it: a settle is one script, so its ack went with its outcome, and
    // the entry is routed again here. Every job ends settled exactly once.
    assert!(
        wait_until(TIMEOUT, || settled(&mut back) == (n1 + n2) as usize
            && pending(&mut back) == 0),
        "settled {} of {} after a forced failover\n{}\n{}",
        settled(&mut back),
        n1 + n2,
        a.log(),
        b.log()
    );
    assert_exactly_once(&mut back, (n1 + n2) as usize);
    let info: redis::Value = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg("jobs")
        .query(&mut back)
        .unwrap();
    assert!(format!("{info:?}").contains(GROUP));

    // Retention finds the master of now through the sentinels: a daemon
    // with [retention] trims the source of every acknowledged entry there.
    let retaining = dir.path().join("retention");
    std::fs::create_dir_all(&retaining).unwrap();
    let with_retention = self::config(&retaining, &ports);
    let text = std::fs::read_to_string(&with_retention).unwrap();
    std::fs::write(
        &with_retention,
        format!("{text}\n[retention]\ninterval = \"300ms\"\n"),
    )
    .unwrap();
    let c = Daemon::start(&with_retention, "sentinel-c");
    assert!(
        wait_until(TIMEOUT, || xlen(&mut back, "jobs") == 0),
        "the source was not trimmed on the master of now:\n{}",
        c.log()
    );
    drop(sentinels);
}

/// The value of the sample `name` in the daemon's `/metrics` on `port`.
fn sample(port: u16, name: &str) -> Option<f64> {
    let body = crate::harness::daemon::http_get(port, "/metrics", None)?.body;
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn replica_acks_wait_for_the_replica_and_count_the_settles_it_did_not_acknowledge() {
    let dir = tempfile::tempdir().unwrap();
    let master = server(dir.path(), None);
    let mut replica = server(dir.path(), Some(master.port));
    let mut conn = connect(master.port).unwrap();
    assert!(wait_until(Duration::from_secs(30), || {
        redis::cmd("INFO")
            .arg("replication")
            .query::<String>(&mut conn)
            .is_ok_and(|info| info.contains("state=online"))
    }));
    let redis = format!(
        "url = \"redis://127.0.0.1:{}\"\nreplica-acks = 1\nreplica-ack-timeout = \"200ms\"",
        master.port
    );
    let routes = format!("{SLIVKA_ROUTE}\n[metrics]\nlisten = \"127.0.0.1:0\"\n");
    let config = write_config(dir.path(), &redis, "batch = 64", &routes);
    push(&mut conn, "jobs", &mix(0, 400));
    let daemon = Daemon::start(&config, "acks");
    assert!(
        wait_until(TIMEOUT, || settled(&mut conn) == 400
            && pending(&mut conn) == 0),
        "{}",
        daemon.log()
    );
    let port = daemon.metrics_port();
    assert_eq!(
        sample(port, "switchyard_replica_acks_short_total"),
        Some(0.0),
        "{}",
        daemon.log()
    );
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut conn)
        .unwrap();
    assert!(stats.contains("cmdstat_wait:"), "the daemon sent WAIT");
    let mut copy = connect(replica.port).unwrap();
    assert!(wait_until(TIMEOUT, || settled(&mut copy) == 400));

    // Without its replica, every settle is still made, and counted short.
    replica.kill();
    push(&mut conn, "jobs", &mix(400, 500));
    assert!(
        wait_until(TIMEOUT, || settled(&mut conn) == 500
            && pending(&mut conn) == 0),
        "{}",
        daemon.log()
    );
    assert!(sample(port, "switchyard_replica_acks_short_total").is_some_and(|n| n >= 1.0));
    assert!(daemon.log().contains("a forced failover now could lose it"));
    assert_exactly_once(&mut conn, 500);
}
