//! The two text formats Prometheus scrapes, and which one a scraper asked
//! for.
//!
//! `prometheus-client` writes only OpenMetrics, where a counter family `foo`
//! is declared `# TYPE foo counter` and its samples are `foo_total`. A
//! scraper or parser of the classic text format (`text/plain;
//! version=0.0.4`) reads such a family as `unknown`, so `/metrics` answers
//! OpenMetrics only when the `Accept` header prefers it ([`Format::accepted`])
//! and otherwise converts the same encoding to the classic form ([`classic`]).

use std::borrow::Cow;

/// A text format of `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0.0, as `prometheus-client` writes it.
    OpenMetrics,
    /// Prometheus's classic text format 0.0.4.
    Classic,
}

/// The media type OpenMetrics is asked for with.
const OPENMETRICS: &str = "application/openmetrics-text";

impl Format {
    /// The format an `Accept` header prefers: OpenMetrics when it names
    /// `application/openmetrics-text` with a quality at least that of every
    /// range the classic format matches (`text/plain`, `text/*`, `*/*`);
    /// the classic format otherwise, also without a header or with one that
    /// cannot be read (as Prometheus's own exporters do).
    pub fn accepted(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Classic;
        };
        let (mut openmetrics, mut classic) = (0.0_f32, 0.0_f32);
        for range in accept.split(',') {
            let Ok(range) = range.trim().parse::<mime::Mime>() else {
                continue;
            };
            let quality = range
                .get_param("q")
                .and_then(|q| q.as_str().parse::<f32>().ok())
                .unwrap_or(1.0);
            let essence = range.essence_str();
            if essence == OPENMETRICS {
                openmetrics = openmetrics.max(quality);
            } else if matches!(essence, "text/plain" | "text/*" | "*/*") {
                classic = classic.max(quality);
            }
        }
        if openmetrics > 0.0 && openmetrics >= classic {
            Format::OpenMetrics
        } else {
            Format::Classic
        }
    }

    /// The `Content-Type` of an answer in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Classic => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// The classic text format of an OpenMetrics exposition as
/// `prometheus-client` writes it: a counter family is named after its
/// `_total` samples, an `info` family becomes a gauge named after its
/// `_info` samples, `unknown` and the types the classic format lacks become
/// `untyped`; `# UNIT` lines, exemplars, `_created` samples and `# EOF` are
/// dropped; `\"` in help text is written `"`. Sample lines are kept as they
/// are (the two formats write labels and values alike; `prometheus-client`
/// writes no timestamps).
pub fn classic(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    // The family being written: its OpenMetrics name and type.
    let mut family: Option<(&str, &str)> = None;
    // A `# HELP` line waits for its `# TYPE` to know the classic name.
    let mut help: Option<(&str, &str)> = None;
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            help = Some((name, text));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "unknown"));
            let (classic_name, classic_kind) = match kind {
                "counter" => (Cow::Owned(format!("{name}_total")), "counter"),
                "info" => (Cow::Owned(format!("{name}_info")), "gauge"),
                "gauge" | "histogram" | "summary" => (Cow::Borrowed(name), kind),
                "stateset" => (Cow::Borrowed(name), "gauge"),
                _ => (Cow::Borrowed(name), "untyped"),
            };
            if let Some((_, text)) = help.take().filter(|(help_name, _)| *help_name == name) {
                out.push_str(&format!(
                    "# HELP {classic_name} {}\n",
                    text.replace("\\\"", "\"")
                ));
            }
            out.push_str(&format!("# TYPE {classic_name} {classic_kind}\n"));
            family = Some((name, kind));
        } else if line.starts_with('#') || line.is_empty() {
            // `# UNIT`, `# EOF`: OpenMetrics only.
        } else {
            let sample = line.split_once(" # ").map_or(line, |(sample, _)| sample);
            let created = family.is_some_and(|(name, _)| {
                sample
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with("_created"))
            });
            if !created {
                out.push_str(sample);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_is_named_after_its_samples_and_eof_and_units_are_dropped() {
        let openmetrics = "\
# HELP switchyard_reloads Hot reloads, by result.
# TYPE switchyard_reloads counter
switchyard_reloads_total{result=\"ok\"} 2
switchyard_reloads_total{result=\"failed\"} 0
switchyard_reloads_created{result=\"ok\"} 1700000000.0
# HELP process_cpu_seconds CPU time.
# TYPE process_cpu_seconds counter
# UNIT process_cpu_seconds seconds
process_cpu_seconds_total 0.25 # {trace=\"a\"} 1.0
# EOF
";
        assert_eq!(
            classic(openmetrics),
            "\
# HELP switchyard_reloads_total Hot reloads, by result.
# TYPE switchyard_reloads_total counter
switchyard_reloads_total{result=\"ok\"} 2
switchyard_reloads_total{result=\"failed\"} 0
# HELP process_cpu_seconds_total CPU time.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 0.25
"
        );
    }

    #[test]
    fn gauges_and_histograms_are_kept_and_info_becomes_a_gauge() {
        let openmetrics = "\
# HELP jobs_in_flight Entries read and not yet settled.
# TYPE jobs_in_flight gauge
jobs_in_flight 3
# HELP call_seconds Time of one call.
# TYPE call_seconds histogram
call_seconds_sum{plugin=\"a\"} 0.5
call_seconds_count{plugin=\"a\"} 1
call_seconds_bucket{le=\"1.0\",plugin=\"a\"} 1
call_seconds_bucket{le=\"+Inf\",plugin=\"a\"} 1
# HELP build The \\\"build\\\".
# TYPE build info
build_info{version=\"0.1.0\"} 1
# HELP odd Something else.
# TYPE odd unknown
odd 1
# EOF
";
        assert_eq!(
            classic(openmetrics),
            "\
# HELP jobs_in_flight Entries read and not yet settled.
# TYPE jobs_in_flight gauge
jobs_in_flight 3
# HELP call_seconds Time of one call.
# TYPE call_seconds histogram
call_seconds_sum{plugin=\"a\"} 0.5
call_seconds_count{plugin=\"a\"} 1
call_seconds_bucket{le=\"1.0\",plugin=\"a\"} 1
call_seconds_bucket{le=\"+Inf\",plugin=\"a\"} 1
# HELP build_info The \"build\".
# TYPE build_info gauge
build_info{version=\"0.1.0\"} 1
# HELP odd Something else.
# TYPE odd untyped
odd 1
"
        );
    }

    #[test]
    fn openmetrics_is_answered_only_when_the_scraper_prefers_it() {
        use Format::*;
        // Prometheus 2.x and 3.x by default.
        let prometheus = "application/openmetrics-text;version=1.0.0;q=0.5,\
                          application/openmetrics-text;version=0.0.1;q=0.4,\
                          text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assert_eq!(Format::accepted(Some(prometheus)), OpenMetrics);
        assert_eq!(
            Format::accepted(Some("application/openmetrics-text")),
            OpenMetrics
        );
        // Prometheus told to scrape the classic format only.
        assert_eq!(
            Format::accepted(Some("text/plain;version=0.0.4;q=1,*/*;q=0.1")),
            Classic
        );
        assert_eq!(
            Format::accepted(Some("text/plain;q=0.9,application/openmetrics-text;q=0.5")),
            Classic
        );
        assert_eq!(
            Format::accepted(Some("application/openmetrics-text;q=0")),
            Classic
        );
        // curl, a browser, nothing, or a header that is not one.
        assert_eq!(Format::accepted(Some("*/*")), Classic);
        assert_eq!(
            Format::accepted(Some("text/html,application/xhtml+xml,*/*;q=0.8")),
            Classic
        );
        assert_eq!(Format::accepted(None), Classic);
        assert_eq!(Format::accepted(Some(";;;")), Classic);
    }
}
