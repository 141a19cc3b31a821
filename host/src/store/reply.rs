//! Reading Redis's replies: the shapes switchyard's commands answer with
//! (stream entries, `XINFO` maps), turned into plain Rust values. Works on
//! RESP2 and RESP3 replies alike; an unexpected shape reads as empty, never
//! as a panic.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use redis::Value;

/// `XINFO GROUPS` (or `XINFO CONSUMERS`) as one map of text per group.
pub fn groups(reply: Value) -> Vec<HashMap<String, String>> {
    let Value::Array(items) = reply else {
        return Vec::new();
    };
    items.into_iter().map(flat_map).collect()
}

/// A flat `[key, value, ...]` reply (or a RESP3 map) as a map of text.
pub fn flat_map(value: Value) -> HashMap<String, String> {
    let pairs: Vec<(Value, Value)> = match value {
        Value::Array(flat) => {
            let mut pairs = Vec::new();
            let mut iter = flat.into_iter();
            while let (Some(k), Some(v)) = (iter.next(), iter.next()) {
                pairs.push((k, v));
            }
            pairs
        }
        Value::Map(pairs) => pairs,
        _ => Vec::new(),
    };
    pairs
        .into_iter()
        .filter_map(|(k, v)| Some((text(k)?, text(v).unwrap_or_default())))
        .collect()
}

/// An entry's id and its fields as slices of one buffer: names first
/// (not yet checked to be UTF-8), then values. `None` fields for an entry
/// deleted from the stream while still pending.
pub type PackedEntry = (String, Option<Vec<(Bytes, Bytes)>>);

/// `XREADGROUP`'s reply as stream → entries, each entry's fields packed
/// into one buffer (see [`parse_packed_entries`]).
pub fn parse_streams(reply: Value) -> HashMap<String, Vec<PackedEntry>> {
    let mut streams = HashMap::new();
    let pairs: Vec<(Value, Value)> = match reply {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| match item {
                Value::Array(mut kv) if kv.len() == 2 => {
                    let entries = kv.pop()?;
                    let name = kv.pop()?;
                    Some((name, entries))
                }
                _ => None,
            })
            .collect(),
        Value::Map(kv) => kv,
        _ => Vec::new(),
    };
    for (name, entries) in pairs {
        if let Some(name) = text(name) {
            streams.insert(name, parse_packed_entries(&entries));
        }
    }
    streams
}

/// A list of `[id, [field, value, ...]]` entries, read in place: each
/// entry's names and values are copied once, into one buffer they all
/// share, so later copies of a field cost a reference count, not an
/// allocation. A name that is not a string (or integer) is skipped with
/// its value; a value that is not reads as empty.
pub fn parse_packed_entries(value: &Value) -> Vec<PackedEntry> {
    let Value::Array(items) = value else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let Value::Array(parts) = item else {
                return None;
            };
            let id = text_of(parts.first()?)?;
            let fields = match parts.get(1) {
                Some(Value::Array(flat)) => Some(pack(flat)),
                _ => None,
            };
            Some((id, fields))
        })
        .collect()
}

/// The `[field, value, ...]` pairs of `flat`, as slices of one buffer.
fn pack(flat: &[Value]) -> Vec<(Bytes, Bytes)> {
    let pairs = || {
        flat.chunks_exact(2)
            .filter_map(|pair| Some((slice_of(&pair[0])?, slice_of(&pair[1]).unwrap_or_default())))
    };
    let mut size = 0;
    let mut count = 0;
    for (name, value) in pairs() {
        size += name.len() + value.len();
        count += 1;
    }
    let mut buffer = BytesMut::with_capacity(size);
    for (name, value) in pairs() {
        buffer.extend_from_slice(&name);
        buffer.extend_from_slice(&value);
    }
    let buffer = buffer.freeze();
    let mut fields = Vec::with_capacity(count);
    let mut start = 0;
    for (name, value) in pairs() {
        let (name_end, end) = (start + name.len(), start + name.len() + value.len());
        fields.push((buffer.slice(start..name_end), buffer.slice(name_end..end)));
        start = end;
    }
    fields
}

/// A reply's bytes, borrowed where the reply holds them: a bulk or simple
/// string, or an integer's digits.
fn slice_of(value: &Value) -> Option<std::borrow::Cow<'_, [u8]>> {
    use std::borrow::Cow;
    match value {
        Value::BulkString(b) => Some(Cow::Borrowed(b)),
        Value::SimpleString(s) => Some(Cow::Borrowed(s.as_bytes())),
        Value::Int(n) => Some(Cow::Owned(n.to_string().into_bytes())),
        Value::Okay => Some(Cow::Borrowed(b"OK")),
        _ => None,
    }
}

/// A borrowed reply as text (not UTF-8 is replaced, not refused).
fn text_of(value: &Value) -> Option<String> {
    slice_of(value).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// A reply's bytes: a bulk or simple string, or an integer's digits.
pub fn bytes(value: Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.into_bytes()),
        Value::Int(n) => Some(n.to_string().into_bytes()),
        Value::Okay => Some(b"OK".to_vec()),
        _ => None,
    }
}

/// A reply as text (not UTF-8 is replaced, not refused).
pub fn text(value: Value) -> Option<String> {
    bytes(value).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// An array reply as a list of text.
pub fn text_list(value: Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.into_iter().filter_map(text).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn packed_entries_keep_every_field_in_one_shared_buffer() {
        let reply = Value::Array(vec![
            Value::Array(vec![
                bulk("1-0"),
                Value::Array(vec![
                    bulk("job-id"),
                    bulk("abc"),
                    bulk("payload"),
                    bulk("{}"),
                    Value::Int(7),
                    Value::Nil,
                    Value::Nil,
                    bulk("skipped with its name"),
                ]),
            ]),
            // Deleted from the stream while pending: no fields.
            Value::Array(vec![bulk("2-0"), Value::Nil]),
        ]);
        let entries = parse_packed_entries(&reply);
        assert_eq!(entries.len(), 2);
        let (id, fields) = &entries[0];
        assert_eq!(id, "1-0");
        let fields = fields.as_ref().unwrap();
        let pairs: Vec<(&[u8], &[u8])> = fields.iter().map(|(n, v)| (&n[..], &v[..])).collect();
        assert_eq!(
            pairs,
            [
                (&b"job-id"[..], &b"abc"[..]),
                (b"payload", b"{}"),
                (b"7", b""),
            ]
        );
        // One buffer: each slice starts where the one before it ended.
        let mut next = fields[0].0.as_ptr();
        for (name, value) in fields {
            assert_eq!(name.as_ptr(), next);
            assert_eq!(value.as_ptr(), next.wrapping_add(name.len()));
            next = value.as_ptr().wrapping_add(value.len());
        }
        assert_eq!(entries[1], ("2-0".to_owned(), None));
    }
}
