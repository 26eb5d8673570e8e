//! Hand-made `.npy` files for the unit tests, so that each test can break exactly one thing.

use super::NpyError;

/// An `.npy` file with a hand-written header (padded to 64 bytes like NumPy's) and raw data.
pub(super) fn npy_with_header(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let padded_len = header.len() + 1 + (64 - (10 + header.len() + 1) % 64) % 64;
    bytes.extend_from_slice(&(padded_len as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.resize(10 + padded_len - 1, b' ');
    bytes.push(b'\n');
    bytes.extend_from_slice(data);
    bytes
}

pub(super) fn f8_bytes(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub(super) fn error_of<T: std::fmt::Debug>(result: Result<T, NpyError>) -> String {
    result.expect_err("should be refused").0
}
