//! Conditions across fields, as slivka 0.8 parses and evaluates them.
//!
//! A slivka form field may carry a `condition`, an expression over the
//! form's values (`iterations > 0 and dealign`). slivka parses it with
//! `slivka/utils/expression_parser.py` when it loads the service, and a
//! condition that is false refuses the field. This module ports that parser
//! and evaluator with its quirks, so a condition means here exactly what it
//! means to slivka (the differential test in tests/python proves it).
//!
//! # Syntax, as slivka's tokenizer reads it
//!
//! Tokens are matched left to right, the first rule that matches winning:
//!
//! | token | pattern | notes |
//! |---|---|---|
//! | `(` `)` | | |
//! | number | `-?\d+(\.\d+)?([eE]-?\d+)?` | a leading `-` is part of the number, so `1 -1` is two numbers; `\d` is any Unicode decimal digit; with `.`/`e` a float, else an int |
//! | string | `"..."` | only `\"` is unescaped; no single quotes |
//! | keyword | `and or xor not null` | only if not followed by a word character or `-` |
//! | identifier | `[A-Za-z_][\w-]*` | `a-1` is one name |
//! | operator | `# + * / - < > <= >= == !=` | a `-` at the start or after an operator or `(` is negation |
//! | space | space or tab | a newline is skipped too; any other character is an error |
//!
//! The tokens go through a shunting-yard: precedence from loosest `or`,
//! `xor`, `and`, `== !=`, `< > <= >=`, `+ -`, `* /` to the unary `neg`,
//! `not`, `#` (length); binary operators are left-associative, and so
//! `1 < 2 < 3` is `(1 < 2) < 3`. A unary operator binds tighter than any
//! binary one (`not a == b` is `(not a) == b`).
//!
//! # Meaning
//!
//! Operators are Python's (see [`Value`]): `and`/`or`/`xor` give `True` or
//! `False` by truthiness (both sides are always evaluated), comparisons and
//! arithmetic may raise (`'a' < 1`, `1 / 0`), and a name the lookup does
//! not know raises `KeyError`. slivka treats a condition that raises as a
//! server error; [`Expression::evaluate`] returns those as `Err`.

use crate::number::{decimal_digit, parse_float, parse_int};
use crate::value::{CmpOp, Value};

/// A parsed condition, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Expression {
    /// The condition as written.
    source: String,
    /// The condition in reverse Polish notation; checked to leave exactly
    /// one value on the stack.
    rpn: Vec<Token>,
    /// The names it reads, once each, in order of first appearance.
    identifiers: Vec<String>,
}

/// An operator, by slivka's name for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `or`
    Or,
    /// `xor`
    Xor,
    /// `and`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`, `<=`, `>`, `>=`
    Cmp(CmpOp),
    /// `+`
    Add,
    /// binary `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// unary `-` (`neg`)
    Neg,
    /// `not`
    Not,
    /// `#`, the length
    Len,
}

impl Op {
    /// slivka's precedence: 1 (`or`) binds loosest, 8 (unary) tightest; 0
    /// is the `(` on the operator stack.
    fn precedence(self) -> u8 {
        match self {
            Op::Or => 1,
            Op::Xor => 2,
            Op::And => 3,
            Op::Eq | Op::Ne => 4,
            Op::Cmp(_) => 5,
            Op::Add | Op::Sub => 6,
            Op::Mul | Op::Div => 7,
            Op::Neg | Op::Not | Op::Len => 8,
        }
    }

    /// Whether the operator takes one operand.
    fn is_unary(self) -> bool {
        matches!(self, Op::Neg | Op::Not | Op::Len)
    }

    /// The operator as written (`neg` for negation, as slivka names it).
    fn symbol(self) -> &'static str {
        match self {
            Op::Or => "or",
            Op::Xor => "xor",
            Op::And => "and",
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Cmp(op) => op.symbol(),
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
            Op::Neg => "neg",
            Op::Not => "not",
            Op::Len => "#",
        }
    }
}

/// One token, with its character offset for messages.
#[derive(Debug, Clone)]
enum Token {
    /// A number, string or `null`.
    Literal(Value),
    /// A name to look up.
    Identifier(String),
    /// An operator, at a character offset.
    Operator(Op, usize),
    /// `(`, at a character offset.
    Open(usize),
    /// `)`, at a character offset.
    Close(usize),
}

impl Expression {
    /// Parses a condition; `Err` (with slivka's reason) exactly where slivka's
    /// `Expression(source)` raises `ValueError`.
    pub fn parse(source: &str) -> Result<Expression, String> {
        let (tokens, lex_error) = tokenize(source);
        let rpn = to_rpn(tokens)?;
        // slivka's tokenizer is a generator: an error it meets is raised when
        // the shunting-yard reaches it, after any earlier `)` error.
        if let Some(error) = lex_error {
            return Err(error);
        }
        verify(&rpn)?;
        let mut identifiers: Vec<String> = Vec::new();
        for token in &rpn {
            if let Token::Identifier(name) = token
                && !identifiers.contains(name)
            {
                identifiers.push(name.clone());
            }
        }
        Ok(Expression {
            source: source.to_string(),
            rpn,
            identifiers,
        })
    }

    /// The condition as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The names the condition reads, once each.
    pub fn identifiers(&self) -> Vec<&str> {
        self.identifiers.iter().map(String::as_str).collect()
    }

    /// Evaluates the condition, reading names through `lookup`; `Err` exactly
    /// where slivka's `evaluate` raises: `KeyError` for a name `lookup` does
    /// not know, and Python's errors from the operators.
    pub fn evaluate(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> Result<Value, String> {
        let mut stack: Vec<Value> = Vec::new();
        for token in &self.rpn {
            let value = match token {
                Token::Literal(value) => value.clone(),
                Token::Identifier(name) => {
                    lookup(name).ok_or_else(|| format!("KeyError: unknown name '{name}'"))?
                }
                Token::Operator(op, _) if op.is_unary() => {
                    // Cannot fail: `verify` checked every operator has its operands.
                    let a = stack.pop().ok_or("internal: empty stack")?;
                    match op {
                        Op::Neg => a.py_neg()?,
                        Op::Not => Value::Bool(!a.truthy()),
                        _ => a.py_len()?,
                    }
                }
                Token::Operator(op, _) => {
                    // Cannot fail: `verify` checked every operator has its operands.
                    let b = stack.pop().ok_or("internal: empty stack")?;
                    let a = stack.pop().ok_or("internal: empty stack")?;
                    binary(*op, &a, &b)?
                }
                Token::Open(_) | Token::Close(_) => {
                    return Err("internal: a parenthesis in the parsed condition".into());
                }
            };
            stack.push(value);
        }
        // Cannot fail: `verify` checked exactly one value remains.
        stack.pop().ok_or_else(|| "internal: empty stack".into())
    }
}

/// Applies a binary operator with Python's semantics.
fn binary(op: Op, a: &Value, b: &Value) -> Result<Value, String> {
    Ok(match op {
        Op::Or => Value::Bool(a.truthy() || b.truthy()),
        Op::Xor => Value::Bool(a.truthy() != b.truthy()),
        Op::And => Value::Bool(a.truthy() && b.truthy()),
        Op::Eq => Value::Bool(a.py_eq(b)),
        Op::Ne => Value::Bool(!a.py_eq(b)),
        Op::Cmp(cmp) => Value::Bool(a.compare(cmp, b)?),
        Op::Add => a.py_add(b)?,
        Op::Sub => a.py_sub(b)?,
        Op::Mul => a.py_mul(b)?,
        Op::Div => a.py_truediv(b)?,
        Op::Neg | Op::Not | Op::Len => unreachable!("unary operators are applied apart"),
    })
}

/// Whether Python's `re` class `\w` matches `c`.
fn is_word(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    let code = c as u32;
    WORD.binary_search_by(|&(first, last)| {
        if last < code {
            std::cmp::Ordering::Less
        } else if first > code {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    })
    .is_ok()
}

/// Whether `c` is a digit for Python's `\d`.
fn is_digit(c: char) -> bool {
    decimal_digit(c).is_some()
}

/// Python's `repr` of one character, for messages.
fn quoted(c: char) -> String {
    Value::Str(c.to_string()).repr()
}

/// The length of the number token at `at` (slivka's `NUMBER` pattern), or 0.
fn number_length(chars: &[char], at: usize) -> usize {
    let digits = |from: usize| {
        chars[from.min(chars.len())..]
            .iter()
            .take_while(|c| is_digit(**c))
            .count()
    };
    let mut end = at;
    if chars.get(end) == Some(&'-') {
        end += 1;
    }
    let whole = digits(end);
    if whole == 0 {
        return 0;
    }
    end += whole;
    if chars.get(end) == Some(&'.') {
        let fraction = digits(end + 1);
        if fraction > 0 {
            end += 1 + fraction;
        }
    }
    if matches!(chars.get(end), Some('e' | 'E')) {
        let mut exponent_at = end + 1;
        if chars.get(exponent_at) == Some(&'-') {
            exponent_at += 1;
        }
        let exponent = digits(exponent_at);
        if exponent > 0 {
            end = exponent_at + exponent;
        }
    }
    end - at
}

/// The length of the string token at `at` (slivka's `STRING` pattern), or 0.
fn string_length(chars: &[char], at: usize) -> usize {
    if chars.get(at) != Some(&'"') {
        return 0;
    }
    let mut end = at + 1;
    loop {
        match chars.get(end) {
            None => return 0,
            Some('"') => return end + 1 - at,
            // `\\.`: a backslash escapes any character but a newline.
            Some('\\') => match chars.get(end + 1) {
                Some(c) if *c != '\n' => end += 2,
                _ => return 0,
            },
            Some(_) => end += 1,
        }
    }
}

/// The keyword at `at`, if one is there and not followed by a word character
/// or `-` (slivka's `KEYWORD` pattern).
fn keyword(chars: &[char], at: usize) -> Option<&'static str> {
    ["and", "or", "xor", "not", "null"]
        .into_iter()
        .find(|word| {
            let end = at + word.len();
            end <= chars.len()
                && chars[at..end].iter().copied().eq(word.chars())
                && chars.get(end).is_none_or(|c| !is_word(*c) && *c != '-')
        })
}

/// The operator at `at` and its length (slivka's `OPERATOR` pattern).
fn operator(chars: &[char], at: usize) -> Option<(Op, usize)> {
    let next_is_equals = chars.get(at + 1) == Some(&'=');
    Some(match chars[at] {
        '#' => (Op::Len, 1),
        '+' => (Op::Add, 1),
        '*' => (Op::Mul, 1),
        '/' => (Op::Div, 1),
        '-' => (Op::Sub, 1),
        '<' if next_is_equals => (Op::Cmp(CmpOp::Le), 2),
        '<' => (Op::Cmp(CmpOp::Lt), 1),
        '>' if next_is_equals => (Op::Cmp(CmpOp::Ge), 2),
        '>' => (Op::Cmp(CmpOp::Gt), 1),
        '=' if next_is_equals => (Op::Eq, 2),
        '!' if next_is_equals => (Op::Ne, 2),
        _ => return None,
    })
}

/// Splits `source` into tokens as slivka's tokenizer does: the tokens up to
/// the first error, and that error.
fn tokenize(source: &str) -> (Vec<Token>, Option<String>) {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut expect_expression = true;
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        let (token, length) = if c == '(' {
            (Token::Open(at), 1)
        } else if c == ')' {
            (Token::Close(at), 1)
        } else if let length @ 1.. = number_length(&chars, at) {
            let text: String = chars[at..at + length].iter().collect();
            let number = if text.contains(['.', 'e', 'E']) {
                // Cannot fail: the number pattern is a valid float.
                parse_float(&text).map(Value::Float)
            } else {
                parse_int(&text).map(Value::Int)
            };
            let Some(number) = number else {
                let error = format!(
                    "Exceeds the limit ({}) for integer string conversion: the number at {at}",
                    crate::number::MAX_INT_DIGITS
                );
                return (tokens, Some(error));
            };
            (Token::Literal(number), length)
        } else if let length @ 1.. = string_length(&chars, at) {
            let inner: String = chars[at + 1..at + length - 1].iter().collect();
            (
                Token::Literal(Value::Str(inner.replace("\\\"", "\""))),
                length,
            )
        } else if let Some(word) = keyword(&chars, at) {
            let token = match word {
                "and" => Token::Operator(Op::And, at),
                "or" => Token::Operator(Op::Or, at),
                "xor" => Token::Operator(Op::Xor, at),
                "not" => Token::Operator(Op::Not, at),
                _ => Token::Literal(Value::None),
            };
            (token, word.len())
        } else if c.is_ascii_alphabetic() || c == '_' {
            let length = 1 + chars[at + 1..]
                .iter()
                .take_while(|c| is_word(**c) || **c == '-')
                .count();
            (
                Token::Identifier(chars[at..at + length].iter().collect()),
                length,
            )
        } else if let Some((op, length)) = operator(&chars, at) {
            let op = if op == Op::Sub && expect_expression {
                Op::Neg
            } else {
                op
            };
            (Token::Operator(op, at), length)
        } else if c == ' ' || c == '\t' || c == '\n' {
            // Python's `.` does not match a newline, so no pattern does and
            // the tokenizer's search steps over it.
            at += 1;
            continue;
        } else {
            return (tokens, Some(format!("Unexpected character {}", quoted(c))));
        };
        expect_expression = matches!(token, Token::Open(_) | Token::Operator(..));
        tokens.push(token);
        at += length;
    }
    (tokens, None)
}

/// slivka's shunting-yard: tokens to reverse Polish notation. A `)`
/// without its `(` is an error; a `(` without its `)` stays in the output
/// for [`verify`] to refuse.
fn to_rpn(tokens: Vec<Token>) -> Result<Vec<Token>, String> {
    let mut output = Vec::new();
    let mut operators: Vec<Token> = Vec::new();
    let precedence = |token: Option<&Token>| match token {
        Some(Token::Operator(op, _)) => op.precedence(),
        _ => 0,
    };
    for token in tokens {
        match token {
            Token::Open(_) => operators.push(token),
            Token::Close(at) => loop {
                match operators.pop() {
                    Some(Token::Open(_)) => break,
                    Some(operator) => output.push(operator),
                    None => return Err(format!("mismatched parenthesis `)` at {at}")),
                }
            },
            Token::Literal(_) | Token::Identifier(_) => output.push(token),
            Token::Operator(op, _) if op.is_unary() => operators.push(token),
            Token::Operator(op, _) => {
                while op.precedence() <= precedence(operators.last()) {
                    // Cannot fail: an empty stack has precedence 0.
                    output.extend(operators.pop());
                }
                operators.push(token);
            }
        }
    }
    output.extend(operators.into_iter().rev());
    Ok(output)
}

/// slivka's check of the reverse Polish notation: no `(` left, every
/// operator has its operands, and exactly one value results.
fn verify(rpn: &[Token]) -> Result<(), String> {
    if let Some(Token::Open(at)) = rpn.iter().find(|t| matches!(t, Token::Open(_))) {
        return Err(format!("mismatched parenthesis `(` at {at}"));
    }
    let mut values = 0usize;
    for token in rpn {
        match token {
            Token::Literal(_) | Token::Identifier(_) => values += 1,
            Token::Operator(op, at) => {
                let operands = if op.is_unary() { 1 } else { 2 };
                if values < operands {
                    return Err(format!("unexpected operator `{}` at {at}", op.symbol()));
                }
                values -= operands - 1;
            }
            Token::Open(_) | Token::Close(_) => {}
        }
    }
    if values != 1 {
        return Err("line contains multiple expressions".into());
    }
    Ok(())
}

// BEGIN GENERATED WORD
/// Characters Python's `re` class `\w` matches.
/// Generated by tests/python/unicode_tables.py from Python 3.11 (Unicode 14.0.0); do not edit.
#[rustfmt::skip]
const WORD: &[(u32, u32)] = &[
    (0x30, 0x39), (0x41, 0x5a), (0x5f, 0x5f), (0x61, 0x7a), (0xaa, 0xaa), (0xb2, 0xb3),
    (0xb5, 0xb5), (0xb9, 0xba), (0xbc, 0xbe), (0xc0, 0xd6), (0xd8, 0xf6), (0xf8, 0x2c1),
    (0x2c6, 0x2d1), (0x2e0, 0x2e4), (0x2ec, 0x2ec), (0x2ee, 0x2ee), (0x370, 0x374), (0x376, 0x377),
    (0x37a, 0x37d), (0x37f, 0x37f), (0x386, 0x386), (0x388, 0x38a), (0x38c, 0x38c), (0x38e, 0x3a1),
    (0x3a3, 0x3f5), (0x3f7, 0x481), (0x48a, 0x52f), (0x531, 0x556), (0x559, 0x559), (0x560, 0x588),
    (0x5d0, 0x5ea), (0x5ef, 0x5f2), (0x620, 0x64a), (0x660, 0x669), (0x66e, 0x66f), (0x671, 0x6d3),
    (0x6d5, 0x6d5), (0x6e5, 0x6e6), (0x6ee, 0x6fc), (0x6ff, 0x6ff), (0x710, 0x710), (0x712, 0x72f),
    (0x74d, 0x7a5), (0x7b1, 0x7b1), (0x7c0, 0x7ea), (0x7f4, 0x7f5), (0x7fa, 0x7fa), (0x800, 0x815),
    (0x81a, 0x81a), (0x824, 0x824), (0x828, 0x828), (0x840, 0x858), (0x860, 0x86a), (0x870, 0x887),
    (0x889, 0x88e), (0x8a0, 0x8c9), (0x904, 0x939), (0x93d, 0x93d), (0x950, 0x950), (0x958, 0x961),
    (0x966, 0x96f), (0x971, 0x980), (0x985, 0x98c), (0x98f, 0x990), (0x993, 0x9a8), (0x9aa, 0x9b0),
    (0x9b2, 0x9b2), (0x9b6, 0x9b9), (0x9bd, 0x9bd), (0x9ce, 0x9ce), (0x9dc, 0x9dd), (0x9df, 0x9e1),
    (0x9e6, 0x9f1), (0x9f4, 0x9f9), (0x9fc, 0x9fc), (0xa05, 0xa0a), (0xa0f, 0xa10), (0xa13, 0xa28),
    (0xa2a, 0xa30), (0xa32, 0xa33), (0xa35, 0xa36), (0xa38, 0xa39), (0xa59, 0xa5c), (0xa5e, 0xa5e),
    (0xa66, 0xa6f), (0xa72, 0xa74), (0xa85, 0xa8d), (0xa8f, 0xa91), (0xa93, 0xaa8), (0xaaa, 0xab0),
    (0xab2, 0xab3), (0xab5, 0xab9), (0xabd, 0xabd), (0xad0, 0xad0), (0xae0, 0xae1), (0xae6, 0xaef),
    (0xaf9, 0xaf9), (0xb05, 0xb0c), (0xb0f, 0xb10), (0xb13, 0xb28), (0xb2a, 0xb30), (0xb32, 0xb33),
    (0xb35, 0xb39), (0xb3d, 0xb3d), (0xb5c, 0xb5d), (0xb5f, 0xb61), (0xb66, 0xb6f), (0xb71, 0xb77),
    (0xb83, 0xb83), (0xb85, 0xb8a), (0xb8e, 0xb90), (0xb92, 0xb95), (0xb99, 0xb9a), (0xb9c, 0xb9c),
    (0xb9e, 0xb9f), (0xba3, 0xba4), (0xba8, 0xbaa), (0xbae, 0xbb9), (0xbd0, 0xbd0), (0xbe6, 0xbf2),
    (0xc05, 0xc0c), (0xc0e, 0xc10), (0xc12, 0xc28), (0xc2a, 0xc39), (0xc3d, 0xc3d), (0xc58, 0xc5a),
    (0xc5d, 0xc5d), (0xc60, 0xc61), (0xc66, 0xc6f), (0xc78, 0xc7e), (0xc80, 0xc80), (0xc85, 0xc8c),
    (0xc8e, 0xc90), (0xc92, 0xca8), (0xcaa, 0xcb3), (0xcb5, 0xcb9), (0xcbd, 0xcbd), (0xcdd, 0xcde),
    (0xce0, 0xce1), (0xce6, 0xcef), (0xcf1, 0xcf2), (0xd04, 0xd0c), (0xd0e, 0xd10), (0xd12, 0xd3a),
    (0xd3d, 0xd3d), (0xd4e, 0xd4e), (0xd54, 0xd56), (0xd58, 0xd61), (0xd66, 0xd78), (0xd7a, 0xd7f),
    (0xd85, 0xd96), (0xd9a, 0xdb1), (0xdb3, 0xdbb), (0xdbd, 0xdbd), (0xdc0, 0xdc6), (0xde6, 0xdef),
    (0xe01, 0xe30), (0xe32, 0xe33), (0xe40, 0xe46), (0xe50, 0xe59), (0xe81, 0xe82), (0xe84, 0xe84),
    (0xe86, 0xe8a), (0xe8c, 0xea3), (0xea5, 0xea5), (0xea7, 0xeb0), (0xeb2, 0xeb3), (0xebd, 0xebd),
    (0xec0, 0xec4), (0xec6, 0xec6), (0xed0, 0xed9), (0xedc, 0xedf), (0xf00, 0xf00), (0xf20, 0xf33),
    (0xf40, 0xf47), (0xf49, 0xf6c), (0xf88, 0xf8c), (0x1000, 0x102a), (0x103f, 0x1049), (0x1050, 0x1055),
    (0x105a, 0x105d), (0x1061, 0x1061), (0x1065, 0x1066), (0x106e, 0x1070), (0x1075, 0x1081), (0x108e, 0x108e),
    (0x1090, 0x1099), (0x10a0, 0x10c5), (0x10c7, 0x10c7), (0x10cd, 0x10cd), (0x10d0, 0x10fa), (0x10fc, 0x1248),
    (0x124a, 0x124d), (0x1250, 0x1256), (0x1258, 0x1258), (0x125a, 0x125d), (0x1260, 0x1288), (0x128a, 0x128d),
    (0x1290, 0x12b0), (0x12b2, 0x12b5), (0x12b8, 0x12be), (0x12c0, 0x12c0), (0x12c2, 0x12c5), (0x12c8, 0x12d6),
    (0x12d8, 0x1310), (0x1312, 0x1315), (0x1318, 0x135a), (0x1369, 0x137c), (0x1380, 0x138f), (0x13a0, 0x13f5),
    (0x13f8, 0x13fd), (0x1401, 0x166c), (0x166f, 0x167f), (0x1681, 0x169a), (0x16a0, 0x16ea), (0x16ee, 0x16f8),
    (0x1700, 0x1711), (0x171f, 0x1731), (0x1740, 0x1751), (0x1760, 0x176c), (0x176e, 0x1770), (0x1780, 0x17b3),
    (0x17d7, 0x17d7), (0x17dc, 0x17dc), (0x17e0, 0x17e9), (0x17f0, 0x17f9), (0x1810, 0x1819), (0x1820, 0x1878),
    (0x1880, 0x1884), (0x1887, 0x18a8), (0x18aa, 0x18aa), (0x18b0, 0x18f5), (0x1900, 0x191e), (0x1946, 0x196d),
    (0x1970, 0x1974), (0x1980, 0x19ab), (0x19b0, 0x19c9), (0x19d0, 0x19da), (0x1a00, 0x1a16), (0x1a20, 0x1a54),
    (0x1a80, 0x1a89), (0x1a90, 0x1a99), (0x1aa7, 0x1aa7), (0x1b05, 0x1b33), (0x1b45, 0x1b4c), (0x1b50, 0x1b59),
    (0x1b83, 0x1ba0), (0x1bae, 0x1be5), (0x1c00, 0x1c23), (0x1c40, 0x1c49), (0x1c4d, 0x1c7d), (0x1c80, 0x1c88),
    (0x1c90, 0x1cba), (0x1cbd, 0x1cbf), (0x1ce9, 0x1cec), (0x1cee, 0x1cf3), (0x1cf5, 0x1cf6), (0x1cfa, 0x1cfa),
    (0x1d00, 0x1dbf), (0x1e00, 0x1f15), (0x1f18, 0x1f1d), (0x1f20, 0x1f45), (0x1f48, 0x1f4d), (0x1f50, 0x1f57),
    (0x1f59, 0x1f59), (0x1f5b, 0x1f5b), (0x1f5d, 0x1f5d), (0x1f5f, 0x1f7d), (0x1f80, 0x1fb4), (0x1fb6, 0x1fbc),
    (0x1fbe, 0x1fbe), (0x1fc2, 0x1fc4), (0x1fc6, 0x1fcc), (0x1fd0, 0x1fd3), (0x1fd6, 0x1fdb), (0x1fe0, 0x1fec),
    (0x1ff2, 0x1ff4), (0x1ff6, 0x1ffc), (0x2070, 0x2071), (0x2074, 0x2079), (0x207f, 0x2089), (0x2090, 0x209c),
    (0x2102, 0x2102), (0x2107, 0x2107), (0x210a, 0x2113), (0x2115, 0x2115), (0x2119, 0x211d), (0x2124, 0x2124),
    (0x2126, 0x2126), (0x2128, 0x2128), (0x212a, 0x212d), (0x212f, 0x2139), (0x213c, 0x213f), (0x2145, 0x2149),
    (0x214e, 0x214e), (0x2150, 0x2189), (0x2460, 0x249b), (0x24ea, 0x24ff), (0x2776, 0x2793), (0x2c00, 0x2ce4),
    (0x2ceb, 0x2cee), (0x2cf2, 0x2cf3), (0x2cfd, 0x2cfd), (0x2d00, 0x2d25), (0x2d27, 0x2d27), (0x2d2d, 0x2d2d),
    (0x2d30, 0x2d67), (0x2d6f, 0x2d6f), (0x2d80, 0x2d96), (0x2da0, 0x2da6), (0x2da8, 0x2dae), (0x2db0, 0x2db6),
    (0x2db8, 0x2dbe), (0x2dc0, 0x2dc6), (0x2dc8, 0x2dce), (0x2dd0, 0x2dd6), (0x2dd8, 0x2dde), (0x2e2f, 0x2e2f),
    (0x3005, 0x3007), (0x3021, 0x3029), (0x3031, 0x3035), (0x3038, 0x303c), (0x3041, 0x3096), (0x309d, 0x309f),
    (0x30a1, 0x30fa), (0x30fc, 0x30ff), (0x3105, 0x312f), (0x3131, 0x318e), (0x3192, 0x3195), (0x31a0, 0x31bf),
    (0x31f0, 0x31ff), (0x3220, 0x3229), (0x3248, 0x324f), (0x3251, 0x325f), (0x3280, 0x3289), (0x32b1, 0x32bf),
    (0x3400, 0x4dbf), (0x4e00, 0xa48c), (0xa4d0, 0xa4fd), (0xa500, 0xa60c), (0xa610, 0xa62b), (0xa640, 0xa66e),
    (0xa67f, 0xa69d), (0xa6a0, 0xa6ef), (0xa717, 0xa71f), (0xa722, 0xa788), (0xa78b, 0xa7ca), (0xa7d0, 0xa7d1),
    (0xa7d3, 0xa7d3), (0xa7d5, 0xa7d9), (0xa7f2, 0xa801), (0xa803, 0xa805), (0xa807, 0xa80a), (0xa80c, 0xa822),
    (0xa830, 0xa835), (0xa840, 0xa873), (0xa882, 0xa8b3), (0xa8d0, 0xa8d9), (0xa8f2, 0xa8f7), (0xa8fb, 0xa8fb),
    (0xa8fd, 0xa8fe), (0xa900, 0xa925), (0xa930, 0xa946), (0xa960, 0xa97c), (0xa984, 0xa9b2), (0xa9cf, 0xa9d9),
    (0xa9e0, 0xa9e4), (0xa9e6, 0xa9fe), (0xaa00, 0xaa28), (0xaa40, 0xaa42), (0xaa44, 0xaa4b), (0xaa50, 0xaa59),
    (0xaa60, 0xaa76), (0xaa7a, 0xaa7a), (0xaa7e, 0xaaaf), (0xaab1, 0xaab1), (0xaab5, 0xaab6), (0xaab9, 0xaabd),
    (0xaac0, 0xaac0), (0xaac2, 0xaac2), (0xaadb, 0xaadd), (0xaae0, 0xaaea), (0xaaf2, 0xaaf4), (0xab01, 0xab06),
    (0xab09, 0xab0e), (0xab11, 0xab16), (0xab20, 0xab26), (0xab28, 0xab2e), (0xab30, 0xab5a), (0xab5c, 0xab69),
    (0xab70, 0xabe2), (0xabf0, 0xabf9), (0xac00, 0xd7a3), (0xd7b0, 0xd7c6), (0xd7cb, 0xd7fb), (0xf900, 0xfa6d),
    (0xfa70, 0xfad9), (0xfb00, 0xfb06), (0xfb13, 0xfb17), (0xfb1d, 0xfb1d), (0xfb1f, 0xfb28), (0xfb2a, 0xfb36),
    (0xfb38, 0xfb3c), (0xfb3e, 0xfb3e), (0xfb40, 0xfb41), (0xfb43, 0xfb44), (0xfb46, 0xfbb1), (0xfbd3, 0xfd3d),
    (0xfd50, 0xfd8f), (0xfd92, 0xfdc7), (0xfdf0, 0xfdfb), (0xfe70, 0xfe74), (0xfe76, 0xfefc), (0xff10, 0xff19),
    (0xff21, 0xff3a), (0xff41, 0xff5a), (0xff66, 0xffbe), (0xffc2, 0xffc7), (0xffca, 0xffcf), (0xffd2, 0xffd7),
    (0xffda, 0xffdc), (0x10000, 0x1000b), (0x1000d, 0x10026), (0x10028, 0x1003a), (0x1003c, 0x1003d), (0x1003f, 0x1004d),
    (0x10050, 0x1005d), (0x10080, 0x100fa), (0x10107, 0x10133), (0x10140, 0x10178), (0x1018a, 0x1018b), (0x10280, 0x1029c),
    (0x102a0, 0x102d0), (0x102e1, 0x102fb), (0x10300, 0x10323), (0x1032d, 0x1034a), (0x10350, 0x10375), (0x10380, 0x1039d),
    (0x103a0, 0x103c3), (0x103c8, 0x103cf), (0x103d1, 0x103d5), (0x10400, 0x1049d), (0x104a0, 0x104a9), (0x104b0, 0x104d3),
    (0x104d8, 0x104fb), (0x10500, 0x10527), (0x10530, 0x10563), (0x10570, 0x1057a), (0x1057c, 0x1058a), (0x1058c, 0x10592),
    (0x10594, 0x10595), (0x10597, 0x105a1), (0x105a3, 0x105b1), (0x105b3, 0x105b9), (0x105bb, 0x105bc), (0x10600, 0x10736),
    (0x10740, 0x10755), (0x10760, 0x10767), (0x10780, 0x10785), (0x10787, 0x107b0), (0x107b2, 0x107ba), (0x10800, 0x10805),
    (0x10808, 0x10808), (0x1080a, 0x10835), (0x10837, 0x10838), (0x1083c, 0x1083c), (0x1083f, 0x10855), (0x10858, 0x10876),
    (0x10879, 0x1089e), (0x108a7, 0x108af), (0x108e0, 0x108f2), (0x108f4, 0x108f5), (0x108fb, 0x1091b), (0x10920, 0x10939),
    (0x10980, 0x109b7), (0x109bc, 0x109cf), (0x109d2, 0x10a00), (0x10a10, 0x10a13), (0x10a15, 0x10a17), (0x10a19, 0x10a35),
    (0x10a40, 0x10a48), (0x10a60, 0x10a7e), (0x10a80, 0x10a9f), (0x10ac0, 0x10ac7), (0x10ac9, 0x10ae4), (0x10aeb, 0x10aef),
    (0x10b00, 0x10b35), (0x10b40, 0x10b55), (0x10b58, 0x10b72), (0x10b78, 0x10b91), (0x10ba9, 0x10baf), (0x10c00, 0x10c48),
    (0x10c80, 0x10cb2), (0x10cc0, 0x10cf2), (0x10cfa, 0x10d23), (0x10d30, 0x10d39), (0x10e60, 0x10e7e), (0x10e80, 0x10ea9),
    (0x10eb0, 0x10eb1), (0x10f00, 0x10f27), (0x10f30, 0x10f45), (0x10f51, 0x10f54), (0x10f70, 0x10f81), (0x10fb0, 0x10fcb),
    (0x10fe0, 0x10ff6), (0x11003, 0x11037), (0x11052, 0x1106f), (0x11071, 0x11072), (0x11075, 0x11075), (0x11083, 0x110af),
    (0x110d0, 0x110e8), (0x110f0, 0x110f9), (0x11103, 0x11126), (0x11136, 0x1113f), (0x11144, 0x11144), (0x11147, 0x11147),
    (0x11150, 0x11172), (0x11176, 0x11176), (0x11183, 0x111b2), (0x111c1, 0x111c4), (0x111d0, 0x111da), (0x111dc, 0x111dc),
    (0x111e1, 0x111f4), (0x11200, 0x11211), (0x11213, 0x1122b), (0x11280, 0x11286), (0x11288, 0x11288), (0x1128a, 0x1128d),
    (0x1128f, 0x1129d), (0x1129f, 0x112a8), (0x112b0, 0x112de), (0x112f0, 0x112f9), (0x11305, 0x1130c), (0x1130f, 0x11310),
    (0x11313, 0x11328), (0x1132a, 0x11330), (0x11332, 0x11333), (0x11335, 0x11339), (0x1133d, 0x1133d), (0x11350, 0x11350),
    (0x1135d, 0x11361), (0x11400, 0x11434), (0x11447, 0x1144a), (0x11450, 0x11459), (0x1145f, 0x11461), (0x11480, 0x114af),
    (0x114c4, 0x114c5), (0x114c7, 0x114c7), (0x114d0, 0x114d9), (0x11580, 0x115ae), (0x115d8, 0x115db), (0x11600, 0x1162f),
    (0x11644, 0x11644), (0x11650, 0x11659), (0x11680, 0x116aa), (0x116b8, 0x116b8), (0x116c0, 0x116c9), (0x11700, 0x1171a),
    (0x11730, 0x1173b), (0x11740, 0x11746), (0x11800, 0x1182b), (0x118a0, 0x118f2), (0x118ff, 0x11906), (0x11909, 0x11909),
    (0x1190c, 0x11913), (0x11915, 0x11916), (0x11918, 0x1192f), (0x1193f, 0x1193f), (0x11941, 0x11941), (0x11950, 0x11959),
    (0x119a0, 0x119a7), (0x119aa, 0x119d0), (0x119e1, 0x119e1), (0x119e3, 0x119e3), (0x11a00, 0x11a00), (0x11a0b, 0x11a32),
    (0x11a3a, 0x11a3a), (0x11a50, 0x11a50), (0x11a5c, 0x11a89), (0x11a9d, 0x11a9d), (0x11ab0, 0x11af8), (0x11c00, 0x11c08),
    (0x11c0a, 0x11c2e), (0x11c40, 0x11c40), (0x11c50, 0x11c6c), (0x11c72, 0x11c8f), (0x11d00, 0x11d06), (0x11d08, 0x11d09),
    (0x11d0b, 0x11d30), (0x11d46, 0x11d46), (0x11d50, 0x11d59), (0x11d60, 0x11d65), (0x11d67, 0x11d68), (0x11d6a, 0x11d89),
    (0x11d98, 0x11d98), (0x11da0, 0x11da9), (0x11ee0, 0x11ef2), (0x11fb0, 0x11fb0), (0x11fc0, 0x11fd4), (0x12000, 0x12399),
    (0x12400, 0x1246e), (0x12480, 0x12543), (0x12f90, 0x12ff0), (0x13000, 0x1342e), (0x14400, 0x14646), (0x16800, 0x16a38),
    (0x16a40, 0x16a5e), (0x16a60, 0x16a69), (0x16a70, 0x16abe), (0x16ac0, 0x16ac9), (0x16ad0, 0x16aed), (0x16b00, 0x16b2f),
    (0x16b40, 0x16b43), (0x16b50, 0x16b59), (0x16b5b, 0x16b61), (0x16b63, 0x16b77), (0x16b7d, 0x16b8f), (0x16e40, 0x16e96),
    (0x16f00, 0x16f4a), (0x16f50, 0x16f50), (0x16f93, 0x16f9f), (0x16fe0, 0x16fe1), (0x16fe3, 0x16fe3), (0x17000, 0x187f7),
    (0x18800, 0x18cd5), (0x18d00, 0x18d08), (0x1aff0, 0x1aff3), (0x1aff5, 0x1affb), (0x1affd, 0x1affe), (0x1b000, 0x1b122),
    (0x1b150, 0x1b152), (0x1b164, 0x1b167), (0x1b170, 0x1b2fb), (0x1bc00, 0x1bc6a), (0x1bc70, 0x1bc7c), (0x1bc80, 0x1bc88),
    (0x1bc90, 0x1bc99), (0x1d2e0, 0x1d2f3), (0x1d360, 0x1d378), (0x1d400, 0x1d454), (0x1d456, 0x1d49c), (0x1d49e, 0x1d49f),
    (0x1d4a2, 0x1d4a2), (0x1d4a5, 0x1d4a6), (0x1d4a9, 0x1d4ac), (0x1d4ae, 0x1d4b9), (0x1d4bb, 0x1d4bb), (0x1d4bd, 0x1d4c3),
    (0x1d4c5, 0x1d505), (0x1d507, 0x1d50a), (0x1d50d, 0x1d514), (0x1d516, 0x1d51c), (0x1d51e, 0x1d539), (0x1d53b, 0x1d53e),
    (0x1d540, 0x1d544), (0x1d546, 0x1d546), (0x1d54a, 0x1d550), (0x1d552, 0x1d6a5), (0x1d6a8, 0x1d6c0), (0x1d6c2, 0x1d6da),
    (0x1d6dc, 0x1d6fa), (0x1d6fc, 0x1d714), (0x1d716, 0x1d734), (0x1d736, 0x1d74e), (0x1d750, 0x1d76e), (0x1d770, 0x1d788),
    (0x1d78a, 0x1d7a8), (0x1d7aa, 0x1d7c2), (0x1d7c4, 0x1d7cb), (0x1d7ce, 0x1d7ff), (0x1df00, 0x1df1e), (0x1e100, 0x1e12c),
    (0x1e137, 0x1e13d), (0x1e140, 0x1e149), (0x1e14e, 0x1e14e), (0x1e290, 0x1e2ad), (0x1e2c0, 0x1e2eb), (0x1e2f0, 0x1e2f9),
    (0x1e7e0, 0x1e7e6), (0x1e7e8, 0x1e7eb), (0x1e7ed, 0x1e7ee), (0x1e7f0, 0x1e7fe), (0x1e800, 0x1e8c4), (0x1e8c7, 0x1e8cf),
    (0x1e900, 0x1e943), (0x1e94b, 0x1e94b), (0x1e950, 0x1e959), (0x1ec71, 0x1ecab), (0x1ecad, 0x1ecaf), (0x1ecb1, 0x1ecb4),
    (0x1ed01, 0x1ed2d), (0x1ed2f, 0x1ed3d), (0x1ee00, 0x1ee03), (0x1ee05, 0x1ee1f), (0x1ee21, 0x1ee22), (0x1ee24, 0x1ee24),
    (0x1ee27, 0x1ee27), (0x1ee29, 0x1ee32), (0x1ee34, 0x1ee37), (0x1ee39, 0x1ee39), (0x1ee3b, 0x1ee3b), (0x1ee42, 0x1ee42),
    (0x1ee47, 0x1ee47), (0x1ee49, 0x1ee49), (0x1ee4b, 0x1ee4b), (0x1ee4d, 0x1ee4f), (0x1ee51, 0x1ee52), (0x1ee54, 0x1ee54),
    (0x1ee57, 0x1ee57), (0x1ee59, 0x1ee59), (0x1ee5b, 0x1ee5b), (0x1ee5d, 0x1ee5d), (0x1ee5f, 0x1ee5f), (0x1ee61, 0x1ee62),
    (0x1ee64, 0x1ee64), (0x1ee67, 0x1ee6a), (0x1ee6c, 0x1ee72), (0x1ee74, 0x1ee77), (0x1ee79, 0x1ee7c), (0x1ee7e, 0x1ee7e),
    (0x1ee80, 0x1ee89), (0x1ee8b, 0x1ee9b), (0x1eea1, 0x1eea3), (0x1eea5, 0x1eea9), (0x1eeab, 0x1eebb), (0x1f100, 0x1f10c),
    (0x1fbf0, 0x1fbf9), (0x20000, 0x2a6df), (0x2a700, 0x2b738), (0x2b740, 0x2b81d), (0x2b820, 0x2cea1), (0x2ceb0, 0x2ebe0),
    (0x2f800, 0x2fa1d), (0x30000, 0x3134a),
];
// END GENERATED WORD

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(source: &str, names: &[(&str, Value)]) -> Result<Value, String> {
        let expression = Expression::parse(source)?;
        expression.evaluate(&|name| {
            names
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        })
    }

    fn int(n: i64) -> Value {
        Value::Int(n.into())
    }

    #[test]
    fn comparisons_do_not_chain_they_nest_left() {
        // (3 > 2) > 1 is True > 1, which is False.
        assert_eq!(eval("3 > 2 > 1", &[]), Ok(Value::Bool(false)));
        assert_eq!(eval("1 < 2 < 3", &[]), Ok(Value::Bool(true)));
    }

    #[test]
    fn a_leading_minus_belongs_to_the_number() {
        assert_eq!(
            Expression::parse("1 -1").unwrap_err(),
            "line contains multiple expressions"
        );
        assert_eq!(eval("1 - -1", &[]), Ok(int(2)));
        assert_eq!(eval("- 1", &[]), Ok(int(-1)));
        assert_eq!(eval("--1", &[]), Ok(int(1)));
    }

    #[test]
    fn names_may_hold_dashes_and_keywords_need_a_boundary() {
        let expression = Expression::parse("max-iter - 1 and not-x or nota").unwrap();
        assert_eq!(expression.identifiers(), ["max-iter", "not-x", "nota"]);
        assert_eq!(
            eval("a-1", &[("a", int(3))]),
            Err("KeyError: unknown name 'a-1'".into())
        );
    }

    #[test]
    fn unary_operators_bind_tightest() {
        assert_eq!(eval("not 1 == 0", &[]), Ok(Value::Bool(true)));
        assert_eq!(eval("#\"abc\" * 2", &[]), Ok(int(6)));
        assert_eq!(eval("-2 * 3", &[]), Ok(int(-6)));
    }

    #[test]
    fn malformed_conditions_are_refused_as_slivka_refuses_them() {
        for source in [
            "", "()", "1 +", "(1", "1)", "a = 1", "'a'", "!a", "é", "1\r", "a not b",
        ] {
            assert!(Expression::parse(source).is_err(), "{source:?}");
        }
        assert_eq!(eval("1\n+\n2", &[]), Ok(int(3)));
    }
}

/// The port against slivka itself: tests/python/expressions.py ran slivka
/// 0.8.5b7's `Expression` and Python's `int()`/`float()` on a corpus and
/// wrote every answer to tests/python/expressions.json; every one must
/// match here.
#[cfg(test)]
mod slivka_agreement {
    use std::collections::HashMap;

    use serde_json::Value as Json;

    use super::*;
    use crate::value::FileValue;

    /// The answers slivka gave.
    fn fixture() -> Json {
        serde_json::from_str(include_str!("../tests/python/expressions.json"))
            .expect("tests/python/expressions.json is JSON")
    }

    /// A value from the fixture's tagged encoding; each file a new upload.
    fn decode(json: &Json) -> Value {
        let tag = json[0].as_str().expect("a tag");
        let text = || json[1].as_str().expect("a string").to_string();
        match tag {
            "none" => Value::None,
            "bool" => Value::Bool(json[1].as_bool().expect("a bool")),
            "int" => Value::Int(text().parse().expect("digits")),
            "float" => Value::Float(match text().as_str() {
                "nan" => f64::NAN,
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                other => other.parse().expect("a float"),
            }),
            "str" => Value::Str(text()),
            "list" => Value::List(
                json[1]
                    .as_array()
                    .expect("a list")
                    .iter()
                    .map(decode)
                    .collect(),
            ),
            "file" => Value::File(FileValue::new(&text())),
            other => panic!("unknown tag {other}"),
        }
    }

    /// Whether two values are the same Python value of the same type (a
    /// float by its repr, so NaN matches NaN and -0.0 only -0.0; a file by
    /// content).
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Float(x), Value::Float(y)) => {
                a.to_string() == b.to_string() && x.is_nan() == y.is_nan()
            }
            (Value::List(x), Value::List(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
            }
            (Value::File(x), Value::File(y)) => x.content() == y.content(),
            _ => a == b,
        }
    }

    /// Whether our outcome matches slivka's `{"ok": value}` or
    /// `{"error": "Kind: message"}`.
    fn agrees(ours: &Result<Value, String>, theirs: &Json) -> bool {
        match (ours, theirs.get("ok"), theirs["error"].as_str()) {
            (Ok(value), Some(expected), _) => same(value, &decode(expected)),
            (Err(error), None, Some(expected)) if expected.starts_with("MemoryError") => {
                error.starts_with("MemoryError")
            }
            (Err(error), None, Some(expected)) => error == expected,
            _ => false,
        }
    }

    /// The category of one of our parse errors, as the fixture names it.
    fn category(error: &str) -> &'static str {
        [
            ("Unexpected character", "unexpected-character"),
            ("mismatched parenthesis", "mismatched-parenthesis"),
            ("unexpected operator", "unexpected-operator"),
            ("line contains multiple expressions", "multiple-expressions"),
            ("Exceeds the limit", "int-digits"),
        ]
        .into_iter()
        .find(|(prefix, _)| error.starts_with(prefix))
        .map_or("unknown", |(_, category)| category)
    }

    /// Panics with the first disagreements, if any.
    fn assert_none(what: &str, total: usize, disagreements: &[String]) {
        assert!(
            disagreements.is_empty(),
            "{} of {total} {what} disagree with slivka, e.g.:\n{}",
            disagreements.len(),
            disagreements[..disagreements.len().min(25)].join("\n")
        );
        assert!(total > 0, "no {what} in the fixture");
    }

    #[test]
    fn int_and_float_read_every_text_as_python_does() {
        let fixture = fixture();
        let cases = fixture["numbers"].as_array().expect("numbers");
        let mut disagreements = Vec::new();
        for case in cases {
            let text = case["text"].as_str().expect("text");
            let int = parse_int(text).map(|n| n.to_string());
            let float = parse_float(text).map(|x| Value::Float(x).to_string());
            if int.as_deref() != case["int"].as_str() || float.as_deref() != case["float"].as_str()
            {
                disagreements.push(format!(
                    "{text:?}: int {int:?} float {float:?}, Python {} {}",
                    case["int"], case["float"]
                ));
            }
        }
        assert_none("number texts", cases.len(), &disagreements);
        assert!(cases.len() > 1400);
    }

    #[test]
    fn every_expression_parses_and_evaluates_as_in_slivka() {
        let fixture = fixture();
        let cases = fixture["expressions"].as_array().expect("expressions");
        let mut disagreements = Vec::new();
        let (mut refused, mut evaluated) = (0, 0);
        for case in cases {
            let source = case["source"].as_str().expect("source");
            let parsed = Expression::parse(source);
            if let Some(expected) = case["parse_error"].as_str() {
                refused += 1;
                // "TypeError: unexpected-operator": slivka's exception, then why.
                let why = expected.split(": ").nth(1).unwrap_or(expected);
                match parsed {
                    Err(error) if category(&error) == why => {}
                    other => {
                        disagreements.push(format!("{source:?}: {other:?}, slivka {expected}"))
                    }
                }
                continue;
            }
            let Ok(expression) = parsed else {
                disagreements.push(format!("{source:?}: {parsed:?}, slivka parses it"));
                continue;
            };
            evaluated += 1;
            let variables: HashMap<String, Value> = case["variables"]
                .as_object()
                .expect("variables")
                .iter()
                .map(|(name, value)| (name.clone(), decode(value)))
                .collect();
            let ours = expression.evaluate(&|name| variables.get(name).cloned());
            if !agrees(&ours, case) {
                disagreements.push(format!(
                    "{source:?} with {}: {ours:?}, slivka {}",
                    case["variables"],
                    serde_json::to_string(case).unwrap_or_default()
                ));
            }
        }
        assert_none("expressions", cases.len(), &disagreements);
        assert!(
            refused > 1000 && evaluated > 1000,
            "{refused} refused, {evaluated} evaluated"
        );
    }

    #[test]
    fn every_operator_on_every_kind_of_value_is_pythons() {
        let fixture = fixture();
        let matrix = &fixture["matrix"];
        let values = matrix["values"].as_array().expect("values");
        let outcomes = matrix["outcomes"].as_array().expect("outcomes");
        let mut disagreements = Vec::new();
        let mut total = 0;
        let mut check = |source: String, names: Vec<(&str, Value)>, expected: &Json| {
            total += 1;
            let expression = Expression::parse(&source).expect("the matrix expressions parse");
            let ours = expression.evaluate(&|name| {
                names
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.clone())
            });
            let expected = &outcomes[expected.as_u64().expect("an index") as usize];
            if !agrees(&ours, expected) {
                let shown: Vec<String> = names
                    .iter()
                    .map(|(n, v)| format!("{n}={}", v.repr()))
                    .collect();
                disagreements.push(format!(
                    "{source} with {shown:?}: {ours:?}, slivka {expected}"
                ));
            }
        };
        for (op, rows) in matrix["binary"].as_object().expect("binary") {
            for (i, row) in rows.as_array().expect("rows").iter().enumerate() {
                for (j, expected) in row.as_array().expect("row").iter().enumerate() {
                    // Fresh values each time: slivka's side built new objects too.
                    let names = vec![("a", decode(&values[i])), ("b", decode(&values[j]))];
                    check(format!("a {op} b"), names, expected);
                }
            }
        }
        for (op, row) in matrix["unary"].as_object().expect("unary") {
            for (i, expected) in row.as_array().expect("row").iter().enumerate() {
                check(format!("{op}a"), vec![("a", decode(&values[i]))], expected);
            }
        }
        assert_none("operator applications", total, &disagreements);
        assert!(total > 6000);
    }
}
