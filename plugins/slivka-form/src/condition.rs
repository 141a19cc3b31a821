//! slivka's condition expressions (`slivka/utils/expression_parser.py`).
//!
//! TEMPORARY stand-in, replaced by the PY helper's module at merge: only the
//! pinned API, with simple semantics (no arithmetic beyond numbers).

use num_bigint::BigInt;

use crate::number::{parse_float, parse_int};
use crate::value::{CmpOp, Value};

/// One token of an expression, in reverse Polish order once parsed.
#[derive(Clone, Debug)]
enum Token {
    Open,
    Literal(Value),
    Name(String),
    Op(&'static str),
}

/// A parsed condition.
#[derive(Clone, Debug)]
pub struct Expression {
    /// The condition as written.
    source: String,
    /// The tokens in reverse Polish order.
    rpn: Vec<Token>,
}

/// Binding strength of each operator.
fn precedence(op: &str) -> u8 {
    match op {
        "(" => 0,
        "or" => 1,
        "xor" => 2,
        "and" => 3,
        "!=" | "==" => 4,
        "<" | ">" | "<=" | ">=" => 5,
        "+" | "-" => 6,
        "*" | "/" => 7,
        _ => 8,
    }
}

/// Whether `op` takes one operand.
fn unary(op: &str) -> bool {
    matches!(op, "neg" | "not" | "#")
}

/// Splits `source` into tokens (not yet ordered).
fn tokenize(source: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut expect_expression = true;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let token = if c == ' ' || c == '\t' {
            i += 1;
            continue;
        } else if c == '(' {
            i += 1;
            Token::Open
        } else if c == ')' {
            i += 1;
            Token::Op(")")
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            match parse_int(&text) {
                Some(n) => Token::Literal(Value::Int(n)),
                None => Token::Literal(Value::Float(parse_float(&text).ok_or("bad number")?)),
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            if i >= chars.len() {
                return Err("Unexpected character '\"'".to_string());
            }
            i += 1;
            let text: String = chars[start + 1..i - 1].iter().collect();
            Token::Literal(Value::Str(text.replace("\\\"", "\"")))
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '-')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            match word.as_str() {
                "and" => Token::Op("and"),
                "or" => Token::Op("or"),
                "xor" => Token::Op("xor"),
                "not" => Token::Op("not"),
                "null" => Token::Literal(Value::None),
                _ => Token::Name(word),
            }
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = match two.as_str() {
                "<=" => "<=",
                ">=" => ">=",
                "==" => "==",
                "!=" => "!=",
                _ => match c {
                    '<' => "<",
                    '>' => ">",
                    '+' => "+",
                    '-' => "-",
                    '*' => "*",
                    '/' => "/",
                    '#' => "#",
                    _ => return Err(format!("Unexpected character '{c}'")),
                },
            };
            i += op.len();
            Token::Op(if op == "-" && expect_expression {
                "neg"
            } else {
                op
            })
        };
        expect_expression = matches!(token, Token::Open | Token::Op(_));
        tokens.push(token);
    }
    Ok(tokens)
}

impl Expression {
    /// Parses `source`; `Err` where slivka raises ValueError.
    pub fn parse(source: &str) -> Result<Expression, String> {
        let mut rpn = Vec::new();
        let mut ops: Vec<Token> = Vec::new();
        for token in tokenize(source)? {
            match token {
                Token::Open => ops.push(Token::Open),
                Token::Op(")") => loop {
                    match ops.pop() {
                        Some(Token::Open) => break,
                        Some(op) => rpn.push(op),
                        None => return Err("mismatched parenthesis".into()),
                    }
                },
                Token::Literal(_) | Token::Name(_) => rpn.push(token),
                Token::Op(op) if unary(op) => ops.push(token),
                Token::Op(op) => {
                    let top = |ops: &Vec<Token>| match ops.last() {
                        Some(Token::Op(o)) => precedence(o),
                        _ => 0,
                    };
                    while precedence(op) <= top(&ops) {
                        rpn.push(ops.pop().expect("top is an operator"));
                    }
                    ops.push(token);
                }
            }
        }
        while let Some(op) = ops.pop() {
            if matches!(op, Token::Open) {
                return Err("mismatched parenthesis".into());
            }
            rpn.push(op);
        }
        let mut count = 0usize;
        for token in &rpn {
            match token {
                Token::Op(op) => {
                    let consumed = if unary(op) { 1 } else { 2 };
                    if count < consumed {
                        return Err(format!("unexpected operator {op}"));
                    }
                    count -= consumed - 1;
                }
                _ => count += 1,
            }
        }
        if count != 1 {
            return Err("line contains multiple expressions".into());
        }
        Ok(Expression {
            source: source.to_string(),
            rpn,
        })
    }

    /// The condition as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The names the condition reads, in order, without repeats.
    pub fn identifiers(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for token in &self.rpn {
            if let Token::Name(name) = token
                && !names.contains(&name.as_str())
            {
                names.push(name);
            }
        }
        names
    }

    /// Evaluates the condition; `Err` where Python raises.
    pub fn evaluate(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> Result<Value, String> {
        let mut stack: Vec<Value> = Vec::new();
        for token in &self.rpn {
            match token {
                Token::Literal(value) => stack.push(value.clone()),
                Token::Name(name) => {
                    stack.push(lookup(name).ok_or_else(|| format!("KeyError: '{name}'"))?)
                }
                Token::Op(op) if unary(op) => {
                    let a = stack.pop().ok_or("stack")?;
                    stack.push(match *op {
                        "not" => Value::Bool(!a.truthy()),
                        "neg" => match a {
                            Value::Int(i) => Value::Int(-i),
                            Value::Float(f) => Value::Float(-f),
                            other => return Err(format!("bad operand type for unary -: {other}")),
                        },
                        _ => match a {
                            Value::Str(s) => Value::Int(BigInt::from(s.chars().count())),
                            Value::List(l) => Value::Int(BigInt::from(l.len())),
                            other => return Err(format!("object has no len(): {other}")),
                        },
                    });
                }
                Token::Op(op) => {
                    let b = stack.pop().ok_or("stack")?;
                    let a = stack.pop().ok_or("stack")?;
                    stack.push(match *op {
                        "or" => Value::Bool(a.truthy() || b.truthy()),
                        "and" => Value::Bool(a.truthy() && b.truthy()),
                        "xor" => Value::Bool(a.truthy() != b.truthy()),
                        "==" => Value::Bool(a.py_eq(&b)),
                        "!=" => Value::Bool(!a.py_eq(&b)),
                        "<" => Value::Bool(a.compare(CmpOp::Lt, &b)?),
                        "<=" => Value::Bool(a.compare(CmpOp::Le, &b)?),
                        ">" => Value::Bool(a.compare(CmpOp::Gt, &b)?),
                        ">=" => Value::Bool(a.compare(CmpOp::Ge, &b)?),
                        other => {
                            return Err(format!("unsupported operator {other} in the stand-in"));
                        }
                    });
                }
                Token::Open => return Err("parenthesis".into()),
            }
        }
        stack.pop().ok_or_else(|| "empty".to_string())
    }
}
