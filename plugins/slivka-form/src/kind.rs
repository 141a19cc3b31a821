//! What each field type accepts: turning one input string into a typed
//! [`Value`], or refusing it with slivka's error code and a message.
//!
//! The codes and limits follow slivka's form fields: `integer` and `decimal`
//! bounds (`min_value`/`max_value`), text lengths (`min_length`/`max_length`),
//! `choice` keys and flag spellings (`invalid`), file content (`media_type`).

use switchyard_plugin::ErrorCode;

use crate::value::Value;

/// A field's type and the constraints that come with it.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `integer` (alias `int`): a whole number, with inclusive bounds.
    Integer {
        /// The smallest value accepted.
        min: Option<i64>,
        /// The largest value accepted.
        max: Option<i64>,
    },
    /// `decimal` (alias `float`): a finite number, with bounds that may be
    /// exclusive.
    Decimal {
        /// The lower bound.
        min: Option<Bound>,
        /// The upper bound.
        max: Option<Bound>,
    },
    /// `text` (alias `string`): any text, with bounds on its length in
    /// characters.
    Text {
        /// The fewest characters accepted.
        min_length: Option<usize>,
        /// The most characters accepted.
        max_length: Option<usize>,
    },
    /// `flag` (alias `boolean`): `true`/`false`, `yes`/`no`, `on`/`off`,
    /// `1`/`0`, in any case.
    Flag,
    /// `choice`: one of the declared keys.
    Choice {
        /// Each key with the command-line value it stands for; sorted by key.
        choices: Vec<(String, String)>,
    },
    /// `file`: the file's content, inline.
    File {
        /// The declared media type, lowercased, without parameters. FASTA
        /// types are checked against the content; others are accepted.
        media_type: Option<String>,
        /// The largest content accepted, in bytes.
        max_size: Option<u64>,
    },
}

/// An input read as its type: a [`Value`] that still borrows its text from
/// the input. Checking a job needs only this; copying a file's content into
/// a [`Value`] waits until a condition reads the field, which is rare.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Checked<'a> {
    /// An integer or decimal.
    Number(f64),
    /// A flag.
    Bool(bool),
    /// A text, the chosen key of a choice, or a file's content.
    Text(&'a str),
}

impl Checked<'_> {
    /// The value as conditions see it.
    pub fn to_value(self) -> Value {
        match self {
            Checked::Number(n) => Value::Number(n),
            Checked::Bool(b) => Value::Bool(b),
            Checked::Text(text) => Value::Text(text.to_string()),
        }
    }
}

/// A decimal bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    /// The limit itself; finite.
    pub limit: f64,
    /// Whether the limit itself is refused.
    pub exclusive: bool,
}

/// Why an input string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// slivka's code for the refusal.
    pub code: ErrorCode,
    /// A sentence for the user, without the field name, e.g.
    /// `must be at most 100, got 250`.
    pub message: String,
}

impl Refusal {
    /// A refusal with `code`.
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

/// The media types whose content must be FASTA.
const FASTA_MEDIA_TYPES: &[&str] = &["application/fasta", "text/x-fasta", "text/fasta"];

/// How much of a refused input a message quotes.
const QUOTED_INPUT: usize = 30;

/// `raw` in backquotes, cut to [`QUOTED_INPUT`] characters.
fn quote(raw: &str) -> String {
    let shown: String = raw.chars().take(QUOTED_INPUT).collect();
    if shown.len() < raw.len() {
        format!("`{shown}...`")
    } else {
        format!("`{shown}`")
    }
}

impl Kind {
    /// The type's name in messages and forms.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Integer { .. } => "integer",
            Kind::Decimal { .. } => "decimal",
            Kind::Text { .. } => "text",
            Kind::Flag => "flag",
            Kind::Choice { .. } => "choice",
            Kind::File { .. } => "file",
        }
    }

    /// Reads one non-empty input string as this type, checking every
    /// constraint.
    pub fn read(&self, raw: &str) -> Result<Value, Refusal> {
        self.check(raw).map(Checked::to_value)
    }

    /// Like [`Kind::read`], without copying the input's text.
    pub fn check<'a>(&self, raw: &'a str) -> Result<Checked<'a>, Refusal> {
        match self {
            Kind::Integer { min, max } => read_integer(raw, *min, *max),
            Kind::Decimal { min, max } => read_decimal(raw, *min, *max),
            Kind::Text {
                min_length,
                max_length,
            } => read_text(raw, *min_length, *max_length),
            Kind::Flag => read_flag(raw),
            Kind::Choice { choices } => read_choice(raw, choices),
            Kind::File {
                media_type,
                max_size,
            } => read_file(raw, media_type.as_deref(), *max_size),
        }
    }
}

/// An integer within inclusive bounds.
fn read_integer(raw: &str, min: Option<i64>, max: Option<i64>) -> Result<Checked<'_>, Refusal> {
    let number: i64 = raw.trim().parse().map_err(|_| {
        Refusal::new(
            ErrorCode::Invalid,
            format!("must be an integer, got {}", quote(raw)),
        )
    })?;
    if let Some(min) = min.filter(|min| number < *min) {
        return Err(Refusal::new(
            ErrorCode::MinValue,
            format!("must be at least {min}, got {number}"),
        ));
    }
    if let Some(max) = max.filter(|max| number > *max) {
        return Err(Refusal::new(
            ErrorCode::MaxValue,
            format!("must be at most {max}, got {number}"),
        ));
    }
    // Integers beyond 2^53 lose precision here; conditions rarely need them.
    Ok(Checked::Number(number as f64))
}

/// A finite decimal within bounds.
fn read_decimal(raw: &str, min: Option<Bound>, max: Option<Bound>) -> Result<Checked<'_>, Refusal> {
    let number = raw
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| {
            Refusal::new(
                ErrorCode::Invalid,
                format!("must be a decimal number, got {}", quote(raw)),
            )
        })?;
    if let Some(Bound { limit, exclusive }) = min {
        if exclusive && number <= limit {
            return Err(Refusal::new(
                ErrorCode::MinValue,
                format!("must be greater than {limit}, got {number}"),
            ));
        }
        if !exclusive && number < limit {
            return Err(Refusal::new(
                ErrorCode::MinValue,
                format!("must be at least {limit}, got {number}"),
            ));
        }
    }
    if let Some(Bound { limit, exclusive }) = max {
        if exclusive && number >= limit {
            return Err(Refusal::new(
                ErrorCode::MaxValue,
                format!("must be less than {limit}, got {number}"),
            ));
        }
        if !exclusive && number > limit {
            return Err(Refusal::new(
                ErrorCode::MaxValue,
                format!("must be at most {limit}, got {number}"),
            ));
        }
    }
    Ok(Checked::Number(number))
}

/// A text with bounded length, counted in characters.
fn read_text(raw: &str, min: Option<usize>, max: Option<usize>) -> Result<Checked<'_>, Refusal> {
    let length = raw.chars().count();
    if let Some(min) = min.filter(|min| length < *min) {
        return Err(Refusal::new(
            ErrorCode::MinLength,
            format!("must be at least {min} characters long, got {length}"),
        ));
    }
    if let Some(max) = max.filter(|max| length > *max) {
        return Err(Refusal::new(
            ErrorCode::MaxLength,
            format!("must be at most {max} characters long, got {length}"),
        ));
    }
    Ok(Checked::Text(raw))
}

/// The spellings of a true flag, lowercase.
const TRUE_FLAGS: &[&str] = &["true", "yes", "on", "1"];

/// The spellings of a false flag, lowercase.
const FALSE_FLAGS: &[&str] = &["false", "no", "off", "0"];

/// A flag in one of the accepted spellings, in any case.
fn read_flag(raw: &str) -> Result<Checked<'_>, Refusal> {
    let spelt = |spellings: &[&str]| {
        let raw = raw.trim();
        spellings.iter().any(|s| s.eq_ignore_ascii_case(raw))
    };
    if spelt(TRUE_FLAGS) {
        Ok(Checked::Bool(true))
    } else if spelt(FALSE_FLAGS) {
        Ok(Checked::Bool(false))
    } else {
        Err(Refusal::new(
            ErrorCode::Invalid,
            format!("must be true or false, got {}", quote(raw)),
        ))
    }
}

/// One of the declared choice keys (not the command-line values).
fn read_choice<'a>(raw: &'a str, choices: &[(String, String)]) -> Result<Checked<'a>, Refusal> {
    if choices.iter().any(|(key, _)| key == raw) {
        return Ok(Checked::Text(raw));
    }
    let keys: Vec<&str> = choices.iter().map(|(key, _)| key.as_str()).collect();
    Err(Refusal::new(
        ErrorCode::Invalid,
        format!("must be one of {}, got {}", keys.join(", "), quote(raw)),
    ))
}

/// A file's inline content: size, then media type.
fn read_file<'a>(
    raw: &'a str,
    media_type: Option<&str>,
    max_size: Option<u64>,
) -> Result<Checked<'a>, Refusal> {
    let size = raw.len() as u64;
    if let Some(max) = max_size.filter(|max| size > *max) {
        return Err(Refusal::new(
            ErrorCode::MaxLength,
            format!("must be at most {max} bytes, got {size}"),
        ));
    }
    if let Some(media_type) = media_type.filter(|t| FASTA_MEDIA_TYPES.contains(t))
        && let Err(error) = fasta::read(raw)
    {
        return Err(Refusal::new(
            ErrorCode::MediaType,
            format!("is not {media_type} (FASTA): {error}"),
        ));
    }
    Ok(Checked::Text(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(kind: &Kind, raw: &str) -> (ErrorCode, String) {
        let refusal = kind.read(raw).unwrap_err();
        (refusal.code, refusal.message)
    }

    #[test]
    fn integers_and_inclusive_bounds() {
        let kind = Kind::Integer {
            min: Some(0),
            max: Some(100),
        };
        assert_eq!(kind.read(" 7 "), Ok(Value::Number(7.0)));
        assert_eq!(kind.read("0"), Ok(Value::Number(0.0)));
        assert_eq!(kind.read("100"), Ok(Value::Number(100.0)));
        assert_eq!(
            refusal(&kind, "250"),
            (ErrorCode::MaxValue, "must be at most 100, got 250".into())
        );
        assert_eq!(
            refusal(&kind, "-1"),
            (ErrorCode::MinValue, "must be at least 0, got -1".into())
        );
        assert_eq!(
            refusal(&kind, "2.5"),
            (ErrorCode::Invalid, "must be an integer, got `2.5`".into())
        );
        assert_eq!(refusal(&kind, "many").0, ErrorCode::Invalid);
    }

    #[test]
    fn decimals_and_exclusive_bounds() {
        let kind = Kind::Decimal {
            min: Some(Bound {
                limit: 0.0,
                exclusive: true,
            }),
            max: Some(Bound {
                limit: 10.0,
                exclusive: false,
            }),
        };
        assert_eq!(kind.read("1.53"), Ok(Value::Number(1.53)));
        assert_eq!(kind.read("10"), Ok(Value::Number(10.0)));
        assert_eq!(
            refusal(&kind, "0"),
            (ErrorCode::MinValue, "must be greater than 0, got 0".into())
        );
        assert_eq!(
            refusal(&kind, "10.5"),
            (ErrorCode::MaxValue, "must be at most 10, got 10.5".into())
        );
        assert_eq!(refusal(&kind, "NaN").0, ErrorCode::Invalid);
        assert_eq!(refusal(&kind, "inf").0, ErrorCode::Invalid);

        let inclusive_min = Kind::Decimal {
            min: Some(Bound {
                limit: -10.0,
                exclusive: false,
            }),
            max: Some(Bound {
                limit: 0.0,
                exclusive: true,
            }),
        };
        assert_eq!(inclusive_min.read("-10"), Ok(Value::Number(-10.0)));
        assert_eq!(
            refusal(&inclusive_min, "0"),
            (ErrorCode::MaxValue, "must be less than 0, got 0".into())
        );
        assert_eq!(
            refusal(&inclusive_min, "-10.01"),
            (
                ErrorCode::MinValue,
                "must be at least -10, got -10.01".into()
            )
        );
    }

    #[test]
    fn text_lengths_count_characters() {
        let kind = Kind::Text {
            min_length: Some(2),
            max_length: Some(4),
        };
        assert_eq!(kind.read("αβγδ"), Ok(Value::Text("αβγδ".into())));
        assert_eq!(
            refusal(&kind, "a"),
            (
                ErrorCode::MinLength,
                "must be at least 2 characters long, got 1".into()
            )
        );
        assert_eq!(
            refusal(&kind, "abcde"),
            (
                ErrorCode::MaxLength,
                "must be at most 4 characters long, got 5".into()
            )
        );
    }

    #[test]
    fn flags_accept_common_spellings() {
        for raw in ["true", "TRUE", "yes", "on", "1"] {
            assert_eq!(Kind::Flag.read(raw), Ok(Value::Bool(true)), "{raw}");
        }
        for raw in ["false", "No", "off", "0"] {
            assert_eq!(Kind::Flag.read(raw), Ok(Value::Bool(false)), "{raw}");
        }
        assert_eq!(
            refusal(&Kind::Flag, "maybe"),
            (
                ErrorCode::Invalid,
                "must be true or false, got `maybe`".into()
            )
        );
    }

    #[test]
    fn choices_accept_keys_only() {
        let kind = Kind::Choice {
            choices: vec![
                ("clustal".into(), "clu".into()),
                ("fasta".into(), "fa".into()),
            ],
        };
        assert_eq!(kind.read("fasta"), Ok(Value::Text("fasta".into())));
        assert_eq!(
            refusal(&kind, "fa"),
            (
                ErrorCode::Invalid,
                "must be one of clustal, fasta, got `fa`".into()
            )
        );
    }

    #[test]
    fn files_check_fasta_content_and_size() {
        let fasta = Kind::File {
            media_type: Some("application/fasta".into()),
            max_size: Some(20),
        };
        assert!(fasta.read(">a\nMKV\n").is_ok());
        let (code, message) = refusal(&fasta, ">a\n>b\nMKV");
        assert_eq!(code, ErrorCode::MediaType);
        assert_eq!(
            message,
            "is not application/fasta (FASTA): line 1: header `>a` has no sequence"
        );
        assert_eq!(
            refusal(&fasta, &format!(">a\n{}", "M".repeat(30))),
            (
                ErrorCode::MaxLength,
                "must be at most 20 bytes, got 33".into()
            )
        );

        let other = Kind::File {
            media_type: Some("text/plain".into()),
            max_size: None,
        };
        assert!(other.read("anything at all").is_ok());
    }

    #[test]
    fn long_inputs_are_cut_in_messages() {
        let (_, message) = refusal(&Kind::Flag, &"x".repeat(1000));
        assert_eq!(
            message,
            format!("must be true or false, got `{}...`", "x".repeat(30))
        );
    }
}
