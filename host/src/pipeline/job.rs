//! A stream entry and the job decoded from it: the first stage type.
//!
//! Decoding checks only what switchyard itself needs (a payload field, a size
//! within the limit); whether the payload makes sense is the plugins' to say.
//! An entry that cannot be decoded keeps its fields so the dead letter can
//! carry them.

use crate::plugin;

/// The field holding a job's inputs.
pub const PAYLOAD_FIELD: &str = "payload";
/// The field holding the front end's job id.
pub const JOB_ID_FIELD: &str = "job-id";

/// One entry as read from a source stream, before any check.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The stream it was read from.
    pub stream: String,
    /// Its entry id (`1700000000000-0`).
    pub id: String,
    /// Its fields in Redis order; values are raw bytes.
    pub fields: Vec<(String, Vec<u8>)>,
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
    /// usable text, else the entry id.
    pub fn job_id(&self) -> String {
        match self.field(JOB_ID_FIELD) {
            Some(id) if !id.is_empty() && id.len() <= 256 => id.to_owned(),
            _ => self.id.clone(),
        }
    }

    /// The bytes the entry holds, names and values.
    pub fn size(&self) -> usize {
        self.fields.iter().map(|(k, v)| k.len() + v.len()).sum()
    }
}

/// Why an entry cannot become a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The entry has no `payload` field.
    #[error("entry has no `payload` field")]
    NoPayload,
    /// The entry is over the configured maximum.
    #[error("entry holds {size} bytes, over the maximum of {max}")]
    TooLarge {
        /// The entry's size.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
}

/// A decoded job: an entry known to have a payload and a sane size.
#[derive(Debug, Clone)]
pub struct Job {
    /// The entry it came from.
    pub entry: Entry,
    /// Where status records for it are kept.
    pub job_id: String,
}

impl Job {
    /// Decodes `entry`, refusing entries without a payload or over `max_bytes`.
    pub fn decode(entry: Entry, max_bytes: usize) -> Result<Job, (Entry, DecodeError)> {
        let size = entry.size();
        if size > max_bytes {
            return Err((
                entry,
                DecodeError::TooLarge {
                    size,
                    max: max_bytes,
                },
            ));
        }
        if !entry.fields.iter().any(|(name, _)| name == PAYLOAD_FIELD) {
            return Err((entry, DecodeError::NoPayload));
        }
        let job_id = entry.job_id();
        Ok(Job { entry, job_id })
    }

    /// The job as the plugin contract describes it.
    pub fn to_plugin(&self) -> plugin::Job {
        let payload = self
            .entry
            .fields
            .iter()
            .find(|(name, _)| name == PAYLOAD_FIELD)
            .map(|(_, value)| value.clone())
            .unwrap_or_default();
        plugin::Job {
            source: self.entry.stream.clone(),
            entry_id: self.entry.id.clone(),
            fields: self.entry.fields.clone(),
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
            id: "1-0".into(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
            deliveries: 1,
        }
    }

    #[test]
    fn decode_refuses_missing_payload_and_oversized_entries() {
        let (_, err) = Job::decode(entry(&[("service", "x")]), 100).unwrap_err();
        assert_eq!(err, DecodeError::NoPayload);
        let (_, err) = Job::decode(entry(&[("payload", &"x".repeat(200))]), 100).unwrap_err();
        assert!(matches!(
            err,
            DecodeError::TooLarge {
                size: 207,
                max: 100
            }
        ));
        let job = Job::decode(entry(&[("job-id", "abc"), ("payload", "{}")]), 100).unwrap();
        assert_eq!(job.job_id, "abc");
        let job = Job::decode(entry(&[("payload", "{}")]), 100).unwrap();
        assert_eq!(job.job_id, "1-0");
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
