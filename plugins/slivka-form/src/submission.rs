//! Checking a job's inputs against a form: every error, not just the first.
//!
//! Three passes, in the order a user would fix things:
//! 1. each form field (sorted by name): required, single value or list, type
//!    and constraints (per element for arrays);
//! 2. each input the form does not declare: `invalid` ("unknown parameter");
//! 3. each field that was given a value and has a condition: `condition` if
//!    it is false. A flag given as false counts as not given (as in slivka,
//!    where a false flag is no value), and a condition that reads a field
//!    refused in pass 1 is not evaluated (the first error says enough).

use std::cell::OnceCell;

use switchyard_plugin::{ErrorCode, FieldError};

use crate::form::{Field, Form};
use crate::kind::Checked;
use crate::payload::{Inputs, Raw};
use crate::value::Value;

/// Unknown inputs reported one by one; the rest are counted in one error.
const MAX_UNKNOWN_REPORTED: usize = 20;

/// What conditions see for a field that has no value.
static NULL: Value = Value::Null;

/// One field after pass 1. Values borrow from the inputs: a file's content
/// is not copied unless a condition reads it.
enum Reading<'a> {
    /// Refused: conditions that read it are not evaluated.
    Refused,
    /// Not given: conditions see its default, else null.
    Absent,
    /// Given a single value.
    One(Checked<'a>),
    /// Given a list (an array field).
    List(Vec<Checked<'a>>),
}

impl Reading<'_> {
    /// Whether the field counts as given for its own condition: a flag
    /// given as false does not.
    fn is_given(&self) -> bool {
        match self {
            Reading::Refused | Reading::Absent => false,
            Reading::One(value) => *value != Checked::Bool(false),
            Reading::List(_) => true,
        }
    }

    /// The value conditions see, once given values are made [`Value`]s.
    fn to_value(&self) -> Value {
        match self {
            Reading::Refused | Reading::Absent => Value::Null,
            Reading::One(value) => value.to_value(),
            Reading::List(items) => Value::List(items.iter().map(|item| item.to_value()).collect()),
        }
    }
}

/// Checks `inputs` against `form`; an empty list means valid.
pub fn check(form: &Form, inputs: &Inputs<'_>) -> Vec<FieldError> {
    let fields = form.fields();
    let mut errors = Vec::new();
    // Each field's reading, by its index in `fields`.
    let mut readings = Vec::with_capacity(fields.len());
    // Inputs the form does not declare.
    let mut unknown = Vec::new();

    // Fields and inputs are both sorted by name, so one walk through both
    // pairs each field with its input and finds the unknown inputs.
    let missing = Raw::Missing;
    let mut given = inputs.iter().peekable();
    for field in fields {
        let name = field.name.as_str();
        while let Some((input, _)) = given.next_if(|(input, _)| *input < name) {
            unknown.push(input);
        }
        let raw = given
            .next_if(|(input, _)| *input == name)
            .map_or(&missing, |(_, raw)| raw);
        match read_field(field, raw) {
            Ok(reading) => readings.push(reading),
            Err(mut field_errors) => {
                readings.push(Reading::Refused);
                errors.append(&mut field_errors);
            }
        }
    }
    unknown.extend(given.map(|(input, _)| input));

    if !unknown.is_empty() {
        let message = unknown_parameter(form);
        for name in unknown.iter().take(MAX_UNKNOWN_REPORTED) {
            errors.push(FieldError::new(*name, ErrorCode::Invalid, message.clone()));
        }
    }
    if let Some(first_unreported) = unknown.get(MAX_UNKNOWN_REPORTED) {
        // A flood of inputs gets a bounded answer, still a rejection.
        errors.push(FieldError::new(
            *first_unreported,
            ErrorCode::Invalid,
            format!(
                "and {} more unknown parameters",
                unknown.len() - MAX_UNKNOWN_REPORTED
            ),
        ));
    }

    let index_of = |name: &str| {
        fields
            .binary_search_by(|field| field.name.as_str().cmp(name))
            .ok()
    };
    // Given values as conditions see them, made when a condition first
    // reads them.
    let values: Vec<OnceCell<Value>> = if fields.iter().any(|f| f.condition.is_some()) {
        fields.iter().map(|_| OnceCell::new()).collect()
    } else {
        Vec::new()
    };
    // Each field's value for conditions: given, else default, else null.
    let value_of = |name: &str| -> &Value {
        let Some(index) = index_of(name) else {
            return &NULL;
        };
        match &readings[index] {
            Reading::Refused => &NULL,
            Reading::Absent => fields[index].default.as_ref().unwrap_or(&NULL),
            given => values[index].get_or_init(|| given.to_value()),
        }
    };
    for (field, reading) in fields.iter().zip(&readings) {
        let Some(condition) = &field.condition else {
            continue;
        };
        let reads_refused = condition.fields().iter().any(|name| {
            index_of(name).is_some_and(|index| matches!(readings[index], Reading::Refused))
        });
        if !reading.is_given() || reads_refused {
            continue;
        }
        if !condition.holds(&value_of) {
            let shown: Vec<String> = condition
                .fields()
                .iter()
                .map(|name| format!("{name} = {}", value_of(name)))
                .collect();
            errors.push(FieldError::new(
                field.name.as_str(),
                ErrorCode::Condition,
                format!(
                    "is only allowed when `{}` ({})",
                    condition.source(),
                    shown.join(", ")
                ),
            ));
        }
    }

    errors
}

/// The message for an input the form does not declare.
fn unknown_parameter(form: &Form) -> String {
    let names: Vec<&str> = form.fields().iter().map(|f| f.name.as_str()).collect();
    if names.is_empty() {
        "unknown parameter (the form declares none)".to_string()
    } else {
        format!("unknown parameter (the form declares {})", names.join(", "))
    }
}

/// One field's reading (`Absent` if not given and not required), or its
/// errors.
fn read_field<'a>(field: &Field, raw: &'a Raw<'_>) -> Result<Reading<'a>, Vec<FieldError>> {
    let error = |code, message: String| vec![FieldError::new(field.name.as_str(), code, message)];
    let values = match raw {
        Raw::Missing => &[][..],
        Raw::One(value) => std::slice::from_ref(value),
        Raw::Many(values) if field.array => values.as_slice(),
        Raw::Many(values) => {
            return Err(error(
                ErrorCode::Invalid,
                format!("takes a single value, got a list of {}", values.len()),
            ));
        }
        Raw::Unreadable(what) => {
            return Err(error(
                ErrorCode::Invalid,
                format!("must be a string, a list of strings or null, got {what}"),
            ));
        }
    };

    if values.is_empty() {
        if field.required {
            return Err(error(ErrorCode::Required, "is required".to_string()));
        }
        return Ok(Reading::Absent);
    }

    if !field.array {
        return field
            .kind
            .check(&values[0])
            .map(Reading::One)
            .map_err(|refusal| error(refusal.code, refusal.message));
    }

    let mut items = Vec::with_capacity(values.len());
    let mut errors = Vec::new();
    for (index, value) in values.iter().enumerate() {
        match field.kind.check(value) {
            Ok(item) => items.push(item),
            Err(refusal) => errors.push(FieldError::new(
                field.name.as_str(),
                refusal.code,
                format!("element {index}: {}", refusal.message),
            )),
        }
    }
    if errors.is_empty() {
        Ok(Reading::List(items))
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::read_inputs;

    /// A clustalo-like form exercising every type.
    const FORM: &str = r#"{
        "input": {"label": "Input", "value": {"type": "file", "media-type": "application/fasta"}},
        "dealign": {"value": {"type": "flag", "default": false}},
        "full-distance": {"value": {"type": "flag", "required": false}},
        "iterations": {"value": {"type": "integer", "min": 0, "max": 100, "default": 0}},
        "max-hmm-iterations": {
            "value": {"type": "integer", "min": 1, "max": 100, "required": false},
            "condition": "iterations > 0 and dealign"
        },
        "gap-open": {"value": {"type": "decimal", "min": 0, "min-exclusive": true, "required": false}},
        "outfmt": {"value": {"type": "choice", "choices": {"clustal": "clu", "fasta": "fa"}, "default": "clustal"}},
        "title": {"value": {"type": "text", "min-length": 2, "max-length": 8, "required": false}},
        "weights": {"value": {"type": "integer", "array": true, "max": 9, "required": false}}
    }"#;

    fn errors(inputs: &str) -> Vec<(String, ErrorCode, String)> {
        let form = Form::parse(FORM).unwrap();
        let payload = format!(r#"{{"inputs": {inputs}}}"#);
        let inputs = read_inputs(payload.as_bytes()).unwrap();
        check(&form, &inputs)
            .into_iter()
            .map(|e| (e.field, e.code, e.message))
            .collect()
    }

    fn one(field: &str, code: ErrorCode, message: &str) -> Vec<(String, ErrorCode, String)> {
        vec![(field.to_string(), code, message.to_string())]
    }

    #[test]
    fn valid_inputs_pass() {
        assert_eq!(errors(r#"{"input": ">a\nMKV\n>b\nMKL"}"#), vec![]);
        assert_eq!(
            errors(
                r#"{"input": ">a\nMKV", "dealign": "true", "iterations": "3",
                    "max-hmm-iterations": "5", "gap-open": "1.53", "outfmt": "fasta",
                    "title": "run 1", "weights": ["1", "9"]}"#
            ),
            vec![]
        );
    }

    #[test]
    fn required_missing_null_or_empty() {
        let expected = one("input", ErrorCode::Required, "is required");
        assert_eq!(errors("{}"), expected);
        assert_eq!(errors(r#"{"input": null}"#), expected);
        assert_eq!(errors(r#"{"input": ""}"#), expected);
    }

    #[test]
    fn each_constraint_has_its_code() {
        let fasta = r#""input": ">a\nMKV""#;
        assert_eq!(
            errors(&format!(r#"{{{fasta}, "iterations": "250"}}"#)),
            one(
                "iterations",
                ErrorCode::MaxValue,
                "must be at most 100, got 250"
            )
        );
        assert_eq!(
            errors(&format!(r#"{{{fasta}, "iterations": "-2"}}"#)),
            one(
                "iterations",
                ErrorCode::MinValue,
                "must be at least 0, got -2"
            )
        );
        assert_eq!(
            errors(&format!(r#"{{{fasta}, "iterations": "two"}}"#)),
            one(
                "iterations",
                ErrorCode::Invalid,
                "must be an integer, got `two`"
            )
        );
        assert_eq!(
            errors(&format!(r#"{{{fasta}, "gap-open": "0"}}"#)),
            one(
                "gap-open",
                ErrorCode::MinValue,
                "must be greater than 0, got 0"
            )
        );
        assert_eq!(
            errors(&format!(r#"{{{fasta}, "title": "x"}}"#)),
            one(
                "title",
                ErrorCode::MinLength,
                "must be at least 2 characters long, got 1"
            )
        );
        assert_eq!(
            errors(&format!(r#"{{{fasta}, "title": "much too long"}}"#)),
            one(
                "title",
                ErrorCode::MaxLength,
                "must be at most 8 characters long, got 13"
            )
        );
        assert_eq!(
            errors(&format!(r#"{{{fasta}, "outfmt": "xml"}}"#)),
            one(
                "outfmt",
                ErrorCode::Invalid,
                "must be one of clustal, fasta, got `xml`"
            )
        );
        assert_eq!(
            errors(&format!(r#"{{{fasta}, "dealign": "perhaps"}}"#)),
            one(
                "dealign",
                ErrorCode::Invalid,
                "must be true or false, got `perhaps`"
            )
        );
        assert_eq!(
            errors(r#"{"input": "MKV without header"}"#),
            one(
                "input",
                ErrorCode::MediaType,
                "is not application/fasta (FASTA): line 1: expected a `>` header line"
            )
        );
    }

    #[test]
    fn arrays_report_each_bad_element() {
        assert_eq!(
            errors(r#"{"input": ">a\nMKV", "weights": ["1", "10", "x"]}"#),
            vec![
                (
                    "weights".into(),
                    ErrorCode::MaxValue,
                    "element 1: must be at most 9, got 10".into()
                ),
                (
                    "weights".into(),
                    ErrorCode::Invalid,
                    "element 2: must be an integer, got `x`".into()
                ),
            ]
        );
        assert_eq!(errors(r#"{"input": ">a\nMKV", "weights": "3"}"#), vec![]);
    }

    #[test]
    fn lists_and_objects_where_a_single_value_is_expected() {
        assert_eq!(
            errors(r#"{"input": ">a\nMKV", "title": ["ab", "cd"]}"#),
            one(
                "title",
                ErrorCode::Invalid,
                "takes a single value, got a list of 2"
            )
        );
        assert_eq!(
            errors(r#"{"input": ">a\nMKV", "title": {"a": 1}}"#),
            one(
                "title",
                ErrorCode::Invalid,
                "must be a string, a list of strings or null, got an object"
            )
        );
    }

    #[test]
    fn unknown_parameters_are_invalid() {
        let found = errors(r#"{"input": ">a\nMKV", "colour": "red"}"#);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "colour");
        assert_eq!(found[0].1, ErrorCode::Invalid);
        assert!(
            found[0]
                .2
                .starts_with("unknown parameter (the form declares dealign, ")
        );
    }

    #[test]
    fn a_flood_of_unknown_parameters_gets_a_bounded_answer() {
        let flood: Vec<String> = (0..5000).map(|i| format!(r#""p{i:04}": "x""#)).collect();
        let found = errors(&format!(r#"{{"input": ">a\nMKV", {}}}"#, flood.join(",")));
        assert_eq!(found.len(), MAX_UNKNOWN_REPORTED + 1);
        assert!(found.iter().all(|e| e.1 == ErrorCode::Invalid));
        let last = found.last().unwrap();
        assert_eq!(
            last.2,
            format!(
                "and {} more unknown parameters",
                5000 - MAX_UNKNOWN_REPORTED
            )
        );
    }

    #[test]
    fn conditions_apply_to_given_values_only() {
        // Not given: the condition is not checked.
        assert_eq!(errors(r#"{"input": ">a\nMKV"}"#), vec![]);
        // Given, condition false (iterations defaults to 0).
        assert_eq!(
            errors(r#"{"input": ">a\nMKV", "max-hmm-iterations": "5"}"#),
            one(
                "max-hmm-iterations",
                ErrorCode::Condition,
                "is only allowed when `iterations > 0 and dealign` (iterations = 0, dealign = false)"
            )
        );
        // Given, condition true.
        assert_eq!(
            errors(
                r#"{"input": ">a\nMKV", "max-hmm-iterations": "5", "iterations": "2", "dealign": "yes"}"#
            ),
            vec![]
        );
        // A condition reading a refused field is not evaluated.
        assert_eq!(
            errors(
                r#"{"input": ">a\nMKV", "max-hmm-iterations": "5", "iterations": "x", "dealign": "yes"}"#
            ),
            one(
                "iterations",
                ErrorCode::Invalid,
                "must be an integer, got `x`"
            )
        );
    }

    #[test]
    fn every_error_is_reported() {
        let found = errors(
            r#"{"iterations": "250", "outfmt": "xml", "title": "x", "colour": "red",
                "max-hmm-iterations": "0"}"#,
        );
        let fields: Vec<&str> = found.iter().map(|(f, _, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "input",
                "iterations",
                "max-hmm-iterations",
                "outfmt",
                "title",
                "colour"
            ]
        );
    }
}
