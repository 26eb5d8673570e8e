//! The image generators of the MNIST / Fashion-MNIST lab behind one interface. The CLI
//! (`genlab sample`, `genlab train`) and the page's shared views (sample grid, loss curve, FID
//! over training, weights download and upload) drive every model through [`Generator`], found by
//! name in [`generators`].

use burn::tensor::{Device, Tensor, TensorData};

use crate::classifier::{PIXELS, SIDE};
use crate::idx::Dataset;
use crate::rng::SeededRng;
use crate::weights::PendingWeights;

/// A batch of training images on the training device, with their labels.
pub struct ImageBatch {
    /// `[n, 1, 28, 28]` in `[0, 1]`.
    pub images: Tensor<4>,
    pub labels: Vec<u8>,
}

impl ImageBatch {
    /// Images `indices` of `data` on `device`.
    pub fn gather(data: &Dataset, indices: &[usize], device: &Device) -> Self {
        let mut pixels = Vec::with_capacity(indices.len() * PIXELS);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            pixels.extend(data.image(i).iter().map(|&p| p as f32 / 255.0));
            labels.push(data.labels[i]);
        }
        Self {
            images: Tensor::<4>::from_data(
                TensorData::new(pixels, [indices.len(), 1, SIDE, SIDE]),
                device,
            ),
            labels,
        }
    }

    /// `batch` images drawn uniformly (with replacement) from `data`.
    pub fn random(data: &Dataset, batch: usize, rng: &mut SeededRng, device: &Device) -> Self {
        let indices: Vec<usize> = (0..batch)
            .map(|_| rng.below(data.count as u64) as usize)
            .collect();
        Self::gather(data, &indices, device)
    }
}

/// What to sample. Every random number comes from `seed`, drawn on the host, so a seed means
/// the same samples on every backend (up to floating-point rounding).
#[derive(Clone, Debug, PartialEq)]
pub struct SampleRequest {
    pub count: usize,
    /// One class for every sample; `None`: the classes cycle 0, 1, …, 9 (conditional models).
    pub class: Option<u8>,
    /// Classifier-free guidance weight (models without guidance ignore it).
    pub guidance: f64,
    /// Sampler steps (models that sample in one pass ignore it).
    pub steps: Option<usize>,
    /// DDIM's stochasticity in `[0, 1]`: 0 deterministic, 1 with every step ancestral
    /// sampling (models without such a sampler ignore it).
    pub eta: f64,
    pub seed: u64,
}

impl SampleRequest {
    /// The class each sample is drawn for.
    pub fn classes(&self) -> Vec<u8> {
        (0..self.count)
            .map(|i| self.class.unwrap_or((i % 10) as u8))
            .collect()
    }
}

/// Samples per pass when many are asked for: bounds memory; a multiple of 10, so the classes
/// keep cycling 0–9 across passes.
pub const SAMPLE_CHUNK: usize = 500;

/// Draws `request.count` samples in passes of [`SAMPLE_CHUNK`], pass `k` seeded `seed + k`,
/// read back as `count × 784` values in `[0, 1]`. How the CLI and the benchmarks draw thousands.
pub async fn sample_in_chunks(
    generator: &dyn Generator,
    request: &SampleRequest,
) -> Result<Vec<f32>, String> {
    let mut pixels = Vec::with_capacity(request.count * PIXELS);
    for (k, start) in (0..request.count).step_by(SAMPLE_CHUNK).enumerate() {
        let chunk = SampleRequest {
            count: SAMPLE_CHUNK.min(request.count - start),
            seed: request.seed.wrapping_add(k as u64),
            ..request.clone()
        };
        pixels.extend(crate::workload::read_f32(generator.sample(&chunk)?).await?);
    }
    Ok(pixels)
}

/// One image generator for one dataset, training on `device.autodiff()`.
pub trait Generator {
    /// The registry name (`vae`, …), as in links, file names and weights files.
    fn name(&self) -> &'static str;

    fn dataset(&self) -> &str;

    /// The device batches must live on for [`Generator::train_step`].
    fn train_device(&self) -> &Device;

    /// Queues one optimisation step; its loss comes back unread (reading would stall a GPU).
    fn train_step(&mut self, batch: ImageBatch) -> Tensor<1>;

    fn steps_trained(&self) -> usize;

    /// `[n, 1, 28, 28]` images in `[0, 1]`, not read back.
    fn sample(&self, request: &SampleRequest) -> Result<Tensor<4>, String>;

    /// The weights in burn's record format, with the model's name and dataset (await
    /// [`PendingWeights::bytes`]: on a GPU in the page they are read back asynchronously).
    fn save(&self) -> PendingWeights;

    /// Replaces the weights; on any error the current ones stay.
    fn load(&mut self, bytes: &[u8]) -> Result<(), String>;

    fn parameter_count(&self) -> usize;

    /// What [`Generator::train_step`]'s loss is (shown on the loss curve).
    fn loss_name(&self) -> &'static str;

    /// Exact log-likelihood in nats of each 8-bit image, for likelihood models (bits/dim, OOD).
    fn log_likelihood(&self, _images: Tensor<4>) -> Option<Tensor<1>> {
        None
    }
}

/// A registered generator.
pub struct GeneratorSpec {
    pub name: &'static str,
    pub summary: &'static str,
    /// Whether samples can be asked for a class.
    pub conditional: bool,
    /// The classifier-free guidance weight samples of a dataset are drawn with unless asked
    /// otherwise.
    pub default_guidance: fn(dataset: &str) -> f64,
    pub build:
        fn(dataset: &str, device: &Device, seed: u64, options: &ModelOptions) -> Box<dyn Generator>,
}

/// Settings a link or the command line gives a freshly built model (each model reads the ones
/// it has; weights files carry their own).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ModelOptions {
    pub schedule: crate::diffusion::BetaSchedule,
}

pub fn generators() -> &'static [GeneratorSpec] {
    &[crate::vae::GENERATOR, crate::ddpm::GENERATOR]
}

pub fn find_generator(name: &str) -> Result<&'static GeneratorSpec, String> {
    generators().iter().find(|g| g.name == name).ok_or_else(|| {
        let names: Vec<&str> = generators().iter().map(|g| g.name).collect();
        format!("unknown model `{name}`; known: {}", names.join(", "))
    })
}

/// Standard-normal values from `rng` as a tensor of `shape` (host-drawn, so backend-independent).
pub fn host_normal<const D: usize>(
    shape: [usize; D],
    rng: &mut SeededRng,
    device: &Device,
) -> Tensor<D> {
    let n = shape.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
    Tensor::<D>::from_data(TensorData::new(values, shape), device)
}
