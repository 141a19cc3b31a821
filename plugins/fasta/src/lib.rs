//! FASTA reading shared by the `slivka-form` validator and the `fasta-size`
//! router, exactly as slivka reads it.
//!
//! slivka checks an `application/fasta` upload, and slivka-bio's limiters
//! count one, with Biopython 1.88:
//! `Bio.SeqIO.parse(io.TextIOWrapper(stream, encoding="ascii"), "fasta")`.
//! Both plugins must agree with that reading, quirks included, or a job
//! slivka accepts would be refused here (or the other way round). This crate
//! is that one reading. It is a plain library (no bindings), so it is tested
//! natively, against Biopython's own answers (`tests/biopython.rs`).
//!
//! # What Biopython accepts
//!
//! - The text must be ASCII: any other byte, anywhere, is an error (the
//!   `ascii` decoder raises `UnicodeDecodeError`, a `ValueError`).
//! - Lines end at `\n`, `\r` or `\r\n` (universal newlines). No other
//!   character ends a line (not `\x0b`, `\x0c`, NUL).
//! - An empty text holds no records, and that is not an error.
//! - Otherwise the first line must start with `>`: a blank first line, a
//!   line of spaces or one starting ` >` is an error.
//! - Every line starting with `>` opens a record; everything else belongs to
//!   the record above it. A record may have no sequence lines (`>` alone is
//!   a record of length 0); blank lines are allowed anywhere after the first.
//! - A record's length is the number of characters of its other lines,
//!   except spaces, tabs and line ends. Everything else counts: digits, `.`,
//!   `-`, `*`, `>` in the middle of a line, NUL, `\x0b`, `\x0c`.
//!
//! ```
//! let summary = fasta::read(">seq1\nMKV\nLL\n>seq2\nMK-\n").unwrap();
//! assert_eq!((summary.sequences, summary.residues), (2, 8));
//! assert_eq!(summary.average_length(), 4);
//!
//! assert_eq!(fasta::read("").unwrap().sequences, 0);
//! assert!(!fasta::is_fasta(""));
//! assert!(fasta::is_fasta(">only a header"));
//!
//! let error = fasta::read("MKV\n>seq1\n").unwrap_err();
//! assert_eq!(error.to_string(), "line 1 must be a `>` header, got `MKV`");
//! ```

use std::fmt;

/// What a FASTA text holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// The number of records (`>` lines). 0 only for an empty text.
    pub sequences: usize,
    /// The length of all records' sequences together.
    pub residues: usize,
}

impl Summary {
    /// The mean sequence length, rounded down, as slivka-bio's limiters
    /// compute it; 0 when there are no records.
    pub fn average_length(&self) -> usize {
        self.residues.checked_div(self.sequences).unwrap_or(0)
    }
}

/// Why Biopython would refuse a text. Lines are numbered from 1, counting
/// `\r\n` as one line end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FastaError {
    /// The text holds a character that is not ASCII.
    NotAscii {
        /// The line it is on.
        line: usize,
        /// The character.
        character: char,
    },
    /// The text does not start with a `>` header line.
    NoHeader {
        /// The first line, cut to 40 characters (empty for a blank line).
        first_line: String,
    },
}

impl fmt::Display for FastaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FastaError::NotAscii { line, character } => write!(
                f,
                "line {line}: {character:?} is not ASCII (FASTA text must be ASCII)"
            ),
            FastaError::NoHeader { first_line } if first_line.trim().is_empty() => {
                f.write_str("line 1 must be a `>` header, got a blank line")
            }
            FastaError::NoHeader { first_line } => {
                write!(f, "line 1 must be a `>` header, got `{first_line}`")
            }
        }
    }
}

impl std::error::Error for FastaError {}

/// Whether `text` is FASTA as slivka's `application/fasta` check sees it:
/// Biopython reads it without an error and finds at least one record.
pub fn is_fasta(text: &str) -> bool {
    matches!(read(text), Ok(summary) if summary.sequences > 0)
}

/// Reads `text` as Biopython does, counting its records and their lengths.
pub fn read(text: &str) -> Result<Summary, FastaError> {
    let bytes = text.as_bytes();
    if !text.is_ascii() {
        return Err(not_ascii(text));
    }
    match bytes.first() {
        None => {
            return Ok(Summary {
                sequences: 0,
                residues: 0,
            });
        }
        Some(b'>') => {}
        Some(_) => {
            let end = line_end(bytes, 0);
            return Err(FastaError::NoHeader {
                first_line: text[..end].chars().take(40).collect(),
            });
        }
    }

    let mut sequences = 0;
    let mut residues = 0;
    // The start of the current line. A `\r\n` ends one line and starts an
    // empty one, which counts for nothing: no need to pair them up.
    let mut start = 0;
    while start < bytes.len() {
        if bytes[start] == b'>' {
            sequences += 1;
            start = line_end(bytes, start) + 1;
        } else {
            let (end, blanks) = sequence_line(bytes, start);
            residues += end - start - blanks;
            start = end + 1;
        }
    }
    Ok(Summary {
        sequences,
        residues,
    })
}

/// The error for a text that is not ASCII: where, and what.
fn not_ascii(text: &str) -> FastaError {
    let (at, character) = text
        .char_indices()
        .find(|(_, c)| !c.is_ascii())
        .unwrap_or((0, '\u{fffd}'));
    let before = &text.as_bytes()[..at];
    // `\r\n` is one line end: count the `\n`s and the `\r`s not before one.
    let newlines = before.iter().filter(|&&b| b == b'\n').count();
    let returns = before
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\r' && before.get(i + 1) != Some(&b'\n'))
        .count();
    FastaError::NotAscii {
        line: 1 + newlines + returns,
        character,
    }
}

// Sequence lines are most of a FASTA text, so they are read eight bytes at
// a time as one integer, which is fast natively and in WebAssembly alike,
// without vector instructions. A word holds eight bytes, little-endian
// (byte `i` is bits `8i..8i+8`); each test answers in the top bit of each
// byte and leaves every other bit clear. The text is ASCII by then, so no
// byte has its top bit set, and no byte carries into the next.

/// A byte with its bit 0 set, in every byte of a word.
const ONES: u64 = 0x0101_0101_0101_0101;
/// The low seven bits of every byte.
const LOW: u64 = ONES * 0x7f;
/// The top bit of every byte.
const TOP: u64 = ONES * 0x80;

/// The bytes of `word` (all ASCII) equal to `c`.
fn equal_bytes(word: u64, c: u8) -> u64 {
    // `byte ^ c` is zero exactly for the equal bytes; adding 0x7f to any
    // other 7-bit value sets its top bit.
    !((word ^ (ONES * u64::from(c))) + LOW) & TOP
}

/// The line ends (`\n`, `\r`) among the bytes of `word`.
fn line_ends(word: u64) -> u64 {
    equal_bytes(word, b'\n') | equal_bytes(word, b'\r')
}

/// The bytes of `word` that do not count: spaces and tabs.
fn blanks(word: u64) -> u64 {
    equal_bytes(word, b' ') | equal_bytes(word, b'\t')
}

/// The index of the first byte flagged by a test (8 if none is).
fn first_flagged(flags: u64) -> usize {
    (flags.trailing_zeros() / 8) as usize
}

/// The eight bytes at `at`, as a word.
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// The offset of the line end (`\n` or `\r`) of the line starting at
/// `start`, or `bytes.len()` for the last line.
fn line_end(bytes: &[u8], start: usize) -> usize {
    let mut at = start;
    while at + 8 <= bytes.len() {
        let ends = line_ends(word_at(bytes, at));
        if ends != 0 {
            return at + first_flagged(ends);
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map_or(bytes.len(), |offset| at + offset)
}

/// The line end of the sequence line starting at `start` (as
/// [`line_end`]) and how many of its bytes are blanks.
fn sequence_line(bytes: &[u8], start: usize) -> (usize, usize) {
    let mut at = start;
    let mut blank = 0;
    while at + 8 <= bytes.len() {
        let word = word_at(bytes, at);
        let ends = line_ends(word);
        let blank_bytes = blanks(word);
        if ends != 0 {
            let end = first_flagged(ends);
            // The flags of the bytes before the line end.
            let before = (1u64 << (8 * end)) - 1;
            blank += (blank_bytes & before).count_ones() as usize;
            return (at + end, blank);
        }
        blank += blank_bytes.count_ones() as usize;
        at += 8;
    }
    for (offset, &byte) in bytes[at..].iter().enumerate() {
        match byte {
            b'\n' | b'\r' => return (at + offset, blank),
            b' ' | b'\t' => blank += 1,
            _ => {}
        }
    }
    (bytes.len(), blank)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(sequences: usize, residues: usize) -> Result<Summary, FastaError> {
        Ok(Summary {
            sequences,
            residues,
        })
    }

    #[test]
    fn counts_records_and_residues() {
        let text =
            ">sp|P69905|HBA_HUMAN Hemoglobin\r\nMVLSPADKTN\r\nVKAAWGKVGA\r\n\r\n>two\nMK*\n\n";
        assert_eq!(read(text), summary(2, 23));
    }

    #[test]
    fn empty_text_has_no_records_and_is_not_fasta() {
        assert_eq!(read(""), summary(0, 0));
        assert!(!is_fasta(""));
        assert_eq!(read("").unwrap().average_length(), 0);
    }

    #[test]
    fn a_header_alone_is_a_record_of_length_zero() {
        assert_eq!(read(">"), summary(1, 0));
        assert_eq!(read(">a\n"), summary(1, 0));
        assert_eq!(read(">a\n>b\n\n \t\n"), summary(2, 0));
        assert!(is_fasta(">"));
    }

    #[test]
    fn the_first_line_must_be_a_header() {
        for (text, message) in [
            ("\n>a\nM", "line 1 must be a `>` header, got a blank line"),
            ("  \n>a\nM", "line 1 must be a `>` header, got a blank line"),
            ("\r\n>a\nM", "line 1 must be a `>` header, got a blank line"),
            (" >a\nM", "line 1 must be a `>` header, got ` >a`"),
            ("MKV", "line 1 must be a `>` header, got `MKV`"),
        ] {
            assert_eq!(read(text).unwrap_err().to_string(), message, "{text:?}");
            assert!(!is_fasta(text));
        }
    }

    #[test]
    fn only_spaces_tabs_and_line_ends_are_dropped_from_sequences() {
        assert_eq!(read(">a\nM K\tV \n"), summary(1, 3));
        assert_eq!(read(">a\n12.-*\x0b\x0c\0"), summary(1, 8));
        assert_eq!(read(">a\nMK>V\n"), summary(1, 4));
    }

    #[test]
    fn carriage_returns_end_lines() {
        assert_eq!(read(">a\rMK\r>b\rV"), summary(2, 3));
        assert_eq!(read(">a\r\n\r\nMK\r\n>b\r\nV\r\n"), summary(2, 3));
    }

    #[test]
    fn any_character_that_is_not_ascii_is_an_error() {
        assert_eq!(
            read(">a\r\nMK\rV\né"),
            Err(FastaError::NotAscii {
                line: 4,
                character: 'é'
            })
        );
        assert_eq!(
            read(">\u{a0}\nMKV").unwrap_err().to_string(),
            "line 1: '\\u{a0}' is not ASCII (FASTA text must be ASCII)"
        );
    }

    /// The plain reading `read` must agree with: split into lines, look at
    /// each character.
    fn read_slowly(text: &str) -> Result<Summary, FastaError> {
        if !text.is_ascii() {
            return Err(not_ascii(text));
        }
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let mut lines = text.split('\n');
        let mut summary = Summary {
            sequences: 0,
            residues: 0,
        };
        match lines.next() {
            Some("") if text.is_empty() => return Ok(summary),
            Some(first) if first.starts_with('>') => summary.sequences = 1,
            Some(first) => {
                return Err(FastaError::NoHeader {
                    first_line: first.chars().take(40).collect(),
                });
            }
            None => unreachable!("split yields at least one line"),
        }
        for line in lines {
            if line.starts_with('>') {
                summary.sequences += 1;
            } else {
                summary.residues += line.chars().filter(|c| !matches!(c, ' ' | '\t')).count();
            }
        }
        Ok(summary)
    }

    #[test]
    fn agrees_with_the_plain_reading() {
        // Every ASCII byte and a few others, at every position of lines long
        // and short, so each lane of a word and the short last word are
        // exercised.
        let mut odd: Vec<String> = (0u8..=127).map(|b| char::from(b).to_string()).collect();
        odd.extend(["é", "\u{a0}", "\u{85}", "\r\n", "  ", "\t\t"].map(String::from));
        let mut texts = vec![String::new(), "\n".into(), ">".into(), ">\n".into()];
        for length in [1, 7, 8, 9, 15, 16, 17, 60] {
            for at in [0, length / 2, length - 1] {
                for c in &odd {
                    let mut line: String = "ACDEFGHIKLMNPQRSTVWYacgt*- "
                        .chars()
                        .cycle()
                        .take(length)
                        .collect();
                    line.replace_range(at..at + 1, c);
                    texts.push(format!(">h\n{line}"));
                    texts.push(format!(">h\n{line}\n>g\nMKV\n"));
                    texts.push(format!("{line}\n>h\nMKV"));
                    texts.push(format!(">{line}\nMKV\n>h\n"));
                    texts.push(format!(">h\r{line}\r\n{line}\r"));
                }
            }
        }
        for text in &texts {
            assert_eq!(read(text), read_slowly(text), "{text:?}");
        }
    }

    #[test]
    fn average_rounds_down() {
        let summary = read(">a\nMKV\n>b\nMK").unwrap();
        assert_eq!(summary.average_length(), 2);
    }
}
