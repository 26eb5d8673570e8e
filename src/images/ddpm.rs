//! A class-conditional denoising diffusion model (Ho et al. 2020) with classifier-free guidance
//! (Ho & Salimans 2021): ε-prediction with the [`UNet`], the class dropped to the null token for
//! 10 % of training images, an exponential moving average of the weights for sampling, and
//! DDIM (Song et al. 2021) or ancestral sampling from [`crate::images::diffusion`].
//!
//! Images are scaled to `[−1, 1]`. Guidance with weight `w` predicts
//! `ε̃ = (1 + w)·ε(x, c) − w·ε(x, ∅)`: `w = 0` is the plain conditional model.

use burn::module::{Module, ModuleMapper, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};

use crate::core::rng::SeededRng;
use crate::core::tensor::host_normal;
use crate::core::weights::{
    flat_parameters, load_module, read_identity, save_module, PendingWeights,
};
use crate::images::datasets::per_dataset;
use crate::images::datasets::SIDE;
use crate::images::diffusion::{BetaSchedule, DiffusionSchedule, ReverseStep, DEFAULT_STEPS};
use crate::images::generator::{Generator, GeneratorSpec, ImageBatch, SampleRequest};
use crate::images::unet::{UNet, UNetConfig, NULL_CLASS};

pub const GENERATOR: GeneratorSpec = GeneratorSpec {
    name: "ddpm",
    summary: "class-conditional DDPM, U-Net at 14×14/7×7 (space-to-depth), classifier-free guidance, DDIM",
    conditional: true,
    default_guidance,
    build: |dataset, device, seed, options| {
        let settings = DdpmSettings {
            schedule: options.schedule,
            ..DdpmSettings::default()
        };
        Box::new(Ddpm::new(dataset, device, seed, settings))
    },
};

/// Fraction of training images whose class is replaced by the null token.
pub const LABEL_DROPOUT: f64 = 0.1;
/// DDIM steps when a request names none (and the link's default).
pub const DEFAULT_SAMPLE_STEPS: usize = 50;
/// The guidance weight the page (the link's default) and the CLI start from, per dataset: the
/// lowest FID that keeps class accuracy at 97 % or more with the shipped weights
/// (BENCHMARKS.md). MNIST's conditional model is sharp enough that a weight below 1 wins;
/// Fashion-MNIST's classes overlap more and need a stronger push.
const DEFAULT_GUIDANCE: &[(&str, f64)] = &[("mnist", 0.6), ("fashion", 3.0)];
const FALLBACK_GUIDANCE: f64 = 3.0;

/// Guidance acts only at timesteps `t ≤ limit·T`, per dataset (1: every step). At high noise
/// guidance pulls a class's samples toward one layout and costs diversity; nearer the data it
/// sharpens the class (Kynkäänniemi et al. 2024). On MNIST, guiding only `t ≤ 600` of 1 000
/// gave both a lower FID and a higher class accuracy than guiding every step (BENCHMARKS.md).
const GUIDANCE_LIMIT: &[(&str, f64)] = &[("mnist", 0.6)];

/// The fraction of T below which guidance acts for `dataset`.
pub fn guidance_limit(dataset: &str) -> f64 {
    per_dataset(GUIDANCE_LIMIT, dataset, 1.0)
}

pub fn default_guidance(dataset: &str) -> f64 {
    per_dataset(DEFAULT_GUIDANCE, dataset, FALLBACK_GUIDANCE)
}
/// The moving average's decay for a short run: the page trains a few thousand steps at most,
/// and a longer memory would keep its live samples behind the weights.
pub const DEFAULT_EMA_DECAY: f64 = 0.999;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DdpmSettings {
    pub unet: UNetConfig,
    pub schedule: BetaSchedule,
    pub diffusion_steps: usize,
    pub learning_rate: f64,
    /// The most the moving average keeps per step; the warm-up caps it further early on.
    pub ema_decay: f64,
}

impl DdpmSettings {
    /// These settings with the architecture a weights file records (U-Net widths, β schedule,
    /// T) in place of their own; what the file does not record stays.
    pub fn recorded_in(self, bytes: &[u8]) -> Result<Self, String> {
        let identity = read_identity(bytes)?;
        let mut settings = self;
        if let Some(widths) = identity.extra.get("unet") {
            settings.unet = UNetConfig::from_text(widths)?;
        }
        if let Some(kind) = identity.extra.get("schedule") {
            settings.schedule = kind.parse()?;
        }
        if let Some(steps) = identity.extra.get("diffusion_steps") {
            settings.diffusion_steps = steps
                .parse()
                .ok()
                .filter(|&t: &usize| t >= 2)
                .ok_or_else(|| format!("weights file: bad diffusion_steps `{steps}`"))?;
        }
        Ok(settings)
    }
}

impl Default for DdpmSettings {
    fn default() -> Self {
        Self {
            unet: UNetConfig::default(),
            schedule: BetaSchedule::Linear,
            diffusion_steps: DEFAULT_STEPS,
            learning_rate: 5e-4,
            ema_decay: DEFAULT_EMA_DECAY,
        }
    }
}

/// The trained weights and their moving average, saved together so training resumes exactly.
#[derive(Module, Debug)]
struct DdpmNets {
    net: UNet,
    ema: UNet,
}

pub struct Ddpm {
    nets: Option<DdpmNets>,
    optimizer: ModuleOptimizer,
    train_device: Device,
    dataset: String,
    settings: DdpmSettings,
    schedule: DiffusionSchedule,
    rng: SeededRng,
    steps: usize,
}

/// `ema ← decay·ema + (1 − decay)·current`, parameter by parameter in visiting order.
struct MovingAverage {
    current: std::vec::IntoIter<Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for MovingAverage {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let current = self.current.next().expect("the same architecture");
        let decay = self.decay;
        param.map(|average| {
            let shape = average.shape();
            (average.mul_scalar(decay) + current.reshape(shape).mul_scalar(1.0 - decay)).detach()
        })
    }
}

impl Ddpm {
    pub fn new(dataset: &str, device: &Device, seed: u64, settings: DdpmSettings) -> Self {
        let train_device = device.clone().autodiff();
        let mut rng = SeededRng::new(seed ^ 0x6464_706d_6e69_7374);
        let net = UNet::new(settings.unet, &mut rng, &train_device);
        let ema = net.clone();
        Self {
            nets: Some(DdpmNets { net, ema }),
            optimizer: AdamConfig::new().init(),
            train_device,
            dataset: dataset.to_string(),
            schedule: DiffusionSchedule::new(settings.schedule, settings.diffusion_steps),
            settings,
            rng,
            steps: 0,
        }
    }

    /// A model with the architecture and schedule a weights file records, loaded from it.
    pub fn from_bytes(bytes: &[u8], dataset: &str, device: &Device) -> Result<Self, String> {
        let settings = DdpmSettings::default().recorded_in(bytes)?;
        let mut model = Self::new(dataset, device, 0, settings);
        model.load(bytes)?;
        Ok(model)
    }

    pub fn settings(&self) -> DdpmSettings {
        self.settings
    }

    pub fn schedule(&self) -> &DiffusionSchedule {
        &self.schedule
    }

    fn nets(&self) -> &DdpmNets {
        self.nets
            .as_ref()
            .expect("networks are present between steps")
    }

    fn ema_decay(&self) -> f64 {
        // Warm-up (as in TensorFlow's ExponentialMovingAverage with num_updates): early
        // averages forget the random initialisation quickly.
        self.settings
            .ema_decay
            .min((1.0 + self.steps as f64) / (10.0 + self.steps as f64))
    }

    /// The guided noise estimate of `x` at timestep `t` for `classes`.
    fn guided_noise(
        net: &UNet,
        x: Tensor<4>,
        t: usize,
        classes: &[usize],
        guidance: f64,
    ) -> Tensor<4> {
        let n = classes.len();
        if guidance == 0.0 {
            return net.forward(x, &vec![t; n], classes);
        }
        // One pass over conditional and unconditional copies: one set of kernels, not two.
        let mut both = classes.to_vec();
        both.extend(std::iter::repeat_n(NULL_CLASS, n));
        let noise = net.forward(Tensor::cat(vec![x.clone(), x], 0), &vec![t; 2 * n], &both);
        let [conditional, unconditional] = [0, 1].map(|half| noise.clone().narrow(0, half * n, n));
        conditional.mul_scalar(1.0 + guidance) - unconditional.mul_scalar(guidance)
    }

    fn reverse_update(
        step: &ReverseStep,
        x: Tensor<4>,
        noise_estimate: Tensor<4>,
        rng: &mut SeededRng,
    ) -> Tensor<4> {
        let x0 = (x.clone().mul_scalar(step.x0_from_noisy)
            - noise_estimate.mul_scalar(step.x0_from_noise))
        .clamp(-1.0, 1.0);
        let mut next = x0.mul_scalar(step.a) + x.mul_scalar(step.b);
        if step.sigma > 0.0 {
            let shape = next.dims();
            let device = next.device();
            next = next + host_normal(shape, rng, &device).mul_scalar(step.sigma);
        }
        next
    }

    /// Samples with the moving-average weights.
    fn sample_ema(&self, request: &SampleRequest) -> Result<Tensor<4>, String> {
        let eta = request.eta;
        if request.count == 0 {
            return Err("ask for at least one sample".into());
        }
        if !(0.0..=1.0).contains(&eta) {
            return Err(format!("η must be between 0 and 1, not {eta}"));
        }
        let steps = request.steps.unwrap_or(DEFAULT_SAMPLE_STEPS);
        if steps == 0 || steps > self.schedule.steps() {
            return Err(format!(
                "sampler steps must be between 1 and {}, not {steps}",
                self.schedule.steps()
            ));
        }
        let device = self.train_device.clone().inner();
        let net = self.nets().ema.valid();
        let classes: Vec<usize> = request.classes().iter().map(|&c| c as usize).collect();
        let mut rng = SeededRng::new(request.seed);
        let limit = request
            .guidance_limit
            .unwrap_or_else(|| guidance_limit(&self.dataset));
        if !(0.0..=1.0).contains(&limit) {
            return Err(format!(
                "the guidance limit must be between 0 and 1, not {limit}"
            ));
        }
        let guided_until = limit * self.schedule.steps() as f64;
        let mut x = host_normal([request.count, 1, SIDE, SIDE], &mut rng, &device);
        for step in self.schedule.reverse_steps(steps, eta) {
            let guidance = if step.t as f64 <= guided_until {
                request.guidance
            } else {
                0.0
            };
            let noise = Self::guided_noise(&net, x.clone(), step.t, &classes, guidance);
            x = Self::reverse_update(&step, x, noise, &mut rng);
        }
        Ok(x.add_scalar(1.0).mul_scalar(0.5).clamp(0.0, 1.0))
    }
}

impl Generator for Ddpm {
    fn name(&self) -> &'static str {
        GENERATOR.name
    }

    fn dataset(&self) -> &str {
        &self.dataset
    }

    fn train_device(&self) -> &Device {
        &self.train_device
    }

    fn train_step(&mut self, batch: ImageBatch) -> Tensor<1> {
        let n = batch.labels.len();
        let device = self.train_device.clone();
        let total = self.schedule.steps() as u64;
        let times: Vec<usize> = (0..n).map(|_| 1 + self.rng.below(total) as usize).collect();
        let classes: Vec<usize> = batch
            .labels
            .iter()
            .map(|&c| {
                if self.rng.uniform() < LABEL_DROPOUT {
                    NULL_CLASS
                } else {
                    c as usize
                }
            })
            .collect();
        let (mut signal, mut spread) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for &t in &times {
            let (a, b) = self.schedule.noising(t);
            signal.push(a as f32);
            spread.push(b as f32);
        }
        let column =
            |v: Vec<f32>| Tensor::<4>::from_data(TensorData::new(v, [n, 1, 1, 1]), &device);
        let noise = host_normal([n, 1, SIDE, SIDE], &mut self.rng, &device);
        let x0 = batch.images.mul_scalar(2.0).sub_scalar(1.0);
        let noisy = x0 * column(signal) + noise.clone() * column(spread);

        let DdpmNets { net, ema } = self
            .nets
            .take()
            .expect("networks are present between steps");
        let loss = (net.forward(noisy, &times, &classes) - noise)
            .square()
            .mean();
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        let net = self.optimizer.step(self.settings.learning_rate, net, grads);
        let ema = ema.map(&mut MovingAverage {
            current: flat_parameters(&net).into_iter(),
            decay: self.ema_decay(),
        });
        self.nets = Some(DdpmNets { net, ema });
        self.steps += 1;
        loss.detach()
    }

    fn steps_trained(&self) -> usize {
        self.steps
    }

    fn sample(&self, request: &SampleRequest) -> Result<Tensor<4>, String> {
        self.sample_ema(request)
    }

    fn save(&self) -> PendingWeights {
        save_module(
            self.nets(),
            self.name(),
            &self.dataset,
            &[
                ("steps", self.steps.to_string()),
                ("unet", self.settings.unet.to_text()),
                ("schedule", self.settings.schedule.to_string()),
                ("diffusion_steps", self.settings.diffusion_steps.to_string()),
            ],
        )
    }

    /// Takes the architecture the file records along with its weights: loading a file replaces
    /// the model, so a page or a resumed training can open weights of any width.
    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let settings = self.settings.recorded_in(bytes)?;
        let resized;
        let template = if settings.unet == self.settings.unet {
            self.nets()
        } else {
            // Only the shapes matter: every value is overwritten by the file's.
            let net = UNet::new(settings.unet, &mut SeededRng::new(0), &self.train_device);
            resized = DdpmNets {
                ema: net.clone(),
                net,
            };
            &resized
        };
        let (nets, identity) = load_module(template, bytes, self.name(), &self.dataset)?;
        self.nets = Some(nets);
        self.schedule = DiffusionSchedule::new(settings.schedule, settings.diffusion_steps);
        self.settings = settings;
        self.steps = identity.steps_trained();
        self.optimizer = AdamConfig::new().init();
        Ok(())
    }

    fn parameter_count(&self) -> usize {
        self.nets().net.num_params()
    }

    fn loss_name(&self) -> &'static str {
        "ε-prediction MSE"
    }
}

/// The calibration and benchmark workload of the diffusion model: one training step of the
/// default U-Net on a fixed batch of 64 seeded random images.
pub const WORKLOAD: crate::core::training::WorkloadSpec = crate::core::training::WorkloadSpec {
    name: "unet28",
    summary: "DDPM U-Net training step (14×14/7×7, channels 16/48), batch 64",
    build: |device, seed| Box::new(CalibrationStep::new(device, seed)),
};

struct CalibrationStep {
    model: Ddpm,
    images: Vec<f32>,
    labels: Vec<u8>,
}

impl CalibrationStep {
    fn new(device: &Device, seed: u64) -> Self {
        let mut rng = SeededRng::new(seed);
        let batch = 64;
        Self {
            model: Ddpm::new(
                "calibration",
                &device.clone().inner(),
                seed,
                DdpmSettings::default(),
            ),
            images: (0..batch * SIDE * SIDE)
                .map(|_| rng.uniform() as f32)
                .collect(),
            labels: (0..batch).map(|_| rng.below(10) as u8).collect(),
        }
    }
}

impl crate::core::training::Trainer for CalibrationStep {
    fn step(&mut self) -> Tensor<1> {
        let n = self.labels.len();
        let images = Tensor::<4>::from_data(
            TensorData::new(self.images.clone(), [n, 1, SIDE, SIDE]),
            self.model.train_device(),
        );
        self.model.train_step(ImageBatch {
            images,
            labels: self.labels.clone(),
        })
    }

    fn parameter_count(&self) -> usize {
        self.model.parameter_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(ema_decay: f64) -> Ddpm {
        tiny_for("mnist", ema_decay)
    }

    fn tiny_for(dataset: &str, ema_decay: f64) -> Ddpm {
        let settings = DdpmSettings {
            unet: UNetConfig {
                channels: [8, 16],
                embedding: 16,
            },
            diffusion_steps: 50,
            ema_decay,
            ..DdpmSettings::default()
        };
        Ddpm::new(dataset, &Device::flex(), 0, settings)
    }

    /// `n` flat grey images of classes 1, 2, …: enough for the class embedding to matter.
    fn grey_batch(n: usize) -> ImageBatch {
        ImageBatch {
            images: Tensor::from_data(
                TensorData::new(vec![0.25f32; n * 784], [n, 1, SIDE, SIDE]),
                &Device::flex().autodiff(),
            ),
            labels: (1..=n as u8).collect(),
        }
    }

    fn host_values(module: &UNet) -> Vec<f32> {
        flat_parameters(module)
            .into_iter()
            .flat_map(|p| p.into_data().try_to_vec::<f32>().unwrap())
            .collect()
    }

    #[test]
    fn the_moving_average_decays_by_the_smaller_of_its_setting_and_the_warm_up() {
        let mut model = tiny(0.9999);
        model.steps = 20_500;
        assert_eq!(model.ema_decay(), 20_501.0 / 20_510.0);
        model.steps = 1_000_000;
        assert_eq!(model.ema_decay(), 0.9999);
        let mut model = tiny(DEFAULT_EMA_DECAY);
        model.steps = 1_000_000;
        assert_eq!(model.ema_decay(), DEFAULT_EMA_DECAY);
    }

    #[test]
    fn without_memory_the_moving_average_is_the_current_weights() {
        let mut forgetful = tiny(0.0);
        let mut remembering = tiny(0.9);
        for _ in 0..2 {
            forgetful.train_step(grey_batch(2));
            remembering.train_step(grey_batch(2));
        }
        let nets = forgetful.nets();
        assert_eq!(host_values(&nets.ema), host_values(&nets.net));
        let nets = remembering.nets();
        assert_ne!(host_values(&nets.ema), host_values(&nets.net));
    }

    #[test]
    fn guidance_acts_only_below_its_datasets_limit() {
        let pixels_within = |model: &Ddpm, steps: usize, guidance: f64, limit: Option<f64>| {
            let request = SampleRequest {
                count: 2,
                classes: crate::images::generator::ClassChoice::CYCLE,
                guidance,
                guidance_limit: limit,
                steps: Some(steps),
                eta: 0.0,
                seed: 5,
            };
            model
                .sample(&request)
                .unwrap()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        let pixels =
            |model: &Ddpm, steps: usize, guidance: f64| pixels_within(model, steps, guidance, None);
        // One DDIM step asks the network about t = T only; two about T and T/2. A few steps of
        // training make the class matter, so wherever guidance acts it changes the images.
        let trained = |dataset: &str| {
            let mut model = tiny_for(dataset, 0.0);
            for _ in 0..3 {
                model.train_step(grey_batch(4));
            }
            model
        };
        let mnist = trained("mnist");
        assert!(guidance_limit("mnist") < 1.0);
        assert_eq!(pixels(&mnist, 1, 0.0), pixels(&mnist, 1, 3.0));
        assert_ne!(pixels(&mnist, 2, 0.0), pixels(&mnist, 2, 3.0));
        // A request's own limit replaces the dataset's.
        assert_ne!(
            pixels_within(&mnist, 1, 0.0, Some(1.0)),
            pixels_within(&mnist, 1, 3.0, Some(1.0))
        );
        assert!(mnist
            .sample(&SampleRequest {
                guidance_limit: Some(1.5),
                ..SampleRequest {
                    count: 1,
                    classes: crate::images::generator::ClassChoice::CYCLE,
                    guidance: 1.0,
                    guidance_limit: None,
                    steps: Some(1),
                    eta: 0.0,
                    seed: 0,
                }
            })
            .is_err());
        let fashion = trained("fashion");
        assert_eq!(guidance_limit("fashion"), 1.0);
        assert_ne!(pixels(&fashion, 1, 0.0), pixels(&fashion, 1, 3.0));
    }
}
