//! What a consumer group still has to do on a stream: its lag (entries not
//! yet delivered), its pending entries and the age of the oldest one. The
//! daemon's gauges and `switchyard status` both read it from here.
//!
//! `XINFO GROUPS` has a `lag` field, but Redis 7.0 does not rebuild a group's
//! `entries-read` when it loads its AOF, so after a restart that field can
//! report thousands of entries on a stream whose group has delivered its
//! last entry. The lag here is computed from the group's `last-delivered-id`
//! and the stream itself, which a restart keeps:
//! - equal to the stream's `last-generated-id`: 0, with no further command;
//! - else the entries after it, counted with one `XRANGE (ID + COUNT L`
//!   when fewer than [`EXACT_UP_TO`];
//! - else the stream's length minus the entries up to it, counted the same
//!   way (exact when retention keeps the delivered part short);
//! - else (both parts long) Redis's own `lag`, held between
//!   [`EXACT_UP_TO`] and the stream's length, and marked inexact.
//!
//! So it costs two or three small commands when nothing waits, and at most
//! two `XRANGE`s of [`EXACT_UP_TO`] entries on a long backlog.
//!
//! The commands are asked by a [`Probe`], one step at a time, so a
//! synchronous connection ([`read`]) and the daemon's asynchronous one
//! ([`read_async`]) run the same logic.

use redis::{Cmd, RedisResult, Value};

use crate::pipeline::job::EntryId;
use crate::store::reply::{flat_map, groups, text};

/// Backlogs up to this many entries are counted exactly.
pub const EXACT_UP_TO: usize = 1000;

/// A group's backlog on one stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backlog {
    /// Entries read by the group and not yet acknowledged.
    pub pending: u64,
    /// Entries in the stream not yet delivered to the group.
    pub lag: u64,
    /// False when `lag` is Redis's own figure (a backlog longer than
    /// [`EXACT_UP_TO`] on both sides of the group's position).
    pub lag_exact: bool,
    /// The id of the oldest pending entry; `None` when nothing is pending.
    pub oldest_pending: Option<EntryId>,
}

impl Backlog {
    /// Age in ms of the oldest pending entry at `now_ms` (Unix ms), from the
    /// time in its id (when it was added); 0 when nothing is pending.
    pub fn oldest_pending_ms(&self, now_ms: u64) -> u64 {
        self.oldest_pending
            .map_or(0, |id| now_ms.saturating_sub(id.ms))
    }
}

/// The backlog of `group` on `stream` over a synchronous connection; `None`
/// when the stream or the group does not exist.
pub fn read(
    conn: &mut impl redis::ConnectionLike,
    stream: &str,
    group: &str,
) -> RedisResult<Option<Backlog>> {
    let mut probe = Probe::new(stream, group);
    let mut step = probe.first();
    loop {
        match step {
            Step::Ask(cmd) => step = probe.answer(cmd.query(conn))?,
            Step::Done(backlog) => return Ok(backlog),
        }
    }
}

/// [`read`] over an asynchronous connection (the daemon's).
pub async fn read_async(
    conn: &mut impl redis::aio::ConnectionLike,
    stream: &str,
    group: &str,
) -> RedisResult<Option<Backlog>> {
    let mut probe = Probe::new(stream, group);
    let mut step = probe.first();
    loop {
        match step {
            Step::Ask(cmd) => step = probe.answer(cmd.query_async(conn).await)?,
            Step::Done(backlog) => return Ok(backlog),
        }
    }
}

/// What a [`Probe`] wants next.
pub enum Step {
    /// Send this command and give its reply to [`Probe::answer`].
    Ask(Cmd),
    /// The answer (`None`: no such stream or group).
    Done(Option<Backlog>),
}

/// The backlog computation as a sequence of commands; see the module doc.
pub struct Probe {
    /// The stream.
    stream: String,
    /// The consumer group.
    group: String,
    /// Where the sequence is.
    state: State,
    /// The group's `last-delivered-id`, once read.
    delivered: String,
    /// Redis's own `lag` (the fallback for long backlogs; 0 when nil).
    redis_lag: u64,
    /// The stream's length, once read.
    length: u64,
    /// What is known so far (pending and its oldest entry).
    backlog: Backlog,
}

/// The command a [`Probe`] is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// `XINFO GROUPS`.
    Groups,
    /// `XINFO STREAM`.
    Stream,
    /// `XPENDING` (summary form).
    Pending,
    /// `XRANGE` after the group's position.
    After,
    /// `XRANGE` up to the group's position.
    Before,
}

impl Probe {
    /// A probe of `group` on `stream`.
    pub fn new(stream: &str, group: &str) -> Probe {
        Probe {
            stream: stream.to_owned(),
            group: group.to_owned(),
            state: State::Groups,
            delivered: String::new(),
            redis_lag: 0,
            length: 0,
            backlog: Backlog {
                pending: 0,
                lag: 0,
                lag_exact: true,
                oldest_pending: None,
            },
        }
    }

    /// The first command.
    pub fn first(&mut self) -> Step {
        self.state = State::Groups;
        let mut cmd = redis::cmd("XINFO");
        cmd.arg("GROUPS").arg(&self.stream);
        Step::Ask(cmd)
    }

    /// Takes the reply to the last command asked; a missing stream ends
    /// with `None`, any other error is returned.
    pub fn answer(&mut self, reply: RedisResult<Value>) -> RedisResult<Step> {
        let reply = match reply {
            Err(e) if self.state == State::Groups && is_missing_key(&e) => {
                return Ok(Step::Done(None));
            }
            other => other?,
        };
        Ok(match self.state {
            State::Groups => {
                let Some(group) = groups(reply)
                    .into_iter()
                    .find(|g| g.get("name") == Some(&self.group))
                else {
                    return Ok(Step::Done(None));
                };
                let number = |key: &str| group.get(key).and_then(|v| v.parse().ok());
                self.backlog.pending = number("pending").unwrap_or(0);
                self.redis_lag = number("lag").unwrap_or(0);
                self.delivered = group
                    .get("last-delivered-id")
                    .cloned()
                    .unwrap_or_else(|| "0-0".to_owned());
                self.state = State::Stream;
                let mut cmd = redis::cmd("XINFO");
                cmd.arg("STREAM").arg(&self.stream);
                Step::Ask(cmd)
            }
            State::Stream => {
                let info = flat_map(reply);
                self.length = info.get("length").and_then(|v| v.parse().ok()).unwrap_or(0);
                let generated = info.get("last-generated-id").cloned().unwrap_or_default();
                if generated == self.delivered || self.length == 0 {
                    self.backlog.lag = 0;
                    self.after_lag()
                } else {
                    self.state = State::After;
                    let mut cmd = redis::cmd("XRANGE");
                    cmd.arg(&self.stream)
                        .arg(format!("({}", self.delivered))
                        .arg("+")
                        .arg("COUNT")
                        .arg(EXACT_UP_TO);
                    Step::Ask(cmd)
                }
            }
            State::After => {
                let after = count(&reply);
                if after < EXACT_UP_TO {
                    self.backlog.lag = after as u64;
                    self.after_lag()
                } else {
                    self.state = State::Before;
                    let mut cmd = redis::cmd("XRANGE");
                    cmd.arg(&self.stream)
                        .arg("-")
                        .arg(&self.delivered)
                        .arg("COUNT")
                        .arg(EXACT_UP_TO);
                    Step::Ask(cmd)
                }
            }
            State::Before => {
                let before = count(&reply);
                if before < EXACT_UP_TO {
                    self.backlog.lag = self.length.saturating_sub(before as u64);
                } else {
                    let floor = EXACT_UP_TO as u64;
                    self.backlog.lag = self.redis_lag.clamp(floor, self.length.max(floor));
                    self.backlog.lag_exact = false;
                }
                self.after_lag()
            }
            State::Pending => {
                // [count, smallest id, greatest id, consumers]
                if let Value::Array(mut items) = reply
                    && items.len() >= 2
                {
                    self.backlog.oldest_pending =
                        text(items.swap_remove(1)).and_then(|id| EntryId::parse(&id));
                }
                Step::Done(Some(self.backlog.clone()))
            }
        })
    }

    /// Once the lag is known: ask for the oldest pending entry, if any.
    fn after_lag(&mut self) -> Step {
        if self.backlog.pending == 0 {
            return Step::Done(Some(self.backlog.clone()));
        }
        self.state = State::Pending;
        let mut cmd = redis::cmd("XPENDING");
        cmd.arg(&self.stream).arg(&self.group);
        Step::Ask(cmd)
    }
}

/// The number of entries in an `XRANGE` reply.
fn count(reply: &Value) -> usize {
    match reply {
        Value::Array(items) => items.len(),
        _ => 0,
    }
}

/// Whether `e` says the key does not exist (`XINFO` on a missing stream).
fn is_missing_key(e: &redis::RedisError) -> bool {
    e.to_string().to_ascii_lowercase().contains("no such key")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    fn group(pending: i64, delivered: &str, lag: i64) -> Value {
        Value::Array(vec![Value::Array(vec![
            bulk("name"),
            bulk("g"),
            bulk("pending"),
            Value::Int(pending),
            bulk("last-delivered-id"),
            bulk(delivered),
            bulk("lag"),
            Value::Int(lag),
        ])])
    }

    fn stream(length: i64, generated: &str) -> Value {
        Value::Array(vec![
            bulk("length"),
            Value::Int(length),
            bulk("last-generated-id"),
            bulk(generated),
        ])
    }

    fn entries(n: usize) -> Value {
        Value::Array(vec![Value::Nil; n])
    }

    /// Runs a probe on canned replies, returning the commands it asked.
    fn run(replies: Vec<Value>) -> (Vec<String>, Option<Backlog>) {
        let mut probe = Probe::new("s", "g");
        let mut step = probe.first();
        let mut asked = Vec::new();
        let mut replies = replies.into_iter();
        loop {
            match step {
                Step::Ask(cmd) => {
                    let packed = String::from_utf8_lossy(&cmd.get_packed_command()).into_owned();
                    asked.push(packed.split("\r\n").nth(2).unwrap_or_default().to_owned());
                    step = probe.answer(Ok(replies.next().expect("a reply"))).unwrap();
                }
                Step::Done(backlog) => return (asked, backlog),
            }
        }
    }

    #[test]
    fn a_group_at_the_last_generated_id_has_no_lag_whatever_redis_says() {
        let (asked, backlog) = run(vec![group(0, "5-0", 5747), stream(9000, "5-0")]);
        assert_eq!(asked, ["XINFO", "XINFO"]);
        assert_eq!(backlog.unwrap().lag, 0);
    }

    #[test]
    fn a_short_backlog_is_counted_after_the_delivered_id() {
        let (asked, backlog) = run(vec![group(0, "5-0", 5747), stream(9000, "8-0"), entries(3)]);
        assert_eq!(asked, ["XINFO", "XINFO", "XRANGE"]);
        let backlog = backlog.unwrap();
        assert_eq!((backlog.lag, backlog.lag_exact), (3, true));
    }

    #[test]
    fn a_long_backlog_after_a_short_delivered_part_is_the_length_minus_that_part() {
        let (_, backlog) = run(vec![
            group(0, "5-0", 0),
            stream(50_000, "9-0"),
            entries(EXACT_UP_TO),
            entries(10),
        ]);
        let backlog = backlog.unwrap();
        assert_eq!((backlog.lag, backlog.lag_exact), (49_990, true));
    }

    #[test]
    fn a_long_backlog_on_both_sides_is_redis_lag_held_in_bounds_and_inexact() {
        let long = || entries(EXACT_UP_TO);
        let (_, backlog) = run(vec![
            group(0, "5-0", 5),
            stream(50_000, "9-0"),
            long(),
            long(),
        ]);
        let backlog = backlog.unwrap();
        assert_eq!(
            (backlog.lag, backlog.lag_exact),
            (EXACT_UP_TO as u64, false)
        );
        let (_, backlog) = run(vec![
            group(0, "5-0", 90_000),
            stream(50_000, "9-0"),
            long(),
            long(),
        ]);
        assert_eq!(backlog.unwrap().lag, 50_000);
    }

    #[test]
    fn the_oldest_pending_entry_comes_from_the_xpending_summary() {
        let summary = Value::Array(vec![
            Value::Int(2),
            bulk("1000-1"),
            bulk("2000-0"),
            Value::Nil,
        ]);
        let (asked, backlog) = run(vec![group(2, "5-0", 0), stream(10, "5-0"), summary]);
        assert_eq!(asked, ["XINFO", "XINFO", "XPENDING"]);
        let backlog = backlog.unwrap();
        assert_eq!(backlog.oldest_pending, Some(EntryId { ms: 1000, seq: 1 }));
        assert_eq!(backlog.oldest_pending_ms(4000), 3000);
    }

    #[test]
    fn no_group_is_none() {
        let (_, backlog) = run(vec![Value::Array(Vec::new())]);
        assert_eq!(backlog, None);
    }
}
