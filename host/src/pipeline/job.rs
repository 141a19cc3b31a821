//! A stream entry and the job decoded from it: the first stage type, with
//! the ids and cursors a job's path is walked by.
//!
//! Decoding checks only what switchyard itself needs (a payload field, a size
//! within the limit); whether the payload makes sense is the plugins' to say.
//! An entry that cannot be decoded keeps its fields so the dead letter can
//! carry them. A [`Job`] is made only by [`Job::decode`].
//!
//! An entry's field names and values are [`Text`] and [`Bytes`]: slices of
//! one buffer per entry, so the outcome entries and the status record made
//! from them share it instead of copying every field.

use std::fmt;
use std::ops::Deref;

pub use bytes::Bytes;

use crate::plugin;

/// The field holding a job's inputs.
pub const PAYLOAD_FIELD: &str = "payload";
/// The field holding the front end's job id.
pub const JOB_ID_FIELD: &str = "job-id";

/// A stream entry id, `MS-SEQ`, ordered as Redis orders them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId {
    /// The milliseconds part.
    pub ms: u64,
    /// The sequence part.
    pub seq: u64,
}

impl EntryId {
    /// Reads `MS-SEQ` (or `MS`, sequence 0).
    pub fn parse(text: &str) -> Option<EntryId> {
        let (ms, seq) = text.split_once('-').unwrap_or((text, "0"));
        Some(EntryId {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }

    /// The smallest id greater than this one (itself at the very top).
    pub fn next(self) -> EntryId {
        match self.seq.checked_add(1) {
            Some(seq) => EntryId { seq, ..self },
            None => match self.ms.checked_add(1) {
                Some(ms) => EntryId { ms, seq: 0 },
                None => self,
            },
        }
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// An id goes to Redis as its text, written without an intermediate string.
impl redis::ToRedisArgs for EntryId {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + redis::RedisWrite,
    {
        out.write_arg_fmt(self)
    }
}

/// Where a walk through a list of entries (a consumer's pending list, or
/// the group's with `XAUTOCLAIM`) stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cursor {
    /// Not started: the walk begins at the first entry (`0-0`).
    #[default]
    Start,
    /// Walked up to and including this entry.
    After(EntryId),
    /// Walked to the end: nothing is left.
    Done,
}

/// Text shared without copying: UTF-8 bytes behind a reference count, so a
/// clone costs no allocation once the bytes are shared (every field of an
/// entry read from Redis is a slice of one buffer). Reads as a `&str`.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(
    /// Always valid UTF-8: every constructor checks or starts from a `str`.
    Bytes,
);

impl Text {
    /// Text of a `&'static str`, without copying it.
    pub const fn from_static(text: &'static str) -> Text {
        Text(Bytes::from_static(text.as_bytes()))
    }

    /// `bytes` as text, shared as they are when they are UTF-8; otherwise
    /// copied with each invalid sequence replaced by U+FFFD.
    pub fn from_utf8_lossy(bytes: Bytes) -> Text {
        match std::str::from_utf8(&bytes) {
            Ok(_) => Text(bytes),
            Err(_) => Text::from(String::from_utf8_lossy(&bytes).into_owned()),
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // SAFETY: the bytes are UTF-8 (the field's invariant).
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The bytes, shared.
    pub fn bytes(&self) -> &Bytes {
        &self.0
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text(Bytes::from(text))
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text goes to Redis as its bytes.
impl redis::ToRedisArgs for Text {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + redis::RedisWrite,
    {
        out.write_arg(&self.0)
    }
}

/// An entry's fields in Redis order: names, and values as raw bytes.
pub type Fields = Vec<(Text, Bytes)>;

/// `pairs` as entry fields (for entries not read from Redis: `try`, tests).
pub fn fields_of(pairs: Vec<(String, Vec<u8>)>) -> Fields {
    pairs
        .into_iter()
        .map(|(name, value)| (Text::from(name), Bytes::from(value)))
        .collect()
}

/// One entry as read from a source stream, before any check.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The stream it was read from.
    pub stream: String,
    /// Its entry id (`1700000000000-0`).
    pub id: EntryId,
    /// Its fields in Redis order; values are raw bytes.
    pub fields: Fields,
    /// How many times it has been delivered, this time included.
    pub deliveries: u32,
}

impl Entry {
    /// The value of `name` as text, if present and UTF-8.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    }

    /// The id status records are kept under: the `job-id` field when it is
    /// usable text (shared, not copied), else the entry id.
    pub fn job_id(&self) -> Text {
        let field = self
            .fields
            .iter()
            .find(|(name, _)| name == JOB_ID_FIELD)
            .map(|(_, value)| value);
        match field {
            Some(id) if !id.is_empty() && id.len() <= 256 && std::str::from_utf8(id).is_ok() => {
                Text(id.clone())
            }
            _ => Text::from(self.id.to_string()),
        }
    }

    /// The bytes the entry holds, names and values.
    pub fn size(&self) -> usize {
        self.fields.iter().map(|(k, v)| k.len() + v.len()).sum()
    }
}

/// Most fields an entry may have: an outcome entry copies them, and a
/// hostile entry with more is dead-lettered with a pointer to the source
/// instead.
pub const MAX_FIELDS: usize = 1000;

/// Why an entry cannot become a job, in the order they are checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Delivered more often than `max-deliveries`.
    #[error(
        "delivered {deliveries} times, more than max-deliveries {max}; every earlier attempt failed or its consumer died"
    )]
    TooManyDeliveries {
        /// Deliveries so far, this one included.
        deliveries: u32,
        /// The configured maximum.
        max: u32,
    },
    /// More fields than [`MAX_FIELDS`].
    #[error("entry has {fields} fields, more than {MAX_FIELDS}")]
    TooManyFields {
        /// The entry's field count.
        fields: usize,
    },
    /// The entry is over the configured maximum.
    #[error("entry holds {size} bytes, over the maximum of {max}")]
    TooLarge {
        /// The entry's size.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The entry has no `payload` field.
    #[error("entry has no `payload` field")]
    NoPayload,
}

/// What decoding allows: the `[consumer]` limits on one entry.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// More deliveries than this and the entry is given up on.
    pub max_deliveries: u32,
    /// More bytes (names and values) than this and it is not read.
    pub max_bytes: usize,
}

/// A decoded job: an entry known to have a payload and a sane size. Made
/// only by [`Job::decode`].
#[derive(Debug, Clone)]
pub struct Job {
    /// The entry it came from.
    entry: Entry,
    /// Where status records for it are kept: see [`Entry::job_id`].
    job_id: Text,
}

impl Job {
    /// Decodes `entry`: refuses one delivered too often, with too many
    /// fields, over the size limit or without a payload.
    pub fn decode(entry: Entry, limits: DecodeLimits) -> Result<Job, (Entry, DecodeError)> {
        let refusal = if entry.deliveries > limits.max_deliveries {
            Some(DecodeError::TooManyDeliveries {
                deliveries: entry.deliveries,
                max: limits.max_deliveries,
            })
        } else if entry.fields.len() > MAX_FIELDS {
            Some(DecodeError::TooManyFields {
                fields: entry.fields.len(),
            })
        } else if entry.size() > limits.max_bytes {
            Some(DecodeError::TooLarge {
                size: entry.size(),
                max: limits.max_bytes,
            })
        } else if !entry.fields.iter().any(|(name, _)| name == PAYLOAD_FIELD) {
            Some(DecodeError::NoPayload)
        } else {
            None
        };
        match refusal {
            Some(error) => Err((entry, error)),
            None => {
                let job_id = entry.job_id();
                Ok(Job { entry, job_id })
            }
        }
    }

    /// The entry the job came from.
    pub fn entry(&self) -> &Entry {
        &self.entry
    }

    /// The id its status record is kept under.
    pub fn id(&self) -> &str {
        &self.job_id
    }

    /// The id its status record is kept under, shared.
    pub fn shared_id(&self) -> &Text {
        &self.job_id
    }

    /// The entry back, for an outcome that carries its fields.
    pub fn into_entry(self) -> Entry {
        self.entry
    }

    /// The job as the plugin contract (0.2.0) describes it: the payload
    /// once, as `payload`, and every other field in `fields`.
    pub fn to_plugin(&self) -> plugin::Job {
        let payload = self
            .entry
            .fields
            .iter()
            .find(|(name, _)| name == PAYLOAD_FIELD)
            .map(|(_, value)| value.to_vec())
            .unwrap_or_default();
        plugin::Job {
            source: self.entry.stream.clone(),
            entry_id: self.entry.id.to_string(),
            fields: self
                .entry
                .fields
                .iter()
                .filter(|(name, _)| name != PAYLOAD_FIELD)
                .map(|(name, value)| (name.to_string(), value.to_vec()))
                .collect(),
            payload,
            delivery_count: self.entry.deliveries,
        }
    }
}

/// Entry fields from a JSON object, as `switchyard try` and `switchyard send`
/// read job files: strings as they are, other values as their JSON text,
/// `null` left out.
pub fn fields_from_json(value: &serde_json::Value) -> Result<Vec<(String, Vec<u8>)>, String> {
    let object = value
        .as_object()
        .ok_or_else(|| format!("a job must be a JSON object of fields, got {}", kind(value)))?;
    Ok(object
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(name, v)| {
            let bytes = match v {
                serde_json::Value::String(s) => s.clone().into_bytes(),
                other => other.to_string().into_bytes(),
            };
            (name.clone(), bytes)
        })
        .collect())
}

fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(fields: &[(&str, &str)]) -> Entry {
        Entry {
            stream: "jobs".into(),
            id: EntryId { ms: 1, seq: 0 },
            fields: fields
                .iter()
                .map(|(k, v)| (Text::from(*k), Bytes::copy_from_slice(v.as_bytes())))
                .collect(),
            deliveries: 1,
        }
    }

    fn id(text: &str) -> EntryId {
        EntryId::parse(text).unwrap()
    }

    #[test]
    fn ids_parse_order_and_step() {
        assert_eq!(id("5"), EntryId { ms: 5, seq: 0 });
        assert!(id("10-0") > id("9-99"));
        assert!(id("9-10") > id("9-9"));
        assert_eq!(id("3-4").next(), id("3-5"));
        assert_eq!(id(&format!("3-{}", u64::MAX)).next(), id("4-0"));
        assert_eq!(EntryId::parse("x-1"), None);
        assert_eq!(id("12-7").to_string(), "12-7");
    }

    const LIMITS: DecodeLimits = DecodeLimits {
        max_deliveries: 5,
        max_bytes: 100,
    };

    #[test]
    fn decode_refuses_missing_payload_and_oversized_entries() {
        let (_, err) = Job::decode(entry(&[("service", "x")]), LIMITS).unwrap_err();
        assert_eq!(err, DecodeError::NoPayload);
        let (_, err) = Job::decode(entry(&[("payload", &"x".repeat(200))]), LIMITS).unwrap_err();
        assert!(matches!(
            err,
            DecodeError::TooLarge {
                size: 207,
                max: 100
            }
        ));
        let job = Job::decode(entry(&[("job-id", "abc"), ("payload", "{}")]), LIMITS).unwrap();
        assert_eq!(job.id(), "abc");
        let job = Job::decode(entry(&[("payload", "{}")]), LIMITS).unwrap();
        assert_eq!(job.id(), "1-0");
    }

    #[test]
    fn deliveries_are_checked_before_anything_else() {
        let mut late = entry(&[("service", "x")]);
        late.deliveries = 6;
        let (_, err) = Job::decode(late, LIMITS).unwrap_err();
        assert_eq!(
            err,
            DecodeError::TooManyDeliveries {
                deliveries: 6,
                max: 5
            }
        );
    }

    #[test]
    fn text_reads_as_str_and_replaces_what_is_not_utf8() {
        let text = Text::from_utf8_lossy(Bytes::from_static(b"service"));
        assert_eq!(text, "service");
        assert_eq!(text.len(), 7);
        assert_eq!(format!("{text} {text:?}"), "service \"service\"");
        let bad = Text::from_utf8_lossy(Bytes::from_static(b"a\xffb"));
        assert_eq!(bad, "a\u{fffd}b");
    }

    #[test]
    fn the_job_id_is_shared_with_its_field() {
        let job = Job::decode(entry(&[("job-id", "abc"), ("payload", "{}")]), LIMITS).unwrap();
        let field = &job.entry().fields[0].1;
        assert_eq!(job.shared_id().bytes().as_ptr(), field.as_ptr());
        let mut odd = entry(&[("payload", "{}")]);
        odd.fields
            .push((Text::from("job-id"), Bytes::from_static(b"\xff")));
        let job = Job::decode(odd, LIMITS).unwrap();
        assert_eq!(job.id(), "1-0", "a job-id that is not text is not used");
    }

    #[test]
    fn json_fields_keep_strings_and_encode_the_rest() {
        let value =
            serde_json::json!({"service": "clustalo", "payload": {"inputs": {}}, "x": null});
        let fields = fields_from_json(&value).unwrap();
        assert_eq!(
            fields,
            vec![
                ("payload".to_string(), br#"{"inputs":{}}"#.to_vec()),
                ("service".to_string(), b"clustalo".to_vec()),
            ]
        );
        assert!(fields_from_json(&serde_json::json!([1])).is_err());
    }
}
