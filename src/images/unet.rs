//! The noise-prediction network of the diffusion model: a small U-Net for 28×28 images.
//!
//! Cost decides the layout. Every model step here runs on a laptop GPU in the page, on the
//! CPU in wasm, and is trained natively on a CPU, so the 28×28 grid is folded into 14×14×4
//! (space-to-depth, free) before the first convolution and unfolded after the last: the
//! network works at 14×14 and 7×7, where a 3×3 convolution costs a quarter of what it would at
//! full resolution.
//!
//! ```text
//! x [n,1,28,28] → fold [n,4,14,14] → conv(4→c₀)
//!   → res(c₀) ──────────────────────────────┐ skip
//!   → conv stride 2 (c₀→c₁) [7×7] → res(c₁) → res(c₁)
//!   → nearest ×2, conv(c₁→c₀) [14×14] → concat ┘ → res(2c₀→c₀)
//!   → GroupNorm, SiLU, conv(c₀→4) → unfold [n,1,28,28]
//! ```
//! Each residual block takes the embedding of the timestep (sinusoidal, then a two-layer MLP)
//! plus the embedding of the class, whose extra last row is the "no class" token that
//! classifier-free guidance trains with label dropout.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, Linear, PaddingConfig2d};
use burn::tensor::activation::silu;
use burn::tensor::{Device, Tensor, TensorData};

use crate::core::init::{seeded_conv2d, seeded_linear};
use crate::core::rng::SeededRng;
use crate::images::datasets::{CLASSES, SIDE};
use crate::images::diffusion::timestep_embedding;

/// The class index that means "unconditional".
pub const NULL_CLASS: usize = CLASSES;
/// Width of the sinusoidal timestep features.
const SINUSOID: usize = 64;
const HALF: usize = SIDE / 2;

/// The U-Net's widths; written into weights files so a file rebuilds its own network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UNetConfig {
    /// Channels at 14×14 and at 7×7.
    pub channels: [usize; 2],
    /// Width of the timestep + class embedding.
    pub embedding: usize,
}

impl Default for UNetConfig {
    fn default() -> Self {
        Self {
            channels: [16, 48],
            embedding: 128,
        }
    }
}

impl UNetConfig {
    /// `"16,48,128"`: the form weights files and the CLI use.
    pub fn to_text(self) -> String {
        format!(
            "{},{},{}",
            self.channels[0], self.channels[1], self.embedding
        )
    }

    pub fn from_text(text: &str) -> Result<Self, String> {
        let numbers: Vec<usize> = text
            .split(',')
            .map(|n| n.trim().parse::<usize>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("U-Net widths `{text}`: expected three numbers like 32,64,128"))?;
        match numbers[..] {
            [c0, c1, embedding] if c0.is_multiple_of(8) && c1.is_multiple_of(8) && embedding > 0 => Ok(Self {
                channels: [c0, c1],
                embedding,
            }),
            _ => Err(format!(
                "U-Net widths `{text}`: expected three numbers, channels multiples of 8 (group norm)"
            )),
        }
    }
}

fn conv3(c_in: usize, c_out: usize, stride: usize, rng: &mut SeededRng, device: &Device) -> Conv2d {
    let config = Conv2dConfig::new([c_in, c_out], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1));
    seeded_conv2d(&config, rng, device)
}

fn conv1(c_in: usize, c_out: usize, rng: &mut SeededRng, device: &Device) -> Conv2d {
    seeded_conv2d(&Conv2dConfig::new([c_in, c_out], [1, 1]), rng, device)
}

/// A convolution whose weights start at zero: a residual branch then starts as the identity,
/// and the output starts predicting no noise (Dhariwal & Nichol's "zero module").
fn zeroed(mut conv: Conv2d) -> Conv2d {
    conv.weight = Param::from_tensor(conv.weight.val().zeros_like());
    conv.bias = conv.bias.map(|b| Param::from_tensor(b.val().zeros_like()));
    conv
}

fn group_norm(channels: usize, device: &Device) -> GroupNorm {
    GroupNormConfig::new(8, channels).init(device)
}

#[derive(Module, Debug)]
struct ResBlock {
    norm1: GroupNorm,
    conv1: Conv2d,
    embedding: Linear,
    norm2: GroupNorm,
    conv2: Conv2d,
    skip: Option<Conv2d>,
}

impl ResBlock {
    fn new(
        c_in: usize,
        c_out: usize,
        embedding: usize,
        rng: &mut SeededRng,
        device: &Device,
    ) -> Self {
        Self {
            norm1: group_norm(c_in, device),
            conv1: conv3(c_in, c_out, 1, rng, device),
            embedding: seeded_linear(embedding, c_out, rng, device),
            norm2: group_norm(c_out, device),
            conv2: zeroed(conv3(c_out, c_out, 1, rng, device)),
            skip: (c_in != c_out).then(|| conv1(c_in, c_out, rng, device)),
        }
    }

    fn forward(&self, x: Tensor<4>, embedding: Tensor<2>) -> Tensor<4> {
        let [n, _, _, _] = x.dims();
        let h = self.conv1.forward(silu(self.norm1.forward(x.clone())));
        let c = h.dims()[1];
        let h = h + self.embedding.forward(embedding).reshape([n, c, 1, 1]);
        let h = self.conv2.forward(silu(self.norm2.forward(h)));
        let skip = match &self.skip {
            Some(conv) => conv.forward(x),
            None => x,
        };
        h + skip
    }
}

#[derive(Module, Debug)]
pub struct UNet {
    time1: Linear,
    time2: Linear,
    /// `[CLASSES + 1, embedding]`: one row per class and the null class last.
    classes: Param<Tensor<2>>,
    input: Conv2d,
    res_high: ResBlock,
    down: Conv2d,
    res_low: ResBlock,
    res_middle: ResBlock,
    up: Conv2d,
    res_up: ResBlock,
    out_norm: GroupNorm,
    output: Conv2d,
}

/// `[n, 1, 28, 28]` → `[n, 4, 14, 14]`: each 2×2 patch becomes four channels.
fn fold(x: Tensor<4>) -> Tensor<4> {
    let [n, _, _, _] = x.dims();
    x.reshape([n, 1, HALF, 2, HALF, 2])
        .permute([0, 1, 3, 5, 2, 4])
        .reshape([n, 4, HALF, HALF])
}

/// The inverse of [`fold`].
fn unfold(x: Tensor<4>) -> Tensor<4> {
    let [n, _, _, _] = x.dims();
    x.reshape([n, 1, 2, 2, HALF, HALF])
        .permute([0, 1, 4, 2, 5, 3])
        .reshape([n, 1, SIDE, SIDE])
}

/// Nearest-neighbour upsampling by 2.
fn upsample(x: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    x.reshape([n, c, h, 1, w, 1])
        .expand([n, c, h, 2, w, 2])
        .reshape([n, c, 2 * h, 2 * w])
}

impl UNet {
    pub fn new(config: UNetConfig, rng: &mut SeededRng, device: &Device) -> Self {
        let [c0, c1] = config.channels;
        let e = config.embedding;
        let classes: Vec<f32> = (0..(CLASSES + 1) * e)
            .map(|_| rng.normal() as f32)
            .collect();
        Self {
            time1: seeded_linear(SINUSOID, e, rng, device),
            time2: seeded_linear(e, e, rng, device),
            classes: Param::from_tensor(Tensor::<2>::from_data(
                TensorData::new(classes, [CLASSES + 1, e]),
                device,
            )),
            input: conv3(4, c0, 1, rng, device),
            res_high: ResBlock::new(c0, c0, e, rng, device),
            down: conv3(c0, c1, 2, rng, device),
            res_low: ResBlock::new(c1, c1, e, rng, device),
            res_middle: ResBlock::new(c1, c1, e, rng, device),
            up: conv3(c1, c0, 1, rng, device),
            res_up: ResBlock::new(2 * c0, c0, e, rng, device),
            out_norm: group_norm(c0, device),
            output: zeroed(conv3(c0, 4, 1, rng, device)),
        }
    }

    /// The predicted noise `[n, 1, 28, 28]` of noisy images `x` at `times` (host numbers), for
    /// `classes` (`NULL_CLASS` for none).
    pub fn forward(&self, x: Tensor<4>, times: &[usize], classes: &[usize]) -> Tensor<4> {
        let device = x.device();
        let n = times.len();
        let sinusoid = Tensor::<2>::from_data(
            TensorData::new(timestep_embedding(times, SINUSOID), [n, SINUSOID]),
            &device,
        );
        let mut one_hot = vec![0f32; n * (CLASSES + 1)];
        for (row, &class) in classes.iter().enumerate() {
            one_hot[row * (CLASSES + 1) + class] = 1.0;
        }
        let one_hot = Tensor::<2>::from_data(TensorData::new(one_hot, [n, CLASSES + 1]), &device);
        let embedding = self.time2.forward(silu(self.time1.forward(sinusoid)))
            + one_hot.matmul(self.classes.val());

        let high = self
            .res_high
            .forward(self.input.forward(fold(x)), embedding.clone());
        let low = self
            .res_low
            .forward(self.down.forward(high.clone()), embedding.clone());
        let low = self.res_middle.forward(low, embedding.clone());
        let up = self.up.forward(upsample(low));
        let h = self
            .res_up
            .forward(Tensor::cat(vec![up, high], 1), embedding);
        unfold(self.output.forward(silu(self.out_norm.forward(h))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_and_unfold_are_inverse_and_group_two_by_two_patches() {
        let device = Device::flex();
        let values: Vec<f32> = (0..2 * 784).map(|v| v as f32).collect();
        let x = Tensor::<4>::from_data(TensorData::new(values.clone(), [2, 1, 28, 28]), &device);
        let folded = fold(x);
        let data = folded.clone().into_data().try_to_vec::<f32>().unwrap();
        // Channel (dy, dx) of patch (0, 0) holds pixel (dy, dx).
        assert_eq!(
            [data[0], data[196], data[2 * 196], data[3 * 196]],
            [0.0, 1.0, 28.0, 29.0]
        );
        let back = unfold(folded).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(back, values);
    }

    #[test]
    fn upsample_repeats_each_pixel_in_a_two_by_two_block() {
        let device = Device::flex();
        let x = Tensor::<4>::from_data(
            TensorData::new(vec![1f32, 2., 3., 4.], [1, 1, 2, 2]),
            &device,
        );
        let data = upsample(x).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(
            data,
            vec![1., 1., 2., 2., 1., 1., 2., 2., 3., 3., 4., 4., 3., 3., 4., 4.]
        );
    }

    #[test]
    fn widths_round_trip_through_text() {
        let config = UNetConfig::default();
        assert_eq!(UNetConfig::from_text(&config.to_text()), Ok(config));
        assert!(UNetConfig::from_text("30,64,128").is_err());
        assert!(UNetConfig::from_text("32,64").is_err());
    }
}
