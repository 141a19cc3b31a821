//! Reading the FASTA input out of a job's payload.
//!
//! The router needs one value of the payload, `inputs.<input-field>`, and
//! runs for every job. Reading the whole payload into a `serde_json::Value`
//! first copied the FASTA text and built a map for everything else, only to
//! throw it away. Here serde visitors read the payload in one pass instead:
//! the FASTA text is counted where serde_json hands it over (borrowed from
//! the payload, or from serde_json's unescaping buffer when it has escapes,
//! as a FASTA text in JSON always does for its newlines), and nothing is
//! built for the other values.
//!
//! Every value still goes through serde_json's own parser, always through
//! `deserialize_any` as a `Value` would, so what counts as JSON, the nesting
//! limit and the error messages are serde_json's, exactly as before. Which
//! value counts is also as before: a repeated key keeps its last value, as a
//! JSON object read into a map does. A list is read as slivka reads a list
//! for a single-valued field: its first value (`null` elements are skipped).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use switchyard_plugin::json::Skip;

/// What the payload holds at `inputs.<input-field>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Nothing to count: no such input (or no `inputs` object), `null`,
    /// `""`, or a list whose first value is one of those.
    Missing,
    /// A value that is not a string: a number, a flag, an object, or a list
    /// whose first value is one of those or a list.
    NotText,
    /// A non-empty string (or a list's first value), already read as FASTA.
    Read(Result<fasta::Summary, fasta::FastaError>),
}

/// Reads `inputs.<field>` from a JSON payload, checking that the whole
/// payload is JSON.
pub fn read_input(payload: &[u8], field: &str) -> Result<Input, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(payload);
    let seed = At {
        key: "inputs",
        inner: At {
            key: field,
            inner: InputSeed,
        },
    };
    let input = seed.deserialize(&mut deserializer)?;
    // Trailing characters after the value make the payload not JSON.
    deserializer.end()?;
    Ok(input)
}

/// The value at `key` of a JSON object, read with `inner` (the last `key`
/// counts); any other JSON, or an object without `key`, has no input. The
/// payload is `At("inputs", At(<field>, InputSeed))`.
#[derive(Clone, Copy)]
struct At<'k, S> {
    key: &'k str,
    inner: S,
}

impl<'de, S> DeserializeSeed<'de> for At<'_, S>
where
    S: DeserializeSeed<'de, Value = Input> + Copy,
{
    type Value = Input;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Input, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S> Visitor<'de> for At<'_, S>
where
    S: DeserializeSeed<'de, Value = Input> + Copy,
{
    type Value = Input;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    switchyard_plugin::skip_other_json!(Input::Missing);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Input, A::Error> {
        let mut input = Input::Missing;
        while let Some(is_key) = map.next_key_seed(KeyIs(self.key))? {
            if is_key {
                input = map.next_value_seed(self.inner)?;
            } else {
                map.next_value_seed(Skip)?;
            }
        }
        Ok(input)
    }
}

/// The input's own value: a FASTA text is read right where serde_json hands
/// it over, so it is never copied.
#[derive(Clone, Copy)]
struct InputSeed;

impl<'de> DeserializeSeed<'de> for InputSeed {
    type Value = Input;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Input, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for InputSeed {
    type Value = Input;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Input, E> {
        Ok(Input::Missing)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Input, E> {
        Ok(Input::NotText)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Input, E> {
        Ok(Input::NotText)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Input, E> {
        Ok(Input::NotText)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Input, E> {
        // A float a `Value` cannot hold as a number would have been `null`.
        Ok(match serde_json::Number::from_f64(value) {
            Some(_) => Input::NotText,
            None => Input::Missing,
        })
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Input, E> {
        Ok(if text.is_empty() {
            Input::Missing
        } else {
            Input::Read(fasta::read(text))
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Input, A::Error> {
        // slivka gives a single-valued field the first value of a list;
        // `null` elements are no value at all.
        let mut input = Input::Missing;
        while let Some(element) = seq.next_element_seed(ElementSeed)? {
            if let Some(found) = element {
                input = found;
                break;
            }
        }
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(input)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Input, A::Error> {
        Skip.visit_map(map).map(|()| Input::NotText)
    }
}

/// An element of a list input: `None` for `null`, otherwise read as the
/// input itself would be (a list in a list is not text).
#[derive(Clone, Copy)]
struct ElementSeed;

impl<'de> DeserializeSeed<'de> for ElementSeed {
    type Value = Option<Input>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElementSeed {
    type Value = Option<Input>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Some(Input::NotText))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Some(Input::NotText))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Some(Input::NotText))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        // A float a `Value` cannot hold as a number would have been `null`.
        Ok(serde_json::Number::from_f64(value).map(|_| Input::NotText))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        InputSeed.visit_str(text).map(Some)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skip.visit_seq(seq).map(|()| Some(Input::NotText))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Skip.visit_map(map).map(|()| Some(Input::NotText))
    }
}

/// An object key, answered with whether it is the given name. The key is
/// compared where serde_json hands it over, so even one with escapes is not
/// copied.
struct KeyIs<'n>(&'n str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        // As a `Value` reads its keys.
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(payload: &str) -> Input {
        read_input(payload.as_bytes(), "input").unwrap()
    }

    fn counted(sequences: usize, residues: usize) -> Input {
        Input::Read(Ok(fasta::Summary {
            sequences,
            residues,
        }))
    }

    #[test]
    fn reads_the_fasta_text_with_its_escapes() {
        assert_eq!(read(r#"{"inputs": {"input": ">a\nMKV\n"}}"#), counted(1, 3));
        // `\r\n`, `\u` escapes and `\/` are unescaped before counting.
        assert_eq!(
            read(r#"{"inputs": {"input": ">a\/b\r\nMK\u0056\r\n>b\nM\u004b"}}"#),
            counted(2, 5)
        );
        // A text with no escapes at all (one line) is read where it lies.
        assert_eq!(
            read(r#"{"inputs": {"input": ">only a header"}}"#),
            counted(1, 0)
        );
        assert_eq!(
            read(r#"{"inputs": {"input": "MKV"}}"#),
            Input::Read(Err(fasta::FastaError::NoHeader {
                first_line: "MKV".into()
            }))
        );
    }

    #[test]
    fn other_values_are_read_but_not_kept() {
        assert_eq!(
            read(
                r#"{"job": [1, -2.5e3, true, null, {"a": ["\u00e9"]}],
                    "inputs": {"outfmt": "clustal", "input": ">a\nM\n", "n": {"x": [[]]}},
                    "after": "x"}"#
            ),
            counted(1, 1)
        );
    }

    #[test]
    fn keys_are_compared_unescaped() {
        assert_eq!(
            read(r#"{"\u0069nputs": {"inp\u0075t": ">a\nMK\n"}}"#),
            counted(1, 2)
        );
        // A differently spelt key is another key.
        assert_eq!(read(r#"{"inputs": {"Input": ">a\nMK\n"}}"#), Input::Missing);
        let other_field = read_input(br#"{"inputs": {"seqs": ">a\nMK\n"}}"#, "seqs").unwrap();
        assert_eq!(other_field, counted(1, 2));
    }

    #[test]
    fn missing_null_and_empty_inputs_are_missing() {
        for payload in [
            r#"{"inputs": {}}"#,
            r#"{"inputs": {"other": ">a\nM\n"}}"#,
            r#"{"inputs": {"input": null}}"#,
            r#"{"inputs": {"input": ""}}"#,
        ] {
            assert_eq!(read(payload), Input::Missing, "{payload}");
        }
    }

    #[test]
    fn values_that_are_not_strings_are_not_text() {
        for value in [
            "5",
            "-1",
            "2.5",
            "true",
            "[5, \">a\"]",
            "[[\">a\"]]",
            "{}",
            "{\"a\": 1}",
        ] {
            let payload = format!(r#"{{"inputs": {{"input": {value}}}}}"#);
            assert_eq!(read(&payload), Input::NotText, "{payload}");
        }
    }

    #[test]
    fn a_list_input_is_its_first_value() {
        assert_eq!(
            read(r#"{"inputs": {"input": [">a\nMKV", ">b\nM\n>c\nM"]}}"#),
            counted(1, 3)
        );
        assert_eq!(
            read(r#"{"inputs": {"input": [null, ">a\nMK", [1, {"x": 2}]]}}"#),
            counted(1, 2)
        );
        for list in ["[]", "[null]", "[null, null]", r#"["", ">a\nM"]"#] {
            let payload = format!(r#"{{"inputs": {{"input": {list}}}}}"#);
            assert_eq!(read(&payload), Input::Missing, "{payload}");
        }
    }

    #[test]
    fn payloads_without_an_inputs_object_have_no_input() {
        for payload in [
            "{}",
            "[]",
            "null",
            "42",
            r#""inputs""#,
            r#"[{"inputs": {"input": ">a\nM"}}]"#,
            r#"{"input": ">a\nM"}"#,
            r#"{"inputs": [">a\nM"]}"#,
            r#"{"inputs": ">a\nM"}"#,
            r#"{"inputs": null}"#,
            r#"{"other": {"inputs": {"input": ">a\nM"}}}"#,
        ] {
            assert_eq!(read(payload), Input::Missing, "{payload}");
        }
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        assert_eq!(
            read(r#"{"inputs": {"input": ">a\nM\n", "input": ">a\nMK\n>b\nM"}}"#),
            counted(2, 3)
        );
        assert_eq!(
            read(r#"{"inputs": {"input": ">a\nM\n", "input": 5}}"#),
            Input::NotText
        );
        assert_eq!(
            read(r#"{"inputs": {"input": [1], "input": null}}"#),
            Input::Missing
        );
        assert_eq!(
            read(r#"{"inputs": {"input": ">a\nM"}, "inputs": {"other": 1}}"#),
            Input::Missing
        );
        assert_eq!(
            read(r#"{"inputs": {"input": ">a\nM"}, "inputs": []}"#),
            Input::Missing
        );
        assert_eq!(
            read(r#"{"inputs": 1, "inputs": {"input": ">a\nMKV"}}"#),
            counted(1, 3)
        );
    }

    #[test]
    fn anything_that_is_not_json_is_serde_jsons_error() {
        let cases: [(&[u8], &str); 9] = [
            (b"", "EOF while parsing a value at line 1 column 0"),
            (b"nope", "expected ident at line 1 column 2"),
            (
                br#"{"inputs": {"input": ">a\nM"}} trailing"#,
                "trailing characters at line 1 column 32",
            ),
            (
                br#"{"inputs": {"input": ">a\nM"}"#,
                "EOF while parsing an object at line 1 column 29",
            ),
            (
                br#"{"inputs": {"input": ">a\qM"}}"#,
                "invalid escape at line 1 column 26",
            ),
            (
                b"{\"inputs\": {\"input\": \">a\nM\"}}",
                "control character (\\u0000-\\u001F) found while parsing a string at line 2 column 0",
            ),
            (
                br#"{"x": 1e999, "inputs": {"input": ">a\nM"}}"#,
                "number out of range at line 1 column 11",
            ),
            (
                br#"{"inputs": {"input": ">a\nM"}, "x": "\ud800"}"#,
                "unexpected end of hex escape at line 1 column 44",
            ),
            (
                b"{\"inputs\": {\"input\": \">a\\nM\"}, \"x\": \"\xff\"}",
                "invalid unicode code point at line 1 column 38",
            ),
        ];
        for (payload, message) in cases {
            let error = read_input(payload, "input").unwrap_err();
            assert_eq!(
                error.to_string(),
                message,
                "{}",
                String::from_utf8_lossy(payload)
            );
        }
    }

    #[test]
    fn skipped_values_keep_the_nesting_limit() {
        let nested = |depth: usize| {
            format!(
                r#"{{"inputs": {{"input": ">a\nM"}}, "x": {}{}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        assert_eq!(read(&nested(126)), counted(1, 1));
        let error = read_input(nested(200).as_bytes(), "input").unwrap_err();
        assert!(
            error.to_string().starts_with("recursion limit exceeded"),
            "{error}"
        );
    }
}
