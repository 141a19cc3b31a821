//! Running the real `switchyard run` against a test's private Redis, and
//! looking at what it left there: the part of the harness that the daemon's
//! tests (pipeline, faults, shutdown) share.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use redis::Value;

/// The streams of the slivka example config.
pub const TARGETS: [&str; 2] = ["queue:local", "queue:default"];
/// Where invalid and refused jobs go.
pub const REJECTED: &str = "jobs:rejected";
/// Where faults go.
pub const DEAD: &str = "jobs:dead";
/// The source stream.
pub const SOURCE: &str = "jobs";
/// The consumer group.
pub const GROUP: &str = "switchyard";

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A config for the slivka example against `redis_url`, in `dir`, with
/// `consumer` settings and any extra TOML appended (more routes, plugins).
pub fn slivka_config(dir: &Path, redis_url: &str, consumer: &str, extra: &str) -> PathBuf {
    write_config(
        dir,
        &format!("url = \"{redis_url}\""),
        consumer,
        &format!("{SLIVKA_ROUTE}{extra}"),
    )
}

/// The slivka example's route.
pub const SLIVKA_ROUTE: &str = r#"
[[routes]]
name = "slivka"
source = "jobs"
match = { service = ["clustalo", "mafft", "jpred"] }
validators = ["slivka-form"]
router = "fasta-size"
targets = ["queue:local", "queue:default"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#;

/// A route where the puppet fixture validates and routes: its answers are
/// written in the job's payload (see its source).
pub const PUPPET_ROUTE: &str = r#"
[[routes]]
name = "puppet"
source = "jobs"
match = { service = "puppet" }
validators = ["fixture-puppet"]
router = "fixture-puppet"
targets = ["queue:local", "queue:default"]
rejected = "jobs:rejected"
dead-letters = "jobs:dead"
"#;

/// `dir/switchyard.toml`: the `[redis]` lines, the group and `consumer`
/// settings, the built plugins with the example slivka service files and
/// slivka-bio's size tiers ([`slivka_plugins`]), then `routes`.
pub fn write_config(dir: &Path, redis: &str, consumer: &str, routes: &str) -> PathBuf {
    let repo = repo();
    let text = format!(
        r#"
[redis]
{redis}

[consumer]
group = "{GROUP}"
{consumer}

[plugins]
dir = "{plugins}"
deadline-ms = 1000
{slivka}
{routes}
"#,
        plugins = repo.join("target/plugins").display(),
        slivka = slivka_plugins(),
    );
    let path = dir.join("switchyard.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The slivka example's plugin tables: slivka-form reads the example
/// service files; fasta-size applies the example's tiers
/// ([`super::slivka_tiers`]: slivka-bio's, for clustalo and mafft; jpred has
/// none, so its jobs go to the `default` runner) and sends runner R to
/// `queue:R`.
fn slivka_plugins() -> String {
    let services = repo().join("examples/slivka/services");
    let services = services.display();
    format!(
        r#"
[plugin.slivka-form.config-files]
"service.clustalo" = "{services}/clustalo.service.yaml"
"service.mafft" = "{services}/mafft.service.yaml"
"service.jpred" = "{services}/jpred.service.yaml"

[plugin.fasta-size.config]
target-pattern = "queue:{{runner}}"
tiers = '{tiers}'
"#,
        tiers = super::slivka_tiers(),
    )
}

/// A running `switchyard run`; killed when dropped.
pub struct Daemon {
    child: Option<Child>,
    log: PathBuf,
}

impl Daemon {
    /// Starts `switchyard run --config CONFIG --consumer NAME`, logging to a
    /// file beside the config.
    pub fn start(config: &Path, consumer: &str) -> Daemon {
        Daemon::start_with(config, &["--consumer", consumer], &[])
    }

    /// Starts `switchyard run --config CONFIG ARGS...` with `env` added to
    /// its environment, logging to a file beside the config.
    pub fn start_with(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let name = args
            .iter()
            .skip_while(|a| **a != "--consumer")
            .nth(1)
            .copied()
            .unwrap_or("default");
        let log = config.with_file_name(format!("daemon-{name}-{}.log", unique()));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args(["run", "--config"])
            .arg(config)
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("SWITCHYARD_REDIS_URL")
            .env_remove("SWITCHYARD_CONSUMER")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("cannot start switchyard run");
        Daemon {
            child: Some(child),
            log,
        }
    }

    /// Waits at most `timeout` for the daemon to exit on its own; its exit
    /// status, or `None` if it still runs.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let status = wait_exit(self.child.as_mut()?, timeout)?;
        self.child = None;
        Some(status)
    }

    /// Whether the process is running: started, and not yet killed or
    /// terminated.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Sends SIGTERM and waits for the exit (at most 60 s).
    pub fn terminate(&mut self) -> ExitStatus {
        let child = self.child.as_mut().expect("daemon is running");
        signal(child.id(), libc::SIGTERM);
        let status = wait_exit(child, Duration::from_secs(60)).unwrap_or_else(|| {
            panic!(
                "daemon did not exit within 60 s of SIGTERM; log:\n{}",
                self.log()
            )
        });
        self.child = None;
        status
    }

    /// kill -9, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What the daemon logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The port of its `/metrics`, `/healthz` and `/readyz` listener, as it
    /// logged it (the configs bind port 0). Waits at most a minute.
    pub fn metrics_port(&self) -> u16 {
        let mut port = None;
        assert!(
            wait_until(Duration::from_secs(60), || {
                port = self
                    .log()
                    .split("metrics listening on 127.0.0.1:")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next()?.parse().ok());
                port.is_some()
            }),
            "no metrics listener; log:\n{}",
            self.log()
        );
        port.unwrap()
    }
}

/// What the daemon's listener answered.
#[derive(Debug, Default)]
pub struct HttpAnswer {
    /// The status code.
    pub code: u16,
    /// The `Content-Type` header (empty without one).
    pub content_type: String,
    /// The body.
    pub body: String,
}

/// `GET path` on the daemon's listener at `port`, sending `Accept: accept`
/// if given; `None` if it does not answer (yet).
pub fn http_get(port: u16, path: &str, accept: Option<&str>) -> Option<HttpAnswer> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let accept = accept.map_or(String::new(), |a| format!("Accept: {a}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{accept}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    let content_type = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    Some(HttpAnswer {
        code,
        content_type,
        body: body.to_owned(),
    })
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) on a child we started.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    condition()
}

/// One entry's fields as (name, bytes).
pub type Fields = Vec<(String, Vec<u8>)>;

/// Adds every job to `stream`, in pipelines of 500; returns their entry
/// How long a test waits for its jobs to be settled.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);

/// Waits until `n` entries are settled and nothing is pending.
pub fn wait_settled(conn: &mut redis::Connection, n: usize, daemon: &Daemon) {
    let done = wait_until(SETTLE_TIMEOUT, || settled(conn) >= n && pending(conn) == 0);
    assert!(
        done,
        "only {} of {n} settled, {} pending; daemon log:\n{}",
        settled(conn),
        pending(conn),
        daemon.log()
    );
}

/// ids in order.
pub fn push(conn: &mut redis::Connection, stream: &str, jobs: &[Fields]) -> Vec<String> {
    let mut ids = Vec::with_capacity(jobs.len());
    for chunk in jobs.chunks(500) {
        let mut pipe = redis::pipe();
        for fields in chunk {
            let cmd = pipe.cmd("XADD").arg(stream).arg("*");
            for (k, v) in fields {
                cmd.arg(k).arg(v.as_slice());
            }
        }
        let added: Vec<String> = pipe.query(conn).expect("XADD jobs");
        ids.extend(added);
    }
    ids
}

/// `CONFIG SET maxmemory BYTES`: 1 refuses every write, 0 is no limit.
pub fn set_maxmemory(conn: &mut redis::Connection, bytes: u64) {
    set_config(conn, "maxmemory", bytes);
}

/// `CONFIG SET KEY VALUE`.
pub fn set_config(conn: &mut redis::Connection, key: &str, value: u64) {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(key)
        .arg(value)
        .query(conn)
        .unwrap_or_else(|e| panic!("CONFIG SET {key} {value}: {e}"));
}

/// Length of a stream (0 if missing).
pub fn xlen(conn: &mut redis::Connection, stream: &str) -> usize {
    redis::cmd("XLEN").arg(stream).query(conn).unwrap()
}

/// Entries settled so far: targets + rejected + dead letters.
pub fn settled(conn: &mut redis::Connection) -> usize {
    try_settled(conn).unwrap()
}

/// [`settled`], or the error of a connection that failed.
pub fn try_settled(conn: &mut redis::Connection) -> redis::RedisResult<usize> {
    Streams::slivka().try_settled(conn)
}

/// The group's pending count on the source.
pub fn pending(conn: &mut redis::Connection) -> usize {
    Streams::slivka().pending(conn)
}

/// The streams of the slivka route and the keys of its status records:
/// the example's names ([`SOURCE`], [`TARGETS`], [`REJECTED`], [`DEAD`]),
/// or the same names under one hash tag (`{t}:jobs`, ...), so that on a
/// Redis Cluster the whole route lives in one slot.
#[derive(Debug, Clone)]
pub struct Streams {
    tag: Option<String>,
}

impl Streams {
    /// The example's names.
    pub fn slivka() -> Streams {
        Streams { tag: None }
    }

    /// The example's names under the hash tag `{tag}`.
    pub fn tagged(tag: &str) -> Streams {
        Streams {
            tag: Some(tag.to_owned()),
        }
    }

    /// `name` under this layout's tag, if any.
    fn name(&self, name: &str) -> String {
        match &self.tag {
            Some(tag) => format!("{{{tag}}}:{name}"),
            None => name.to_owned(),
        }
    }

    pub fn source(&self) -> String {
        self.name(SOURCE)
    }

    pub fn targets(&self) -> [String; 2] {
        TARGETS.map(|t| self.name(t))
    }

    pub fn rejected(&self) -> String {
        self.name(REJECTED)
    }

    pub fn dead(&self) -> String {
        self.name(DEAD)
    }

    /// Every stream a source entry can end in: the targets, then rejected
    /// and dead letters.
    pub fn outcomes(&self) -> [String; 4] {
        let [local, cluster] = self.targets();
        [local, cluster, self.rejected(), self.dead()]
    }

    /// Where a job of `kind` ends.
    pub fn of(&self, kind: Kind) -> String {
        self.name(kind.stream())
    }

    /// fasta-size's `target-pattern` for these targets.
    pub fn target_pattern(&self) -> String {
        self.name("queue:{runner}")
    }

    /// [`SLIVKA_ROUTE`] with these names.
    pub fn route(&self) -> String {
        let quoted = |name: &str| format!("\"{name}\"");
        let mut route = SLIVKA_ROUTE.to_owned();
        // Longest first: "jobs" is a part of "jobs:rejected".
        for name in [REJECTED, DEAD, TARGETS[0], TARGETS[1], SOURCE] {
            route = route.replace(&quoted(name), &quoted(&self.name(name)));
        }
        route
    }

    /// The key of `job`'s status record, as a front end computes it:
    /// `switchyard:job:JOB`, or `switchyard:job:{TAG}:JOB` under a tag.
    pub fn status_key(&self, job: &str) -> String {
        format!("switchyard:job:{}", self.name(job))
    }

    /// `job`'s status record as a map.
    pub fn status(&self, conn: &mut redis::Connection, job: &str) -> HashMap<String, String> {
        redis::cmd("HGETALL")
            .arg(self.status_key(job))
            .query(conn)
            .unwrap()
    }

    /// Entries settled so far over [`Streams::outcomes`].
    pub fn try_settled(&self, conn: &mut redis::Connection) -> redis::RedisResult<usize> {
        let mut total = 0;
        for stream in self.outcomes() {
            total += redis::cmd("XLEN").arg(stream).query::<usize>(conn)?;
        }
        Ok(total)
    }

    /// The group's pending count on the source.
    pub fn pending(&self, conn: &mut redis::Connection) -> usize {
        let reply: Value = redis::cmd("XPENDING")
            .arg(self.source())
            .arg(GROUP)
            .query(conn)
            .unwrap();
        match reply {
            Value::Array(parts) => match parts.first() {
                Some(Value::Int(n)) => *n as usize,
                _ => 0,
            },
            _ => 0,
        }
    }
}

/// Every entry of `stream`, oldest first, its fields as text.
pub fn entries(conn: &mut dyn redis::ConnectionLike, stream: &str) -> Vec<HashMap<String, String>> {
    entries_with_ids(conn, stream)
        .into_iter()
        .map(|(_, fields)| fields)
        .collect()
}

/// Every entry of `stream` with its id, oldest first, read in pages so
/// that a stream of millions of entries is never one reply.
pub fn entries_with_ids(
    conn: &mut dyn redis::ConnectionLike,
    stream: &str,
) -> Vec<(String, HashMap<String, String>)> {
    let mut all = Vec::new();
    let mut start = "-".to_owned();
    loop {
        let reply: Value = redis::cmd("XRANGE")
            .arg(stream)
            .arg(&start)
            .arg("+")
            .arg("COUNT")
            .arg(ENTRIES_PAGE)
            .query(conn)
            .unwrap();
        let Value::Array(items) = reply else {
            return all;
        };
        let count = items.len();
        for item in items {
            let Value::Array(mut parts) = item else {
                continue;
            };
            let (Some(Value::Array(flat)), Some(Value::BulkString(id))) =
                (parts.pop(), parts.pop())
            else {
                continue;
            };
            let id = String::from_utf8_lossy(&id).into_owned();
            start = format!("({id}");
            let mut map = HashMap::new();
            let mut iter = flat.into_iter();
            while let (Some(Value::BulkString(k)), Some(Value::BulkString(v))) =
                (iter.next(), iter.next())
            {
                map.insert(
                    String::from_utf8_lossy(&k).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                );
            }
            all.push((id, map));
        }
        if count < ENTRIES_PAGE {
            return all;
        }
    }
}

/// Entries per `XRANGE` page of [`entries_with_ids`].
const ENTRIES_PAGE: usize = 5_000;

/// Checks exactly-once over every outcome stream: each `switchyard-source`
/// appears once, and there are `expected` of them. Returns the number of
/// outcome entries per stream.
pub fn assert_exactly_once(
    conn: &mut redis::Connection,
    expected: usize,
) -> HashMap<String, usize> {
    let mut seen = HashSet::new();
    let mut per_stream = HashMap::new();
    for stream in TARGETS.iter().chain([&REJECTED, &DEAD]) {
        let list = entries(conn, stream);
        per_stream.insert(stream.to_string(), list.len());
        for entry in list {
            let source = entry
                .get("switchyard-source")
                .unwrap_or_else(|| {
                    panic!("an entry of {stream} has no switchyard-source: {entry:?}")
                })
                .clone();
            assert!(seen.insert(source.clone()), "{source} was settled twice");
        }
    }
    assert_eq!(seen.len(), expected, "settled entries: {per_stream:?}");
    per_stream
}

/// The status record of `job_id` as a map.
pub fn status(conn: &mut redis::Connection, job_id: &str) -> HashMap<String, String> {
    Streams::slivka().status(conn, job_id)
}

/// How many of the first `n` jobs' status records name `consumer`.
pub fn settled_by(conn: &mut redis::Connection, consumer: &str, n: u64) -> usize {
    let mut pipe = redis::pipe();
    for i in 0..n {
        pipe.cmd("HGET")
            .arg(format!("switchyard:job:{}", job_id(i)))
            .arg("consumer");
    }
    let consumers: Vec<Option<String>> = pipe.query(conn).unwrap();
    consumers
        .iter()
        .filter(|c| c.as_deref() == Some(consumer))
        .count()
}

/// A 16-character job id, URL-safe base64 of a 12-byte number, as slivka's.
pub fn job_id(n: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&n.to_be_bytes());
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let v = (chunk[0] as u32) << 16 | (chunk[1] as u32) << 8 | chunk[2] as u32;
        for shift in [18, 12, 6, 0] {
            out.push(ALPHABET[((v >> shift) & 63) as usize] as char);
        }
    }
    out
}

/// `count` FASTA records of `length` residues.
pub fn fasta(count: usize, length: usize) -> String {
    let residues = b"ACDEFGHIKLMNPQRSTVWY";
    let mut text = String::new();
    for i in 0..count {
        text.push_str(&format!(">seq{}\n", i + 1));
        let seq: String = (0..length)
            .map(|j| residues[(i + j) % 20] as char)
            .collect();
        text.push_str(&seq);
        text.push('\n');
    }
    text
}

/// The kinds of job in the test mix and where each must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// 5 short sequences: `queue:local`.
    Local,
    /// 100 sequences: `queue:default`.
    Cluster,
    /// 2500 sequences, past clustalo's last tier (2000): rejected by the
    /// router.
    TooMany,
    /// iterations out of range: rejected by the validator.
    Invalid,
    /// payload not JSON: rejected by the validator.
    NotJson,
    /// no payload field: dead letter (decode).
    NoPayload,
    /// a service no route takes: dead letter (no route).
    UnknownService,
}

impl Kind {
    /// Where a job of this kind ends.
    pub fn stream(self) -> &'static str {
        match self {
            Kind::Local => "queue:local",
            Kind::Cluster => "queue:default",
            Kind::TooMany | Kind::Invalid | Kind::NotJson => REJECTED,
            Kind::NoPayload | Kind::UnknownService => DEAD,
        }
    }

    /// The status a front end reads for it.
    pub fn status(self) -> &'static str {
        match self {
            Kind::Local | Kind::Cluster => "ACCEPTED",
            Kind::TooMany | Kind::Invalid | Kind::NotJson => "REJECTED",
            Kind::NoPayload | Kind::UnknownService => "ERROR",
        }
    }
}

/// Job number `n` of the mix: mostly valid, some invalid, a few broken.
pub fn mixed_job(n: u64) -> (Kind, Fields) {
    let kind = match n % 20 {
        0..=11 => Kind::Local,
        12..=14 => Kind::Cluster,
        15 => Kind::TooMany,
        16 => Kind::Invalid,
        17 => Kind::NotJson,
        18 => Kind::NoPayload,
        _ => Kind::UnknownService,
    };
    (kind, job_of(kind, n))
}

/// Sends the first `n` jobs of the mix to [`SOURCE`]; how many of each kind.
pub fn send_mix(conn: &mut redis::Connection, n: u64) -> HashMap<Kind, usize> {
    let mut kinds = HashMap::new();
    let jobs: Vec<Fields> = (0..n)
        .map(|i| {
            let (kind, fields) = mixed_job(i);
            *kinds.entry(kind).or_insert(0) += 1;
            fields
        })
        .collect();
    push(conn, SOURCE, &jobs);
    kinds
}

/// A job of `kind` with id number `n`.
pub fn job_of(kind: Kind, n: u64) -> Fields {
    let inputs = |input: String, iterations: &str| {
        serde_json::json!({"inputs": {"input": input, "iterations": iterations}}).to_string()
    };
    let (service, payload) = match kind {
        Kind::Local => ("clustalo", Some(inputs(fasta(5, 60), "1"))),
        Kind::Cluster => ("clustalo", Some(inputs(fasta(100, 50), "2"))),
        Kind::TooMany => ("clustalo", Some(inputs(fasta(2500, 4), "1"))),
        Kind::Invalid => ("clustalo", Some(inputs(fasta(3, 40), "500"))),
        Kind::NotJson => ("clustalo", Some("{not json".to_owned())),
        Kind::NoPayload => ("clustalo", None),
        Kind::UnknownService => ("no-such-tool", Some(inputs(fasta(2, 10), "1"))),
    };
    let mut fields = vec![
        ("service".to_owned(), service.as_bytes().to_vec()),
        ("job-id".to_owned(), job_id(n).into_bytes()),
    ];
    if let Some(payload) = payload {
        fields.push(("payload".to_owned(), payload.into_bytes()));
    }
    fields
}
