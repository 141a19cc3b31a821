//! Every way a job can end, as the writes that record it.
//!
//! A [`Settlement`] is what [`crate::pipeline::dispatch`] performs atomically: the
//! entries to add (to targets, the rejected stream or the dead-letter
//! stream), the status record, and the acknowledgement of the source entry.
//! It can only be built from a `Routed` job, a rejection, or a dead letter,
//! so nothing is acknowledged without its outcome written.

use crate::pipeline::job::{Entry, Job};
use crate::pipeline::route::Routed;
use crate::pipeline::status::{State, Status};

/// Field naming the source entry: `STREAM/ENTRY-ID`.
pub const SOURCE_FIELD: &str = "switchyard-source";
/// Field naming the plugins that decided: `name@hash,name@hash`.
pub const PLUGINS_FIELD: &str = "switchyard-plugins";
/// Field holding the validation errors as JSON (rejected entries).
pub const ERRORS_FIELD: &str = "switchyard-errors";
/// Field holding the reason in words (rejected and dead-letter entries).
pub const REASON_FIELD: &str = "switchyard-reason";
/// Field naming the stage that failed (dead letters): decode, match,
/// deliveries, validate, route, dispatch.
pub const STAGE_FIELD: &str = "switchyard-stage";
/// Field naming the kind of failure (dead letters): no-payload, too-large,
/// no-route, deadline, memory, trap, bad-output, ...
pub const ERROR_FIELD: &str = "switchyard-error";

/// Most fields copied from a source entry into an outcome entry; a hostile
/// entry with more is dead-lettered with a pointer to the source instead.
pub const MAX_FIELDS: usize = 1000;

/// How a job ended, for counting and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Dispatched to its targets.
    Dispatched,
    /// Written to the rejected stream.
    Rejected,
    /// Written to the dead-letter stream.
    DeadLettered,
}

/// One stream entry to add.
#[derive(Debug, Clone)]
pub struct Write {
    /// The stream.
    pub stream: String,
    /// Its fields, in order.
    pub fields: Vec<(String, Vec<u8>)>,
}

/// Everything that records one job's end; performed all or nothing.
#[derive(Debug, Clone)]
pub struct Settlement {
    /// The route that took the job; `none` when no route did.
    pub route: String,
    /// The source stream.
    pub source: String,
    /// The source entry, acknowledged when this is performed.
    pub entry_id: String,
    /// The job id: the status record's key suffix.
    pub job_id: String,
    /// How the job ended.
    pub outcome: Outcome,
    /// Entries to add.
    pub writes: Vec<Write>,
    /// The status record.
    pub status: Status,
    /// The fields of the source entry, kept so a failed dispatch can be
    /// turned into a dead letter.
    pub(crate) entry: Entry,
}

impl Settlement {
    /// The job goes to the targets its router chose.
    pub fn dispatched(routed: Routed) -> Settlement {
        let Routed {
            job,
            targets,
            plugins,
        } = routed;
        let plugins = plugins.join(",");
        let source = format!("{}/{}", job.entry.stream, job.entry.id);
        let writes: Vec<Write> = targets
            .iter()
            .map(|target| {
                // The job's own `switchyard-*` fields are dropped: those
                // names are switchyard's to write, and a second
                // `switchyard-source` would let a sender forge provenance.
                let mut fields: Vec<(String, Vec<u8>)> = job
                    .entry
                    .fields
                    .iter()
                    .filter(|(name, _)| !name.starts_with("switchyard-"))
                    .map(|(name, value)| match (&target.payload, name.as_str()) {
                        (Some(payload), crate::pipeline::job::PAYLOAD_FIELD) => {
                            (name.clone(), payload.clone())
                        }
                        _ => (name.clone(), value.clone()),
                    })
                    .collect();
                fields.extend(
                    target
                        .extra_fields
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone().into_bytes())),
                );
                fields.push((SOURCE_FIELD.into(), source.clone().into_bytes()));
                fields.push((PLUGINS_FIELD.into(), plugins.clone().into_bytes()));
                Write {
                    stream: target.stream.clone(),
                    fields,
                }
            })
            .collect();
        let names: Vec<&str> = targets.iter().map(|t| t.stream.as_str()).collect();
        let status = Status::new(State::Accepted)
            .with("targets", names.join(","))
            .with("plugins", plugins);
        Settlement::new(job.entry, job.job_id, Outcome::Dispatched, writes, status)
    }

    /// The job is invalid: every validator error, as JSON.
    pub fn invalid(
        job: Job,
        stream: &str,
        errors: serde_json::Value,
        plugins: &[String],
    ) -> Settlement {
        Settlement::rejected(
            job,
            stream,
            "validate",
            "invalid input",
            errors.to_string(),
            plugins,
        )
    }

    /// The router found no runner for the job.
    pub fn refused(job: Job, stream: &str, reason: &str, plugins: &[String]) -> Settlement {
        Settlement::rejected(job, stream, "route", reason, String::new(), plugins)
    }

    /// A rejection at `stage`, with the validation `errors` (empty for none).
    fn rejected(
        job: Job,
        stream: &str,
        stage: &str,
        reason: &str,
        errors: String,
        plugins: &[String],
    ) -> Settlement {
        let plugins = plugins.join(",");
        let write = outcome_entry(
            &job.entry,
            stream,
            [
                (ERRORS_FIELD, errors.clone()),
                (REASON_FIELD, reason.to_owned()),
                (STAGE_FIELD, stage.to_owned()),
                (PLUGINS_FIELD, plugins.clone()),
            ],
        );
        let mut status = Status::new(State::Rejected).with("reason", reason);
        if !errors.is_empty() {
            status = status.with("errors", errors);
        }
        let status = status.with("plugins", plugins);
        Settlement::new(
            job.entry,
            job.job_id,
            Outcome::Rejected,
            vec![write],
            status,
        )
    }

    /// The job could not be handled: it goes to the dead-letter `stream`
    /// with the `stage` that failed, the `kind` of failure and the reason.
    pub fn dead_letter(
        entry: Entry,
        stream: &str,
        stage: &str,
        kind: &str,
        reason: &str,
        plugins: &[String],
    ) -> Settlement {
        let plugins = plugins.join(",");
        let write = outcome_entry(
            &entry,
            stream,
            [
                (REASON_FIELD, reason.to_owned()),
                (STAGE_FIELD, stage.to_owned()),
                (ERROR_FIELD, kind.to_owned()),
                (PLUGINS_FIELD, plugins.clone()),
            ],
        );
        let mut status = Status::new(State::Error)
            .with("reason", reason)
            .with("stage", stage)
            .with("error", kind)
            .with("dead-letters", stream);
        if !plugins.is_empty() {
            status = status.with("plugins", plugins);
        }
        let job_id = entry.job_id();
        Settlement::new(entry, job_id, Outcome::DeadLettered, vec![write], status)
    }

    fn new(
        entry: Entry,
        job_id: String,
        outcome: Outcome,
        writes: Vec<Write>,
        status: Status,
    ) -> Settlement {
        Settlement {
            route: "none".to_owned(),
            source: entry.stream.clone(),
            entry_id: entry.id.clone(),
            job_id,
            outcome,
            writes,
            status,
            entry,
        }
    }

    /// This settlement, attributed to `route` (for metrics and logs).
    pub fn on_route(mut self, route: &str) -> Settlement {
        self.route = route.to_owned();
        self
    }

    /// The entry this settlement acknowledges.
    pub fn entry(&self) -> &Entry {
        &self.entry
    }
}

/// An entry for the rejected or dead-letter stream: the job's fields (at
/// most [`MAX_FIELDS`]), the pointer to the source, and the given fields.
fn outcome_entry<const N: usize>(entry: &Entry, stream: &str, extra: [(&str, String); N]) -> Write {
    let mut fields: Vec<(String, Vec<u8>)> = if entry.fields.len() <= MAX_FIELDS {
        entry
            .fields
            .iter()
            .filter(|(name, _)| !name.starts_with("switchyard-"))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    fields.push((
        SOURCE_FIELD.into(),
        format!("{}/{}", entry.stream, entry.id).into_bytes(),
    ));
    fields.extend(
        extra
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| (name.to_owned(), value.into_bytes())),
    );
    Write {
        stream: stream.to_owned(),
        fields,
    }
}
