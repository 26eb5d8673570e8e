//! The evaluation toolkit of the image lab, the same code natively (`genlab eval`) and in the
//! page: FID on the classifier's penultimate features against a reference set, class accuracy
//! of class-conditional samples, and the reference points that make a FID readable (real
//! training images as the floor; pixel noise and the mean image as ceilings).

use serde::Serialize;

use crate::core::rng::SeededRng;
use crate::images::classifier::Classifier;
use crate::images::datasets::PIXELS;
use crate::images::fid::{frechet_distance, FeatureStats};
use crate::io::idx::LabelledImages;
use crate::io::npy::{python_shape, read_npy};

/// A classifier with the feature statistics of the reference images samples are compared with.
pub struct Evaluator {
    classifier: Classifier,
    reference: FeatureStats,
}

/// What `genlab eval` prints and the page plots.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalReport {
    pub fid: f64,
    /// Share of samples the classifier assigns to the class they were drawn for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    pub n: usize,
}

/// FIDs that bracket a model's: what real images score and what trivial generators score.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReferencePoints {
    /// `n` training images against the reference (test) images: the floor at this `n`.
    pub train_vs_test: f64,
    /// `n` images of uniform pixel noise.
    pub noise: f64,
    /// `n` copies of the mean training image.
    pub mean_image: f64,
    pub n: usize,
}

impl Evaluator {
    /// Feature statistics of `reference` (8-bit images, e.g. the test split).
    pub async fn new(classifier: Classifier, reference: &[u8]) -> Result<Self, String> {
        let judged = classifier.judge_bytes(reference).await?;
        let reference = stats(&judged.features)?;
        Ok(Self {
            classifier,
            reference,
        })
    }

    /// FID of `samples` (`n·784` values in `[0, 1]`) and, given the class each sample was drawn
    /// for, their class accuracy.
    pub async fn evaluate(
        &self,
        samples: &[f32],
        labels: Option<&[u8]>,
    ) -> Result<EvalReport, String> {
        if !samples.len().is_multiple_of(PIXELS) || samples.is_empty() {
            return Err(format!(
                "samples must be 28×28 images: {} values is not a positive multiple of {PIXELS}",
                samples.len()
            ));
        }
        if let Some(bad) = samples.iter().find(|v| !v.is_finite()) {
            return Err(format!(
                "samples must be finite numbers in [0, 1]; found {bad}"
            ));
        }
        let n = samples.len() / PIXELS;
        if let Some(labels) = labels {
            if labels.len() != n {
                return Err(format!("{} labels for {n} samples", labels.len()));
            }
        }
        let judged = self.classifier.judge(samples).await?;
        Ok(EvalReport {
            fid: frechet_distance(&stats(&judged.features)?, &self.reference)?,
            accuracy: labels.map(|l| judged.accuracy(l)),
            n,
        })
    }

    /// The FIDs of [`ReferenceImages`]: the floor and the ceilings at their `n`.
    pub async fn reference_points(
        &self,
        images: &ReferenceImages,
    ) -> Result<ReferencePoints, String> {
        Ok(ReferencePoints {
            train_vs_test: self.evaluate(&images.train, None).await?.fid,
            noise: self.evaluate(&images.noise, None).await?.fid,
            mean_image: self.evaluate(&images.mean_image, None).await?.fid,
            n: images.n,
        })
    }
}

/// The images behind [`ReferencePoints`], each `n·784` values in `[0, 1]`.
pub struct ReferenceImages {
    /// `n` training images drawn (with replacement) from a seed.
    pub train: Vec<f32>,
    /// `n` images of uniform pixel noise.
    pub noise: Vec<f32>,
    /// `n` copies of the mean training image.
    pub mean_image: Vec<f32>,
    pub n: usize,
}

impl ReferenceImages {
    pub fn draw(train: &LabelledImages, n: usize, seed: u64) -> Self {
        let n = n.min(train.count);
        let mut rng = SeededRng::new(seed);
        let mut real = Vec::with_capacity(n * PIXELS);
        for _ in 0..n {
            let i = rng.below(train.count as u64) as usize;
            real.extend(train.image(i).iter().map(|&p| p as f32 / 255.0));
        }
        let noise = (0..n * PIXELS).map(|_| rng.uniform() as f32).collect();
        let mean = mean_image(train);
        Self {
            train: real,
            noise,
            mean_image: mean.iter().copied().cycle().take(n * PIXELS).collect(),
            n,
        }
    }
}

fn stats(features: &[f32]) -> Result<FeatureStats, String> {
    FeatureStats::from_rows(features, crate::images::classifier::FEATURE_DIM)
}

/// The pixel-wise mean of a split, in `[0, 1]`.
pub fn mean_image(data: &LabelledImages) -> Vec<f32> {
    let mut sums = vec![0u64; PIXELS];
    for i in 0..data.count {
        for (sum, &p) in sums.iter_mut().zip(data.image(i)) {
            *sum += p as u64;
        }
    }
    sums.iter()
        .map(|&s| (s as f64 / (255.0 * data.count.max(1) as f64)) as f32)
        .collect()
}

/// Samples from a `.npy` file: float `[N, 28, 28]` or `[N, 1, 28, 28]` with values in `[0, 1]`.
pub fn samples_from_npy(bytes: &[u8]) -> Result<Vec<f32>, String> {
    let array = read_npy(bytes).map_err(|e| e.to_string())?;
    let image_shape = matches!(array.shape.as_slice(), [_, 28, 28] | [_, 1, 28, 28]);
    if !image_shape || array.shape[0] == 0 {
        return Err(format!(
            "samples must have shape (N, 28, 28) or (N, 1, 28, 28); this file has {}",
            python_shape(&array.shape)
        ));
    }
    if let Some(bad) = array
        .data
        .iter()
        .find(|v| !v.is_finite() || **v < -1e-3 || **v > 1.0 + 1e-3)
    {
        return Err(format!(
            "samples must be pixel values in [0, 1]; this file has {bad}"
        ));
    }
    Ok(array
        .data
        .iter()
        .map(|&v| v.clamp(0.0, 1.0) as f32)
        .collect())
}

/// Labels from a `.npy` file: integers 0–9, shape `[N]`.
pub fn labels_from_npy(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let array = read_npy(bytes).map_err(|e| e.to_string())?;
    if array.shape.len() != 1 {
        return Err(format!(
            "labels must have shape (N,); this file has {}",
            python_shape(&array.shape)
        ));
    }
    array
        .data
        .iter()
        .map(|&v| {
            if v.fract() == 0.0 && (0.0..=9.0).contains(&v) {
                Ok(v as u8)
            } else {
                Err(format!("labels must be classes 0 to 9; this file has {v}"))
            }
        })
        .collect()
}
