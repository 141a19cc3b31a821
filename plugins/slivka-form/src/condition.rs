//! Conditions across fields: `iterations > 0 and dealign`.
//!
//! A form field may carry a condition; when the field is given a value and
//! the condition is false, the field is refused with code `condition`. This
//! module parses a condition once, when the form is read (a malformed one
//! makes the form broken, never a panic), and evaluates it per job.
//!
//! # Syntax
//!
//! ```text
//! condition  := or
//! or         := and ("or" and)*
//! and        := not ("and" not)*
//! not        := "not" not | comparison
//! comparison := operand (("==" | "!=" | "<" | "<=" | ">" | ">=") operand)?
//! operand    := number | string | "true" | "false" | "null" | field | "(" or ")"
//! ```
//!
//! - A *word* is a run of letters, digits, `_`, `-` and `.`. A word that
//!   starts with a digit, `-` or `.` and reads as a number is a number
//!   (`3`, `-1`, `0.5`, `1e3`); any other word is a field name, which may
//!   hold letters, digits, `_` and `-` (`max-hmm-iterations`, `6mers`).
//!   There is no arithmetic, so `a-b` is one name.
//! - `self` names the field that carries the condition (unless the form has
//!   a field called `self`).
//! - Strings are quoted with `"` or `'`; `\` escapes the next character.
//! - Keywords (`and`, `or`, `not`, `true`, `false`, `null`) are lowercase.
//! - Comparisons do not chain: `1 < x < 3` is an error; write
//!   `1 < x and x < 3`.
//!
//! # Meaning
//!
//! - A field evaluates to its value after checking: the given value, else its
//!   default, else `null`. Integers and decimals are numbers, flags booleans,
//!   choices the chosen key, texts and files text, arrays lists.
//! - `and`, `or`, `not` use truthiness: `null`, `false`, `0`, `""` and `[]`
//!   are false.
//! - `==` and `!=` compare any two values (numbers by value; values of
//!   different kinds are unequal). `<`, `<=`, `>`, `>=` compare two numbers
//!   or two texts; with anything else (e.g. `null`) they are false.

use std::fmt;

use crate::value::Value;

/// Deepest nesting of parentheses and `not`s accepted, so a hostile form
/// cannot overflow the stack.
const MAX_DEPTH: usize = 64;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The condition as written in the form, for messages.
    source: String,
    /// The parsed expression; field references are resolved (`self` is
    /// replaced by the field's name).
    expr: Expr,
    /// Every field the expression reads, without duplicates, in order of
    /// first appearance.
    fields: Vec<String>,
}

impl Condition {
    /// Parses `source`, the condition of field `owner`; `is_field` says
    /// whether a name is a field of the form.
    pub fn parse(
        source: &str,
        owner: &str,
        is_field: impl Fn(&str) -> bool,
    ) -> Result<Condition, ConditionError> {
        let tokens = lex(source)?;
        let mut parser = Parser {
            tokens,
            next: 0,
            depth: 0,
            owner,
            is_field: &is_field,
            fields: Vec::new(),
        };
        let expr = parser.or()?;
        match parser.peek() {
            (Token::End, _) => {}
            (token, at) => {
                return Err(ConditionError::new(
                    at,
                    format!("expected `and`, `or` or the end, found {token}"),
                ));
            }
        }
        Ok(Condition {
            source: source.to_string(),
            expr,
            fields: parser.fields,
        })
    }

    /// The condition as written in the form.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The fields the condition reads.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// Evaluates the condition, reading field values through `value_of`.
    pub fn holds<'v>(&self, value_of: &impl Fn(&str) -> &'v Value) -> bool {
        eval(&self.expr, value_of).is_truthy()
    }
}

/// Why a condition cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    /// Where the problem is: a character offset from 0.
    pub at: usize,
    /// What the problem is.
    pub message: String,
}

impl ConditionError {
    /// An error at character `at`.
    fn new(at: usize, message: impl Into<String>) -> Self {
        ConditionError {
            at,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.at, self.message)
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
}

impl Comparison {
    /// The operator as written.
    fn symbol(self) -> &'static str {
        match self {
            Comparison::Equal => "==",
            Comparison::NotEqual => "!=",
            Comparison::Less => "<",
            Comparison::LessOrEqual => "<=",
            Comparison::Greater => ">",
            Comparison::GreaterOrEqual => ">=",
        }
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    /// A number, string, `true`, `false` or `null`.
    Literal(Value),
    /// A field's value, by the field's name.
    Field(String),
    /// `not e`
    Not(Box<Expr>),
    /// `a and b`
    And(Box<Expr>, Box<Expr>),
    /// `a or b`
    Or(Box<Expr>, Box<Expr>),
    /// `a OP b`
    Compare(Comparison, Box<Expr>, Box<Expr>),
}

/// One token of a condition.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A run of letters, digits, `_`, `-`, `.`: a number, keyword or name.
    Word(String),
    /// A quoted string, unescaped.
    Str(String),
    /// A comparison operator.
    Compare(Comparison),
    /// `(`
    Open,
    /// `)`
    Close,
    /// The end of the condition.
    End,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(word) => write!(f, "`{word}`"),
            Token::Str(s) => write!(f, "the string {s:?}"),
            Token::Compare(op) => write!(f, "`{}`", op.symbol()),
            Token::Open => f.write_str("`(`"),
            Token::Close => f.write_str("`)`"),
            Token::End => f.write_str("the end"),
        }
    }
}

/// Whether `c` may appear in a word.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || c == '.'
}

/// Splits a condition into tokens, each with its character offset.
fn lex(source: &str) -> Result<Vec<(Token, usize)>, ConditionError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let token = match c {
            '(' => {
                i += 1;
                Token::Open
            }
            ')' => {
                i += 1;
                Token::Close
            }
            '=' | '!' | '<' | '>' => {
                let two = chars.get(i + 1) == Some(&'=');
                let op = match (c, two) {
                    ('=', true) => Comparison::Equal,
                    ('!', true) => Comparison::NotEqual,
                    ('<', true) => Comparison::LessOrEqual,
                    ('<', false) => Comparison::Less,
                    ('>', true) => Comparison::GreaterOrEqual,
                    ('>', false) => Comparison::Greater,
                    ('=', false) => {
                        return Err(ConditionError::new(
                            start,
                            "`=` is not an operator; use `==`",
                        ));
                    }
                    _ => {
                        return Err(ConditionError::new(
                            start,
                            "`!` is not an operator; use `not` or `!=`",
                        ));
                    }
                };
                i += if two { 2 } else { 1 };
                Token::Compare(op)
            }
            '"' | '\'' => {
                let quote = c;
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(ConditionError::new(start, "the string is not closed"));
                        }
                        Some('\\') => {
                            match chars.get(i + 1) {
                                Some(&escaped) => text.push(escaped),
                                None => {
                                    return Err(ConditionError::new(
                                        start,
                                        "the string is not closed",
                                    ));
                                }
                            }
                            i += 2;
                        }
                        Some(&q) if q == quote => {
                            i += 1;
                            break;
                        }
                        Some(&other) => {
                            text.push(other);
                            i += 1;
                        }
                    }
                }
                Token::Str(text)
            }
            c if is_word_char(c) => {
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                Token::Word(chars[start..i].iter().collect())
            }
            other => {
                return Err(ConditionError::new(
                    start,
                    format!("unexpected character {other:?}"),
                ));
            }
        };
        tokens.push((token, start));
    }
    tokens.push((Token::End, chars.len()));
    Ok(tokens)
}

/// A recursive-descent parser over the tokens of one condition.
struct Parser<'a, F> {
    /// The tokens, ending with [`Token::End`].
    tokens: Vec<(Token, usize)>,
    /// The index of the next token; never past the `End` token.
    next: usize,
    /// How deep in parentheses and `not`s the parser is.
    depth: usize,
    /// The field that carries the condition (what `self` means).
    owner: &'a str,
    /// Whether a name is a field of the form.
    is_field: &'a F,
    /// The fields read so far, in order of first appearance.
    fields: Vec<String>,
}

impl<F: Fn(&str) -> bool> Parser<'_, F> {
    /// The next token and its offset, not consumed.
    fn peek(&self) -> (&Token, usize) {
        let (token, at) = &self.tokens[self.next];
        (token, *at)
    }

    /// Consumes the next token (the `End` token is never consumed).
    fn advance(&mut self) -> (Token, usize) {
        let current = self.tokens[self.next].clone();
        if current.0 != Token::End {
            self.next += 1;
        }
        current
    }

    /// Whether the next token is the keyword `word`; consumes it if so.
    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek().0, Token::Word(w) if w == word) {
            self.advance();
            true
        } else {
            false
        }
    }

    /// Enters one level of nesting, refusing to go deeper than [`MAX_DEPTH`].
    fn descend(&mut self, at: usize) -> Result<(), ConditionError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ConditionError::new(
                at,
                format!("nested more than {MAX_DEPTH} deep"),
            ));
        }
        Ok(())
    }

    /// `or := and ("or" and)*`
    fn or(&mut self) -> Result<Expr, ConditionError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `and := not ("and" not)*`
    fn and(&mut self) -> Result<Expr, ConditionError> {
        let mut left = self.not()?;
        while self.keyword("and") {
            let right = self.not()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `not := "not" not | comparison`
    fn not(&mut self) -> Result<Expr, ConditionError> {
        let at = self.peek().1;
        if self.keyword("not") {
            self.descend(at)?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.comparison()
    }

    /// `comparison := operand (OP operand)?`
    fn comparison(&mut self) -> Result<Expr, ConditionError> {
        let left = self.operand()?;
        let Token::Compare(op) = *self.peek().0 else {
            return Ok(left);
        };
        self.advance();
        let right = self.operand()?;
        if let (Token::Compare(_), at) = self.peek() {
            return Err(ConditionError::new(
                at,
                "comparisons do not chain; join them with `and`",
            ));
        }
        Ok(Expr::Compare(op, Box::new(left), Box::new(right)))
    }

    /// `operand := number | string | true | false | null | field | "(" or ")"`
    fn operand(&mut self) -> Result<Expr, ConditionError> {
        let (token, at) = self.advance();
        match token {
            Token::Str(text) => Ok(Expr::Literal(Value::Text(text))),
            Token::Open => {
                self.descend(at)?;
                let inner = self.or()?;
                self.depth -= 1;
                match self.advance() {
                    (Token::Close, _) => Ok(inner),
                    (other, at) => Err(ConditionError::new(
                        at,
                        format!("expected `)`, found {other}"),
                    )),
                }
            }
            Token::Word(word) => self.word(word, at),
            other => Err(ConditionError::new(
                at,
                format!("expected a value or a field name, found {other}"),
            )),
        }
    }

    /// A word as an operand: a literal or a field reference.
    fn word(&mut self, word: String, at: usize) -> Result<Expr, ConditionError> {
        match word.as_str() {
            "true" => return Ok(Expr::Literal(Value::Bool(true))),
            "false" => return Ok(Expr::Literal(Value::Bool(false))),
            "null" => return Ok(Expr::Literal(Value::Null)),
            "and" | "or" | "not" => {
                return Err(ConditionError::new(
                    at,
                    format!("expected a value or a field name, found `{word}`"),
                ));
            }
            _ => {}
        }
        if word.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
            && let Ok(number) = word.parse::<f64>()
            && number.is_finite()
        {
            return Ok(Expr::Literal(Value::Number(number)));
        }
        let name = if word == "self" && !(self.is_field)("self") {
            self.owner.to_string()
        } else {
            word
        };
        let well_formed =
            name.starts_with(|c: char| c.is_alphanumeric() || c == '_') && !name.contains('.');
        if !well_formed {
            return Err(ConditionError::new(
                at,
                format!("`{name}` is neither a number nor a field name"),
            ));
        }
        if !(self.is_field)(&name) {
            return Err(ConditionError::new(
                at,
                format!("`{name}` is not a field of the form"),
            ));
        }
        if !self.fields.contains(&name) {
            self.fields.push(name.clone());
        }
        Ok(Expr::Field(name))
    }
}

/// Evaluates `expr`, reading fields through `value_of`.
fn eval<'v>(expr: &Expr, value_of: &impl Fn(&str) -> &'v Value) -> Value {
    match expr {
        Expr::Literal(value) => value.clone(),
        Expr::Field(name) => value_of(name).clone(),
        Expr::Not(inner) => Value::Bool(!eval(inner, value_of).is_truthy()),
        Expr::And(a, b) => {
            Value::Bool(eval(a, value_of).is_truthy() && eval(b, value_of).is_truthy())
        }
        Expr::Or(a, b) => {
            Value::Bool(eval(a, value_of).is_truthy() || eval(b, value_of).is_truthy())
        }
        Expr::Compare(op, a, b) => {
            Value::Bool(compare(*op, &eval(a, value_of), &eval(b, value_of)))
        }
    }
}

/// Applies a comparison; see the module docs for what compares with what.
fn compare(op: Comparison, a: &Value, b: &Value) -> bool {
    use std::cmp::Ordering;

    let order = match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.partial_cmp(y),
        (Value::Text(x), Value::Text(y)) => Some(x.cmp(y)),
        _ => None,
    };
    match op {
        Comparison::Equal => a == b,
        Comparison::NotEqual => a != b,
        Comparison::Less => order == Some(Ordering::Less),
        Comparison::LessOrEqual => matches!(order, Some(Ordering::Less | Ordering::Equal)),
        Comparison::Greater => order == Some(Ordering::Greater),
        Comparison::GreaterOrEqual => {
            matches!(order, Some(Ordering::Greater | Ordering::Equal))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// The fields of a small clustalo-like form.
    const FIELDS: &[&str] = &[
        "iterations",
        "dealign",
        "outfmt",
        "max-hmm-iterations",
        "6mers",
        "title",
    ];

    fn parse(source: &str) -> Result<Condition, ConditionError> {
        Condition::parse(source, "max-hmm-iterations", |name| FIELDS.contains(&name))
    }

    fn holds(source: &str, values: &[(&str, Value)]) -> bool {
        let values: HashMap<&str, Value> = values.iter().cloned().collect();
        let condition = parse(source).unwrap();
        condition.holds(&|name| values.get(name).unwrap_or(&Value::Null))
    }

    #[test]
    fn and_of_comparison_and_flag() {
        let on = [
            ("iterations", Value::Number(2.0)),
            ("dealign", Value::Bool(true)),
        ];
        let off = [
            ("iterations", Value::Number(2.0)),
            ("dealign", Value::Bool(false)),
        ];
        let zero = [
            ("iterations", Value::Number(0.0)),
            ("dealign", Value::Bool(true)),
        ];
        assert!(holds("iterations > 0 and dealign", &on));
        assert!(!holds("iterations > 0 and dealign", &off));
        assert!(!holds("iterations > 0 and dealign", &zero));
    }

    #[test]
    fn precedence_not_and_or() {
        // not binds tighter than and, which binds tighter than or.
        let values = [
            ("dealign", Value::Bool(false)),
            ("iterations", Value::Number(0.0)),
        ];
        assert!(holds("not dealign and iterations == 0 or dealign", &values));
        assert!(!holds("not (dealign or iterations == 0)", &values));
        assert!(holds("not not not dealign", &values));
    }

    #[test]
    fn strings_numbers_and_null() {
        let values = [("outfmt", Value::Text("clustal".into()))];
        assert!(holds("outfmt == \"clustal\"", &values));
        assert!(holds("outfmt != 'fasta'", &values));
        assert!(holds("outfmt < 'fasta'", &values));
        assert!(holds("iterations == null", &values));
        assert!(!holds("iterations > 0", &values));
        assert!(!holds("iterations <= 0", &values));
        assert!(holds(
            "title == 'it\\'s'",
            &[("title", Value::Text("it's".into()))]
        ));
        assert!(holds(
            "iterations >= -1.5",
            &[("iterations", Value::Number(-1.0))]
        ));
        assert!(holds(
            "iterations == 1e2",
            &[("iterations", Value::Number(100.0))]
        ));
    }

    #[test]
    fn self_and_names_with_dashes_and_digits() {
        let condition = parse("self <= 10 and 6mers").unwrap();
        assert_eq!(condition.fields(), &["max-hmm-iterations", "6mers"]);
        assert!(holds(
            "self <= 10 and 6mers",
            &[
                ("max-hmm-iterations", Value::Number(3.0)),
                ("6mers", Value::Bool(true))
            ]
        ));
    }

    #[test]
    fn malformed_conditions_are_errors() {
        let cases = [
            ("", "expected a value or a field name, found the end"),
            (
                "iterations >",
                "expected a value or a field name, found the end",
            ),
            ("iterations = 2", "`=` is not an operator; use `==`"),
            ("!dealign", "`!` is not an operator"),
            ("(iterations > 0", "expected `)`, found the end"),
            (
                "iterations > 0)",
                "expected `and`, `or` or the end, found `)`",
            ),
            ("1 < iterations < 3", "comparisons do not chain"),
            (
                "unknown-field",
                "`unknown-field` is not a field of the form",
            ),
            ("'open", "the string is not closed"),
            ("iterations > 0 &", "unexpected character '&'"),
            ("iterations and or dealign", "found `or`"),
            ("-x", "`-x` is neither a number nor a field name"),
            ("1.2.3", "`1.2.3` is neither a number nor a field name"),
        ];
        for (source, expected) in cases {
            let error = parse(source).unwrap_err();
            assert!(
                error.message.contains(expected),
                "{source:?}: got {error}, expected {expected:?}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{}dealign{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(
            parse(&deep)
                .unwrap_err()
                .message
                .contains("nested more than")
        );
        let nots = format!("{}dealign", "not ".repeat(10_000));
        assert!(
            parse(&nots)
                .unwrap_err()
                .message
                .contains("nested more than")
        );
        let ok = format!("{}dealign{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn error_positions_point_at_the_problem() {
        let error = parse("iterations > 0 and nope").unwrap_err();
        assert_eq!(error.at, 19);
        assert_eq!(
            error.to_string(),
            "at character 19: `nope` is not a field of the form"
        );
    }
}
