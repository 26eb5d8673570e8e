//! Writing `.npy` files byte-identical to what `np.save` writes for the same array.

use super::{python_shape, NPY_MAGIC};

/// NumPy aligns the start of the data to this many bytes (`numpy.lib.format.ARRAY_ALIGN`).
const NPY_ALIGN: usize = 64;

/// NumPy pads the header so that the first axis can grow to this many digits in place
/// (`numpy.lib.format.GROWTH_AXIS_MAX_DIGITS`); copying it makes our files byte-identical.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

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
    use crate::io::npy::read_npy;

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
}
