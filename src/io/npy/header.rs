//! The `.npy` header: a Python dict literal naming the element type, the memory order and the
//! shape, read by a small parser for the Python literals it can hold.

use super::dtype::Dtype;
use super::{fail, NpyError};

pub(super) struct Header {
    /// The type string as written, for messages.
    pub(super) descr: String,
    pub(super) dtype: Dtype,
    pub(super) fortran_order: bool,
    pub(super) shape: Vec<usize>,
}

/// Interprets the header, a Python dict literal such as
/// `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }`.
pub(super) fn parse_header(text: &str) -> Result<Header, NpyError> {
    let shown: String = text.trim_end().chars().take(200).collect();
    let malformed = |why: String| NpyError(format!("malformed .npy header ({why}): {shown}"));
    let mut parser = LiteralParser {
        chars: text.chars().collect(),
        at: 0,
    };
    let literal = parser.value(0).map_err(&malformed)?;
    parser.skip_whitespace();
    if parser.at < parser.chars.len() {
        return Err(malformed(format!(
            "unexpected text after the dict at character {}",
            parser.at
        )));
    }
    let PyLiteral::Dict(entries) = literal else {
        return Err(malformed("it is not a dict".to_string()));
    };
    // Later duplicates win, as in a Python dict; keys other than the three are ignored.
    let lookup = |key: &str| {
        entries
            .iter()
            .rev()
            .find(|(k, _)| matches!(k, PyLiteral::Str(s) if s == key))
            .map(|(_, v)| v)
    };
    let missing = |key: &str| malformed(format!("no '{key}' key"));

    let descr = match lookup("descr").ok_or_else(|| missing("descr"))? {
        PyLiteral::Str(descr) => descr.clone(),
        PyLiteral::List(_) => {
            return fail(
                "structured arrays (records with named fields) are not supported: save each \
                 field as its own array",
            )
        }
        _ => return Err(malformed("'descr' is not a string".to_string())),
    };
    let dtype = Dtype::parse(&descr)?;
    let fortran_order = match lookup("fortran_order").ok_or_else(|| missing("fortran_order"))? {
        PyLiteral::Bool(b) => *b,
        PyLiteral::Int(0) => false,
        PyLiteral::Int(1) => true,
        _ => {
            return Err(malformed(
                "'fortran_order' is not True or False".to_string(),
            ))
        }
    };
    let shape = match lookup("shape").ok_or_else(|| missing("shape"))? {
        PyLiteral::Tuple(dims) | PyLiteral::List(dims) => dims
            .iter()
            .map(|dim| match dim {
                PyLiteral::Int(n) => usize::try_from(*n).ok(),
                _ => None,
            })
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| {
                malformed("'shape' holds something other than non-negative sizes".to_string())
            })?,
        _ => return Err(malformed("'shape' is not a tuple".to_string())),
    };
    Ok(Header {
        descr,
        dtype,
        fortran_order,
        shape,
    })
}

/// The subset of Python literals an `.npy` header can hold.
#[derive(Clone, Debug, PartialEq)]
enum PyLiteral {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<PyLiteral>),
    List(Vec<PyLiteral>),
    Dict(Vec<(PyLiteral, PyLiteral)>),
}

/// A recursive-descent parser for Python literals. Nesting is capped so that a hostile header
/// (`((((…`) cannot exhaust the stack.
struct LiteralParser {
    chars: Vec<char>,
    at: usize,
}

const MAX_LITERAL_DEPTH: usize = 32;

impl LiteralParser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<PyLiteral, String> {
        if depth > MAX_LITERAL_DEPTH {
            return Err("nested too deeply".to_string());
        }
        self.skip_whitespace();
        let Some(c) = self.peek() else {
            return Err("it ends where a value should be".to_string());
        };
        match c {
            '{' => {
                self.at += 1;
                let mut entries = Vec::new();
                while !self.close('}')? {
                    let key = self.value(depth + 1)?;
                    self.skip_whitespace();
                    if self.peek() != Some(':') {
                        return Err(format!("expected ':' at character {}", self.at));
                    }
                    self.at += 1;
                    entries.push((key, self.value(depth + 1)?));
                    self.separator('}')?;
                }
                Ok(PyLiteral::Dict(entries))
            }
            '(' | '[' => {
                self.at += 1;
                let closing = if c == '(' { ')' } else { ']' };
                let mut items = Vec::new();
                let mut saw_comma = false;
                while !self.close(closing)? {
                    items.push(self.value(depth + 1)?);
                    saw_comma |= self.separator(closing)?;
                }
                Ok(match (c, items.len(), saw_comma) {
                    // `(3)` is just 3 in Python; only `(3,)` is a tuple.
                    ('(', 1, false) => items.pop().expect("one item"),
                    ('(', _, _) => PyLiteral::Tuple(items),
                    _ => PyLiteral::List(items),
                })
            }
            '\'' | '"' => self.string(),
            '0'..='9' | '-' | '+' => self.integer(),
            _ if c.is_ascii_alphabetic() || c == '_' => {
                let start = self.at;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    self.at += 1;
                }
                let word: String = self.chars[start..self.at].iter().collect();
                match word.as_str() {
                    "True" => Ok(PyLiteral::Bool(true)),
                    "False" => Ok(PyLiteral::Bool(false)),
                    "None" => Ok(PyLiteral::None),
                    // Python 2 era headers may write u'…' or b'…'.
                    "u" | "b" | "U" | "B" if matches!(self.peek(), Some('\'' | '"')) => {
                        self.string()
                    }
                    _ => Err(format!("unexpected `{word}` at character {start}")),
                }
            }
            _ => Err(format!("unexpected '{c}' at character {}", self.at)),
        }
    }

    /// Consumes `closing` if it comes next.
    fn close(&mut self, closing: char) -> Result<bool, String> {
        self.skip_whitespace();
        match self.peek() {
            Some(c) if c == closing => {
                self.at += 1;
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Err(format!("it ends before the closing '{closing}'")),
        }
    }

    /// After an item: a comma (then a trailing one before `closing` is fine) or `closing`
    /// itself, left for [`Self::close`]. Returns whether a comma was consumed.
    fn separator(&mut self, closing: char) -> Result<bool, String> {
        self.skip_whitespace();
        match self.peek() {
            Some(',') => {
                self.at += 1;
                Ok(true)
            }
            Some(c) if c == closing => Ok(false),
            Some(c) => Err(format!(
                "expected ',' or '{closing}' at character {}, found '{c}'",
                self.at
            )),
            None => Err(format!("it ends before the closing '{closing}'")),
        }
    }

    fn string(&mut self) -> Result<PyLiteral, String> {
        let quote = self.chars[self.at];
        let start = self.at;
        self.at += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(format!("the string at character {start} is not closed")),
                Some(c) if c == quote => {
                    self.at += 1;
                    return Ok(PyLiteral::Str(text));
                }
                Some('\\') => {
                    // Only names of structured fields could hold escapes, and those are refused
                    // anyway: keeping the escaped character is enough.
                    self.at += 1;
                    if let Some(c) = self.peek() {
                        text.push(c);
                        self.at += 1;
                    }
                }
                Some(c) => {
                    text.push(c);
                    self.at += 1;
                }
            }
        }
    }

    fn integer(&mut self) -> Result<PyLiteral, String> {
        let start = self.at;
        let negative = self.peek() == Some('-');
        if matches!(self.peek(), Some('-' | '+')) {
            self.at += 1;
        }
        let digits_start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        let digits: String = self.chars[digits_start..self.at].iter().collect();
        // Python 2 wrote long integers with an `L` suffix: `(3L, 2L)`.
        if matches!(self.peek(), Some('L' | 'l')) {
            self.at += 1;
        }
        if self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            return Err(format!("not an integer at character {start}"));
        }
        let magnitude: i128 = digits
            .parse::<u64>()
            .map_err(|_| format!("not a usable integer at character {start}"))?
            .into();
        let value = if negative { -magnitude } else { magnitude };
        Ok(PyLiteral::Int(value))
    }
}

#[cfg(test)]
mod tests {
    use crate::io::npy::read_npy;
    use crate::io::npy::test_support::{error_of, f8_bytes, npy_with_header};

    #[test]
    fn headers_are_read_as_python_dict_literals() {
        let data = f8_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let headers = [
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
            "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f8'}",
            "{ 'fortran_order' :False ,'shape':(2,3,),'descr':\"<f8\" , }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2L, 3L), }",
            "{'descr': '<f8', 'fortran_order': 0, 'shape': [2, 3], 'extra': None}",
            "{'descr': u'<f8',\n 'fortran_order': False,\n 'shape': (2, 3)}",
            "{'descr': '>i4', 'descr': '<f8', 'fortran_order': False, 'shape': ((2), 3)}",
        ];
        for header in headers {
            let array = read_npy(&npy_with_header(header, &data))
                .unwrap_or_else(|e| panic!("{header}: {e}"));
            assert_eq!(array.shape, [2, 3], "{header}");
            assert_eq!(array.data, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "{header}");
        }
    }

    #[test]
    fn malformed_headers_say_what_is_wrong() {
        let cases = [
            ("{'descr': '<f8', 'fortran_order': False}", "no 'shape' key"),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
                "non-negative",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (3)}",
                "not a tuple",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (1.5,)}",
                "integer",
            ),
            (
                "{'descr': '<f8', 'fortran_order': maybe, 'shape': ()}",
                "`maybe`",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': ()",
                "closing '}'",
            ),
            (
                "{'descr': '<f8' 'fortran_order': False}",
                "expected ',' or '}'",
            ),
            ("['descr', '<f8']", "not a dict"),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': ()} x",
                "after the dict",
            ),
            (
                "{'descr': 8, 'fortran_order': False, 'shape': ()}",
                "not a string",
            ),
            (
                "{'descr': '<f8, 'fortran_order': False, 'shape': ()}",
                "found 'f'",
            ),
        ];
        for (header, expected) in cases {
            let message = error_of(read_npy(&npy_with_header(header, &[0; 8])));
            assert!(message.contains(expected), "{header}: {message}");
            assert!(message.starts_with("malformed .npy header"), "{message}");
        }
        let deep = format!(
            "{{'descr': '<f8', 'fortran_order': False, 'shape': {}{}}}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        assert!(error_of(read_npy(&npy_with_header(&deep, &[]))).contains("nested too deeply"));
    }
}
