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

    for (index, (line, leading)) in Lines(Some(text)).enumerate() {
        let number = index + 1;
        if leading == line.len() && !line.is_empty() && sequences > 0 {
            // The common case, a sequence line of residues only: nothing to
            // trim and nothing to check.
            residues += line.len();
            open_header = None;
            continue;
        }
        let line = trim(line);
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
            let at = leading_residues(line.as_bytes());
            if at < line.len() {
                // Every byte before `at` is ASCII, so a character starts there.
                let character = line[at..].chars().next().unwrap_or_default();
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

/// `line.trim()`, without looking at the Unicode whitespace tables when both
/// ends are visible ASCII (nearly every line of a real file).
fn trim(line: &str) -> &str {
    match (line.as_bytes().first(), line.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => line,
        _ => line.trim(),
    }
}

/// How many bytes at the start of `bytes` are sequence characters.
///
/// Sequence lines are most of a FASTA text, so this is the hot loop. It
/// reads eight bytes at a time as one integer (see [`foreign_bytes`]), which
/// is fast natively and in WebAssembly alike, without vector instructions.
fn leading_residues(bytes: &[u8]) -> usize {
    let mut words = bytes.chunks_exact(8);
    let mut checked = 0;
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
        // Letters only is the usual case and the cheaper test.
        if letters(word) != TOP {
            let foreign = foreign_bytes(word);
            if foreign != 0 {
                return checked + first_flagged(foreign);
            }
        }
        checked += 8;
    }
    // The last, short word is padded with residues.
    let tail = words.remainder();
    let mut padded = [b'A'; 8];
    padded[..tail.len()].copy_from_slice(tail);
    let foreign = foreign_bytes(u64::from_le_bytes(padded));
    checked + first_flagged(foreign).min(tail.len())
}

/// The offset of the first `\n` in `bytes`, looking at eight bytes at a
/// time as [`leading_residues`] does.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    let mut words = bytes.chunks_exact(8);
    let mut checked = 0;
    for word in &mut words {
        let newlines = equal_bytes(u64::from_le_bytes(word.try_into().unwrap_or([0; 8])), b'\n');
        if newlines != 0 {
            return Some(checked + first_flagged(newlines));
        }
        checked += 8;
    }
    let tail = words.remainder();
    tail.iter()
        .position(|&byte| byte == b'\n')
        .map(|offset| checked + offset)
}

// Tests on eight bytes at once. A word holds eight bytes, little-endian
// (byte `i` is bits `8i..8i+8`); each test answers in the top bit of each
// byte and leaves every other bit clear. The arithmetic is arranged so that
// no byte carries into the next.

/// A byte with its bit 0 set, in every byte of a word.
const ONES: u64 = 0x0101_0101_0101_0101;
/// The top bit of every byte.
const TOP: u64 = ONES * 0x80;
/// The low seven bits of every byte.
const LOW: u64 = ONES * 0x7f;

/// The bytes of `word` that are ASCII letters.
fn letters(word: u64) -> u64 {
    // Lowercased, top bit dropped (bytes with it set are not ASCII).
    let lower = (word | (ONES * 0x20)) & LOW;
    // Adding `0x80 - n` sets the top bit exactly when the byte is >= n.
    let from_a = lower + ONES * (0x80 - u64::from(b'a'));
    let past_z = lower + ONES * (0x80 - u64::from(b'z' + 1));
    from_a & !past_z & !word & TOP
}

/// The bytes of `word` equal to `c`.
fn equal_bytes(word: u64, c: u8) -> u64 {
    // A byte equals `c` when `byte ^ c` is zero: adding 0x7f to its low
    // bits sets the top bit for any non-zero value.
    let diff = word ^ (ONES * u64::from(c));
    !(((diff & LOW) + LOW) | diff) & TOP
}

/// The bytes of `word` that are not sequence characters.
fn foreign_bytes(word: u64) -> u64 {
    !(letters(word) | equal_bytes(word, b'*') | equal_bytes(word, b'-')) & TOP
}

/// The index of the first byte flagged by a test; 8 if none is.
fn first_flagged(flags: u64) -> usize {
    (flags.trailing_zeros() / 8) as usize
}

/// The lines of a text, split at `\n` as `str::split` does (an empty line
/// after a final `\n`), each with how many bytes it starts with that are
/// sequence characters.
///
/// Counting the residues first finds the end of a sequence line on the way:
/// the newline is usually the first byte that is not one. So a sequence line
/// is read once, not once to split and again to check.
struct Lines<'a>(Option<&'a str>);

impl<'a> Iterator for Lines<'a> {
    type Item = (&'a str, usize);

    fn next(&mut self) -> Option<Self::Item> {
        let text = self.0?;
        let leading = leading_residues(text.as_bytes());
        let rest = &text.as_bytes()[leading..];
        // On a sequence line the byte that ended the residues is nearly
        // always the newline itself: no need to search for it.
        let newline = if rest.first() == Some(&b'\n') {
            Some(0)
        } else {
            find_newline(rest)
        };
        match newline {
            Some(offset) => {
                let end = leading + offset;
                self.0 = Some(&text[end + 1..]);
                Some((&text[..end], leading))
            }
            None => {
                self.0 = None;
                Some((text, leading))
            }
        }
    }
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

    /// The straightforward reading `read` must agree with: split at `\n`,
    /// trim, check each character.
    fn read_slowly(text: &str) -> Result<Summary, FastaError> {
        let mut sequences = 0;
        let mut residues = 0;
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

    #[test]
    fn agrees_with_the_plain_reading() {
        // Every byte value and a few awkward characters, at every position
        // of lines long and short, so each lane of a word and the padded
        // last word are exercised.
        let mut odd: Vec<String> = (0u8..=127).map(|b| char::from(b).to_string()).collect();
        odd.extend(
            [
                "é", "\u{a0}", "\u{2003}", "\u{85}", "\u{feff}", "\r", "\r\n",
            ]
            .map(String::from),
        );
        let mut texts = vec![String::new(), "\n".into(), ">".into(), ">\n".into()];
        for length in [1, 7, 8, 9, 15, 16, 17, 60] {
            for at in [0, length / 2, length - 1] {
                for c in &odd {
                    let mut line: String = "ACDEFGHIKLMNPQRSTVWYacgt*-"
                        .chars()
                        .cycle()
                        .take(length)
                        .collect();
                    line.replace_range(at..at + 1, c);
                    texts.push(format!(">h\n{line}"));
                    texts.push(format!(">h\n{line}\n>g\nMKV\n"));
                    texts.push(format!("{line}\n>h\nMKV"));
                    texts.push(format!(">{line}\nMKV\n>h\n"));
                }
            }
        }
        for text in &texts {
            assert_eq!(read(text), read_slowly(text), "{text:?}");
        }
    }

    #[test]
    fn trims_unicode_spaces_and_reports_whole_characters() {
        assert_eq!(read(">a\n\u{a0}MKV\u{3000}\n").unwrap().residues, 3);
        assert_eq!(
            read(">a\nMKVLLLLLLLLé"),
            Err(FastaError::BadCharacter {
                line: 2,
                character: 'é'
            })
        );
    }

    #[test]
    fn average_rounds_down() {
        let summary = read(">a\nMKV\n>b\nMK").unwrap();
        assert_eq!(summary.average_length(), 2);
    }
}
