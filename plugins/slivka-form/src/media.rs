//! File content checks by media type, as `slivka/utils/media_types.py`.
//!
//! slivka looks the field's `media-type` up, exactly as written, in a table
//! of checkers; a type with no checker passes every file. This module has
//! the same table: FASTA through the `fasta` crate (Biopython's reader),
//! `text/plain` (a byte set), `application/json` (Python's `json.load`), the
//! YAML types (which slivka never actually parses, so they always pass).
//! The other Biopython formats (clustal, genbank, embl, stockholm, pfam) are
//! accepted unchecked: a listed difference.

/// The FASTA media types (Biopython's `fasta` format).
const FASTA: &[&str] = &["application/fasta", "application/x-fasta", "text/fasta"];

/// The Biopython formats other than FASTA slivka checks; accepted here.
const OTHER_BIOPYTHON: &[&str] = &["clustal", "genbank", "embl", "stockholm", "pfam"];

/// Whether `media_type` is one of slivka's Biopython-checked types that
/// this plugin accepts unchecked.
pub fn is_unchecked_biopython(media_type: &str) -> bool {
    ["application/", "application/x-", "text/"]
        .iter()
        .any(|prefix| {
            media_type
                .strip_prefix(prefix)
                .is_some_and(|format| OTHER_BIOPYTHON.contains(&format))
        })
}

/// Checks `content` against `media_type`; `Err` says why it is not of that
/// type.
pub fn check(media_type: &str, content: &str) -> Result<(), String> {
    if FASTA.contains(&media_type) {
        return check_fasta(content);
    }
    match media_type {
        "text/plain" => check_plain_text(content),
        "application/json" => check_json(content),
        _ => Ok(()),
    }
}

/// At least one FASTA record, as Biopython reads them (`fasta::is_fasta`),
/// read once: the reason is the reader's when it fails.
fn check_fasta(content: &str) -> Result<(), String> {
    match fasta::read(content) {
        Ok(summary) if summary.sequences > 0 => Ok(()),
        Ok(_) => Err("it holds no FASTA record".to_string()),
        Err(error) => Err(error.to_string()),
    }
}

/// Every byte is a text byte: BEL, BS, TAB, LF, FF, CR, ESC, or 0x20..0xFF
/// but DEL. (UTF-8 beyond ASCII is all bytes >= 0x80, so it passes.)
fn check_plain_text(content: &str) -> Result<(), String> {
    let bad = content
        .bytes()
        .position(|b| !(matches!(b, 0x07..=0x0a | 0x0c | 0x0d | 0x1b) || (b >= 0x20 && b != 0x7f)));
    match bad {
        None => Ok(()),
        Some(at) => Err(format!(
            "byte {at} is the control character 0x{:02x}",
            content.as_bytes()[at]
        )),
    }
}

/// Python's recursion limit stops `json.load` around this depth (with a
/// `RecursionError`, which slivka does not catch).
const MAX_JSON_DEPTH: usize = 900;

/// One JSON document, as Python's `json.load` reads it: `NaN`, `Infinity`
/// and `-Infinity` are numbers, strings may hold any `\u` escape (lone
/// surrogates too) but no raw control characters, whitespace is space, tab,
/// CR and LF.
fn check_json(content: &str) -> Result<(), String> {
    let mut reader = Json {
        bytes: content.as_bytes(),
        at: 0,
    };
    reader.space();
    reader.value(0)?;
    reader.space();
    if reader.at != reader.bytes.len() {
        return Err(format!("extra data at byte {}", reader.at));
    }
    Ok(())
}

/// A cursor over a JSON text.
struct Json<'a> {
    /// The text.
    bytes: &'a [u8],
    /// The next byte to read.
    at: usize,
}

impl Json<'_> {
    /// The next byte, if any.
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Skips JSON whitespace.
    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// An error at the cursor.
    fn error<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {}", self.at))
    }

    /// Consumes `word` if it is next.
    fn word(&mut self, word: &str) -> bool {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            true
        } else {
            false
        }
    }

    /// One value.
    fn value(&mut self, depth: usize) -> Result<(), String> {
        if depth > MAX_JSON_DEPTH {
            return self.error("nested too deeply");
        }
        match self.peek() {
            Some(b'{') => {
                self.at += 1;
                self.space();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Ok(());
                }
                loop {
                    if self.peek() != Some(b'"') {
                        return self.error("expecting a property name in double quotes");
                    }
                    self.string()?;
                    self.space();
                    if self.peek() != Some(b':') {
                        return self.error("expecting ':'");
                    }
                    self.at += 1;
                    self.space();
                    self.value(depth + 1)?;
                    self.space();
                    match self.peek() {
                        Some(b',') => {
                            self.at += 1;
                            self.space();
                        }
                        Some(b'}') => {
                            self.at += 1;
                            return Ok(());
                        }
                        _ => return self.error("expecting ',' or '}'"),
                    }
                }
            }
            Some(b'[') => {
                self.at += 1;
                self.space();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(());
                }
                loop {
                    self.value(depth + 1)?;
                    self.space();
                    match self.peek() {
                        Some(b',') => {
                            self.at += 1;
                            self.space();
                        }
                        Some(b']') => {
                            self.at += 1;
                            return Ok(());
                        }
                        _ => return self.error("expecting ',' or ']'"),
                    }
                }
            }
            Some(b'"') => self.string(),
            Some(b'-' | b'0'..=b'9') => {
                if self.word("-Infinity") {
                    return Ok(());
                }
                self.number()
            }
            _ => {
                for word in ["null", "true", "false", "NaN", "Infinity"] {
                    if self.word(word) {
                        return Ok(());
                    }
                }
                self.error("expecting a value")
            }
        }
    }

    /// A string, from its opening quote.
    fn string(&mut self) -> Result<(), String> {
        self.at += 1;
        loop {
            match self.peek() {
                None => return self.error("unterminated string"),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.at += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.at += 1
                        }
                        Some(b'u') => {
                            let hex = self.bytes.get(self.at + 1..self.at + 5);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return self.error("invalid \\uXXXX escape");
                            }
                            self.at += 5;
                        }
                        _ => return self.error("invalid escape"),
                    }
                }
                Some(b) if b < 0x20 => return self.error("invalid control character"),
                Some(_) => self.at += 1,
            }
        }
    }

    /// A number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`. A fraction
    /// or exponent that does not complete is left unread (then it is extra
    /// data, as in Python).
    fn number(&mut self) -> Result<(), String> {
        let digits = |bytes: &[u8], from: usize| {
            bytes[from..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => self.at += digits(self.bytes, self.at),
            _ => return self.error("expecting a value"),
        }
        if self.peek() == Some(b'.') {
            let n = digits(self.bytes, self.at + 1);
            if n > 0 {
                self.at += 1 + n;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            let mut next = self.at + 1;
            if matches!(self.bytes.get(next), Some(b'+' | b'-')) {
                next += 1;
            }
            let n = digits(self.bytes, next);
            if n > 0 {
                self.at = next + n;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fasta_types_need_a_biopython_record() {
        for media_type in FASTA {
            assert_eq!(check(media_type, ">a\nMKV\n"), Ok(()));
            assert!(check(media_type, "MKV\n").is_err());
            assert!(check(media_type, "").is_err());
        }
    }

    #[test]
    fn plain_text_refuses_control_bytes_but_not_tabs_or_utf8() {
        assert_eq!(check("text/plain", "a\tb\r\nc\x07\x1b é ✓"), Ok(()));
        assert!(check("text/plain", "a\0b").is_err());
        assert!(check("text/plain", "a\x7fb").is_err());
        assert!(check("text/plain", "\x0b").is_err());
        assert_eq!(check("text/plain", ""), Ok(()));
    }

    #[test]
    fn json_is_read_as_python_reads_it() {
        for good in [
            "{}",
            " [1, -2.5e+3, \"x\\u00e9\\ud800\", true, false, null] ",
            "NaN",
            "[Infinity, -Infinity]",
            "\"\\/\"",
            "123456789012345678901234567890",
            "{\"a\": 1, \"a\": 2}",
        ] {
            assert_eq!(check("application/json", good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "[1,]",
            "{'a': 1}",
            "01",
            "1.",
            "-",
            "[1] x",
            "\"a\nb\"",
            "nan",
            "+1",
            ".5",
            "{\"a\" 1}",
            "\"\\x\"",
        ] {
            assert!(check("application/json", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn yaml_and_unknown_types_pass_anything() {
        for media_type in [
            "application/yaml",
            "application/x-yaml",
            "image/png",
            "application/fasta; x=1",
        ] {
            assert_eq!(check(media_type, "\0 not anything"), Ok(()));
        }
    }

    #[test]
    fn other_biopython_formats_are_accepted_unchecked() {
        assert!(is_unchecked_biopython("application/clustal"));
        assert!(is_unchecked_biopython("text/stockholm"));
        assert!(is_unchecked_biopython("application/x-pfam"));
        assert!(!is_unchecked_biopython("application/fasta"));
        assert_eq!(check("application/clustal", "not clustal"), Ok(()));
    }
}
