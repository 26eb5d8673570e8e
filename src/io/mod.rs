//! File formats read and written by every front end: NumPy `.npy`/`.npz` and IDX image sets.

pub mod csv;
pub mod idx;
pub mod npy;
