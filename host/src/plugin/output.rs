//! What a plugin's answer becomes when switchyard writes it, and so what the
//! output limit counts.
//!
//! `output-kib` bounds what one answer makes switchyard write to Redis, as
//! written: validation errors as the JSON of the rejected stream's
//! `switchyard-errors` and the status record's `errors` (escapes and all: a
//! control character takes six bytes there), a router's reject reason,
//! target names, rewritten payloads and extra fields (written as they are).
//! Counting the raw strings instead would let an answer under the limit
//! become several times the limit in Redis.

use serde::{Serialize, Serializer};

use super::bindings::{Decision, FieldError};

/// One field error as switchyard writes it: in the rejected stream's
/// `switchyard-errors`, the status record's `errors` and `try`'s output.
#[derive(Debug, Serialize)]
pub struct WrittenError<'a> {
    /// The input parameter the error is about; empty for the whole job.
    field: &'a str,
    /// slivka's code (`min_value`, ...).
    code: &'static str,
    /// The plugin's sentence.
    message: &'a str,
}

impl<'a> From<&'a FieldError> for WrittenError<'a> {
    fn from(error: &'a FieldError) -> Self {
        WrittenError {
            field: &error.field,
            code: error.code.as_str(),
            message: &error.message,
        }
    }
}

/// The bytes of `errors` as switchyard writes them: their JSON array, as
/// `serde_json` prints [`WrittenError`]s, counted without being built.
pub fn written_errors_len(errors: &[FieldError]) -> usize {
    let mut count = ByteCount(0);
    let mut json = serde_json::Serializer::new(&mut count);
    // Writing to a `ByteCount` never fails, and a `WrittenError` (strings
    // only) always serializes.
    (&mut json)
        .collect_seq(errors.iter().map(WrittenError::from))
        .expect("counting the JSON of field errors cannot fail");
    count.0
}

/// The bytes a router's decision makes switchyard write: target names,
/// rewritten payloads and extra fields, or the reject reason, all written
/// as they are.
pub fn total_decision_bytes(decision: &Decision) -> usize {
    match decision {
        Decision::Reject(reason) => reason.len(),
        Decision::Dispatch(targets) => targets
            .iter()
            .map(|t| {
                t.stream.len()
                    + t.payload.as_ref().map_or(0, Vec::len)
                    + t.extra_fields
                        .iter()
                        .map(|(k, v)| k.len() + v.len())
                        .sum::<usize>()
            })
            .sum(),
    }
}

/// An `io::Write` that only counts the bytes written to it.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
