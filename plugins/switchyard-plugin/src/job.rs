//! Reading a [`Job`]: its stream entry fields and its JSON payload.
//!
//! Redis does not promise UTF-8, so the record carries raw bytes; these
//! helpers give the common views (text, JSON) without each plugin repeating
//! the conversions.
//!
//! Since contract 0.2.0 the payload crosses the boundary once: `job.fields`
//! holds every entry field but `payload`, whose value is `job.payload`.
//! [`Job::field`] still answers for `payload`, from `job.payload`, so code
//! written for 0.1.0 reads it as before.

use serde::de::DeserializeOwned;

use crate::Job;

/// The entry field whose value the host sends as `job.payload`.
const PAYLOAD: &str = "payload";

impl Job {
    /// The value of the entry field `name` as text, or `None` if the entry
    /// has no such field or its value is not UTF-8. If the entry repeats the
    /// field, the first one counts.
    ///
    /// ```
    /// # use switchyard_plugin::Job;
    /// let job = Job {
    ///     source: "jobs".into(),
    ///     entry_id: "1-0".into(),
    ///     fields: vec![("service".into(), b"clustalo".to_vec())],
    ///     payload: Vec::new(),
    ///     delivery_count: 1,
    /// };
    /// assert_eq!(job.field("service"), Some("clustalo"));
    /// assert_eq!(job.field("job-id"), None);
    /// ```
    pub fn field(&self, name: &str) -> Option<&str> {
        self.field_bytes(name)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
    }

    /// The raw value of the entry field `name` (the first one if repeated).
    /// `payload` is not among `fields` (contract 0.2.0): for it, this is
    /// `job.payload` (empty if the entry had none).
    pub fn field_bytes(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_slice())
            .or_else(|| (name == PAYLOAD).then_some(self.payload.as_slice()))
    }

    /// The payload as text, or `None` if it is not UTF-8.
    pub fn payload_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.payload).ok()
    }

    /// The payload parsed as JSON into `T`; use
    /// [`serde_json::Value`] to look at it without a schema.
    ///
    /// An empty payload (the entry had no `payload` field) is an error like
    /// any other text that is not JSON.
    pub fn payload_json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(fields: &[(&str, &[u8])], payload: &[u8]) -> Job {
        Job {
            source: "jobs".into(),
            entry_id: "1700000000000-0".into(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_vec()))
                .collect(),
            payload: payload.to_vec(),
            delivery_count: 1,
        }
    }

    #[test]
    fn field_reads_the_first_utf8_value() {
        let job = job(
            &[
                ("service", b"mafft"),
                ("service", b"clustalo"),
                ("raw", b"\xff"),
            ],
            b"",
        );
        assert_eq!(job.field("service"), Some("mafft"));
        assert_eq!(job.field("raw"), None);
        assert_eq!(job.field_bytes("raw"), Some(&b"\xff"[..]));
        assert_eq!(job.field("missing"), None);
    }

    #[test]
    fn the_payload_field_reads_the_payload_it_is_sent_as() {
        let sent = job(&[("service", b"mafft")], b"{}");
        assert_eq!(sent.field("payload"), Some("{}"));
        assert_eq!(sent.field_bytes("payload"), Some(&b"{}"[..]));
    }

    #[test]
    fn payload_json_parses_or_reports() {
        let ok = job(&[], br#"{"inputs": {"input": ">a\nMKV"}}"#);
        let value: serde_json::Value = ok.payload_json().unwrap();
        assert_eq!(value["inputs"]["input"], ">a\nMKV");

        let broken = job(&[], b"not json");
        assert!(broken.payload_json::<serde_json::Value>().is_err());
        assert!(job(&[], b"").payload_json::<serde_json::Value>().is_err());
    }
}
