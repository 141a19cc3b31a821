//! Building a [`FieldError`], and slivka's spelling of each [`ErrorCode`].
//!
//! The front end shows these errors to the user as it shows slivka's own form
//! errors, so each names its field, its code and a readable message.

use std::fmt;

use crate::{ErrorCode, FieldError};

impl FieldError {
    /// An error about `field` (empty for the job as a whole).
    ///
    /// ```
    /// # use switchyard_plugin::{ErrorCode, FieldError};
    /// let error = FieldError::new("iterations", ErrorCode::MaxValue, "must be at most 100, got 250");
    /// assert_eq!(error.to_string(), "iterations: must be at most 100, got 250");
    /// ```
    pub fn new(field: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// `field: message`, or just the message when the error has no field.
impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

impl ErrorCode {
    /// slivka's name for the code (`min_value`, `not_found`, ...), which is
    /// what slivka's REST API reports.
    pub fn slivka_code(self) -> &'static str {
        match self {
            ErrorCode::Required => "required",
            ErrorCode::Invalid => "invalid",
            ErrorCode::MinValue => "min_value",
            ErrorCode::MaxValue => "max_value",
            ErrorCode::MinLength => "min_length",
            ErrorCode::MaxLength => "max_length",
            ErrorCode::MediaType => "media_type",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Condition => "condition",
        }
    }
}

/// slivka's name for the code; see [`ErrorCode::slivka_code`].
impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slivka_code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_field_and_message() {
        let error = FieldError::new("input", ErrorCode::MediaType, "not FASTA");
        assert_eq!(error.to_string(), "input: not FASTA");
        let whole = FieldError::new("", ErrorCode::Invalid, "payload is not JSON");
        assert_eq!(whole.to_string(), "payload is not JSON");
    }

    #[test]
    fn codes_use_slivka_spelling() {
        assert_eq!(ErrorCode::MinValue.to_string(), "min_value");
        assert_eq!(ErrorCode::NotFound.slivka_code(), "not_found");
    }
}
