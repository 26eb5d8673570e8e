//! genlab: generative models written once in burn, run natively, in wasm on WebGPU and in wasm
//! on the CPU.

pub mod backend;
pub mod choice;
pub mod classifier;
pub mod csdi;
pub mod ddpm;
pub mod density;
pub mod diffusion;
pub mod evaluation;
pub mod fid;
pub mod generators;
pub mod gpu_particles;
pub mod idx;
pub mod init;
pub mod langevin;
pub mod learned_score;
pub mod metrics2d;
pub mod mlp2d;
pub mod npy;
pub mod particles;
pub mod rng;
pub mod samplers;
pub mod state;
pub mod tensor_particles;
pub mod timeseries;
pub mod unet;
pub mod vae;
pub mod weights;
pub mod workload;

#[cfg(target_arch = "wasm32")]
pub mod web;
#[cfg(target_arch = "wasm32")]
pub mod web_images;
#[cfg(target_arch = "wasm32")]
pub mod web_timeseries;
