//! The image generators of the MNIST / Fashion-MNIST lab behind one interface. The CLI
//! (`genlab sample`, `genlab train`) and the page's shared views (sample grid, loss curve, FID
//! over training, weights download and upload) drive every model through [`Generator`], found by
//! name in [`generators`].

use burn::tensor::{Device, Tensor, TensorData};

use crate::core::rng::SeededRng;
use crate::core::weights::PendingWeights;
use crate::images::datasets::{CLASSES, PIXELS, SIDE};
use crate::io::idx::LabelledImages;

/// A batch of training images on the training device, with their labels.
pub struct ImageBatch {
    /// `[n, 1, 28, 28]` in `[0, 1]`.
    pub images: Tensor<4>,
    pub labels: Vec<u8>,
}

impl ImageBatch {
    /// Images `indices` of `data` on `device`.
    pub fn gather(data: &LabelledImages, indices: &[usize], device: &Device) -> Self {
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
    pub fn random(
        data: &LabelledImages,
        batch: usize,
        rng: &mut SeededRng,
        device: &Device,
    ) -> Self {
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
    /// The class of each sample (conditional models; the others ignore it).
    pub classes: ClassChoice,
    /// Classifier-free guidance weight (models without guidance ignore it).
    pub guidance: f64,
    /// Guidance acts at timesteps `t ≤ limit·T` only; `None`: the model's own for its dataset.
    pub guidance_limit: Option<f64>,
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
        self.classes.for_samples(self.count)
    }
}

/// Which classes a grid or a draw shows: every class, or one. Written `all` or `0`…`9` in links
/// and on the command line; `-1`, the old links' spelling of every class, still reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClassFilter {
    #[default]
    Every,
    Only(u8),
}

impl ClassFilter {
    /// The one class asked for, if any.
    pub fn only(self) -> Option<u8> {
        match self {
            Self::Every => None,
            Self::Only(class) => Some(class),
        }
    }
}

impl std::fmt::Display for ClassFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Every => write!(f, "all"),
            Self::Only(class) => write!(f, "{class}"),
        }
    }
}

impl std::str::FromStr for ClassFilter {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "all" | "-1" => Ok(Self::Every),
            digit => match digit.parse::<u8>() {
                Ok(class) if usize::from(class) < CLASSES => Ok(Self::Only(class)),
                _ => Err(format!(
                    "`{text}` is not a class: all, or 0 to {}",
                    CLASSES - 1
                )),
            },
        }
    }
}

crate::serde_as_text!(ClassFilter);

/// Which class each sample of a request is drawn for.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassChoice {
    /// Every sample from this class.
    Only(u8),
    /// Classes interleaved in these proportions, class `c` taking `weights[c] / Σ weights` of
    /// every prefix up to a sample: a grid shows every digit near the top, and a large draw
    /// has a dataset's class balance. Equal weights cycle 0, 1, …, 9.
    Mix([u32; 10]),
    /// One class per sample, in order.
    Listed(Vec<u8>),
}

impl ClassChoice {
    /// 0, 1, …, 9, 0, 1, …: what the page's grids show.
    pub const CYCLE: Self = Self::Mix([1; 10]);

    /// The classes of `count` samples (a `Listed` choice repeats if it is shorter).
    pub fn for_samples(&self, count: usize) -> Vec<u8> {
        match self {
            Self::Only(class) => vec![*class; count],
            Self::Listed(classes) => classes.iter().copied().cycle().take(count).collect(),
            Self::Mix(weights) => {
                // Smooth weighted round-robin: each class earns its weight every sample, the
                // richest is drawn and pays the total; no prefix strays more than one sample
                // per class from its share.
                let weights = if weights.iter().all(|&w| w == 0) {
                    &[1; 10]
                } else {
                    weights
                };
                let total: i64 = weights.iter().map(|&w| i64::from(w)).sum();
                let mut credit = [0i64; 10];
                (0..count)
                    .map(|_| {
                        for (c, &w) in credit.iter_mut().zip(weights) {
                            *c += i64::from(w);
                        }
                        let richest = (0..10)
                            .max_by_key(|&c| (credit[c], std::cmp::Reverse(c)))
                            .expect("ten classes");
                        credit[richest] -= total;
                        richest as u8
                    })
                    .collect()
            }
        }
    }
}

/// Samples per pass when many are asked for: bounds memory.
pub const SAMPLE_CHUNK: usize = 500;

/// Draws `request.count` samples in passes of [`SAMPLE_CHUNK`], pass `k` seeded `seed + k`,
/// read back as `count × 784` values in `[0, 1]`. How the CLI and the benchmarks draw thousands.
pub async fn sample_in_chunks(
    generator: &dyn Generator,
    request: &SampleRequest,
) -> Result<Vec<f32>, String> {
    let mut pixels = Vec::with_capacity(request.count * PIXELS);
    let classes = request.classes();
    for (k, start) in (0..request.count).step_by(SAMPLE_CHUNK).enumerate() {
        let count = SAMPLE_CHUNK.min(request.count - start);
        let chunk = SampleRequest {
            count,
            classes: ClassChoice::Listed(classes[start..start + count].to_vec()),
            seed: request.seed.wrapping_add(k as u64),
            ..request.clone()
        };
        pixels.extend(crate::core::training::read_f32(generator.sample(&chunk)?).await?);
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
    pub schedule: crate::images::diffusion::BetaSchedule,
}

#[cfg(test)]
mod tests {
    use super::ClassChoice;
    use crate::images::datasets::train_class_counts;

    #[test]
    fn equal_weights_cycle_through_the_digits() {
        let cycle = ClassChoice::CYCLE.for_samples(25);
        let expected: Vec<u8> = (0..25).map(|i| (i % 10) as u8).collect();
        assert_eq!(cycle, expected);
        assert_eq!(ClassChoice::Mix([0; 10]).for_samples(25), expected);
        assert_eq!(ClassChoice::Only(7).for_samples(3), [7, 7, 7]);
        assert_eq!(
            ClassChoice::Listed(vec![4, 2]).for_samples(5),
            [4, 2, 4, 2, 4]
        );
    }

    #[test]
    fn every_prefix_of_a_mix_keeps_each_class_within_one_sample_of_its_share() {
        let counts = train_class_counts("mnist");
        let total: u32 = counts.iter().sum();
        let classes = ClassChoice::Mix(counts).for_samples(10_000);
        let mut drawn = [0usize; 10];
        for (n, &class) in classes.iter().enumerate() {
            drawn[class as usize] += 1;
            for c in 0..10 {
                let share = (n + 1) as f64 * f64::from(counts[c]) / f64::from(total);
                assert!(
                    (drawn[c] as f64 - share).abs() <= 1.0,
                    "class {c} after {} samples: {} drawn, share {share}",
                    n + 1,
                    drawn[c]
                );
            }
        }
        // MNIST's most and least frequent digits over 10 000 samples: 1 and 5.
        assert_eq!((drawn[1], drawn[5]), (1124, 904));
    }
}
