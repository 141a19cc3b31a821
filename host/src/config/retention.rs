//! `[retention]`: how often a round runs, where trimmed entries are
//! archived, and the cap of each output stream, by role and by name.
//!
//! A cap limits output streams only: a source stream is trimmed of what
//! every group acknowledged, never capped, so a cap on one is refused.

use std::collections::BTreeMap;
use std::time::Duration;

use super::defaults::{DEFAULT_RETENTION_INTERVAL, DEFAULT_TRIM_SOURCES, MIN_RETENTION_INTERVAL};
use super::file::{Base, duration};
use super::file::{CapSection, RetentionSection};
use super::routes::RouteSettings;
use super::settings::{Cap, RetentionSettings};

/// `[retention]`: a source stream may not be capped.
pub(super) fn retention_settings(
    section: RetentionSection,
    routes: &[RouteSettings],
    base: &Base,
) -> Result<RetentionSettings, String> {
    let mut streams = BTreeMap::new();
    for (stream, c) in section.stream {
        if routes.iter().any(|r| r.source == stream) {
            return Err(format!(
                "[retention.stream.\"{stream}\"] is a source stream: it is trimmed only of entries every group acknowledged, never capped"
            ));
        }
        let c = cap(&format!("retention.stream.\"{stream}\""), c)?;
        streams.insert(stream, c);
    }
    let interval = duration(
        "retention",
        ("interval", section.interval),
        (
            "interval-ms",
            section.interval_ms.map(Duration::from_millis),
        ),
    )?
    .unwrap_or(DEFAULT_RETENTION_INTERVAL);
    Ok(RetentionSettings {
        interval: interval.max(MIN_RETENTION_INTERVAL),
        archive_dir: section.archive_dir.map(|d| base.resolve(&d)),
        trim_sources: section.trim_sources.unwrap_or(DEFAULT_TRIM_SOURCES),
        targets: cap("retention.targets", section.targets)?,
        rejected: cap("retention.rejected", section.rejected)?,
        dead_letters: cap("retention.dead-letters", section.dead_letters)?,
        streams,
    })
}

/// The cap table `[table]`; a zero would trim everything, so it is refused.
fn cap(table: &str, c: CapSection) -> Result<Cap, String> {
    let max_age = duration(
        table,
        ("max-age", c.max_age),
        (
            "max-age-seconds",
            c.max_age_seconds.map(Duration::from_secs),
        ),
    )?;
    if c.max_len == Some(0) || max_age == Some(Duration::ZERO) {
        return Err(format!(
            "[{table}] max-len and max-age must be more than 0 (omit them to keep all)"
        ));
    }
    Ok(Cap {
        max_len: c.max_len,
        max_age,
    })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use crate::config::{GOOD, Role, Settings};

    use super::*;

    #[test]
    fn retention_is_off_without_its_table() {
        let s = Settings::parse(Path::new("/etc/sy/s.toml"), GOOD, None, None).unwrap();
        assert!(s.retention.is_none());
    }

    #[test]
    fn retention_caps_merge_per_stream() {
        let text = format!(
            "{GOOD}\n[retention]\ninterval-ms = 500\narchive-dir = \"archive\"\n\
             [retention.targets]\nmax-len = 100\nmax-age-seconds = 60\n\
             [retention.stream.\"queue:local\"]\nmax-len = 7\n"
        );
        let s = Settings::parse(Path::new("/etc/sy/s.toml"), &text, None, None).unwrap();
        let r = s.retention.unwrap();
        assert_eq!(r.interval, Duration::from_millis(500));
        assert_eq!(r.archive_dir, Some(PathBuf::from("/etc/sy/archive")));
        assert!(r.trim_sources);
        let local = r.cap_for("queue:local", Role::Target);
        assert_eq!(local.max_len, Some(7));
        assert_eq!(local.max_age, Some(Duration::from_secs(60)));
        assert_eq!(r.cap_for("queue:other", Role::Target).max_len, Some(100));
        assert!(!r.cap_for("jobs:dead", Role::DeadLetters).is_set());
        assert!(!r.cap_for("jobs", Role::Source).is_set());
    }

    #[test]
    fn a_cap_on_a_source_is_refused_naming_file_and_key() {
        let text = format!("{GOOD}\n[retention.stream.jobs]\nmax-len = 10\n");
        let err = Settings::parse(Path::new("s.toml"), &text, None, None).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.starts_with("s.toml: [retention.stream.\"jobs\"]"),
            "{msg}"
        );
        let text = format!("{GOOD}\n[retention.rejected]\nmax-len = 0\n");
        let err = Settings::parse(Path::new("s.toml"), &text, None, None).unwrap_err();
        assert!(
            format!("{err:#}").contains("[retention.rejected] max-len"),
            "{err:#}"
        );
    }
}
