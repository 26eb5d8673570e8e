//! A 2-D score network learned live by denoising score matching on exact samples of the target,
//! with the techniques of NCSN-v2 (Song & Ermon 2020, "Improved techniques for training
//! score-based generative models"): σ_1 from the extent of the data, a geometric schedule whose
//! ratio keeps neighbouring levels overlapping, a sampler step size from the variance recursion
//! of annealed Langevin dynamics, the `s_θ(x, σ) = f_θ(x, log σ)/σ` parameterisation and an EMA
//! of the weights.
//!
//! An image network can read the noise level off ‖x‖, which concentrates at √D σ in D ≈ 10³
//! dimensions; in two dimensions ‖x‖ says little about σ, so this network is told the level: it
//! takes (x, log σ) and its output is divided by σ.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::silu;
use burn::tensor::{Device, Tensor, TensorData};

use crate::core::init::seeded_linear;
use crate::core::rng::SeededRng;
use crate::core::training::Trainer;
use crate::langevin::density::Mixture;
use crate::langevin::samplers::geometric_levels;
use crate::langevin::score::ScoreField;
use crate::langevin::tensor_particles::{points_tensor, read_pairs, TensorScore};

/// The overlap NCSN-v2 asks of neighbouring noise levels.
pub const LEVEL_OVERLAP: f64 = 0.5;
const DATA_DIM: usize = 2;
const WIDTH: usize = 128;
const BATCH: usize = 256;
/// Measured on gmm150 and two-modes: 1e-3 needs twice the steps for the same error, 1e-2
/// plateaus higher on two-modes.
const LEARNING_RATE: f64 = 3e-3;
const EMA_DECAY: f64 = 0.999;

/// Φ, the standard normal CDF.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// `erfc` with a fractional error below 1.2e-7 everywhere (the Chebyshev fit of Numerical
/// Recipes, §6.2); std has no `erf`.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = [
        -1.265_512_23,
        1.000_023_68,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ]
    .iter()
    .rev()
    .fold(0.0, |acc, c| c + t * acc);
    let tail = t * (-z * z + poly).exp();
    if x >= 0.0 {
        tail
    } else {
        2.0 - tail
    }
}

/// NCSN-v2's overlap of two noise levels whose scales differ by `ratio` = σ_to/σ_from: the
/// probability that ‖x‖, `x ~ N(0, σ_from² I)`, lies within three standard deviations of the
/// typical norm at σ_to, with ‖x‖ ≈ N(√D σ, σ²/2) (the paper's Proposition 2).
pub fn shell_overlap(dim: usize, ratio: f64) -> f64 {
    let drift = (2.0 * dim as f64).sqrt() * (ratio - 1.0);
    normal_cdf(drift + 3.0 * ratio) - normal_cdf(drift - 3.0 * ratio)
}

/// NCSN-v2 technique 3: the largest ratio γ = σ_{i-1}/σ_i at which neighbouring levels overlap
/// by `overlap` both ways.
///
/// The paper's condition is `shell_overlap(D, γ) ≈ C`: the smaller level's norms landing in the
/// larger level's shell. For D ≤ 4 that shell reaches down to the origin, so this overlap never
/// falls to C (it rises towards 1), and for D = 5, 6 it reaches C only at γ ≈ 19, 7. The mirrored
/// overlap `shell_overlap(D, 1/γ)`, the larger level's norms landing in the smaller level's shell,
/// falls from Φ(3) − Φ(−3) to 0 in every dimension and is the one that binds; in image dimensions
/// the two agree (D = 3072: γ = 1.0383 here, 1.0398 from the paper's equation alone).
pub fn overlap_gamma(dim: usize, overlap: f64) -> f64 {
    let both_ways = |gamma: f64| shell_overlap(dim, gamma).min(shell_overlap(dim, 1.0 / gamma));
    assert!(
        overlap > 0.0 && overlap < both_ways(1.0),
        "an overlap of {overlap} is not reachable: it must lie in (0, {})",
        both_ways(1.0)
    );
    let mut high = 2.0;
    while both_ways(high) >= overlap {
        high *= 2.0;
    }
    let mut low = 1.0;
    for _ in 0..100 {
        let mid = 0.5 * (low + high);
        if both_ways(mid) >= overlap {
            low = mid;
        } else {
            high = mid;
        }
    }
    low
}

/// NCSN-v2 technique 4: the ε that brings `s_T²/σ_i²` closest to 1 after T steps per level, in
/// the paper's convention `x + α s + √(2α) z` with `α = ε σ_i²/σ_L²`. (The NCSN-v1 form
/// `x + (α/2) s + √α z` takes 2ε.)
///
/// In `u = ε/σ_L²` the paper's ratio is `(1−u)^{2T} γ² + (1 − (1−u)^{2T}) / (1 − u/2)`: a
/// weighted mean of where the chain started and the discretised chain's stationary ratio, both
/// above 1 when γ > 1, so it never reaches 1. It falls as larger steps forget the start, then
/// rises with the discretisation bias; its minimum is found by bisection on the sign of its
/// derivative.
pub fn variance_eps(gamma: f64, sigma_last: f64, steps_per_level: usize) -> f64 {
    let two_t = 2.0 * steps_per_level as f64;
    let slope = |u: f64| {
        let stationary = 1.0 / (1.0 - 0.5 * u);
        let d_stationary = 0.5 * stationary * stationary;
        let kept = (1.0 - u).powf(two_t);
        let d_kept = -two_t * (1.0 - u).powf(two_t - 1.0);
        d_kept * (gamma * gamma - stationary) + (1.0 - kept) * d_stationary
    };
    let (mut low, mut high) = (0.0, 1.0);
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if slope(mid) < 0.0 {
            low = mid;
        } else {
            high = mid;
        }
    }
    0.5 * (low + high) * sigma_last * sigma_last
}

/// Noise levels σ_1 > … > σ_L with the sampler settings that go with them.
#[derive(Clone, Debug, PartialEq)]
pub struct AnnealingSchedule {
    pub sigmas: Vec<f64>,
    /// σ_{i-1}/σ_i of `sigmas`.
    pub gamma: f64,
    pub steps_per_level: usize,
    /// ε for [`crate::langevin::samplers`]' annealed sampler, which takes NCSN-v1's form
    /// `x + (α/2) s + √α z` with `α = ε σ_i²/σ_L²`: twice NCSN-v2's ε from [`variance_eps`], so
    /// that its steps are the ones technique 4 chose.
    pub eps: f64,
}

/// NCSN-v2 techniques 1, 3 and 4 for 2-D data: σ_1 is the largest pairwise distance of `data`,
/// the levels fall geometrically to `sigma_min` with the ratio rounded down from
/// [`overlap_gamma`] so they end exactly there (more overlap, never less), and `step_budget` is
/// shared evenly between the levels, ε from [`variance_eps`].
pub fn ncsn_v2_schedule(
    data: &[[f64; 2]],
    sigma_min: f64,
    step_budget: usize,
) -> AnnealingSchedule {
    assert!(sigma_min > 0.0, "σ_min = {sigma_min} must be positive");
    let sigma_max = largest_pairwise_distance(data);
    let overlap_ratio = overlap_gamma(DATA_DIM, LEVEL_OVERLAP);
    let (levels, gamma) = if sigma_max > sigma_min {
        let span = (sigma_max / sigma_min).ln();
        let gaps = (span / overlap_ratio.ln()).ceil().max(1.0);
        (gaps as usize + 1, (span / gaps).exp())
    } else {
        (1, overlap_ratio)
    };
    let steps_per_level = (step_budget / levels).max(1);
    AnnealingSchedule {
        sigmas: geometric_levels(sigma_max.max(sigma_min), sigma_min, levels),
        gamma,
        steps_per_level,
        eps: 2.0 * variance_eps(gamma, sigma_min, steps_per_level),
    }
}

/// `f_θ(x, log σ)`: 3 → 128 → 128 → 2 with SiLU.
#[derive(Module, Debug)]
struct NoiseConditionedMlp {
    input: Linear,
    hidden: Linear,
    output: Linear,
}

impl NoiseConditionedMlp {
    fn new(rng: &mut SeededRng, device: &Device) -> Self {
        Self {
            input: seeded_linear(DATA_DIM + 1, WIDTH, rng, device),
            hidden: seeded_linear(WIDTH, WIDTH, rng, device),
            output: seeded_linear(WIDTH, DATA_DIM, rng, device),
        }
    }

    /// Rows of `(standardised x, log σ)`.
    fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        let h = silu(self.input.forward(input));
        let h = silu(self.hidden.forward(h));
        self.output.forward(h)
    }

    /// `decay · self + (1 − decay) · live`, parameter by parameter.
    fn blend(self, live: &Self, decay: f64) -> Self {
        Self {
            input: blend_linear(self.input, &live.input, decay),
            hidden: blend_linear(self.hidden, &live.hidden, decay),
            output: blend_linear(self.output, &live.output, decay),
        }
    }
}

fn blend_linear(average: Linear, live: &Linear, decay: f64) -> Linear {
    Linear {
        weight: blend_param(average.weight, &live.weight, decay),
        bias: average
            .bias
            .zip(live.bias.as_ref())
            .map(|(a, l)| blend_param(a, l, decay)),
    }
}

fn blend_param<const D: usize>(
    average: Param<Tensor<D>>,
    live: &Param<Tensor<D>>,
    decay: f64,
) -> Param<Tensor<D>> {
    let live = live.val().inner();
    average.map(|a| a.mul_scalar(decay) + live.mul_scalar(1.0 - decay))
}

/// A score network for one target, trained step by step, scoring with the EMA of its weights.
pub struct LearnedScore {
    model: Option<NoiseConditionedMlp>,
    average: Option<NoiseConditionedMlp>,
    optimizer: ModuleOptimizer,
    train_device: Device,
    device: Device,
    target: Mixture,
    sigmas: Vec<f64>,
    data_mean: [f64; 2],
    data_variance: f64,
    rng: SeededRng,
    steps: usize,
}

impl LearnedScore {
    /// A fresh network for `target` over the levels `sigmas`, trained on `device.autodiff()`;
    /// the weights and every batch come from `seed`.
    pub fn new(device: &Device, target: &Mixture, sigmas: Vec<f64>, seed: u64) -> Self {
        assert!(
            !sigmas.is_empty() && sigmas.iter().all(|s| *s > 0.0 && s.is_finite()),
            "noise levels must be positive: {sigmas:?}"
        );
        let train_device = device.clone().autodiff();
        let device = device.clone().inner();
        let mut rng = SeededRng::new(seed ^ 0x6e63_736e_7632);
        let model = NoiseConditionedMlp::new(&mut rng, &train_device);
        let average = model.valid();
        let (data_mean, data_variance) = moments(target);
        Self {
            model: Some(model),
            average: Some(average),
            optimizer: AdamConfig::new().init(),
            train_device,
            device,
            target: target.clone(),
            sigmas,
            data_mean,
            data_variance,
            rng,
            steps: 0,
        }
    }

    pub fn sigmas(&self) -> &[f64] {
        &self.sigmas
    }

    /// The (non-autodiff) device the network scores on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn steps_trained(&self) -> usize {
        self.steps
    }

    /// The network sees `(x − mean)/√(σ² + var)`: unit-scale inputs at every level (EDM's
    /// `c_in`), so the largest levels do not saturate the first layer.
    fn input_scale(&self, sigma: f64) -> f64 {
        1.0 / (sigma * sigma + self.data_variance).sqrt()
    }

    /// Network inputs for fresh exact samples, each noised at a level drawn uniformly from the
    /// schedule, and the standard-normal noise that was added.
    fn batch(&mut self) -> (Vec<f32>, Vec<f32>) {
        let mut inputs = Vec::with_capacity(BATCH * (DATA_DIM + 1));
        let mut noise = Vec::with_capacity(BATCH * DATA_DIM);
        for clean in self.target.sample(BATCH, &mut self.rng) {
            let sigma = self.sigmas[self.rng.below(self.sigmas.len() as u64) as usize];
            let scale = self.input_scale(sigma);
            for (axis, x) in clean.iter().enumerate() {
                let z = self.rng.normal();
                inputs.push(((x + sigma * z - self.data_mean[axis]) * scale) as f32);
                noise.push(z as f32);
            }
            inputs.push(sigma.ln() as f32);
        }
        (inputs, noise)
    }

    /// One denoising-score-matching step. The loss comes back unread: reading it here would
    /// stall a GPU, and on wasm a synchronous read panics.
    pub fn train_step(&mut self) -> Tensor<1> {
        let (inputs, noise) = self.batch();
        let inputs = Tensor::<2>::from_data(
            TensorData::new(inputs, [BATCH, DATA_DIM + 1]),
            &self.train_device,
        );
        let noise = Tensor::<2>::from_data(
            TensorData::new(noise, [BATCH, DATA_DIM]),
            &self.train_device,
        );
        let model = self.model.take().expect("model is present between steps");
        // x̃ = x + σz has DSM target −z/σ; with s = f/σ and weight λ(σ) = σ²,
        // ½λ‖s + z/σ‖² = ½‖f + z‖², the same scale at every level.
        let loss = (model.forward(inputs) + noise)
            .square()
            .sum_dim(1)
            .mean()
            .mul_scalar(0.5);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let model = self.optimizer.step(LEARNING_RATE, model, grads);
        self.steps += 1;
        // The page scores while it trains: the warm-up (TensorFlow's `num_updates`) keeps the
        // random initial weights from dominating the average for the first thousand steps.
        let decay = EMA_DECAY.min((1.0 + self.steps as f64) / (10.0 + self.steps as f64));
        let average = self
            .average
            .take()
            .expect("average is present between steps");
        self.average = Some(average.blend(&model, decay));
        self.model = Some(model);
        loss.detach()
    }

    /// `s(x, σ)` from the averaged weights, without an autodiff graph, on the inner device `x`
    /// lives on. Below the smallest level the network has never trained, so σ is raised to it
    /// (σ = 0 asks for the target itself).
    pub fn score_tensor(&self, x: Tensor<2>, sigma: f64) -> Tensor<2> {
        let sigma = sigma.max(*self.sigmas.last().expect("at least one level"));
        let x = x.inner();
        let device = x.device();
        let [n, _] = x.dims();
        let mean = Tensor::<2>::from_data(
            TensorData::new(
                vec![self.data_mean[0] as f32, self.data_mean[1] as f32],
                [1, DATA_DIM],
            ),
            &device,
        );
        let standardised = (x - mean).mul_scalar(self.input_scale(sigma));
        let log_sigma = Tensor::<2>::full([n, 1], sigma.ln(), &device);
        self.average
            .as_ref()
            .expect("average is present between steps")
            .forward(Tensor::cat(vec![standardised, log_sigma], 1))
            .div_scalar(sigma)
    }
}

/// The mean and the per-axis variance (averaged over the axes) of a mixture.
fn moments(mixture: &Mixture) -> ([f64; 2], f64) {
    let mut mean = [0.0; 2];
    let mut second = [0.0; 2];
    for c in mixture.components() {
        for axis in 0..2 {
            mean[axis] += c.weight * c.mean[axis];
            second[axis] += c.weight * (c.cov[2 * axis] + c.mean[axis] * c.mean[axis]);
        }
    }
    let variance = (0..2)
        .map(|axis| second[axis] - mean[axis] * mean[axis])
        .sum::<f64>()
        / 2.0;
    (mean, variance)
}

/// Largest pairwise distance of a sample (NCSN-v2 technique 1: σ_1 covers the data).
pub fn largest_pairwise_distance(points: &[[f64; 2]]) -> f64 {
    let mut best: f64 = 0.0;
    for (i, a) in points.iter().enumerate() {
        for b in &points[i + 1..] {
            best = best.max((a[0] - b[0]).hypot(a[1] - b[1]));
        }
    }
    best
}

impl TensorScore for LearnedScore {
    fn score(&self, x: Tensor<2>, sigma: f64) -> Tensor<2> {
        self.score_tensor(x, sigma)
    }
}

impl ScoreField for LearnedScore {
    /// Reads the scores back synchronously: fine natively and on the CPU device in wasm.
    fn scores(&self, xs: &[[f64; 2]], sigma: f64) -> Vec<[f64; 2]> {
        if xs.is_empty() {
            return Vec::new();
        }
        let scores = self.score_tensor(points_tensor(xs, &self.device), sigma);
        read_pairs(Ok::<_, ()>(scores.into_data())).expect("scores are f32")
    }
}

impl Trainer for LearnedScore {
    fn step(&mut self) -> Tensor<1> {
        self.train_step()
    }

    fn parameter_count(&self) -> usize {
        self.model.as_ref().map_or(0, |m| m.num_params())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_matches_reference_values() {
        // Φ at a few points, from a 30-digit evaluation.
        let reference = [
            (0.0, 0.5),
            (1.0, 0.841_344_746_068_542_9),
            (-1.959_963_984_540_054, 0.025),
            (-3.0, 0.001_349_898_031_630_094_6),
            (2.5, 0.993_790_334_674_223_8),
            (-6.0, 9.865_876_450_376_98e-10),
        ];
        for (x, phi) in reference {
            assert!(
                (normal_cdf(x) - phi).abs() < 1e-7,
                "Φ({x}) = {}",
                normal_cdf(x)
            );
        }
    }

    #[test]
    fn shell_overlap_is_near_one_for_equal_levels_and_vanishes_far_apart() {
        let equal = shell_overlap(2, 1.0);
        assert!((equal - 0.997_300_203_936_74).abs() < 1e-6, "{equal}");
        assert!(shell_overlap(2, 1e-3) < 1e-3);
    }

    #[test]
    fn overlap_gamma_agrees_with_the_paper_in_image_dimensions() {
        // CIFAR-10 (D = 3072): the paper's equation alone gives γ ≈ 1.0398.
        let gamma = overlap_gamma(3072, 0.5);
        assert!((gamma - 1.0398).abs() < 3e-3, "{gamma}");
        assert!(shell_overlap(3072, gamma) >= 0.5 - 1e-9);
    }

    #[test]
    fn moments_of_two_modes() {
        let (mean, variance) = moments(&crate::langevin::density::two_modes(0.5).unwrap());
        assert!(mean[0].abs() < 1e-12 && mean[1].abs() < 1e-12);
        // x: 16 + 0.5, y: 0.5.
        assert!((variance - 8.5).abs() < 1e-12, "{variance}");
    }
}
