//! Loading a slivka 0.8 service file: what makes slivka refuse it, and the
//! form it declares.
//!
//! slivka loads `<id>.service.yaml` in three steps, and refuses to start if
//! any fails: PyYAML reads the text ([`crate::yaml`]); `jsonschema` checks it
//! against `slivka/conf/service-schema.json` (Draft 7) and slivka turns it
//! into a `ServiceConfig` (a runner needs a `type`); then `FormLoader` builds
//! one field per parameter, which fails on a key the field's class does not
//! take, a condition that does not parse and a default its own validation
//! refuses. [`load`] does the same checks in the same order and stops at the
//! first problem, naming its line and key.

use std::fmt;

use crate::condition::Expression;
use crate::field::{Field, Kind, Problem};
use crate::value::Value;
use crate::yaml::{self, Node, Yaml};

/// A service's form: its parameters, in the file's order.
#[derive(Clone, Debug)]
pub struct Form {
    /// The fields, in declaration order (slivka validates in this order);
    /// ids are unique.
    pub fields: Vec<Field>,
}

impl Form {
    /// The field called `id`.
    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields.iter().find(|field| field.id == id)
    }
}

/// Why slivka would refuse a service file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// The line (from 1) of the value at fault.
    pub line: usize,
    /// The dotted key of the value at fault (`parameters.iterations.max`);
    /// empty for the file as a whole.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// `line N, key `a.b`: message`, or `line N: message` for the whole file.
impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            write!(
                f,
                "line {}, key `{}`: {}",
                self.line, self.key, self.message
            )
        }
    }
}

/// A [`LoadError`] about `node` at `key`.
fn fail(node: &Node, key: &str, message: impl Into<String>) -> LoadError {
    LoadError {
        line: node.line,
        key: key.to_string(),
        message: message.into(),
    }
}

/// Loads a service file's text: `Ok` with its form exactly when slivka
/// 0.8.5b7 would load the file (apart from the listed differences).
pub fn load(text: &str) -> Result<Form, LoadError> {
    let root = yaml::load(text).map_err(|e| LoadError {
        line: e.line,
        key: String::new(),
        message: format!("not YAML slivka can read: {}", e.message),
    })?;
    check_schema(&root)?;
    let parameters = root
        .value
        .get("parameters")
        .expect("the schema requires it");
    let Yaml::Map(pairs) = &parameters.value else {
        unreachable!("the schema requires a mapping")
    };
    let mut fields = Vec::with_capacity(pairs.len());
    for (id, spec) in pairs {
        let Yaml::Str(id) = &id.value else {
            return Err(fail(
                id,
                "parameters",
                format!(
                    "the parameter id {} is read as {}, not a string; quote it (no request could ever set it)",
                    id.value,
                    id.value.type_name()
                ),
            ));
        };
        fields.push(build_field(id, spec)?);
    }
    Ok(Form { fields })
}

// ---------------------------------------------------------------------------
// The schema (slivka/conf/service-schema.json), check by check.

/// `key` extended by `child`.
fn join(key: &str, child: &str) -> String {
    if key.is_empty() {
        child.to_string()
    } else {
        format!("{key}.{child}")
    }
}

/// The pairs of a mapping, or a "must be a mapping" error.
fn mapping<'a>(node: &'a Node, key: &str) -> Result<&'a [(Node, Node)], LoadError> {
    match &node.value {
        Yaml::Map(pairs) => Ok(pairs),
        other => Err(fail(
            node,
            key,
            format!("must be a mapping, not {}", other.type_name()),
        )),
    }
}

/// A string, or a "must be a string" error.
fn string<'a>(node: &'a Node, key: &str) -> Result<&'a str, LoadError> {
    match &node.value {
        Yaml::Str(s) => Ok(s),
        other => Err(fail(
            node,
            key,
            format!(
                "must be a string, not {} ({other}); quote it",
                other.type_name()
            ),
        )),
    }
}

/// A string of at least one character.
fn non_empty_string<'a>(node: &'a Node, key: &str) -> Result<&'a str, LoadError> {
    let s = string(node, key)?;
    if s.is_empty() {
        return Err(fail(node, key, "must not be empty"));
    }
    Ok(s)
}

/// A rule for the names of a mapping's keys (`propertyNames`): the check
/// and the pattern it stands for, for messages.
type NameRule = (fn(&str) -> bool, &'static str);

/// Each key of a mapping with its value, the key as text. A key that is not
/// a string is refused by `names` when the schema constrains names
/// (`propertyNames` with a pattern ignores non-strings, so then it passes).
fn entries<'a>(
    node: &'a Node,
    key: &str,
    names: Option<NameRule>,
) -> Result<Vec<(String, &'a Node)>, LoadError> {
    let mut out = Vec::new();
    for (name, value) in mapping(node, key)? {
        let text = match &name.value {
            Yaml::Str(s) => {
                if let Some((ok, pattern)) = names
                    && !ok(s)
                {
                    return Err(fail(
                        name,
                        &join(key, s),
                        format!("the name `{s}` does not match {pattern}"),
                    ));
                }
                s.clone()
            }
            other => other.to_string(),
        };
        out.push((text, value));
    }
    Ok(out)
}

/// Refuses keys of `node` not in `allowed` (`additionalProperties: false`).
fn only_keys(node: &Node, key: &str, allowed: &[&str]) -> Result<(), LoadError> {
    for (name, _) in mapping(node, key)? {
        let known = matches!(&name.value, Yaml::Str(s) if allowed.contains(&s.as_str()));
        if !known {
            let shown = match &name.value {
                Yaml::Str(s) => s.clone(),
                other => other.to_string(),
            };
            return Err(fail(
                name,
                &join(key, &shown),
                format!("unknown key (allowed: {})", allowed.join(", ")),
            ));
        }
    }
    Ok(())
}

/// Refuses a mapping that lacks one of `required`.
fn required_keys(node: &Node, key: &str, required: &[&str]) -> Result<(), LoadError> {
    for name in required {
        if node.value.get(name).is_none() {
            return Err(fail(
                node,
                key,
                format!("the required key `{name}` is missing"),
            ));
        }
    }
    Ok(())
}

/// Whether `c` is a Python regex `\w` character.
fn word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `^[A-Za-z0-9\-_]+$`: parameter, argument and test-parameter ids.
fn is_parameter_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `^[A-Za-z_][A-Za-z0-9_]*$`: environment variables and runner parameters.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `^[A-Za-z0-9_\-.]+$`: output ids.
fn is_output_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// `^[A-Za-z_][\w]*(\.[A-Za-z_][\w]+)*$` with an optional `[]` when
/// `array` is allowed: a field or runner type.
fn is_type_name(s: &str, array: bool) -> bool {
    let s = if array {
        s.strip_suffix("[]").unwrap_or(s)
    } else {
        s
    };
    let mut parts = s.split('.');
    let first = parts.next().unwrap_or("");
    let part_ok = |part: &str, min_rest: usize| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.clone().count() >= min_rest
            && chars.all(word)
    };
    part_ok(first, 0) && parts.all(|part| part_ok(part, 1))
}

/// `^\d+\.\d+(\.\d+)?(b\d+)?$`: the slivka version.
fn is_version(s: &str) -> bool {
    let (main, beta) = match s.split_once('b') {
        Some((main, beta)) => (main, Some(beta)),
        None => (s, None),
    };
    let digits = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_numeric());
    let parts: Vec<&str> = main.split('.').collect();
    (parts.len() == 2 || parts.len() == 3)
        && parts.iter().all(|p| digits(p))
        && beta.is_none_or(digits)
}

/// `^[A-Za-z_][A-Za-z0-9_.]*$`: the selector.
fn is_selector(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// The top-level keys the schema allows.
const TOP_KEYS: &[&str] = &[
    "slivka-version",
    "name",
    "description",
    "author",
    "version",
    "license",
    "classifiers",
    "parameters",
    "command",
    "args",
    "env",
    "outputs",
    "execution",
    "tests",
];

/// Checks the whole file against slivka's service schema, and what turning
/// it into a `ServiceConfig` adds (a runner's `type`).
fn check_schema(root: &Node) -> Result<(), LoadError> {
    if !matches!(root.value, Yaml::Map(_)) {
        return Err(fail(
            root,
            "",
            format!(
                "a service file must be a mapping, not {}",
                root.value.type_name()
            ),
        ));
    }
    only_keys(root, "", TOP_KEYS)?;
    required_keys(
        root,
        "",
        &[
            "slivka-version",
            "name",
            "parameters",
            "command",
            "args",
            "outputs",
            "execution",
        ],
    )?;
    let get = |key: &str| root.value.get(key);

    let version = get("slivka-version").expect("required");
    if !is_version(string(version, "slivka-version")?) {
        return Err(fail(
            version,
            "slivka-version",
            "must look like 0.8 or 0.8.5b7 (digits.digits[.digits][bdigits])",
        ));
    }
    for key in ["name", "description", "author", "version", "license"] {
        if let Some(node) = get(key) {
            string(node, key)?;
        }
    }
    if let Some(classifiers) = get("classifiers") {
        let Yaml::Seq(items) = &classifiers.value else {
            return Err(fail(
                classifiers,
                "classifiers",
                "must be a list of strings",
            ));
        };
        for item in items {
            string(item, "classifiers")?;
        }
    }

    let parameters = get("parameters").expect("required");
    for (id, spec) in entries(
        parameters,
        "parameters",
        Some((is_parameter_id, "[A-Za-z0-9-_]+")),
    )? {
        check_parameter(&join("parameters", &id), spec)?;
    }

    let command = get("command").expect("required");
    match &command.value {
        Yaml::Str(_) => {
            non_empty_string(command, "command")?;
        }
        Yaml::Seq(items) if !items.is_empty() => {
            for item in items {
                non_empty_string(item, "command")?;
            }
        }
        _ => {
            return Err(fail(
                command,
                "command",
                "must be a non-empty string or a non-empty list of non-empty strings",
            ));
        }
    }

    let args = get("args").expect("required");
    for (id, arg) in entries(args, "args", Some((is_parameter_id, "[A-Za-z0-9-_]+")))? {
        let key = join("args", &id);
        only_keys(arg, &key, &["arg", "symlink", "join", "default"])?;
        required_keys(arg, &key, &["arg"])?;
        for (name, value) in entries(arg, &key, None)? {
            let key = join(&key, &name);
            match name.as_str() {
                "arg" | "symlink" => non_empty_string(value, &key).map(drop)?,
                _ => string(value, &key).map(drop)?,
            }
        }
    }

    if let Some(env) = get("env") {
        for (name, value) in entries(env, "env", Some((is_identifier, "[A-Za-z_][A-Za-z0-9_]*")))? {
            string(value, &join("env", &name))?;
        }
    }

    let outputs = get("outputs").expect("required");
    for (id, output) in entries(outputs, "outputs", Some((is_output_id, "[A-Za-z0-9_-.]+")))? {
        let key = join("outputs", &id);
        only_keys(output, &key, &["path", "name", "media-type"])?;
        required_keys(output, &key, &["path"])?;
        for (name, value) in entries(output, &key, None)? {
            string(value, &join(&key, &name))?;
        }
    }

    check_execution(get("execution").expect("required"))?;

    if let Some(tests) = get("tests") {
        check_tests(tests)?;
    }
    Ok(())
}

/// The schema of one parameter (the field class checks the rest later).
fn check_parameter(key: &str, spec: &Node) -> Result<(), LoadError> {
    mapping(spec, key)?;
    required_keys(spec, key, &["name", "type"])?;
    for (name, value) in entries(spec, key, None)? {
        let key = join(key, &name);
        match name.as_str() {
            "name" | "description" | "condition" => {
                string(value, &key)?;
            }
            "type" if !is_type_name(string(value, &key)?, true) => {
                return Err(fail(
                    value,
                    &key,
                    "is not a type name (int, decimal, text, flag, choice, file, with [] for a list)",
                ));
            }
            "required" => match &value.value {
                Yaml::Bool(_) => {}
                Yaml::Str(s) if s == "yes" || s == "no" => {}
                other => {
                    return Err(fail(
                        value,
                        &key,
                        format!("must be true, false, \"yes\" or \"no\", not {other}"),
                    ));
                }
            },
            _ => {}
        }
    }
    Ok(())
}

/// `execution`: runners (each with a `type`) and an optional selector.
fn check_execution(execution: &Node) -> Result<(), LoadError> {
    let key = "execution";
    only_keys(execution, key, &["runners", "selector"])?;
    required_keys(execution, key, &["runners"])?;
    if let Some(selector) = execution.value.get("selector")
        && !is_selector(string(selector, "execution.selector")?)
    {
        return Err(fail(
            selector,
            "execution.selector",
            "is not a dotted Python name",
        ));
    }
    let runners = execution.value.get("runners").expect("required");
    for (id, runner) in entries(runners, "execution.runners", None)? {
        let key = join("execution.runners", &id);
        only_keys(
            runner,
            &key,
            &["type", "parameters", "consts", "env", "selector-options"],
        )?;
        for (name, value) in entries(runner, &key, None)? {
            let key = join(&key, &name);
            match name.as_str() {
                "type" => {
                    if !is_type_name(string(value, &key)?, false) {
                        return Err(fail(value, &key, "is not a dotted Python name"));
                    }
                }
                "parameters" | "selector-options" => {
                    entries(value, &key, Some((is_identifier, "[A-Za-z_][A-Za-z0-9_]*")))?;
                }
                "consts" => {
                    for (name, value) in
                        entries(value, &key, Some((is_identifier, "[A-Za-z_][A-Za-z0-9_]*")))?
                    {
                        string(value, &join(&key, &name))?;
                    }
                }
                _ => {
                    for (name, value) in entries(value, &key, None)? {
                        string(value, &join(&key, &name))?;
                    }
                }
            }
        }
        // Not in the schema, but ServiceConfig.Execution.Runner has no
        // default for `type`, so slivka fails to build the runner.
        if runner.value.get("type").is_none() {
            return Err(fail(runner, &key, "a runner needs a `type`"));
        }
    }
    Ok(())
}

/// `tests`: a list of test cases.
fn check_tests(tests: &Node) -> Result<(), LoadError> {
    let Yaml::Seq(items) = &tests.value else {
        return Err(fail(tests, "tests", "must be a list"));
    };
    for (index, test) in items.iter().enumerate() {
        let key = format!("tests.{index}");
        only_keys(
            test,
            &key,
            &["applicable-runners", "parameters", "timeout", "interval"],
        )?;
        required_keys(test, &key, &["applicable-runners", "parameters"])?;
        for (name, value) in entries(test, &key, None)? {
            let key = join(&key, &name);
            match name.as_str() {
                "applicable-runners" => {
                    if !matches!(&value.value, Yaml::Seq(items) if !items.is_empty()) {
                        return Err(fail(value, &key, "must be a non-empty list"));
                    }
                }
                "parameters" => {
                    for (name, value) in
                        entries(value, &key, Some((is_parameter_id, "[A-Za-z0-9-_]+")))?
                    {
                        let key = join(&key, &name);
                        match &value.value {
                            Yaml::Str(_) => {}
                            Yaml::Seq(items) => {
                                for item in items {
                                    string(item, &key)?;
                                }
                            }
                            _ => {
                                return Err(fail(
                                    value,
                                    &key,
                                    "must be a string or a list of strings",
                                ));
                            }
                        }
                    }
                }
                _ => {
                    // jsonschema's "integer": an int, or a float with no
                    // fraction; never a bool.
                    let integral = match &value.value {
                        Yaml::Int(_) => true,
                        Yaml::Float(f) => f.fract() == 0.0,
                        _ => false,
                    };
                    if !integral {
                        return Err(fail(value, &key, "must be an integer"));
                    }
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// FormLoader._build_field.

/// The keyword arguments every field class takes (besides `id`).
const BASE_KWARGS: &[&str] = &["name", "description", "default", "required", "condition"];

/// Builds one field as `FormLoader._build_field` does: the keys become
/// keyword arguments (`-` read as `_`) of the type's class.
fn build_field(id: &str, spec: &Node) -> Result<Field, LoadError> {
    let base = join("parameters", id);
    // Keyword arguments by Python name; a later spelling of the same name
    // (`min-length` then `min_length`) replaces the earlier, as in the dict
    // slivka builds.
    let mut kwargs: Vec<(String, &Node, &Node)> = Vec::new();
    for (name, value) in mapping(spec, &base)? {
        let Yaml::Str(text) = &name.value else {
            return Err(fail(
                name,
                &base,
                format!(
                    "the key {} is not a string (slivka fails on it)",
                    name.value
                ),
            ));
        };
        let python = text.replace('-', "_");
        match kwargs.iter_mut().find(|(k, _, _)| *k == python) {
            Some(entry) => *entry = (python, name, value),
            None => kwargs.push((python, name, value)),
        }
    }
    let kwarg = |name: &str| {
        kwargs
            .iter()
            .find(|(k, _, _)| k == name)
            .map(|(_, _, value)| *value)
    };
    let type_node = kwarg("type").expect("the schema requires `type`");
    let Yaml::Str(type_name) = &type_node.value else {
        unreachable!("the schema requires a string")
    };
    let type_key = join(&base, "type");
    let (kind_name, array) = match type_name.strip_suffix("[]") {
        Some(kind) => (kind, true),
        None => (type_name.as_str(), false),
    };
    let extra: &[&str] = match kind_name {
        "int" | "integer" => &["min", "max"],
        "float" | "decimal" => &["min", "max", "min_exclusive", "max_exclusive"],
        "text" | "string" => &["min_length", "max_length"],
        "boolean" | "flag" => &[],
        "choice" => &["choices"],
        "file" => &["media_type", "media_type_parameters", "extensions"],
        _ if kind_name.contains('.') => {
            return Err(fail(
                type_node,
                &type_key,
                format!(
                    "custom field type `{type_name}` is not supported: slivka imports it as a Python class, which a switchyard plugin cannot"
                ),
            ));
        }
        _ => {
            return Err(fail(
                type_node,
                &type_key,
                format!(
                    "invalid field type `{type_name}` (int, integer, float, decimal, text, string, boolean, flag, choice, file, each with [] for a list)"
                ),
            ));
        }
    };
    for (python, name, _) in &kwargs {
        if python != "type"
            && !BASE_KWARGS.contains(&python.as_str())
            && !extra.contains(&python.as_str())
        {
            let Yaml::Str(text) = &name.value else {
                unreachable!("checked above")
            };
            let allowed: Vec<String> = BASE_KWARGS
                .iter()
                .chain(extra)
                .map(|k| k.replace('_', "-"))
                .collect();
            return Err(fail(
                name,
                &join(&base, text),
                format!(
                    "a parameter of type `{type_name}` takes no `{text}` (it takes type, {})",
                    allowed.join(", ")
                ),
            ));
        }
    }
    let key_of = |python: &str| {
        kwargs
            .iter()
            .find(|(k, _, _)| k == python)
            .map(|(_, name, _)| match &name.value {
                Yaml::Str(text) => join(&base, text),
                _ => base.clone(),
            })
            .unwrap_or_else(|| join(&base, python))
    };
    let limit = |python: &str| {
        kwarg(python)
            .filter(|node| !matches!(node.value, Yaml::Null))
            .map(|node| limit_value(&node.value))
    };
    let truthy = |python: &str| kwarg(python).is_some_and(|node| yaml_truthy(&node.value));

    let kind = match kind_name {
        "int" | "integer" => Kind::Integer {
            min: limit("min"),
            max: limit("max"),
        },
        "float" | "decimal" => Kind::Decimal {
            min: limit("min"),
            max: limit("max"),
            min_exclusive: truthy("min_exclusive"),
            max_exclusive: truthy("max_exclusive"),
        },
        "text" | "string" => Kind::Text {
            min_length: limit("min_length"),
            max_length: limit("max_length"),
        },
        "boolean" | "flag" => Kind::Flag,
        "choice" => Kind::Choice {
            keys: match kwarg("choices") {
                None => Vec::new(),
                Some(node) => choice_keys(node, &key_of("choices"))?,
            },
        },
        _ => Kind::File {
            media_type: kwarg("media_type").and_then(|node| match &node.value {
                Yaml::Null => None,
                Yaml::Str(s) => Some(s.clone()),
                other => Some(other.to_string()),
            }),
        },
    };

    let default_node = kwarg("default").filter(|node| !matches!(node.value, Yaml::Null));
    if let (Kind::File { .. }, Some(node)) = (&kind, default_node) {
        return Err(fail(
            node,
            &key_of("default"),
            "a file parameter cannot have a default",
        ));
    }
    let default = match default_node {
        None => None,
        Some(node) => Some(default_value(node, &key_of("default"))?),
    };
    let condition = match kwarg("condition") {
        None => None,
        Some(node) => {
            let Yaml::Str(source) = &node.value else {
                unreachable!("the schema requires a string")
            };
            Some(Expression::parse(source).map_err(|error| {
                fail(
                    node,
                    &key_of("condition"),
                    format!("the condition `{source}` does not parse: {error}"),
                )
            })?)
        }
    };
    // `required and default is None`: any truthy `required` counts, so the
    // string "no" keeps the parameter required, as in slivka.
    let required =
        kwarg("required").is_none_or(|node| yaml_truthy(&node.value)) && default.is_none();
    let field = Field {
        id: id.to_string(),
        kind,
        array,
        required,
        default,
        condition,
    };
    if let Some(default) = &field.default {
        let node = default_node.expect("a default has its node");
        check_default(&field, default).map_err(|problem| {
            fail(
                node,
                &key_of("default"),
                format!("the default {} is not valid: {problem}", node.value),
            )
        })?;
    }
    Ok(field)
}

/// `_check_default`: the default passes the field's own validation (each
/// element of an array field's default, which must be a list).
fn check_default(field: &Field, default: &Value) -> Result<(), Problem> {
    if field.array {
        let Value::List(items) = default else {
            return Err(Problem::Raised(
                "an array parameter's default must be a list".to_string(),
            ));
        };
        for item in items {
            field.kind.run_validation(item)?;
        }
        Ok(())
    } else {
        field.kind.run_validation(default).map(drop)
    }
}

/// Python `bool(v)` of a YAML value.
fn yaml_truthy(value: &Yaml) -> bool {
    match value {
        Yaml::Null => false,
        Yaml::Bool(b) => *b,
        Yaml::Int(i) => i.sign() != num_bigint::Sign::NoSign,
        Yaml::Float(f) => *f != 0.0,
        Yaml::Str(s) => !s.is_empty(),
        Yaml::Timestamp(_) => true,
        Yaml::Seq(items) => !items.is_empty(),
        Yaml::Map(pairs) => !pairs.is_empty(),
    }
}

/// A limit (`min`, `max-length`, ...) as the value validation compares
/// against. A date or mapping becomes a value that no number compares with,
/// as in Python.
fn limit_value(value: &Yaml) -> Value {
    match value {
        Yaml::Null => Value::None,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Int(i) => Value::Int(i.clone()),
        Yaml::Float(f) => Value::Float(*f),
        Yaml::Str(s) | Yaml::Timestamp(s) => Value::Str(s.clone()),
        Yaml::Seq(items) => Value::List(items.iter().map(|n| limit_value(&n.value)).collect()),
        Yaml::Map(_) => Value::List(vec![Value::None]),
    }
}

/// A default as slivka keeps it (the YAML value itself, not converted).
/// Dates and mappings are refused (a listed difference).
fn default_value(node: &Node, key: &str) -> Result<Value, LoadError> {
    Ok(match &node.value {
        Yaml::Null => Value::None,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Int(i) => Value::Int(i.clone()),
        Yaml::Float(f) => Value::Float(*f),
        Yaml::Str(s) => Value::Str(s.clone()),
        Yaml::Seq(items) => Value::List(
            items
                .iter()
                .map(|item| default_value(item, key))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Timestamp(_) | Yaml::Map(_) => {
            return Err(fail(
                node,
                key,
                format!(
                    "a default that YAML reads as {} is not supported; quote it",
                    node.value.type_name()
                ),
            ));
        }
    })
}

/// The keys of `choices`, as `OrderedDict(choices)` has them: a mapping's
/// keys, or the first item of each pair in a list of pairs.
fn choice_keys(node: &Node, key: &str) -> Result<Vec<Value>, LoadError> {
    let scalar = |node: &Node| -> Result<Value, LoadError> {
        match &node.value {
            Yaml::Seq(_) | Yaml::Map(_) => Err(fail(node, key, "a choice must be a single value")),
            Yaml::Timestamp(_) => Err(fail(
                node,
                key,
                "a date as a choice is not supported; quote it",
            )),
            other => Ok(limit_value(other)),
        }
    };
    let mut keys: Vec<Value> = Vec::new();
    let mut add = |value: Value| {
        if !keys.iter().any(|k| k.py_eq(&value)) {
            keys.push(value);
        }
    };
    match &node.value {
        Yaml::Map(pairs) => {
            for (choice, _) in pairs {
                add(scalar(choice)?);
            }
        }
        Yaml::Seq(items) => {
            for item in items {
                match &item.value {
                    Yaml::Seq(pair) if pair.len() == 2 => add(scalar(&pair[0])?),
                    Yaml::Str(s) if s.chars().count() == 2 => {
                        add(Value::Str(s.chars().next().expect("two").to_string()));
                    }
                    _ => {
                        return Err(fail(
                            item,
                            key,
                            "a list of choices must hold [choice, value] pairs; write a mapping `choice: command-line value`",
                        ));
                    }
                }
            }
        }
        Yaml::Null => {
            return Err(fail(node, key, "`choices` must be a mapping, not null"));
        }
        other => {
            return Err(fail(
                node,
                key,
                format!(
                    "`choices` must be a mapping of choice to command-line value, not {}",
                    other.type_name()
                ),
            ));
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid service file whose parameters are `parameters` (YAML lines
    /// indented by two spaces), starting on line 10.
    fn service(parameters: &str) -> String {
        format!(
            "slivka-version: 0.8.5b7\nname: Test\ncommand: run\nargs: {{}}\noutputs: {{}}\n\
             execution:\n  runners:\n    local:\n      type: SlivkaQueueRunner\nparameters:\n{parameters}"
        )
    }

    fn refusal(parameters: &str) -> String {
        load(&service(parameters)).unwrap_err().to_string()
    }

    #[test]
    fn a_minimal_service_loads_with_its_fields_in_file_order() {
        let form = load(&service(
            "  b:\n    name: B\n    type: int\n  a:\n    name: A\n    type: text[]\n",
        ))
        .unwrap();
        let ids: Vec<&str> = form.fields.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
        assert!(form.fields[1].array);
        assert!(form.fields[0].required);
    }

    #[test]
    fn refusals_name_the_line_and_the_key() {
        assert_eq!(
            refusal("  x:\n    name: X\n    type: int\n    maximum: 3\n"),
            "line 14, key `parameters.x.maximum`: a parameter of type `int` takes no `maximum` (it takes type, name, description, default, required, condition, min, max)"
        );
        assert_eq!(
            refusal("  x:\n    name: X\n    type: int\n    max: 3\n    default: 5\n"),
            "line 15, key `parameters.x.default`: the default 5 is not valid: must be at most 3, got 5"
        );
    }

    #[test]
    fn the_schema_requires_its_top_level_keys_and_no_others() {
        let text = service("  x:\n    name: X\n    type: int\n");
        assert!(
            load(&text.replace("command: run\n", ""))
                .unwrap_err()
                .message
                .contains("`command`")
        );
        let error = load(&format!("{text}colour: red\n")).unwrap_err();
        assert_eq!(error.key, "colour");
        assert!(load(&format!("{text}env: {{A_1: x}}\ntests: []\n")).is_ok());
        assert!(load("- a\n- b\n").is_err());
        assert!(load("").is_err());
    }

    #[test]
    fn the_schema_checks_ids_names_types_required_and_conditions() {
        assert!(refusal("  a b:\n    name: X\n    type: int\n").contains("does not match"));
        assert!(refusal("  x:\n    type: int\n").contains("`name` is missing"));
        assert!(refusal("  x:\n    name: X\n").contains("`type` is missing"));
        assert!(refusal("  x:\n    name: 5\n    type: int\n").contains("must be a string"));
        assert!(refusal("  x:\n    name: X\n    type: int[][]\n").contains("not a type name"));
        assert!(
            refusal("  x:\n    name: X\n    type: int\n    required: 'maybe'\n")
                .contains("\"yes\" or \"no\"")
        );
        assert!(
            refusal("  x:\n    name: X\n    type: int\n    required: 1\n")
                .contains("\"yes\" or \"no\"")
        );
        assert!(
            refusal("  x:\n    name: X\n    type: int\n    condition: 1\n")
                .contains("must be a string")
        );
        assert!(
            refusal("  x:\n    name: X\n    type: int\n    condition: null\n")
                .contains("must be a string")
        );
    }

    #[test]
    fn a_runner_needs_a_type_and_execution_takes_only_runners_and_selector() {
        let text = service("  x:\n    name: X\n    type: int\n");
        let untyped = text.replace("      type: SlivkaQueueRunner\n", "      parameters: {}\n");
        assert!(
            load(&untyped)
                .unwrap_err()
                .message
                .contains("needs a `type`")
        );
        let selector = text.replace("execution:\n", "execution:\n  selector: my.module.select\n");
        assert!(load(&selector).is_ok());
        let extra = text.replace("execution:\n", "execution:\n  limits: 5\n");
        assert_eq!(load(&extra).unwrap_err().key, "execution.limits");
    }

    #[test]
    fn each_type_takes_its_own_keys_in_either_spelling() {
        for (type_name, keys) in [
            ("int", "min: 1\n    max: 5"),
            (
                "float",
                "min: 0\n    max_exclusive: true\n    min-exclusive: false",
            ),
            ("text", "min_length: 1\n    max-length: 5"),
            ("choice", "choices: {a: A}"),
            (
                "file",
                "media-type: text/plain\n    media_type_parameters: {}\n    extensions: [txt]",
            ),
            ("flag", "description: d\n    required: no\n    condition: x"),
        ] {
            let text = format!("  x:\n    name: X\n    type: {type_name}\n    {keys}\n");
            assert!(
                load(&service(&text)).is_ok(),
                "{type_name}: {:?}",
                load(&service(&text)).err()
            );
        }
        for (type_name, key) in [
            ("int", "min-length"),
            ("text", "min"),
            ("flag", "choices"),
            ("choice", "media-type"),
            ("file", "max"),
            ("int", "label"),
            ("int", "id"),
        ] {
            let text = format!("  x:\n    name: X\n    type: {type_name}\n    {key}: 1\n");
            assert!(
                refusal(&text).contains(&format!("takes no `{key}`")),
                "{type_name} {key}"
            );
        }
    }

    #[test]
    fn unknown_and_custom_types_are_refused() {
        assert!(
            refusal("  x:\n    name: X\n    type: bool\n").contains("invalid field type `bool`")
        );
        assert!(refusal("  x:\n    name: X\n    type: my.Field\n").contains("custom field type"));
        assert!(refusal("  x:\n    name: X\n    type: my.Field[]\n").contains("custom field type"));
    }

    #[test]
    fn a_condition_that_does_not_parse_is_refused() {
        assert!(
            refusal("  x:\n    name: X\n    type: int\n    condition: x >\n")
                .contains("does not parse")
        );
    }

    #[test]
    fn defaults_must_pass_their_own_validation() {
        let field = |extra: &str| service(&format!("  x:\n    name: X\n    {extra}\n"));
        assert!(load(&field("type: int\n    default: '7'")).is_ok());
        assert!(load(&field("type: int\n    default: 5.0")).is_ok());
        assert!(load(&field("type: int\n    default: 2.5")).is_err());
        assert!(load(&field("type: int\n    default: true")).is_err());
        assert!(load(&field("type: float\n    default: yes")).is_err());
        assert!(load(&field("type: text\n    max-length: 2\n    default: 100")).is_err());
        assert!(load(&field("type: choice\n    choices: {a: A}\n    default: b")).is_err());
        assert!(load(&field("type: flag\n    default: anything")).is_ok());
        assert!(load(&field("type: int[]\n    max: 3\n    default: [1, 2]")).is_ok());
        assert!(load(&field("type: int[]\n    max: 3\n    default: [1, 4]")).is_err());
        assert!(load(&field("type: int[]\n    default: 1")).is_err());
        assert!(
            refusal("  x:\n    name: X\n    type: file\n    default: a\n")
                .contains("cannot have a default")
        );
    }

    #[test]
    fn an_empty_default_makes_the_field_optional() {
        let form = load(&service(
            "  x:\n    name: X\n    type: text\n    default: ''\n",
        ))
        .unwrap();
        assert!(!form.fields[0].required);
        let form = load(&service(
            "  x:\n    name: X\n    type: text\n    default: null\n",
        ))
        .unwrap();
        assert!(form.fields[0].required);
    }

    #[test]
    fn a_quoted_no_keeps_the_parameter_required_as_in_slivka() {
        let form = load(&service(
            "  x:\n    name: X\n    type: int\n    required: 'no'\n",
        ))
        .unwrap();
        assert!(form.fields[0].required);
        let form = load(&service(
            "  x:\n    name: X\n    type: int\n    required: no\n",
        ))
        .unwrap();
        assert!(!form.fields[0].required);
    }

    #[test]
    fn choices_are_a_mapping_or_a_list_of_pairs() {
        let keys = |choices: &str| {
            let text = service(&format!(
                "  x:\n    name: X\n    type: choice\n    choices: {choices}\n"
            ));
            load(&text).map(|form| match &form.fields[0].kind {
                Kind::Choice { keys } => keys.iter().map(ToString::to_string).collect::<Vec<_>>(),
                _ => unreachable!(),
            })
        };
        assert_eq!(keys("{a: A, 1: one}").unwrap(), ["a", "1"]);
        assert_eq!(keys("[[a, A], [b, B]]").unwrap(), ["a", "b"]);
        assert_eq!(keys("[ab, cd]").unwrap(), ["a", "c"]);
        assert!(keys("[a, b]").is_err());
        assert!(keys("a").is_err());
        assert!(keys("null").is_err());
    }

    #[test]
    fn a_non_string_parameter_id_is_refused() {
        assert!(refusal("  1:\n    name: X\n    type: int\n").contains("not a string"));
    }

    #[test]
    fn a_dash_and_an_underscore_spell_the_same_key_and_the_later_wins() {
        let text = service("  x:\n    name: X\n    type: int\n    max: 3\n    max: 10\n");
        assert!(load(&text).is_ok());
        let text = service(
            "  x:\n    name: X\n    type: text\n    max-length: 1\n    max_length: 5\n    default: abc\n",
        );
        assert!(load(&text).is_ok());
        let text = service(
            "  x:\n    name: X\n    type: text\n    max_length: 5\n    max-length: 1\n    default: abc\n",
        );
        assert!(load(&text).is_err());
    }
}
