//! Python's values, as slivka's validators and conditions see them.
//!
//! slivka is written in Python: a checked integer field holds an `int` of any
//! size, a flag `True` (or `None`), a file field a `FileProxy`, and a
//! condition compares and combines these with Python's operators. [`Value`]
//! is that model, and its methods are Python's operators with Python's
//! results and errors: `True == 1`, `1 == 1.0`, exact comparison of big
//! integers with floats, `'ab' * 2`, `1 / 0` a `ZeroDivisionError`,
//! `'a' < 1` a `TypeError`. An error is a `String` that starts with the
//! Python exception's name (`"TypeError: ..."`).
//!
//! Known differences from Python:
//! - Python compares list elements with an identity shortcut, so a list
//!   holding a NaN equals *itself* (`x == x`) there; here it does not.
//! - A repetition (`'a' * n`, `[x] * n`) longer than [`MAX_REPEAT`] is a
//!   `MemoryError` here; Python would build it if memory allows.
//! - `str()` of an integer of more than 4300 digits is an error in Python;
//!   [`Value`]'s `Display` writes it.

use std::cmp::Ordering;
use std::fmt;
use std::rc::Rc;

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{ToPrimitive, Zero};

/// Longest string or list a repetition may build (characters or elements).
pub const MAX_REPEAT: usize = 1 << 24;

/// A Python value: what a checked field holds, or a condition computes.
///
/// The derived `PartialEq` is structural (Rust's); Python's `==` is
/// [`Value::py_eq`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `None`: a field without a value (and a flag that is off).
    None,
    /// `True` or `False`.
    Bool(bool),
    /// An `int`, of any size.
    Int(BigInt),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(String),
    /// A `list` (an array field's values).
    List(Vec<Value>),
    /// A `FileProxy` (a file field's value).
    File(FileValue),
}

/// An uploaded file, as slivka's `FileProxy`: two are equal only if they are
/// the same upload (Python compares them by identity).
#[derive(Clone, Debug)]
pub struct FileValue(Rc<str>);

impl FileValue {
    /// A new upload holding `content`, unequal to every other upload.
    pub fn new(content: &str) -> Self {
        FileValue(Rc::from(content))
    }

    /// The file's content.
    pub fn content(&self) -> &str {
        &self.0
    }
}

impl PartialEq for FileValue {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// An ordering comparison: `<`, `<=`, `>`, `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator as Python writes it.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// Whether `ordering` satisfies the operator.
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            CmpOp::Lt => ordering.is_lt(),
            CmpOp::Le => ordering.is_le(),
            CmpOp::Gt => ordering.is_gt(),
            CmpOp::Ge => ordering.is_ge(),
        }
    }
}

/// A number as Python's arithmetic sees it: `bool` is an `int`.
enum Number {
    /// A `bool` or `int`.
    Int(BigInt),
    /// A `float`.
    Float(f64),
}

/// Python's `TypeError` for `a OP b` on types it does not support.
fn unsupported(op: &str, a: &Value, b: &Value) -> String {
    format!(
        "TypeError: unsupported operand type(s) for {op}: '{}' and '{}'",
        a.type_name(),
        b.type_name()
    )
}

/// `OverflowError` for an `int` too large for a `float`.
fn int_too_large() -> String {
    "OverflowError: int too large to convert to float".to_string()
}

impl Value {
    /// Python's name of the value's type, as its errors show it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::List(_) => "list",
            Value::File(_) => "FileProxy",
        }
    }

    /// Python's `bool(v)`: `None`, `False`, zero, `''` and `[]` are false;
    /// a file is true.
    pub fn truthy(&self) -> bool {
        match self {
            Value::None => false,
            Value::Bool(b) => *b,
            Value::Int(n) => !n.is_zero(),
            Value::Float(x) => *x != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(items) => !items.is_empty(),
            Value::File(_) => true,
        }
    }

    /// The value as a number, if Python's arithmetic takes it as one.
    fn number(&self) -> Option<Number> {
        match self {
            Value::Bool(b) => Some(Number::Int(BigInt::from(u8::from(*b)))),
            Value::Int(n) => Some(Number::Int(n.clone())),
            Value::Float(x) => Some(Number::Float(*x)),
            _ => None,
        }
    }

    /// Python's `a == b`: numbers by exact value whatever their types
    /// (`True == 1 == 1.0`, NaN equal to nothing), strings and lists by
    /// content, files by identity, `None` only to `None`.
    pub fn py_eq(&self, other: &Value) -> bool {
        if let (Some(a), Some(b)) = (self.number(), other.number()) {
            return compare_numbers(&a, &b) == Some(Ordering::Equal);
        }
        match (self, other) {
            (Value::None, Value::None) => true,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.py_eq(y))
            }
            (Value::File(a), Value::File(b)) => a == b,
            _ => false,
        }
    }

    /// Python's `a < b` (and `<=`, `>`, `>=`): numbers by exact value (NaN
    /// compares false), strings by code points, lists element by element;
    /// anything else is a `TypeError`.
    pub fn compare(&self, op: CmpOp, other: &Value) -> Result<bool, String> {
        if let (Some(a), Some(b)) = (self.number(), other.number()) {
            return Ok(compare_numbers(&a, &b).is_some_and(|o| op.holds(o)));
        }
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => Ok(op.holds(a.cmp(b))),
            (Value::List(a), Value::List(b)) => match a.iter().zip(b).find(|(x, y)| !x.py_eq(y)) {
                Some((x, y)) => x.compare(op, y),
                None => Ok(op.holds(a.len().cmp(&b.len()))),
            },
            _ => Err(format!(
                "TypeError: '{}' not supported between instances of '{}' and '{}'",
                op.symbol(),
                self.type_name(),
                other.type_name()
            )),
        }
    }

    /// Python's `a + b`: numbers, or two strings, or two lists joined.
    pub fn py_add(&self, other: &Value) -> Result<Value, String> {
        if let (Some(a), Some(b)) = (self.number(), other.number()) {
            return arithmetic(a, b, |x, y| x + y, |x, y| x + y);
        }
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => Ok(Value::Str(format!("{a}{b}"))),
            (Value::List(a), Value::List(b)) => Ok(Value::List([a.clone(), b.clone()].concat())),
            (Value::Str(_) | Value::List(_), _) => Err(format!(
                "TypeError: can only concatenate {} (not \"{}\") to {}",
                self.type_name(),
                other.type_name(),
                self.type_name()
            )),
            _ => Err(unsupported("+", self, other)),
        }
    }

    /// Python's `a - b`, for numbers only.
    pub fn py_sub(&self, other: &Value) -> Result<Value, String> {
        match (self.number(), other.number()) {
            (Some(a), Some(b)) => arithmetic(a, b, |x, y| x - y, |x, y| x - y),
            _ => Err(unsupported("-", self, other)),
        }
    }

    /// Python's `a * b`: numbers, or a string or list repeated an `int`
    /// (or `bool`) number of times, on either side.
    pub fn py_mul(&self, other: &Value) -> Result<Value, String> {
        if let (Some(a), Some(b)) = (self.number(), other.number()) {
            return arithmetic(a, b, |x, y| x * y, |x, y| x * y);
        }
        let (sequence, count) = match (self, other) {
            (Value::Str(_) | Value::List(_), _) => (self, other),
            (_, Value::Str(_) | Value::List(_)) => (other, self),
            _ => return Err(unsupported("*", self, other)),
        };
        let Some(Number::Int(count)) = count.number() else {
            return Err(format!(
                "TypeError: can't multiply sequence by non-int of type '{}'",
                count.type_name()
            ));
        };
        let Some(count) = count.to_i64() else {
            return Err("OverflowError: cannot fit 'int' into an index-sized integer".to_string());
        };
        let count = usize::try_from(count).unwrap_or(0);
        let length = match sequence {
            Value::Str(s) => s.chars().count(),
            Value::List(items) => items.len(),
            _ => unreachable!("the sequence is a str or a list"),
        };
        if length != 0 && count != 0 {
            match length.checked_mul(count) {
                Some(total) if total <= MAX_REPEAT => {}
                Some(total) if (total as u128) <= i64::MAX as u128 => {
                    return Err(format!(
                        "MemoryError: the repetition would hold {total} items, \
                         more than the {MAX_REPEAT} allowed"
                    ));
                }
                _ if matches!(sequence, Value::Str(_)) => {
                    return Err("OverflowError: repeated string is too long".to_string());
                }
                _ => return Err("MemoryError: the repeated list is too long".to_string()),
            }
        }
        if length == 0 || count == 0 {
            // Also spares iterating an empty list `count` times.
            return Ok(match sequence {
                Value::Str(_) => Value::Str(String::new()),
                _ => Value::List(Vec::new()),
            });
        }
        Ok(match sequence {
            Value::Str(s) => Value::Str(s.repeat(count)),
            Value::List(items) => Value::List(
                std::iter::repeat_n(items, count)
                    .flatten()
                    .cloned()
                    .collect(),
            ),
            _ => unreachable!("the sequence is a str or a list"),
        })
    }

    /// Python's true division `a / b`: always a `float`; dividing by zero is
    /// a `ZeroDivisionError`, an `int` quotient too large for a `float` an
    /// `OverflowError`.
    pub fn py_truediv(&self, other: &Value) -> Result<Value, String> {
        let (Some(a), Some(b)) = (self.number(), other.number()) else {
            return Err(unsupported("/", self, other));
        };
        if let (Number::Int(a), Number::Int(b)) = (&a, &b) {
            if b.is_zero() {
                return Err("ZeroDivisionError: division by zero".to_string());
            }
            return ratio_to_float(a, b).map(Value::Float).ok_or_else(|| {
                "OverflowError: integer division result too large for a float".to_string()
            });
        }
        let (x, y) = (to_float(a)?, to_float(b)?);
        if y == 0.0 {
            return Err("ZeroDivisionError: float division by zero".to_string());
        }
        Ok(Value::Float(x / y))
    }

    /// Python's `-a`, for numbers only (`-True` is `-1`).
    pub fn py_neg(&self) -> Result<Value, String> {
        match self.number() {
            Some(Number::Int(n)) => Ok(Value::Int(-n)),
            Some(Number::Float(x)) => Ok(Value::Float(-x)),
            None => Err(format!(
                "TypeError: bad operand type for unary -: '{}'",
                self.type_name()
            )),
        }
    }

    /// Python's `len(a)`: characters (code points) of a string, elements of
    /// a list; anything else is a `TypeError`.
    pub fn py_len(&self) -> Result<Value, String> {
        match self {
            Value::Str(s) => Ok(Value::Int(BigInt::from(s.chars().count()))),
            Value::List(items) => Ok(Value::Int(BigInt::from(items.len()))),
            _ => Err(format!(
                "TypeError: object of type '{}' has no len()",
                self.type_name()
            )),
        }
    }

    /// Python's `repr(v)`: as `str(v)`, but a string is quoted and escaped.
    pub fn repr(&self) -> String {
        match self {
            Value::Str(s) => repr_str(s),
            other => other.to_string(),
        }
    }
}

/// Applies `+`, `-` or `*` to two numbers: exact on two `int`s, else in
/// floating point after converting the `int` (which may overflow).
fn arithmetic(
    a: Number,
    b: Number,
    on_ints: impl Fn(BigInt, BigInt) -> BigInt,
    on_floats: impl Fn(f64, f64) -> f64,
) -> Result<Value, String> {
    match (a, b) {
        (Number::Int(a), Number::Int(b)) => Ok(Value::Int(on_ints(a, b))),
        (a, b) => Ok(Value::Float(on_floats(to_float(a)?, to_float(b)?))),
    }
}

/// Python's `float(n)` of an `int`: the nearest `f64` (ties to even);
/// `None` where Python raises `OverflowError` (from 2^1024 less half an ulp
/// of the largest float, up).
pub fn int_to_float(n: &BigInt) -> Option<f64> {
    ratio_to_float(n, &BigInt::from(1))
}

/// Python's `float(n)`: correctly rounded, `OverflowError` past the range.
fn to_float(n: Number) -> Result<f64, String> {
    match n {
        Number::Float(x) => Ok(x),
        Number::Int(n) => int_to_float(&n).ok_or_else(int_too_large),
    }
}

/// Compares two numbers exactly, as Python does (an `int` of any size
/// against a `float` included); `None` if either is NaN.
fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    match (a, b) {
        (Number::Int(a), Number::Int(b)) => Some(a.cmp(b)),
        (Number::Float(a), Number::Float(b)) => a.partial_cmp(b),
        (Number::Int(a), Number::Float(b)) => compare_int_float(a, *b),
        (Number::Float(a), Number::Int(b)) => compare_int_float(b, *a).map(Ordering::reverse),
    }
}

/// Compares an `int` with a `float` exactly.
fn compare_int_float(n: &BigInt, x: f64) -> Option<Ordering> {
    if x.is_nan() {
        return None;
    }
    if x.is_infinite() {
        return Some(if x > 0.0 {
            Ordering::Less
        } else {
            Ordering::Greater
        });
    }
    let floor = x.floor();
    let whole = float_to_int(floor);
    Some(match n.cmp(&whole) {
        // n = floor(x) <= x, equal only if x has no fraction.
        Ordering::Equal if floor == x => Ordering::Equal,
        Ordering::Equal => Ordering::Less,
        // n >= floor(x) + 1 > x.
        Ordering::Greater => Ordering::Greater,
        Ordering::Less => Ordering::Less,
    })
}

/// The exact integer value of a finite, whole `x`.
fn float_to_int(x: f64) -> BigInt {
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64;
    let mut mantissa = bits & ((1 << 52) - 1);
    if exponent == 0 {
        // Subnormal or zero: |x| < 1, and a whole x is zero.
        return BigInt::zero();
    }
    mantissa |= 1 << 52;
    let shift = exponent - 1075;
    let magnitude = if shift >= 0 {
        BigUint::from(mantissa) << (shift as usize)
    } else {
        BigUint::from(mantissa >> (-shift) as u32)
    };
    let sign = if x < 0.0 { Sign::Minus } else { Sign::Plus };
    BigInt::from_biguint(sign, magnitude)
}

/// `n / d` as the nearest `f64` (ties to even, subnormals included), as
/// CPython's true division of two `int`s; `None` if it overflows. `d` is not
/// zero.
fn ratio_to_float(n: &BigInt, d: &BigInt) -> Option<f64> {
    let negative = (n.sign() == Sign::Minus) != (d.sign() == Sign::Minus);
    let (a, b) = (n.magnitude(), d.magnitude());
    if a.is_zero() {
        return Some(if negative { -0.0 } else { 0.0 });
    }
    // e = floor(log2(a / b)).
    let mut e = a.bits() as i64 - b.bits() as i64;
    let below = if e >= 0 {
        a < &(b << (e as usize))
    } else {
        &(a << ((-e) as usize)) < b
    };
    if below {
        e -= 1;
    }
    if e > 1023 {
        return None;
    }
    // The result's last bit is worth 2^ulp; compute two more bits and a sticky.
    let ulp = (e - 52).max(-1074);
    let p = ulp - 2;
    let (num, den) = if p <= 0 {
        (a << ((-p) as usize), b.clone())
    } else {
        (a.clone(), b << (p as usize))
    };
    let quotient = &num / &den;
    let sticky = !(num - &quotient * &den).is_zero();
    // Cannot fail: a / b < 2^(e+1), so the quotient is below 2^(e+1-p) <= 2^55.
    let q = quotient.to_u64()?;
    let mut m = q >> 2;
    let rest = q & 3;
    if rest == 3 || (rest == 2 && (sticky || m & 1 == 1)) {
        m += 1;
    }
    let value = m as f64 * power_of_two(ulp);
    if value.is_infinite() {
        return None;
    }
    Some(if negative { -value } else { value })
}

/// 2^k as an `f64`, for -1074 <= k <= 1023.
fn power_of_two(k: i64) -> f64 {
    if k >= -1022 {
        f64::from_bits(((k + 1023) as u64) << 52)
    } else {
        f64::from_bits(1 << (k + 1074))
    }
}

/// Python's `repr(x)` (and `str(x)`) of a float: the shortest digits that
/// read back as `x`, `1e+16` past 16 digits, `1e-05` below 1e-4, `inf`, `nan`.
fn repr_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    // Rust's `{:e}` writes the shortest round-trip digits: `-1.2345e-5`.
    let scientific = format!("{x:e}");
    let (sign, unsigned) = match scientific.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", scientific.as_str()),
    };
    // Cannot fail: `{:e}` always writes an exponent.
    let (mantissa, exponent) = unsigned.split_once('e').unwrap_or((unsigned, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // x = 0.DIGITS * 10^point
    let point = exponent + 1;
    let body = if !(-3..=16).contains(&point) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{first}{fraction}e{exp_sign}{:02}", exponent.abs())
    } else if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{whole}.{fraction}")
    };
    format!("{sign}{body}")
}

/// Python's `repr(s)` of a string: quoted with `'` (or `"` if it holds `'`
/// and no `"`), backslash escapes for what Python does not print.
fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_ascii() || is_printable(c) => out.push(c),
            c if (c as u32) <= 0xff => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
    out
}

/// Whether Python's `str.isprintable()` holds for a non-ASCII `c`.
fn is_printable(c: char) -> bool {
    let code = c as u32;
    NOT_PRINTABLE
        .binary_search_by(|&(first, last)| {
            if last < code {
                Ordering::Less
            } else if first > code {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        })
        .is_err()
}

/// Python's `str(v)`: `None`, `True`, `100`, `1.5`, `1e+16`, `inf`, a string
/// as it is, a list as `['a', 1]`. A file shows as `<FileProxy>` (Python
/// adds its module and address).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::None => f.write_str("None"),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Float(x) => f.write_str(&repr_float(*x)),
            Value::Str(s) => f.write_str(s),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&item.repr())?;
                }
                f.write_str("]")
            }
            Value::File(_) => f.write_str("<FileProxy>"),
        }
    }
}

// BEGIN GENERATED NOT_PRINTABLE
/// Characters past ASCII that `str.isprintable()` refuses (repr escapes them).
/// Generated by tests/python/unicode_tables.py from Python 3.11 (Unicode 14.0.0); do not edit.
#[rustfmt::skip]
const NOT_PRINTABLE: &[(u32, u32)] = &[
    (0x80, 0xa0), (0xad, 0xad), (0x378, 0x379), (0x380, 0x383), (0x38b, 0x38b), (0x38d, 0x38d),
    (0x3a2, 0x3a2), (0x530, 0x530), (0x557, 0x558), (0x58b, 0x58c), (0x590, 0x590), (0x5c8, 0x5cf),
    (0x5eb, 0x5ee), (0x5f5, 0x605), (0x61c, 0x61c), (0x6dd, 0x6dd), (0x70e, 0x70f), (0x74b, 0x74c),
    (0x7b2, 0x7bf), (0x7fb, 0x7fc), (0x82e, 0x82f), (0x83f, 0x83f), (0x85c, 0x85d), (0x85f, 0x85f),
    (0x86b, 0x86f), (0x88f, 0x897), (0x8e2, 0x8e2), (0x984, 0x984), (0x98d, 0x98e), (0x991, 0x992),
    (0x9a9, 0x9a9), (0x9b1, 0x9b1), (0x9b3, 0x9b5), (0x9ba, 0x9bb), (0x9c5, 0x9c6), (0x9c9, 0x9ca),
    (0x9cf, 0x9d6), (0x9d8, 0x9db), (0x9de, 0x9de), (0x9e4, 0x9e5), (0x9ff, 0xa00), (0xa04, 0xa04),
    (0xa0b, 0xa0e), (0xa11, 0xa12), (0xa29, 0xa29), (0xa31, 0xa31), (0xa34, 0xa34), (0xa37, 0xa37),
    (0xa3a, 0xa3b), (0xa3d, 0xa3d), (0xa43, 0xa46), (0xa49, 0xa4a), (0xa4e, 0xa50), (0xa52, 0xa58),
    (0xa5d, 0xa5d), (0xa5f, 0xa65), (0xa77, 0xa80), (0xa84, 0xa84), (0xa8e, 0xa8e), (0xa92, 0xa92),
    (0xaa9, 0xaa9), (0xab1, 0xab1), (0xab4, 0xab4), (0xaba, 0xabb), (0xac6, 0xac6), (0xaca, 0xaca),
    (0xace, 0xacf), (0xad1, 0xadf), (0xae4, 0xae5), (0xaf2, 0xaf8), (0xb00, 0xb00), (0xb04, 0xb04),
    (0xb0d, 0xb0e), (0xb11, 0xb12), (0xb29, 0xb29), (0xb31, 0xb31), (0xb34, 0xb34), (0xb3a, 0xb3b),
    (0xb45, 0xb46), (0xb49, 0xb4a), (0xb4e, 0xb54), (0xb58, 0xb5b), (0xb5e, 0xb5e), (0xb64, 0xb65),
    (0xb78, 0xb81), (0xb84, 0xb84), (0xb8b, 0xb8d), (0xb91, 0xb91), (0xb96, 0xb98), (0xb9b, 0xb9b),
    (0xb9d, 0xb9d), (0xba0, 0xba2), (0xba5, 0xba7), (0xbab, 0xbad), (0xbba, 0xbbd), (0xbc3, 0xbc5),
    (0xbc9, 0xbc9), (0xbce, 0xbcf), (0xbd1, 0xbd6), (0xbd8, 0xbe5), (0xbfb, 0xbff), (0xc0d, 0xc0d),
    (0xc11, 0xc11), (0xc29, 0xc29), (0xc3a, 0xc3b), (0xc45, 0xc45), (0xc49, 0xc49), (0xc4e, 0xc54),
    (0xc57, 0xc57), (0xc5b, 0xc5c), (0xc5e, 0xc5f), (0xc64, 0xc65), (0xc70, 0xc76), (0xc8d, 0xc8d),
    (0xc91, 0xc91), (0xca9, 0xca9), (0xcb4, 0xcb4), (0xcba, 0xcbb), (0xcc5, 0xcc5), (0xcc9, 0xcc9),
    (0xcce, 0xcd4), (0xcd7, 0xcdc), (0xcdf, 0xcdf), (0xce4, 0xce5), (0xcf0, 0xcf0), (0xcf3, 0xcff),
    (0xd0d, 0xd0d), (0xd11, 0xd11), (0xd45, 0xd45), (0xd49, 0xd49), (0xd50, 0xd53), (0xd64, 0xd65),
    (0xd80, 0xd80), (0xd84, 0xd84), (0xd97, 0xd99), (0xdb2, 0xdb2), (0xdbc, 0xdbc), (0xdbe, 0xdbf),
    (0xdc7, 0xdc9), (0xdcb, 0xdce), (0xdd5, 0xdd5), (0xdd7, 0xdd7), (0xde0, 0xde5), (0xdf0, 0xdf1),
    (0xdf5, 0xe00), (0xe3b, 0xe3e), (0xe5c, 0xe80), (0xe83, 0xe83), (0xe85, 0xe85), (0xe8b, 0xe8b),
    (0xea4, 0xea4), (0xea6, 0xea6), (0xebe, 0xebf), (0xec5, 0xec5), (0xec7, 0xec7), (0xece, 0xecf),
    (0xeda, 0xedb), (0xee0, 0xeff), (0xf48, 0xf48), (0xf6d, 0xf70), (0xf98, 0xf98), (0xfbd, 0xfbd),
    (0xfcd, 0xfcd), (0xfdb, 0xfff), (0x10c6, 0x10c6), (0x10c8, 0x10cc), (0x10ce, 0x10cf), (0x1249, 0x1249),
    (0x124e, 0x124f), (0x1257, 0x1257), (0x1259, 0x1259), (0x125e, 0x125f), (0x1289, 0x1289), (0x128e, 0x128f),
    (0x12b1, 0x12b1), (0x12b6, 0x12b7), (0x12bf, 0x12bf), (0x12c1, 0x12c1), (0x12c6, 0x12c7), (0x12d7, 0x12d7),
    (0x1311, 0x1311), (0x1316, 0x1317), (0x135b, 0x135c), (0x137d, 0x137f), (0x139a, 0x139f), (0x13f6, 0x13f7),
    (0x13fe, 0x13ff), (0x1680, 0x1680), (0x169d, 0x169f), (0x16f9, 0x16ff), (0x1716, 0x171e), (0x1737, 0x173f),
    (0x1754, 0x175f), (0x176d, 0x176d), (0x1771, 0x1771), (0x1774, 0x177f), (0x17de, 0x17df), (0x17ea, 0x17ef),
    (0x17fa, 0x17ff), (0x180e, 0x180e), (0x181a, 0x181f), (0x1879, 0x187f), (0x18ab, 0x18af), (0x18f6, 0x18ff),
    (0x191f, 0x191f), (0x192c, 0x192f), (0x193c, 0x193f), (0x1941, 0x1943), (0x196e, 0x196f), (0x1975, 0x197f),
    (0x19ac, 0x19af), (0x19ca, 0x19cf), (0x19db, 0x19dd), (0x1a1c, 0x1a1d), (0x1a5f, 0x1a5f), (0x1a7d, 0x1a7e),
    (0x1a8a, 0x1a8f), (0x1a9a, 0x1a9f), (0x1aae, 0x1aaf), (0x1acf, 0x1aff), (0x1b4d, 0x1b4f), (0x1b7f, 0x1b7f),
    (0x1bf4, 0x1bfb), (0x1c38, 0x1c3a), (0x1c4a, 0x1c4c), (0x1c89, 0x1c8f), (0x1cbb, 0x1cbc), (0x1cc8, 0x1ccf),
    (0x1cfb, 0x1cff), (0x1f16, 0x1f17), (0x1f1e, 0x1f1f), (0x1f46, 0x1f47), (0x1f4e, 0x1f4f), (0x1f58, 0x1f58),
    (0x1f5a, 0x1f5a), (0x1f5c, 0x1f5c), (0x1f5e, 0x1f5e), (0x1f7e, 0x1f7f), (0x1fb5, 0x1fb5), (0x1fc5, 0x1fc5),
    (0x1fd4, 0x1fd5), (0x1fdc, 0x1fdc), (0x1ff0, 0x1ff1), (0x1ff5, 0x1ff5), (0x1fff, 0x200f), (0x2028, 0x202f),
    (0x205f, 0x206f), (0x2072, 0x2073), (0x208f, 0x208f), (0x209d, 0x209f), (0x20c1, 0x20cf), (0x20f1, 0x20ff),
    (0x218c, 0x218f), (0x2427, 0x243f), (0x244b, 0x245f), (0x2b74, 0x2b75), (0x2b96, 0x2b96), (0x2cf4, 0x2cf8),
    (0x2d26, 0x2d26), (0x2d28, 0x2d2c), (0x2d2e, 0x2d2f), (0x2d68, 0x2d6e), (0x2d71, 0x2d7e), (0x2d97, 0x2d9f),
    (0x2da7, 0x2da7), (0x2daf, 0x2daf), (0x2db7, 0x2db7), (0x2dbf, 0x2dbf), (0x2dc7, 0x2dc7), (0x2dcf, 0x2dcf),
    (0x2dd7, 0x2dd7), (0x2ddf, 0x2ddf), (0x2e5e, 0x2e7f), (0x2e9a, 0x2e9a), (0x2ef4, 0x2eff), (0x2fd6, 0x2fef),
    (0x2ffc, 0x3000), (0x3040, 0x3040), (0x3097, 0x3098), (0x3100, 0x3104), (0x3130, 0x3130), (0x318f, 0x318f),
    (0x31e4, 0x31ef), (0x321f, 0x321f), (0xa48d, 0xa48f), (0xa4c7, 0xa4cf), (0xa62c, 0xa63f), (0xa6f8, 0xa6ff),
    (0xa7cb, 0xa7cf), (0xa7d2, 0xa7d2), (0xa7d4, 0xa7d4), (0xa7da, 0xa7f1), (0xa82d, 0xa82f), (0xa83a, 0xa83f),
    (0xa878, 0xa87f), (0xa8c6, 0xa8cd), (0xa8da, 0xa8df), (0xa954, 0xa95e), (0xa97d, 0xa97f), (0xa9ce, 0xa9ce),
    (0xa9da, 0xa9dd), (0xa9ff, 0xa9ff), (0xaa37, 0xaa3f), (0xaa4e, 0xaa4f), (0xaa5a, 0xaa5b), (0xaac3, 0xaada),
    (0xaaf7, 0xab00), (0xab07, 0xab08), (0xab0f, 0xab10), (0xab17, 0xab1f), (0xab27, 0xab27), (0xab2f, 0xab2f),
    (0xab6c, 0xab6f), (0xabee, 0xabef), (0xabfa, 0xabff), (0xd7a4, 0xd7af), (0xd7c7, 0xd7ca), (0xd7fc, 0xf8ff),
    (0xfa6e, 0xfa6f), (0xfada, 0xfaff), (0xfb07, 0xfb12), (0xfb18, 0xfb1c), (0xfb37, 0xfb37), (0xfb3d, 0xfb3d),
    (0xfb3f, 0xfb3f), (0xfb42, 0xfb42), (0xfb45, 0xfb45), (0xfbc3, 0xfbd2), (0xfd90, 0xfd91), (0xfdc8, 0xfdce),
    (0xfdd0, 0xfdef), (0xfe1a, 0xfe1f), (0xfe53, 0xfe53), (0xfe67, 0xfe67), (0xfe6c, 0xfe6f), (0xfe75, 0xfe75),
    (0xfefd, 0xff00), (0xffbf, 0xffc1), (0xffc8, 0xffc9), (0xffd0, 0xffd1), (0xffd8, 0xffd9), (0xffdd, 0xffdf),
    (0xffe7, 0xffe7), (0xffef, 0xfffb), (0xfffe, 0xffff), (0x1000c, 0x1000c), (0x10027, 0x10027), (0x1003b, 0x1003b),
    (0x1003e, 0x1003e), (0x1004e, 0x1004f), (0x1005e, 0x1007f), (0x100fb, 0x100ff), (0x10103, 0x10106), (0x10134, 0x10136),
    (0x1018f, 0x1018f), (0x1019d, 0x1019f), (0x101a1, 0x101cf), (0x101fe, 0x1027f), (0x1029d, 0x1029f), (0x102d1, 0x102df),
    (0x102fc, 0x102ff), (0x10324, 0x1032c), (0x1034b, 0x1034f), (0x1037b, 0x1037f), (0x1039e, 0x1039e), (0x103c4, 0x103c7),
    (0x103d6, 0x103ff), (0x1049e, 0x1049f), (0x104aa, 0x104af), (0x104d4, 0x104d7), (0x104fc, 0x104ff), (0x10528, 0x1052f),
    (0x10564, 0x1056e), (0x1057b, 0x1057b), (0x1058b, 0x1058b), (0x10593, 0x10593), (0x10596, 0x10596), (0x105a2, 0x105a2),
    (0x105b2, 0x105b2), (0x105ba, 0x105ba), (0x105bd, 0x105ff), (0x10737, 0x1073f), (0x10756, 0x1075f), (0x10768, 0x1077f),
    (0x10786, 0x10786), (0x107b1, 0x107b1), (0x107bb, 0x107ff), (0x10806, 0x10807), (0x10809, 0x10809), (0x10836, 0x10836),
    (0x10839, 0x1083b), (0x1083d, 0x1083e), (0x10856, 0x10856), (0x1089f, 0x108a6), (0x108b0, 0x108df), (0x108f3, 0x108f3),
    (0x108f6, 0x108fa), (0x1091c, 0x1091e), (0x1093a, 0x1093e), (0x10940, 0x1097f), (0x109b8, 0x109bb), (0x109d0, 0x109d1),
    (0x10a04, 0x10a04), (0x10a07, 0x10a0b), (0x10a14, 0x10a14), (0x10a18, 0x10a18), (0x10a36, 0x10a37), (0x10a3b, 0x10a3e),
    (0x10a49, 0x10a4f), (0x10a59, 0x10a5f), (0x10aa0, 0x10abf), (0x10ae7, 0x10aea), (0x10af7, 0x10aff), (0x10b36, 0x10b38),
    (0x10b56, 0x10b57), (0x10b73, 0x10b77), (0x10b92, 0x10b98), (0x10b9d, 0x10ba8), (0x10bb0, 0x10bff), (0x10c49, 0x10c7f),
    (0x10cb3, 0x10cbf), (0x10cf3, 0x10cf9), (0x10d28, 0x10d2f), (0x10d3a, 0x10e5f), (0x10e7f, 0x10e7f), (0x10eaa, 0x10eaa),
    (0x10eae, 0x10eaf), (0x10eb2, 0x10eff), (0x10f28, 0x10f2f), (0x10f5a, 0x10f6f), (0x10f8a, 0x10faf), (0x10fcc, 0x10fdf),
    (0x10ff7, 0x10fff), (0x1104e, 0x11051), (0x11076, 0x1107e), (0x110bd, 0x110bd), (0x110c3, 0x110cf), (0x110e9, 0x110ef),
    (0x110fa, 0x110ff), (0x11135, 0x11135), (0x11148, 0x1114f), (0x11177, 0x1117f), (0x111e0, 0x111e0), (0x111f5, 0x111ff),
    (0x11212, 0x11212), (0x1123f, 0x1127f), (0x11287, 0x11287), (0x11289, 0x11289), (0x1128e, 0x1128e), (0x1129e, 0x1129e),
    (0x112aa, 0x112af), (0x112eb, 0x112ef), (0x112fa, 0x112ff), (0x11304, 0x11304), (0x1130d, 0x1130e), (0x11311, 0x11312),
    (0x11329, 0x11329), (0x11331, 0x11331), (0x11334, 0x11334), (0x1133a, 0x1133a), (0x11345, 0x11346), (0x11349, 0x1134a),
    (0x1134e, 0x1134f), (0x11351, 0x11356), (0x11358, 0x1135c), (0x11364, 0x11365), (0x1136d, 0x1136f), (0x11375, 0x113ff),
    (0x1145c, 0x1145c), (0x11462, 0x1147f), (0x114c8, 0x114cf), (0x114da, 0x1157f), (0x115b6, 0x115b7), (0x115de, 0x115ff),
    (0x11645, 0x1164f), (0x1165a, 0x1165f), (0x1166d, 0x1167f), (0x116ba, 0x116bf), (0x116ca, 0x116ff), (0x1171b, 0x1171c),
    (0x1172c, 0x1172f), (0x11747, 0x117ff), (0x1183c, 0x1189f), (0x118f3, 0x118fe), (0x11907, 0x11908), (0x1190a, 0x1190b),
    (0x11914, 0x11914), (0x11917, 0x11917), (0x11936, 0x11936), (0x11939, 0x1193a), (0x11947, 0x1194f), (0x1195a, 0x1199f),
    (0x119a8, 0x119a9), (0x119d8, 0x119d9), (0x119e5, 0x119ff), (0x11a48, 0x11a4f), (0x11aa3, 0x11aaf), (0x11af9, 0x11bff),
    (0x11c09, 0x11c09), (0x11c37, 0x11c37), (0x11c46, 0x11c4f), (0x11c6d, 0x11c6f), (0x11c90, 0x11c91), (0x11ca8, 0x11ca8),
    (0x11cb7, 0x11cff), (0x11d07, 0x11d07), (0x11d0a, 0x11d0a), (0x11d37, 0x11d39), (0x11d3b, 0x11d3b), (0x11d3e, 0x11d3e),
    (0x11d48, 0x11d4f), (0x11d5a, 0x11d5f), (0x11d66, 0x11d66), (0x11d69, 0x11d69), (0x11d8f, 0x11d8f), (0x11d92, 0x11d92),
    (0x11d99, 0x11d9f), (0x11daa, 0x11edf), (0x11ef9, 0x11faf), (0x11fb1, 0x11fbf), (0x11ff2, 0x11ffe), (0x1239a, 0x123ff),
    (0x1246f, 0x1246f), (0x12475, 0x1247f), (0x12544, 0x12f8f), (0x12ff3, 0x12fff), (0x1342f, 0x143ff), (0x14647, 0x167ff),
    (0x16a39, 0x16a3f), (0x16a5f, 0x16a5f), (0x16a6a, 0x16a6d), (0x16abf, 0x16abf), (0x16aca, 0x16acf), (0x16aee, 0x16aef),
    (0x16af6, 0x16aff), (0x16b46, 0x16b4f), (0x16b5a, 0x16b5a), (0x16b62, 0x16b62), (0x16b78, 0x16b7c), (0x16b90, 0x16e3f),
    (0x16e9b, 0x16eff), (0x16f4b, 0x16f4e), (0x16f88, 0x16f8e), (0x16fa0, 0x16fdf), (0x16fe5, 0x16fef), (0x16ff2, 0x16fff),
    (0x187f8, 0x187ff), (0x18cd6, 0x18cff), (0x18d09, 0x1afef), (0x1aff4, 0x1aff4), (0x1affc, 0x1affc), (0x1afff, 0x1afff),
    (0x1b123, 0x1b14f), (0x1b153, 0x1b163), (0x1b168, 0x1b16f), (0x1b2fc, 0x1bbff), (0x1bc6b, 0x1bc6f), (0x1bc7d, 0x1bc7f),
    (0x1bc89, 0x1bc8f), (0x1bc9a, 0x1bc9b), (0x1bca0, 0x1ceff), (0x1cf2e, 0x1cf2f), (0x1cf47, 0x1cf4f), (0x1cfc4, 0x1cfff),
    (0x1d0f6, 0x1d0ff), (0x1d127, 0x1d128), (0x1d173, 0x1d17a), (0x1d1eb, 0x1d1ff), (0x1d246, 0x1d2df), (0x1d2f4, 0x1d2ff),
    (0x1d357, 0x1d35f), (0x1d379, 0x1d3ff), (0x1d455, 0x1d455), (0x1d49d, 0x1d49d), (0x1d4a0, 0x1d4a1), (0x1d4a3, 0x1d4a4),
    (0x1d4a7, 0x1d4a8), (0x1d4ad, 0x1d4ad), (0x1d4ba, 0x1d4ba), (0x1d4bc, 0x1d4bc), (0x1d4c4, 0x1d4c4), (0x1d506, 0x1d506),
    (0x1d50b, 0x1d50c), (0x1d515, 0x1d515), (0x1d51d, 0x1d51d), (0x1d53a, 0x1d53a), (0x1d53f, 0x1d53f), (0x1d545, 0x1d545),
    (0x1d547, 0x1d549), (0x1d551, 0x1d551), (0x1d6a6, 0x1d6a7), (0x1d7cc, 0x1d7cd), (0x1da8c, 0x1da9a), (0x1daa0, 0x1daa0),
    (0x1dab0, 0x1deff), (0x1df1f, 0x1dfff), (0x1e007, 0x1e007), (0x1e019, 0x1e01a), (0x1e022, 0x1e022), (0x1e025, 0x1e025),
    (0x1e02b, 0x1e0ff), (0x1e12d, 0x1e12f), (0x1e13e, 0x1e13f), (0x1e14a, 0x1e14d), (0x1e150, 0x1e28f), (0x1e2af, 0x1e2bf),
    (0x1e2fa, 0x1e2fe), (0x1e300, 0x1e7df), (0x1e7e7, 0x1e7e7), (0x1e7ec, 0x1e7ec), (0x1e7ef, 0x1e7ef), (0x1e7ff, 0x1e7ff),
    (0x1e8c5, 0x1e8c6), (0x1e8d7, 0x1e8ff), (0x1e94c, 0x1e94f), (0x1e95a, 0x1e95d), (0x1e960, 0x1ec70), (0x1ecb5, 0x1ed00),
    (0x1ed3e, 0x1edff), (0x1ee04, 0x1ee04), (0x1ee20, 0x1ee20), (0x1ee23, 0x1ee23), (0x1ee25, 0x1ee26), (0x1ee28, 0x1ee28),
    (0x1ee33, 0x1ee33), (0x1ee38, 0x1ee38), (0x1ee3a, 0x1ee3a), (0x1ee3c, 0x1ee41), (0x1ee43, 0x1ee46), (0x1ee48, 0x1ee48),
    (0x1ee4a, 0x1ee4a), (0x1ee4c, 0x1ee4c), (0x1ee50, 0x1ee50), (0x1ee53, 0x1ee53), (0x1ee55, 0x1ee56), (0x1ee58, 0x1ee58),
    (0x1ee5a, 0x1ee5a), (0x1ee5c, 0x1ee5c), (0x1ee5e, 0x1ee5e), (0x1ee60, 0x1ee60), (0x1ee63, 0x1ee63), (0x1ee65, 0x1ee66),
    (0x1ee6b, 0x1ee6b), (0x1ee73, 0x1ee73), (0x1ee78, 0x1ee78), (0x1ee7d, 0x1ee7d), (0x1ee7f, 0x1ee7f), (0x1ee8a, 0x1ee8a),
    (0x1ee9c, 0x1eea0), (0x1eea4, 0x1eea4), (0x1eeaa, 0x1eeaa), (0x1eebc, 0x1eeef), (0x1eef2, 0x1efff), (0x1f02c, 0x1f02f),
    (0x1f094, 0x1f09f), (0x1f0af, 0x1f0b0), (0x1f0c0, 0x1f0c0), (0x1f0d0, 0x1f0d0), (0x1f0f6, 0x1f0ff), (0x1f1ae, 0x1f1e5),
    (0x1f203, 0x1f20f), (0x1f23c, 0x1f23f), (0x1f249, 0x1f24f), (0x1f252, 0x1f25f), (0x1f266, 0x1f2ff), (0x1f6d8, 0x1f6dc),
    (0x1f6ed, 0x1f6ef), (0x1f6fd, 0x1f6ff), (0x1f774, 0x1f77f), (0x1f7d9, 0x1f7df), (0x1f7ec, 0x1f7ef), (0x1f7f1, 0x1f7ff),
    (0x1f80c, 0x1f80f), (0x1f848, 0x1f84f), (0x1f85a, 0x1f85f), (0x1f888, 0x1f88f), (0x1f8ae, 0x1f8af), (0x1f8b2, 0x1f8ff),
    (0x1fa54, 0x1fa5f), (0x1fa6e, 0x1fa6f), (0x1fa75, 0x1fa77), (0x1fa7d, 0x1fa7f), (0x1fa87, 0x1fa8f), (0x1faad, 0x1faaf),
    (0x1fabb, 0x1fabf), (0x1fac6, 0x1facf), (0x1fada, 0x1fadf), (0x1fae8, 0x1faef), (0x1faf7, 0x1faff), (0x1fb93, 0x1fb93),
    (0x1fbcb, 0x1fbef), (0x1fbfa, 0x1ffff), (0x2a6e0, 0x2a6ff), (0x2b739, 0x2b73f), (0x2b81e, 0x2b81f), (0x2cea2, 0x2ceaf),
    (0x2ebe1, 0x2f7ff), (0x2fa1e, 0x2ffff), (0x3134b, 0xe00ff), (0xe01f0, 0x10ffff),
];
// END GENERATED NOT_PRINTABLE

#[cfg(test)]
mod tests {
    use super::*;

    fn int(n: i64) -> Value {
        Value::Int(BigInt::from(n))
    }

    fn big(text: &str) -> Value {
        Value::Int(text.parse().unwrap())
    }

    #[test]
    fn equality_is_pythons() {
        assert!(Value::Bool(true).py_eq(&int(1)));
        assert!(int(1).py_eq(&Value::Float(1.0)));
        assert!(!Value::Float(f64::NAN).py_eq(&Value::Float(f64::NAN)));
        assert!(!big("9007199254740993").py_eq(&Value::Float(9007199254740992.0)));
        assert!(Value::None.py_eq(&Value::None));
        assert!(!Value::None.py_eq(&int(0)));
        let file = FileValue::new(">a\nACGT\n");
        assert!(Value::File(file.clone()).py_eq(&Value::File(file)));
        assert!(!Value::File(FileValue::new("x")).py_eq(&Value::File(FileValue::new("x"))));
        assert!(
            Value::List(vec![int(1), Value::Str("a".into())]).py_eq(&Value::List(vec![
                Value::Float(1.0),
                Value::Str("a".into())
            ]))
        );
    }

    #[test]
    fn ordering_is_pythons() {
        assert_eq!(
            big("9007199254740993").compare(CmpOp::Gt, &Value::Float(9007199254740992.0)),
            Ok(true)
        );
        assert_eq!(
            big(&"9".repeat(400)).compare(CmpOp::Lt, &Value::Float(f64::INFINITY)),
            Ok(true)
        );
        assert_eq!(
            Value::Str("B".into()).compare(CmpOp::Lt, &Value::Str("a".into())),
            Ok(true)
        );
        assert_eq!(
            Value::Str("a".into()).compare(CmpOp::Lt, &int(1)),
            Err("TypeError: '<' not supported between instances of 'str' and 'int'".into())
        );
        assert!(Value::None.compare(CmpOp::Le, &Value::None).is_err());
        assert_eq!(
            Value::Float(f64::NAN).compare(CmpOp::Ge, &int(0)),
            Ok(false)
        );
    }

    #[test]
    fn arithmetic_is_pythons() {
        assert_eq!(Value::Bool(true).py_add(&Value::Bool(true)), Ok(int(2)));
        assert_eq!(int(1).py_truediv(&int(3)), Ok(Value::Float(1.0 / 3.0)));
        assert_eq!(
            int(0).py_truediv(&int(-5)).map(|v| v.to_string()),
            Ok("-0.0".into())
        );
        assert!(
            int(1)
                .py_truediv(&int(0))
                .unwrap_err()
                .starts_with("ZeroDivisionError")
        );
        assert!(
            big(&"9".repeat(400))
                .py_add(&Value::Float(1.0))
                .unwrap_err()
                .starts_with("OverflowError")
        );
        assert_eq!(
            Value::Str("ab".into()).py_mul(&int(2)),
            Ok(Value::Str("abab".into()))
        );
        assert_eq!(
            int(-1).py_mul(&Value::Str("ab".into())),
            Ok(Value::Str(String::new()))
        );
        assert_eq!(Value::Str("añ".into()).py_len(), Ok(int(2)));
        assert!(int(3).py_len().unwrap_err().starts_with("TypeError"));
        assert_eq!(Value::Bool(true).py_neg(), Ok(int(-1)));
    }

    #[test]
    fn display_is_pythons_str() {
        let shown = |v: Value| v.to_string();
        assert_eq!(shown(Value::Float(1.0)), "1.0");
        assert_eq!(shown(Value::Float(1e16)), "1e+16");
        assert_eq!(shown(Value::Float(1e15)), "1000000000000000.0");
        assert_eq!(shown(Value::Float(1e-5)), "1e-05");
        assert_eq!(shown(Value::Float(0.0001)), "0.0001");
        assert_eq!(shown(Value::Float(5e-324)), "5e-324");
        assert_eq!(shown(Value::Float(f64::NEG_INFINITY)), "-inf");
        assert_eq!(shown(Value::Bool(true)), "True");
        assert_eq!(shown(Value::None), "None");
        assert_eq!(
            shown(Value::List(vec![
                Value::Str("a".into()),
                Value::Str("it's".into()),
                Value::Str("\n\u{85}\u{200b}é".into()),
                int(1),
                Value::None
            ])),
            r#"['a', "it's", '\n\x85\u200bé', 1, None]"#
        );
    }
}
