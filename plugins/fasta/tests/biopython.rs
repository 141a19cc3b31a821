//! `fasta::read` agrees with Biopython 1.88 on every case of
//! `biopython_cases.json`: the same number of records and residues, and an
//! error exactly where Biopython raises one (of the matching kind).
//!
//! The fixture is written by `tests/python/biopython_cases.py`, which asks
//! Biopython itself; rerun it after changing the corpus.

use fasta::FastaError;
use serde_json::Value;

/// The fixture's cases: name, text, Biopython's answer.
fn cases() -> Vec<(String, String, Value)> {
    let fixture: Value =
        serde_json::from_str(include_str!("biopython_cases.json")).expect("the fixture is JSON");
    assert_eq!(fixture["biopython"], "1.88");
    fixture["cases"]
        .as_array()
        .expect("a list of cases")
        .iter()
        .map(|case| {
            let text = case["parts"]
                .as_array()
                .expect("parts")
                .iter()
                .map(|part| {
                    let piece = part[0].as_str().expect("a piece");
                    let repeat = part[1].as_u64().expect("a repeat count");
                    piece.repeat(usize::try_from(repeat).expect("a small count"))
                })
                .collect();
            let name = case["name"].as_str().expect("a name").to_string();
            (name, text, case["expect"].clone())
        })
        .collect()
}

/// Shows a text in a failure message, cut to something readable.
fn shown(text: &str) -> String {
    let head: String = text.chars().take(120).collect();
    format!("{head:?} ({} bytes)", text.len())
}

#[test]
fn agrees_with_biopython_on_every_case() {
    let cases = cases();
    let (mut read, mut refused) = (0, 0);
    for (name, text, expect) in &cases {
        let found = fasta::read(text);
        match expect.get("error").and_then(Value::as_str) {
            None => {
                let summary = found.unwrap_or_else(|error| {
                    panic!(
                        "{name}: Biopython reads {}, we refuse: {error}",
                        shown(text)
                    )
                });
                assert_eq!(
                    summary.sequences as u64,
                    expect["sequences"],
                    "{name}: {}",
                    shown(text)
                );
                assert_eq!(
                    summary.residues as u64,
                    expect["residues"],
                    "{name}: {}",
                    shown(text)
                );
                assert_eq!(fasta::is_fasta(text), summary.sequences > 0, "{name}");
                read += 1;
            }
            Some(kind) => {
                let error = found.err().unwrap_or_else(|| {
                    panic!(
                        "{name}: Biopython raises {kind} on {}, we read it",
                        shown(text)
                    )
                });
                let same_kind = match kind {
                    "UnicodeDecodeError" => matches!(error, FastaError::NotAscii { .. }),
                    "ValueError" => matches!(error, FastaError::NoHeader { .. }),
                    _ => false,
                };
                assert!(
                    same_kind,
                    "{name}: Biopython raises {kind}, we say {error:?}"
                );
                assert!(!fasta::is_fasta(text), "{name}");
                refused += 1;
            }
        }
    }
    // The corpus covers both sides, and none of it was skipped.
    assert_eq!(read + refused, cases.len());
    assert!(
        read >= 1000 && refused >= 500,
        "{read} read, {refused} refused"
    );
}

#[test]
fn the_fixture_covers_the_classes_of_the_plan() {
    let names: Vec<String> = cases().into_iter().map(|(name, _, _)| name).collect();
    for wanted in [
        "empty",
        "whitespace only",
        "gt only",
        "header only",
        "leading blank line",
        "leading cr",
        "sequence first",
        "internal spaces",
        "internal tabs",
        "digits",
        "dots",
        "dashes",
        "stars",
        "gt mid line",
        "NUL in sequence",
        "vertical tab in sequence",
        "form feed in sequence",
        "cr line ends",
        "crlf line ends",
        "e acute in sequence",
        "e acute in header",
        "long line",
        "crlf at 8192",
    ] {
        assert!(
            names.iter().any(|name| name == wanted),
            "no case {wanted:?}"
        );
    }
}
