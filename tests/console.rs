//! The web console as its users see it: the daemon routes a known mix, a
//! real headless Chromium renders the page, and the test reads from the
//! rendered page what an operator would: the jobs per target, a rejected
//! job's reason found through the search box, the plugin versions. The
//! same run saves the screenshot the README shows. Then the API at a
//! million entries and a million status records (answer times printed; no
//! keyspace walk), the actions behind their token, and `switchyard console`
//! alone.
//!
//! Chromium is Debian's `chromium` (`.ci/run` installs it).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::harness::daemon::*;
use crate::harness::{RedisServer, repo_root};

const TIMEOUT: Duration = Duration::from_secs(60);
const TOKEN: &str = "console-test-token-0123456789";

/// The headless browser: Debian's `chromium`.
fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(output) = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            && output.status.success()
        {
            return PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        }
    }
    panic!("no chromium on PATH: install Debian's `chromium` (.ci/run does)");
}

/// Runs headless Chromium on `url` with `args` (its own profile directory,
/// 5 s of virtual time for the page's scripts and requests); its stdout.
fn browse(url: &str, args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run chromium");
    assert!(
        output.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The text right inside the element with `id` in the rendered `dom`.
fn text_of(dom: &str, id: &str) -> Option<String> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let rest = &dom[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')?;
    Some(unescape(&rest[start..start + end]))
}

/// Every text right inside an element of `class` in `dom`.
fn texts_of_class(dom: &str, class: &str) -> Vec<String> {
    dom.split(&format!("class=\"{class}\""))
        .skip(1)
        .filter_map(|rest| {
            let start = rest.find('>')? + 1;
            let end = rest[start..].find('<')?;
            Some(unescape(&rest[start..start + end]))
        })
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// The version the daemon reports for a built plugin: NAME@ the first 8
/// hex digits of the SHA-256 of its file.
fn version_of(plugin: &str) -> String {
    let bytes = std::fs::read(repo_root().join(format!("target/plugins/{plugin}.wasm"))).unwrap();
    format!("{plugin}@{}", &hex::encode(Sha256::digest(bytes))[..8])
}

/// `GET path` on `port` as JSON.
fn api(port: u16, path: &str) -> Value {
    let answer = http_get(port, path, None).unwrap_or_else(|| panic!("no answer to {path}"));
    assert_eq!(answer.code, 200, "{path}: {}", answer.body);
    serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", answer.body))
}

/// `POST path` with a JSON `body` and, if given, a bearer token; the status
/// code and the answer as JSON.
fn post(port: u16, path: &str, body: &Value, token: Option<&str>) -> (u16, Value) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = body.to_string();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// A private Redis and a config of the slivka route whose daemon serves
/// the console on a free port, with `extra` TOML appended.
fn console_setup(extra: &str) -> (RedisServer, tempfile::TempDir, PathBuf) {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(
        dir.path(),
        &redis.url(),
        "",
        &format!("[metrics]\nlisten = \"127.0.0.1:0\"\n{extra}"),
    );
    (redis, dir, config)
}

/// Waits until the daemon's heartbeat is in, so the page lists it.
fn wait_for_heartbeat(port: u16) {
    assert!(
        wait_until(TIMEOUT, || api(port, "/api/daemons")
            .as_array()
            .is_some_and(|d| !d.is_empty())),
        "no daemon in /api/daemons"
    );
}

#[test]
fn the_console_shows_jobs_per_target_a_rejected_jobs_reason_and_the_plugin_versions() {
    let (redis, _dir, config) = console_setup("");
    let mut conn = redis.connection();
    let n = 200;
    let kinds = send_mix(&mut conn, n);
    let daemon = Daemon::start(&config, "console");
    wait_settled(&mut conn, n as usize, &daemon);
    let port = daemon.metrics_port();
    wait_for_heartbeat(port);

    // Job 16 of the mix has `iterations` out of range: the validator
    // rejects it. Search it as the help desk would.
    let rejected = job_id(16);
    assert_eq!(mixed_job(16).0, Kind::Invalid);
    let record = status(&mut conn, &rejected);
    assert_eq!(record["status"], "REJECTED");
    let url = format!("http://127.0.0.1:{port}/#job={rejected}");
    let dom = browse(&url, &["--dump-dom"]);

    let k = |kind| kinds.get(&kind).copied().unwrap_or(0);
    let expected = [
        ("queue:local", k(Kind::Local)),
        ("queue:default", k(Kind::Cluster)),
        (
            REJECTED,
            k(Kind::TooMany) + k(Kind::Invalid) + k(Kind::NotJson),
        ),
        (DEAD, k(Kind::NoPayload) + k(Kind::UnknownService)),
    ];
    for (stream, jobs) in expected {
        assert_eq!(
            text_of(&dom, &format!("jobs-{stream}")).as_deref(),
            Some(jobs.to_string().as_str()),
            "jobs shown for {stream}"
        );
    }
    // The flow shows the same counts on its stream boxes.
    assert!(dom.contains(&format!(
        "data-stream=\"queue:local\">{} jobs<",
        k(Kind::Local)
    )));

    // The search box was filled from the address and answered.
    assert!(dom.contains(&format!("value=\"{rejected}\"")) || dom.contains(&rejected));
    assert_eq!(
        text_of(&dom, "search-job").as_deref(),
        Some(rejected.as_str())
    );
    assert_eq!(text_of(&dom, "search-status").as_deref(), Some("REJECTED"));
    assert_eq!(
        text_of(&dom, "search-reason").as_deref(),
        Some(record["reason"].as_str())
    );
    let errors_at = dom
        .find("id=\"search-errors\"")
        .expect("the errors in words");
    assert!(
        dom[errors_at..].contains("iterations: "),
        "the field the validator refused, in words"
    );
    assert_eq!(
        texts_of_class(&dom, "decided-by"),
        vec![version_of("slivka-form")]
    );
    // The entry it was written to, in the rejected stream.
    assert!(dom.contains(&format!("Written to <code>{REJECTED} ")));

    // The plugin versions the daemon runs.
    let mut versions = texts_of_class(&dom, "plugin-version");
    versions.sort();
    assert_eq!(
        versions,
        vec![version_of("fasta-size"), version_of("slivka-form")]
    );

    // The dead letters of an unknown service, grouped under their reason.
    let unknown = dom
        .split("<tr>")
        .find(|row| row.contains("no-such-tool") && row.contains("class=\"reason\""))
        .expect("a group of dead letters for the unknown service");
    assert!(
        unknown.contains(&format!(">{}<", k(Kind::UnknownService))),
        "{unknown}"
    );

    // The actions are off unless the config turns them on.
    let (code, answer) = post(
        port,
        "/api/actions/replay",
        &serde_json::json!({"stream": DEAD, "reason": "x", "by": "test"}),
        Some(TOKEN),
    );
    assert_eq!(code, 403, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("actions are off")
    );

    // The screenshot the README shows.
    let shot = std::env::var_os("CONSOLE_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/console.png"));
    browse(
        &url,
        &[
            "--window-size=1400,1100",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{}",
        shot.display()
    );
}

#[test]
fn the_console_api_answers_at_a_million_entries_and_records_without_walking_the_keyspace() {
    let (redis, _dir, config) = console_setup("");
    let mut conn = redis.connection();
    // A million entries in the output streams and a million status
    // records, as a long-running system holds them.
    let filled = Instant::now();
    let outputs = [
        ("queue:local", 500_000),
        ("queue:default", 200_000),
        (REJECTED, 200_000),
        (DEAD, 100_000),
    ];
    let mut job = 0u64;
    for (stream, count) in outputs {
        for chunk in 0..count / 10_000 {
            let mut pipe = redis::pipe();
            for i in 0..10_000u64 {
                let id = format!("old-{job}");
                pipe.cmd("XADD")
                    .arg(stream)
                    .arg("*")
                    .arg("job-id")
                    .arg(&id)
                    .arg("service")
                    .arg("clustalo")
                    .arg("payload")
                    .arg("{\"inputs\":{\"input\":\">s\\nACGT\"}}")
                    .arg("switchyard-source")
                    .arg(format!("jobs/1-{}", chunk * 10_000 + i))
                    .arg("switchyard-reason")
                    .arg(if stream == DEAD { "no route" } else { "" })
                    .ignore();
                pipe.cmd("HSET")
                    .arg(format!("switchyard:job:{id}"))
                    .arg("status")
                    .arg("ACCEPTED")
                    .arg("source")
                    .arg(format!("jobs/1-{}", chunk * 10_000 + i))
                    .arg("targets")
                    .arg(stream)
                    .ignore();
                job += 1;
            }
            let () = pipe.query(&mut conn).unwrap();
        }
    }
    let keys: u64 = redis::cmd("DBSIZE").query(&mut conn).unwrap();
    println!(
        "filled 1,000,000 entries and 1,000,000 status records in {:.1} s ({keys} keys)",
        filled.elapsed().as_secs_f64()
    );

    // Then the daemon routes a mix, whose jobs the console must find.
    let n = 200;
    let kinds = send_mix(&mut conn, n);
    let daemon = Daemon::start(&config, "big");
    assert!(
        wait_until(TIMEOUT, || settled(&mut conn) == 1_000_000 + n as usize
            && pending(&mut conn) == 0),
        "{}",
        daemon.log()
    );
    let port = daemon.metrics_port();
    wait_for_heartbeat(port);

    let () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut conn)
        .unwrap();
    let timed = |path: &str| {
        let mut times = Vec::new();
        let mut answer = Value::Null;
        for _ in 0..5 {
            let start = Instant::now();
            answer = api(port, path);
            times.push(start.elapsed());
        }
        times.sort();
        println!(
            "{path:<40} median {:>7.1} ms  slowest {:>7.1} ms",
            times[2].as_secs_f64() * 1e3,
            times[4].as_secs_f64() * 1e3
        );
        answer
    };
    let overview = timed("/api/overview");
    let added = |stream: &str| {
        overview["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stream"] == stream)
            .unwrap()["added"]
            .as_u64()
            .unwrap()
    };
    let k = |kind| kinds.get(&kind).copied().unwrap_or(0) as u64;
    assert_eq!(added("queue:local"), 500_000 + k(Kind::Local));
    assert_eq!(
        added(DEAD),
        100_000 + k(Kind::NoPayload) + k(Kind::UnknownService)
    );
    let streams = timed("/api/streams");
    assert_eq!(streams["sources"][0]["pending"], 0);
    assert!(
        streams["memory"]["status-records-method"]
            .as_str()
            .unwrap()
            .starts_with("estimated"),
        "{}",
        streams["memory"]
    );
    timed("/api/daemons");
    let letters = timed("/api/letters");
    assert_eq!(letters["letters"].as_array().unwrap().len(), 200);
    // The latest dead letters are the daemon's, not the filler's.
    assert!(
        letters["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["reason"].as_str().unwrap().contains("no-such-tool"))
    );
    // A job routed after the million: its record, its entry and the
    // outcome entry at the end of a 200,000-entry stream.
    let rejected = job_id(16);
    let found = timed(&format!("/api/job/{rejected}"));
    assert_eq!(found["status"], "REJECTED");
    assert_eq!(found["outcomes"][0]["stream"], REJECTED);
    assert_eq!(found["outcomes"][0]["fields"]["job-id"], rejected.as_str());
    // One of the filler's, by its record.
    let old = timed("/api/job/old-600000");
    assert_eq!(old["status"], "ACCEPTED");
    let missing = timed("/api/job/no-such-job");
    assert_eq!(missing["found"], false);
    let entry_id = found["outcomes"][0]["id"].as_str().unwrap().to_owned();
    let entry = timed(&format!("/api/entry/{REJECTED}/{entry_id}"));
    assert_eq!(entry["job"]["job-id"], rejected.as_str());

    // Not one command that walks the keyspace.
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut conn)
        .unwrap();
    for walk in ["cmdstat_scan:", "cmdstat_keys:"] {
        assert!(!stats.contains(walk), "the console ran {walk}\n{stats}");
    }
}

#[test]
fn console_actions_replay_dead_letters_only_with_the_bearer_token_and_are_logged() {
    let (redis, _dir, config) = console_setup("[console]\nactions = true\n");
    // Turned on without a token, the daemon refuses to start.
    let mut refused = Daemon::start(&config, "no-token");
    let exit = refused
        .wait_exit(TIMEOUT)
        .expect("actions without a token must stop the start");
    assert!(!exit.success());
    let log = refused.log();
    assert!(
        log.contains("SWITCHYARD_CONSOLE_TOKEN") && log.contains("switchyard.toml"),
        "{log}"
    );

    let mut conn = redis.connection();
    let n = 40;
    let kinds = send_mix(&mut conn, n);
    let daemon = Daemon::start_with(
        &config,
        &["--consumer", "actions"],
        &[("SWITCHYARD_CONSOLE_TOKEN", TOKEN)],
    );
    wait_settled(&mut conn, n as usize, &daemon);
    let port = daemon.metrics_port();
    let dead = |conn: &mut redis::Connection| entries(conn, DEAD);
    let letters = dead(&mut conn);
    assert_eq!(
        letters.len(),
        kinds[&Kind::NoPayload] + kinds[&Kind::UnknownService]
    );
    let ids: Vec<String> = redis::cmd("XRANGE")
        .arg(DEAD)
        .arg("-")
        .arg("+")
        .query::<Vec<(String, HashMap<String, String>)>>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();

    let request = serde_json::json!({"stream": DEAD, "id": ids[0], "by": "alice"});
    for token in [None, Some("wrong-token-wrong-token")] {
        let (code, _) = post(port, "/api/actions/replay", &request, token);
        assert_eq!(code, 401);
    }
    assert_eq!(xlen(&mut conn, DEAD), letters.len(), "nothing moved");

    // One dead letter goes back to its source, is read again and, its
    // service still unknown, dead-lettered again under a new id.
    let (code, answer) = post(port, "/api/actions/replay", &request, Some(TOKEN));
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["replayed"], 1);
    assert_eq!(answer["to"], SOURCE);
    assert!(wait_until(TIMEOUT, || xlen(&mut conn, SOURCE)
        == n as usize + 1
        && pending(&mut conn) == 0
        && xlen(&mut conn, DEAD) == letters.len()));
    let after: Vec<String> = redis::cmd("XRANGE")
        .arg(DEAD)
        .arg("-")
        .arg("+")
        .query::<Vec<(String, HashMap<String, String>)>>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(!after.contains(&ids[0]));

    // Every dead letter of one reason.
    let reason = "entry has no `payload` field";
    let (code, answer) = post(
        port,
        "/api/actions/replay",
        &serde_json::json!({"stream": DEAD, "reason": reason, "by": "bob"}),
        Some(TOKEN),
    );
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["replayed"], kinds[&Kind::NoPayload]);
    let log = daemon.log();
    assert!(
        log.contains("console: replayed one dead letter") && log.contains("alice"),
        "{log}"
    );
    assert!(
        log.contains("console: replayed the dead letters of one reason") && log.contains("bob")
    );
}

#[test]
fn switchyard_console_serves_the_page_and_api_where_no_daemon_runs() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = slivka_config(dir.path(), &redis.url(), "", "");
    let mut conn = redis.connection();
    send_mix(&mut conn, 20);
    let log = dir.path().join("console.log");
    let mut console = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["console", "--config"])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .env_remove("SWITCHYARD_REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut port = None;
    let found = wait_until(TIMEOUT, || {
        port = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .split("console listening on http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split('/').next()?.parse::<u16>().ok());
        port.is_some()
    });
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(found, "{text}");
    let port = port.unwrap();
    let overview = api(port, "/api/overview");
    assert_eq!(overview["routes"][0]["name"], "slivka");
    assert_eq!(overview["streams"][0]["stream"], SOURCE);
    assert_eq!(overview["streams"][0]["length"], 20);
    let dom = browse(&format!("http://127.0.0.1:{port}/"), &["--dump-dom"]);
    assert!(
        dom.contains("No daemon alive"),
        "the page says no daemon runs"
    );
    assert_eq!(text_of(&dom, "jobs-queue:local").as_deref(), Some("0"));
    let _ = console.kill();
    let _ = console.wait();
}
