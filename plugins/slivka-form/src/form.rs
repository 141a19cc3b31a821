//! Reading a service's form from its JSON text.
//!
//! The format mirrors the `form` section of a slivka service file, as JSON;
//! the crate documentation describes it. Everything a form can get wrong is
//! found here, when the form is read, and reported as a list of
//! [`FormError`]s: an unknown type or key, a constraint of the wrong JSON
//! type, a default that breaks its own constraints, a malformed condition.
//! Checking a job then never meets a broken form.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value as Json};

use crate::condition::Condition;
use crate::kind::{Bound, Kind};
use crate::value::Value;

/// A service's form: the fields a job's `inputs` may hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    /// The fields, sorted by name; names are unique.
    fields: Vec<Field>,
}

/// One field of a form.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The input parameter's name.
    pub name: String,
    /// Its type and constraints.
    pub kind: Kind,
    /// Whether the input is a list; constraints apply to each element.
    pub array: bool,
    /// Whether a job must give a value: `required` (default true) and no
    /// default.
    pub required: bool,
    /// The value used when a job gives none; already checked against the
    /// constraints. A list for array fields.
    pub default: Option<Value>,
    /// When a given value is allowed at all; its field references are known
    /// to exist.
    pub condition: Option<Condition>,
}

/// One thing wrong with a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError {
    /// The field the problem is in; `None` for the form as a whole.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl FormError {
    /// A problem in the form as a whole.
    fn whole(message: impl Into<String>) -> Self {
        FormError {
            field: None,
            message: message.into(),
        }
    }

    /// A problem in field `name`.
    fn field(name: &str, message: impl Into<String>) -> Self {
        FormError {
            field: Some(name.to_string()),
            message: message.into(),
        }
    }
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "field `{field}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Keys a field object may hold besides its value's keys.
const FIELD_KEYS: &[&str] = &["label", "description", "value", "condition"];

/// Keys every value object may hold.
const COMMON_KEYS: &[&str] = &[
    "type",
    "required",
    "default",
    "array",
    "multiple",
    "condition",
];

impl Form {
    /// Reads a form from its JSON text, reporting every problem found.
    pub fn parse(text: &str) -> Result<Form, Vec<FormError>> {
        let json: Json = serde_json::from_str(text)
            .map_err(|error| vec![FormError::whole(format!("not JSON: {error}"))])?;
        let Json::Object(specs) = json else {
            return Err(vec![FormError::whole(
                "not a JSON object mapping field names to fields",
            )]);
        };

        let mut errors = Vec::new();
        let mut fields = Vec::new();
        // Conditions are parsed once every field name is known.
        let mut conditions = Vec::new();
        for (name, spec) in &specs {
            match parse_field(name, spec) {
                Ok((field, condition)) => {
                    if let Some(condition) = condition {
                        conditions.push((fields.len(), condition));
                    }
                    fields.push(field);
                }
                Err(mut field_errors) => errors.append(&mut field_errors),
            }
        }

        let names: BTreeSet<&str> = specs.keys().map(String::as_str).collect();
        for (index, source) in conditions {
            let field = &mut fields[index];
            match Condition::parse(&source, &field.name, |name| names.contains(name)) {
                Ok(condition) => field.condition = Some(condition),
                Err(error) => errors.push(FormError::field(
                    &field.name,
                    format!("condition `{source}` is malformed: {error}"),
                )),
            }
        }

        if errors.is_empty() {
            // serde_json's map is sorted unless its `preserve_order` feature
            // is on somewhere in the build; sort so lookups never depend on it.
            fields.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(Form { fields })
        } else {
            Err(errors)
        }
    }

    /// The fields, sorted by name.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields
            .binary_search_by(|field| field.name.as_str().cmp(name))
            .ok()
            .map(|index| &self.fields[index])
    }
}

/// Reads one field; the condition comes back as text, to be parsed once all
/// names are known.
fn parse_field(name: &str, spec: &Json) -> Result<(Field, Option<String>), Vec<FormError>> {
    let fail = |message: String| vec![FormError::field(name, message)];
    let Json::Object(spec) = spec else {
        return Err(fail("must be a JSON object".into()));
    };
    if name.is_empty() {
        return Err(fail("a field name cannot be empty".into()));
    }

    // Either the slivka layout (`value` holds the type and constraints) or a
    // flat one (the field object holds them).
    let (value, field_condition) = match spec.get("value") {
        Some(Json::Object(value)) => {
            if let Some(key) = spec.keys().find(|key| !FIELD_KEYS.contains(&key.as_str())) {
                return Err(fail(format!(
                    "unknown key `{key}` (a field holds label, description, value, condition)"
                )));
            }
            (value, spec.get("condition"))
        }
        Some(_) => return Err(fail("`value` must be a JSON object".into())),
        None => (spec, None),
    };

    let kind = parse_kind(value).map_err(fail)?;
    let allowed = kind_keys(&kind);
    let extra_field_keys: &[&str] = if spec.contains_key("value") {
        &[]
    } else {
        &["label", "description"]
    };
    if let Some(key) = value.keys().find(|key| {
        let key = key.as_str();
        !COMMON_KEYS.contains(&key) && !allowed.contains(&key) && !extra_field_keys.contains(&key)
    }) {
        return Err(fail(format!(
            "unknown key `{key}` for a {} field",
            kind.name()
        )));
    }

    let array = match (flag(value, "array"), flag(value, "multiple")) {
        (Ok(a), Ok(m)) => a.unwrap_or(false) || m.unwrap_or(false),
        (Err(e), _) | (_, Err(e)) => return Err(fail(e)),
    };
    let required = flag(value, "required").map_err(fail)?.unwrap_or(true);
    let default = match value.get("default") {
        None | Some(Json::Null) => None,
        Some(default) => Some(parse_default(&kind, array, default).map_err(fail)?),
    };
    let condition = match (field_condition, value.get("condition")) {
        (Some(_), Some(_)) => {
            return Err(fail(
                "has a condition both in the field and in its value".into(),
            ));
        }
        (Some(Json::String(c)), None) | (None, Some(Json::String(c))) => Some(c.clone()),
        (None, None) => None,
        _ => return Err(fail("`condition` must be a string".into())),
    };

    let field = Field {
        name: name.to_string(),
        kind,
        array,
        required: required && default.is_none(),
        default,
        condition: None,
    };
    Ok((field, condition))
}

/// The keys a value object of `kind` may hold besides [`COMMON_KEYS`].
fn kind_keys(kind: &Kind) -> &'static [&'static str] {
    match kind {
        Kind::Integer { .. } => &["min", "max"],
        Kind::Decimal { .. } => &["min", "max", "min-exclusive", "max-exclusive"],
        Kind::Text { .. } => &["min-length", "max-length"],
        Kind::Flag => &[],
        Kind::Choice { .. } => &["choices"],
        // `extensions` and `media-type-parameters` are slivka's hints for
        // upload widgets; accepted and not checked.
        Kind::File { .. } => &[
            "media-type",
            "max-size",
            "extensions",
            "media-type-parameters",
        ],
    }
}

/// Reads `type` and the constraints that go with it.
fn parse_kind(value: &Map<String, Json>) -> Result<Kind, String> {
    let Some(type_name) = value.get("type") else {
        return Err("has no `type`".into());
    };
    let Json::String(type_name) = type_name else {
        return Err("`type` must be a string".into());
    };
    let kind = match type_name.as_str() {
        "integer" | "int" => Kind::Integer {
            min: integer(value, "min")?,
            max: integer(value, "max")?,
        },
        "decimal" | "float" => Kind::Decimal {
            min: bound(value, "min", "min-exclusive")?,
            max: bound(value, "max", "max-exclusive")?,
        },
        "text" | "string" => Kind::Text {
            min_length: length(value, "min-length")?,
            max_length: length(value, "max-length")?,
        },
        "flag" | "boolean" => Kind::Flag,
        "choice" => Kind::Choice {
            choices: choices(value)?,
        },
        "file" => Kind::File {
            media_type: media_type(value)?,
            max_size: max_size(value)?,
        },
        other => {
            return Err(format!(
                "unknown type `{other}` (expected integer, decimal, text, flag, choice or file)"
            ));
        }
    };
    Ok(kind)
}

/// An optional boolean key.
fn flag(value: &Map<String, Json>, key: &str) -> Result<Option<bool>, String> {
    match value.get(key) {
        None => Ok(None),
        Some(Json::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(format!("`{key}` must be true or false")),
    }
}

/// An optional integer key.
fn integer(value: &Map<String, Json>, key: &str) -> Result<Option<i64>, String> {
    match value.get(key) {
        None => Ok(None),
        Some(json) => json
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("`{key}` must be an integer")),
    }
}

/// An optional decimal bound and its exclusivity flag.
fn bound(
    value: &Map<String, Json>,
    key: &str,
    exclusive_key: &str,
) -> Result<Option<Bound>, String> {
    let exclusive = flag(value, exclusive_key)?.unwrap_or(false);
    match value.get(key) {
        None if exclusive => Err(format!("`{exclusive_key}` is set but `{key}` is not")),
        None => Ok(None),
        Some(json) => json
            .as_f64()
            .map(|limit| Some(Bound { limit, exclusive }))
            .ok_or_else(|| format!("`{key}` must be a number")),
    }
}

/// An optional length key.
fn length(value: &Map<String, Json>, key: &str) -> Result<Option<usize>, String> {
    match value.get(key) {
        None => Ok(None),
        Some(json) => json
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("`{key}` must be a non-negative integer")),
    }
}

/// The choices: an object of key → command-line value, or a list of keys
/// (each standing for itself).
fn choices(value: &Map<String, Json>) -> Result<Vec<(String, String)>, String> {
    let mut choices = match value.get("choices") {
        None => return Err("a choice field needs `choices`".into()),
        Some(Json::Object(map)) => map
            .iter()
            .map(|(key, command)| match command {
                Json::String(s) => Ok((key.clone(), s.clone())),
                Json::Number(_) | Json::Bool(_) => Ok((key.clone(), command.to_string())),
                _ => Err(format!("choice `{key}` must map to a string")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(Json::Array(keys)) => keys
            .iter()
            .map(|key| match key {
                Json::String(s) => Ok((s.clone(), s.clone())),
                _ => Err("`choices` listed as an array must hold strings".to_string()),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err("`choices` must be an object (key: command-line value)".into()),
    };
    if choices.is_empty() {
        return Err("`choices` is empty".into());
    }
    choices.sort();
    choices.dedup_by(|a, b| a.0 == b.0);
    Ok(choices)
}

/// The media type, lowercased and without parameters (`; charset=...`).
fn media_type(value: &Map<String, Json>) -> Result<Option<String>, String> {
    match value.get("media-type") {
        None => Ok(None),
        Some(Json::String(s)) => {
            let essence = s
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            Ok(Some(essence))
        }
        Some(_) => Err("`media-type` must be a string".into()),
    }
}

/// The size limit: a number of bytes, or text such as `4MB`, `100 KiB`
/// (units B, K/KB/KiB, M/MB/MiB, G/GB/GiB, all powers of 1024).
fn max_size(value: &Map<String, Json>) -> Result<Option<u64>, String> {
    let error = || "`max-size` must be a number of bytes or text like `4MB`".to_string();
    match value.get("max-size") {
        None => Ok(None),
        Some(Json::Number(n)) => n.as_u64().map(Some).ok_or_else(error),
        Some(Json::String(s)) => {
            let s = s.trim();
            let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
            let (digits, unit) = s.split_at(split);
            let number: u64 = digits.parse().map_err(|_| error())?;
            let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
                "" | "b" => 1,
                "k" | "kb" | "kib" => 1 << 10,
                "m" | "mb" | "mib" => 1 << 20,
                "g" | "gb" | "gib" => 1 << 30,
                _ => return Err(error()),
            };
            number.checked_mul(scale).map(Some).ok_or_else(error)
        }
        Some(_) => Err(error()),
    }
}

/// Reads and checks a default: a single value, or for arrays a list (a
/// single value stands for a list of one).
fn parse_default(kind: &Kind, array: bool, default: &Json) -> Result<Value, String> {
    if matches!(kind, Kind::File { .. }) {
        return Err("a file field cannot have a default".into());
    }
    let read = |json: &Json| -> Result<Value, String> {
        let raw = match json {
            Json::String(s) if s.is_empty() => return Err("the default is empty".into()),
            Json::String(s) => s.clone(),
            Json::Number(n) => n.to_string(),
            Json::Bool(b) => b.to_string(),
            _ => return Err("the default must be a string, a number or a boolean".into()),
        };
        kind.read(&raw)
            .map_err(|refusal| format!("the default `{raw}` is invalid: {}", refusal.message))
    };
    match (array, default) {
        (true, Json::Array(items)) => Ok(Value::List(
            items.iter().map(read).collect::<Result<_, _>>()?,
        )),
        (true, single) => Ok(Value::List(vec![read(single)?])),
        (false, Json::Array(_)) => {
            Err("the default is a list but the field is not an array".into())
        }
        (false, single) => read(single),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        Form::parse(text)
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn reads_slivka_layout_and_flat_layout() {
        let form = Form::parse(
            r#"{
                "iterations": {
                    "label": "Iterations",
                    "value": {"type": "int", "min": 0, "max": 100, "default": 0},
                    "condition": "self == 0 or dealign"
                },
                "dealign": {"type": "boolean", "required": false},
                "gap-open": {"type": "float", "min": 0, "min-exclusive": true, "default": 1.53},
                "outfmt": {"type": "choice", "choices": {"fasta": "fa", "clustal": "clu"}, "default": "clustal"},
                "input": {"type": "file", "media-type": "application/fasta; charset=ascii", "max-size": "4MB"},
                "names": {"type": "string", "array": true, "max-length": 10}
            }"#,
        )
        .unwrap();
        let iterations = form.field("iterations").unwrap();
        assert_eq!(
            iterations.kind,
            Kind::Integer {
                min: Some(0),
                max: Some(100)
            }
        );
        assert!(!iterations.required);
        assert_eq!(iterations.default, Some(Value::Number(0.0)));
        assert_eq!(
            iterations.condition.as_ref().unwrap().fields(),
            &["iterations", "dealign"]
        );
        assert!(!form.field("dealign").unwrap().required);
        assert_eq!(
            form.field("gap-open").unwrap().kind,
            Kind::Decimal {
                min: Some(Bound {
                    limit: 0.0,
                    exclusive: true
                }),
                max: None
            }
        );
        assert_eq!(
            form.field("outfmt").unwrap().kind,
            Kind::Choice {
                choices: vec![
                    ("clustal".into(), "clu".into()),
                    ("fasta".into(), "fa".into())
                ]
            }
        );
        assert_eq!(
            form.field("input").unwrap().kind,
            Kind::File {
                media_type: Some("application/fasta".into()),
                max_size: Some(4 << 20)
            }
        );
        assert!(form.field("input").unwrap().required);
        assert!(form.field("names").unwrap().array);
        let names: Vec<&str> = form.fields().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "dealign",
                "gap-open",
                "input",
                "iterations",
                "names",
                "outfmt"
            ]
        );
    }

    #[test]
    fn array_defaults_are_lists() {
        let form = Form::parse(
            r#"{"ids": {"type": "integer", "multiple": true, "default": 3},
                "more": {"type": "integer", "array": true, "default": [1, 2]}}"#,
        )
        .unwrap();
        assert_eq!(
            form.field("ids").unwrap().default,
            Some(Value::List(vec![Value::Number(3.0)]))
        );
        assert_eq!(
            form.field("more").unwrap().default,
            Some(Value::List(vec![Value::Number(1.0), Value::Number(2.0)]))
        );
    }

    #[test]
    fn reports_every_problem() {
        let found = errors(
            r#"{
                "a": {"type": "colour"},
                "b": {"type": "integer", "min": "one"},
                "c": {"type": "integer", "max": 5, "default": 9},
                "d": {"type": "choice"},
                "e": {"type": "text", "maxlength": 3},
                "f": {"type": "flag", "condition": "a >"},
                "g": {"label": "no type"},
                "h": "not an object",
                "i": {"type": "file", "default": ">a\nMKV"},
                "j": {"type": "decimal", "max-exclusive": true},
                "k": {"label": "x", "value": {"type": "text"}, "extra": 1}
            }"#,
        );
        let expected = [
            "field `a`: unknown type `colour`",
            "field `b`: `min` must be an integer",
            "field `c`: the default `9` is invalid: must be at most 5, got 9",
            "field `d`: a choice field needs `choices`",
            "field `e`: unknown key `maxlength` for a text field",
            "field `g`: has no `type`",
            "field `h`: must be a JSON object",
            "field `i`: a file field cannot have a default",
            "field `j`: `max-exclusive` is set but `max` is not",
            "field `k`: unknown key `extra`",
            "field `f`: condition `a >` is malformed: at character 3: expected a value",
        ];
        assert_eq!(found.len(), expected.len(), "{found:#?}");
        for (found, expected) in found.iter().zip(expected) {
            assert!(
                found.starts_with(expected),
                "{found:?} should start with {expected:?}"
            );
        }
    }

    #[test]
    fn refuses_text_that_is_not_a_form() {
        assert_eq!(
            errors("{"),
            ["not JSON: EOF while parsing an object at line 1 column 1"]
        );
        assert_eq!(
            errors("[1]"),
            ["not a JSON object mapping field names to fields"]
        );
    }

    #[test]
    fn condition_naming_an_unknown_field_breaks_the_form() {
        let found = errors(r#"{"a": {"type": "flag", "condition": "b and a"}}"#);
        assert_eq!(
            found,
            [
                "field `a`: condition `b and a` is malformed: at character 0: `b` is not a field of the form"
            ]
        );
    }
}
