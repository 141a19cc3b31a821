//! The status record a front end reads: one hash per job, `PREFIX + job-id`.
//!
//! switchyard's part of a job's life ends in one of three of slivka's
//! states, so the record says which, with the slivka number beside it, and
//! why: the targets, the validation errors, or the reason.

use std::borrow::Cow;

use super::job::Text;

/// Where switchyard's part of a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Dispatched to a runner's queue (slivka ACCEPTED, 3).
    Accepted,
    /// Invalid input, or no runner takes it (slivka REJECTED, 2).
    Rejected,
    /// A fault: a plugin failed, the entry was unreadable (slivka ERROR, 10).
    Error,
}

impl State {
    /// The name slivka uses.
    pub fn name(self) -> &'static str {
        match self {
            State::Accepted => "ACCEPTED",
            State::Rejected => "REJECTED",
            State::Error => "ERROR",
        }
    }

    /// slivka's number for the state.
    pub fn code(self) -> u8 {
        match self {
            State::Accepted => 3,
            State::Rejected => 2,
            State::Error => 10,
        }
    }

    /// slivka's number for the state, as the record writes it.
    pub fn code_text(self) -> &'static str {
        match self {
            State::Accepted => "3",
            State::Rejected => "2",
            State::Error => "10",
        }
    }
}

/// The fields of one status record, built by the stage that settles a job.
#[derive(Debug, Clone)]
pub struct Status {
    /// The job's state.
    pub state: State,
    /// Further fields: `targets`, `errors`, `reason`, `plugins`, ...
    pub fields: Vec<(&'static str, Text)>,
}

impl Status {
    /// A record in `state` with no further fields yet.
    pub fn new(state: State) -> Status {
        Status {
            state,
            fields: Vec::with_capacity(4),
        }
    }

    /// Adds a field.
    pub fn with(mut self, name: &'static str, value: impl Into<Text>) -> Status {
        self.fields.push((name, value.into()));
        self
    }

    /// Every field of the hash, `status` and `state` first, `updated` (Unix
    /// milliseconds) last. The record's own fields are borrowed, not
    /// copied; `source` (`STREAM/ENTRY-ID`) and `updated` are the only
    /// values made here.
    pub fn to_fields(&self, source: &str) -> Vec<(&'static str, Cow<'_, str>)> {
        let mut fields = Vec::with_capacity(self.fields.len() + 5);
        fields.push(("status", Cow::Borrowed(self.state.name())));
        fields.push(("state", Cow::Borrowed(self.state.code_text())));
        fields.push(("source", Cow::Owned(source.to_owned())));
        fields.extend(
            self.fields
                .iter()
                .map(|(k, v)| (*k, Cow::Borrowed(v.as_str()))),
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        fields.push(("updated", Cow::Owned(now.to_string())));
        fields
    }
}
