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
