//! `switchyard diff OLD.wasm NEW.wasm`: what a new plugin version would
//! change, shown on real jobs before it is swapped in.
//!
//! Both versions run on every job (a JSON-lines file, the last N entries of
//! a stream, or the archive), each as the daemon runs it: validate, then
//! route if the job is valid. Jobs whose verdict or destination differs are
//! grouped by (old → new) and each group described by the numbers the
//! router attached to its decision ("120 jobs move from queue:local to
//! queue:default: sequences 5, average-length 60"). `--json` prints the
//! same for scripts. The exit code is for CI of routing rules: 0 nothing
//! changes, 1 something does, 2 the diff could not run.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::trial::{
    JobFile, allowed_targets, decode_unlimited, parse_config, plugin_name, read_jobs, run,
};
use crate::pipeline::job::{Entry, EntryId, Job, fields_of};
use crate::plugin::{Plugin, PluginSettings, Runtime};
use crate::retention::archive::{Query, json_bytes};

/// Where the jobs come from.
pub enum Jobs {
    /// A job file: JSON lines (or one JSON job).
    File(PathBuf),
    /// The last `count` entries of `stream` in the Redis of `url` / `config`.
    Stream {
        /// The stream.
        stream: String,
        /// How many of its latest entries.
        count: usize,
        /// The Redis URL, if given.
        url: Option<String>,
        /// A routing config to take the URL from.
        config: Option<PathBuf>,
    },
    /// The entries retention archived in `dir` (of `stream`, if given).
    Archive {
        /// The archive directory.
        dir: PathBuf,
        /// Only this stream's.
        stream: Option<String>,
    },
}

/// What to compare.
pub struct Diff {
    /// The version running now.
    pub old: PathBuf,
    /// The version to swap in.
    pub new: PathBuf,
    /// Config values for both (`KEY=VALUE`, `KEY=@FILE`).
    pub config: Vec<String>,
    /// Config values for the old version only (over `config`).
    pub old_config: Vec<String>,
    /// Config values for the new version only (over `config`).
    pub new_config: Vec<String>,
    /// The targets a router may choose (none given: any).
    pub allow: Vec<String>,
    /// The jobs.
    pub jobs: Jobs,
    /// Print JSON.
    pub json: bool,
}

/// What one version did with one job, as far as the diff compares it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    /// The validator accepted it and there is no router.
    Valid,
    /// The validator refused it.
    Invalid,
    /// The router rejected it (whatever its words: a reason that only
    /// quotes a changed limit is not a change of verdict).
    Rejected,
    /// The router sent it to these streams.
    Dispatched(Vec<String>),
    /// The plugin failed on it (this kind of failure): a dead letter.
    Failed(String),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Valid => write!(f, "valid"),
            Verdict::Invalid => write!(f, "invalid"),
            Verdict::Rejected => write!(f, "rejected"),
            Verdict::Dispatched(streams) => write!(f, "{}", streams.join(" + ")),
            Verdict::Failed(kind) => write!(f, "a dead letter ({kind})"),
        }
    }
}

/// A verdict and the numbers the router attached to its decision.
fn verdict(answer: Result<Value, crate::plugin::Fault>) -> (Verdict, BTreeMap<String, f64>) {
    let answer = match answer {
        Ok(answer) => answer,
        Err(fault) => return (Verdict::Failed(fault.kind().to_owned()), BTreeMap::new()),
    };
    if answer["validate"]["valid"] == json!(false) {
        return (Verdict::Invalid, BTreeMap::new());
    }
    let route = &answer["route"];
    if route["reject"].is_string() {
        return (Verdict::Rejected, BTreeMap::new());
    }
    let Some(targets) = route["dispatch"].as_array() else {
        return (Verdict::Valid, BTreeMap::new());
    };
    let mut numbers = BTreeMap::new();
    for target in targets {
        for (name, value) in target["extra-fields"].as_object().into_iter().flatten() {
            if let Some(n) = value.as_str().and_then(|v| v.parse::<f64>().ok()) {
                numbers.insert(name.clone(), n);
            }
        }
    }
    let streams = targets
        .iter()
        .filter_map(|t| t["stream"].as_str().map(str::to_owned))
        .collect();
    (Verdict::Dispatched(streams), numbers)
}

/// Jobs that changed the same way.
#[derive(Default)]
struct Group {
    count: usize,
    jobs: Vec<String>,
    /// Per number the routers attached: its least and greatest value.
    ranges: BTreeMap<String, (f64, f64)>,
}

/// Runs the diff and prints it; the exit code says whether anything
/// changes (see the module doc).
pub fn run_diff(diff: &Diff) -> ExitCode {
    match compare(diff) {
        Ok(report) => {
            if diff.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("JSON values print")
                );
            } else {
                print!("{}", render(&report));
            }
            if report["changed"].as_u64() == Some(0) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Loads both versions, runs them on every job, and returns the report.
fn compare(diff: &Diff) -> anyhow::Result<Value> {
    let runtime = Runtime::new()?;
    let load = |path: &Path, own: &[String]| -> anyhow::Result<Plugin> {
        let pairs: Vec<String> = diff.config.iter().chain(own).cloned().collect();
        let (config, config_sources) = parse_config(&pairs)?;
        let settings = PluginSettings {
            config,
            config_sources,
            ..Default::default()
        };
        Plugin::load(&runtime, &plugin_name(path), path, settings)
            .with_context(|| format!("cannot load {}", path.display()))
    };
    let old = load(&diff.old, &diff.old_config)?;
    let new = load(&diff.new, &diff.new_config)?;
    let allowed = allowed_targets(&diff.allow)?;
    let (jobs, skipped) = jobs(&diff.jobs)?;
    let progress = super::progress::bar(Some(jobs.len() as u64), "diff", "jobs");
    let mut groups: BTreeMap<(Verdict, Verdict), Group> = BTreeMap::new();
    let mut unchanged: BTreeMap<Verdict, usize> = BTreeMap::new();
    for job in &jobs {
        let (before, old_numbers) = verdict(run(&old, job, allowed.as_deref()));
        let (after, new_numbers) = verdict(run(&new, job, allowed.as_deref()));
        progress.inc(1);
        if before == after {
            *unchanged.entry(before).or_default() += 1;
            continue;
        }
        let group = groups.entry((before, after)).or_default();
        group.count += 1;
        if group.jobs.len() < 10 {
            group.jobs.push(job.id().to_owned());
        }
        let numbers = if new_numbers.is_empty() {
            old_numbers
        } else {
            new_numbers
        };
        for (name, n) in numbers {
            let range = group.ranges.entry(name).or_insert((n, n));
            range.0 = range.0.min(n);
            range.1 = range.1.max(n);
        }
    }
    progress.finish_and_clear();
    let mut changes: Vec<Value> = groups
        .into_iter()
        .map(|((from, to), group)| {
            json!({
                "from": from.to_string(),
                "to": to.to_string(),
                "count": group.count,
                "jobs": group.jobs,
                "ranges": group.ranges.iter().map(|(name, (lo, hi))| (name.clone(), json!([lo, hi]))).collect::<serde_json::Map<_, _>>(),
            })
        })
        .collect();
    changes.sort_by_key(|c| std::cmp::Reverse(c["count"].as_u64()));
    let changed: usize = changes
        .iter()
        .filter_map(|c| c["count"].as_u64())
        .sum::<u64>() as usize;
    Ok(json!({
        "old": old.version(),
        "new": new.version(),
        "jobs": jobs.len(),
        "not-jobs": skipped,
        "changed": changed,
        "changes": changes,
        "unchanged": unchanged.iter().map(|(v, n)| json!({"verdict": v.to_string(), "count": n})).collect::<Vec<_>>(),
    }))
}

/// The jobs to compare on, and the entries that are not jobs (the daemon
/// would dead-letter them unread) with why.
fn jobs(source: &Jobs) -> anyhow::Result<(Vec<Job>, Vec<String>)> {
    let mut skipped = Vec::new();
    let mut keep = |job: anyhow::Result<Job>, jobs: &mut Vec<Job>| match job {
        Ok(job) => jobs.push(job),
        Err(e) => skipped.push(format!("{e:#}")),
    };
    let mut jobs = Vec::new();
    match source {
        Jobs::File(path) => match read_jobs(Some(path))? {
            JobFile::One(job) => jobs.push(job),
            JobFile::Lines(lines) => {
                for (_, job) in lines {
                    keep(job, &mut jobs);
                }
            }
        },
        Jobs::Stream {
            stream,
            count,
            url,
            config,
        } => {
            let (mut conn, _) = super::connect(url.clone(), config.as_deref())?;
            let entries: Vec<super::replay::Letter> = redis::cmd("XREVRANGE")
                .arg(stream)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(*count)
                .query(&mut conn)
                .with_context(|| format!("cannot read stream {stream}"))?;
            if entries.is_empty() {
                bail!("stream {stream} has no entries");
            }
            // Oldest first, as they were sent.
            for (id, fields) in entries.into_iter().rev() {
                keep(entry_job(stream, &id, fields), &mut jobs);
            }
        }
        Jobs::Archive { dir, stream } => {
            let query = Query {
                stream: stream.clone(),
                ..Default::default()
            };
            for line in crate::retention::archive::read(dir, &query)? {
                let stream = line["stream"].as_str().unwrap_or_default();
                let id = line["id"].as_str().unwrap_or_default();
                let fields: Vec<(String, Vec<u8>)> = line["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|pair| {
                        let name = String::from_utf8(json_bytes(&pair[0])?).ok()?;
                        Some((name, json_bytes(&pair[1])?))
                    })
                    .collect();
                keep(entry_job(stream, id, fields), &mut jobs);
            }
        }
    }
    if jobs.is_empty() {
        bail!(
            "no jobs to compare on ({} entries were not jobs)",
            skipped.len()
        );
    }
    Ok((jobs, skipped))
}

/// Entry `id` of `stream` as the daemon would decode it.
fn entry_job(stream: &str, id: &str, fields: Vec<(String, Vec<u8>)>) -> anyhow::Result<Job> {
    let entry = Entry {
        stream: stream.into(),
        id: EntryId::parse(id).unwrap_or_default(),
        fields: fields_of(fields),
        deliveries: 1,
    };
    decode_unlimited(entry, &format!("{stream} {id}"))
}

/// The report as text.
fn render(report: &Value) -> String {
    let jobs = report["jobs"].as_u64().unwrap_or(0);
    let changed = report["changed"].as_u64().unwrap_or(0);
    let mut out = format!(
        "{} → {}: {changed} of {jobs} jobs change{}\n",
        report["old"].as_str().unwrap_or("?"),
        report["new"].as_str().unwrap_or("?"),
        if changed == 0 { " (none)" } else { "" },
    );
    for change in report["changes"].as_array().into_iter().flatten() {
        let ranges: Vec<String> = change["ranges"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, range)| {
                let (lo, hi) = (
                    range[0].as_f64().unwrap_or(0.0),
                    range[1].as_f64().unwrap_or(0.0),
                );
                if lo == hi {
                    format!("{name} {lo}")
                } else {
                    format!("{name} {lo}–{hi}")
                }
            })
            .collect();
        out.push_str(&format!(
            "  {} job{} move from {} to {}{}\n    e.g. {}\n",
            change["count"],
            if change["count"] == 1 { "" } else { "s" },
            change["from"].as_str().unwrap_or("?"),
            change["to"].as_str().unwrap_or("?"),
            if ranges.is_empty() {
                String::new()
            } else {
                format!(": {}", ranges.join(", "))
            },
            change["jobs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    let unchanged: Vec<String> = report["unchanged"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| format!("{} {}", u["count"], u["verdict"].as_str().unwrap_or("?")))
        .collect();
    if !unchanged.is_empty() {
        out.push_str(&format!("  unchanged: {}\n", unchanged.join(", ")));
    }
    let skipped = report["not-jobs"].as_array().map_or(0, Vec::len);
    if skipped > 0 {
        out.push_str(&format!(
            "  {skipped} entries are not jobs (the daemon dead-letters them unread), e.g. {}\n",
            report["not-jobs"][0].as_str().unwrap_or("?")
        ));
    }
    out
}
