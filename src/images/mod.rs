//! Demo 2: image generation on 28×28 sets: the generator families, the classifier behind FID
//! and class accuracy, and their evaluation.

pub mod bits_per_dim;
pub mod classifier;
pub mod datasets;
pub mod ddpm;
pub mod diffusion;
pub mod evaluation;
pub mod fid;
pub mod generator;
pub mod linalg;
pub mod params;
pub mod registry;
pub mod unet;
pub mod vae;
