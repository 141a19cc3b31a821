//! Reading a service file's YAML as slivka does: PyYAML's `SafeLoader`.
//!
//! slivka loads service files with `yaml.load(f, ConfigYamlLoader)`, a
//! `SafeLoader` with an `!include` tag. What a value *is* (a string, an int,
//! a bool...) decides whether the file passes slivka's schema and what a
//! field's limits and default are, so plain scalars are resolved exactly as
//! PyYAML resolves them (YAML 1.1): `yes`/`No`/`OFF` are booleans, `~` and an
//! empty value are null, `0x1F`, `017`, `1_000` and `1:30` are ints, a float
//! needs a dot (`1e5` is a string, `1.0e+5` a float), `.inf`/`.nan`, and
//! `2020-01-01` is a date. Quoted and block scalars stay strings. Anchors,
//! aliases and merge keys (`<<`) work as in PyYAML.
//!
//! The syntax itself is read by `yaml-rust2`'s event parser, which gives
//! every node its line, so every later message can say where to look.
//! `!include` (which reads another file) is refused: a plugin has no files.

use std::collections::HashMap;
use std::fmt;
use std::str::Chars;

use num_bigint::BigInt;
use num_traits::{ToPrimitive, Zero};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use crate::number::parse_float;

/// A YAML value as PyYAML's `SafeLoader` constructs it.
#[derive(Clone, Debug)]
pub enum Yaml {
    /// `None`: `~`, `null`, `Null`, `NULL` or nothing.
    Null,
    /// `bool`: `true`/`yes`/`on`... in PyYAML's case variants.
    Bool(bool),
    /// `int`, any size.
    Int(BigInt),
    /// `float`.
    Float(f64),
    /// `str`.
    Str(String),
    /// A `datetime.date` or `datetime.datetime` (kept as written).
    Timestamp(String),
    /// `list`.
    Seq(Vec<Node>),
    /// `dict`: keys are unique (Python equality), in first-seen order.
    Map(Vec<(Node, Node)>),
}

/// A value and the line it starts on.
#[derive(Clone, Debug)]
pub struct Node {
    /// The value.
    pub value: Yaml,
    /// The line (from 1) where the value starts in the file.
    pub line: usize,
}

/// Why a text is not a YAML document slivka could load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    /// The line (from 1) of the problem.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Deepest nesting accepted, so a hostile file cannot overflow the stack.
const MAX_DEPTH: usize = 200;

/// Most nodes a file may expand to (aliases copy nodes), so a "billion
/// laughs" file cannot exhaust memory.
const MAX_NODES: usize = 1_000_000;

/// The single document in `text`, as PyYAML's `yaml.load` would construct
/// it. An empty stream is `Null` (as `yaml.load` returns `None`).
pub fn load(text: &str) -> Result<Node, YamlError> {
    let mut reader = Reader {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
        nodes: 0,
    };
    let (event, mark) = reader.next()?;
    if event != Event::StreamStart {
        return Err(error(mark, "the text does not start a YAML stream"));
    }
    let (event, mark) = reader.next()?;
    if event == Event::StreamEnd {
        return Ok(Node {
            value: Yaml::Null,
            line: 1,
        });
    }
    if event != Event::DocumentStart {
        return Err(error(mark, "expected a document"));
    }
    let (event, mark) = reader.next()?;
    let root = reader.value(event, mark, 0)?;
    let (event, mark) = reader.next()?;
    if event != Event::DocumentEnd {
        return Err(error(mark, "expected the end of the document"));
    }
    let (event, mark) = reader.next()?;
    if event != Event::StreamEnd {
        return Err(error(
            mark,
            "expected a single document in the stream, but found another document",
        ));
    }
    Ok(root)
}

/// A [`YamlError`] at `mark`.
fn error(mark: Marker, message: impl Into<String>) -> YamlError {
    YamlError {
        line: mark.line().max(1),
        message: message.into(),
    }
}

/// What one event sequence builds: a value, or the merge key `<<`.
enum Item {
    /// A value.
    Node(Node),
    /// A plain `<<`, which only means something as a mapping key.
    Merge(Marker),
}

/// Builds nodes from the parser's events.
struct Reader<'a> {
    /// The event source.
    parser: Parser<Chars<'a>>,
    /// Anchored nodes by anchor id, for aliases.
    anchors: HashMap<usize, Node>,
    /// Nodes built so far, aliases' copies included.
    nodes: usize,
}

impl Reader<'_> {
    /// The next event, or the syntax error.
    fn next(&mut self) -> Result<(Event, Marker), YamlError> {
        self.parser.next_token().map_err(|e: ScanError| {
            let mark = *e.marker();
            error(mark, e.info().to_string())
        })
    }

    /// Counts `count` more nodes against [`MAX_NODES`].
    fn count(&mut self, count: usize, mark: Marker) -> Result<(), YamlError> {
        self.nodes += count;
        if self.nodes > MAX_NODES {
            return Err(error(
                mark,
                format!("the document expands to more than {MAX_NODES} values"),
            ));
        }
        Ok(())
    }

    /// A value that must not be a bare `<<`.
    fn value(&mut self, event: Event, mark: Marker, depth: usize) -> Result<Node, YamlError> {
        match self.item(event, mark, depth, false)? {
            Item::Node(node) => Ok(node),
            Item::Merge(mark) => Err(error(
                mark,
                "could not determine a constructor for the tag 'tag:yaml.org,2002:merge' (`<<` outside a mapping key)",
            )),
        }
    }

    /// The value (or merge key) that starts with `event`; `key` when it is
    /// a mapping key (where a plain `=` is the string "=").
    fn item(
        &mut self,
        event: Event,
        mark: Marker,
        depth: usize,
        key: bool,
    ) -> Result<Item, YamlError> {
        if depth > MAX_DEPTH {
            return Err(error(
                mark,
                format!("nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.count(1, mark)?;
        let line = mark.line().max(1);
        let (node, anchor) = match event {
            Event::Alias(id) => {
                let Some(node) = self.anchors.get(&id).cloned() else {
                    return Err(error(
                        mark,
                        "found an alias to an undefined (or enclosing) anchor",
                    ));
                };
                self.count(size(&node), mark)?;
                return Ok(Item::Node(node));
            }
            Event::Scalar(text, style, anchor, tag) => {
                if style == TScalarStyle::Plain && tag.is_none() && text == "<<" {
                    return Ok(Item::Merge(mark));
                }
                if key && style == TScalarStyle::Plain && tag.is_none() && text == "=" {
                    let value = Yaml::Str(text);
                    return Ok(Item::Node(Node { value, line }));
                }
                let value = scalar(text, style, tag.as_ref()).map_err(|m| error(mark, m))?;
                (Node { value, line }, anchor)
            }
            Event::SequenceStart(anchor, tag) => {
                collection_tag(tag.as_ref(), "seq").map_err(|m| error(mark, m))?;
                let mut items = Vec::new();
                loop {
                    let (event, mark) = self.next()?;
                    if event == Event::SequenceEnd {
                        break;
                    }
                    items.push(self.value(event, mark, depth + 1)?);
                }
                let value = Yaml::Seq(items);
                (Node { value, line }, anchor)
            }
            Event::MappingStart(anchor, tag) => {
                collection_tag(tag.as_ref(), "map").map_err(|m| error(mark, m))?;
                let value = Yaml::Map(self.mapping(depth)?);
                (Node { value, line }, anchor)
            }
            other => return Err(error(mark, format!("unexpected {other:?}"))),
        };
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(Item::Node(node))
    }

    /// A mapping's pairs, after its `MappingStart`, as PyYAML's
    /// `construct_mapping` (with `flatten_mapping` for `<<`) builds the dict.
    fn mapping(&mut self, depth: usize) -> Result<Vec<(Node, Node)>, YamlError> {
        let mut merged: Vec<(Node, Node)> = Vec::new();
        let mut own: Vec<(Node, Node)> = Vec::new();
        loop {
            let (event, mark) = self.next()?;
            if event == Event::MappingEnd {
                break;
            }
            let key = self.item(event, mark, depth + 1, true)?;
            let (event, vmark) = self.next()?;
            let value = self.value(event, vmark, depth + 1)?;
            match key {
                Item::Merge(mark) => merged.extend(merge_sources(value, mark)?),
                Item::Node(key) => {
                    if matches!(key.value, Yaml::Seq(_) | Yaml::Map(_)) {
                        return Err(error(
                            mark,
                            "found unhashable key (a list or mapping cannot be a key)",
                        ));
                    }
                    own.push((key, value));
                }
            }
        }
        // Merged pairs come first; later pairs replace earlier ones with an
        // equal key, which keeps its first place (a Python dict).
        let mut pairs: Vec<(Node, Node)> = Vec::new();
        for (key, value) in merged.into_iter().chain(own) {
            match pairs.iter_mut().find(|(k, _)| key_eq(&k.value, &key.value)) {
                Some(pair) => pair.1 = value,
                None => pairs.push((key, value)),
            }
        }
        Ok(pairs)
    }
}

/// The pairs a `<<` key's value merges in: a mapping, or a list of
/// mappings, in order (so a later mapping's key wins, as in PyYAML 6).
fn merge_sources(value: Node, mark: Marker) -> Result<Vec<(Node, Node)>, YamlError> {
    let not_mapping = || {
        error(
            mark,
            "expected a mapping or list of mappings for merging (`<<`)",
        )
    };
    match value.value {
        Yaml::Map(pairs) => Ok(pairs),
        Yaml::Seq(items) => {
            let mut sources = Vec::new();
            for item in items {
                match item.value {
                    Yaml::Map(pairs) => sources.push(pairs),
                    _ => return Err(not_mapping()),
                }
            }
            Ok(sources.into_iter().flatten().collect())
        }
        _ => Err(not_mapping()),
    }
}

/// How many nodes `node` holds, itself included.
fn size(node: &Node) -> usize {
    1 + match &node.value {
        Yaml::Seq(items) => items.iter().map(size).sum(),
        Yaml::Map(pairs) => pairs.iter().map(|(k, v)| size(k) + size(v)).sum(),
        _ => 0,
    }
}

/// Python's `==` between two dict keys (`1 == 1.0 == True`).
pub fn key_eq(a: &Yaml, b: &Yaml) -> bool {
    match (a, b) {
        (Yaml::Null, Yaml::Null) => true,
        (Yaml::Str(a), Yaml::Str(b)) => a == b,
        (Yaml::Timestamp(a), Yaml::Timestamp(b)) => a == b,
        (Yaml::Int(a), Yaml::Int(b)) => a == b,
        _ => match (number(a), number(b)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
    }
}

/// A bool, int or float as f64.
fn number(value: &Yaml) -> Option<f64> {
    match value {
        Yaml::Bool(b) => Some(f64::from(u8::from(*b))),
        Yaml::Int(i) => i.to_f64(),
        Yaml::Float(f) => Some(*f),
        _ => None,
    }
}

/// The YAML core tag prefix (what `!!` stands for).
const CORE: &str = "tag:yaml.org,2002:";

/// Checks a sequence's or mapping's explicit tag: only `!!seq` / `!!map`
/// (or none) construct plain lists and dicts.
fn collection_tag(tag: Option<&Tag>, kind: &str) -> Result<(), String> {
    match tag {
        None => Ok(()),
        Some(tag) if tag.handle == CORE && tag.suffix == kind => Ok(()),
        Some(tag) if tag.handle.is_empty() && tag.suffix == "!" => Ok(()),
        Some(tag) => Err(unsupported_tag(tag)),
    }
}

/// The message for a tag this reader does not construct.
fn unsupported_tag(tag: &Tag) -> String {
    let name = format!("{}{}", tag.handle, tag.suffix);
    if name == "!include" {
        "`!include` is not supported: a switchyard plugin reads no files, so put the included text in the service file".to_string()
    } else {
        format!("could not determine a constructor for the tag '{name}'")
    }
}

/// A scalar as PyYAML constructs it.
fn scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Result<Yaml, String> {
    let Some(tag) = tag else {
        return Ok(if style == TScalarStyle::Plain {
            resolve_plain(text)?
        } else {
            Yaml::Str(text)
        });
    };
    if tag.handle.is_empty() && tag.suffix == "!" {
        // PyYAML resolves a scalar with the non-specific tag `!` as if it
        // were plain, whatever its style: `! '5'` is the int 5.
        return resolve_plain(text);
    }
    if tag.handle != CORE {
        return Err(unsupported_tag(tag));
    }
    let cannot = |what: &str| format!("`{text}` cannot be read as !!{what}");
    match tag.suffix.as_str() {
        "str" => Ok(Yaml::Str(text)),
        "null" => Ok(Yaml::Null),
        "bool" => bool_value(&text.to_lowercase())
            .map(Yaml::Bool)
            .ok_or_else(|| cannot("bool")),
        "int" => construct_int(&text)
            .ok_or_else(|| cannot("int"))
            .map(Yaml::Int),
        "float" => construct_float(&text)
            .ok_or_else(|| cannot("float"))
            .map(Yaml::Float),
        "timestamp" if is_timestamp(&text) => Ok(Yaml::Timestamp(text)),
        "timestamp" => Err(cannot("timestamp")),
        _ => Err(unsupported_tag(tag)),
    }
}

/// PyYAML's `bool_values`, by lowercased text.
fn bool_value(lower: &str) -> Option<bool> {
    match lower {
        "yes" | "true" | "on" => Some(true),
        "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// A plain (unquoted, untagged) scalar, resolved by PyYAML's implicit
/// resolvers for YAML 1.1.
fn resolve_plain(text: String) -> Result<Yaml, String> {
    let t = text.as_str();
    if matches!(t, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(Yaml::Null);
    }
    if let Some(b) = implicit_bool(t) {
        return Ok(Yaml::Bool(b));
    }
    if is_implicit_float(t) {
        return construct_float(t)
            .map(Yaml::Float)
            .ok_or_else(|| format!("`{t}` cannot be read as a float"));
    }
    if is_implicit_int(t) {
        return construct_int(t)
            .map(Yaml::Int)
            .ok_or_else(|| format!("invalid literal for int(): `{t}`"));
    }
    if is_timestamp(t) {
        return Ok(Yaml::Timestamp(text));
    }
    if t == "=" {
        return Err(
            "could not determine a constructor for the tag 'tag:yaml.org,2002:value' (a plain `=`; quote it)"
                .to_string(),
        );
    }
    Ok(Yaml::Str(text))
}

/// PyYAML's bool resolver: exact case variants only.
fn implicit_bool(t: &str) -> Option<bool> {
    match t {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// `t` without a leading `+` or `-`.
fn unsigned(t: &str) -> &str {
    t.strip_prefix(['+', '-']).unwrap_or(t)
}

/// Whether `s` is non-empty and every byte passes `ok`.
fn all(s: &str, ok: impl Fn(u8) -> bool) -> bool {
    !s.is_empty() && s.bytes().all(ok)
}

/// `[0-9_]*` (possibly empty).
fn digits_(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || b == b'_')
}

/// `[0-9][0-9_]*`.
fn digit_then_digits_(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_digit) && digits_(s)
}

/// `(?::[0-5]?[0-9])+`: the sexagesimal parts after the first.
fn sexagesimal_tail(s: &str) -> bool {
    let Some(rest) = s.strip_prefix(':') else {
        return false;
    };
    rest.split(':').all(|part| {
        let b = part.as_bytes();
        match b.len() {
            1 => b[0].is_ascii_digit(),
            2 => (b'0'..=b'5').contains(&b[0]) && b[1].is_ascii_digit(),
            _ => false,
        }
    })
}

/// `(?:[eE][-+][0-9]+)?`.
fn optional_exponent(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let Some(rest) = s.strip_prefix(['e', 'E']) else {
        return false;
    };
    let Some(digits) = rest.strip_prefix(['+', '-']) else {
        return false;
    };
    all(digits, |b| b.is_ascii_digit())
}

/// PyYAML's float resolver.
fn is_implicit_float(t: &str) -> bool {
    let u = unsigned(t);
    let signed = u.len() != t.len();
    // [-+]?\.(inf|Inf|INF) and \.(nan|NaN|NAN)
    if matches!(u, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    if !signed && matches!(u, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    // \.[0-9][0-9_]*(exponent)?   (no sign)
    if !signed && let Some(rest) = u.strip_prefix('.') {
        let end = rest.find(['e', 'E']).unwrap_or(rest.len());
        return digit_then_digits_(&rest[..end]) && optional_exponent(&rest[end..]);
    }
    let Some(dot) = u.find('.') else {
        return false;
    };
    let (head, tail) = (&u[..dot], &u[dot + 1..]);
    // [-+]?[0-9][0-9_]*\.[0-9_]*(exponent)?
    let end = tail.find(['e', 'E']).unwrap_or(tail.len());
    if digit_then_digits_(head) && digits_(&tail[..end]) && optional_exponent(&tail[end..]) {
        return true;
    }
    // [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*
    if let Some(colon) = head.find(':') {
        return digit_then_digits_(&head[..colon])
            && sexagesimal_tail(&head[colon..])
            && digits_(tail);
    }
    false
}

/// PyYAML's int resolver.
fn is_implicit_int(t: &str) -> bool {
    let u = unsigned(t);
    if let Some(bin) = u.strip_prefix("0b") {
        return all(bin, |b| matches!(b, b'0' | b'1' | b'_'));
    }
    if let Some(hex) = u.strip_prefix("0x") {
        return all(hex, |b| b.is_ascii_hexdigit() || b == b'_');
    }
    if let Some(oct) = u.strip_prefix('0') {
        return oct.is_empty() || all(oct, |b| (b'0'..=b'7').contains(&b) || b == b'_');
    }
    if let Some(colon) = u.find(':') {
        return u.as_bytes()[0] != b'0'
            && digit_then_digits_(&u[..colon])
            && sexagesimal_tail(&u[colon..]);
    }
    digit_then_digits_(u)
}

/// PyYAML's `construct_yaml_int`; `None` where it raises.
fn construct_int(text: &str) -> Option<BigInt> {
    let cleaned = text.replace('_', "");
    let (negative, body) = match cleaned.strip_prefix('-') {
        Some(body) => (true, body),
        None => (false, cleaned.strip_prefix('+').unwrap_or(&cleaned)),
    };
    let radix = |digits: &str, radix: u32| BigInt::parse_bytes(digits.as_bytes(), radix);
    let value = if body == "0" {
        BigInt::zero()
    } else if let Some(bin) = body.strip_prefix("0b") {
        radix(bin, 2)?
    } else if let Some(hex) = body.strip_prefix("0x") {
        radix(hex, 16)?
    } else if let Some(oct) = body.strip_prefix('0') {
        radix(oct, 8)?
    } else if body.contains(':') {
        let mut value = BigInt::zero();
        for part in body.split(':') {
            value = value * 60 + radix(part, 10)?;
        }
        value
    } else {
        radix(body, 10)?
    };
    Some(if negative { -value } else { value })
}

/// PyYAML's `construct_yaml_float`; `None` where it raises.
fn construct_float(text: &str) -> Option<f64> {
    let cleaned = text.replace('_', "").to_lowercase();
    let (sign, body) = match cleaned.strip_prefix('-') {
        Some(body) => (-1.0, body),
        None => (1.0, cleaned.strip_prefix('+').unwrap_or(&cleaned)),
    };
    if body == ".inf" {
        return Some(sign * f64::INFINITY);
    }
    if body == ".nan" {
        return Some(f64::NAN);
    }
    if body.contains(':') {
        let mut value = 0.0;
        for part in body.split(':') {
            value = value * 60.0 + parse_float(part)?;
        }
        return Some(sign * value);
    }
    Some(sign * parse_float(body)?)
}

/// PyYAML's timestamp resolver: `2001-12-14`, `2001-12-14t21:59:43.10-05:00`,
/// `2001-12-14 21:59:43.10 -5`.
fn is_timestamp(t: &str) -> bool {
    let b = t.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    if !(0..4).all(digit) || b.get(4) != Some(&b'-') {
        return false;
    }
    if b.len() == 10 && digit(5) && digit(6) && b[7] == b'-' && digit(8) && digit(9) {
        return true;
    }
    // The long form: month and day of one or two digits, then a time.
    let mut i = 5;
    let one_or_two = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - start < 2 {
            *i += 1;
        }
        *i > start
    };
    if !one_or_two(&mut i) || b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    if !one_or_two(&mut i) {
        return false;
    }
    match b.get(i) {
        Some(b'T' | b't') => i += 1,
        Some(b' ' | b'\t') => {
            while matches!(b.get(i), Some(b' ' | b'\t')) {
                i += 1;
            }
        }
        _ => return false,
    }
    if !one_or_two(&mut i) {
        return false;
    }
    for _ in 0..2 {
        if b.get(i) != Some(&b':') || !digit(i + 1) || !digit(i + 2) {
            return false;
        }
        i += 3;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while digit(i) {
            i += 1;
        }
    }
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    match b.get(i) {
        None => i == b.len() && !matches!(b.last(), Some(b' ' | b'\t')),
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            i += 1;
            if !one_or_two(&mut i) {
                return false;
            }
            if b.get(i) == Some(&b':') {
                if !digit(i + 1) || !digit(i + 2) {
                    return false;
                }
                i += 3;
            }
            i == b.len()
        }
        _ => false,
    }
}

impl Yaml {
    /// Python's name for the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Yaml::Null => "null",
            Yaml::Bool(_) => "a boolean",
            Yaml::Int(_) => "an integer",
            Yaml::Float(_) => "a float",
            Yaml::Str(_) => "a string",
            Yaml::Timestamp(_) => "a date",
            Yaml::Seq(_) => "a list",
            Yaml::Map(_) => "a mapping",
        }
    }

    /// The value of `key` in a mapping (Python key equality).
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Yaml::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| matches!(&k.value, Yaml::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// The value as Python's `repr` shows it, roughly: `'text'`, `1`, `True`.
impl fmt::Display for Yaml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Yaml::Null => f.write_str("None"),
            Yaml::Bool(true) => f.write_str("True"),
            Yaml::Bool(false) => f.write_str("False"),
            Yaml::Int(i) => write!(f, "{i}"),
            Yaml::Float(x) => write!(f, "{}", crate::value::Value::Float(*x)),
            Yaml::Str(s) => write!(f, "'{s}'"),
            Yaml::Timestamp(s) => f.write_str(s),
            Yaml::Seq(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", item.value)?;
                }
                f.write_str("]")
            }
            Yaml::Map(pairs) => {
                f.write_str("{")?;
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}: {}", k.value, v.value)?;
                }
                f.write_str("}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of `k` in `k: <scalar>`.
    fn scalar_of(text: &str) -> Yaml {
        let root = load(&format!("k: {text}")).unwrap();
        root.value.get("k").unwrap().value.clone()
    }

    fn shown(text: &str) -> String {
        match scalar_of(text) {
            Yaml::Str(s) => format!("str {s}"),
            Yaml::Timestamp(s) => format!("date {s}"),
            Yaml::Float(f) if f.is_nan() => "float nan".to_string(),
            other => format!("{} {other}", other.type_name()),
        }
    }

    #[test]
    fn booleans_are_pyyaml_case_variants_of_yes_no_true_false_on_off() {
        for t in [
            "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
        ] {
            assert_eq!(shown(t), "a boolean True", "{t}");
        }
        for t in [
            "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
        ] {
            assert_eq!(shown(t), "a boolean False", "{t}");
        }
        for t in ["yEs", "tRUE", "oN", "y", "n", "Y"] {
            assert_eq!(shown(t), format!("str {t}"), "{t}");
        }
    }

    #[test]
    fn null_is_tilde_null_in_three_cases_or_nothing() {
        for t in ["~", "null", "Null", "NULL", ""] {
            assert!(matches!(scalar_of(t), Yaml::Null), "{t}");
        }
        assert_eq!(shown("nULL"), "str nULL");
        assert_eq!(shown("'null'"), "str null");
    }

    #[test]
    fn integers_follow_yaml_1_1() {
        for (text, value) in [
            ("0", "0"),
            ("-0", "0"),
            ("+5", "5"),
            ("1_000", "1000"),
            ("1__0", "10"),
            ("0b101", "5"),
            ("-0b11", "-3"),
            ("0x1F", "31"),
            ("-0x1f", "-31"),
            ("017", "15"),
            ("0_", "0"),
            ("1:30", "90"),
            ("-1:30", "-90"),
            ("12:30:45", "45045"),
            ("99999999999999999999999", "99999999999999999999999"),
        ] {
            assert_eq!(shown(text), format!("an integer {value}"), "{text}");
        }
        for text in [
            "08", "0o17", "_1", "0b", "0x", "1:60", "0:30", "1,000", "1 000",
        ] {
            assert_eq!(shown(text), format!("str {text}"), "{text}");
        }
    }

    #[test]
    fn an_integer_pyyaml_matches_but_cannot_convert_refuses_the_file() {
        for text in ["0b_", "0x_"] {
            assert!(load(&format!("k: {text}")).is_err(), "{text}");
        }
    }

    #[test]
    fn floats_need_a_dot_and_a_signed_exponent() {
        for (text, value) in [
            ("1.5", "1.5"),
            ("1.", "1.0"),
            (".5", "0.5"),
            ("1.0e+5", "100000.0"),
            ("1.5E-2", "0.015"),
            ("1_0.5_", "10.5"),
            ("1:30.5", "90.5"),
            (".inf", "inf"),
            ("-.Inf", "-inf"),
            ("+.INF", "inf"),
        ] {
            assert_eq!(shown(text), format!("a float {value}"), "{text}");
        }
        assert_eq!(shown(".NaN"), "float nan");
        for text in [
            "1e5",
            "1.0e5",
            "1e+5",
            "-.5",
            "+.5",
            "-.nan",
            ".infinity",
            "0.1.2",
        ] {
            assert_eq!(shown(text), format!("str {text}"), "{text}");
        }
    }

    #[test]
    fn dates_and_datetimes_are_timestamps() {
        for text in [
            "2001-12-14",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10 -5",
            "2001-1-1 1:00:00",
            "2001-12-14T21:59:43Z",
        ] {
            assert_eq!(shown(text), format!("date {text}"), "{text}");
        }
        assert_eq!(shown("2001-1-1"), "str 2001-1-1");
    }

    #[test]
    fn quoted_and_block_scalars_stay_strings() {
        assert_eq!(shown("'5'"), "str 5");
        assert_eq!(shown("\"yes\""), "str yes");
        assert_eq!(shown("|\n  5"), "str 5\n");
        assert_eq!(shown(">-\n  5"), "str 5");
    }

    #[test]
    fn core_tags_convert_and_the_non_specific_tag_resolves_as_plain() {
        assert_eq!(shown("!!str 5"), "str 5");
        assert_eq!(shown("!!int '7'"), "an integer 7");
        assert_eq!(shown("!!float 5"), "a float 5.0");
        assert_eq!(shown("!!bool yes"), "a boolean True");
        assert!(matches!(scalar_of("!!null ''"), Yaml::Null));
        assert_eq!(shown("! 5"), "an integer 5");
        assert_eq!(shown("! '5'"), "an integer 5");
    }

    #[test]
    fn include_and_unknown_tags_are_refused_with_their_line() {
        let error = load("a: 1\nb: !include other.yaml\n").unwrap_err();
        assert_eq!(error.line, 2);
        assert!(
            error.message.contains("`!include` is not supported"),
            "{error}"
        );
        for text in [
            "k: !!binary aGk=",
            "k: !!set {a: null}",
            "k: !custom x",
            "k: !!python/none ''",
        ] {
            assert!(load(text).is_err(), "{text}");
        }
    }

    #[test]
    fn a_plain_equals_sign_is_refused_as_a_value_but_is_a_string_as_a_key() {
        assert!(load("k: =").is_err());
        let root = load("=: 1").unwrap();
        assert!(root.value.get("=").is_some());
    }

    #[test]
    fn aliases_copy_their_anchor_and_merge_keys_merge_in_order() {
        let root =
            load("a: &x {n: 1, m: 2}\nb: *x\nc:\n  <<: [*x, {n: 3}]\n  o: 4\n  m: 5\n").unwrap();
        let c = root.value.get("c").unwrap();
        assert_eq!(c.value.to_string(), "{'n': 3, 'm': 5, 'o': 4}");
        assert_eq!(
            root.value.get("b").unwrap().value.to_string(),
            "{'n': 1, 'm': 2}"
        );
        assert!(load("a: {<<: 5}").is_err());
        assert!(load("a: <<").is_err());
    }

    #[test]
    fn a_repeated_key_keeps_its_first_place_and_its_last_value() {
        let root = load("a: 1\nb: 2\na: 3\n1: x\n1.0: y\ntrue: z\n").unwrap();
        assert_eq!(root.value.to_string(), "{'a': 3, 'b': 2, 1: 'z'}");
    }

    #[test]
    fn a_list_or_mapping_as_a_key_is_refused() {
        assert!(load("? [a]\n: 1\n").is_err());
        assert!(load("{[a]: 1}").is_err());
    }

    #[test]
    fn nodes_know_their_line() {
        let root = load("# comment\na: 1\nb:\n  c: [x,\n    y]\n").unwrap();
        assert_eq!(root.value.get("a").unwrap().line, 2);
        let Yaml::Seq(items) = &root.value.get("b").unwrap().value.get("c").unwrap().value else {
            panic!("a list")
        };
        assert_eq!(items[1].line, 5);
    }

    #[test]
    fn one_document_only_and_an_empty_stream_is_null() {
        assert!(matches!(load("").unwrap().value, Yaml::Null));
        assert!(matches!(
            load("# only a comment\n").unwrap().value,
            Yaml::Null
        ));
        let error = load("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(error.message.contains("single document"), "{error}");
        assert!(load("a: [1,\n").is_err());
    }

    #[test]
    fn an_alias_bomb_is_refused_not_expanded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        let error = load(&text).unwrap_err();
        assert!(error.message.contains("more than"), "{error}");
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(load(&text).is_err());
    }
}
