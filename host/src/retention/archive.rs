//! The archive: where retention puts stream entries before it trims them
//! from Redis, so a job's history can still be looked up after months.
//!
//! It is a directory of gzip-compressed JSON-lines files, one file per
//! stream and trim step: `DIR/STREAM/YYYY-MM-DD/FIRST-ID_LAST-ID.jsonl.gz`
//! (the date is the UTC day it was written; `STREAM` has `/`, `%` and
//! control characters percent-encoded). A file is written under a hidden
//! temporary name, flushed and fsynced, then renamed, so a file with a final
//! name is always complete. Each line is
//! `{"stream": S, "id": ID, "fields": [[NAME, VALUE], ...], "archived-at": UNIX_MS}`
//! where a name or value that is not UTF-8 is `{"base64": "..."}`.
//!
//! If switchyard stops between writing a file and trimming its entries, the
//! next round archives them again: the archive may hold an entry twice.
//! [`read`] removes the duplicates (by stream and id), so readers never see
//! them.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine;
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde_json::{Value as Json, json};

use crate::pipeline::job::EntryId;

/// One stream entry: its id and its fields as Redis holds them.
pub type RawEntry = (String, Vec<(Vec<u8>, Vec<u8>)>);

/// An archive file being written; [`Writer::commit`] makes it visible.
pub struct Writer {
    /// The compressor over the temporary file; taken by `commit`. If the
    /// writer is dropped with it still here (a failed write), the
    /// temporary file is removed.
    encoder: Option<GzEncoder<File>>,
    /// The temporary file's path (hidden: starts with `.`).
    partial: PathBuf,
    /// The directory the file is renamed into.
    day_dir: PathBuf,
    /// The stream archived.
    stream: String,
    /// Id of the first entry written.
    first: Option<String>,
    /// Id of the last entry written (entries come in id order).
    last: Option<String>,
    /// Entries written.
    count: usize,
    /// When this file was started, Unix ms; every line carries it.
    archived_at: u128,
}

impl Writer {
    /// Starts a file for `stream` under `dir`, dated `archived_at` (Unix ms).
    pub fn create(dir: &Path, stream: &str, archived_at: u128) -> anyhow::Result<Writer> {
        let day_dir = dir.join(stream_dir(stream)).join(day(archived_at / 1000));
        std::fs::create_dir_all(&day_dir)
            .with_context(|| format!("cannot create archive dir {}", day_dir.display()))?;
        let partial = day_dir.join(format!(
            ".partial-{}-{archived_at}.jsonl.gz",
            std::process::id()
        ));
        let file = File::create(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        Ok(Writer {
            encoder: Some(GzEncoder::new(file, Compression::default())),
            partial,
            day_dir,
            stream: stream.to_owned(),
            first: None,
            last: None,
            count: 0,
            archived_at,
        })
    }

    /// Appends entries, which must come in id order.
    pub fn write(&mut self, entries: &[RawEntry]) -> anyhow::Result<()> {
        let encoder = self
            .encoder
            .as_mut()
            .expect("the encoder is only taken by commit, which consumes the writer");
        for (id, fields) in entries {
            let line = json!({
                "stream": self.stream,
                "id": id,
                "fields": fields
                    .iter()
                    .map(|(k, v)| json!([bytes_json(k), bytes_json(v)]))
                    .collect::<Vec<_>>(),
                "archived-at": self.archived_at as u64,
            });
            serde_json::to_writer(&mut *encoder, &line)?;
            encoder.write_all(b"\n")?;
            self.first.get_or_insert_with(|| id.clone());
            self.last = Some(id.clone());
            self.count += 1;
        }
        Ok(())
    }

    /// Entries written so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Finishes the file, fsyncs it and its directory, and gives it its
    /// final name. Returns that path (`None`, and no file, if nothing was
    /// written). Only after this returns may the entries be trimmed.
    pub fn commit(mut self) -> anyhow::Result<Option<PathBuf>> {
        let encoder = self.encoder.take().expect("the encoder is only taken here");
        // From here on, Drop no longer removes the temporary file; every
        // early return below removes it itself or has renamed it.
        let file = match encoder.finish() {
            Ok(file) => file,
            Err(e) => {
                let _ = std::fs::remove_file(&self.partial);
                return Err(e).context("cannot finish the archive");
            }
        };
        let (Some(first), Some(last)) = (self.first.clone(), self.last.clone()) else {
            drop(file);
            let _ = std::fs::remove_file(&self.partial);
            return Ok(None);
        };
        if let Err(e) = file.sync_all() {
            let _ = std::fs::remove_file(&self.partial);
            return Err(e).with_context(|| format!("cannot fsync {}", self.partial.display()));
        }
        drop(file);
        let name = format!("{first}_{last}.jsonl.gz");
        let mut path = self.day_dir.join(&name);
        // The same range archived twice (a crash before the trim, then the
        // same round again): keep both, the reader removes the duplicates.
        let mut n = 1;
        while path.exists() {
            path = self.day_dir.join(format!("{first}_{last}.{n}.jsonl.gz"));
            n += 1;
        }
        std::fs::rename(&self.partial, &path)
            .with_context(|| format!("cannot rename {}", self.partial.display()))?;
        File::open(&self.day_dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot fsync {}", self.day_dir.display()))?;
        Ok(Some(path))
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if self.encoder.take().is_some() {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

/// What to look up in the archive.
#[derive(Debug, Default, Clone)]
pub struct Query {
    /// Only this stream.
    pub stream: Option<String>,
    /// Only entries whose `job-id` field is this.
    pub job: Option<String>,
    /// Only the entry with this id.
    pub entry: Option<String>,
}

impl Query {
    fn matches(&self, line: &Json) -> bool {
        let has_job = |job: &str| {
            line["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|pair| pair[0].as_str() == Some("job-id") && pair[1].as_str() == Some(job))
        };
        self.stream
            .as_deref()
            .is_none_or(|s| line["stream"].as_str() == Some(s))
            && self
                .entry
                .as_deref()
                .is_none_or(|e| line["id"].as_str() == Some(e))
            && self.job.as_deref().is_none_or(has_job)
    }
}

/// Every archived entry under `dir` that matches `query`, once each (the
/// duplicates a crash can leave are dropped), ordered by stream and id.
/// Unreadable files are skipped with a warning on the log.
pub fn read(dir: &Path, query: &Query) -> anyhow::Result<Vec<Json>> {
    read_counting(dir, query, &indicatif::ProgressBar::hidden())
}

/// [`read`], counting the files read on `progress` (its length set to the
/// number of files to read).
pub fn read_counting(
    dir: &Path,
    query: &Query,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<Vec<Json>> {
    let root = match &query.stream {
        Some(stream) => dir.join(stream_dir(stream)),
        None => dir.to_owned(),
    };
    if !dir.is_dir() {
        anyhow::bail!("{} is not a directory", dir.display());
    }
    let mut files = Vec::new();
    collect_files(&root, &mut files)?;
    files.sort();
    progress.set_length(files.len() as u64);
    let mut found: BTreeMap<(String, EntryId, String), Json> = BTreeMap::new();
    for file in files {
        if let Err(e) = read_file(&file, query, &mut found) {
            progress.suspend(|| {
                tracing::warn!(file = %file.display(), "skipping an unreadable archive file: {e:#}");
            });
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok(found.into_values().collect())
}

fn read_file(
    file: &Path,
    query: &Query,
    found: &mut BTreeMap<(String, EntryId, String), Json>,
) -> anyhow::Result<()> {
    let reader = BufReader::new(MultiGzDecoder::new(File::open(file)?));
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        let value: Json = serde_json::from_str(&line).with_context(|| format!("line {}", n + 1))?;
        if !query.matches(&value) {
            continue;
        }
        let stream = value["stream"].as_str().unwrap_or_default().to_owned();
        let id = value["id"].as_str().unwrap_or_default().to_owned();
        let key = (stream, EntryId::parse(&id).unwrap_or_default(), id);
        // The first copy is kept: the one archived first.
        found.entry(key).or_insert(value);
    }
    Ok(())
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(()); // nothing archived for this stream yet
    };
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue; // a file still being written, or left by a crash
        }
        if path.is_dir() {
            collect_files(&path, files)?;
        } else if name.ends_with(".jsonl.gz") {
            files.push(path);
        }
    }
    Ok(())
}

/// A name or value as JSON: a string when it is UTF-8, else `{"base64": ...}`.
pub fn bytes_json(bytes: &[u8]) -> Json {
    match std::str::from_utf8(bytes) {
        Ok(text) => Json::String(text.to_owned()),
        Err(_) => json!({ "base64": base64::engine::general_purpose::STANDARD.encode(bytes) }),
    }
}

/// The inverse of [`bytes_json`].
pub fn json_bytes(value: &Json) -> Option<Vec<u8>> {
    match value {
        Json::String(text) => Some(text.as_bytes().to_vec()),
        Json::Object(map) => base64::engine::general_purpose::STANDARD
            .decode(map.get("base64")?.as_str()?)
            .ok(),
        _ => None,
    }
}

/// A stream name as one directory name.
fn stream_dir(stream: &str) -> String {
    let mut out = String::new();
    for c in stream.chars() {
        if c == '/' || c == '%' || c.is_control() || (out.is_empty() && c == '.') {
            for b in c.to_string().bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    if out.is_empty() { "%".into() } else { out }
}

/// `YYYY-MM-DD` (UTC) of Unix time `seconds`.
fn day(seconds: u128) -> String {
    // Howard Hinnant's days-to-civil.
    let z = (seconds / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, fields: &[(&[u8], &[u8])]) -> RawEntry {
        (
            id.to_owned(),
            fields
                .iter()
                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                .collect(),
        )
    }

    #[test]
    fn days_are_utc_dates() {
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(951_782_400), "2000-02-29");
        assert_eq!(day(1_798_761_599), "2026-12-31");
    }

    #[test]
    fn stream_names_become_one_directory() {
        assert_eq!(stream_dir("queue:local"), "queue:local");
        assert_eq!(stream_dir("a/b%c"), "a%2Fb%25c");
        assert_eq!(stream_dir(".."), "%2E.");
    }

    #[test]
    fn written_entries_read_back_once_each_with_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let a = entry("1-1", &[(b"job-id", b"A"), (b"payload", &[0xff, 0x00])]);
        let b = entry("2-0", &[(b"job-id", b"B"), (b"job-id", b"dup-name")]);
        for _ in 0..2 {
            // Twice: as after a crash between archive and trim.
            let mut w = Writer::create(dir.path(), "jobs", 1_700_000_000_000).unwrap();
            w.write(&[a.clone(), b.clone()]).unwrap();
            assert!(w.commit().unwrap().is_some());
        }
        let mut w = Writer::create(dir.path(), "queue:local", 1_700_000_000_000).unwrap();
        w.write(&[entry("3-0", &[(b"job-id", b"A")])]).unwrap();
        w.commit().unwrap();
        // Nothing written, or dropped without a commit: no file.
        let w = Writer::create(dir.path(), "jobs", 1).unwrap();
        assert_eq!(w.commit().unwrap(), None);
        let mut w = Writer::create(dir.path(), "jobs", 2).unwrap();
        w.write(std::slice::from_ref(&a)).unwrap();
        drop(w);
        assert!(
            std::fs::read_dir(dir.path().join("jobs/1970-01-01"))
                .unwrap()
                .next()
                .is_none(),
            "a temporary file was left behind"
        );

        let all = read(dir.path(), &Query::default()).unwrap();
        let ids: Vec<_> = all
            .iter()
            .map(|l| {
                format!(
                    "{}/{}",
                    l["stream"].as_str().unwrap(),
                    l["id"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(ids, ["jobs/1-1", "jobs/2-0", "queue:local/3-0"]);
        let payload = &all[0]["fields"][1];
        assert_eq!(json_bytes(&payload[1]).unwrap(), vec![0xff, 0x00]);
        assert_eq!(all[1]["fields"].as_array().unwrap().len(), 2);

        let job_a = Query {
            job: Some("A".into()),
            ..Default::default()
        };
        assert_eq!(read(dir.path(), &job_a).unwrap().len(), 2);
        let only_jobs = Query {
            stream: Some("jobs".into()),
            entry: Some("2-0".into()),
            ..Default::default()
        };
        let found = read(dir.path(), &only_jobs).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["id"], "2-0");
    }
}
