//! Stage three: the route's router chooses the targets of a valid job.
//!
//! A [`Routed`] job is made only here, from a [`Validated`] one, and its
//! targets have been checked against the route's allowed list by the plugin
//! runtime (or are the route's first target, for the null pipeline's
//! router). A route's `shadow` router answers too, right after: its answer
//! is only counted beside the live one (`switchyard_shadow_decisions_total`),
//! never acted on.

use super::failure::{Failure, Halt, Stage};
use super::job::Job;
use super::validate::Validated;
use crate::metrics::{ShadowLabels, metrics};
use crate::pipeline::snapshot::{Route, Router};
use crate::plugin::{Decision, Fault, Instances, Target};

/// A router's answer in the words shadow routing compares: its streams
/// (`a+b`), `rejected`, or `failed:KIND`.
fn verdict(decision: &Result<Decision, Fault>) -> String {
    match decision {
        Ok(Decision::Dispatch(targets)) => targets
            .iter()
            .map(|t| t.stream.as_str())
            .collect::<Vec<_>>()
            .join("+"),
        Ok(Decision::Reject(_)) => "rejected".to_owned(),
        Err(fault) => format!("failed:{}", fault.kind()),
    }
}

/// A valid job with the targets its router chose.
#[derive(Debug)]
pub struct Routed {
    /// The job.
    job: Job,
    /// The route that took it.
    route: String,
    /// Where it goes: at least one allowed target.
    targets: Vec<Target>,
    /// `name@hash` of every plugin that decided it.
    plugins: Vec<String>,
}

impl Routed {
    /// The job, its route's name, its targets and the plugins that decided:
    /// what its settlement records.
    pub(super) fn into_parts(self) -> (Job, String, Vec<Target>, Vec<String>) {
        (self.job, self.route, self.targets, self.plugins)
    }
}

/// Asks the router of `route` where `validated` goes, in `instances`'
/// instance of it (its batch's) when its isolation is `"batch"`.
pub fn route<'a>(
    route: &'a Route,
    validated: Validated,
    instances: &mut Instances<'a>,
) -> Result<Routed, Box<Halt>> {
    let (job, contract, mut plugins) = validated.into_parts();
    let decision = match &route.router {
        Router::FirstTarget => Ok(Decision::Dispatch(vec![Target {
            stream: route.settings.targets[0].clone(),
            payload: None,
            extra_fields: Vec::new(),
        }])),
        Router::Plugin(router) => {
            plugins.push(router.version().to_owned());
            let contract = contract.unwrap_or_else(|| job.to_plugin());
            let decision =
                instances.route(router, &contract, job.id(), Some(&route.settings.targets));
            if let Some(shadow) = &route.shadow {
                // Any target: a shadow may name streams the route does not
                // have yet. Its answer is counted, never acted on.
                let would = instances.route(shadow, &contract, job.id(), None);
                metrics().shadow(
                    ShadowLabels {
                        route: route.settings.name.clone(),
                        shadow: shadow.name().to_owned(),
                        live: verdict(&decision),
                        would: verdict(&would),
                    },
                    shadow.version(),
                );
            }
            decision
        }
    };
    match decision {
        Ok(Decision::Dispatch(targets)) => Ok(Routed {
            job,
            route: route.settings.name.clone(),
            targets,
            plugins,
        }),
        Ok(Decision::Reject(reason)) => {
            let reason = if reason.trim().is_empty() {
                format!("no runner: {} gave no reason", route.router.version())
            } else {
                reason
            };
            Err(Box::new(Halt::NoRunner {
                job,
                reason,
                plugins,
            }))
        }
        Err(fault) => {
            let entry = job.entry();
            tracing::warn!(job = %job.id(), entry = %entry.id, stream = %entry.stream, "{fault}");
            Err(Box::new(Halt::Failed {
                entry: job.into_entry(),
                failure: Failure::Plugin {
                    stage: Stage::Route,
                    fault,
                },
                plugins,
            }))
        }
    }
}
