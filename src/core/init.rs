//! Weight initialisation from the run's own seed.
//!
//! burn's initialisers draw from the backend's RNG, which is global per backend (tests in
//! parallel threads share it) and differs between Flex and wgpu. Drawing initial weights from a
//! [`SeededRng`] makes a seed mean the same network on every backend and in every thread.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};

use crate::core::rng::SeededRng;

/// `n` draws from `U(-bound, bound)`.
pub fn uniform(n: usize, bound: f64, rng: &mut SeededRng) -> Vec<f32> {
    (0..n)
        .map(|_| (bound * (2.0 * rng.uniform() - 1.0)) as f32)
        .collect()
}

/// A `Linear` with the given `[d_input, d_output]` weight (row-major) and bias values.
pub fn linear_from(
    weight: Vec<f32>,
    bias: Vec<f32>,
    d_input: usize,
    d_output: usize,
    device: &Device,
) -> Linear {
    Linear {
        weight: Param::from_tensor(Tensor::<2>::from_data(
            TensorData::new(weight, [d_input, d_output]),
            device,
        )),
        bias: Some(Param::from_tensor(Tensor::<1>::from_data(
            TensorData::new(bias, [d_output]),
            device,
        ))),
    }
}

/// `U(-k, k)` with `k = 1/√fan_in`, burn's default for `Linear`, for weight and bias.
pub fn seeded_linear(
    d_input: usize,
    d_output: usize,
    rng: &mut SeededRng,
    device: &Device,
) -> Linear {
    let k = 1.0 / (d_input as f64).sqrt();
    let weight = uniform(d_input * d_output, k, rng);
    let bias = uniform(d_output, k, rng);
    linear_from(weight, bias, d_input, d_output, device)
}

/// A convolution from `config` with `U(-k, k)` weights and biases, `k = 1/√fan_in` (burn's
/// default initialiser's range for convolutions), drawn from `rng`.
pub fn seeded_conv2d(config: &Conv2dConfig, rng: &mut SeededRng, device: &Device) -> Conv2d {
    let [c_in, c_out] = config.channels;
    let [kh, kw] = config.kernel_size;
    let per_group = c_in / config.groups;
    let k = 1.0 / ((per_group * kh * kw) as f64).sqrt();
    let mut conv = config.clone().with_bias(false).init(device);
    conv.weight = Param::from_tensor(Tensor::<4>::from_data(
        TensorData::new(
            uniform(c_out * per_group * kh * kw, k, rng),
            [c_out, per_group, kh, kw],
        ),
        device,
    ));
    if config.bias {
        conv.bias = Some(Param::from_tensor(Tensor::<1>::from_data(
            TensorData::new(uniform(c_out, k, rng), [c_out]),
            device,
        )));
    }
    conv
}
