//! Stage two: the route's validators check the job.
//!
//! Every validator runs (a user wants all their mistakes at once); any
//! error makes the job invalid and it is rejected with all of them. A
//! validator that fails (deadline, memory, trap, bad output) halts the job
//! as a fault, for the dead letters: that is not the user's mistake.

use serde_json::{Value, json};

use super::failure::{Failure, Halt, Stage};
use super::job::Job;
use crate::pipeline::snapshot::Route;
use crate::plugin::{self, FieldError, Instances, WrittenError};

/// A job every validator of its route accepted. Made only by [`validate`].
#[derive(Debug)]
pub struct Validated {
    /// The job.
    job: Job,
    /// The job as plugins see it, built once for all calls; `None` until a
    /// plugin needs it (a route with no validator).
    contract: Option<plugin::Job>,
    /// `name@hash` of each plugin that has seen the job so far.
    plugins: Vec<String>,
}

impl Validated {
    /// The job, the job as plugins see it, and the plugins that saw it: what
    /// the route stage goes on with.
    pub(super) fn into_parts(self) -> (Job, Option<plugin::Job>, Vec<String>) {
        (self.job, self.contract, self.plugins)
    }
}

/// Runs every validator of `route` on `job`, each in `instances`' instance
/// of it (its batch's) when its isolation is `"batch"`.
pub fn validate<'a>(
    route: &'a Route,
    job: Job,
    instances: &mut Instances<'a>,
) -> Result<Validated, Box<Halt>> {
    if route.validators.is_empty() {
        return Ok(Validated {
            job,
            contract: None,
            plugins: Vec::new(),
        });
    }
    let contract = job.to_plugin();
    let mut plugins = Vec::with_capacity(route.validators.len() + 1);
    let mut errors = Vec::new();
    for validator in &route.validators {
        plugins.push(validator.version().to_owned());
        match instances.validate(validator, &contract, job.id()) {
            Ok(Ok(())) => {}
            Ok(Err(found)) => errors.extend(found),
            Err(fault) => {
                let entry = job.entry();
                tracing::warn!(job = %job.id(), entry = %entry.id, stream = %entry.stream, "{fault}");
                return Err(Box::new(Halt::Failed {
                    entry: job.into_entry(),
                    failure: Failure::Plugin {
                        stage: Stage::Validate,
                        fault,
                    },
                    plugins,
                }));
            }
        }
    }
    if !errors.is_empty() {
        return Err(Box::new(Halt::Invalid {
            job,
            errors: errors_json(&errors),
            plugins,
        }));
    }
    Ok(Validated {
        job,
        contract: Some(contract),
        plugins,
    })
}

/// Field errors as the rejected stream, status records and `try` show them:
/// each a [`WrittenError`], so that [`plugin::written_errors_len`], which
/// the output limit checks, counts exactly these bytes.
pub fn errors_json(errors: &[FieldError]) -> Value {
    errors
        .iter()
        .map(|e| json!(WrittenError::from(e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::ErrorCode;

    fn error(field: &str, code: ErrorCode, message: &str) -> FieldError {
        FieldError {
            field: field.to_owned(),
            code,
            message: message.to_owned(),
        }
    }

    #[test]
    fn the_output_limit_counts_the_errors_json_as_written_escapes_and_all() {
        let cases = [
            vec![],
            vec![error("", ErrorCode::Required, "")],
            vec![error("", ErrorCode::Required, ""); 1000],
            vec![error("input", ErrorCode::Invalid, &"\u{1}".repeat(4000))],
            vec![
                error(
                    "iterations",
                    ErrorCode::MaxValue,
                    "must be at most 100, got 250",
                ),
                error(
                    "quote\"back\\slash",
                    ErrorCode::MediaType,
                    "é \u{7f} \n\t \u{2028} 🦀",
                ),
            ],
        ];
        for errors in cases {
            let written = errors_json(&errors).to_string();
            assert_eq!(
                plugin::written_errors_len(&errors),
                written.len(),
                "{written}"
            );
        }
        // One empty error: 43 bytes and the brackets; a control character
        // in it adds the 6 of its escape.
        assert_eq!(
            plugin::written_errors_len(&[error("", ErrorCode::Required, "")]),
            45
        );
        assert_eq!(
            plugin::written_errors_len(&[error("", ErrorCode::Required, "\u{1}")]),
            51
        );
    }
}
