//! FASTA reading shared by the `slivka-form` validator and the `fasta-size`
//! router.
//!
//! Both plugins must agree on what FASTA is: a job the validator accepts as
//! `application/fasta` must be one the router can count. This crate is that
//! one definition. It is a plain library (no bindings), so it is tested
//! natively.
//!
//! # The format accepted
//!
//! - Lines end with `\n` (a trailing `\r` is ignored); blank lines are
//!   skipped wherever they are.
//! - The first line that is not blank is a header: it starts with `>`.
//! - Each header is followed by at least one sequence line before the next
//!   header or the end of the text.
//! - A sequence line holds letters, `*` (stop) and `-` (gap) only; spaces
//!   around it are ignored, spaces inside it are not allowed.
//! - At least one record.
//!
//! ```
//! let summary = fasta::read(">seq1\nMKV\nLL\n>seq2\nMK-\n").unwrap();
//! assert_eq!(summary.sequences, 2);
//! assert_eq!(summary.residues, 8);
//! assert_eq!(summary.average_length(), 4);
//!
//! let error = fasta::read(">seq1\n>seq2\nMKV\n").unwrap_err();
//! assert_eq!(error.to_string(), "line 1: header `>seq1` has no sequence");
//! ```

use std::fmt;

/// What a FASTA text holds, counted while checking it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// The number of records (headers). At least 1.
    pub sequences: usize,
    /// The number of residues (sequence characters, gaps included) in all
    /// records together.
    pub residues: usize,
}

impl Summary {
    /// The mean sequence length, rounded down (as slivka-bio's limiters
    /// compute it).
    pub fn average_length(&self) -> usize {
        self.residues / self.sequences
    }
}

/// Why a text is not FASTA. Lines are numbered from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FastaError {
    /// The text has no records at all (it is empty or blank).
    Empty,
    /// The first non-blank line is not a `>` header.
    NoHeader {
        /// The offending line.
        line: usize,
    },
    /// A header is followed by another header or by the end of the text.
    NoSequence {
        /// The header's line.
        line: usize,
        /// The header, without the `>`, cut to 40 characters.
        header: String,
    },
    /// A sequence line holds a character that is not a letter, `*` or `-`.
    BadCharacter {
        /// The offending line.
        line: usize,
        /// The character, as found.
        character: char,
    },
}

impl fmt::Display for FastaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FastaError::Empty => f.write_str("no sequences"),
            FastaError::NoHeader { line } => {
                write!(f, "line {line}: expected a `>` header line")
            }
            FastaError::NoSequence { line, header } => {
                write!(f, "line {line}: header `>{header}` has no sequence")
            }
            FastaError::BadCharacter { line, character } => write!(
                f,
                "line {line}: {character:?} is not a sequence character (letters, `*`, `-`)"
            ),
        }
    }
}

impl std::error::Error for FastaError {}

/// Checks that `text` is FASTA and counts its records and residues.
pub fn read(text: &str) -> Result<Summary, FastaError> {
    let mut sequences = 0;
    let mut residues = 0;
    // The line number and header of the record being read, while it has no
    // sequence line yet.
    let mut open_header: Option<(usize, &str)> = None;

    for (index, line) in text.split('\n').enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('>') {
            if let Some((line, header)) = open_header {
                return Err(no_sequence(line, header));
            }
            open_header = Some((number, header));
            sequences += 1;
        } else if sequences == 0 {
            return Err(FastaError::NoHeader { line: number });
        } else {
            if let Some(character) = line
                .chars()
                .find(|c| !(c.is_ascii_alphabetic() || *c == '*' || *c == '-'))
            {
                return Err(FastaError::BadCharacter {
                    line: number,
                    character,
                });
            }
            // Only ASCII is left, so bytes are characters.
            residues += line.len();
            open_header = None;
        }
    }

    if let Some((line, header)) = open_header {
        return Err(no_sequence(line, header));
    }
    if sequences == 0 {
        return Err(FastaError::Empty);
    }
    Ok(Summary {
        sequences,
        residues,
    })
}

/// The error for a header without sequence lines.
fn no_sequence(line: usize, header: &str) -> FastaError {
    FastaError::NoSequence {
        line,
        header: header.trim().chars().take(40).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_records_and_residues() {
        let text =
            ">sp|P69905|HBA_HUMAN Hemoglobin\r\nMVLSPADKTN\r\nVKAAWGKVGA\r\n\r\n>two\nMK*\n\n";
        assert_eq!(
            read(text),
            Ok(Summary {
                sequences: 2,
                residues: 23
            })
        );
    }

    #[test]
    fn accepts_gaps_and_lowercase() {
        assert_eq!(read(">a\nac-gt\n>b\nACGT-").unwrap().residues, 10);
    }

    #[test]
    fn rejects_empty_text() {
        assert_eq!(read(""), Err(FastaError::Empty));
        assert_eq!(read("\n  \n"), Err(FastaError::Empty));
    }

    #[test]
    fn rejects_sequence_before_header() {
        assert_eq!(
            read("\nMKV\n>a\nMKV"),
            Err(FastaError::NoHeader { line: 2 })
        );
    }

    #[test]
    fn rejects_header_without_sequence() {
        assert_eq!(
            read(">a\nMKV\n>b\n"),
            Err(FastaError::NoSequence {
                line: 3,
                header: "b".into()
            })
        );
        assert!(matches!(
            read(">a\n>b\nMKV"),
            Err(FastaError::NoSequence { line: 1, .. })
        ));
    }

    #[test]
    fn rejects_foreign_characters() {
        assert_eq!(
            read(">a\nMK V"),
            Err(FastaError::BadCharacter {
                line: 2,
                character: ' '
            })
        );
        assert!(matches!(
            read(">a\nMKV1"),
            Err(FastaError::BadCharacter { character: '1', .. })
        ));
        assert!(read("{\"not\": \"fasta\"}").is_err());
    }

    #[test]
    fn average_rounds_down() {
        let summary = read(">a\nMKV\n>b\nMK").unwrap();
        assert_eq!(summary.average_length(), 2);
    }
}
