//! `switchyard check` and `switchyard try`: a plugin author's loop without
//! Redis.
//!
//! `check` loads a component exactly as the daemon would (its `prepare`
//! run on the `--config` given) and says which worlds it satisfies, or why
//! it does not load: a refused config names the key and, for `KEY=@FILE`,
//! the file. `try` runs it on one job file and prints the answer
//! as JSON, so an author sees what the daemon would do with that job; on a
//! JSON-lines file it runs every job in one process and prints one answer
//! line per job.
//!
//! Exit codes: `check` exits 1 when the plugin does not load; `try` exits 1
//! when the plugin fails on the job, with the failure as JSON, and 2 when it
//! cannot get that far (a bad flag, a plugin that does not load, an
//! unreadable job). Both exit 2 when the plugin runtime cannot start.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};

use crate::pipeline::job::{DecodeLimits, Entry, EntryId, Job, fields_from_json, fields_of};
use crate::pipeline::validate::errors_json;
use crate::plugin::{Decision, Fault, LimitOverrides, Plugin, PluginSettings, Runtime};

/// `switchyard check`: loads `plugin` with `config` values (`KEY=VALUE`)
/// and says which worlds it satisfies.
pub fn check_plugin(plugin: &Path, config: &[String]) -> ExitCode {
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let loaded =
        parse_config(config)
            .map_err(|e| format!("{e:#}"))
            .and_then(|(config, sources)| {
                let settings = PluginSettings {
                    config,
                    config_sources: sources,
                    ..Default::default()
                };
                Plugin::load(&runtime, &plugin_name(plugin), plugin, settings)
                    .map_err(|e| e.to_string())
            });
    match loaded {
        Ok(loaded) => {
            println!(
                "{}: {} satisfies {}",
                plugin.display(),
                loaded.version(),
                loaded.worlds().names().join(", ")
            );
            if loaded.contract() != crate::plugin::Contract::V0_2 {
                println!(
                    "contract: switchyard:plugin@{}, an earlier version (still loaded; \
                     rebuild against switchyard-plugin for 0.2.0, which sends the payload once)",
                    loaded.contract().version()
                );
            }
            if loaded.is_prepared() {
                println!("prepare: ran once at load; every job starts from what it left");
            }
            if !loaded.extra_exports().is_empty() {
                println!("ignored exports: {}", loaded.extra_exports().join(", "));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `switchyard try`: runs the plugin at `path`, with `config` values
/// (`KEY=VALUE`), `allow`ed targets and limits, on the job in `job` (stdin
/// for `-` or none), and prints its answer as JSON.
pub fn try_plugin(
    path: &Path,
    config: &[String],
    allow: &[String],
    deadline_ms: Option<u64>,
    memory_mib: Option<usize>,
    job: Option<&PathBuf>,
) -> ExitCode {
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let setup = || -> anyhow::Result<(Plugin, JobFile, Option<Vec<String>>)> {
        let overrides = LimitOverrides {
            deadline_ms,
            memory_mib,
            ..Default::default()
        };
        let (config, config_sources) = parse_config(config)?;
        let settings = PluginSettings {
            limits: overrides
                .apply(Default::default())
                .map_err(anyhow::Error::msg)?,
            config,
            config_sources,
            ..Default::default()
        };
        let plugin = Plugin::load(&runtime, &plugin_name(path), path, settings)?;
        let jobs = read_jobs(job)?;
        Ok((plugin, jobs, allowed_targets(allow)?))
    };
    let (plugin, jobs, allowed) = match setup() {
        Ok(ready) => ready,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let job = match jobs {
        JobFile::One(job) => job,
        JobFile::Lines(jobs) => return try_lines(&plugin, jobs, allowed.as_deref()),
    };
    match run(&plugin, &job, allowed.as_deref()) {
        Ok(answer) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&answer).expect("JSON values print")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&error_json(&e)).expect("JSON values print")
            );
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `try` on JSON lines: one answer per job, one line each, in the order of
/// the file (`line` says which); exit 1 if the plugin failed on any job or
/// any line was not a job.
fn try_lines(
    plugin: &Plugin,
    jobs: Vec<(usize, anyhow::Result<Job>)>,
    allowed: Option<&[String]>,
) -> ExitCode {
    let mut failed = 0;
    let mut out = std::io::stdout().lock();
    for (line, job) in jobs {
        let mut answer = match job {
            Ok(job) => run(plugin, &job, allowed).unwrap_or_else(|e| {
                failed += 1;
                let mut answer = error_json(&e);
                answer["job"] = json!(job.id());
                answer
            }),
            Err(e) => {
                failed += 1;
                json!({ "error": { "kind": "bad-job", "message": format!("{e:#}") } })
            }
        };
        answer["line"] = json!(line);
        // A closed pipe (`| head`) ends the run, as it would any filter.
        if writeln!(out, "{answer}").is_err() {
            return ExitCode::SUCCESS;
        }
    }
    if failed > 0 {
        eprintln!("error: {failed} job(s) failed (see their \"error\")");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The plugin runtime, or exit code 2 with the error printed.
fn runtime() -> Result<Runtime, ExitCode> {
    Runtime::new().map_err(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(2)
    })
}

/// The plugin's name: its file name without `.wasm`.
pub fn plugin_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plugin".into())
}

/// Config values by key, and the file each `KEY=@FILE` value was read from.
pub type ConfigArgs = (BTreeMap<String, String>, BTreeMap<String, PathBuf>);

/// Parses `KEY=VALUE` config arguments; `KEY=@FILE` reads the value from a
/// file (as curl does), so a slivka service file can be passed as a file,
/// and a refusal of that key names the file.
pub fn parse_config(pairs: &[String]) -> anyhow::Result<ConfigArgs> {
    let mut config = BTreeMap::new();
    let mut sources = BTreeMap::new();
    for pair in pairs {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| anyhow!("--config `{pair}`: expected KEY=VALUE or KEY=@FILE"))?;
        let value = match value.strip_prefix('@') {
            Some(file) => {
                sources.insert(key.to_owned(), PathBuf::from(file));
                std::fs::read_to_string(file)
                    .with_context(|| format!("--config {key}: cannot read {file}"))?
            }
            None => {
                sources.remove(key);
                value.to_owned()
            }
        };
        config.insert(key.to_owned(), value);
    }
    Ok((config, sources))
}

/// What a job file holds: one job (a JSON object of entry fields, however
/// it is laid out), or JSON lines of jobs, each read on its own.
pub enum JobFile {
    /// The whole text is one JSON value.
    One(Job),
    /// One job per non-empty line (line number, counted from 1, and the job
    /// or why that line is not one).
    Lines(Vec<(usize, anyhow::Result<Job>)>),
}

/// Reads a job file, or stdin for `-`: one job, or JSON lines of jobs.
pub fn read_jobs(source: Option<&PathBuf>) -> anyhow::Result<JobFile> {
    let (text, name) = match source {
        Some(path) if path.as_os_str() != "-" => (
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read job file {}", path.display()))?,
            path.display().to_string(),
        ),
        _ => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read a job from stdin")?;
            (text, "stdin".to_owned())
        }
    };
    jobs_in(&text, &name)
}

/// The jobs in `text` (read from `name`): see [`JobFile`]. A text that is
/// neither one JSON value nor JSON lines is refused with the first line
/// that is not JSON.
pub fn jobs_in(text: &str, name: &str) -> anyhow::Result<JobFile> {
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return Ok(JobFile::One(job_of(&value, name, 1)?));
    }
    let mut jobs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line).with_context(|| {
            format!(
                "{name}: line {}: neither one JSON job nor JSON lines",
                n + 1
            )
        })?;
        jobs.push((
            n + 1,
            job_of(&value, &format!("{name}: line {}", n + 1), n as u64 + 1),
        ));
    }
    if jobs.is_empty() {
        bail!("{name}: no job in it");
    }
    Ok(JobFile::Lines(jobs))
}

/// A job from its JSON fields (`seq`: its entry id's sequence number),
/// decoded as the daemon decodes, bar the limits the config sets.
fn job_of(value: &Value, name: &str, seq: u64) -> anyhow::Result<Job> {
    let fields = fields_from_json(value).map_err(|e| anyhow!("{name}: {e}"))?;
    let entry = Entry {
        stream: "try".into(),
        id: EntryId { ms: 0, seq },
        fields: fields_of(fields),
        deliveries: 1,
    };
    decode_unlimited(entry, name)
}

/// Decodes `entry` as the daemon would, without its size limits; the error
/// names `name`.
pub fn decode_unlimited(entry: Entry, name: &str) -> anyhow::Result<Job> {
    let unlimited = DecodeLimits {
        max_deliveries: u32::MAX,
        max_bytes: usize::MAX,
    };
    Job::decode(entry, unlimited).map_err(|(_, error)| {
        anyhow!("{name}: {error}; the daemon dead-letters such an entry unread")
    })
}

/// Runs validate (if exported) then route (if exported and the job is
/// valid) and returns the answer as JSON; `Err` when the plugin failed.
pub fn run(plugin: &Plugin, job: &Job, allowed: Option<&[String]>) -> Result<Value, Fault> {
    let contract_job = job.to_plugin();
    let mut out = json!({ "plugin": plugin.version(), "job": job.id() });
    if plugin.worlds().validate {
        match plugin.validate(&contract_job, job.id())? {
            Err(errors) if !errors.is_empty() => {
                out["validate"] = json!({ "valid": false, "errors": errors_json(&errors) });
                return Ok(out);
            }
            _ => out["validate"] = json!({ "valid": true }),
        }
    }
    if plugin.worlds().route {
        let decision = plugin.route(&contract_job, job.id(), allowed)?;
        out["route"] = decision_json(&decision);
    }
    Ok(out)
}

/// A decision as `try` shows it.
pub fn decision_json(decision: &Decision) -> Value {
    match decision {
        Decision::Reject(reason) => json!({ "reject": reason }),
        Decision::Dispatch(targets) => json!({
            "dispatch": targets.iter().map(|t| json!({
                "stream": t.stream,
                "payload": t.payload.as_ref().map(|p| String::from_utf8_lossy(p).into_owned()),
                "extra-fields": t.extra_fields.iter().cloned().collect::<BTreeMap<_, _>>(),
            })).collect::<Vec<_>>()
        }),
    }
}

/// A plugin failure as `try` prints it.
pub fn error_json(error: &Fault) -> Value {
    json!({ "error": { "kind": error.kind(), "message": error.to_string() } })
}

/// Refuses an empty allowed-target list given on the command line.
pub fn allowed_targets(allow: &[String]) -> anyhow::Result<Option<Vec<String>>> {
    if allow.iter().any(String::is_empty) {
        bail!("--allow takes a stream name");
    }
    Ok((!allow.is_empty()).then(|| allow.to_vec()))
}
