//! Python's `int(text)` and `float(text)`.
//!
//! TEMPORARY stand-in, replaced by the PY helper's module at merge: only the
//! pinned API, with simple semantics.

use num_bigint::BigInt;

/// `text` without surrounding whitespace and with each underscore that sits
/// between two digits removed; `None` if an underscore is anywhere else.
fn without_underscores(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            let before = i > 0 && chars[i - 1].is_ascii_digit();
            let after = chars.get(i + 1).is_some_and(char::is_ascii_digit);
            if !(before && after) {
                return None;
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Exactly Python `int(text)` (stand-in: ASCII digits only).
pub fn parse_int(text: &str) -> Option<BigInt> {
    let text = without_underscores(text.trim())?;
    let digits = text.strip_prefix(['+', '-']).unwrap_or(&text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.strip_prefix('+').unwrap_or(&text).parse().ok()
}

/// Exactly Python `float(text)` (stand-in: ASCII only).
pub fn parse_float(text: &str) -> Option<f64> {
    let text = without_underscores(text.trim())?;
    let body = text.strip_prefix(['+', '-']).unwrap_or(&text);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return text.parse().ok();
    }
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    text.parse().ok()
}
