//! Reading a job's `inputs` from its payload.
//!
//! The payload is JSON `{"inputs": {name: value}}` where each value is a
//! string, a list of strings or null (slivka's request parameters). A
//! payload that is not like that is one field error, never a trap.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use switchyard_plugin::{ErrorCode, FieldError};

/// One input as the job gave it, before it meets the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raw {
    /// Absent in effect: `null`, `""`, or a list with no non-empty element.
    Missing,
    /// A single value. Numbers and booleans are taken as their JSON text, so
    /// `5` reads like `"5"`.
    One(String),
    /// A list of at least one value; `null` and `""` elements are dropped.
    Many(Vec<String>),
    /// A value that is none of the above (an object, a nested list); the
    /// text says what it was.
    Unreadable(&'static str),
}

/// The inputs by name (sorted).
pub type Inputs = BTreeMap<String, Raw>;

/// Reads the inputs from a payload.
pub fn read_inputs(payload: &[u8]) -> Result<Inputs, FieldError> {
    if payload.is_empty() {
        return Err(FieldError::new(
            "payload",
            ErrorCode::Invalid,
            "the job has no payload; expected JSON {\"inputs\": {...}}",
        ));
    }
    let json: Json = serde_json::from_slice(payload).map_err(|error| {
        FieldError::new(
            "payload",
            ErrorCode::Invalid,
            format!("the payload is not JSON: {error}"),
        )
    })?;
    let Some(Json::Object(inputs)) = json.get("inputs") else {
        return Err(FieldError::new(
            "inputs",
            ErrorCode::Invalid,
            "the payload has no `inputs` object; expected JSON {\"inputs\": {...}}",
        ));
    };
    Ok(inputs
        .iter()
        .map(|(name, value)| (name.clone(), raw(value)))
        .collect())
}

/// One input value as [`Raw`].
fn raw(value: &Json) -> Raw {
    match value {
        Json::Array(items) => {
            let mut values = Vec::new();
            for item in items {
                match scalar(item) {
                    Ok(Some(text)) => values.push(text),
                    Ok(None) => {}
                    Err(what) => return Raw::Unreadable(what),
                }
            }
            if values.is_empty() {
                Raw::Missing
            } else {
                Raw::Many(values)
            }
        }
        other => match scalar(other) {
            Ok(Some(text)) => Raw::One(text),
            Ok(None) => Raw::Missing,
            Err(what) => Raw::Unreadable(what),
        },
    }
}

/// A scalar as text; `None` for `null` and `""`; what it was if it is not a
/// scalar.
fn scalar(value: &Json) -> Result<Option<String>, &'static str> {
    match value {
        Json::Null => Ok(None),
        Json::String(s) if s.is_empty() => Ok(None),
        Json::String(s) => Ok(Some(s.clone())),
        Json::Number(n) => Ok(Some(n.to_string())),
        Json::Bool(b) => Ok(Some(b.to_string())),
        Json::Array(_) => Err("a list inside a list"),
        Json::Object(_) => Err("an object"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_strings_lists_and_nulls() {
        let inputs = read_inputs(
            br#"{"inputs": {"a": "x", "b": ["1", "", null, 2], "c": null, "d": "",
                 "e": [], "f": [null], "g": {"k": 1}, "h": [[1]], "i": 5, "j": true},
                 "other": "ignored"}"#,
        )
        .unwrap();
        assert_eq!(inputs["a"], Raw::One("x".into()));
        assert_eq!(inputs["b"], Raw::Many(vec!["1".into(), "2".into()]));
        assert_eq!(inputs["c"], Raw::Missing);
        assert_eq!(inputs["d"], Raw::Missing);
        assert_eq!(inputs["e"], Raw::Missing);
        assert_eq!(inputs["f"], Raw::Missing);
        assert_eq!(inputs["g"], Raw::Unreadable("an object"));
        assert_eq!(inputs["h"], Raw::Unreadable("a list inside a list"));
        assert_eq!(inputs["i"], Raw::One("5".into()));
        assert_eq!(inputs["j"], Raw::One("true".into()));
    }

    #[test]
    fn refuses_payloads_without_inputs() {
        let cases: [(&[u8], &str, &str); 5] = [
            (b"", "payload", "the job has no payload"),
            (
                b"not json",
                "payload",
                "the payload is not JSON: expected ident",
            ),
            (b"[1, 2]", "inputs", "the payload has no `inputs` object"),
            (
                br#"{"input": {}}"#,
                "inputs",
                "the payload has no `inputs` object",
            ),
            (
                br#"{"inputs": ["a"]}"#,
                "inputs",
                "the payload has no `inputs` object",
            ),
        ];
        for (payload, field, message) in cases {
            let error = read_inputs(payload).unwrap_err();
            assert_eq!(error.field, field);
            assert_eq!(error.code, ErrorCode::Invalid);
            assert!(error.message.starts_with(message), "{}", error.message);
        }
    }
}
