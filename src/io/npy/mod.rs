//! NumPy `.npy` arrays and `.npz` archives, without Python: uploads (mixture parameters) arrive
//! as files written by `np.save`/`np.savez`, and the CLI writes samples that `np.load` must read
//! unchanged.
//!
//! Reading is generous (format versions 1.0–3.0, either byte order, floats of 2/4/8 bytes,
//! integers of 1/2/4/8 bytes, bool, Fortran order) and returns every array as `f64` in C order,
//! which is all the demos consume. Anything else is refused with a message that says what was
//! found, because the person reading it is usually someone who just uploaded a file.
//!
//! One file per concept: `read` turns a file's bytes into an array, helped by `header` (the
//! Python dict literal that describes the array) and `dtype` (how one element is stored); `npz`
//! unpacks an archive into arrays; `write` writes what `np.save` writes.

mod dtype;
mod header;
mod npz;
mod read;
#[cfg(test)]
mod test_support;
mod write;

pub use npz::read_npz;
pub use read::read_npy;
pub use write::{write_npy_f32, write_npy_i64};

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
