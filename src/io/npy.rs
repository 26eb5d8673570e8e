//! NumPy `.npy` arrays and `.npz` archives, without Python: uploads (mixture parameters) arrive
//! as files written by `np.save`/`np.savez`, and the CLI writes samples that `np.load` must read
//! unchanged.
//!
//! Reading is generous (format versions 1.0–3.0, either byte order, floats of 2/4/8 bytes,
//! integers of 1/2/4/8 bytes, bool, Fortran order) and returns every array as `f64` in C order,
//! which is all the demos consume. Anything else is refused with a message that says what was
//! found, because the person reading it is usually someone who just uploaded a file.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// An array in C (row-major) order; `shape` is empty for a scalar.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

/// Why a file could not be read as an array or an archive of arrays.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyError(pub String);

impl std::fmt::Display for NpyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NpyError {}

fn fail<T>(message: impl Into<String>) -> Result<T, NpyError> {
    Err(NpyError(message.into()))
}

const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// NumPy aligns the start of the data to this many bytes (`numpy.lib.format.ARRAY_ALIGN`).
const NPY_ALIGN: usize = 64;

/// NumPy pads the header so that the first axis can grow to this many digits in place
/// (`numpy.lib.format.GROWTH_AXIS_MAX_DIGITS`); copying it makes our files byte-identical.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// A shape as Python writes a tuple: `()`, `(3,)`, `(3, 28, 28)`. The `.npy` header uses this
/// form, and error messages use it so that they read like NumPy's own `arr.shape`.
pub fn python_shape(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => {
            let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", dims.join(", "))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// .npy reading

/// Reads one `.npy` file (`np.save`, `np.lib.format.write_array`).
pub fn read_npy(bytes: &[u8]) -> Result<NpyArray, NpyError> {
    if !bytes.starts_with(NPY_MAGIC) {
        if bytes.starts_with(b"PK") {
            return fail("this is a ZIP archive (an .npz file), not a single .npy array");
        }
        return fail("not an .npy file: it does not start with NumPy's magic bytes \\x93NUMPY");
    }
    let Some(&[major, minor]) = bytes.get(6..8) else {
        return fail("truncated .npy file: it ends inside the format version");
    };
    // Version 1.0 stores the header length in 16 bits; 2.0 and 3.0 in 32 bits, and 3.0 encodes
    // the header in UTF-8 instead of Latin-1.
    let length_bytes = match (major, minor) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        _ => {
            return fail(format!(
                "unsupported .npy format version {major}.{minor} (known: 1.0, 2.0 and 3.0)"
            ))
        }
    };
    let header_start = 8 + length_bytes;
    let Some(length_field) = bytes.get(8..header_start) else {
        return fail("truncated .npy file: it ends inside the header length");
    };
    let header_len = length_field
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | b as usize);
    let Some(header_bytes) = slice_at(bytes, header_start, header_len) else {
        return fail(format!(
            "truncated .npy file: the header should be {header_len} bytes, only {} follow",
            bytes.len() - header_start
        ));
    };
    let header_text: Cow<str> = if major == 3 {
        match std::str::from_utf8(header_bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => return fail("the .npy header of a version 3.0 file is not valid UTF-8"),
        }
    } else {
        Cow::Owned(header_bytes.iter().map(|&b| b as char).collect())
    };
    let header = parse_header(&header_text)?;

    let count = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n));
    let Some(byte_count) = count.and_then(|c| c.checked_mul(header.dtype.size)) else {
        return fail(format!(
            "the shape {} is too large to hold in memory",
            python_shape(&header.shape)
        ));
    };
    let raw = &bytes[header_start + header_len..];
    if raw.len() < byte_count {
        return fail(format!(
            "truncated .npy file: shape {} of '{}' needs {byte_count} bytes of data, only {} are present",
            python_shape(&header.shape),
            header.descr,
            raw.len()
        ));
    }
    if raw.len() > byte_count {
        // np.load would ignore them, but extra bytes mean the header and the data disagree:
        // reading on would return numbers the writer never meant.
        return fail(format!(
            "{} unexpected bytes after the data of shape {} of '{}' (damaged file?)",
            raw.len() - byte_count,
            python_shape(&header.shape),
            header.descr
        ));
    }
    let data = raw
        .chunks_exact(header.dtype.size)
        .map(|element| header.dtype.value(element))
        .collect();
    let data = if header.fortran_order {
        fortran_to_c_order(&header.shape, data)
    } else {
        data
    };
    Ok(NpyArray {
        shape: header.shape,
        data,
    })
}

/// `bytes[start..start + len]`, or `None` when it runs past the end (or the sum overflows,
/// which on wasm32 a hostile length field can make happen).
fn slice_at(bytes: &[u8], start: usize, len: usize) -> Option<&[u8]> {
    bytes.get(start..start.checked_add(len)?)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum ElementKind {
    Float,
    Signed,
    Unsigned,
    Bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Dtype {
    kind: ElementKind,
    size: usize,
    big_endian: bool,
}

impl Dtype {
    /// Parses a NumPy type string such as `<f8`, `>i4`, `|b1`.
    fn parse(descr: &str) -> Result<Self, NpyError> {
        // '|' (byte order not applicable) and '=' (native) are written for one-byte types and by
        // hand-rolled writers; every platform that runs genlab is little-endian.
        let (big_endian, rest) = match descr.as_bytes().first() {
            Some(b'>') => (true, &descr[1..]),
            Some(b'<' | b'|' | b'=') => (false, &descr[1..]),
            _ => (false, descr),
        };
        let mut chars = rest.chars();
        let code = chars.next();
        let size = chars.as_str().parse::<usize>().ok();
        let kind = match (code, size) {
            (Some('f'), Some(2 | 4 | 8)) => ElementKind::Float,
            (Some('i'), Some(1 | 2 | 4 | 8)) => ElementKind::Signed,
            (Some('u'), Some(1 | 2 | 4 | 8)) => ElementKind::Unsigned,
            (Some('b'), Some(1)) => ElementKind::Bool,
            (Some('O'), _) => {
                return fail(format!(
                    "object arrays (dtype '{descr}', pickled Python objects) are not supported: \
                     save a numeric array"
                ))
            }
            (Some('c'), _) => {
                return fail(format!(
                    "complex arrays (dtype '{descr}') are not supported: save the real and \
                     imaginary parts as separate float arrays"
                ))
            }
            (Some('V'), _) => {
                return fail(format!(
                    "structured or raw-bytes arrays (dtype '{descr}') are not supported"
                ))
            }
            (Some('U' | 'S' | 'a'), _) => {
                return fail(format!(
                    "string arrays (dtype '{descr}') are not supported: save numbers"
                ))
            }
            (Some('M' | 'm'), _) => {
                return fail(format!(
                    "datetime and timedelta arrays (dtype '{descr}') are not supported"
                ))
            }
            _ => {
                return fail(format!(
                    "unsupported dtype '{descr}' (known: floats f2/f4/f8, integers i1–i8 and \
                     u1–u8, bool b1, in either byte order)"
                ))
            }
        };
        Ok(Self {
            kind,
            size: size.unwrap_or(1),
            big_endian,
        })
    }

    /// One element's value; `bytes` holds exactly `self.size` bytes. Integers beyond 2^53 are
    /// rounded: every consumer computes in f64.
    fn value(&self, bytes: &[u8]) -> f64 {
        let mut little_endian = [0u8; 8];
        for (i, &b) in bytes.iter().enumerate() {
            let at = if self.big_endian {
                bytes.len() - 1 - i
            } else {
                i
            };
            little_endian[at] = b;
        }
        let bits = u64::from_le_bytes(little_endian);
        match self.kind {
            ElementKind::Float => match self.size {
                2 => f16_to_f64(bits as u16),
                4 => f32::from_bits(bits as u32) as f64,
                _ => f64::from_bits(bits),
            },
            ElementKind::Signed => {
                // Sign-extend from the element's width.
                let unused = 64 - 8 * self.size as u32;
                ((bits << unused) as i64 >> unused) as f64
            }
            ElementKind::Unsigned => bits as f64,
            ElementKind::Bool => {
                if bits != 0 {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }
}

/// IEEE half precision (`<f2`) to f64; exact, since every half is an f64.
fn f16_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = ((bits >> 10) & 0x1f) as i32;
    let fraction = (bits & 0x3ff) as f64;
    sign * match exponent {
        0 => fraction * 2f64.powi(-24),
        0x1f if fraction == 0.0 => f64::INFINITY,
        0x1f => f64::NAN,
        _ => (1.0 + fraction / 1024.0) * 2f64.powi(exponent - 15),
    }
}

/// Reorders column-major data (first axis fastest) into row-major order.
fn fortran_to_c_order(shape: &[usize], fortran: Vec<f64>) -> Vec<f64> {
    if shape.len() < 2 {
        return fortran;
    }
    let mut c_strides = vec![1usize; shape.len()];
    for axis in (0..shape.len() - 1).rev() {
        c_strides[axis] = c_strides[axis + 1] * shape[axis + 1];
    }
    let mut c_order = vec![0.0; fortran.len()];
    let mut index = vec![0usize; shape.len()];
    let mut c_offset = 0;
    for value in fortran {
        c_order[c_offset] = value;
        // Advance the multi-index with the first axis fastest, carrying into later axes.
        for axis in 0..shape.len() {
            index[axis] += 1;
            c_offset += c_strides[axis];
            if index[axis] < shape[axis] {
                break;
            }
            c_offset -= c_strides[axis] * shape[axis];
            index[axis] = 0;
        }
    }
    c_order
}

struct Header {
    descr: String,
    dtype: Dtype,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Interprets the header, a Python dict literal such as
/// `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }`.
fn parse_header(text: &str) -> Result<Header, NpyError> {
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

// ---------------------------------------------------------------------------------------------
// .npz reading: a minimal ZIP reader

const LOCAL_HEADER_SIGNATURE: u32 = 0x0403_4b50;
const CENTRAL_HEADER_SIGNATURE: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIRECTORY_SIGNATURE: u32 = 0x0605_4b50;
const END_OF_CENTRAL_DIRECTORY_LEN: usize = 22;
const CENTRAL_HEADER_LEN: usize = 46;
const LOCAL_HEADER_LEN: usize = 30;
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATE: u16 = 8;
const ZIP64_MESSAGE: &str =
    "ZIP64 archives (needed beyond 4 GiB or 65 535 arrays) are not supported";

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(slice_at(bytes, at, 2)?.try_into().ok()?))
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(slice_at(bytes, at, 4)?.try_into().ok()?))
}

/// Reads every array of an `.npz` archive (`np.savez`, `np.savez_compressed`), keyed by entry
/// name without `.npy`: `weights.npy` is `weights`.
///
/// Sizes and offsets come from the central directory: NumPy writes its entries with
/// `force_zip64=True`, which leaves `0xFFFFFFFF` in the local headers' size fields.
pub fn read_npz(bytes: &[u8]) -> Result<BTreeMap<String, NpyArray>, NpyError> {
    let eocd = find_end_of_central_directory(bytes)?;
    let field16 = |offset| le16(bytes, eocd + offset).unwrap_or(0);
    let (this_disk, directory_disk) = (field16(4), field16(6));
    let (entries_here, entry_count) = (field16(8), field16(10));
    let directory_offset = le32(bytes, eocd + 16).unwrap_or(0);
    if entry_count == u16::MAX || directory_offset == u32::MAX {
        return fail(ZIP64_MESSAGE);
    }
    if this_disk != 0 || directory_disk != 0 || entries_here != entry_count {
        return fail("multi-volume ZIP archives are not supported");
    }

    let mut arrays = BTreeMap::new();
    let mut at = directory_offset as usize;
    for index in 0..entry_count {
        if le32(bytes, at) != Some(CENTRAL_HEADER_SIGNATURE) {
            return fail(format!(
                "damaged ZIP archive: central directory entry {index} is missing or corrupt"
            ));
        }
        let Some(fixed) = slice_at(bytes, at, CENTRAL_HEADER_LEN) else {
            return fail("damaged ZIP archive: the central directory is cut short");
        };
        let u16_at = |offset| le16(fixed, offset).unwrap_or(0);
        let u32_at = |offset| le32(fixed, offset).unwrap_or(0);
        let entry = ZipEntry {
            flags: u16_at(8),
            method: u16_at(10),
            crc32: u32_at(16),
            compressed_size: u32_at(20),
            uncompressed_size: u32_at(24),
            local_header_offset: u32_at(42),
        };
        let [name_len, extra_len, comment_len] = [28, 30, 32].map(|offset| u16_at(offset) as usize);
        let Some(name) = slice_at(bytes, at + CENTRAL_HEADER_LEN, name_len) else {
            return fail("damaged ZIP archive: the central directory is cut short");
        };
        let name = String::from_utf8_lossy(name).into_owned();
        at += CENTRAL_HEADER_LEN + name_len + extra_len + comment_len;
        if name.ends_with('/') {
            continue; // a directory
        }
        let contents = entry.contents(bytes, &name)?;
        let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        let array =
            read_npy(&contents).map_err(|e| NpyError(format!("array `{key}` ({name}): {e}")))?;
        if arrays.insert(key.clone(), array).is_some() {
            return fail(format!("the archive holds two arrays named `{key}`"));
        }
    }
    Ok(arrays)
}

fn find_end_of_central_directory(bytes: &[u8]) -> Result<usize, NpyError> {
    let not_a_zip = || {
        if bytes.starts_with(NPY_MAGIC) {
            NpyError("this is a single .npy array, not an .npz archive".to_string())
        } else {
            NpyError(
                "not an .npz file: no ZIP end-of-central-directory record (not a ZIP archive, \
                 or truncated)"
                    .to_string(),
            )
        }
    };
    let last = bytes
        .len()
        .checked_sub(END_OF_CENTRAL_DIRECTORY_LEN)
        .ok_or_else(not_a_zip)?;
    // The record ends the file, followed only by a comment of up to 65 535 bytes; the comment
    // length must reach exactly to the end, which rules out the signature inside a comment.
    let first = last.saturating_sub(u16::MAX as usize);
    (first..=last)
        .rev()
        .find(|&at| {
            le32(bytes, at) == Some(END_OF_CENTRAL_DIRECTORY_SIGNATURE)
                && le16(bytes, at + 20).map(usize::from)
                    == Some(bytes.len() - at - END_OF_CENTRAL_DIRECTORY_LEN)
        })
        .ok_or_else(not_a_zip)
}

struct ZipEntry {
    flags: u16,
    method: u16,
    crc32: u32,
    compressed_size: u32,
    uncompressed_size: u32,
    local_header_offset: u32,
}

impl ZipEntry {
    /// The entry's uncompressed bytes, checked against its CRC-32.
    fn contents<'a>(&self, archive: &'a [u8], name: &str) -> Result<Cow<'a, [u8]>, NpyError> {
        if self.compressed_size == u32::MAX
            || self.uncompressed_size == u32::MAX
            || self.local_header_offset == u32::MAX
        {
            return fail(format!("entry `{name}`: {ZIP64_MESSAGE}"));
        }
        if self.flags & 1 != 0 {
            return fail(format!(
                "entry `{name}` is encrypted; encrypted archives are not supported"
            ));
        }
        let local = self.local_header_offset as usize;
        if le32(archive, local) != Some(LOCAL_HEADER_SIGNATURE) {
            return fail(format!(
                "damaged ZIP archive: the local header of `{name}` is missing"
            ));
        }
        // The local header's own name and extra field may differ in length from the central
        // directory's (NumPy puts a ZIP64 extra field only here).
        let local_name_len = le16(archive, local + 26).unwrap_or(0) as usize;
        let local_extra_len = le16(archive, local + 28).unwrap_or(0) as usize;
        let data_start = local + LOCAL_HEADER_LEN + local_name_len + local_extra_len;
        let Some(stored) = slice_at(archive, data_start, self.compressed_size as usize) else {
            return fail(format!(
                "truncated ZIP archive: the data of `{name}` runs past the end of the file"
            ));
        };
        let expected_len = self.uncompressed_size as usize;
        let contents = match self.method {
            METHOD_STORED => {
                if stored.len() != expected_len {
                    return fail(format!(
                        "damaged ZIP archive: `{name}` is stored uncompressed but its two sizes \
                         differ ({} and {expected_len})",
                        stored.len()
                    ));
                }
                Cow::Borrowed(stored)
            }
            METHOD_DEFLATE => {
                // The limit bounds memory even if the directory lies about the size.
                let inflated =
                    miniz_oxide::inflate::decompress_to_vec_with_limit(stored, expected_len)
                        .map_err(|e| {
                            NpyError(format!(
                        "damaged ZIP archive: `{name}` does not inflate to the {expected_len} \
                         bytes its directory entry promises ({e})"
                    ))
                        })?;
                if inflated.len() != expected_len {
                    return fail(format!(
                        "damaged ZIP archive: `{name}` inflates to {} bytes, its directory entry \
                         says {expected_len}",
                        inflated.len()
                    ));
                }
                Cow::Owned(inflated)
            }
            method => {
                return fail(format!(
                    "entry `{name}` uses ZIP compression method {method}; only 0 (stored, \
                     np.savez) and 8 (deflate, np.savez_compressed) are supported"
                ))
            }
        };
        let actual_crc = crc32(&contents);
        if actual_crc != self.crc32 {
            return fail(format!(
                "damaged ZIP archive: `{name}` fails its CRC-32 check (stored {:08x}, computed \
                 {actual_crc:08x})",
                self.crc32
            ));
        }
        Ok(contents)
    }
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) with a 256-entry table built at compile
/// time: ZIP entries are checked byte by byte.
const CRC32_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            bit += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
        CRC32_TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8)
    })
}

// ---------------------------------------------------------------------------------------------
// .npy writing

/// A version 1.0 `.npy` file of little-endian float32, byte-identical to `np.save` of the same
/// array. Panics if `data` does not hold exactly the elements `shape` describes.
pub fn write_npy_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let mut bytes = npy_header("<f4", shape, data.len());
    bytes.reserve(4 * data.len());
    for value in data {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

/// A version 1.0 `.npy` file of little-endian int64 (labels), byte-identical to `np.save`.
/// Panics if `data` does not hold exactly the elements `shape` describes.
pub fn write_npy_i64(shape: &[usize], data: &[i64]) -> Vec<u8> {
    let mut bytes = npy_header("<i8", shape, data.len());
    bytes.reserve(8 * data.len());
    for value in data {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

/// Magic, version, header length and the header dict padded as NumPy pads it.
fn npy_header(descr: &str, shape: &[usize], element_count: usize) -> Vec<u8> {
    let shape_count = shape.iter().try_fold(1usize, |acc, &n| acc.checked_mul(n));
    assert_eq!(
        shape_count,
        Some(element_count),
        "shape {shape:?} does not hold the {element_count} elements given"
    );
    let mut dict = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': {}, }}",
        python_shape(shape)
    );
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        dict.extend(std::iter::repeat_n(
            ' ',
            GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits),
        ));
    }
    // Version 1.0 holds the header length in 16 bits; like NumPy, switch to 2.0 only when a
    // header (thousands of dimensions) does not fit.
    let length_bytes_v1 = 2;
    let fits_v1 = padded_header_len(dict.len(), length_bytes_v1) <= u16::MAX as usize;
    let (version, length_bytes) = if fits_v1 { (1u8, 2) } else { (2u8, 4) };
    let header_len = padded_header_len(dict.len(), length_bytes);
    let mut bytes = Vec::with_capacity(NPY_MAGIC.len() + 2 + length_bytes + header_len);
    bytes.extend_from_slice(NPY_MAGIC);
    bytes.extend_from_slice(&[version, 0]);
    bytes.extend_from_slice(&(header_len as u32).to_le_bytes()[..length_bytes]);
    bytes.extend_from_slice(dict.as_bytes());
    bytes.resize(NPY_MAGIC.len() + 2 + length_bytes + header_len - 1, b' ');
    bytes.push(b'\n');
    bytes
}

/// The header length, newline included, once padded so that the data starts on a multiple of
/// [`NPY_ALIGN`]. NumPy pads a full 64 bytes when the header already ends on the boundary;
/// copying that keeps the files identical.
fn padded_header_len(dict_len: usize, length_bytes: usize) -> usize {
    let unpadded = NPY_MAGIC.len() + 2 + length_bytes + dict_len + 1;
    dict_len + 1 + NPY_ALIGN - unpadded % NPY_ALIGN
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `.npy` file with a hand-written header (padded to 64 bytes like NumPy's) and raw data.
    fn npy_with_header(header: &str, data: &[u8]) -> Vec<u8> {
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        let padded_len = header.len() + 1 + (64 - (10 + header.len() + 1) % 64) % 64;
        bytes.extend_from_slice(&(padded_len as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.resize(10 + padded_len - 1, b' ');
        bytes.push(b'\n');
        bytes.extend_from_slice(data);
        bytes
    }

    fn f8_bytes(values: &[f64]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// A ZIP archive of STORED entries, the layout np.savez writes (without its ZIP64 extras).
    fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = Vec::new();
        let mut directory = Vec::new();
        for (name, data) in entries {
            let offset = zip.len() as u32;
            let mut common = Vec::new();
            common.extend_from_slice(&20u16.to_le_bytes()); // version needed
            common.extend_from_slice(&0u16.to_le_bytes()); // flags
            common.extend_from_slice(&METHOD_STORED.to_le_bytes());
            common.extend_from_slice(&[0; 4]); // time, date
            common.extend_from_slice(&crc32(data).to_le_bytes());
            common.extend_from_slice(&(data.len() as u32).to_le_bytes());
            common.extend_from_slice(&(data.len() as u32).to_le_bytes());
            common.extend_from_slice(&(name.len() as u16).to_le_bytes());
            common.extend_from_slice(&0u16.to_le_bytes()); // extra length
            zip.extend_from_slice(&LOCAL_HEADER_SIGNATURE.to_le_bytes());
            zip.extend_from_slice(&common);
            zip.extend_from_slice(name.as_bytes());
            zip.extend_from_slice(data);
            directory.extend_from_slice(&CENTRAL_HEADER_SIGNATURE.to_le_bytes());
            directory.extend_from_slice(&20u16.to_le_bytes()); // version made by
            directory.extend_from_slice(&common);
            directory.extend_from_slice(&[0; 10]); // comment length … external attributes
            directory.extend_from_slice(&offset.to_le_bytes());
            directory.extend_from_slice(name.as_bytes());
        }
        let directory_offset = zip.len() as u32;
        zip.extend_from_slice(&directory);
        zip.extend_from_slice(&END_OF_CENTRAL_DIRECTORY_SIGNATURE.to_le_bytes());
        zip.extend_from_slice(&[0; 4]); // disk numbers
        zip.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        zip.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        zip.extend_from_slice(&(directory.len() as u32).to_le_bytes());
        zip.extend_from_slice(&directory_offset.to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes()); // comment length
        zip
    }

    fn error_of<T: std::fmt::Debug>(result: Result<T, NpyError>) -> String {
        result.expect_err("should be refused").0
    }

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

    #[test]
    fn unsupported_dtypes_are_named() {
        let cases = [
            ("|O", "object arrays"),
            ("<c16", "complex"),
            ("<U3", "string"),
            ("|S4", "string"),
            ("<M8[ns]", "datetime"),
            ("|V8", "structured"),
            ("<f16", "unsupported dtype '<f16'"),
            ("<i3", "unsupported dtype '<i3'"),
            ("|b2", "unsupported dtype '|b2'"),
        ];
        for (descr, expected) in cases {
            let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,)}}");
            let message = error_of(read_npy(&npy_with_header(&header, &[0; 16])));
            assert!(message.contains(expected), "{descr}: {message}");
        }
        let structured =
            "{'descr': [('x', '<f8'), ('y', '<i4')], 'fortran_order': False, 'shape': (1,)}";
        assert!(error_of(read_npy(&npy_with_header(structured, &[0; 12]))).contains("structured"));
    }

    #[test]
    fn element_types_decode_exactly() {
        let read = |descr: &str, data: &[u8]| {
            let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (2,)}}");
            read_npy(&npy_with_header(&header, data)).unwrap().data
        };
        // Half floats: 1.0, -2.0, the smallest subnormal, infinity, NaN.
        assert_eq!(read("<f2", &[0x00, 0x3c, 0x00, 0xc0]), [1.0, -2.0]);
        assert_eq!(
            read(">f2", &[0x00, 0x01, 0x7c, 0x00]),
            [2f64.powi(-24), f64::INFINITY]
        );
        assert!(read("<f2", &[0x01, 0x7e, 0, 0])[0].is_nan());
        assert_eq!(read("<i2", &[0xff, 0xff, 0x00, 0x80]), [-1.0, -32768.0]);
        assert_eq!(read(">u2", &[0xff, 0xfe, 0x00, 0x01]), [65534.0, 1.0]);
        assert_eq!(read("|i1", &[0x80, 0x7f]), [-128.0, 127.0]);
        assert_eq!(read("|b1", &[0, 3]), [0.0, 1.0]);
        let mut u8_data = u64::MAX.to_le_bytes().to_vec();
        u8_data.extend_from_slice(&5u64.to_be_bytes());
        assert_eq!(read("<u8", &u8_data)[0], u64::MAX as f64);
        assert_eq!(read("=i8", &(-7i64).to_le_bytes().repeat(2)), [-7.0, -7.0]);
    }

    #[test]
    fn fortran_order_is_transposed_to_c_order() {
        // [[1, 2, 3], [4, 5, 6]] stored column by column.
        let header = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }";
        let array = read_npy(&npy_with_header(
            header,
            &f8_bytes(&[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]),
        ))
        .unwrap();
        assert_eq!(array.data, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        // Three axes: element (i, j, k) = 100i + 10j + k, stored with i fastest.
        let shape = [2, 3, 4];
        let mut fortran = Vec::new();
        for k in 0..4 {
            for j in 0..3 {
                for i in 0..2 {
                    fortran.push((100 * i + 10 * j + k) as f64);
                }
            }
        }
        let c_order = fortran_to_c_order(&shape, fortran);
        let expected: Vec<f64> = (0..2)
            .flat_map(|i| {
                (0..3).flat_map(move |j| (0..4).map(move |k| (100 * i + 10 * j + k) as f64))
            })
            .collect();
        assert_eq!(c_order, expected);
        assert!(fortran_to_c_order(&[0, 3], Vec::new()).is_empty());
    }

    #[test]
    fn damaged_npy_files_are_refused_with_a_reason() {
        let good = write_npy_f32(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        assert!(read_npy(&good).is_ok());
        assert!(error_of(read_npy(b"hello")).contains("magic"));
        assert!(error_of(read_npy(b"PK\x03\x04")).contains(".npz"));
        let mut version_4 = good.clone();
        version_4[6] = 4;
        assert!(error_of(read_npy(&version_4)).contains("version 4.0"));
        assert!(error_of(read_npy(&good[..good.len() - 1])).contains("needs 16 bytes"));
        assert!(error_of(read_npy(&good[..30])).contains("header should be"));
        assert!(error_of(read_npy(&good[..7])).contains("version"));
        let mut extra = good.clone();
        extra.push(0);
        assert!(error_of(read_npy(&extra)).contains("1 unexpected bytes"));
        let huge = "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}";
        assert!(error_of(read_npy(&npy_with_header(huge, &[]))).contains("too large"));
    }

    #[test]
    fn written_files_have_numpys_layout_and_read_back() {
        for shape in [vec![], vec![0], vec![7], vec![3, 28, 28], vec![1; 30]] {
            let count: usize = shape.iter().product();
            let data: Vec<f32> = (0..count).map(|i| i as f32 * 0.5 - 3.0).collect();
            let bytes = write_npy_f32(&shape, &data);
            let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
            assert_eq!((10 + header_len) % 64, 0, "{shape:?}");
            assert_eq!(bytes[10 + header_len - 1], b'\n');
            let array = read_npy(&bytes).unwrap();
            assert_eq!(array.shape, shape);
            assert_eq!(
                array.data,
                data.iter().map(|&v| v as f64).collect::<Vec<_>>()
            );
        }
        let labels = write_npy_i64(&[3], &[-1, 0, 1 << 40]);
        assert_eq!(
            read_npy(&labels).unwrap().data,
            [-1.0, 0.0, (1u64 << 40) as f64]
        );
        // Thousands of axes overflow the 16-bit header length of version 1.0.
        let many_axes = write_npy_f32(&[1; 30_000], &[2.0]);
        assert_eq!(&many_axes[6..8], &[2, 0]);
        assert_eq!(read_npy(&many_axes).unwrap().shape.len(), 30_000);
    }

    #[test]
    #[should_panic(expected = "does not hold")]
    fn writing_mismatched_data_is_a_bug() {
        write_npy_f32(&[2, 3], &[1.0; 5]);
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn archives_are_read_by_entry_name() {
        let a = write_npy_f32(&[2], &[1.0, 2.0]);
        let b = write_npy_i64(&[], &[9]);
        let zip = stored_zip(&[("a.npy", &a), ("dir/", b""), ("dir/b.npy", &b), ("c", &a)]);
        let arrays = read_npz(&zip).unwrap();
        assert_eq!(arrays.keys().collect::<Vec<_>>(), ["a", "c", "dir/b"]);
        assert_eq!(arrays["a"].data, [1.0, 2.0]);
        assert_eq!(arrays["dir/b"].shape, Vec::<usize>::new());
        assert_eq!(arrays["dir/b"].data, [9.0]);
        assert!(read_npz(&stored_zip(&[])).unwrap().is_empty());
    }

    #[test]
    fn damaged_archives_are_refused_with_a_reason() {
        let a = write_npy_f32(&[2], &[1.0, 2.0]);
        let good = stored_zip(&[("a.npy", &a)]);
        let directory_offset = good.len() - 22 - 46 - "a.npy".len();
        let eocd = good.len() - 22;

        assert!(error_of(read_npz(&a)).contains("single .npy array"));
        assert!(error_of(read_npz(b"garbage")).contains("not an .npz file"));
        assert!(error_of(read_npz(&stored_zip(&[("a.npy", &a), ("a", &a)])))
            .contains("two arrays named `a`"));
        assert!(error_of(read_npz(&stored_zip(&[("x.npy", b"text")])))
            .contains("array `x` (x.npy): not an .npy file"));

        let mutate = |at: usize, value: &[u8]| {
            let mut bytes = good.clone();
            bytes[at..at + value.len()].copy_from_slice(value);
            error_of(read_npz(&bytes))
        };
        assert!(mutate(eocd + 10, &[0xff, 0xff]).contains("ZIP64"));
        assert!(mutate(eocd + 16, &[0xff; 4]).contains("ZIP64"));
        assert!(mutate(directory_offset + 20, &[0xff; 4]).contains("ZIP64"));
        assert!(mutate(eocd + 4, &[1, 0]).contains("multi-volume"));
        assert!(mutate(directory_offset + 8, &[1, 0]).contains("encrypted"));
        assert!(mutate(directory_offset + 10, &[12, 0]).contains("method 12"));
        assert!(mutate(directory_offset + 16, &[0; 4]).contains("CRC-32"));
        assert!(mutate(directory_offset + 20, &[1, 0, 0, 0]).contains("sizes"));
        assert!(mutate(directory_offset + 42, &[1, 0, 0, 0]).contains("local header"));
        assert!(mutate(directory_offset, b"XXXX").contains("entry 0"));
        assert!(mutate(30 + 5 + 20, &[0x55]).contains("CRC-32"));
        // A comment after the record, as zip tools may add, is skipped.
        let mut commented = good.clone();
        commented[eocd + 20] = 3;
        commented.extend_from_slice(b"hi!");
        assert!(read_npz(&commented).is_ok());
    }
}
