//! Reading a job's `inputs` from its payload.
//!
//! The payload is JSON `{"inputs": {name: value}}` where each value is a
//! string, a list of strings and nulls, or null: slivka's request
//! parameters. A string is one value (`""` too, as in a form post); a list
//! gives its non-null elements in order; null gives none. Numbers and
//! booleans, which a form post cannot carry, are taken as their JSON text.
//! A payload that is not like that is one field error, never a trap.
//!
//! This runs for every job, so the payload is read straight into [`Inputs`]
//! by serde visitors rather than into a `serde_json::Value` first: names and
//! values without escapes are borrowed from the payload, and nothing else is
//! built. Every value still goes through serde_json's own parser (always
//! through `deserialize_any`, as a `Value` would), so what counts as JSON, the
//! nesting limit and the error messages are serde_json's, as before.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use switchyard_plugin::json::Skip;
use switchyard_plugin::{ErrorCode, FieldError};

/// One input as the job gave it, before it meets the form. Texts borrow from
/// the payload where they can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raw<'a> {
    /// No value: `null`, or a list with only nulls (or nothing).
    Missing,
    /// The values given, in order (at least one): a string is one value,
    /// a list its non-null elements. `""` is a value. Numbers and booleans
    /// are taken as their JSON text, so `5` reads like `"5"`.
    Values(Vec<Cow<'a, str>>),
    /// A value that is none of the above (an object, a nested list); the
    /// text says what it was.
    Unreadable(&'static str),
}

/// The inputs by name: sorted, each name once (the last value given for a
/// name counts, as in a JSON object read into a map).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs<'a> {
    /// Sorted by name; names are unique.
    by_name: Vec<(Cow<'a, str>, Raw<'a>)>,
}

impl<'a> Inputs<'a> {
    /// The input called `name`.
    pub fn get(&self, name: &str) -> Option<&Raw<'a>> {
        self.by_name
            .binary_search_by(|(have, _)| have.as_ref().cmp(name))
            .ok()
            .map(|index| &self.by_name[index].1)
    }

    /// The inputs, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Raw<'a>)> {
        self.by_name.iter().map(|(name, raw)| (name.as_ref(), raw))
    }

    /// How many inputs there are.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Sorts the inputs as read, keeping the last value of a repeated name.
    fn from_read(mut by_name: Vec<(Cow<'a, str>, Raw<'a>)>) -> Self {
        // A stable sort keeps repeats in payload order, so the last of each
        // run of equal names is the one a map would have kept.
        by_name.sort_by(|a, b| a.0.cmp(&b.0));
        by_name.dedup_by(|later, earlier| {
            if later.0 == earlier.0 {
                std::mem::swap(later, earlier);
                true
            } else {
                false
            }
        });
        Inputs { by_name }
    }
}

/// Reads the inputs from a payload.
pub fn read_inputs(payload: &[u8]) -> Result<Inputs<'_>, FieldError> {
    if payload.is_empty() {
        return Err(FieldError::new(
            "payload",
            ErrorCode::Invalid,
            "the job has no payload; expected JSON {\"inputs\": {...}}",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(payload);
    let inputs = PayloadSeed
        .deserialize(&mut deserializer)
        .and_then(|inputs| deserializer.end().map(|()| inputs))
        .map_err(|error| {
            FieldError::new(
                "payload",
                ErrorCode::Invalid,
                format!("the payload is not JSON: {error}"),
            )
        })?;
    inputs.ok_or_else(|| {
        FieldError::new(
            "inputs",
            ErrorCode::Invalid,
            "the payload has no `inputs` object; expected JSON {\"inputs\": {...}}",
        )
    })
}

/// The whole payload: `Some` inputs if it is an object with an `inputs`
/// object (the last `inputs` key counts), `None` if it is any other JSON.
struct PayloadSeed;

impl<'de> DeserializeSeed<'de> for PayloadSeed {
    type Value = Option<Inputs<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PayloadSeed {
    type Value = Option<Inputs<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    switchyard_plugin::skip_other_json!(None);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut inputs = None;
        while let Some(key) = map.next_key_seed(TextSeed)? {
            if key == "inputs" {
                inputs = map.next_value_seed(InputsSeed)?;
            } else {
                map.next_value_seed(Skip)?;
            }
        }
        Ok(inputs)
    }
}

/// The value of `inputs`: `Some` if it is an object, `None` otherwise.
struct InputsSeed;

impl<'de> DeserializeSeed<'de> for InputsSeed {
    type Value = Option<Inputs<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for InputsSeed {
    type Value = Option<Inputs<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    switchyard_plugin::skip_other_json!(None);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut by_name = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(name) = map.next_key_seed(TextSeed)? {
            by_name.push((name, map.next_value_seed(RawSeed)?));
        }
        Ok(Some(Inputs::from_read(by_name)))
    }
}

/// One input's value as [`Raw`].
struct RawSeed;

impl<'de> DeserializeSeed<'de> for RawSeed {
    type Value = Raw<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RawSeed {
    type Value = Raw<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut values = Vec::new();
        let mut unreadable = None;
        while let Some(item) = seq.next_element_seed(ScalarSeed)? {
            // After the first element that is not a scalar the rest are only
            // read, so the payload is still checked to be JSON.
            match (item, unreadable) {
                (Ok(Some(text)), None) => values.push(text),
                (Err(what), None) => unreadable = Some(what),
                _ => {}
            }
        }
        Ok(match unreadable {
            Some(what) => Raw::Unreadable(what),
            None if values.is_empty() => Raw::Missing,
            None => Raw::Values(values),
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        ScalarSeed
            .visit_map(map)
            .map(|_| Raw::Unreadable("an object"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Raw::Missing)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(one(ScalarSeed.visit_bool(value)?))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(one(ScalarSeed.visit_i64(value)?))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(one(ScalarSeed.visit_u64(value)?))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(one(ScalarSeed.visit_f64(value)?))
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(one(ScalarSeed.visit_borrowed_str(value)?))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(one(ScalarSeed.visit_str(value)?))
    }
}

/// A single value's scalar as [`Raw`].
fn one(scalar: Scalar<'_>) -> Raw<'_> {
    match scalar {
        Ok(Some(text)) => Raw::Values(vec![text]),
        Ok(None) => Raw::Missing,
        Err(what) => Raw::Unreadable(what),
    }
}

/// A scalar as text; `None` for `null`; what it was if it is not a scalar.
type Scalar<'a> = Result<Option<Cow<'a, str>>, &'static str>;

/// A value that should be a scalar: a single input or a list element.
struct ScalarSeed;

impl<'de> DeserializeSeed<'de> for ScalarSeed {
    type Value = Scalar<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarSeed {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Ok(None))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Ok(Some(Cow::Borrowed(if value {
            "true"
        } else {
            "false"
        }))))
    }

    // Numbers are written as serde_json writes the number it read (so `1.50`
    // becomes `1.5`, `1e2` becomes `100.0`), exactly as before.
    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Ok(Some(Cow::Owned(
            serde_json::Number::from(value).to_string(),
        ))))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Ok(Some(Cow::Owned(
            serde_json::Number::from(value).to_string(),
        ))))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        // A float serde_json cannot hold would have been `null`.
        Ok(Ok(
            serde_json::Number::from_f64(value).map(|n| Cow::Owned(n.to_string()))
        ))
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Ok(Some(Cow::Borrowed(value))))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Ok(Some(Cow::Owned(value.to_string()))))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(Err("a list inside a list"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_key_seed(Skip)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(Err("an object"))
    }
}

/// A name (or any string), borrowed from the payload unless it had escapes.
struct TextSeed;

impl<'de> DeserializeSeed<'de> for TextSeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for TextSeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The input called `name`, which must be there.
    fn input<'a>(inputs: &'a Inputs<'_>, name: &str) -> Raw<'a> {
        inputs.get(name).cloned().unwrap()
    }

    fn one(text: &str) -> Raw<'_> {
        Raw::Values(vec![text.into()])
    }

    #[test]
    fn reads_strings_lists_and_nulls() {
        let inputs = read_inputs(
            br#"{"inputs": {"a": "x", "b": ["1", "", null, 2], "c": null, "d": "",
                 "e": [], "f": [null], "g": {"k": 1}, "h": [[1]], "i": 5, "j": true},
                 "other": "ignored"}"#,
        )
        .unwrap();
        assert_eq!(input(&inputs, "a"), one("x"));
        assert_eq!(
            input(&inputs, "b"),
            Raw::Values(vec!["1".into(), "".into(), "2".into()])
        );
        assert_eq!(input(&inputs, "c"), Raw::Missing);
        assert_eq!(input(&inputs, "d"), one(""));
        assert_eq!(input(&inputs, "e"), Raw::Missing);
        assert_eq!(input(&inputs, "f"), Raw::Missing);
        assert_eq!(input(&inputs, "g"), Raw::Unreadable("an object"));
        assert_eq!(input(&inputs, "h"), Raw::Unreadable("a list inside a list"));
        assert_eq!(input(&inputs, "i"), one("5"));
        assert_eq!(input(&inputs, "j"), one("true"));
        assert_eq!(inputs.len(), 10);
        let names: Vec<&str> = inputs.iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
    }

    #[test]
    fn numbers_and_flags_read_as_their_json_text() {
        let inputs = read_inputs(
            br#"{"inputs": {"int": 42, "neg": -7, "big": 18446744073709551615,
                 "float": 1.50, "exp": 1e2, "tiny": -0.0, "huge": 1e300, "no": false,
                 "list": [3, 2.5, false, -1]}}"#,
        )
        .unwrap();
        assert_eq!(input(&inputs, "int"), one("42"));
        assert_eq!(input(&inputs, "neg"), one("-7"));
        assert_eq!(input(&inputs, "big"), one("18446744073709551615"));
        assert_eq!(input(&inputs, "float"), one("1.5"));
        assert_eq!(input(&inputs, "exp"), one("100.0"));
        assert_eq!(input(&inputs, "tiny"), one("-0.0"));
        assert_eq!(input(&inputs, "huge"), one("1e+300"));
        assert_eq!(input(&inputs, "no"), one("false"));
        assert_eq!(
            input(&inputs, "list"),
            Raw::Values(vec!["3".into(), "2.5".into(), "false".into(), "-1".into()])
        );
    }

    #[test]
    fn lists_drop_nulls_keep_empty_strings_and_refuse_nesting() {
        let inputs = read_inputs(
            br#"{"inputs": {"gaps": [null, "a", "", null, "b"], "none": [null, ""],
                 "object-in-list": ["a", {"k": [1]}, [2]], "list-in-list": [[], {}],
                 "nested-object": {"a": {"b": [null]}}}}"#,
        )
        .unwrap();
        assert_eq!(
            input(&inputs, "gaps"),
            Raw::Values(vec!["a".into(), "".into(), "b".into()])
        );
        assert_eq!(input(&inputs, "none"), one(""));
        // The first element that is not a scalar names what the list holds.
        assert_eq!(
            input(&inputs, "object-in-list"),
            Raw::Unreadable("an object")
        );
        assert_eq!(
            input(&inputs, "list-in-list"),
            Raw::Unreadable("a list inside a list")
        );
        assert_eq!(
            input(&inputs, "nested-object"),
            Raw::Unreadable("an object")
        );
    }

    #[test]
    fn escaped_strings_are_unescaped_and_plain_ones_borrowed() {
        let inputs = read_inputs(
            br#"{"inputs": {"fasta": ">a\nMKV\u0041", "plain": "MKV", "na\u006de": "x"}}"#,
        )
        .unwrap();
        assert_eq!(input(&inputs, "fasta"), one(">a\nMKVA"));
        assert_eq!(input(&inputs, "name"), one("x"));
        assert!(matches!(
            inputs.get("plain"),
            Some(Raw::Values(v)) if matches!(v[..], [Cow::Borrowed("MKV")])
        ));
    }

    #[test]
    fn a_repeated_name_or_inputs_key_keeps_the_last_value() {
        let inputs =
            read_inputs(br#"{"inputs": {"b": "1", "a": "x", "b": "2", "b": ["3", "4"]}}"#).unwrap();
        assert_eq!(inputs.len(), 2);
        assert_eq!(input(&inputs, "a"), one("x"));
        assert_eq!(
            input(&inputs, "b"),
            Raw::Values(vec!["3".into(), "4".into()])
        );

        let inputs = read_inputs(br#"{"inputs": 5, "inputs": {"a": "y"}}"#).unwrap();
        assert_eq!(input(&inputs, "a"), one("y"));
        let error = read_inputs(br#"{"inputs": {"a": "y"}, "inputs": null}"#).unwrap_err();
        assert_eq!(error.field, "inputs");
        assert!(read_inputs(br#"{"inputs": {}}"#).unwrap().is_empty());
    }

    #[test]
    fn refuses_payloads_without_inputs() {
        let cases: [(&[u8], &str, &str); 9] = [
            (b"", "payload", "the job has no payload"),
            (
                b"not json",
                "payload",
                "the payload is not JSON: expected ident at line 1 column 2",
            ),
            (b"[1, 2]", "inputs", "the payload has no `inputs` object"),
            (
                b"\"inputs\"",
                "inputs",
                "the payload has no `inputs` object",
            ),
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
            (
                br#"{"inputs": {"a": "x"}} trailing"#,
                "payload",
                "the payload is not JSON: trailing characters at line 1 column 24",
            ),
            (
                br#"{"inputs": {"a": "x"}, "other": [1, }"#,
                "payload",
                "the payload is not JSON: expected value at line 1 column 37",
            ),
            (
                b"{\"inputs\": {\"a\": \"x\"}, \"other\": \"\xff\"}",
                "payload",
                "the payload is not JSON: invalid unicode code point at line 1 column 34",
            ),
        ];
        for (payload, field, message) in cases {
            let error = read_inputs(payload).unwrap_err();
            assert_eq!(error.field, field);
            assert_eq!(error.code, ErrorCode::Invalid);
            assert!(error.message.starts_with(message), "{}", error.message);
        }
    }

    /// The inputs as they were read before this module used visitors: the
    /// whole payload into a `serde_json::Value`, then converted. The visitors
    /// must give the same answer for every payload.
    fn read_through_value(payload: &[u8]) -> Result<Vec<(String, Raw<'static>)>, FieldError> {
        use serde_json::Value as Json;

        fn scalar(value: &Json) -> Result<Option<Cow<'static, str>>, &'static str> {
            match value {
                Json::Null => Ok(None),
                Json::String(s) => Ok(Some(s.clone().into())),
                Json::Number(n) => Ok(Some(n.to_string().into())),
                Json::Bool(b) => Ok(Some(b.to_string().into())),
                Json::Array(_) => Err("a list inside a list"),
                Json::Object(_) => Err("an object"),
            }
        }

        fn raw(value: &Json) -> Raw<'static> {
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
                        Raw::Values(values)
                    }
                }
                other => match scalar(other) {
                    Ok(Some(text)) => Raw::Values(vec![text]),
                    Ok(None) => Raw::Missing,
                    Err(what) => Raw::Unreadable(what),
                },
            }
        }

        if payload.is_empty() {
            return Err(read_inputs(payload).unwrap_err());
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

    #[test]
    fn reads_as_reading_a_json_value_did() {
        let deep = |depth: usize| {
            format!(
                r#"{{"inputs": {{"a": "x"}}, "other": {}{}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        let payloads: Vec<Vec<u8>> = [
            deep(100),
            deep(200),
            r#"{"inputs": {"a": [[[[[[1]]]]]]}}"#.to_string(),
            r#"{"inputs": {"a": 1e999}}"#.to_string(),
            r#"{"inputs": {"a": [1, 2.50, -0, 1E-7, 12345678901234567890, -9223372036854775808]}}"#
                .to_string(),
            r#"{"inputs": {"a": [1, {"k": tru}]}}"#.to_string(),
            r#"{"inputs": {1: "x"}}"#.to_string(),
            r#"{"inputs": {"a": "x\q"}}"#.to_string(),
            r#"{"inputs": {"a": "x"}, "other": "\ud800"}"#.to_string(),
            r#"{"inputs": {"a": "\ud83d\ude00", "\u00e9": "\/"}}"#.to_string(),
            "   ".to_string(),
            "{\"inputs\": {\"a\": \"x\ty\"}}".to_string(),
            r#"{"inputs": {"b": 1, "a": [null, "", true], "b": {}, "c": [[], "x"]}}"#.to_string(),
            r#"{"inputs": {"a": "x"}, "inputs": []}"#.to_string(),
            r#"{"inputs": null}"#.to_string(),
            r#"{"inputs": {"a": "x"}"#.to_string(),
            r#"{"inputs": {"a": "x",}}"#.to_string(),
            r#"{"inputs": {}} {}"#.to_string(),
            "\u{feff}{\"inputs\": {}}".to_string(),
            "42".to_string(),
            "null".to_string(),
        ]
        .into_iter()
        .map(String::into_bytes)
        .chain([
            b"{\"inputs\": {\"a\": \"\xff\"}}".to_vec(),
            b"\xff".to_vec(),
        ])
        .collect();
        for payload in payloads {
            let expected = read_through_value(&payload);
            let found = read_inputs(&payload).map(|inputs| {
                inputs
                    .iter()
                    .map(|(name, raw)| (name.to_string(), raw.clone()))
                    .collect::<Vec<_>>()
            });
            let shown = String::from_utf8_lossy(&payload);
            match (found, expected) {
                (Ok(found), Ok(expected)) => {
                    let expected: Vec<(String, Raw<'_>)> = expected;
                    assert_eq!(found, expected, "{shown}");
                }
                (Err(found), Err(expected)) => {
                    assert_eq!(
                        (found.field, found.code, found.message),
                        (expected.field, expected.code, expected.message),
                        "{shown}"
                    );
                }
                (found, expected) => panic!("{shown}: {found:?} but before {expected:?}"),
            }
        }
    }
}
