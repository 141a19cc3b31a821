//! A route as configured, and what each stream is to switchyard: a source
//! some route reads, or a target, rejected or dead-letter stream some route
//! writes.
//!
//! Retention trims a stream by its role and `status` groups streams by it;
//! both take the roles from the routes here, so a stream named by two
//! routes has one role, the same everywhere.

/// One route: which entries it takes and what it does with them.
#[derive(Debug, Clone)]
pub struct RouteSettings {
    /// A name for logs and metrics.
    pub name: String,
    /// The stream it reads.
    pub source: String,
    /// Field → accepted values; every field must match.
    pub matches: Vec<(String, Vec<String>)>,
    /// Validator plugins, in order.
    pub validators: Vec<String>,
    /// The router plugin.
    pub router: String,
    /// A router run beside `router` on every valid job, whose decisions are
    /// counted and compared, never acted on (shadow routing).
    pub shadow: Option<String>,
    /// Streams the router may choose.
    pub targets: Vec<String>,
    /// Where invalid and refused jobs go.
    pub rejected: String,
    /// Where jobs that could not be handled go.
    pub dead_letters: String,
}

impl RouteSettings {
    /// Every stream the route writes: targets, rejected, dead letters.
    pub fn outputs(&self) -> impl Iterator<Item = &String> {
        self.targets
            .iter()
            .chain([&self.rejected, &self.dead_letters])
    }

    /// Whether an entry with these fields belongs to this route.
    pub fn matches(&self, field: impl Fn(&str) -> Option<String>) -> bool {
        self.matches
            .iter()
            .all(|(name, values)| field(name).is_some_and(|value| values.contains(&value)))
    }
}

/// Refuses two routes of one name: logs, metrics and `dead-letters` name a
/// route, so a name must say which one. `origin(i)` says where route `i`
/// was written (`[[routes]] 2`, `[slivka] service clustalo`).
pub fn check_names(
    routes: &[RouteSettings],
    origin: impl Fn(usize) -> String,
) -> Result<(), String> {
    for (i, route) in routes.iter().enumerate() {
        if let Some(first) = routes[..i].iter().position(|r| r.name == route.name) {
            return Err(format!(
                "route `{}`: `name` is given twice, by {} and by {}; route names must differ",
                route.name,
                origin(first),
                origin(i)
            ));
        }
    }
    Ok(())
}

/// Refuses a rejected or dead-letter stream that is also a target or a
/// source of some route: jobs set aside would then be run by a runner
/// reading that target, or routed again by the route reading it, and
/// `replay` could not tell them from routed jobs.
pub fn check_roles(routes: &[RouteSettings]) -> Result<(), String> {
    for route in routes {
        for (key, stream) in [
            ("rejected", &route.rejected),
            ("dead-letters", &route.dead_letters),
        ] {
            if let Some(other) = routes.iter().find(|r| r.targets.contains(stream)) {
                return Err(format!(
                    "route `{}`: `{key}` stream `{stream}` is also a target of route `{}`: \
                     jobs set aside would reach a runner",
                    route.name, other.name
                ));
            }
            if let Some(other) = routes.iter().find(|r| r.source == *stream) {
                return Err(format!(
                    "route `{}`: `{key}` stream `{stream}` is also the source of route `{}`: \
                     jobs set aside would be routed again",
                    route.name, other.name
                ));
            }
        }
    }
    Ok(())
}

/// Refuses routes that can send a job round in a circle: a route whose
/// outputs (targets, rejected or dead-letter stream) include another's
/// source, and so on back to the first. One job would then be routed for
/// ever. The message names the routes and the streams that join them.
pub fn check_loops(routes: &[RouteSettings]) -> Result<(), String> {
    // Depth-first over routes; `path` holds the routes being walked.
    fn walk(
        routes: &[RouteSettings],
        at: usize,
        path: &mut Vec<usize>,
        done: &mut Vec<bool>,
    ) -> Result<(), String> {
        if let Some(start) = path.iter().position(|&r| r == at) {
            let cycle: Vec<&RouteSettings> = path[start..].iter().map(|&r| &routes[r]).collect();
            let steps: Vec<String> = cycle
                .iter()
                .map(|r| format!("route `{}` reads `{}`", r.name, r.source))
                .collect();
            return Err(format!(
                "routes form a loop, so a job could be routed for ever: {}, and writes to `{}` again",
                steps.join(", which writes to it; "),
                cycle[0].source
            ));
        }
        if done[at] {
            return Ok(());
        }
        path.push(at);
        for (next, route) in routes.iter().enumerate() {
            if routes[at].outputs().any(|s| *s == route.source) {
                walk(routes, next, path, done)?;
            }
        }
        path.pop();
        done[at] = true;
        Ok(())
    }
    let mut done = vec![false; routes.len()];
    for start in 0..routes.len() {
        walk(routes, start, &mut Vec::new(), &mut done)?;
    }
    Ok(())
}

/// What a stream is to switchyard, for retention and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A route reads it.
    Source,
    /// A router may write to it.
    Target,
    /// Rejected jobs go to it.
    Rejected,
    /// Dead letters go to it.
    DeadLetters,
}

impl Role {
    /// The name `status` shows.
    pub fn name(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Target => "target",
            Role::Rejected => "rejected",
            Role::DeadLetters => "dead-letters",
        }
    }
}

/// Every stream `routes` name, once, with its role; a stream some route
/// reads is a source whatever else it is. Sources first, in route order.
pub fn streams_of<'a>(
    routes: impl IntoIterator<Item = &'a RouteSettings> + Clone,
) -> Vec<(String, Role)> {
    let mut streams: Vec<(String, Role)> = sources_of(routes.clone())
        .into_iter()
        .map(|s| (s, Role::Source))
        .collect();
    for route in routes {
        let outputs = route.targets.iter().map(|t| (t, Role::Target)).chain([
            (&route.rejected, Role::Rejected),
            (&route.dead_letters, Role::DeadLetters),
        ]);
        for (stream, role) in outputs {
            if !streams.iter().any(|(s, _)| s == stream) {
                streams.push((stream.clone(), role));
            }
        }
    }
    streams
}

/// The distinct source streams of `routes`, in route order.
pub fn sources_of<'a>(routes: impl IntoIterator<Item = &'a RouteSettings>) -> Vec<String> {
    let mut sources: Vec<String> = Vec::new();
    for route in routes {
        if !sources.contains(&route.source) {
            sources.push(route.source.clone());
        }
    }
    sources
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{GOOD, Settings};

    #[test]
    fn every_stream_has_one_role_and_sources_win() {
        let text = format!(
            "{GOOD}\n[[routes]]\nsource = \"queue:local\"\nrouter = \"fasta-size\"\n\
             targets = [\"queue:final\"]\nrejected = \"jobs:rejected\"\ndead-letters = \"jobs:dead\"\n"
        );
        let s = Settings::parse(Path::new("s.toml"), &text, None, None).unwrap();
        let streams = streams_of(&s.routes);
        assert_eq!(
            streams,
            vec![
                ("jobs".to_owned(), Role::Source),
                ("queue:local".to_owned(), Role::Source),
                ("jobs:rejected".to_owned(), Role::Rejected),
                ("jobs:dead".to_owned(), Role::DeadLetters),
                ("queue:final".to_owned(), Role::Target),
            ]
        );
    }
    #[test]
    fn routes_that_send_a_job_round_in_a_circle_are_refused_naming_them() {
        let route = |name: &str, source: &str, target: &str| RouteSettings {
            name: name.into(),
            source: source.into(),
            matches: Vec::new(),
            validators: Vec::new(),
            router: "r".into(),
            shadow: None,
            targets: vec![target.into()],
            rejected: "rejected".into(),
            dead_letters: "dead".into(),
        };
        let chain = [route("a", "jobs", "queue"), route("b", "queue", "final")];
        assert_eq!(check_loops(&chain), Ok(()));
        let looped = [
            route("a", "jobs", "queue"),
            route("b", "queue", "more"),
            route("c", "more", "jobs"),
        ];
        let message = check_loops(&looped).unwrap_err();
        assert_eq!(
            message,
            "routes form a loop, so a job could be routed for ever: route `a` reads `jobs`, \
             which writes to it; route `b` reads `queue`, which writes to it; route `c` reads \
             `more`, and writes to `jobs` again"
        );
        let via_dead_letters = [route("a", "jobs", "queue"), route("d", "dead", "jobs")];
        assert!(check_loops(&via_dead_letters).is_err());
    }
}
