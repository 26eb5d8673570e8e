//! The 2-D score network of the Langevin demo (2 → 128 → 128 → 2), trained by denoising score
//! matching. It is also the calibration workload that decides the backend for 2-D models, so its
//! step is exactly the one the demo runs; its data here are two tight blobs, whose score a few
//! steps already start to learn, so a short run shows the loss fall.

use burn::module::Module;
use burn::nn::Linear;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::silu;
use burn::tensor::{Device, Tensor, TensorData};

use crate::core::init::seeded_linear;
use crate::core::rng::SeededRng;
use crate::core::training::{Trainer, WorkloadSpec};

pub const WORKLOAD: WorkloadSpec = WorkloadSpec {
    name: "mlp2d",
    summary: "2-D score MLP 2→128→128→2, denoising score matching, batch 256",
    build: |device, seed| Box::new(Mlp2dTrainer::new(device, seed, Mlp2dConfig::default())),
};

#[derive(Module, Debug)]
pub struct ScoreMlp {
    input: Linear,
    hidden: Linear,
    output: Linear,
}

impl ScoreMlp {
    pub fn new(width: usize, rng: &mut SeededRng, device: &Device) -> Self {
        Self {
            input: seeded_linear(2, width, rng, device),
            hidden: seeded_linear(width, width, rng, device),
            output: seeded_linear(width, 2, rng, device),
        }
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let h = silu(self.input.forward(x));
        let h = silu(self.hidden.forward(h));
        self.output.forward(h)
    }
}

#[derive(Clone, Debug)]
pub struct Mlp2dConfig {
    pub width: usize,
    pub batch: usize,
    pub sigma: f64,
    pub learning_rate: f64,
    /// The blobs sit at (±offset, 0) with standard deviation `spread`.
    pub blob_offset: f64,
    pub blob_spread: f64,
}

impl Default for Mlp2dConfig {
    fn default() -> Self {
        Self {
            width: 128,
            batch: 256,
            sigma: 0.5,
            learning_rate: 1e-2,
            blob_offset: 1.5,
            blob_spread: 0.3,
        }
    }
}

pub struct Mlp2dTrainer {
    model: Option<ScoreMlp>,
    optimizer: ModuleOptimizer,
    device: Device,
    rng: SeededRng,
    config: Mlp2dConfig,
}

impl Mlp2dTrainer {
    pub fn new(device: &Device, seed: u64, config: Mlp2dConfig) -> Self {
        let mut rng = SeededRng::new(seed ^ 0x6d6c_7032_6432);
        Self {
            model: Some(ScoreMlp::new(config.width, &mut rng, device)),
            optimizer: AdamConfig::new().init(),
            device: device.clone(),
            rng,
            config,
        }
    }

    /// Noisy points and their denoising-score-matching targets `-(x̃ - x) / σ² = -ε / σ`.
    fn batch(&mut self) -> (Vec<f32>, Vec<f32>) {
        let Mlp2dConfig {
            batch,
            sigma,
            blob_offset,
            blob_spread,
            ..
        } = self.config;
        let mut noisy = Vec::with_capacity(batch * 2);
        let mut target = Vec::with_capacity(batch * 2);
        for _ in 0..batch {
            let side = if self.rng.below(2) == 0 { -1.0 } else { 1.0 };
            let centre = [side * blob_offset, 0.0];
            for c in centre {
                let clean = c + blob_spread * self.rng.normal();
                let noise = self.rng.normal();
                noisy.push((clean + sigma * noise) as f32);
                target.push((-noise / sigma) as f32);
            }
        }
        (noisy, target)
    }
}

impl Trainer for Mlp2dTrainer {
    fn step(&mut self) -> Tensor<1> {
        let (noisy, target) = self.batch();
        let batch = self.config.batch;
        let sigma = self.config.sigma;
        let noisy = Tensor::<2>::from_data(TensorData::new(noisy, [batch, 2]), &self.device);
        let target = Tensor::<2>::from_data(TensorData::new(target, [batch, 2]), &self.device);
        let model = self.model.take().expect("model is present between steps");
        // σ²-weighted loss, so every noise level would contribute on the same scale.
        let loss = (model.forward(noisy) - target)
            .square()
            .sum_dim(1)
            .mean()
            .mul_scalar(sigma * sigma);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        self.model = Some(self.optimizer.step(self.config.learning_rate, model, grads));
        loss.detach()
    }

    fn parameter_count(&self) -> usize {
        self.model.as_ref().map_or(0, |m| m.num_params())
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::core::training::{build_trainer, train_native};

    #[test]
    fn targets_are_the_score_of_the_gaussian_kernel() {
        let mut trainer = Mlp2dTrainer::new(&Device::flex(), 1, Mlp2dConfig::default());
        let (noisy, target) = trainer.batch();
        assert_eq!(noisy.len(), 512);
        // target = -ε/σ, so its mean square is 2/σ² in 2-D: 8 for σ = 0.5.
        let mean_square = target.iter().map(|t| (t * t) as f64).sum::<f64>() / 256.0;
        assert!((mean_square - 8.0).abs() < 1.5, "{mean_square}");
    }

    #[test]
    fn parameter_count_is_that_of_2_128_128_2() {
        let trainer = build_trainer(&WORKLOAD, &Device::flex(), 0);
        assert_eq!(
            trainer.parameter_count(),
            2 * 128 + 128 + 128 * 128 + 128 + 128 * 2 + 2
        );
    }

    #[test]
    fn loss_falls_on_the_cpu() {
        let mut trainer = build_trainer(&WORKLOAD, &Device::flex(), 3);
        let losses = train_native(trainer.as_mut(), 60);
        assert!(losses.iter().all(|l| l.is_finite()));
        let first: f32 = losses[..10].iter().sum::<f32>() / 10.0;
        let last: f32 = losses[50..].iter().sum::<f32>() / 10.0;
        assert!(last < 0.8 * first, "loss went {first} → {last}");
    }
}
