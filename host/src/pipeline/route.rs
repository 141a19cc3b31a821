//! Stage three: the route's router chooses the targets of a valid job.
//!
//! A `Routed` job can only come from a `Validated` one, and its targets have
//! been checked against the route's allowed list by the plugin runtime.

use crate::daemon::snapshot::Route;
use crate::pipeline::job::Job;
use crate::pipeline::settle::Settlement;
use crate::pipeline::validate::Validated;
use crate::plugin::{Decision, Target};

/// A valid job with the targets its router chose.
#[derive(Debug)]
pub struct Routed {
    /// The job.
    pub job: Job,
    /// Where it goes: at least one allowed target.
    pub targets: Vec<Target>,
    /// `name@hash` of every plugin that decided it.
    pub plugins: Vec<String>,
}

/// Asks the router of `route` where `validated` goes.
pub fn route(route: &Route, validated: Validated) -> Result<Routed, Box<Settlement>> {
    let Validated {
        job,
        contract,
        mut plugins,
    } = validated;
    plugins.push(route.router.version().to_owned());
    match route
        .router
        .route(&contract, &job.job_id, Some(&route.settings.targets))
    {
        Ok(Decision::Dispatch(targets)) => Ok(Routed {
            job,
            targets,
            plugins,
        }),
        Ok(Decision::Reject(reason)) => {
            let reason = if reason.trim().is_empty() {
                format!("no runner: {} gave no reason", route.router.version())
            } else {
                reason
            };
            Err(Box::new(Settlement::refused(
                job,
                &route.settings.rejected,
                &reason,
                &plugins,
            )))
        }
        Err(fault) => {
            tracing::warn!(job = %job.job_id, entry = %job.entry.id, stream = %job.entry.stream, "{fault}");
            Err(Box::new(Settlement::dead_letter(
                job.entry,
                &route.settings.dead_letters,
                "route",
                fault.kind(),
                &fault.to_string(),
                &plugins,
            )))
        }
    }
}
