//! The typed value of a form field, once its input has been checked.
//!
//! Inputs arrive as text; after checking, an integer field holds a number, a
//! flag a boolean, and so on. Conditions compare these values, and error
//! messages show them.

use std::fmt;

/// A checked field value, or a literal in a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value: the field was not given and has no default.
    Null,
    /// A flag's value, or `true`/`false` in a condition.
    Bool(bool),
    /// An integer or decimal field's value, or a number in a condition.
    /// Integers up to 2^53 are exact.
    Number(f64),
    /// A text, choice (the chosen key) or file (its content) field's value,
    /// or a quoted string in a condition.
    Text(String),
    /// An array field's values, one per element.
    List(Vec<Value>),
}

impl Value {
    /// Whether the value counts as true where a condition expects a
    /// boolean: `null`, `false`, `0`, `""` and `[]` are false, the rest true.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => *n != 0.0,
            Value::Text(s) => !s.is_empty(),
            Value::List(items) => !items.is_empty(),
        }
    }
}

/// Longest text shown in a message before it is cut (file contents can be
/// megabytes).
const SHOWN_TEXT: usize = 30;

/// The value as a message shows it: `null`, `true`, `2.5`, `"clustal"`,
/// `[1, 2]`; long texts are cut.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::Text(s) => {
                let shown: String = s.chars().take(SHOWN_TEXT).collect();
                let ellipsis = if shown.len() < s.len() { "..." } else { "" };
                write!(f, "{:?}", format!("{shown}{ellipsis}"))
            }
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truthiness() {
        assert!(!Value::Null.is_truthy());
        assert!(!Value::Bool(false).is_truthy());
        assert!(!Value::Number(0.0).is_truthy());
        assert!(!Value::Text(String::new()).is_truthy());
        assert!(!Value::List(vec![]).is_truthy());
        assert!(Value::Number(2.0).is_truthy());
        assert!(Value::Text("x".into()).is_truthy());
    }

    #[test]
    fn display_cuts_long_text() {
        assert_eq!(Value::Number(2.0).to_string(), "2");
        assert_eq!(Value::Number(1.53).to_string(), "1.53");
        assert_eq!(Value::Text("clustal".into()).to_string(), "\"clustal\"");
        let long = Value::Text("M".repeat(100)).to_string();
        assert_eq!(long, format!("\"{}...\"", "M".repeat(30)));
        let list = Value::List(vec![Value::Number(1.0), Value::Null]);
        assert_eq!(list.to_string(), "[1, null]");
    }
}
