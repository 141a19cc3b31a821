//! Python's `int(text)` and `float(text)`, as slivka's number fields and
//! condition literals read numbers.
//!
//! slivka converts a form input with CPython 3.11's `int()` or `float()`,
//! which accept more than Rust's `parse`: any Unicode decimal digit (`١٢`,
//! `１２`), single underscores between digits (`5_0`), surrounding Python
//! whitespace, `infinity` in any case. Both functions here accept exactly
//! the texts Python accepts and give the same number:
//!
//! 1. Every non-ASCII character becomes ASCII the way CPython's
//!    `_PyUnicode_TransformDecimalAndSpaceToASCII` does: a decimal digit
//!    becomes `0`-`9`, a whitespace character a space, and anything else makes
//!    the text invalid.
//! 2. ASCII whitespace (` \t\n\v\f\r`, not `\x1c`-`\x1f`) is stripped from
//!    both ends.
//! 3. The rest must follow Python's grammar for the type.
//!
//! An integer of more than 4300 digits is refused, as CPython 3.11 does by
//! default (`sys.get_int_max_str_digits()`).

use num_bigint::BigInt;

/// Most digits `int()` converts (CPython 3.11's default limit); leading
/// zeros count, underscores do not.
pub const MAX_INT_DIGITS: usize = 4300;

/// Python's `int(text)`: `None` where Python raises `ValueError`.
pub fn parse_int(text: &str) -> Option<BigInt> {
    let ascii = to_ascii(text)?;
    let (negative, digits) = split_sign(ascii.as_bytes());
    if !underscores_between_digits(digits) {
        return None;
    }
    let digits: Vec<u8> = digits.iter().copied().filter(|&b| b != b'_').collect();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits.len() > MAX_INT_DIGITS {
        return None;
    }
    // Cannot fail: `digits` is a non-empty run of ASCII digits.
    let magnitude = BigInt::parse_bytes(&digits, 10)?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Python's `float(text)`: `None` where Python raises `ValueError`.
pub fn parse_float(text: &str) -> Option<f64> {
    let ascii = to_ascii(text)?;
    // Python checks the underscores on the whole text, before stripping; the
    // stripped whitespace holds none, so checking the stripped text is the same.
    if !underscores_between_digits(ascii.as_bytes()) {
        return None;
    }
    let (negative, body) = split_sign(ascii.as_bytes());
    let body: Vec<u8> = body.iter().copied().filter(|&b| b != b'_').collect();
    let magnitude = if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        f64::INFINITY
    } else if body.eq_ignore_ascii_case(b"nan") {
        f64::NAN
    } else if is_decimal_literal(&body) {
        // Rust's parse rounds correctly, as Python's does; the grammar was
        // checked above, so it cannot fail.
        std::str::from_utf8(&body).ok()?.parse::<f64>().ok()?
    } else {
        return None;
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// The value of `c` as a Unicode decimal digit (category Nd), as Python's
/// `unicodedata.decimal` gives it; Python's regex `\d` matches exactly these.
pub fn decimal_digit(c: char) -> Option<u32> {
    let code = c as u32;
    if c.is_ascii_digit() {
        return Some(code - u32::from(b'0'));
    }
    let run = DECIMAL
        .binary_search_by(|&(first, last)| {
            if last < code {
                std::cmp::Ordering::Less
            } else if first > code {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .ok()?;
    Some((code - DECIMAL[run].0) % 10)
}

/// Whether Python's `str.isspace()` holds for `c`.
pub fn is_python_space(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\x1c'..='\x1f' | ' ')
        || (!c.is_ascii() && SPACE.iter().any(|&(a, b)| (a..=b).contains(&(c as u32))))
}

/// The text as CPython hands it to its ASCII number parsers, stripped of
/// ASCII whitespace; `None` if a character is neither ASCII, a decimal digit
/// nor whitespace.
fn to_ascii(text: &str) -> Option<String> {
    let mut ascii = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else if is_python_space(c) {
            ascii.push(' ');
        } else {
            let digit = decimal_digit(c)?;
            // Cannot fail: a decimal digit is below 10.
            ascii.push(char::from_digit(digit, 10)?);
        }
    }
    let stripped = ascii.trim_matches(|c: char| matches!(c, ' ' | '\t'..='\r'));
    Some(stripped.to_string())
}

/// The sign and the rest of `text`.
fn split_sign(text: &[u8]) -> (bool, &[u8]) {
    match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    }
}

/// Whether every `_` in `text` sits between two ASCII digits.
fn underscores_between_digits(text: &[u8]) -> bool {
    text.iter().enumerate().all(|(i, &b)| {
        b != b'_'
            || (i > 0
                && text[i - 1].is_ascii_digit()
                && text.get(i + 1).is_some_and(u8::is_ascii_digit))
    })
}

/// Whether `text` is `digits[.digits][(e|E)[sign]digits]` with a digit
/// before or after the point, as C's `strtod` (and so Python) reads it.
fn is_decimal_literal(text: &[u8]) -> bool {
    let digits = |from: usize| {
        text[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let whole = digits(0);
    let mut at = whole;
    let mut fraction = 0;
    if text.get(at) == Some(&b'.') {
        fraction = digits(at + 1);
        at += 1 + fraction;
    }
    if whole + fraction == 0 {
        return false;
    }
    if matches!(text.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(text.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let exponent = digits(at);
        if exponent == 0 {
            return false;
        }
        at += exponent;
    }
    at == text.len()
}

// BEGIN GENERATED DECIMAL
/// Runs of Unicode decimal digits (Nd), each whole blocks of 0..9.
/// Generated by tests/python/unicode_tables.py from Python 3.11 (Unicode 14.0.0); do not edit.
#[rustfmt::skip]
const DECIMAL: &[(u32, u32)] = &[
    (0x30, 0x39), (0x660, 0x669), (0x6f0, 0x6f9), (0x7c0, 0x7c9), (0x966, 0x96f), (0x9e6, 0x9ef),
    (0xa66, 0xa6f), (0xae6, 0xaef), (0xb66, 0xb6f), (0xbe6, 0xbef), (0xc66, 0xc6f), (0xce6, 0xcef),
    (0xd66, 0xd6f), (0xde6, 0xdef), (0xe50, 0xe59), (0xed0, 0xed9), (0xf20, 0xf29), (0x1040, 0x1049),
    (0x1090, 0x1099), (0x17e0, 0x17e9), (0x1810, 0x1819), (0x1946, 0x194f), (0x19d0, 0x19d9), (0x1a80, 0x1a89),
    (0x1a90, 0x1a99), (0x1b50, 0x1b59), (0x1bb0, 0x1bb9), (0x1c40, 0x1c49), (0x1c50, 0x1c59), (0xa620, 0xa629),
    (0xa8d0, 0xa8d9), (0xa900, 0xa909), (0xa9d0, 0xa9d9), (0xa9f0, 0xa9f9), (0xaa50, 0xaa59), (0xabf0, 0xabf9),
    (0xff10, 0xff19), (0x104a0, 0x104a9), (0x10d30, 0x10d39), (0x11066, 0x1106f), (0x110f0, 0x110f9), (0x11136, 0x1113f),
    (0x111d0, 0x111d9), (0x112f0, 0x112f9), (0x11450, 0x11459), (0x114d0, 0x114d9), (0x11650, 0x11659), (0x116c0, 0x116c9),
    (0x11730, 0x11739), (0x118e0, 0x118e9), (0x11950, 0x11959), (0x11c50, 0x11c59), (0x11d50, 0x11d59), (0x11da0, 0x11da9),
    (0x16a60, 0x16a69), (0x16ac0, 0x16ac9), (0x16b50, 0x16b59), (0x1d7ce, 0x1d7ff), (0x1e140, 0x1e149), (0x1e2f0, 0x1e2f9),
    (0x1e950, 0x1e959), (0x1fbf0, 0x1fbf9),
];

/// Characters past ASCII that `str.isspace()` accepts.
/// Generated by tests/python/unicode_tables.py from Python 3.11 (Unicode 14.0.0); do not edit.
#[rustfmt::skip]
const SPACE: &[(u32, u32)] = &[
    (0x85, 0x85), (0xa0, 0xa0), (0x1680, 0x1680), (0x2000, 0x200a), (0x2028, 0x2029), (0x202f, 0x202f),
    (0x205f, 0x205f), (0x3000, 0x3000),
];
// END GENERATED DECIMAL

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_reads_what_python_reads() {
        let int = |text: &str| parse_int(text).map(|n| n.to_string());
        assert_eq!(int(" 7 ").as_deref(), Some("7"));
        assert_eq!(int("5_0").as_deref(), Some("50"));
        assert_eq!(int("١٢").as_deref(), Some("12"));
        assert_eq!(int("\u{3000}-0012\u{85}").as_deref(), Some("-12"));
        assert_eq!(
            int("9999999999999999999999").as_deref(),
            Some("9999999999999999999999")
        );
        for refused in [
            "", " ", "5__0", "_5", "5_", "+-5", "- 5", "1.0", "1e3", "\x1c5", "0x10",
        ] {
            assert_eq!(int(refused), None, "{refused:?}");
        }
        assert!(parse_int(&"1".repeat(MAX_INT_DIGITS)).is_some());
        assert!(parse_int(&"1".repeat(MAX_INT_DIGITS + 1)).is_none());
    }

    #[test]
    fn float_reads_what_python_reads() {
        assert_eq!(parse_float("1e400"), Some(f64::INFINITY));
        assert_eq!(parse_float(" -iNfInItY "), Some(f64::NEG_INFINITY));
        assert!(parse_float("+nan").unwrap().is_nan());
        assert_eq!(parse_float("1_0.5_0"), Some(10.5));
        assert_eq!(parse_float("٣e٣"), Some(3000.0));
        assert_eq!(parse_float(".5"), Some(0.5));
        assert_eq!(parse_float("5."), Some(5.0));
        for refused in [
            "", ".", "e5", "1e", "1_.5", "1._5", "1e_5", "in_f", "infinit", "0x1p3",
        ] {
            assert_eq!(parse_float(refused), None, "{refused:?}");
        }
    }
}
