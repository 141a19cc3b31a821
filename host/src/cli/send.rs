//! `switchyard send`: pushes jobs to a stream, as a front end would.
//!
//! Each line of the input is a JSON object of entry fields (as for
//! `switchyard try`); blank lines are skipped. Entries go in pipelines of a
//! thousand.

use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::{Context, anyhow, bail};

use crate::pipeline::job::fields_from_json;

/// Sends every job of `file` (stdin for `-` or none) to `stream`.
pub fn run(
    stream: &str,
    url: Option<String>,
    config: Option<&Path>,
    file: Option<&Path>,
) -> anyhow::Result<()> {
    let reader: Box<dyn BufRead> = match file {
        Some(path) if path.as_os_str() != "-" => Box::new(BufReader::new(
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
        )),
        _ => Box::new(BufReader::new(std::io::stdin())),
    };
    let name = file.map_or("stdin".to_owned(), |p| p.display().to_string());
    // On a cluster, every XADD goes to the master of the stream's slot.
    let (mut conn, _) = super::connect(url, config)?;
    let progress = super::progress::bar(None, &format!("sending {name} to {stream}"), "jobs");
    let mut pipe = redis::pipe();
    let mut queued = 0usize;
    let mut sent = 0usize;
    for (number, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("{name}: cannot read line {}", number + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&line)
            .with_context(|| format!("{name}:{}: not a JSON object", number + 1))?;
        let fields = fields_from_json(&value).map_err(|e| anyhow!("{name}:{}: {e}", number + 1))?;
        if fields.is_empty() {
            bail!(
                "{name}:{}: a stream entry needs at least one field",
                number + 1
            );
        }
        let cmd = pipe.cmd("XADD").arg(stream).arg("*");
        for (k, v) in &fields {
            cmd.arg(k).arg(v.as_slice());
        }
        cmd.ignore();
        queued += 1;
        if queued == 1000 {
            pipe.exec(&mut conn)
                .with_context(|| format!("cannot XADD to {stream}"))?;
            sent += queued;
            progress.set_position(sent as u64);
            queued = 0;
            pipe = redis::pipe();
        }
    }
    if queued > 0 {
        pipe.exec(&mut conn)
            .with_context(|| format!("cannot XADD to {stream}"))?;
        sent += queued;
    }
    progress.finish_and_clear();
    println!("sent {sent} jobs to {stream}");
    Ok(())
}
