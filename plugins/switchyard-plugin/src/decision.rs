//! Building a router's [`Decision`] and the [`Target`]s it dispatches to.
//!
//! ```
//! # use switchyard_plugin::{Decision, Target};
//! let decision = Decision::dispatch(
//!     Target::new("queue:local").field("runner", "local").field("sequences", 12),
//! );
//! let rejected = Decision::reject("1200 sequences; the limit is 1000");
//! ```

use std::fmt::Display;

use crate::{Decision, Target};

impl Target {
    /// A target that receives the job's own payload and no extra fields.
    pub fn new(stream: impl Into<String>) -> Self {
        Target {
            stream: stream.into(),
            payload: None,
            extra_fields: Vec::new(),
        }
    }

    /// Replaces the payload written to this target.
    pub fn payload(mut self, payload: impl Into<Vec<u8>>) -> Self {
        self.payload = Some(payload.into());
        self
    }

    /// Adds an extra field to the target entry (e.g. runner options). It may
    /// not have the name of one of the job's own fields: switchyard refuses
    /// such a decision.
    pub fn field(mut self, key: impl Into<String>, value: impl Display) -> Self {
        self.extra_fields.push((key.into(), value.to_string()));
        self
    }
}

impl Decision {
    /// Dispatches the job to one target.
    pub fn dispatch(target: Target) -> Self {
        Decision::Dispatch(vec![target])
    }

    /// Rejects the job; `reason` is shown to the user.
    pub fn reject(reason: impl Into<String>) -> Self {
        Decision::Reject(reason.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_builder_collects_payload_and_fields() {
        let target = Target::new("queue:cluster")
            .payload(b"{}".to_vec())
            .field("runner", "cluster")
            .field("sequences", 120);
        assert_eq!(target.stream, "queue:cluster");
        assert_eq!(target.payload.as_deref(), Some(&b"{}"[..]));
        assert_eq!(
            target.extra_fields,
            vec![
                ("runner".to_string(), "cluster".to_string()),
                ("sequences".to_string(), "120".to_string())
            ]
        );
    }

    #[test]
    fn decision_shorthands() {
        assert!(
            matches!(Decision::dispatch(Target::new("q")), Decision::Dispatch(t) if t.len() == 1)
        );
        assert!(matches!(Decision::reject("no"), Decision::Reject(r) if r == "no"));
    }
}
