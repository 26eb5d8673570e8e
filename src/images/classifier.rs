//! The small CNN that judges generated images: its penultimate features give FID (the usual
//! small-image stand-in for Inception features) and its predictions give the class accuracy of
//! class-conditional samples. One network per dataset, trained natively by
//! `genlab train classifier`, shipped with the page as burn records.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, PaddingConfig2d};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Device, Tensor, TensorData};

use crate::core::init::{seeded_conv2d, seeded_linear};
use crate::core::rng::SeededRng;
use crate::core::training::read_f32;
use crate::core::weights::{load_module, save_module, PendingWeights};
use crate::images::datasets::{CLASSES, PIXELS, SIDE};
use crate::io::idx::LabelledImages;

/// The registry name of the classifier in weights files.
pub const MODEL_NAME: &str = "classifier";
/// Width of the penultimate layer: the features FID is computed on.
pub const FEATURE_DIM: usize = 128;
const CHANNELS: [usize; 2] = [32, 64];
const FLAT: usize = CHANNELS[1] * (SIDE / 4) * (SIDE / 4);
const DROPOUT: f64 = 0.3;

/// conv3×3(1→32) → ReLU → max-pool 2 → conv3×3(32→64) → ReLU → max-pool 2 → linear(3136→128)
/// → ReLU (the features) → dropout → linear(128→10).
#[derive(Module, Debug)]
pub struct ClassifierNet {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    hidden: Linear,
    dropout: Dropout,
    output: Linear,
}

impl ClassifierNet {
    pub fn new(rng: &mut SeededRng, device: &Device) -> Self {
        let conv = |c_in: usize, c_out: usize, rng: &mut SeededRng| {
            let config =
                Conv2dConfig::new([c_in, c_out], [3, 3]).with_padding(PaddingConfig2d::Same);
            seeded_conv2d(&config, rng, device)
        };
        Self {
            conv1: conv(1, CHANNELS[0], rng),
            conv2: conv(CHANNELS[0], CHANNELS[1], rng),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            hidden: seeded_linear(FLAT, FEATURE_DIM, rng, device),
            dropout: DropoutConfig::new(DROPOUT).init(),
            output: seeded_linear(FEATURE_DIM, CLASSES, rng, device),
        }
    }

    /// Features `[n, 128]` and logits `[n, 10]` of images `[n, 1, 28, 28]` in `[0, 1]`.
    pub fn forward(&self, images: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let x = self.pool.forward(relu(self.conv1.forward(images)));
        let x = self.pool.forward(relu(self.conv2.forward(x)));
        let [n, _, _, _] = x.dims();
        let features = relu(self.hidden.forward(x.reshape([n, FLAT])));
        let logits = self.output.forward(self.dropout.forward(features.clone()));
        (features, logits)
    }
}

/// Images as a `[n, 1, 28, 28]` tensor in `[0, 1]` from 8-bit pixels.
pub fn images_from_bytes(pixels: &[u8], device: &Device) -> Tensor<4> {
    let values: Vec<f32> = pixels.iter().map(|&p| p as f32 / 255.0).collect();
    images_from_f32(values, device)
}

/// Images as a `[n, 1, 28, 28]` tensor from `n·784` values in `[0, 1]`.
pub fn images_from_f32(values: Vec<f32>, device: &Device) -> Tensor<4> {
    assert_eq!(values.len() % PIXELS, 0, "images are {SIDE}×{SIDE}");
    let n = values.len() / PIXELS;
    Tensor::<4>::from_data(TensorData::new(values, [n, 1, SIDE, SIDE]), device)
}

/// What the classifier says about a batch of images.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Judgement {
    /// `n × 128` penultimate features, row-major.
    pub features: Vec<f32>,
    /// The most probable class of each image.
    pub predicted: Vec<u8>,
}

impl Judgement {
    /// The fraction of images whose predicted class is `labels[i]`.
    pub fn accuracy(&self, labels: &[u8]) -> f64 {
        assert_eq!(labels.len(), self.predicted.len(), "one label per image");
        if labels.is_empty() {
            return 0.0;
        }
        let right = self
            .predicted
            .iter()
            .zip(labels)
            .filter(|(p, l)| p == l)
            .count();
        right as f64 / labels.len() as f64
    }

    /// Adds rows of `[features (128) | logits (10)]`.
    fn extend(&mut self, rows: &[f32]) {
        for row in rows.chunks(FEATURE_DIM + CLASSES) {
            let (features, logits) = row.split_at(FEATURE_DIM);
            self.features.extend_from_slice(features);
            self.predicted.push(most_probable(logits));
        }
    }
}

fn most_probable(logits: &[f32]) -> u8 {
    let mut best = 0;
    for (class, value) in logits.iter().enumerate() {
        if *value > logits[best] {
            best = class;
        }
    }
    best as u8
}

/// A trained classifier for one dataset, on one (inference) device.
#[derive(Clone, Debug)]
pub struct Classifier {
    net: ClassifierNet,
    dataset: String,
    device: Device,
}

/// Images per forward pass when judging: bounds memory on a GPU and keeps page frames short.
pub const JUDGE_BATCH: usize = 250;

impl Classifier {
    /// Loads weights written by [`Classifier::to_bytes`] (or `genlab train classifier`).
    pub fn from_bytes(bytes: &[u8], dataset: &str, device: &Device) -> Result<Self, String> {
        let template = ClassifierNet::new(&mut SeededRng::new(0), device);
        let (net, _) = load_module(&template, bytes, MODEL_NAME, dataset)?;
        Ok(Self {
            net,
            dataset: dataset.to_string(),
            device: device.clone(),
        })
    }

    pub fn to_bytes(&self, extra: &[(&str, String)]) -> PendingWeights {
        save_module(&self.net, MODEL_NAME, &self.dataset, extra)
    }

    pub fn parameter_count(&self) -> usize {
        self.net.num_params()
    }

    /// Features and logits of images `[n, 1, 28, 28]` in `[0, 1]` (no read-back).
    pub fn forward(&self, images: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        self.net.forward(images)
    }

    /// Judges `n·784` pixel values in `[0, 1]`, in batches of [`JUDGE_BATCH`], with one
    /// asynchronous read-back of features and logits together per batch (the page's GPU path
    /// cannot read synchronously).
    pub async fn judge(&self, pixels: &[f32]) -> Result<Judgement, String> {
        let mut judgement = Judgement::default();
        for batch in pixels.chunks(JUDGE_BATCH * PIXELS) {
            let (features, logits) = self.forward(images_from_f32(batch.to_vec(), &self.device));
            judgement.extend(&read_f32(Tensor::cat(vec![features, logits], 1)).await?);
        }
        Ok(judgement)
    }

    /// [`Classifier::judge`] for 8-bit images.
    pub async fn judge_bytes(&self, pixels: &[u8]) -> Result<Judgement, String> {
        let values: Vec<f32> = pixels.iter().map(|&p| p as f32 / 255.0).collect();
        self.judge(&values).await
    }
}

/// `image` (28×28) moved by `(dx, dy)` pixels, with background (0) coming in at the edges.
fn shifted(image: &[u8], dx: isize, dy: isize) -> impl Iterator<Item = u8> + '_ {
    (0..PIXELS).map(move |p| {
        let (y, x) = ((p / SIDE) as isize - dy, (p % SIDE) as isize - dx);
        if (0..SIDE as isize).contains(&y) && (0..SIDE as isize).contains(&x) {
            image[y as usize * SIDE + x as usize]
        } else {
            0
        }
    })
}

/// Settings of `genlab train classifier`.
#[derive(Clone, Debug)]
pub struct TrainSettings {
    pub epochs: usize,
    pub batch: usize,
    pub learning_rate: f64,
    /// The learning rate of epoch `e` (from 0) is `learning_rate · lr_decay^e`.
    pub lr_decay: f64,
    /// Augmentation: each training image is moved by up to this many pixels along each axis.
    pub shift: usize,
    /// Augmentation: mirror half the training images left–right (wrong for digits; for
    /// Fashion-MNIST it cost accuracy, as its shoes all face one way).
    pub flip: bool,
    pub seed: u64,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            epochs: 4,
            batch: 128,
            learning_rate: 1e-3,
            lr_decay: 0.5,
            shift: 0,
            flip: false,
            seed: 0,
        }
    }
}

/// Mini-batch training with Adam and cross-entropy, shuffled each epoch from the seed.
pub struct ClassifierTrainer {
    net: Option<ClassifierNet>,
    optimizer: ModuleOptimizer,
    train_device: Device,
    dataset: String,
    settings: TrainSettings,
    rng: SeededRng,
    pub steps: usize,
    epoch: usize,
}

impl ClassifierTrainer {
    pub fn new(dataset: &str, settings: TrainSettings, device: &Device) -> Self {
        let train_device = device.clone().autodiff();
        train_device.seed(settings.seed);
        let mut rng = SeededRng::new(settings.seed ^ 0x636c_6173_7369_6679);
        let net = ClassifierNet::new(&mut rng, &train_device);
        Self {
            net: Some(net),
            optimizer: AdamConfig::new().init(),
            train_device,
            dataset: dataset.to_string(),
            settings,
            rng,
            steps: 0,
            epoch: 0,
        }
    }

    /// Epoch 1 (and steps before any epoch started) run at the base rate.
    fn learning_rate(&self) -> f64 {
        let decays = self.epoch.saturating_sub(1) as i32;
        self.settings.learning_rate * self.settings.lr_decay.powi(decays)
    }

    /// Continues from saved weights (`genlab train classifier --resume`); the learning rate
    /// schedule starts again at epoch 1.
    pub fn resume(&mut self, bytes: &[u8]) -> Result<(), String> {
        let net = self.net.take().expect("network is present between steps");
        let loaded = load_module(&net, bytes, MODEL_NAME, &self.dataset);
        self.net = Some(match loaded {
            Ok((loaded, _)) => loaded,
            Err(e) => {
                self.net = Some(net);
                return Err(e);
            }
        });
        Ok(())
    }

    /// A shuffled order of `0..n` for the next epoch.
    pub fn epoch_order(&mut self, n: usize) -> Vec<usize> {
        self.epoch += 1;
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.rng.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        order
    }

    /// One step on the images `indices` of `data`; the loss comes back unread.
    pub fn step(&mut self, data: &LabelledImages, indices: &[usize]) -> Tensor<1> {
        let mut pixels = Vec::with_capacity(indices.len() * PIXELS);
        let mut one_hot = vec![0f32; indices.len() * CLASSES];
        for (row, &i) in indices.iter().enumerate() {
            let mut image = data.image(i).to_vec();
            if self.settings.flip && self.rng.below(2) == 1 {
                image.chunks_mut(SIDE).for_each(|line| line.reverse());
            }
            match self.settings.shift {
                0 => pixels.extend_from_slice(&image),
                max => {
                    let span = 2 * max as u64 + 1;
                    let dx = self.rng.below(span) as isize - max as isize;
                    let dy = self.rng.below(span) as isize - max as isize;
                    pixels.extend(shifted(&image, dx, dy));
                }
            }
            one_hot[row * CLASSES + data.labels[i] as usize] = 1.0;
        }
        let images = images_from_bytes(&pixels, &self.train_device);
        let targets = Tensor::<2>::from_data(
            TensorData::new(one_hot, [indices.len(), CLASSES]),
            &self.train_device,
        );
        let net = self.net.take().expect("network is present between steps");
        let (_, logits) = net.forward(images);
        let loss = (log_softmax(logits, 1) * targets).sum_dim(1).mean().neg();
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        let learning_rate = self.learning_rate();
        self.net = Some(self.optimizer.step(learning_rate, net, grads));
        self.steps += 1;
        loss.detach()
    }

    /// The trained network for inference (dropout off, no autodiff).
    pub fn classifier(&self) -> Classifier {
        let net = self.net.as_ref().expect("network is present").valid();
        Classifier {
            net,
            dataset: self.dataset.clone(),
            device: self.train_device.clone().inner(),
        }
    }
}

/// The calibration workload for image models: a classifier step on one fixed batch of 64
/// seeded random images (timing only; convolutions dominate every image model's step).
pub const WORKLOAD: crate::core::training::WorkloadSpec = crate::core::training::WorkloadSpec {
    name: "conv28",
    summary: "28×28 CNN step (conv 32/64, linear 3136→128→10), batch 64",
    build: |device, seed| Box::new(CalibrationStep::new(device, seed)),
};

const CALIBRATION_BATCH: usize = 64;

struct CalibrationStep {
    trainer: ClassifierTrainer,
    data: LabelledImages,
    indices: Vec<usize>,
}

impl CalibrationStep {
    fn new(device: &Device, seed: u64) -> Self {
        let mut rng = SeededRng::new(seed);
        let data = LabelledImages {
            images: (0..CALIBRATION_BATCH * PIXELS)
                .map(|_| rng.below(256) as u8)
                .collect(),
            labels: (0..CALIBRATION_BATCH)
                .map(|_| rng.below(CLASSES as u64) as u8)
                .collect(),
            count: CALIBRATION_BATCH,
            rows: SIDE,
            cols: SIDE,
        };
        let settings = TrainSettings {
            seed,
            ..TrainSettings::default()
        };
        let trainer = ClassifierTrainer::new("calibration", settings, &device.clone().inner());
        Self {
            trainer,
            data,
            indices: (0..CALIBRATION_BATCH).collect(),
        }
    }
}

impl crate::core::training::Trainer for CalibrationStep {
    fn step(&mut self) -> Tensor<1> {
        self.trainer.step(&self.data, &self.indices)
    }

    fn parameter_count(&self) -> usize {
        self.trainer.classifier().parameter_count()
    }
}
