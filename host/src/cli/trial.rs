//! `switchyard check` and `switchyard try`: a plugin author's loop without
//! Redis.
//!
//! `check` loads a component exactly as the daemon would and says which
//! worlds it satisfies. `try` runs it on one job file and prints the answer
//! as JSON, so an author sees what the daemon would do with that job.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};

use crate::pipeline::job::{Entry, Job, fields_from_json};
use crate::plugin::{Decision, Fault, FieldError, LoadError, Plugin, PluginSettings, Runtime};

/// The plugin's name: its file name without `.wasm`.
pub fn plugin_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plugin".into())
}

/// Loads a component exactly as the daemon would, with default settings.
pub fn check(runtime: &Runtime, path: &Path) -> Result<Plugin, LoadError> {
    Plugin::load(runtime, &plugin_name(path), path, PluginSettings::default())
}

/// Parses `KEY=VALUE` config arguments; `KEY=@FILE` reads the value from a
/// file (as curl does), so a slivka form can be passed as a file.
pub fn parse_config(pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut config = BTreeMap::new();
    for pair in pairs {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| anyhow!("--config `{pair}`: expected KEY=VALUE or KEY=@FILE"))?;
        let value = match value.strip_prefix('@') {
            Some(file) => std::fs::read_to_string(file)
                .with_context(|| format!("--config {key}: cannot read {file}"))?,
            None => value.to_owned(),
        };
        config.insert(key.to_owned(), value);
    }
    Ok(config)
}

/// Reads a job file (a JSON object of entry fields), or stdin for `-`.
pub fn read_job(source: Option<&PathBuf>) -> anyhow::Result<Job> {
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
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("{name}: not a JSON job"))?;
    let fields = fields_from_json(&value).map_err(|e| anyhow!("{name}: {e}"))?;
    let entry = Entry {
        stream: "try".into(),
        id: "0-1".into(),
        fields,
        deliveries: 1,
    };
    let job_id = entry.job_id();
    Ok(Job { entry, job_id })
}

/// Runs validate (if exported) then route (if exported and the job is
/// valid) and returns the answer as JSON; `Err` when the plugin failed.
pub fn run(plugin: &Plugin, job: &Job, allowed: Option<&[String]>) -> Result<Value, Fault> {
    let contract_job = job.to_plugin();
    let mut out = json!({ "plugin": plugin.version(), "job": job.job_id });
    if plugin.worlds().validate {
        match plugin.validate(&contract_job, &job.job_id)? {
            Err(errors) if !errors.is_empty() => {
                out["validate"] = json!({ "valid": false, "errors": errors_json(&errors) });
                return Ok(out);
            }
            _ => out["validate"] = json!({ "valid": true }),
        }
    }
    if plugin.worlds().route {
        let decision = plugin.route(&contract_job, &job.job_id, allowed)?;
        out["route"] = decision_json(&decision);
    }
    Ok(out)
}

/// Field errors as the rejected stream and `try` show them.
pub fn errors_json(errors: &[FieldError]) -> Value {
    errors
        .iter()
        .map(|e| json!({ "field": e.field, "code": e.code.as_str(), "message": e.message }))
        .collect()
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
