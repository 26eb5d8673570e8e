//! The CSDI network as the official code builds it (see the module's diagram in
//! [`crate::series::csdi`]): the embeddings of the diffusion step and the time position,
//! PyTorch's initialisation drawn from the run's own seed, the transformer and residual layers.

use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::tensor::activation::{gelu, relu, sigmoid, silu, softmax};
use burn::tensor::{Device, Tensor, TensorData};

use crate::core::init::{linear_from, seeded_linear, uniform};
use crate::core::rng::SeededRng;
use crate::series::csdi::config::CsdiConfig;

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
pub(super) struct CsdiNet {
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
    pub(super) fn new(
        config: &CsdiConfig,
        features: usize,
        rng: &mut SeededRng,
        device: &Device,
    ) -> Self {
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
    pub(super) fn side_projections(&self, cond: Tensor<3>) -> Vec<Tensor<4>> {
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
    pub(super) fn forward(
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
    pub(super) fn forward_with_sides(
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
