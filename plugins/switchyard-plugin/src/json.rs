//! Reading a payload's JSON without building a `serde_json::Value`.
//!
//! A plugin usually needs a few keys of a payload (slivka-form its
//! `inputs`, fasta-size one input). Building a `Value` of the whole payload
//! to find them cost fasta-size more than half of each call. A serde
//! visitor that looks only at those keys is much cheaper, but what it passes
//! over must still be read: a payload that is not JSON must be refused the
//! same way, whichever part is broken. [`Skip`] reads any value and drops
//! it; [`skip_other_json!`](crate::skip_other_json) fills in the visitor
//! methods a visitor has no use for.

use std::fmt;

/// serde's deserializer traits, for the visitors a plugin writes and the
/// code [`skip_other_json!`](crate::skip_other_json) expands to.
pub use serde::de;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};

/// Any JSON value, read and dropped. Not serde's `IgnoredAny`: that skips
/// through serde_json's lighter path, which checks less (the nesting limit,
/// strings' UTF-8) than reading a `Value` does, and the parts of a payload a
/// plugin passes over must be refused exactly as a `Value` would refuse them.
pub struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    crate::skip_other_json!(());

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Skip)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
}

/// Inside `impl<'de> Visitor<'de> for ...`: the visitor methods for JSON
/// scalars and lists, each read through (so it must still be valid JSON)
/// and answered with `$answer`. The visitor writes `visit_map` (and any
/// method it has a use for, before this line) itself.
///
/// ```
/// use switchyard_plugin::json::de::{MapAccess, Visitor};
///
/// /// Whether a payload is a JSON object.
/// struct IsObject;
///
/// impl<'de> Visitor<'de> for IsObject {
///     type Value = bool;
///
///     fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
///         f.write_str("JSON")
///     }
///
///     switchyard_plugin::skip_other_json!(false);
///
///     fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
///         while map.next_key_seed(switchyard_plugin::json::Skip)?.is_some() {
///             map.next_value_seed(switchyard_plugin::json::Skip)?;
///         }
///         Ok(true)
///     }
/// }
///
/// use switchyard_plugin::json::de::Deserializer as _;
/// let mut json = switchyard_plugin::serde_json::Deserializer::from_slice(br#"[1, {"a": 2}]"#);
/// assert!(!(&mut json).deserialize_any(IsObject).unwrap());
/// let mut json = switchyard_plugin::serde_json::Deserializer::from_slice(br#"{"a": [1]}"#);
/// assert!((&mut json).deserialize_any(IsObject).unwrap());
/// ```
#[macro_export]
macro_rules! skip_other_json {
    ($answer:expr) => {
        fn visit_unit<E: $crate::json::de::Error>(self) -> Result<Self::Value, E> {
            Ok($answer)
        }
        fn visit_bool<E: $crate::json::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($answer)
        }
        fn visit_i64<E: $crate::json::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($answer)
        }
        fn visit_u64<E: $crate::json::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($answer)
        }
        fn visit_f64<E: $crate::json::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($answer)
        }
        fn visit_str<E: $crate::json::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($answer)
        }
        fn visit_seq<A: $crate::json::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            while seq.next_element_seed($crate::json::Skip)?.is_some() {}
            Ok($answer)
        }
    };
}
