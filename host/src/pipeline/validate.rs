//! Stage two: the route's validators check the job.
//!
//! Every validator runs (a user wants all their mistakes at once); any
//! error makes the job invalid and it is rejected with all of them. A
//! validator that fails (deadline, memory, trap, bad output) dead-letters
//! the job: that is a fault, not the user's mistake.

use crate::cli::trial::errors_json;
use crate::daemon::snapshot::Route;
use crate::pipeline::job::Job;
use crate::pipeline::settle::Settlement;
use crate::plugin;

/// A job every validator of its route accepted.
#[derive(Debug)]
pub struct Validated {
    /// The job.
    pub job: Job,
    /// The job as plugins see it, built once for all calls.
    pub contract: plugin::Job,
    /// `name@hash` of each plugin that has seen the job so far.
    pub plugins: Vec<String>,
}

/// Runs every validator of `route` on `job`.
pub fn validate(route: &Route, job: Job) -> Result<Validated, Box<Settlement>> {
    let contract = job.to_plugin();
    let mut plugins = Vec::with_capacity(route.validators.len() + 1);
    let mut errors = Vec::new();
    for validator in &route.validators {
        plugins.push(validator.version().to_owned());
        match validator.validate(&contract, &job.job_id) {
            Ok(Ok(())) => {}
            Ok(Err(found)) => errors.extend(found),
            Err(fault) => {
                tracing::warn!(job = %job.job_id, entry = %job.entry.id, stream = %job.entry.stream, "{fault}");
                return Err(Box::new(Settlement::dead_letter(
                    job.entry,
                    &route.settings.dead_letters,
                    "validate",
                    fault.kind(),
                    &fault.to_string(),
                    &plugins,
                )));
            }
        }
    }
    if !errors.is_empty() {
        return Err(Box::new(Settlement::invalid(
            job,
            &route.settings.rejected,
            errors_json(&errors),
            &plugins,
        )));
    }
    Ok(Validated {
        job,
        contract,
        plugins,
    })
}
