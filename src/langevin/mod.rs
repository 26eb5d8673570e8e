//! Demo 1: Langevin particles on 2-D densities, with exact, kernel-density and learned scores.

pub mod density;
pub mod gpu_particles;
pub mod learned_score;
pub mod metrics;
pub mod mlp2d;
pub mod params;
pub mod particles;
pub mod run;
pub mod samplers;
pub mod score;
pub mod tensor_particles;
