//! Reading one `.npy` file: the magic and version, the header, then the data converted to
//! `f64` in C order.

use std::borrow::Cow;

use super::header::parse_header;
use super::{fail, python_shape, NpyArray, NpyError, NPY_MAGIC};

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
pub(super) fn slice_at(bytes: &[u8], start: usize, len: usize) -> Option<&[u8]> {
    bytes.get(start..start.checked_add(len)?)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::npy::test_support::{error_of, f8_bytes, npy_with_header};
    use crate::io::npy::write_npy_f32;

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
}
