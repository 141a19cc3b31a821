//! `slivka-form`: a validator plugin that checks a job's inputs against its
//! service's form, as slivka's web workers do.
//!
//! slivka validates each request against the service's *form* (typed fields
//! with constraints) before it queues a job. This plugin does the same on the
//! switchyard side, so one plugin serves every slivka service: the forms live
//! in the routing config, not in the plugin.
//!
//! # Per job
//!
//! 1. The service is the entry field named by config `service-field`
//!    (default `service`). No such field: error `service`/`required`.
//! 2. The form is config `form.<service>` (JSON text, or a JSON object in the
//!    config, which arrives as its JSON text). Every form is parsed once, in
//!    `prepare`, when switchyard loads the plugin. None: error
//!    `service`/`not-found` naming the service. A broken form: one error per
//!    problem, code `invalid`, each saying the form is broken (the field is
//!    the form field at fault, or `service`).
//! 3. The payload must be JSON `{"inputs": {name: string | [string] | null}}`;
//!    otherwise one error, code `invalid`, field `payload` (empty or not
//!    JSON) or `inputs` (no `inputs` object).
//! 4. Every input is checked against the form and *every* error is reported
//!    (see [`submission`]).
//!
//! # Config
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `service-field` | `service` | the entry field naming the service |
//! | `form.<service>` | — | that service's form, as JSON |
//!
//! # Form format
//!
//! A JSON object mapping each input name to a field, in slivka's layout:
//!
//! ```json
//! {
//!   "iterations": {
//!     "label": "Number of iterations",
//!     "description": "Combined guide-tree/HMM iterations",
//!     "value": {"type": "integer", "min": 0, "max": 100, "default": 0}
//!   },
//!   "max-hmm-iterations": {
//!     "label": "Max HMM iterations",
//!     "value": {"type": "integer", "min": 1, "max": 100, "required": false},
//!     "condition": "iterations > 0"
//!   }
//! }
//! ```
//!
//! The type and constraints may also sit directly in the field object
//! (`{"type": "integer", "min": 0}`), beside `label` and `description`.
//! `label` and `description` are for people and are not checked.
//!
//! | key | applies to | meaning |
//! |---|---|---|
//! | `type` | all | `integer`/`int`, `decimal`/`float`, `text`/`string`, `flag`/`boolean`, `choice`, `file` |
//! | `required` | all | default `true`; a `default` makes the field optional |
//! | `default` | all but file | used when the input is missing, `null` or `""`; must pass the constraints |
//! | `array` (or slivka's `multiple`) | all | the input is a list; constraints apply per element, errors name the element (from 0) |
//! | `condition` | all | in the field or in `value`: see [`condition`] |
//! | `min`, `max` | integer | inclusive bounds (`min_value`, `max_value`) |
//! | `min`, `max`, `min-exclusive`, `max-exclusive` | decimal | bounds, inclusive unless the flag is `true` |
//! | `min-length`, `max-length` | text | length in characters (`min_length`, `max_length`) |
//! | `choices` | choice | object key → command-line value (or a list of keys); the input must be a key |
//! | `media-type` | file | `application/fasta`, `text/x-fasta`, `text/fasta`: the content must be FASTA (`media_type`); other types are accepted |
//! | `max-size` | file | bytes, or text like `4MB` (powers of 1024); larger content is `max_length` |
//! | `extensions`, `media-type-parameters` | file | accepted, not checked (upload hints in slivka) |
//!
//! Any other key makes the form broken, so a typo never silently disables a
//! check. Flags accept `true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0` in any
//! case. File inputs carry the file's content inline. Unknown input names are
//! `invalid` ("unknown parameter").
//!
//! # Layout
//!
//! - [`payload`]: the payload's `inputs`, as raw values.
//! - [`form`]: the form's JSON, read and checked once.
//! - [`kind`]: what each type accepts, with slivka's codes.
//! - [`condition`]: the condition language.
//! - [`value`]: typed values that conditions compare.
//! - [`submission`]: a job's inputs against a form, every error.
//! - this file: config and entry fields, and the export.

pub mod condition;
pub mod form;
pub mod kind;
pub mod payload;
pub mod submission;
pub mod value;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use switchyard_plugin::{ErrorCode, FieldError, Job, Validator, config, log};

use crate::form::{Form, FormError};

/// The validator exported by this plugin.
struct SlivkaForm;

/// What the config holds, read once: the service field and every form,
/// parsed (or the problems that make it broken).
struct Settings {
    /// The entry field naming the service.
    service_field: String,
    /// `form.<service>` by service.
    forms: BTreeMap<String, Result<Form, Vec<FormError>>>,
}

/// The settings, read by `prepare` at load; every job's instance starts
/// with them in place. Without `prepare` (an older host) the first job of
/// each instance reads them.
static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Reads the service field and parses every `form.*` of the config.
fn settings() -> &'static Settings {
    SETTINGS.get_or_init(|| Settings {
        service_field: config::get("service-field").unwrap_or_else(|| "service".to_string()),
        forms: config::keys()
            .into_iter()
            .filter_map(|key| {
                let service = key.strip_prefix("form.")?.to_string();
                let text = config::get(&key)?;
                Some((service, Form::parse(&text)))
            })
            .collect(),
    })
}

impl Validator for SlivkaForm {
    fn prepare() -> Result<(), switchyard_plugin::ConfigError> {
        let settings = settings();
        log::debug(format_args!("{} form(s) read", settings.forms.len()));
        Ok(())
    }

    fn validate(job: &Job) -> Result<(), Vec<FieldError>> {
        let settings = settings();
        let service = job.field(&settings.service_field);
        let form = service.and_then(|service| settings.forms.get(service));
        let errors = check_job(&settings.service_field, service, form, &job.payload);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

switchyard_plugin::export_validator!(SlivkaForm);

/// Checks one job, given what the config provides: the name of the service
/// field, the service (if the entry names one), its parsed form (if the
/// config has one) and the payload. Returns every error; empty means valid.
pub fn check_job(
    service_field: &str,
    service: Option<&str>,
    form: Option<&Result<Form, Vec<FormError>>>,
    payload: &[u8],
) -> Vec<FieldError> {
    let Some(service) = service else {
        return vec![FieldError::new(
            service_field,
            ErrorCode::Required,
            format!("the job has no `{service_field}` field naming its service"),
        )];
    };
    let Some(form) = form else {
        return vec![FieldError::new(
            service_field,
            ErrorCode::NotFound,
            format!("no form for service `{service}`"),
        )];
    };
    let form = match form {
        Ok(form) => form,
        Err(problems) => {
            return problems
                .iter()
                .map(|problem| {
                    FieldError::new(
                        problem.field.as_deref().unwrap_or(service_field),
                        ErrorCode::Invalid,
                        format!(
                            "the form for service `{service}` is broken: {}",
                            problem.message
                        ),
                    )
                })
                .collect();
        }
    };
    match payload::read_inputs(payload) {
        Ok(inputs) => submission::check(form, &inputs),
        Err(error) => vec![error],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: &str = r#"{"input": {"label": "Input", "value": {"type": "file", "media-type": "application/fasta"}}}"#;

    fn fields(errors: &[FieldError]) -> Vec<(&str, ErrorCode)> {
        errors.iter().map(|e| (e.field.as_str(), e.code)).collect()
    }

    #[test]
    fn valid_job() {
        let payload = br#"{"inputs": {"input": ">a\nMKV"}}"#;
        assert!(
            check_job(
                "service",
                Some("clustalo"),
                Some(&Form::parse(FORM)),
                payload
            )
            .is_empty()
        );
    }

    #[test]
    fn job_without_service() {
        let errors = check_job("service", None, None, b"{}");
        assert_eq!(fields(&errors), [("service", ErrorCode::Required)]);
    }

    #[test]
    fn unknown_service() {
        let errors = check_job("svc", Some("blast"), None, b"{}");
        assert_eq!(fields(&errors), [("svc", ErrorCode::NotFound)]);
        assert_eq!(errors[0].message, "no form for service `blast`");
    }

    #[test]
    fn broken_form_is_reported_not_trapped() {
        let errors = check_job(
            "service",
            Some("clustalo"),
            Some(&Form::parse(
                r#"{"a": {"type": "flag", "condition": "a =="}, "b": {"type": "nope"}}"#,
            )),
            b"{}",
        );
        assert_eq!(
            fields(&errors),
            [("b", ErrorCode::Invalid), ("a", ErrorCode::Invalid)]
        );
        assert!(errors.iter().all(|e| {
            e.message
                .starts_with("the form for service `clustalo` is broken: ")
        }));
        let not_json = check_job("service", Some("clustalo"), Some(&Form::parse("{")), b"{}");
        assert_eq!(fields(&not_json), [("service", ErrorCode::Invalid)]);
    }

    #[test]
    fn bad_payloads() {
        let empty = check_job("service", Some("clustalo"), Some(&Form::parse(FORM)), b"");
        assert_eq!(fields(&empty), [("payload", ErrorCode::Invalid)]);
        let not_json = check_job(
            "service",
            Some("clustalo"),
            Some(&Form::parse(FORM)),
            b"{inputs:",
        );
        assert_eq!(fields(&not_json), [("payload", ErrorCode::Invalid)]);
        let no_inputs = check_job("service", Some("clustalo"), Some(&Form::parse(FORM)), b"{}");
        assert_eq!(fields(&no_inputs), [("inputs", ErrorCode::Invalid)]);
    }
}
