//! `slivka-form`: a validator plugin that reads slivka 0.8 service files and
//! gives each job slivka 0.8.5b7's verdict on its inputs.
//!
//! slivka validates each request against the service's form (the
//! `parameters` of its `<id>.service.yaml`) before it queues a job. This
//! plugin reads the same service files and runs the same rules on the
//! switchyard side, so one plugin serves every slivka service and a job
//! slivka would refuse never reaches a queue. The reference is slivka's own
//! code: `server/forms/fields.py` and `form.py`, `conf/loaders.py` with
//! `conf/service-schema.json`, `utils/media_types.py`.
//!
//! # Config
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `service.<id>` | — | the full text of the service file `<id>.service.yaml` |
//! | `service-field` | `service` | the entry field naming the service |
//!
//! Every service file is read once, in `prepare`. A file slivka would refuse
//! to load is refused here too: `prepare` returns a `ConfigError` whose key
//! is the file's config key and whose message names the line and the key
//! inside the file (`line 12, key `parameters.x.max`: ...`). Other keys
//! (such as `target-pattern`) are ignored; the old `form.<id>` keys are
//! refused, so a config written for the old JSON forms is noticed.
//!
//! # What is read
//!
//! - The YAML as PyYAML's `SafeLoader` reads it ([`yaml`]): `yes`/`no`
//!   are booleans, `1e5` is a string, `0x1F` an int, and so on.
//! - The whole file against slivka's schema: the required top-level keys
//!   and no others, parameter ids, each parameter's `name` and `type`,
//!   `required` (a boolean or "yes"/"no"), `condition` (a string),
//!   `command`, `args`, `env`, `outputs`, `execution.runners` (each with a
//!   `type`), `tests` ([`service`]).
//! - Each parameter as slivka's `FormLoader` builds its field ([`field`]):
//!   the type (`int`, `integer`, `float`, `decimal`, `text`, `string`,
//!   `boolean`, `flag`, `choice`, `file`, each with `[]` for a list); the
//!   keys that type takes and no others (every type: `name`, `description`,
//!   `default`, `required`, `condition`; int: `min`, `max`; float: `min`,
//!   `max`, `min-exclusive`, `max-exclusive`; text: `min-length`,
//!   `max-length`; choice: `choices`; file: `media-type`,
//!   `media-type-parameters`, `extensions` and no default; `-` and `_`
//!   spell the same key); the condition must parse; the default must pass
//!   the field's own validation (a list for `[]` types).
//!
//! # Per job
//!
//! 1. The service is the entry field named by `service-field`. No such
//!    field: `required`; a service with no `service.<id>`: `not_found`.
//! 2. The payload is JSON `{"inputs": {name: string | [string|null] | null}}`
//!    ([`payload`]); otherwise one `invalid` error (`payload` or `inputs`).
//! 3. The inputs go through slivka's `BaseForm.full_clean` ([`clean`]):
//!    every field validated in the file's order, one error per field with
//!    slivka's code (`required`, `invalid`, `min_value`, `max_value`,
//!    `min_length`, `max_length`, `media_type`); only if all pass, the
//!    conditions (`condition`), in slivka's two passes. A file field's
//!    string is the file's content ([`media`] checks it).
//!
//! slivka's quirks are kept where they decide a verdict: a flag given
//! `false`, `no`, `off`, `0`, `n`, `f`, `none` or `null` (any case) counts
//! as not given, so a required flag must be on and a flag with
//! `default: true` cannot be switched off; `required: "no"` (quoted) is a
//! non-empty string, so the parameter stays required; a choice's value must
//! be a key of `choices` as YAML read it (a key `1` is an int, which no
//! request string equals); a condition sees a default that is not given.
//!
//! # Differences from slivka
//!
//! Each is on purpose; the ids are the README's.
//!
//! - **D1** An input the form does not know, given a value, is `invalid`
//!   ("unknown parameter"); slivka fails the request (HTTP 500, a KeyError
//!   in its view). Given only null, it is ignored, as slivka never sees it.
//! - **D2** A condition whose evaluation raises (a name that is no field,
//!   `<` between a number and None, ...) is a `condition` error saying why;
//!   slivka fails the request (HTTP 500).
//! - **D3** NaN for a decimal field with a `min` or `max` is `invalid`;
//!   slivka passes it (every comparison with NaN is false), plainly wrong.
//!   A NaN default still loads, as in slivka.
//! - **D4** A custom field type (a dotted Python class path) or `!include`
//!   refuses the service file at load: a plugin cannot import Python
//!   classes, and gets one file's text per service.
//! - **D5** Files of the Biopython media types other than FASTA (clustal,
//!   genbank, embl, stockholm, pfam under `application/`, `application/x-`
//!   and `text/`) are accepted unchecked; slivka parses them with Biopython.
//! - **D6** A limit that cannot be compared with the value (a quoted
//!   `max: "10"` on an int field) makes the value `invalid`; slivka fails
//!   the request (HTTP 500, a TypeError).
//! - **D7** YAML syntax is read by a YAML 1.2 parser (yaml-rust2) with
//!   PyYAML's YAML 1.1 scalar rules; syntax the two parsers read
//!   differently (rare) may load differently. Tags other than the core
//!   ones (`!!binary`, `!!set`, `!!omap`, `!!python/...`) and recursive
//!   aliases are refused; PyYAML's `SafeLoader` takes some of them.
//! - **D8** Refused at load though slivka loads them, as no request could
//!   use them or they need Python objects: a parameter id YAML reads as a
//!   non-string (`1:`, `yes:`), a default YAML reads as a date or a
//!   mapping, a date as a choice, a `choices` list of other than pairs.
//! - **D9** Payload values other than strings, lists of strings and null
//!   (objects, nested lists) are `invalid`; numbers and booleans are read as
//!   their JSON text. (A form post only carries strings.)
//! - **D10** Runner types and `execution.selector` are not imported: a file
//!   naming a runner class or selector slivka cannot import loads here.
//! - **D11** `application/json` content nested deeper than 900 levels is
//!   `media_type`; slivka fails the request (HTTP 500, a RecursionError).
//!
//! # Layout
//!
//! - [`yaml`]: the service file's YAML, as PyYAML reads it.
//! - [`service`]: the schema checks and the form a file declares.
//! - [`field`]: a field's validation, per type.
//! - [`media`]: file content checks by media type.
//! - [`payload`]: a job's `inputs`.
//! - [`clean`]: a job's inputs through `full_clean`.
//! - [`value`], [`number`], [`condition`]: Python's values, `int()` and
//!   `float()`, and slivka's condition expressions.
//! - this file: config, the entry fields and the export.

pub mod clean;
pub mod condition;
pub mod field;
pub mod media;
pub mod number;
pub mod payload;
pub mod service;
pub mod value;
pub mod yaml;

use std::cell::OnceCell;
use std::collections::BTreeMap;

use switchyard_plugin::config::ConfigError;
use switchyard_plugin::{ErrorCode, FieldError, Job, Validator, config, log};

use crate::service::Form;

/// What the config holds, read once.
#[derive(Debug)]
pub struct Settings {
    /// The entry field naming the service.
    pub service_field: String,
    /// Each service's form, by service id.
    pub services: BTreeMap<String, Form>,
}

/// Reads the settings from config entries (key, value), as [`load`] does
/// from the host: `service-field` and every `service.<id>`.
pub fn settings_from(
    entries: impl IntoIterator<Item = (String, String)>,
) -> Result<Settings, ConfigError> {
    let mut service_field = "service".to_string();
    let mut services = BTreeMap::new();
    for (key, value) in entries {
        if key == "service-field" {
            service_field = value;
        } else if let Some(id) = key.strip_prefix("service.") {
            let form = service::load(&value)
                .map_err(|error| ConfigError::for_key(&key, error.to_string()))?;
            services.insert(id.to_string(), form);
        } else if key.starts_with("form.") {
            return Err(ConfigError::for_key(
                &key,
                "JSON forms are no longer read: give the slivka service file's text as `service.<id>`",
            ));
        }
    }
    Ok(Settings {
        service_field,
        services,
    })
}

/// Reads the settings from the host's config.
fn load() -> Result<Settings, ConfigError> {
    settings_from(
        config::keys()
            .into_iter()
            .filter_map(|key| config::get(&key).map(|value| (key, value))),
    )
}

/// The validator exported by this plugin.
struct SlivkaForm;

thread_local! {
    /// The settings, read by `prepare` at load; every job's instance starts
    /// with them in place. Thread-local because Python's values (files) are
    /// not `Sync`; a component has one thread, where this is a plain static.
    static SETTINGS: OnceCell<&'static Settings> = const { OnceCell::new() };
}

/// The settings: those `prepare` read, or (on a host that does not call
/// `prepare`) read now. A config refused here can only trap.
fn settings() -> &'static Settings {
    SETTINGS.with(|cell| {
        *cell.get_or_init(|| match load() {
            // Leaked once: the settings live as long as the instance.
            Ok(settings) => Box::leak(Box::new(settings)),
            Err(error) => {
                log::error(format_args!("{error}"));
                panic!("slivka-form: {error}");
            }
        })
    })
}

impl Validator for SlivkaForm {
    /// Reads every service file; a file slivka would refuse refuses the
    /// config, naming its key, line and the key inside the file.
    fn prepare() -> Result<(), ConfigError> {
        let settings: &'static Settings = Box::leak(Box::new(load()?));
        log::debug(format_args!(
            "{} service file(s) read",
            settings.services.len()
        ));
        SETTINGS.with(|cell| {
            // `prepare` runs once, before any job.
            let _ = cell.set(settings);
        });
        Ok(())
    }

    fn validate(job: &Job) -> Result<(), Vec<FieldError>> {
        let settings = settings();
        let service = job.field(&settings.service_field);
        let form = service.and_then(|service| settings.services.get(service));
        let errors = check_job(&settings.service_field, service, form, &job.payload);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

switchyard_plugin::export_validator!(SlivkaForm);

/// Checks one job, given the name of the service field, the service (if
/// the entry names one), its form (if the config has one) and the payload.
/// Returns every error; empty means valid.
pub fn check_job(
    service_field: &str,
    service: Option<&str>,
    form: Option<&Form>,
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
            format!("no service file for service `{service}`"),
        )];
    };
    match payload::read_inputs(payload) {
        Ok(inputs) => clean::full_clean(form, &inputs),
        Err(error) => vec![error],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICE: &str = "slivka-version: 0.8.5b7\nname: T\ncommand: run\nargs: {}\noutputs: {}\n\
        execution: {runners: {local: {type: X}}}\nparameters:\n  input:\n    name: Input\n\
        \x20   type: file\n    media-type: application/fasta\n";

    fn settings(entries: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        settings_from(entries.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn codes(errors: &[FieldError]) -> Vec<(&str, &str)> {
        errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.slivka_code()))
            .collect()
    }

    #[test]
    fn each_service_key_holds_a_whole_service_file() {
        let s = settings(&[
            ("service.clustalo", SERVICE),
            ("target-pattern", "{runner}"),
        ])
        .unwrap();
        assert_eq!(s.service_field, "service");
        assert!(s.services["clustalo"].field("input").is_some());
        let s = settings(&[("service-field", "svc")]).unwrap();
        assert_eq!(s.service_field, "svc");
        assert!(s.services.is_empty());
    }

    #[test]
    fn a_service_file_slivka_refuses_refuses_the_config_naming_key_line_and_field() {
        let broken = SERVICE.replace("media-type", "media-typ");
        let error = settings(&[("service.clustalo", &broken)]).unwrap_err();
        assert_eq!(error.key.as_deref(), Some("service.clustalo"));
        assert!(
            error
                .message
                .starts_with("line 11, key `parameters.input.media-typ`: "),
            "{}",
            error.message
        );
    }

    #[test]
    fn the_old_json_form_keys_are_refused() {
        let error = settings(&[("form.clustalo", "{}")]).unwrap_err();
        assert_eq!(error.key.as_deref(), Some("form.clustalo"));
    }

    #[test]
    fn a_job_is_checked_against_its_services_form() {
        let form = service::load(SERVICE).unwrap();
        let ok = check_job(
            "service",
            Some("t"),
            Some(&form),
            br#"{"inputs": {"input": ">a\nMKV"}}"#,
        );
        assert!(ok.is_empty(), "{ok:?}");
        let bad = check_job(
            "service",
            Some("t"),
            Some(&form),
            br#"{"inputs": {"input": "MKV"}}"#,
        );
        assert_eq!(codes(&bad), [("input", "media_type")]);
    }

    #[test]
    fn a_job_without_a_known_service_or_readable_payload_is_one_error() {
        let form = service::load(SERVICE).unwrap();
        assert_eq!(
            codes(&check_job("svc", None, None, b"{}")),
            [("svc", "required")]
        );
        let unknown = check_job("service", Some("blast"), None, b"{}");
        assert_eq!(codes(&unknown), [("service", "not_found")]);
        assert_eq!(unknown[0].message, "no service file for service `blast`");
        assert_eq!(
            codes(&check_job("service", Some("t"), Some(&form), b"")),
            [("payload", "invalid")]
        );
        assert_eq!(
            codes(&check_job("service", Some("t"), Some(&form), b"{}")),
            [("inputs", "invalid")]
        );
    }
}
