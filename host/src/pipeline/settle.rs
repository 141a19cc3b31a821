//! Every way a job can end, as the writes that record it.
//!
//! A [`Settlement`] is what [`crate::pipeline::dispatch`] performs atomically: the
//! entries to add (to targets, the rejected stream or the dead-letter
//! stream), the status record, and the acknowledgement of the source entry.
//! It can only be built from a `Routed` job, a [`Halt`] or a [`Failure`],
//! and its fields are private, so nothing is acknowledged without its
//! outcome written.
//!
//! The outcome entries share the job's field values (see [`Text`] and
//! [`Bytes`]) rather than copying them, once per target.

use super::failure::{Failure, Halt, Stage};
use super::job::{Bytes, Entry, EntryId, Fields, Job, MAX_FIELDS, PAYLOAD_FIELD, Text};
use super::route::Routed;
use super::status::{State, Status};
use crate::config::RouteSettings;

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

impl Outcome {
    /// The name logs and the `outcome` metric label use.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Dispatched => "dispatched",
            Outcome::Rejected => "rejected",
            Outcome::DeadLettered => "dead_lettered",
        }
    }
}

/// One stream entry to add.
#[derive(Debug, Clone)]
pub struct Write {
    /// The stream.
    pub stream: String,
    /// Its fields, in order; names and values shared with the job's entry
    /// where they are its own.
    pub fields: Fields,
}

/// Everything that records one job's end; performed all or nothing.
#[derive(Debug, Clone)]
pub struct Settlement {
    /// The route that took the job; `None` when it failed before any did.
    route: Option<String>,
    /// The job id: the status record's key suffix.
    job_id: Text,
    /// How the job ended.
    outcome: Outcome,
    /// Entries to add: at least one.
    writes: Vec<Write>,
    /// The status record.
    status: Status,
    /// The source entry, acknowledged when this is performed; kept whole so
    /// a refused dispatch can still be turned into a dead letter.
    entry: Entry,
}

impl Settlement {
    /// The job goes to the targets its router chose.
    pub fn dispatched(routed: Routed) -> Settlement {
        let (job, route, targets, plugins) = routed.into_parts();
        let plugins = Text::from(plugins.join(","));
        let source = Text::from(source_of(job.entry()));
        let mut names = String::new();
        for target in &targets {
            if !names.is_empty() {
                names.push(',');
            }
            names.push_str(&target.stream);
        }
        let status = Status::new(State::Accepted)
            .with("targets", names)
            .with("plugins", plugins.clone());
        let fields = &job.entry().fields;
        let writes: Vec<Write> = targets
            .into_iter()
            .map(|target| {
                let payload = target.payload.map(Bytes::from);
                let mut out: Fields =
                    Vec::with_capacity(fields.len() + target.extra_fields.len() + 2);
                // The job's own `switchyard-*` fields are dropped: those
                // names are switchyard's to write, and a second
                // `switchyard-source` would let a sender forge provenance.
                out.extend(
                    fields
                        .iter()
                        .filter(|(name, _)| !name.starts_with("switchyard-"))
                        .map(|(name, value)| match (&payload, name.as_str()) {
                            (Some(payload), PAYLOAD_FIELD) => (name.clone(), payload.clone()),
                            _ => (name.clone(), value.clone()),
                        }),
                );
                out.extend(
                    target
                        .extra_fields
                        .into_iter()
                        .map(|(k, v)| (Text::from(k), Bytes::from(v))),
                );
                out.push((Text::from_static(SOURCE_FIELD), source.bytes().clone()));
                out.push((Text::from_static(PLUGINS_FIELD), plugins.bytes().clone()));
                Write {
                    stream: target.stream,
                    fields: out,
                }
            })
            .collect();
        let job_id = job.shared_id().clone();
        Settlement {
            route: Some(route),
            job_id,
            outcome: Outcome::Dispatched,
            writes,
            status,
            entry: job.into_entry(),
        }
    }

    /// The job stopped on `route` before dispatch: rejected, or a fault.
    pub fn halted(halt: Halt, route: &RouteSettings) -> Settlement {
        match halt {
            Halt::Invalid {
                job,
                errors,
                plugins,
            } => Settlement::rejected(
                job,
                route,
                Stage::Validate,
                "invalid input",
                errors.to_string(),
                &plugins,
            ),
            Halt::NoRunner {
                job,
                reason,
                plugins,
            } => Settlement::rejected(job, route, Stage::Route, &reason, String::new(), &plugins),
            Halt::Failed {
                entry,
                failure,
                plugins,
            } => Settlement::dead_letter(
                entry,
                Some(&route.name),
                &route.dead_letters,
                &failure,
                &plugins,
            ),
        }
    }

    /// A rejection at `stage`, with the validation `errors` (empty for none).
    fn rejected(
        job: Job,
        route: &RouteSettings,
        stage: Stage,
        reason: &str,
        errors: String,
        plugins: &[String],
    ) -> Settlement {
        let plugins = plugins.join(",");
        let write = outcome_entry(
            job.entry(),
            &route.rejected,
            [
                (ERRORS_FIELD, errors.clone()),
                (REASON_FIELD, reason.to_owned()),
                (STAGE_FIELD, stage.name().to_owned()),
                (PLUGINS_FIELD, plugins.clone()),
            ],
        );
        let mut status = Status::new(State::Rejected).with("reason", reason);
        if !errors.is_empty() {
            status = status.with("errors", errors);
        }
        let status = status.with("plugins", plugins);
        Settlement {
            route: Some(route.name.clone()),
            job_id: job.shared_id().clone(),
            outcome: Outcome::Rejected,
            writes: vec![write],
            status,
            entry: job.into_entry(),
        }
    }

    /// The job could not be handled: it goes to the dead-letter `stream`
    /// with the stage that failed, the kind of failure and the reason in
    /// words, all from `failure`. `route` is the route that took it, if
    /// one did.
    pub fn dead_letter(
        entry: Entry,
        route: Option<&str>,
        stream: &str,
        failure: &Failure,
        plugins: &[String],
    ) -> Settlement {
        let plugins = plugins.join(",");
        let (stage, kind, reason) = (failure.stage().name(), failure.kind(), failure.to_string());
        let write = outcome_entry(
            &entry,
            stream,
            [
                (REASON_FIELD, reason.clone()),
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
        Settlement {
            route: route.map(str::to_owned),
            job_id: entry.job_id(),
            outcome: Outcome::DeadLettered,
            writes: vec![write],
            status,
            entry,
        }
    }

    /// The route that took the job, if one did.
    pub fn route(&self) -> Option<&str> {
        self.route.as_deref()
    }

    /// The source stream.
    pub fn source(&self) -> &str {
        &self.entry.stream
    }

    /// The source entry's id, acknowledged when this is performed.
    pub fn entry_id(&self) -> EntryId {
        self.entry.id
    }

    /// The job id: the status record's key suffix.
    pub fn job_id(&self) -> &str {
        &self.job_id
    }

    /// How the job ended.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The entries to add, at least one.
    pub fn writes(&self) -> &[Write] {
        &self.writes
    }

    /// The status record.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The source entry, for a dead letter when Redis refuses this.
    pub fn into_entry(self) -> Entry {
        self.entry
    }
}

/// `STREAM/ENTRY-ID`: where an outcome came from.
pub fn source_of(entry: &Entry) -> String {
    let mut source = String::with_capacity(entry.stream.len() + 42);
    source.push_str(&entry.stream);
    source.push('/');
    push_u64(&mut source, entry.id.ms);
    source.push('-');
    push_u64(&mut source, entry.id.seq);
    source
}

/// Appends `n`'s decimal digits to `text`, without the formatting machinery.
fn push_u64(text: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    text.extend(digits[at..].iter().map(|&d| char::from(d)));
}

/// An entry for the rejected or dead-letter stream: the job's fields (at
/// most [`MAX_FIELDS`]), the pointer to the source, and the given fields.
fn outcome_entry<const N: usize>(
    entry: &Entry,
    stream: &str,
    extra: [(&'static str, String); N],
) -> Write {
    let mut fields: Fields = if entry.fields.len() <= MAX_FIELDS {
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
        Text::from_static(SOURCE_FIELD),
        Bytes::from(source_of(entry)),
    ));
    fields.extend(
        extra
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| (Text::from_static(name), Bytes::from(value))),
    );
    Write {
        stream: stream.to_owned(),
        fields,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Settings;
    use crate::pipeline::snapshot::Snapshot;
    use crate::plugin::Runtime;

    /// A dispatched settlement of `fields` on a null-pipeline route reading
    /// `jobs` into `out`.
    fn dispatched(fields: &[(&str, &str)]) -> (Settlement, Entry) {
        let text = "[redis]\nurl = \"redis://127.0.0.1:1\"\n[[routes]]\nsource = \"jobs\"\n\
                    router = \"r\"\ntargets = [\"out\"]\nrejected = \"rej\"\ndead-letters = \"dead\"\n";
        let mut settings = Settings::parse(Path::new("t.toml"), text, None, None).unwrap();
        settings.consumer.null_pipeline = true;
        let snapshot = Snapshot::build(&Runtime::new().unwrap(), &settings, None).unwrap();
        let entry = Entry {
            stream: "jobs".into(),
            id: EntryId { ms: 5, seq: 1 },
            fields: fields
                .iter()
                .map(|(k, v)| (Text::from(*k), Bytes::copy_from_slice(v.as_bytes())))
                .collect(),
            deliveries: 1,
        };
        let settlement = crate::pipeline::decide(&snapshot, &settings.consumer, entry.clone());
        (settlement, entry)
    }

    #[test]
    fn a_dispatched_job_shares_its_fields_with_the_outcome_entry() {
        let (settlement, entry) = dispatched(&[
            ("job-id", "j1"),
            ("switchyard-source", "forged/1-0"),
            ("payload", "{\"x\":1}"),
        ]);
        assert_eq!(settlement.outcome(), Outcome::Dispatched);
        assert_eq!(settlement.job_id(), "j1");
        let [write] = settlement.writes() else {
            panic!("one target: {settlement:?}")
        };
        assert_eq!(write.stream, "out");
        let fields: Vec<(&str, &[u8])> =
            write.fields.iter().map(|(n, v)| (&n[..], &v[..])).collect();
        assert_eq!(
            fields,
            [
                ("job-id", &b"j1"[..]),
                ("payload", b"{\"x\":1}"),
                (SOURCE_FIELD, b"jobs/5-1"),
                (PLUGINS_FIELD, b""),
            ]
        );
        assert_eq!(source_of(&entry), "jobs/5-1");
        let mut big = entry.clone();
        big.id = EntryId {
            ms: u64::MAX,
            seq: 0,
        };
        assert_eq!(source_of(&big), format!("jobs/{}-0", u64::MAX));
        // Shared, not copied: the same bytes as the entry's.
        assert_eq!(write.fields[1].1.as_ptr(), entry.fields[2].1.as_ptr());
        let status = settlement.status().to_fields("jobs/5-1");
        let status: Vec<(&str, &str)> = status.iter().map(|(n, v)| (*n, &v[..])).collect();
        assert_eq!(
            &status[..5],
            [
                ("status", "ACCEPTED"),
                ("state", "3"),
                ("source", "jobs/5-1"),
                ("targets", "out"),
                ("plugins", ""),
            ]
        );
        assert_eq!(status[5].0, "updated");
        assert!(status[5].1.parse::<u64>().unwrap() > 1_700_000_000_000);
    }

    #[test]
    fn a_dead_letter_keeps_the_fields_and_says_why() {
        let (settlement, _) = dispatched(&[("job-id", "j2"), ("service", "x")]);
        assert_eq!(settlement.outcome(), Outcome::DeadLettered);
        assert_eq!(settlement.job_id(), "j2");
        let [write] = settlement.writes() else {
            panic!("one dead letter: {settlement:?}")
        };
        assert_eq!(write.stream, "dead");
        let field = |name: &str| {
            write
                .fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        };
        assert_eq!(field("service").as_deref(), Some("x"));
        assert_eq!(field(SOURCE_FIELD).as_deref(), Some("jobs/5-1"));
        assert_eq!(field(STAGE_FIELD).as_deref(), Some("decode"));
        assert_eq!(field(ERROR_FIELD).as_deref(), Some("no-payload"));
        assert_eq!(field(PLUGINS_FIELD), None, "no plugin decided");
    }
}
