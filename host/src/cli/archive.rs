//! `switchyard archive`: looks up entries retention archived before it
//! trimmed them, and prints them as JSON lines.
//!
//! The archive is files, not Redis: this command needs no running Redis,
//! only the archive directory or a config that names it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};

use crate::config::Settings;
use crate::retention::archive::{Query, read_counting};

/// Prints the entries of the archive in `dir` (or the config's
/// `[retention] archive-dir`) that match `query`, one JSON line each.
pub fn run(dir: Option<PathBuf>, config: Option<&Path>, query: &Query) -> anyhow::Result<()> {
    let dir = match (dir, config) {
        (Some(dir), _) => dir,
        (None, Some(config)) => {
            // The archive needs no Redis: any server's URL lets a config
            // load that takes its URL from the environment, names a
            // cluster or sentinels. Nothing connects to it.
            let settings =
                Settings::load(config, Some("redis://127.0.0.1".into()), Some("cli".into()))?;
            settings
                .retention
                .and_then(|r| r.archive_dir)
                .ok_or_else(|| anyhow!("{} sets no [retention] archive-dir", config.display()))?
        }
        (None, None) => bail!("give --dir or --config"),
    };
    let progress = super::progress::bar(Some(0), &format!("reading {}", dir.display()), "files");
    let found = read_counting(&dir, query, &progress)?;
    let mut out = std::io::stdout().lock();
    for line in found {
        writeln!(out, "{line}")?;
    }
    Ok(())
}
