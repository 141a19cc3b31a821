//! Progress of long CLI operations (`send` of a large file, `replay`, the
//! files `archive` reads, the phases of `switchyard-bench`), so an operator
//! watching a terminal sees it move and how far it has to go.
//!
//! Drawn on stderr, and only when stderr is a terminal: piped or redirected
//! output (scripts, CI logs, `| jq`) gets the final summary line and nothing
//! else.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar counting `unit` up to `len`, or a spinner with a count when the
/// length is not known; hidden when stderr is not a terminal.
pub fn bar(len: Option<u64>, what: &str, unit: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(len) => ProgressBar::new(len),
        None => ProgressBar::no_length(),
    };
    bar.set_style(style(len.is_some(), what, unit));
    bar.set_draw_target(ProgressDrawTarget::stderr());
    bar
}

/// How a bar of `what` counting `unit` is drawn: with its length and time
/// left when `known`, else a spinner and the count.
fn style(known: bool, what: &str, unit: &str) -> ProgressStyle {
    let template = if known {
        format!("{what} [{{bar:30}}] {{pos}}/{{len}} {unit} ({{per_sec}}, {{eta}} left)")
    } else {
        format!("{what} {{spinner}} {{pos}} {unit} ({{per_sec}})")
    };
    // The templates are fixed here; a mistake in one is a bug the tests
    // catch, not an operator's problem.
    ProgressStyle::with_template(&template)
        .expect("a valid progress template")
        .progress_chars("=> ")
}
