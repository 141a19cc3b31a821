//! One job's inputs through slivka's `BaseForm.full_clean`.
//!
//! 1. Every field, in the file's order: fetch its value, validate it; a
//!    refusal is that field's one error. Any error ends the clean here.
//! 2. Conditions, first pass: every field whose value (given, else default)
//!    is not None is tested; a given value that fails is a `condition`
//!    error, a default that fails disables the default.
//! 3. Second pass, with disabled defaults as None: every field whose value is
//!    not None and fails its condition is a `condition` error.
//!
//! A condition sees `self` (its own field's value) and every field by id.
//! Inputs the form does not know are `invalid` ("unknown parameter"), where
//! slivka fails the request.

use switchyard_plugin::{ErrorCode, FieldError};

use crate::field::{Field, Problem, quote};
use crate::payload::{Inputs, Raw};
use crate::service::Form;
use crate::value::Value;

/// Unknown inputs reported one by one; the rest are counted in one error.
const MAX_UNKNOWN_REPORTED: usize = 20;

/// Cleans `inputs` against `form`: every error, empty when valid.
pub fn full_clean(form: &Form, inputs: &Inputs<'_>) -> Vec<FieldError> {
    let mut errors = clean_fields(form, inputs);
    errors.extend(unknown_inputs(form, inputs));
    errors
}

/// The three passes over the form's fields.
fn clean_fields(form: &Form, inputs: &Inputs<'_>) -> Vec<FieldError> {
    let mut errors = Vec::new();

    // Pass 1: fetch and validate.
    let mut provided: Vec<Option<Value>> = Vec::with_capacity(form.fields.len());
    let mut refused = false;
    for field in &form.fields {
        let raw = inputs.get(&field.id).unwrap_or(&Raw::Missing);
        let given: Vec<&str> = match raw {
            Raw::Missing => Vec::new(),
            Raw::Values(values) => values.iter().map(|v| v.as_ref()).collect(),
            Raw::Unreadable(what) => {
                errors.push(FieldError::new(
                    field.id.as_str(),
                    ErrorCode::Invalid,
                    format!("must be a string, a list of strings or null, got {what}"),
                ));
                refused = true;
                provided.push(None);
                continue;
            }
        };
        match field.validate(&given) {
            Ok(Value::None) => provided.push(None),
            Ok(value) => provided.push(Some(value)),
            Err(problem) => {
                errors.push(field_error(field, problem));
                refused = true;
                provided.push(None);
            }
        }
    }
    if refused {
        return errors;
    }

    // Pass 2: conditions, with defaults where nothing was given.
    let mut defaults: Vec<Value> = form.fields.iter().map(Field::default_value).collect();
    let mut disabled = Vec::new();
    for (index, field) in form.fields.iter().enumerate() {
        match test(form, &provided, &defaults, index) {
            Ok(true) => {}
            Ok(false) if provided[index].is_some() => {
                errors.push(condition_error(form, &provided, &defaults, index));
            }
            Ok(false) => disabled.push(index),
            Err(raised) => {
                errors.push(raised_error(field, &raised));
                return errors;
            }
        }
    }
    if !errors.is_empty() {
        return errors;
    }

    // Pass 3: again, with the disabled defaults gone.
    for index in disabled {
        defaults[index] = Value::None;
    }
    for (index, field) in form.fields.iter().enumerate() {
        match test(form, &provided, &defaults, index) {
            Ok(true) => {}
            Ok(false) => errors.push(condition_error(form, &provided, &defaults, index)),
            Err(raised) => {
                errors.push(raised_error(field, &raised));
                return errors;
            }
        }
    }
    errors
}

/// The value field `index` has for conditions: given, else its default.
fn value_of<'a>(provided: &'a [Option<Value>], defaults: &'a [Value], index: usize) -> &'a Value {
    provided[index].as_ref().unwrap_or(&defaults[index])
}

/// `values[id] is not None and not test_condition(values)` turned round:
/// `Ok(true)` when the field passes (no value, no condition, or a truthy
/// condition).
fn test(
    form: &Form,
    provided: &[Option<Value>],
    defaults: &[Value],
    index: usize,
) -> Result<bool, String> {
    let own = value_of(provided, defaults, index);
    let Some(condition) = &form.fields[index].condition else {
        return Ok(true);
    };
    if matches!(own, Value::None) {
        return Ok(true);
    }
    let lookup = |name: &str| -> Option<Value> {
        // {'self': own, **values}: a field called `self` wins.
        match form.fields.iter().position(|f| f.id == name) {
            Some(other) => Some(value_of(provided, defaults, other).clone()),
            None if name == "self" => Some(own.clone()),
            None => None,
        }
    };
    condition.evaluate(&lookup).map(|result| result.truthy())
}

/// A `condition` error for field `index`, showing the values it read.
fn condition_error(
    form: &Form,
    provided: &[Option<Value>],
    defaults: &[Value],
    index: usize,
) -> FieldError {
    let field = &form.fields[index];
    let condition = field.condition.as_ref().expect("only conditions fail");
    let shown: Vec<String> = condition
        .identifiers()
        .into_iter()
        .map(|name| {
            let value = match form.fields.iter().position(|f| f.id == name) {
                Some(other) => value_of(provided, defaults, other),
                None => value_of(provided, defaults, index),
            };
            format!("{name} = {}", quote(value))
        })
        .collect();
    FieldError::new(
        field.id.as_str(),
        ErrorCode::Condition,
        format!(
            "is only allowed when `{}` ({})",
            condition.source(),
            shown.join(", ")
        ),
    )
}

/// The error for a condition whose evaluation raised (slivka: HTTP 500).
fn raised_error(field: &Field, raised: &str) -> FieldError {
    let source = field.condition.as_ref().map_or("", |c| c.source());
    FieldError::new(
        field.id.as_str(),
        ErrorCode::Condition,
        format!("its condition `{source}` cannot be evaluated: {raised}"),
    )
}

/// The error for a refused value.
fn field_error(field: &Field, problem: Problem) -> FieldError {
    match problem {
        Problem::Refused(code, message) => FieldError::new(field.id.as_str(), code, message),
        Problem::Raised(message) => FieldError::new(field.id.as_str(), ErrorCode::Invalid, message),
    }
}

/// `invalid` for each input with a value the form does not know (at most
/// [`MAX_UNKNOWN_REPORTED`], then one error counting the rest).
fn unknown_inputs(form: &Form, inputs: &Inputs<'_>) -> Vec<FieldError> {
    // An unknown name given no value (null, or only nulls) never reaches
    // slivka's form, so it is no error.
    let unknown: Vec<&str> = inputs
        .iter()
        .filter(|(name, raw)| form.field(name).is_none() && **raw != Raw::Missing)
        .map(|(name, _)| name)
        .collect();
    if unknown.is_empty() {
        return Vec::new();
    }
    let ids: Vec<&str> = form.fields.iter().map(|f| f.id.as_str()).collect();
    let message = if ids.is_empty() {
        "unknown parameter (the service declares none)".to_string()
    } else {
        format!(
            "unknown parameter (the service declares {})",
            ids.join(", ")
        )
    };
    let mut errors: Vec<FieldError> = unknown
        .iter()
        .take(MAX_UNKNOWN_REPORTED)
        .map(|name| FieldError::new(*name, ErrorCode::Invalid, message.clone()))
        .collect();
    if let Some(first_unreported) = unknown.get(MAX_UNKNOWN_REPORTED) {
        errors.push(FieldError::new(
            *first_unreported,
            ErrorCode::Invalid,
            format!(
                "and {} more unknown parameters",
                unknown.len() - MAX_UNKNOWN_REPORTED
            ),
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::read_inputs;
    use crate::service;

    /// A form with `parameters` (YAML, indented two spaces).
    fn form(parameters: &str) -> Form {
        service::load(&format!(
            "slivka-version: 0.8.5b7\nname: T\ncommand: run\nargs: {{}}\noutputs: {{}}\n\
             execution: {{runners: {{local: {{type: X}}}}}}\nparameters:\n{parameters}"
        ))
        .unwrap()
    }

    /// (field, code) of each error for `inputs` (a JSON object).
    fn verdict(form: &Form, inputs: &str) -> Vec<(String, &'static str)> {
        let payload = format!(r#"{{"inputs": {inputs}}}"#);
        let inputs = read_inputs(payload.as_bytes()).unwrap();
        full_clean(form, &inputs)
            .into_iter()
            .map(|e| (e.field, e.code.slivka_code()))
            .collect()
    }

    fn errors(list: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
        list.iter().map(|(f, c)| (f.to_string(), *c)).collect()
    }

    const GAPS: &str = "  verbose:\n    name: V\n    type: flag\n    required: false\n\
        \x20 open:\n    name: O\n    type: float\n    required: false\n    condition: verbose\n\
        \x20 extend:\n    name: E\n    type: float\n    default: 0.5\n    condition: open != null\n";

    #[test]
    fn every_field_gets_at_most_one_error_in_file_order() {
        let f = form(
            "  b:\n    name: B\n    type: int\n    max: 1\n  a:\n    name: A\n    type: text\n",
        );
        assert_eq!(
            verdict(&f, r#"{"a": "", "b": "5"}"#),
            errors(&[("b", "max_value"), ("a", "required")])
        );
    }

    #[test]
    fn a_given_value_that_fails_its_condition_is_a_condition_error() {
        let f = form(GAPS);
        assert_eq!(
            verdict(&f, r#"{"open": "1.0", "verbose": "true"}"#),
            errors(&[])
        );
        assert_eq!(
            verdict(&f, r#"{"open": "1.0"}"#),
            errors(&[("open", "condition")])
        );
        assert_eq!(
            verdict(&f, r#"{"open": "1.0", "verbose": "false"}"#),
            errors(&[("open", "condition")])
        );
    }

    #[test]
    fn a_default_that_fails_its_condition_is_disabled_not_an_error() {
        let f = form(GAPS);
        // `extend` has a default but no `open`: its default is disabled.
        assert_eq!(verdict(&f, "{}"), errors(&[]));
        // Given, it fails as any given value.
        assert_eq!(
            verdict(&f, r#"{"extend": "0.1"}"#),
            errors(&[("extend", "condition")])
        );
    }

    #[test]
    fn the_second_pass_sees_disabled_defaults_as_none() {
        // `b`'s default is disabled (a is not given); `c` reads `b` and is
        // then refused in the second pass though its value is a default.
        let f = form(
            "  a:\n    name: A\n    type: int\n    required: false\n\
             \x20 b:\n    name: B\n    type: int\n    default: 1\n    condition: a != null\n\
             \x20 c:\n    name: C\n    type: int\n    default: 2\n    condition: b != null\n",
        );
        assert_eq!(verdict(&f, "{}"), errors(&[("c", "condition")]));
        assert_eq!(verdict(&f, r#"{"a": "1"}"#), errors(&[]));
    }

    #[test]
    fn any_refused_value_stops_the_conditions() {
        let f = form(&format!(
            "{GAPS}  n:\n    name: N\n    type: int\n    required: false\n"
        ));
        assert_eq!(
            verdict(&f, r#"{"open": "1.0", "n": "x"}"#),
            errors(&[("n", "invalid")])
        );
    }

    #[test]
    fn a_condition_sees_self_and_every_field_and_a_field_called_self_wins() {
        let f = form(
            "  count:\n    name: C\n    type: int\n    default: 10\n\
             \x20 iterations:\n    name: I\n    type: int\n    required: false\n    condition: self <= count\n",
        );
        assert_eq!(verdict(&f, r#"{"iterations": "10"}"#), errors(&[]));
        assert_eq!(
            verdict(&f, r#"{"iterations": "11"}"#),
            errors(&[("iterations", "condition")])
        );
        assert_eq!(
            verdict(&f, r#"{"iterations": "11", "count": "20"}"#),
            errors(&[])
        );
        let f = form(
            "  self:\n    name: S\n    type: int\n    default: 0\n\
             \x20 x:\n    name: X\n    type: int\n    required: false\n    condition: self > 0\n",
        );
        assert_eq!(verdict(&f, r#"{"x": "5"}"#), errors(&[("x", "condition")]));
    }

    #[test]
    fn a_condition_that_raises_is_a_condition_error_saying_why() {
        let f = form(
            "  x:\n    name: X\n    type: int\n    required: false\n    condition: self > nothing\n",
        );
        let payload = br#"{"inputs": {"x": "1"}}"#;
        let found = full_clean(&f, &read_inputs(payload).unwrap());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, ErrorCode::Condition);
        assert!(
            found[0]
                .message
                .starts_with("its condition `self > nothing` cannot be evaluated: "),
            "{}",
            found[0].message
        );
        // Not given, the condition is never evaluated.
        assert_eq!(verdict(&f, "{}"), errors(&[]));
    }

    #[test]
    fn the_condition_message_shows_the_values_read() {
        let f = form(GAPS);
        let found = full_clean(&f, &read_inputs(br#"{"inputs": {"open": "1.0"}}"#).unwrap());
        assert_eq!(
            found[0].message,
            "is only allowed when `verbose` (verbose = `None`)"
        );
    }

    #[test]
    fn unknown_inputs_with_a_value_are_invalid_and_with_only_null_ignored() {
        let f = form("  x:\n    name: X\n    type: int\n    required: false\n");
        assert_eq!(verdict(&f, r#"{"y": "1"}"#), errors(&[("y", "invalid")]));
        assert_eq!(verdict(&f, r#"{"y": ""}"#), errors(&[("y", "invalid")]));
        assert_eq!(verdict(&f, r#"{"y": null, "z": [null]}"#), errors(&[]));
    }

    #[test]
    fn a_flood_of_unknown_inputs_gets_a_bounded_answer() {
        let f = form("  x:\n    name: X\n    type: int\n    required: false\n");
        let flood: Vec<String> = (0..500).map(|i| format!(r#""p{i:03}": "x""#)).collect();
        let found = verdict(&f, &format!("{{{}}}", flood.join(",")));
        assert_eq!(found.len(), MAX_UNKNOWN_REPORTED + 1);
    }

    #[test]
    fn an_object_where_a_value_belongs_is_invalid() {
        let f = form("  x:\n    name: X\n    type: int\n    required: false\n");
        assert_eq!(
            verdict(&f, r#"{"x": {"a": 1}}"#),
            errors(&[("x", "invalid")])
        );
    }
}
