//! CSDI (Tashiro et al. 2021): conditional score-based diffusion for imputing multivariate time
//! series, as the official code (ermongroup/CSDI) builds and trains it, on the data layer of
//! [`crate::series::data`].
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
//! linear layers so that every weight is drawn from a [`SeededRng`]: a seed means the same
//! network on every backend. The side projection is applied in parts (time, feature, mask):
//! the same linear map as on the concatenated side information, without materialising it.
//!
//! Training (`calc_loss`): a diffusion step `t` uniform in `0..T`, `x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε`,
//! loss `Σ ((ε − ε̂) · target)² / Σ target` over the targets (observed, not conditioning).
//! Imputation (`impute`): the ancestral reverse process from `x_T ~ N(0, I)` with the
//! conditioning values fixed, `σ_t² = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t)`. Every random number is
//! drawn on the host.

use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::{gelu, relu, sigmoid, silu, softmax};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::core::init::{linear_from, seeded_linear, uniform};
use crate::core::rng::SeededRng;
use crate::core::tensor::host_normal;
use crate::core::weights::{load_module, read_identity, save_module, PendingWeights};
use crate::series::data::{
    conditional_masks, hide_for_evaluation, windows, MaskStrategy, Normalizer, TimeSeries,
    TimeSplit, Window, WINDOW_LEN,
};

/// The model's registry name, as in weights files.
pub const MODEL: &str = "csdi";

/// The split of a CSV's rows by time: train, validation, test (the last 20 %, what
/// `genlab impute --split test` evaluates).
pub const SPLIT: (f64, f64, f64) = (0.7, 0.1, 0.2);

/// The official training settings: Adam at 1e-3 (weight decay 1e-6), batches of 16, 200
/// epochs, the learning rate ×0.1 at 75 % and at 90 % of the epochs.
pub const LEARNING_RATE: f64 = 1e-3;
pub const WEIGHT_DECAY: f32 = 1e-6;
pub const BATCH: usize = 16;
pub const EPOCHS: usize = 200;
/// Adam's rate when fine-tuning pretrained weights on another CSV: a tenth of the training
/// rate, as the official schedule ends its first phase.
pub const FINE_TUNE_LEARNING_RATE: f64 = LEARNING_RATE * 0.1;
/// The most samples per window the page draws on the CPU path (the GPU path draws what the
/// link asks for): each sample is a full reverse diffusion of the window.
pub const CPU_NSAMPLE_CAP: usize = 16;

/// The architecture and the noise schedule; written into weights files so that a file rebuilds
/// its own network.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CsdiConfig {
    /// Residual layers.
    pub layers: usize,
    /// Channels C of the residual layers.
    pub channels: usize,
    /// Width of the diffusion-step embedding (sinusoids and its two linear layers).
    pub diffusion_embedding: usize,
    /// Width of the sinusoidal embedding of the time position (side information).
    pub time_embedding: usize,
    /// Width of the learned feature embedding (side information).
    pub feature_embedding: usize,
    /// Attention heads of the time and feature transformers.
    pub heads: usize,
    /// Hidden width of the transformers' feed-forward layer.
    pub feed_forward: usize,
    /// Diffusion steps T.
    pub diffusion_steps: usize,
    /// β of the first and the last step; the schedule is quadratic in between:
    /// `β = linspace(√β_start, √β_end, T)²`.
    pub beta_start: f64,
    pub beta_end: f64,
}

impl CsdiConfig {
    /// The paper's (and the official `base.yaml`'s) network.
    pub const PAPER: CsdiConfig = CsdiConfig {
        layers: 4,
        channels: 64,
        diffusion_embedding: 128,
        time_embedding: 128,
        feature_embedding: 16,
        heads: 8,
        feed_forward: 64,
        diffusion_steps: 50,
        beta_start: 1e-4,
        beta_end: 0.5,
    };

    /// A lighter network for the browser's CPU path: half the layers and channels.
    pub const SMALL: CsdiConfig = CsdiConfig {
        layers: 2,
        channels: 32,
        diffusion_embedding: 64,
        time_embedding: 64,
        feature_embedding: 16,
        heads: 4,
        feed_forward: 64,
        ..CsdiConfig::PAPER
    };

    /// A network for tests, trained in seconds.
    pub const TINY: CsdiConfig = CsdiConfig {
        layers: 1,
        channels: 16,
        diffusion_embedding: 32,
        time_embedding: 32,
        feature_embedding: 8,
        heads: 2,
        feed_forward: 16,
        ..CsdiConfig::PAPER
    };

    /// Width of the side information: time embedding, feature embedding, conditioning mask.
    pub fn side_dim(&self) -> usize {
        self.time_embedding + self.feature_embedding + 1
    }

    pub fn check(&self) -> Result<(), String> {
        let problem = if self.layers == 0 || self.channels == 0 || self.heads == 0 {
            "layers, channels and heads must be positive"
        } else if !self.channels.is_multiple_of(self.heads) {
            "channels must be a multiple of heads"
        } else if self.diffusion_embedding < 4 || !self.diffusion_embedding.is_multiple_of(2) {
            "the diffusion embedding must be even and at least 4"
        } else if self.time_embedding == 0 || !self.time_embedding.is_multiple_of(2) {
            "the time embedding must be even and positive"
        } else if self.feature_embedding == 0 || self.feed_forward == 0 {
            "the feature embedding and the feed-forward width must be positive"
        } else if self.diffusion_steps < 2 {
            "at least 2 diffusion steps"
        } else if !(self.beta_start > 0.0
            && self.beta_start <= self.beta_end
            && self.beta_end < 1.0)
        {
            "β must satisfy 0 < β_start ≤ β_end < 1"
        } else {
            return Ok(());
        };
        Err(format!("CSDI configuration: {problem}"))
    }

    /// The JSON form weights files store.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain numbers serialise")
    }

    pub fn from_json(text: &str) -> Result<CsdiConfig, String> {
        let config: CsdiConfig =
            serde_json::from_str(text).map_err(|e| format!("CSDI configuration `{text}`: {e}"))?;
        config.check()?;
        Ok(config)
    }
}

crate::named_choice! {
    /// The configurations the CLI names.
    pub enum CsdiPreset {
        Paper = "paper",
        Small = "small",
        Tiny = "tiny",
    } default Paper
}

impl CsdiPreset {
    pub fn config(self) -> CsdiConfig {
        match self {
            CsdiPreset::Paper => CsdiConfig::PAPER,
            CsdiPreset::Small => CsdiConfig::SMALL,
            CsdiPreset::Tiny => CsdiConfig::TINY,
        }
    }

    /// The preset a configuration is, if any.
    pub fn of(config: &CsdiConfig) -> Option<CsdiPreset> {
        CsdiPreset::ALL
            .iter()
            .copied()
            .find(|p| p.config() == *config)
    }
}

/// The noise schedule: `β_t`, `α_t = 1 − β_t` (the official `alpha_hat`) and
/// `ᾱ_t = Π_{s≤t} α_s` (the official `alpha`), for `t` in `0..T`.
#[derive(Clone, Debug, PartialEq)]
pub struct CsdiSchedule {
    pub beta: Vec<f64>,
    pub alpha: Vec<f64>,
    pub alpha_bar: Vec<f64>,
}

impl CsdiSchedule {
    /// The quadratic schedule: `β = linspace(√β_start, √β_end, T)²`.
    pub fn quadratic(config: &CsdiConfig) -> CsdiSchedule {
        let steps = config.diffusion_steps;
        let (a, b) = (config.beta_start.sqrt(), config.beta_end.sqrt());
        let beta: Vec<f64> = (0..steps)
            .map(|t| (a + (b - a) * t as f64 / (steps - 1) as f64).powi(2))
            .collect();
        let alpha: Vec<f64> = beta.iter().map(|b| 1.0 - b).collect();
        let alpha_bar = alpha
            .iter()
            .scan(1.0, |product, a| {
                *product *= a;
                Some(*product)
            })
            .collect();
        CsdiSchedule {
            beta,
            alpha,
            alpha_bar,
        }
    }

    pub fn steps(&self) -> usize {
        self.beta.len()
    }

    /// The reverse step from `t`: `x ← coeff1 · (x − coeff2 · ε̂) + σ · z`, as the official
    /// `impute` (σ = 0 at `t = 0`).
    pub fn reverse(&self, t: usize) -> (f64, f64, f64) {
        let coeff1 = 1.0 / self.alpha[t].sqrt();
        let coeff2 = (1.0 - self.alpha[t]) / (1.0 - self.alpha_bar[t]).sqrt();
        let sigma = if t > 0 {
            ((1.0 - self.alpha_bar[t - 1]) / (1.0 - self.alpha_bar[t]) * self.beta[t]).sqrt()
        } else {
            0.0
        };
        (coeff1, coeff2, sigma)
    }
}

/// The official sinusoidal table of the diffusion step: `dim / 2` frequencies
/// `10^(4 j / (dim/2 − 1))`, sines then cosines. `[times.len(), dim]` row-major.
pub fn diffusion_step_embedding(times: &[usize], dim: usize) -> Vec<f32> {
    let half = dim / 2;
    let mut out = Vec::with_capacity(times.len() * dim);
    for &t in times {
        let angles: Vec<f64> = (0..half)
            .map(|j| t as f64 * 10f64.powf(4.0 * j as f64 / (half - 1) as f64))
            .collect();
        out.extend(angles.iter().map(|a| a.sin() as f32));
        out.extend(angles.iter().map(|a| a.cos() as f32));
    }
    out
}

/// The official embedding of time positions `0..len` (the transformer's positional encoding):
/// `pe[p][2i] = sin(p / 10000^(2i/dim))`, `pe[p][2i+1] = cos(…)`. `[len, dim]` row-major.
pub fn time_position_embedding(len: usize, dim: usize) -> Vec<f32> {
    let mut out = vec![0f32; len * dim];
    for p in 0..len {
        for i in (0..dim).step_by(2) {
            let angle = p as f64 / 10000f64.powf(i as f64 / dim as f64);
            out[p * dim + i] = angle.sin() as f32;
            if i + 1 < dim {
                out[p * dim + i + 1] = angle.cos() as f32;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Initialisation as PyTorch's (official code's), drawn from the run's own seed

/// `linear` over the last axis of `x`, on a `[rows, d_in]` view: burn's backward of a linear
/// layer on a higher-rank input broadcasts the weight per batch (about twice the time here).
fn dense<const D: usize>(linear: &Linear, x: Tensor<D>) -> Tensor<D> {
    let mut dims = x.dims();
    let d_in = dims[D - 1];
    let rows = x.shape().num_elements() / d_in.max(1);
    dims[D - 1] = linear.weight.dims()[1];
    linear.forward(x.reshape([rows, d_in])).reshape(dims)
}

/// `tanh x = 2 σ(2x) − 1`: on burn's CPU backend about three times faster than its `tanh`.
fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    sigmoid(x.mul_scalar(2.0)).mul_scalar(2.0).sub_scalar(1.0)
}

/// The official `Conv1d_with_init` (kernel 1): Kaiming-normal weights `N(0, 2 / fan_in)`,
/// PyTorch's default bias `U(±1/√fan_in)`.
fn kaiming_linear(d_in: usize, d_out: usize, rng: &mut SeededRng, device: &Device) -> Linear {
    let std = (2.0 / d_in as f64).sqrt();
    let weight = (0..d_in * d_out)
        .map(|_| (std * rng.normal()) as f32)
        .collect();
    let bias = uniform(d_out, 1.0 / (d_in as f64).sqrt(), rng);
    linear_from(weight, bias, d_in, d_out, device)
}

/// PyTorch's `MultiheadAttention` projections: Xavier-uniform input projection (q, k, v
/// stacked), zero biases; output projection `U(±1/√C)`, zero bias.
fn attention_projections(
    channels: usize,
    rng: &mut SeededRng,
    device: &Device,
) -> (Linear, Linear) {
    let bound = (6.0 / (channels + 3 * channels) as f64).sqrt();
    let qkv = linear_from(
        uniform(channels * 3 * channels, bound, rng),
        vec![0.0; 3 * channels],
        channels,
        3 * channels,
        device,
    );
    let out = linear_from(
        uniform(channels * channels, 1.0 / (channels as f64).sqrt(), rng),
        vec![0.0; channels],
        channels,
        channels,
        device,
    );
    (qkv, out)
}

// ---------------------------------------------------------------------------------------------
// The network

/// One post-norm transformer encoder layer (PyTorch's `TransformerEncoderLayer` with
/// `activation="gelu"`, without dropout): `x = norm1(x + attention(x))`,
/// `x = norm2(x + ff2(gelu(ff1(x))))`.
#[derive(Module, Debug)]
struct EncoderLayer {
    qkv: Linear,
    out: Linear,
    norm1: LayerNorm,
    ff1: Linear,
    ff2: Linear,
    norm2: LayerNorm,
    heads: usize,
}

impl EncoderLayer {
    fn new(config: &CsdiConfig, rng: &mut SeededRng, device: &Device) -> Self {
        let c = config.channels;
        let (qkv, out) = attention_projections(c, rng, device);
        Self {
            qkv,
            out,
            norm1: LayerNormConfig::new(c).init(device),
            ff1: seeded_linear(c, config.feed_forward, rng, device),
            ff2: seeded_linear(config.feed_forward, c, rng, device),
            norm2: LayerNormConfig::new(c).init(device),
            heads: config.heads,
        }
    }

    /// `[n, s, c]`: `n` sequences of `s` tokens.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [n, s, c] = x.dims();
        let (h, d) = (self.heads, c / self.heads);
        let qkv = dense(&self.qkv, x.clone());
        let head = |i: usize| {
            qkv.clone()
                .narrow(2, i * c, c)
                .reshape([n, s, h, d])
                .swap_dims(1, 2)
        };
        let q = head(0).mul_scalar(1.0 / (d as f64).sqrt());
        let weights = softmax(q.matmul(head(1).swap_dims(2, 3)), 3);
        let context = weights.matmul(head(2)).swap_dims(1, 2).reshape([n, s, c]);
        let x = self.norm1.forward(x + dense(&self.out, context));
        let ff = dense(&self.ff2, gelu(dense(&self.ff1, x.clone())));
        self.norm2.forward(x + ff)
    }
}

/// The side information of a batch, in the parts the side projection takes separately.
struct Side {
    /// `[L, time_embedding]`.
    time: Tensor<2>,
    /// `[K, feature_embedding]`.
    feature: Tensor<2>,
    /// `[B, L, K, 1]`: the conditioning mask.
    mask: Tensor<4>,
}

#[derive(Module, Debug)]
struct ResidualLayer {
    diffusion_projection: Linear,
    time_layer: EncoderLayer,
    feature_layer: EncoderLayer,
    mid_projection: Linear,
    /// The official `cond_projection`, side → 2C; rows: time embedding, feature embedding, mask.
    side_projection: Linear,
    output_projection: Linear,
}

impl ResidualLayer {
    fn new(config: &CsdiConfig, rng: &mut SeededRng, device: &Device) -> Self {
        let c = config.channels;
        Self {
            diffusion_projection: seeded_linear(config.diffusion_embedding, c, rng, device),
            side_projection: kaiming_linear(config.side_dim(), 2 * c, rng, device),
            mid_projection: kaiming_linear(c, 2 * c, rng, device),
            output_projection: kaiming_linear(c, 2 * c, rng, device),
            time_layer: EncoderLayer::new(config, rng, device),
            feature_layer: EncoderLayer::new(config, rng, device),
        }
    }

    /// The side projection `[B, L, K, 2C]`, as `linear(concat(time, feature, mask))`.
    fn side(&self, side: &Side) -> Tensor<4> {
        let w = self.side_projection.weight.val();
        let [l, t_dim] = side.time.dims();
        let [k, f_dim] = side.feature.dims();
        let out = w.dims()[1];
        let time = side
            .time
            .clone()
            .matmul(w.clone().narrow(0, 0, t_dim))
            .reshape([1, l, 1, out]);
        let feature = side
            .feature
            .clone()
            .matmul(w.clone().narrow(0, t_dim, f_dim))
            .reshape([1, 1, k, out]);
        let mask = w.narrow(0, t_dim + f_dim, 1).reshape([1, 1, 1, out]);
        let bias = self
            .side_projection
            .bias
            .as_ref()
            .expect("the side projection has a bias")
            .val()
            .reshape([1, 1, 1, out]);
        side.mask.clone() * mask + (time + feature + bias)
    }

    /// `x`: `[B, L, K, C]`; `diffusion`: `[B, E]`; `side`: this layer's [`ResidualLayer::side`]
    /// (`[B, L, K, 2C]`, or `[1, L, K, 2C]` when every window has the same mask).
    /// Returns the new `x` and the skip output.
    fn forward(
        &self,
        x: Tensor<4>,
        diffusion: Tensor<2>,
        side: Tensor<4>,
    ) -> (Tensor<4>, Tensor<4>) {
        let [b, l, k, c] = x.dims();
        let y = x.clone()
            + self
                .diffusion_projection
                .forward(diffusion)
                .reshape([b, 1, 1, c]);
        let y = if l > 1 {
            let y = y.swap_dims(1, 2).reshape([b * k, l, c]);
            self.time_layer
                .forward(y)
                .reshape([b, k, l, c])
                .swap_dims(1, 2)
        } else {
            y
        };
        let y = if k > 1 {
            self.feature_layer
                .forward(y.reshape([b * l, k, c]))
                .reshape([b, l, k, c])
        } else {
            y
        };
        let y = dense(&self.mid_projection, y) + side;
        let gate = y.clone().narrow(3, 0, c);
        let filter = y.narrow(3, c, c);
        let y = dense(&self.output_projection, sigmoid(gate) * tanh(filter));
        let residual = y.clone().narrow(3, 0, c);
        let skip = y.narrow(3, c, c);
        (
            (x + residual).mul_scalar(std::f64::consts::FRAC_1_SQRT_2),
            skip,
        )
    }
}

#[derive(Module, Debug)]
struct CsdiNet {
    input_projection: Linear,
    diffusion1: Linear,
    diffusion2: Linear,
    /// `[K, feature_embedding]` (the official `embed_layer`, `N(0, 1)`).
    feature_embedding: Param<Tensor<2>>,
    layers: Vec<ResidualLayer>,
    output1: Linear,
    output2: Linear,
    diffusion_dim: usize,
    time_dim: usize,
}

impl CsdiNet {
    fn new(config: &CsdiConfig, features: usize, rng: &mut SeededRng, device: &Device) -> Self {
        let c = config.channels;
        let e = config.diffusion_embedding;
        let input_projection = kaiming_linear(2, c, rng, device);
        let diffusion1 = seeded_linear(e, e, rng, device);
        let diffusion2 = seeded_linear(e, e, rng, device);
        let embedding: Vec<f32> = (0..features * config.feature_embedding)
            .map(|_| rng.normal() as f32)
            .collect();
        let layers = (0..config.layers)
            .map(|_| ResidualLayer::new(config, rng, device))
            .collect();
        let output1 = kaiming_linear(c, c, rng, device);
        let mut output2 = kaiming_linear(c, 1, rng, device);
        output2.weight = Param::from_tensor(output2.weight.val().zeros_like());
        Self {
            input_projection,
            diffusion1,
            diffusion2,
            feature_embedding: Param::from_tensor(Tensor::<2>::from_data(
                TensorData::new(embedding, [features, config.feature_embedding]),
                device,
            )),
            layers,
            output1,
            output2,
            diffusion_dim: e,
            time_dim: config.time_embedding,
        }
    }

    /// Each residual layer's projection of the side information (time and feature embeddings,
    /// the conditioning mask `cond` `[B, L, K]`): fixed while one window is imputed, so an
    /// imputation computes it once for all its reverse steps.
    fn side_projections(&self, cond: Tensor<3>) -> Vec<Tensor<4>> {
        let [b, l, k] = cond.dims();
        let side = Side {
            time: Tensor::<2>::from_data(
                TensorData::new(
                    time_position_embedding(l, self.time_dim),
                    [l, self.time_dim],
                ),
                &cond.device(),
            ),
            feature: self.feature_embedding.val(),
            mask: cond.reshape([b, l, k, 1]),
        };
        self.layers.iter().map(|layer| layer.side(&side)).collect()
    }

    /// ε̂ `[B, L, K]` from the conditioning values `cond_obs`, the noisy targets
    /// `noisy_target` (both zero elsewhere), the conditioning mask `cond` (all `[B, L, K]`) and
    /// each window's diffusion step.
    fn forward(
        &self,
        cond_obs: Tensor<3>,
        noisy_target: Tensor<3>,
        cond: Tensor<3>,
        times: &[usize],
    ) -> Tensor<3> {
        let sides = self.side_projections(cond);
        self.forward_with_sides(cond_obs, noisy_target, &sides, times)
    }

    /// [`CsdiNet::forward`] with the side projections already made.
    fn forward_with_sides(
        &self,
        cond_obs: Tensor<3>,
        noisy_target: Tensor<3>,
        sides: &[Tensor<4>],
        times: &[usize],
    ) -> Tensor<3> {
        let [b, l, k] = cond_obs.dims();
        let device = cond_obs.device();
        let x = Tensor::stack::<4>(vec![cond_obs, noisy_target], 3);
        let mut x = relu(dense(&self.input_projection, x));
        let steps = Tensor::<2>::from_data(
            TensorData::new(
                diffusion_step_embedding(times, self.diffusion_dim),
                [b, self.diffusion_dim],
            ),
            &device,
        );
        let diffusion = silu(
            self.diffusion2
                .forward(silu(self.diffusion1.forward(steps))),
        );
        let mut skips: Option<Tensor<4>> = None;
        for (layer, side) in self.layers.iter().zip(sides) {
            let (next, skip) = layer.forward(x, diffusion.clone(), side.clone());
            x = next;
            skips = Some(match skips {
                Some(sum) => sum + skip,
                None => skip,
            });
        }
        let h = skips
            .expect("at least one residual layer")
            .mul_scalar(1.0 / (self.layers.len() as f64).sqrt());
        let h = relu(dense(&self.output1, h));
        dense(&self.output2, h).reshape([b, l, k])
    }
}

// ---------------------------------------------------------------------------------------------
// Batches of windows

/// Windows of a normalised series for one training (or validation) step: `[B, L, K]` each.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowBatch {
    pub len: usize,
    pub features: usize,
    /// Normalised values, 0 where not observed.
    pub values: Vec<f32>,
    pub observed: Vec<bool>,
    /// The conditioning mask; the targets are `observed && !cond`.
    pub cond: Vec<bool>,
}

impl WindowBatch {
    pub fn windows(&self) -> usize {
        self.values.len() / (self.len * self.features).max(1)
    }

    /// Number of target cells (observed, not conditioning).
    pub fn targets(&self) -> usize {
        self.observed
            .iter()
            .zip(&self.cond)
            .filter(|(&o, &c)| o && !c)
            .count()
    }
}

/// A CSV prepared for training: split by time ([`SPLIT`]), normalised with statistics of the
/// training rows, cut into windows of [`WINDOW_LEN`] (every start in the training rows; tiled
/// in the validation rows, with [`crate::series::data::DEFAULT_EVAL_RATIO`] of their observed
/// values hidden by a fixed seed as the validation targets).
#[derive(Clone, Debug)]
pub struct CsdiData {
    pub names: Vec<String>,
    pub split: TimeSplit,
    pub normalizer: Normalizer,
    pub train_windows: Vec<Window>,
    pub valid_windows: Vec<Window>,
    normalized: Vec<f32>,
    observed: Vec<bool>,
    /// `[len, features]`: the conditioning of the validation windows.
    valid_cond: Vec<bool>,
    /// For the test-pattern strategy: the cells hidden at test time (`mask.csv`), or none (a
    /// fresh random pattern of `hide_ratio` per window).
    test_hidden: Option<Vec<bool>>,
    hide_ratio: f64,
}

/// The seed of the validation targets' draw.
const VALID_SEED: u64 = 0x0076_616c_6964;

impl CsdiData {
    pub fn new(series: &TimeSeries) -> Result<CsdiData, String> {
        let (train, valid, test) = SPLIT;
        let split = series.split_by_time(train, valid, test)?;
        if split.train.len() < WINDOW_LEN {
            return Err(format!(
                "training needs at least {WINDOW_LEN} rows in the training part (the first {:.0} %), \
                 this CSV has {} there ({} rows in all)",
                train * 100.0,
                split.train.len(),
                series.len()
            ));
        }
        let features = series.features();
        let normalizer = Normalizer::fit(series, split.train.clone());
        let normalized = normalizer.normalize(&series.values, &series.observed);
        let valid_windows = windows(split.valid.clone(), WINDOW_LEN, WINDOW_LEN);
        let mut valid_cond = series.observed.clone();
        let cells = split.valid.start * features..split.valid.end * features;
        let hidden = hide_for_evaluation(
            &series.observed[cells.clone()],
            crate::series::data::DEFAULT_EVAL_RATIO,
            VALID_SEED,
        );
        for (c, h) in valid_cond[cells].iter_mut().zip(hidden) {
            *c &= !h;
        }
        Ok(CsdiData {
            names: series.names.clone(),
            train_windows: windows(split.train.clone(), WINDOW_LEN, 1),
            valid_windows,
            split,
            normalizer,
            normalized,
            observed: series.observed.clone(),
            valid_cond,
            test_hidden: None,
            hide_ratio: crate::series::data::DEFAULT_EVAL_RATIO,
        })
    }

    pub fn features(&self) -> usize {
        self.names.len()
    }

    /// The test pattern of the test-pattern strategy: the cells a `mask.csv` hides
    /// (`[len, features]`), or, with `None`, a fresh draw of `hide_ratio` of each window's
    /// observed values.
    pub fn set_test_pattern(&mut self, hidden: Option<Vec<bool>>, hide_ratio: f64) {
        self.test_hidden = hidden;
        self.hide_ratio = hide_ratio;
    }

    /// The training windows in a shuffled order (Fisher–Yates).
    pub fn epoch_order(&self, rng: &mut SeededRng) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.train_windows.len()).collect();
        for i in (1..order.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        order
    }

    fn gather(&self, windows: &[Window], cond: Vec<Vec<bool>>) -> WindowBatch {
        let features = self.features();
        let mut batch = WindowBatch {
            len: WINDOW_LEN,
            features,
            values: Vec::with_capacity(windows.len() * WINDOW_LEN * features),
            observed: Vec::with_capacity(windows.len() * WINDOW_LEN * features),
            cond: cond.concat(),
        };
        for w in windows {
            batch
                .values
                .extend_from_slice(&self.normalized[w.cells(features)]);
            batch
                .observed
                .extend_from_slice(&self.observed[w.cells(features)]);
        }
        batch
    }

    /// Training windows `indices` with conditioning masks drawn by `strategy`.
    pub fn train_batch(
        &self,
        indices: &[usize],
        strategy: MaskStrategy,
        rng: &mut SeededRng,
    ) -> WindowBatch {
        let features = self.features();
        let windows: Vec<Window> = indices.iter().map(|&i| self.train_windows[i]).collect();
        let observed: Vec<Vec<bool>> = windows
            .iter()
            .map(|w| self.observed[w.cells(features)].to_vec())
            .collect();
        let patterns: Option<Vec<Vec<bool>>> = (strategy == MaskStrategy::TestPattern).then(|| {
            windows
                .iter()
                .zip(&observed)
                .map(|(w, o)| {
                    let hidden = match &self.test_hidden {
                        Some(hidden) => hidden[w.cells(features)].to_vec(),
                        None => hide_for_evaluation(o, self.hide_ratio, rng.next_u64()),
                    };
                    hidden.iter().map(|h| !h).collect()
                })
                .collect()
        });
        let cond = conditional_masks(strategy, &observed, patterns.as_deref(), rng);
        self.gather(&windows, cond)
    }

    /// The validation windows with their fixed targets; `None` when the validation rows are
    /// fewer than a window.
    pub fn valid_batch(&self) -> Option<WindowBatch> {
        if self.valid_windows.is_empty() {
            return None;
        }
        let features = self.features();
        let cond = self
            .valid_windows
            .iter()
            .map(|w| self.valid_cond[w.cells(features)].to_vec())
            .collect();
        Some(self.gather(&self.valid_windows, cond))
    }
}

// ---------------------------------------------------------------------------------------------
// The model

/// A CSDI network with its data's identity (column names, normalisation) and its optimiser.
pub struct Csdi {
    net: Option<CsdiNet>,
    optimizer: ModuleOptimizer,
    train_device: Device,
    config: CsdiConfig,
    schedule: CsdiSchedule,
    names: Vec<String>,
    normalizer: Normalizer,
    dataset: String,
    rng: SeededRng,
    learning_rate: f64,
    steps: usize,
    epochs: usize,
}

fn adam() -> ModuleOptimizer {
    AdamConfig::new()
        .with_epsilon(1e-8)
        .with_weight_decay(Some(WeightDecayConfig::new(WEIGHT_DECAY)))
        .init()
}

fn mask_values(mask: &[bool]) -> Vec<f32> {
    mask.iter().map(|&m| f32::from(u8::from(m))).collect()
}

impl Csdi {
    /// A fresh network for a series with the given column `names`, normalised by `normalizer`
    /// (fitted on the training rows). `dataset` names the data in the weights file.
    pub fn new(
        config: CsdiConfig,
        names: Vec<String>,
        normalizer: Normalizer,
        dataset: &str,
        device: &Device,
        seed: u64,
    ) -> Result<Csdi, String> {
        config.check()?;
        if names.is_empty()
            || normalizer.mean.len() != names.len()
            || normalizer.std.len() != names.len()
        {
            return Err(format!(
                "{} column name(s) but {} means and {} standard deviations",
                names.len(),
                normalizer.mean.len(),
                normalizer.std.len()
            ));
        }
        let train_device = device.clone().autodiff();
        let mut rng = SeededRng::new(seed ^ 0x6373_6469_2d61_6972);
        let net = CsdiNet::new(&config, names.len(), &mut rng, &train_device);
        Ok(Csdi {
            net: Some(net),
            optimizer: adam(),
            train_device,
            schedule: CsdiSchedule::quadratic(&config),
            config,
            names,
            normalizer,
            dataset: dataset.to_string(),
            rng,
            learning_rate: LEARNING_RATE,
            steps: 0,
            epochs: 0,
        })
    }

    /// A fresh network for the data of `data`.
    pub fn for_data(
        config: CsdiConfig,
        data: &CsdiData,
        dataset: &str,
        device: &Device,
        seed: u64,
    ) -> Result<Csdi, String> {
        Csdi::new(
            config,
            data.names.clone(),
            data.normalizer.clone(),
            dataset,
            device,
            seed,
        )
    }

    /// The model a weights file describes (architecture, columns, normalisation), loaded.
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Csdi, String> {
        let identity = read_identity(bytes)?;
        if identity.model != MODEL {
            return Err(format!(
                "these are weights of the `{}` model, not of `{MODEL}`",
                identity.model
            ));
        }
        let field = |key: &str| {
            identity
                .extra
                .get(key)
                .ok_or_else(|| format!("this {MODEL} weights file does not record its `{key}`"))
        };
        let config = CsdiConfig::from_json(field("config")?)?;
        let parse = |key: &str| -> Result<Vec<f32>, String> {
            serde_json::from_str(field(key)?).map_err(|e| format!("weights file: bad `{key}`: {e}"))
        };
        let names: Vec<String> = serde_json::from_str(field("names")?)
            .map_err(|e| format!("weights file: bad `names`: {e}"))?;
        let normalizer = Normalizer {
            mean: parse("mean")?,
            std: parse("std")?,
        };
        let mut model = Csdi::new(config, names, normalizer, &identity.dataset, device, 0)?;
        model.load(bytes)?;
        Ok(model)
    }

    /// Replaces the weights (and the recorded normalisation, steps and epochs) with a file's;
    /// refuses a file of another architecture or another number of features, leaving the
    /// current weights.
    pub fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let identity = read_identity(bytes)?;
        if identity.model != MODEL {
            return Err(format!(
                "these are weights of the `{}` model, not of `{MODEL}`",
                identity.model
            ));
        }
        if let Some(text) = identity.extra.get("config") {
            let config = CsdiConfig::from_json(text)?;
            if config != self.config {
                return Err(format!(
                    "these weights are for the CSDI network {}, this one is {}",
                    describe(&config),
                    describe(&self.config)
                ));
            }
        }
        let names: Option<Vec<String>> = identity
            .extra
            .get("names")
            .and_then(|n| serde_json::from_str(n).ok());
        if let Some(names) = &names {
            if names.len() != self.features() {
                return Err(format!(
                    "these weights are for {} features (value columns), this model has {}",
                    names.len(),
                    self.features()
                ));
            }
        }
        let stats = |key: &str| -> Option<Vec<f32>> {
            identity
                .extra
                .get(key)
                .and_then(|v| serde_json::from_str(v).ok())
        };
        let normalizer = match (stats("mean"), stats("std")) {
            (Some(mean), Some(std))
                if mean.len() == self.features() && std.len() == self.features() =>
            {
                Some(Normalizer { mean, std })
            }
            _ => None,
        };
        let (net, identity) = load_module(self.net(), bytes, MODEL, &identity.dataset)?;
        self.net = Some(net);
        if let Some(names) = names {
            self.names = names;
        }
        if let Some(normalizer) = normalizer {
            self.normalizer = normalizer;
        }
        self.dataset = identity.dataset.clone();
        let count = |key: &str| {
            identity
                .extra
                .get(key)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        };
        self.steps = count("steps");
        self.epochs = count("epochs");
        self.optimizer = adam();
        Ok(())
    }

    /// The weights with everything needed to rebuild and use the model, and `extra` entries.
    pub fn save(&self, extra: &[(&str, String)]) -> PendingWeights {
        let mut entries: Vec<(&str, String)> = vec![
            ("config", self.config.to_json()),
            ("names", json(&self.names)),
            ("mean", json(&self.normalizer.mean)),
            ("std", json(&self.normalizer.std)),
            ("steps", self.steps.to_string()),
            ("epochs", self.epochs.to_string()),
        ];
        entries.extend(extra.iter().cloned());
        save_module(self.net(), MODEL, &self.dataset, &entries)
    }

    /// Refuses a series whose number of value columns differs from the weights'.
    pub fn check_series(&self, series: &TimeSeries) -> Result<(), String> {
        if series.features() != self.features() {
            return Err(format!(
                "the weights were trained on {} value column(s), this CSV has {}: CSDI imputes \
                 only data with the columns it was trained on",
                self.features(),
                series.features()
            ));
        }
        Ok(())
    }

    /// Takes a new data set's columns and normalisation (fine-tuning on another CSV with the
    /// same number of columns).
    pub fn set_data(&mut self, data: &CsdiData, dataset: &str) -> Result<(), String> {
        if data.features() != self.features() {
            return Err(format!(
                "the weights were trained on {} value column(s), this CSV has {}",
                self.features(),
                data.features()
            ));
        }
        self.names = data.names.clone();
        self.normalizer = data.normalizer.clone();
        self.dataset = dataset.to_string();
        Ok(())
    }

    fn net(&self) -> &CsdiNet {
        self.net.as_ref().expect("network is present between steps")
    }

    pub fn config(&self) -> &CsdiConfig {
        &self.config
    }

    pub fn schedule(&self) -> &CsdiSchedule {
        &self.schedule
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn features(&self) -> usize {
        self.names.len()
    }

    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    pub fn dataset(&self) -> &str {
        &self.dataset
    }

    pub fn train_device(&self) -> &Device {
        &self.train_device
    }

    pub fn parameter_count(&self) -> usize {
        self.net().num_params()
    }

    pub fn steps_trained(&self) -> usize {
        self.steps
    }

    pub fn epochs_trained(&self) -> usize {
        self.epochs
    }

    pub fn set_epochs_trained(&mut self, epochs: usize) {
        self.epochs = epochs;
    }

    pub fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    /// Restarts the stream of diffusion steps and noise of training.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = SeededRng::new(seed ^ 0x6373_6469_2d61_6972);
    }

    fn batch_tensor(&self, values: Vec<f32>, batch: &WindowBatch, device: &Device) -> Tensor<3> {
        Tensor::<3>::from_data(
            TensorData::new(values, [batch.windows(), batch.len, batch.features]),
            device,
        )
    }

    /// The loss `Σ ((ε − ε̂) · target)² / max(Σ target, 1)` of `net` on `batch` at diffusion
    /// steps `times` with noise `noise`.
    fn loss(
        &self,
        net: &CsdiNet,
        batch: &WindowBatch,
        times: &[usize],
        noise: Tensor<3>,
        device: &Device,
    ) -> Tensor<1> {
        let b = batch.windows();
        let column = |f: &dyn Fn(f64) -> f64| {
            let v: Vec<f32> = times
                .iter()
                .map(|&t| f(self.schedule.alpha_bar[t]) as f32)
                .collect();
            Tensor::<3>::from_data(TensorData::new(v, [b, 1, 1]), device)
        };
        let x0 = self.batch_tensor(batch.values.clone(), batch, device);
        let cond = self.batch_tensor(mask_values(&batch.cond), batch, device);
        let target: Vec<f32> = batch
            .observed
            .iter()
            .zip(&batch.cond)
            .map(|(&o, &c)| f32::from(u8::from(o && !c)))
            .collect();
        let count = target.iter().sum::<f32>().max(1.0);
        let target = self.batch_tensor(target, batch, device);
        let noisy =
            x0.clone() * column(&|a| a.sqrt()) + noise.clone() * column(&|a| (1.0 - a).sqrt());
        let cond_obs = cond.clone() * x0;
        let noisy_target = (cond.clone().neg().add_scalar(1.0)) * noisy;
        let predicted = net.forward(cond_obs, noisy_target, cond, times);
        ((noise - predicted) * target)
            .square()
            .sum()
            .div_scalar(count as f64)
    }

    /// One optimisation step on `batch` (the official `calc_loss`): a diffusion step uniform in
    /// `0..T` per window, host-drawn noise. Returns the loss, not read back.
    pub fn train_step(&mut self, batch: &WindowBatch) -> Tensor<1> {
        assert_eq!(batch.features, self.features(), "batch of another width");
        let b = batch.windows();
        let total = self.schedule.steps() as u64;
        let times: Vec<usize> = (0..b).map(|_| self.rng.below(total) as usize).collect();
        let device = self.train_device.clone();
        let noise = host_normal([b, batch.len, batch.features], &mut self.rng, &device);
        let net = self.net.take().expect("network is present between steps");
        let loss = self.loss(&net, batch, &times, noise, &device);
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        self.net = Some(self.optimizer.step(self.learning_rate, net, grads));
        self.steps += 1;
        loss.detach()
    }

    /// The official validation loss (`calc_loss_valid`): the loss at every diffusion step
    /// `0..T`, averaged, with noise from `seed`. Not read back.
    pub fn validation_loss(&self, batch: &WindowBatch, seed: u64) -> Tensor<1> {
        self.loss_per_step(batch, seed).mean()
    }

    /// The loss on `batch` at each diffusion step `0..T` (`[T]`), with noise from `seed`.
    pub fn loss_per_step(&self, batch: &WindowBatch, seed: u64) -> Tensor<1> {
        let device = self.train_device.clone().inner();
        let net = self.net().valid();
        let b = batch.windows();
        let mut rng = SeededRng::new(seed);
        let losses: Vec<Tensor<1>> = (0..self.schedule.steps())
            .map(|t| {
                let noise = host_normal([b, batch.len, batch.features], &mut rng, &device);
                self.loss(&net, batch, &vec![t; b], noise, &device)
            })
            .collect();
        Tensor::cat(losses, 0)
    }

    /// `nsample` imputations of one window: `values` in data units and `cond` (which values
    /// are given), both `[len, features]`. Returns `[nsample, len, features]` in data units,
    /// the conditioning cells holding their given values; not read back. Random numbers come
    /// from `seed` only.
    pub fn impute(
        &self,
        values: &[f32],
        cond: &[bool],
        nsample: usize,
        seed: u64,
    ) -> Result<Tensor<3>, String> {
        let mut run = self.start_imputation(values, cond, nsample, seed)?;
        while run.remaining() > 0 {
            run.step();
        }
        Ok(run.result())
    }

    /// [`Csdi::impute`] one reverse step at a time, so that a page can show its progress and
    /// stay responsive between steps.
    pub fn start_imputation(
        &self,
        values: &[f32],
        cond: &[bool],
        nsample: usize,
        seed: u64,
    ) -> Result<ImputationRun, String> {
        let k = self.features();
        if nsample == 0 {
            return Err("ask for at least one sample".into());
        }
        if values.len() != cond.len() || values.is_empty() || !values.len().is_multiple_of(k) {
            return Err(format!(
                "a window is [len, {k}] values with a mask of the same shape; got {} values and {} mask cells",
                values.len(),
                cond.len()
            ));
        }
        let l = values.len() / k;
        let device = self.train_device.clone().inner();
        let x = self.normalizer.normalize(values, cond);
        let tensor = |v: &[f32], shape: [usize; 3]| {
            Tensor::<3>::from_data(TensorData::new(v.to_vec(), shape), &device)
        };
        // The window's mask and values once, `[1, L, K]`, broadcast over the samples; only the
        // network's input needs a row per sample.
        let cond_mask = tensor(&mask_values(cond), [1, l, k]);
        let mut rng = SeededRng::new(seed);
        let current = host_normal([nsample, l, k], &mut rng, &device);
        let net = self.net().valid();
        Ok(ImputationRun {
            sides: net.side_projections(cond_mask.clone()),
            net,
            schedule: self.schedule.clone(),
            cond_obs: tensor(&x.repeat(nsample), [nsample, l, k]),
            free: cond_mask.clone().neg().add_scalar(1.0),
            given: tensor(values, [1, l, k]),
            mean: tensor(&self.normalizer.mean, [1, 1, k]),
            std: tensor(&self.normalizer.std, [1, 1, k]),
            cond_mask,
            current,
            remaining: self.schedule.steps(),
            rng,
            shape: [nsample, l, k],
            device,
        })
    }

    /// [`Csdi::impute`], read back: `[nsample, len, features]` row-major in data units.
    pub async fn impute_values(
        &self,
        values: &[f32],
        cond: &[bool],
        nsample: usize,
        seed: u64,
    ) -> Result<Vec<f32>, String> {
        crate::core::training::read_f32(self.impute(values, cond, nsample, seed)?).await
    }
}

/// An imputation in progress: the reverse diffusion of one window's `nsample` draws.
pub struct ImputationRun {
    net: CsdiNet,
    /// The net's side projections of this window's mask (the same at every reverse step and
    /// for every sample).
    sides: Vec<Tensor<4>>,
    schedule: CsdiSchedule,
    /// The normalised given values, `[nsample, L, K]` (the network's input).
    cond_obs: Tensor<3>,
    /// The window's mask (1 = given), its complement and its values in data units: `[1, L, K]`.
    cond_mask: Tensor<3>,
    free: Tensor<3>,
    given: Tensor<3>,
    mean: Tensor<3>,
    std: Tensor<3>,
    current: Tensor<3>,
    remaining: usize,
    rng: SeededRng,
    shape: [usize; 3],
    device: Device,
}

impl ImputationRun {
    /// Reverse steps still to run.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// All reverse steps (the model's diffusion steps).
    pub fn total(&self) -> usize {
        self.schedule.steps()
    }

    /// Queues one reverse step (nothing once all have run).
    pub fn step(&mut self) {
        if self.remaining == 0 {
            return;
        }
        let t = self.remaining - 1;
        let predicted = self.net.forward_with_sides(
            self.cond_obs.clone(),
            self.free.clone() * self.current.clone(),
            &self.sides,
            &vec![t; self.shape[0]],
        );
        let (coeff1, coeff2, sigma) = self.schedule.reverse(t);
        let mut next = (self.current.clone() - predicted.mul_scalar(coeff2)).mul_scalar(coeff1);
        if sigma > 0.0 {
            next = next + host_normal(self.shape, &mut self.rng, &self.device).mul_scalar(sigma);
        }
        self.current = next;
        self.remaining = t;
    }

    /// One value of the current draws: reading it back waits for the queued steps (a GPU runs
    /// them asynchronously), so progress shown after it is true.
    pub fn probe(&self) -> Tensor<1> {
        self.current.clone().slice([0..1, 0..1, 0..1]).reshape([1])
    }

    /// The draws in data units, `[nsample, len, features]`, given cells holding their values
    /// (the draws so far when called early).
    pub fn result(self) -> Tensor<3> {
        let imputed = self.current * self.std + self.mean;
        imputed * self.free + self.given * self.cond_mask
    }
}

/// `4 layers × 64 channels, …` for messages.
fn describe(config: &CsdiConfig) -> String {
    match CsdiPreset::of(config) {
        Some(preset) => format!("`{preset}` ({})", config.to_json()),
        None => config.to_json(),
    }
}

/// The learning rate of epoch `epoch` (0-based) of `epochs`, as the official `MultiStepLR`:
/// `base`, ×0.1 from epoch `⌊0.75 E⌋`, ×0.01 from `⌊0.9 E⌋`.
pub fn learning_rate_at(base: f64, epoch: usize, epochs: usize) -> f64 {
    let p1 = (0.75 * epochs as f64) as usize;
    let p2 = (0.9 * epochs as f64) as usize;
    let drops = usize::from(epoch >= p1) + usize::from(epoch >= p2);
    base * 0.1f64.powi(drops as i32)
}

/// JSON text of a metadata entry.
fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("plain values serialise")
}

/// The network the page runs (the shipped weights'), so that `auto` calibrates what it will run.
pub const PAGE_CONFIG: CsdiConfig = CsdiConfig::SMALL;

/// The calibration and benchmark workload of CSDI: one training step of [`PAGE_CONFIG`] on a
/// fixed batch of 16 seeded random windows of 36 steps × 35 features (the shipped air-quality
/// data's shape), a third of the values hidden as targets.
pub const WORKLOAD: crate::core::training::WorkloadSpec = crate::core::training::WorkloadSpec {
    name: "csdi",
    summary: "CSDI training step (small network, 2 layers × 32 channels), 16 windows of 36×35",
    build: |device, seed| Box::new(CalibrationStep::new(device, seed)),
};

struct CalibrationStep {
    model: Csdi,
    batch: WindowBatch,
}

impl CalibrationStep {
    fn new(device: &Device, seed: u64) -> Self {
        let (windows, features) = (16, 35);
        let cells = windows * WINDOW_LEN * features;
        let mut rng = SeededRng::new(seed);
        let names = (0..features).map(|k| format!("feature {k}")).collect();
        let normalizer = Normalizer {
            mean: vec![0.0; features],
            std: vec![1.0; features],
        };
        let model = Csdi::new(
            PAGE_CONFIG,
            names,
            normalizer,
            "calibration",
            &device.clone().inner(),
            seed,
        )
        .expect("the paper configuration is valid");
        let batch = WindowBatch {
            len: WINDOW_LEN,
            features,
            values: (0..cells).map(|_| rng.normal() as f32).collect(),
            observed: vec![true; cells],
            cond: (0..cells).map(|_| rng.uniform() >= 1.0 / 3.0).collect(),
        };
        Self { model, batch }
    }
}

impl crate::core::training::Trainer for CalibrationStep {
    fn step(&mut self) -> Tensor<1> {
        self.model.train_step(&self.batch)
    }

    fn parameter_count(&self) -> usize {
        self.model.parameter_count()
    }
}
