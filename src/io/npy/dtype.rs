//! NumPy element types (`descr` strings such as `<f8`, `>i4`, `|b1`) and the conversion of one
//! stored element to `f64`.

use super::{fail, NpyError};

#[derive(Clone, Copy, Debug, PartialEq)]
enum ElementKind {
    Float,
    Signed,
    Unsigned,
    Bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Dtype {
    kind: ElementKind,
    /// Bytes per element.
    pub(super) size: usize,
    big_endian: bool,
}

impl Dtype {
    /// Parses a NumPy type string such as `<f8`, `>i4`, `|b1`.
    pub(super) fn parse(descr: &str) -> Result<Self, NpyError> {
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
    pub(super) fn value(&self, bytes: &[u8]) -> f64 {
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

#[cfg(test)]
mod tests {
    use crate::io::npy::read_npy;
    use crate::io::npy::test_support::{error_of, npy_with_header};

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
}
