//! Why a job could not be handled, and where on its path it failed: the
//! typed reason a dead letter carries.
//!
//! The stage that detects a failure owns it: it builds the [`Failure`] and
//! the dead letter that records it ([`super::settle::Settlement::dead_letter`]),
//! so the stage, the kind and the words in the entry always agree. The
//! names are what dead letters' `switchyard-stage` and `switchyard-error`
//! fields, status records and metrics show.

use std::fmt;

use super::job::{DecodeError, Entry, Job};
use crate::plugin::Fault;

/// A point on a job's path, as dead letters and rejections name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Counting deliveries, before the entry is read.
    Deliveries,
    /// Turning the entry into a job.
    Decode,
    /// Finding the route that takes the job.
    Match,
    /// The route's validators.
    Validate,
    /// The route's router.
    Route,
    /// Writing the outcome to Redis.
    Dispatch,
}

impl Stage {
    /// The name in `switchyard-stage` and status records.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Deliveries => "deliveries",
            Stage::Decode => "decode",
            Stage::Match => "match",
            Stage::Validate => "validate",
            Stage::Route => "route",
            Stage::Dispatch => "dispatch",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a job goes to the dead letters: a fault, never the user's mistake
/// (that is a rejection).
#[derive(Debug)]
pub enum Failure {
    /// The entry cannot become a job (see [`DecodeError`]).
    Undecodable(DecodeError),
    /// No route of the entry's source stream matches it.
    NoRoute {
        /// The source stream.
        stream: String,
        /// The entry's `service` field, if it has a readable one.
        service: Option<String>,
    },
    /// A plugin failed at `stage` (deadline, memory, trap, bad output).
    Plugin {
        /// [`Stage::Validate`] or [`Stage::Route`].
        stage: Stage,
        /// What went wrong in the plugin.
        fault: Fault,
    },
    /// Redis refused to write the job's outcome (a target key of the wrong
    /// type, ...).
    Refused {
        /// Redis's answer.
        reason: String,
    },
}

impl Failure {
    /// Where on the job's path it failed.
    pub fn stage(&self) -> Stage {
        match self {
            Failure::Undecodable(DecodeError::TooManyDeliveries { .. }) => Stage::Deliveries,
            Failure::Undecodable(_) => Stage::Decode,
            Failure::NoRoute { .. } => Stage::Match,
            Failure::Plugin { stage, .. } => *stage,
            Failure::Refused { .. } => Stage::Dispatch,
        }
    }

    /// A short stable name for the kind of failure (`switchyard-error`).
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Undecodable(error) => match error {
                DecodeError::TooManyDeliveries { .. } => "max-deliveries",
                DecodeError::TooManyFields { .. } => "too-many-fields",
                DecodeError::TooLarge { .. } => "too-large",
                DecodeError::NoPayload => "no-payload",
            },
            Failure::NoRoute { .. } => "no-route",
            Failure::Plugin { fault, .. } => fault.kind(),
            Failure::Refused { .. } => "refused",
        }
    }
}

/// The reason in words (`switchyard-reason`).
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Undecodable(error) => write!(f, "{error}"),
            Failure::NoRoute { stream, service } => write!(
                f,
                "no route of stream `{stream}` matches this entry (service `{}`)",
                service.as_deref().unwrap_or("<none>")
            ),
            Failure::Plugin { fault, .. } => write!(f, "{fault}"),
            Failure::Refused { reason } => write!(f, "Redis refused the outcome: {reason}"),
        }
    }
}

/// A job that leaves its path before dispatch, as the stage that stopped it
/// says; [`super::settle::Settlement::halted`] records it.
#[derive(Debug)]
pub enum Halt {
    /// The user's mistake: the validators found errors in the input.
    Invalid {
        /// The job.
        job: Job,
        /// Every error every validator found, as JSON.
        errors: serde_json::Value,
        /// `name@hash` of each plugin that saw the job.
        plugins: Vec<String>,
    },
    /// The router found no runner for the job.
    NoRunner {
        /// The job.
        job: Job,
        /// The router's reason, in words.
        reason: String,
        /// `name@hash` of each plugin that saw the job.
        plugins: Vec<String>,
    },
    /// A fault: the job goes to the dead letters.
    Failed {
        /// The entry, with every field it had.
        entry: Entry,
        /// What failed, and where.
        failure: Failure,
        /// `name@hash` of each plugin that saw the job.
        plugins: Vec<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_names_its_stage_kind_and_reason_as_dead_letters_show_them() {
        let cases = [
            (
                Failure::Undecodable(DecodeError::TooManyDeliveries {
                    deliveries: 6,
                    max: 5,
                }),
                "deliveries",
                "max-deliveries",
                "delivered 6 times, more than max-deliveries 5; every earlier attempt failed or its consumer died",
            ),
            (
                Failure::Undecodable(DecodeError::TooManyFields { fields: 3000 }),
                "decode",
                "too-many-fields",
                "entry has 3000 fields, more than 1000",
            ),
            (
                Failure::Undecodable(DecodeError::NoPayload),
                "decode",
                "no-payload",
                "entry has no `payload` field",
            ),
            (
                Failure::Undecodable(DecodeError::TooLarge {
                    size: 207,
                    max: 100,
                }),
                "decode",
                "too-large",
                "entry holds 207 bytes, over the maximum of 100",
            ),
            (
                Failure::NoRoute {
                    stream: "jobs".into(),
                    service: None,
                },
                "match",
                "no-route",
                "no route of stream `jobs` matches this entry (service `<none>`)",
            ),
            (
                Failure::Refused {
                    reason: "WRONGTYPE".into(),
                },
                "dispatch",
                "refused",
                "Redis refused the outcome: WRONGTYPE",
            ),
        ];
        for (failure, stage, kind, reason) in cases {
            assert_eq!(failure.stage().name(), stage);
            assert_eq!(failure.kind(), kind);
            assert_eq!(failure.to_string(), reason);
        }
    }
}
