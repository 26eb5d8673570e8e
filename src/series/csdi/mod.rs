//! CSDI (Tashiro et al. 2021): conditional score-based diffusion for imputing multivariate time
//! series, as the official code (ermongroup/CSDI) builds and trains it, on the data layer of
//! [`crate::series`].
//!
//! The network predicts the noise ε of the imputation targets from `[cond_obs, noisy_target]`
//! (the conditioning values, and the noised values elsewhere), the diffusion step and side
//! information (a sinusoidal embedding of the time position, a learned embedding of the feature,
//! the conditioning mask):
//!
//! ```text
//! [cond_obs, noisy_target] [B,L,K,2] → linear 2→C, ReLU
//!   → residual layer × layers:
//!        y = x + linear(diffusion embedding)
//!        y = time transformer (over L, per sample and feature)
//!        y = feature transformer (over K, per sample and time step)
//!        y = linear C→2C (y) + linear side→2C (side info)
//!        y = sigmoid(gate) · tanh(filter); linear C→2C → residual, skip
//!        x = (x + residual) / √2
//!   → Σ skip / √layers → linear C→C, ReLU → linear C→1 (zero weights) → ε̂ [B,L,K]
//! ```
//! Tensors keep the crate's `[len, features]` layout: windows are `[B, L, K]` (the official code
//! writes `[B, K, L]`), channels come last, and the official 1×1 convolutions are linear layers
//! over the channel axis. The transformer layers are PyTorch's `TransformerEncoderLayer` as the
//! official code configures it (post-norm, GELU feed-forward; no dropout here), built from
//! linear layers so that every weight is drawn from a [`crate::core::rng::SeededRng`]: a seed
//! means the same network on every backend. The side projection is applied in parts (time,
//! feature, mask): the same linear map as on the concatenated side information, without
//! materialising it.
//!
//! Training (`calc_loss`): a diffusion step `t` uniform in `0..T`, `x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε`,
//! loss `Σ ((ε − ε̂) · target)² / Σ target` over the targets (observed, not conditioning).
//! Imputation (`impute`): the ancestral reverse process from `x_T ~ N(0, I)` with the
//! conditioning values fixed, `σ_t² = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t)`. Every random number is
//! drawn on the host.
//!
//! The files, one concept each: `config` (the network's size and noise schedule, presets, the
//! official training settings), `network` (the layers), `model` (the network with its data's
//! identity and weights files), `batches` (a CSV prepared for training), `training` (the loss
//! and the optimisation step), `sampling` (the reverse process), `workload` (the calibration
//! step).

mod batches;
mod config;
mod model;
mod network;
mod sampling;
mod training;
mod workload;

pub use batches::{CsdiData, WindowBatch, SPLIT};
pub use config::{
    learning_rate_at, CsdiConfig, CsdiPreset, CsdiSchedule, BATCH, EPOCHS, FINE_TUNE_LEARNING_RATE,
    LEARNING_RATE, WEIGHT_DECAY,
};
pub use model::{Csdi, MODEL};
pub use network::{diffusion_step_embedding, time_position_embedding};
pub use sampling::{ImputationRun, Sampler, CPU_NSAMPLE_CAP};
pub use workload::{PAGE_CONFIG, WORKLOAD};
