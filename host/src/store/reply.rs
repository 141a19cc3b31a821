//! Reading Redis's replies: the shapes switchyard's commands answer with
//! (stream entries, `XINFO` maps), turned into plain Rust values. Works on
//! RESP2 and RESP3 replies alike; an unexpected shape reads as empty, never
//! as a panic.

use std::collections::HashMap;

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

/// An entry's id and fields; `None` fields for an entry deleted from the
/// stream while still pending.
pub type RawEntry = (String, Option<Vec<(String, Vec<u8>)>>);

/// `XREADGROUP`'s reply as stream → entries.
pub fn parse_streams(reply: Value) -> HashMap<String, Vec<RawEntry>> {
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
            streams.insert(name, parse_entries(entries));
        }
    }
    streams
}

/// A list of `[id, [field, value, ...]]` entries.
pub fn parse_entries(value: Value) -> Vec<RawEntry> {
    let Value::Array(items) = value else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|item| {
            let Value::Array(mut parts) = item else {
                return None;
            };
            if parts.is_empty() {
                return None;
            }
            let fields = if parts.len() > 1 { parts.pop() } else { None };
            let id = text(parts.pop()?)?;
            let fields = match fields {
                Some(Value::Array(flat)) => {
                    let mut fields = Vec::with_capacity(flat.len() / 2);
                    let mut iter = flat.into_iter();
                    while let (Some(name), Some(value)) = (iter.next(), iter.next()) {
                        let name = match bytes(name) {
                            Some(b) => String::from_utf8_lossy(&b).into_owned(),
                            None => continue,
                        };
                        fields.push((name, bytes(value).unwrap_or_default()));
                    }
                    Some(fields)
                }
                _ => None,
            };
            Some((id, fields))
        })
        .collect()
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
