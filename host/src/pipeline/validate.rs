//! Stage two: the route's validators check the job.
//!
//! Every validator runs (a user wants all their mistakes at once); any
//! error makes the job invalid and it is rejected with all of them. A
//! validator that fails (deadline, memory, trap, bad output) halts the job
//! as a fault, for the dead letters: that is not the user's mistake.

use serde_json::{Value, json};

use super::failure::{Failure, Halt, Stage};
use super::job::Job;
use crate::daemon::snapshot::Route;
use crate::plugin::{self, FieldError};

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

/// Runs every validator of `route` on `job`.
pub fn validate(route: &Route, job: Job) -> Result<Validated, Box<Halt>> {
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
        match validator.validate(&contract, job.id()) {
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

/// Field errors as the rejected stream, status records and `try` show them.
pub fn errors_json(errors: &[FieldError]) -> Value {
    errors
        .iter()
        .map(|e| json!({ "field": e.field, "code": e.code.as_str(), "message": e.message }))
        .collect()
}
