//! What every domain shares: seeded randomness, named choices, initialisation, weight files,
//! backends and the GPU device, and the training loop's interface.

pub mod backend;
pub mod choice;
pub mod gpu;
pub mod init;
pub mod link;
pub mod rng;
pub mod tensor;
pub mod training;
pub mod weights;
