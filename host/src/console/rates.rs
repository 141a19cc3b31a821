//! The last hour of each stream's traffic, for the console's flow and rate
//! charts.
//!
//! Every [`SAMPLE_EVERY`] the console reads each stream's `entries-added`
//! (`XINFO STREAM`: every entry ever added, whatever was trimmed or
//! deleted since) and keeps the readings of the last [`KEEP`]. A rate is
//! the difference of two readings over their time apart, so it counts what
//! flowed along each edge (jobs in on a source, out on a target, rejected,
//! dead-lettered) however retention shortens the streams. The history
//! starts when the console does: a standalone console or a restarted daemon
//! shows the hour it has seen.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde_json::{Value as Json, json};

/// Time between two readings.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// How far back the history goes.
pub const KEEP: Duration = Duration::from_secs(3600);

/// One reading: Redis's clock (Unix ms) and `entries-added` per stream
/// (absent: the stream did not exist).
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// When, Unix ms.
    pub at_ms: u64,
    /// Entries ever added, per stream.
    pub added: BTreeMap<String, u64>,
}

/// The readings of the last [`KEEP`], oldest first.
#[derive(Debug, Default)]
pub struct History {
    readings: VecDeque<Reading>,
}

impl History {
    /// Adds a reading and forgets those older than [`KEEP`] before it.
    pub fn push(&mut self, reading: Reading) {
        let horizon = reading.at_ms.saturating_sub(KEEP.as_millis() as u64);
        self.readings.push_back(reading);
        while self.readings.front().is_some_and(|r| r.at_ms < horizon) {
            self.readings.pop_front();
        }
    }

    /// Per stream, its rate (entries/s) between each two readings in a
    /// row, as `[[end ms, rate], ...]`, and `now`: the latest of them
    /// (null before two readings). A stream that was missing in a reading,
    /// or whose count went down (deleted and made again), has no rate for
    /// that interval.
    pub fn rates(&self) -> Json {
        let mut series: BTreeMap<&str, Vec<(u64, f64)>> = BTreeMap::new();
        for (before, after) in self.readings.iter().zip(self.readings.iter().skip(1)) {
            let seconds = after.at_ms.saturating_sub(before.at_ms) as f64 / 1000.0;
            if seconds <= 0.0 {
                continue;
            }
            for (stream, &count) in &after.added {
                let Some(&earlier) = before.added.get(stream) else {
                    continue;
                };
                if count >= earlier {
                    series
                        .entry(stream)
                        .or_default()
                        .push((after.at_ms, (count - earlier) as f64 / seconds));
                }
            }
        }
        let streams: serde_json::Map<String, Json> = series
            .into_iter()
            .map(|(stream, points)| {
                let now = points.last().map(|&(_, rate)| rate);
                let points: Vec<Json> = points
                    .into_iter()
                    .map(|(at, rate)| json!([at, (rate * 100.0).round() / 100.0]))
                    .collect();
                (stream.to_owned(), json!({ "now": now, "series": points }))
            })
            .collect();
        json!({
            "sample-every-ms": SAMPLE_EVERY.as_millis() as u64,
            "since-ms": self.readings.front().map(|r| r.at_ms),
            "streams": streams,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(at_ms: u64, added: &[(&str, u64)]) -> Reading {
        Reading {
            at_ms,
            added: added.iter().map(|&(s, n)| (s.to_owned(), n)).collect(),
        }
    }

    #[test]
    fn a_rate_is_what_was_added_between_two_readings_over_their_time_apart() {
        let mut history = History::default();
        history.push(reading(10_000, &[("jobs", 100), ("local", 40)]));
        history.push(reading(15_000, &[("jobs", 600), ("local", 40)]));
        history.push(reading(20_000, &[("jobs", 700), ("local", 90), ("new", 5)]));
        let rates = history.rates();
        assert_eq!(
            rates["streams"]["jobs"]["series"],
            json!([[15000, 100.0], [20000, 20.0]])
        );
        assert_eq!(rates["streams"]["jobs"]["now"], json!(20.0));
        assert_eq!(rates["streams"]["local"]["now"], json!(10.0));
        // A stream first seen in the latest reading has no rate yet.
        assert!(rates["streams"]["new"].is_null());
        assert_eq!(rates["since-ms"], json!(10_000));
    }

    #[test]
    fn a_stream_made_again_has_no_rate_for_that_interval_and_the_hour_slides() {
        let mut history = History::default();
        history.push(reading(0, &[("jobs", 500)]));
        history.push(reading(5_000, &[("jobs", 3)]));
        assert!(history.rates()["streams"]["jobs"].is_null());
        history.push(reading(3_605_000, &[("jobs", 3)]));
        // The first reading is more than an hour before the latest.
        assert_eq!(history.rates()["since-ms"], json!(5_000));
    }
}
