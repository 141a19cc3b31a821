//! One form field and its validation: slivka's field classes
//! (`slivka/server/forms/fields.py`), `run_validation` per type.
//!
//! A field validates one value at a time: a request's string (or uploaded
//! file) per job, or the YAML default once at load. Empty values become
//! `None`; the rest are converted (an integer field's `"7"` becomes `7`)
//! and checked against the limits in slivka's order, with slivka's codes.

use num_bigint::BigInt;
use num_traits::FromPrimitive;
use switchyard_plugin::ErrorCode;

use crate::condition::Expression;
use crate::media;
use crate::number::{parse_float, parse_int};
use crate::value::{CmpOp, FileValue, Value};

/// One parameter of a service's form.
#[derive(Clone, Debug)]
pub struct Field {
    /// The parameter id (the input's name).
    pub id: String,
    /// The type and its limits.
    pub kind: Kind,
    /// Whether the type ends in `[]`: the input is a list, validated element
    /// by element.
    pub array: bool,
    /// `required and default is None` (Python truthiness of `required`).
    pub required: bool,
    /// The default as written in the file (never converted); `None` when
    /// there is none (or it is null).
    pub default: Option<Value>,
    /// The condition, parsed.
    pub condition: Option<Expression>,
}

/// A field's type and limits. Limits are the YAML values as written: slivka
/// compares them with Python's operators, whatever their type.
#[derive(Clone, Debug)]
pub enum Kind {
    /// `int`, `integer`.
    Integer {
        /// `min`, if not null.
        min: Option<Value>,
        /// `max`, if not null.
        max: Option<Value>,
    },
    /// `float`, `decimal`.
    Decimal {
        /// `min`, if not null.
        min: Option<Value>,
        /// `max`, if not null.
        max: Option<Value>,
        /// `min-exclusive`, as Python truthiness.
        min_exclusive: bool,
        /// `max-exclusive`, as Python truthiness.
        max_exclusive: bool,
    },
    /// `text`, `string`.
    Text {
        /// `min-length`, if not null.
        min_length: Option<Value>,
        /// `max-length`, if not null.
        max_length: Option<Value>,
    },
    /// `flag`, `boolean`.
    Flag,
    /// `choice`.
    Choice {
        /// The keys of `choices`, without repeats (Python equality).
        keys: Vec<Value>,
    },
    /// `file`.
    File {
        /// `media-type`, if not null (non-strings as text: no checker).
        media_type: Option<String>,
    },
}

/// Why a value was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// slivka's `ValidationError`: a code and a message for the user.
    Refused(ErrorCode, String),
    /// Where slivka raises something else (a `TypeError` comparing a value
    /// with a limit of another type): slivka fails the request (HTTP 500)
    /// or the load.
    Raised(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Refused(_, message) | Problem::Raised(message) => f.write_str(message),
        }
    }
}

/// How much of a refused text a message quotes.
const QUOTED: usize = 30;

/// `value` for a message: texts in backquotes, cut to [`QUOTED`] characters.
pub fn quote(value: &Value) -> String {
    let text = value.to_string();
    let shown: String = text.chars().take(QUOTED).collect();
    let more = if shown.len() < text.len() { "..." } else { "" };
    format!("`{shown}{more}`")
}

/// A refusal with `code`.
fn refused(code: ErrorCode, message: impl Into<String>) -> Problem {
    Problem::Refused(code, message.into())
}

/// slivka's FALSE_STR: a flag given one of these (any case) is off.
const FALSE_STR: &[&str] = &["no", "false", "0", "n", "f", "none", "null", "off"];

impl Kind {
    /// `run_validation`: the value converted (`Value::None` for empty), or
    /// why it is refused.
    pub fn run_validation(&self, value: &Value) -> Result<Value, Problem> {
        // BaseField.run_validation: anything with len() == 0 is None.
        let value = match value {
            Value::Str(s) if s.is_empty() => return Ok(Value::None),
            Value::List(items) if items.is_empty() => return Ok(Value::None),
            Value::None if !matches!(self, Kind::Flag) => return Ok(Value::None),
            other => other,
        };
        match self {
            Kind::Integer { min, max } => {
                let number = to_int(value).ok_or_else(|| {
                    refused(
                        ErrorCode::Invalid,
                        format!("must be an integer, got {}", quote(value)),
                    )
                })?;
                check_max(&number, max.as_ref(), false)?;
                check_min(&number, min.as_ref(), false)?;
                Ok(number)
            }
            Kind::Decimal {
                min,
                max,
                min_exclusive,
                max_exclusive,
            } => {
                let number = to_float(value).ok_or_else(|| {
                    refused(
                        ErrorCode::Invalid,
                        format!("must be a decimal number, got {}", quote(value)),
                    )
                })?;
                check_max(&number, max.as_ref(), *max_exclusive)?;
                check_min(&number, min.as_ref(), *min_exclusive)?;
                Ok(number)
            }
            Kind::Text {
                min_length,
                max_length,
            } => {
                let text = match value {
                    Value::Str(s) => s.clone(),
                    other => other.to_string(),
                };
                let length = Value::Int(BigInt::from(text.chars().count()));
                if let Some(limit) = min_length
                    && compare(&length, CmpOp::Lt, limit)?
                {
                    return Err(refused(
                        ErrorCode::MinLength,
                        format!("must be at least {limit} characters long, got {length}"),
                    ));
                }
                if let Some(limit) = max_length
                    && compare(&length, CmpOp::Gt, limit)?
                {
                    return Err(refused(
                        ErrorCode::MaxLength,
                        format!("must be at most {limit} characters long, got {length}"),
                    ));
                }
                Ok(Value::Str(text))
            }
            Kind::Flag => {
                let off = match value {
                    Value::Str(s) => FALSE_STR.contains(&s.to_lowercase().as_str()),
                    other => !other.truthy(),
                };
                Ok(if off { Value::None } else { Value::Bool(true) })
            }
            Kind::Choice { keys } => {
                if let Value::List(_) = value {
                    return Err(Problem::Raised("unhashable type: 'list'".to_string()));
                }
                if keys.iter().any(|key| key.py_eq(value)) {
                    Ok(value.clone())
                } else {
                    let shown: Vec<String> = keys.iter().map(Value::to_string).collect();
                    Err(refused(
                        ErrorCode::Invalid,
                        format!("must be one of {}, got {}", shown.join(", "), quote(value)),
                    ))
                }
            }
            Kind::File { media_type } => {
                let Value::File(file) = value else {
                    return Err(Problem::Raised(format!(
                        "a file parameter takes a file, got {}",
                        quote(value)
                    )));
                };
                if let Some(media_type) = media_type
                    && let Err(why) = media::check(media_type, file.content())
                {
                    return Err(refused(
                        ErrorCode::MediaType,
                        format!("is not a valid {media_type} file: {why}"),
                    ));
                }
                Ok(Value::File(file.clone()))
            }
        }
    }
}

/// Python `int(value)` as IntegerField takes it; `None` where it refuses.
fn to_int(value: &Value) -> Option<Value> {
    match value {
        Value::Int(i) => Some(Value::Int(i.clone())),
        Value::Float(f) if f.is_finite() && f.fract() == 0.0 => {
            BigInt::from_f64(*f).map(Value::Int)
        }
        Value::Str(s) => parse_int(s).map(Value::Int),
        _ => None,
    }
}

/// Python `float(value)` as DecimalField takes it; `None` where it refuses.
fn to_float(value: &Value) -> Option<Value> {
    match value {
        Value::Int(i) => num_traits::ToPrimitive::to_f64(i)
            .filter(|f| f.is_finite())
            .map(Value::Float),
        Value::Float(f) => Some(Value::Float(*f)),
        Value::Str(s) => parse_float(s).map(Value::Float),
        _ => None,
    }
}

/// `a op b`, a comparison Python cannot make being [`Problem::Raised`].
fn compare(a: &Value, op: CmpOp, b: &Value) -> Result<bool, Problem> {
    a.compare(op, b).map_err(|error| {
        Problem::Raised(format!(
            "the service's limit {} cannot be compared with {a}: {error}",
            quote(b)
        ))
    })
}

/// `max` (exclusive or not) holds for `number`.
fn check_max(number: &Value, max: Option<&Value>, exclusive: bool) -> Result<(), Problem> {
    let Some(limit) = max else { return Ok(()) };
    if exclusive && compare(number, CmpOp::Ge, limit)? {
        return Err(refused(
            ErrorCode::MaxValue,
            format!("must be less than {limit}, got {number}"),
        ));
    }
    if !exclusive && compare(number, CmpOp::Gt, limit)? {
        return Err(refused(
            ErrorCode::MaxValue,
            format!("must be at most {limit}, got {number}"),
        ));
    }
    Ok(())
}

/// `min` (exclusive or not) holds for `number`.
fn check_min(number: &Value, min: Option<&Value>, exclusive: bool) -> Result<(), Problem> {
    let Some(limit) = min else { return Ok(()) };
    if exclusive && compare(number, CmpOp::Le, limit)? {
        return Err(refused(
            ErrorCode::MinValue,
            format!("must be greater than {limit}, got {number}"),
        ));
    }
    if !exclusive && compare(number, CmpOp::Lt, limit)? {
        return Err(refused(
            ErrorCode::MinValue,
            format!("must be at least {limit}, got {number}"),
        ));
    }
    Ok(())
}

impl Field {
    /// Refuses NaN for a decimal field with a bound, which slivka passes
    /// (every comparison with NaN is false): plainly wrong, a listed
    /// difference. Only for a job's values: a NaN default loads, as in slivka.
    fn refuse_nan(&self, value: &Value) -> Result<(), Problem> {
        if let (Kind::Decimal { min, max, .. }, Value::Float(f)) = (&self.kind, value)
            && f.is_nan()
            && (min.is_some() || max.is_some())
        {
            return Err(refused(
                ErrorCode::Invalid,
                "must be a number within the limits, got `nan`",
            ));
        }
        Ok(())
    }

    /// `fetch_value` then `validate` for one job's values (the non-null
    /// strings given for this field, in order): the cleaned value
    /// (`Value::None` when there is none), or why it is refused.
    pub fn validate(&self, given: &[&str]) -> Result<Value, Problem> {
        let wrap = |text: &str| match self.kind {
            Kind::File { .. } => Value::File(FileValue::new(text)),
            _ => Value::Str(text.to_string()),
        };
        if !self.array {
            // A single field takes the first value given.
            let value = given.first().map_or(Value::None, |text| wrap(text));
            let value = self.kind.run_validation(&value)?;
            self.refuse_nan(&value)?;
            if matches!(value, Value::None) && self.required {
                return Err(refused(ErrorCode::Required, "is required"));
            }
            return Ok(value);
        }
        if given.is_empty() {
            if self.required {
                return Err(refused(ErrorCode::Required, "is required"));
            }
            return Ok(Value::None);
        }
        let mut items = Vec::with_capacity(given.len());
        for (index, text) in given.iter().enumerate() {
            let value = self
                .kind
                .run_validation(&wrap(text))
                .and_then(|value| self.refuse_nan(&value).map(|()| value))
                .map_err(|problem| match problem {
                    Problem::Refused(code, message) => {
                        Problem::Refused(code, format!("element {index}: {message}"))
                    }
                    raised => raised,
                })?;
            if matches!(value, Value::None) && self.required {
                return Err(refused(
                    ErrorCode::Required,
                    format!("element {index} is empty, and the parameter is required"),
                ));
            }
            items.push(value);
        }
        Ok(Value::List(items))
    }

    /// The field's default as conditions see it (`None` if it has none).
    pub fn default_value(&self) -> Value {
        self.default.clone().unwrap_or(Value::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(i: i64) -> Value {
        Value::Int(BigInt::from(i))
    }

    fn text(s: &str) -> Value {
        Value::Str(s.to_string())
    }

    fn field(kind: Kind, array: bool, required: bool) -> Field {
        Field {
            id: "x".into(),
            kind,
            array,
            required,
            default: None,
            condition: None,
        }
    }

    /// The code of a refused job value, or "ok".
    fn code(field: &Field, given: &[&str]) -> String {
        match field.validate(given) {
            Ok(_) => "ok".into(),
            Err(Problem::Refused(code, _)) => code.slivka_code().into(),
            Err(Problem::Raised(_)) => "raised".into(),
        }
    }

    fn message(field: &Field, given: &[&str]) -> String {
        field.validate(given).unwrap_err().to_string()
    }

    fn bounded_int() -> Field {
        let kind = Kind::Integer {
            min: Some(int(1)),
            max: Some(int(100)),
        };
        field(kind, false, true)
    }

    #[test]
    fn empty_and_missing_values_are_none_and_a_required_field_says_so() {
        let f = bounded_int();
        assert_eq!(code(&f, &[]), "required");
        assert_eq!(code(&f, &[""]), "required");
        assert_eq!(message(&f, &[]), "is required");
        let optional = field(
            Kind::Text {
                min_length: None,
                max_length: None,
            },
            false,
            false,
        );
        assert!(matches!(optional.validate(&[""]), Ok(Value::None)));
    }

    #[test]
    fn a_single_field_takes_the_first_value_given() {
        let f = bounded_int();
        assert_eq!(code(&f, &["5", "500"]), "ok");
        assert_eq!(code(&f, &["500", "5"]), "max_value");
        assert_eq!(code(&f, &["", "5"]), "required");
    }

    #[test]
    fn integers_are_python_int_of_the_text_with_inclusive_bounds() {
        let f = bounded_int();
        assert!(matches!(f.validate(&[" 7 "]), Ok(Value::Int(i)) if i == BigInt::from(7)));
        for ok in ["1", "100", "+5", "1_0"] {
            assert_eq!(code(&f, &[ok]), "ok", "{ok}");
        }
        for invalid in ["5.0", "abc", "1e2", "0x10", "1__0"] {
            assert_eq!(code(&f, &[invalid]), "invalid", "{invalid}");
        }
        assert_eq!(message(&f, &["0"]), "must be at least 1, got 0");
        assert_eq!(message(&f, &["101"]), "must be at most 100, got 101");
        assert_eq!(message(&f, &["abc"]), "must be an integer, got `abc`");
    }

    #[test]
    fn the_maximum_is_checked_before_the_minimum() {
        let kind = Kind::Integer {
            min: Some(int(10)),
            max: Some(int(0)),
        };
        assert_eq!(code(&field(kind, false, true), &["5"]), "max_value");
    }

    #[test]
    fn decimals_have_exclusive_bounds_on_request() {
        let kind = Kind::Decimal {
            min: Some(int(0)),
            max: Some(Value::Float(1.5)),
            min_exclusive: true,
            max_exclusive: false,
        };
        let f = field(kind, false, true);
        assert_eq!(code(&f, &["1.5"]), "ok");
        assert_eq!(code(&f, &["1e-9"]), "ok");
        assert_eq!(message(&f, &["0"]), "must be greater than 0, got 0.0");
        assert_eq!(message(&f, &["1.6"]), "must be at most 1.5, got 1.6");
        assert_eq!(code(&f, &["inf"]), "max_value");
        assert_eq!(code(&f, &["-inf"]), "min_value");
        assert_eq!(code(&f, &["abc"]), "invalid");
    }

    #[test]
    fn nan_is_refused_by_a_bounded_decimal_but_passes_an_unbounded_one() {
        let bounded = Kind::Decimal {
            min: Some(int(0)),
            max: None,
            min_exclusive: false,
            max_exclusive: false,
        };
        assert_eq!(code(&field(bounded, false, true), &["nan"]), "invalid");
        let free = Kind::Decimal {
            min: None,
            max: None,
            min_exclusive: false,
            max_exclusive: false,
        };
        assert_eq!(code(&field(free, false, true), &["NaN"]), "ok");
    }

    #[test]
    fn a_limit_python_cannot_compare_is_raised_not_refused() {
        let kind = Kind::Integer {
            min: None,
            max: Some(text("10")),
        };
        assert_eq!(code(&field(kind, false, true), &["5"]), "raised");
    }

    #[test]
    fn text_lengths_count_code_points() {
        let kind = Kind::Text {
            min_length: Some(int(2)),
            max_length: Some(int(3)),
        };
        let f = field(kind, false, true);
        assert_eq!(code(&f, &["αβγ"]), "ok");
        assert_eq!(code(&f, &["\u{1F600}\u{1F600}"]), "ok");
        assert_eq!(
            message(&f, &["a"]),
            "must be at least 2 characters long, got 1"
        );
        assert_eq!(
            message(&f, &["abcd"]),
            "must be at most 3 characters long, got 4"
        );
    }

    #[test]
    fn a_flag_is_off_for_slivkas_false_words_in_any_case_and_on_otherwise() {
        let optional = field(Kind::Flag, false, false);
        for off in [
            "false", "FALSE", "no", "N", "f", "None", "null", "off", "0", "",
        ] {
            assert!(
                matches!(optional.validate(&[off]), Ok(Value::None)),
                "{off}"
            );
        }
        for on in ["true", "yes", "anything", "False ", "2"] {
            assert!(
                matches!(optional.validate(&[on]), Ok(Value::Bool(true))),
                "{on}"
            );
        }
    }

    #[test]
    fn a_required_flag_given_false_is_missing() {
        assert_eq!(
            code(&field(Kind::Flag, false, true), &["false"]),
            "required"
        );
    }

    #[test]
    fn a_choice_must_be_a_key_compared_as_python_does() {
        let kind = Kind::Choice {
            keys: vec![text("clustal"), int(1)],
        };
        let f = field(kind, false, true);
        assert_eq!(code(&f, &["clustal"]), "ok");
        assert_eq!(code(&f, &["1"]), "invalid");
        assert_eq!(code(&f, &["Clustal"]), "invalid");
        assert_eq!(
            message(&f, &["xml"]),
            "must be one of clustal, 1, got `xml`"
        );
    }

    #[test]
    fn a_file_is_its_content_checked_against_its_media_type() {
        let fasta = field(
            Kind::File {
                media_type: Some("application/fasta".into()),
            },
            false,
            true,
        );
        assert!(matches!(fasta.validate(&[">a\nMKV\n"]), Ok(Value::File(_))));
        assert_eq!(code(&fasta, &["MKV"]), "media_type");
        // An empty upload is still a file: its content is checked.
        assert_eq!(code(&fasta, &[""]), "media_type");
        let any = field(Kind::File { media_type: None }, false, true);
        assert_eq!(code(&any, &[""]), "ok");
        assert!(message(&fasta, &["MKV"]).starts_with("is not a valid application/fasta file: "));
    }

    #[test]
    fn arrays_validate_each_element_and_stop_at_the_first_refusal() {
        let kind = Kind::Integer {
            min: None,
            max: Some(int(9)),
        };
        let optional = field(kind.clone(), true, false);
        assert!(matches!(optional.validate(&[]), Ok(Value::None)));
        assert_eq!(code(&optional, &["1", "9"]), "ok");
        assert_eq!(
            message(&optional, &["1", "10", "x"]),
            "element 1: must be at most 9, got 10"
        );
        // An empty element is None in an optional array...
        assert!(
            matches!(optional.validate(&["1", ""]), Ok(Value::List(items)) if matches!(items[1], Value::None))
        );
        // ...and `required` in a required one.
        let required = field(kind, true, true);
        assert_eq!(code(&required, &["1", ""]), "required");
        assert_eq!(code(&required, &[]), "required");
    }

    #[test]
    fn defaults_validate_as_python_values() {
        let kind = Kind::Integer {
            min: None,
            max: None,
        };
        assert!(kind.run_validation(&Value::Float(5.0)).is_ok());
        assert!(kind.run_validation(&Value::Float(2.5)).is_err());
        assert!(kind.run_validation(&Value::Bool(true)).is_err());
        assert!(kind.run_validation(&Value::List(vec![int(1)])).is_err());
        let text_kind = Kind::Text {
            min_length: None,
            max_length: Some(int(1)),
        };
        assert!(text_kind.run_validation(&int(5)).is_ok());
        assert!(text_kind.run_validation(&int(10)).is_err());
    }
}
