//! The Fréchet distance between Gaussian fits of two feature sets (FID, when the features come
//! from an Inception network), in plain `f64` so that it runs the same natively and in wasm.
//!
//! The distance needs the trace of a matrix square root, tr((Σa Σb)^{1/2}). Σa Σb is not
//! symmetric, so instead of a general square root (SciPy's `sqrtm`, a Schur decomposition) this
//! takes the singular values of Σb^{1/2} Σa^{1/2}, whose squares are the eigenvalues of Σa Σb
//! ([`frechet_distance`] says why); the matrix numerics live in `images::linalg`.

use crate::images::linalg::{multiply, sqrt_psd, sum_of_singular_values, trace};

/// The mean and covariance of a set of feature vectors: the Gaussian that FID compares.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureStats {
    pub dim: usize,
    /// How many feature vectors the statistics summarise.
    pub count: usize,
    pub mean: Vec<f64>,
    /// `dim × dim`, row-major, normalised by `count − 1` like `numpy.cov(rowvar=False)`, which is
    /// what published FID statistics use.
    pub cov: Vec<f64>,
}

impl FeatureStats {
    /// Statistics of `features`, read as rows of `dim` values each.
    ///
    /// Two passes in `f64` (mean first, then the centred products): the one-pass formula
    /// E[xxᵀ] − μμᵀ cancels catastrophically when the features sit far from the origin, which
    /// network activations often do.
    pub fn from_rows(features: &[f32], dim: usize) -> Result<Self, String> {
        if dim == 0 {
            return Err("feature dimension must be at least 1".to_string());
        }
        if !features.len().is_multiple_of(dim) {
            return Err(format!(
                "{} feature values do not split into rows of {dim}",
                features.len()
            ));
        }
        let count = features.len() / dim;
        if count < 2 {
            return Err(format!(
                "a covariance needs at least 2 feature vectors, got {count}"
            ));
        }
        if let Some(position) = features.iter().position(|value| !value.is_finite()) {
            return Err(format!(
                "feature vector {} has a non-finite value ({}) at index {}",
                position / dim,
                features[position],
                position % dim
            ));
        }

        let mut mean = vec![0.0f64; dim];
        for row in features.chunks_exact(dim) {
            for (sum, &value) in mean.iter_mut().zip(row) {
                *sum += f64::from(value);
            }
        }
        for sum in &mut mean {
            *sum /= count as f64;
        }

        // Only the upper triangle is accumulated; the mirror image is copied at the end, which
        // also makes the result exactly symmetric.
        let mut cov = vec![0.0f64; dim * dim];
        let mut centred = vec![0.0f64; dim];
        for row in features.chunks_exact(dim) {
            for ((deviation, &value), &mu) in centred.iter_mut().zip(row).zip(&mean) {
                *deviation = f64::from(value) - mu;
            }
            for i in 0..dim {
                let deviation_i = centred[i];
                let cov_row = &mut cov[i * dim..(i + 1) * dim];
                for j in i..dim {
                    cov_row[j] += deviation_i * centred[j];
                }
            }
        }
        let bessel = 1.0 / (count - 1) as f64;
        for i in 0..dim {
            for j in i..dim {
                let value = cov[i * dim + j] * bessel;
                cov[i * dim + j] = value;
                cov[j * dim + i] = value;
            }
        }
        Ok(Self {
            dim,
            count,
            mean,
            cov,
        })
    }

    /// tr Σ: the total variance of the features.
    pub fn total_variance(&self) -> f64 {
        trace(&self.cov, self.dim)
    }

    fn check_shape(&self, name: &str) -> Result<(), String> {
        if self.mean.len() != self.dim || self.cov.len() != self.dim * self.dim {
            return Err(format!(
                "{name}: dim {} but {} mean values and {} covariance values",
                self.dim,
                self.mean.len(),
                self.cov.len()
            ));
        }
        Ok(())
    }
}

/// Negative results no larger than this fraction of ‖μa − μb‖² + tr Σa + tr Σb are round-off.
///
/// The distance is a difference of large terms that cancel when the two Gaussians coincide, so
/// the computed value can land slightly below zero; a square distance cannot, so it is reported
/// as 0. The round-off measured on self-distances (up to dim 256, rank-deficient included) is
/// below 1e-14 of that scale, so this leaves a wide margin. Anything more negative means the
/// covariances were not positive semi-definite, which is an input error worth seeing rather than
/// hiding behind a 0.
const ROUND_OFF_TOLERANCE: f64 = 1e-9;

/// The squared Fréchet (2-Wasserstein) distance between the Gaussians N(μa, Σa) and N(μb, Σb):
/// ‖μa − μb‖² + tr Σa + tr Σb − 2 tr((Σa Σb)^{1/2}). This is FID when both statistics come from
/// Inception pool features of real and generated images.
///
/// tr((Σa Σb)^{1/2}) is the sum of the square roots of the eigenvalues of the symmetric positive
/// semi-definite M = Σa^{1/2} Σb Σa^{1/2}, which is similar to Σa Σb (M = Σa^{1/2} (Σa Σb)
/// Σa^{-1/2} where Σa is invertible, and by continuity otherwise). Those square roots are taken
/// as the singular values of C = Σb^{1/2} Σa^{1/2} (CᵀC = M) rather than as √λ(M): an eigensolver
/// knows each λ(M) only to about an ulp of ‖M‖, and the square root turns that into √ulp of ‖Σ‖
/// per eigenvalue. Covariances from fewer samples than dimensions have many zero eigenvalues, and
/// there √λ(M) made the distance of such statistics to themselves come out near −1e-7 relative
/// (dim 256, 30 samples) instead of 0; the singular values stay within an ulp of ‖C‖.
///
/// The cost is two `dim × dim` eigendecompositions, a product and an SVD sweep loop, O(dim³);
/// it is meant for `dim` up to a few hundred (one to two seconds at 256 in a native build).
pub fn frechet_distance(a: &FeatureStats, b: &FeatureStats) -> Result<f64, String> {
    a.check_shape("first statistics")?;
    b.check_shape("second statistics")?;
    if a.dim != b.dim {
        return Err(format!(
            "feature dimensions differ: {} and {}",
            a.dim, b.dim
        ));
    }
    let n = a.dim;
    if a.mean
        .iter()
        .chain(&a.cov)
        .chain(&b.mean)
        .chain(&b.cov)
        .any(|x| !x.is_finite())
    {
        return Err("the statistics contain a non-finite value".to_string());
    }

    let mean_term = squared_mean_distance(a, b);
    let trace_a = a.total_variance();
    let trace_b = b.total_variance();

    let root_a = sqrt_psd(&a.cov, n);
    let root_b = sqrt_psd(&b.cov, n);
    let trace_of_root = sum_of_singular_values(&multiply(&root_b, &root_a, n), n);

    let distance = mean_term + trace_a + trace_b - 2.0 * trace_of_root;
    if distance >= 0.0 {
        return Ok(distance);
    }
    let scale = mean_term + trace_a + trace_b;
    if distance >= -ROUND_OFF_TOLERANCE * scale {
        Ok(0.0)
    } else {
        Err(format!(
            "the distance came out negative ({distance:e} against a scale of {scale:e}): \
             a covariance is not positive semi-definite"
        ))
    }
}

/// ‖μa − μb‖², the first term of the Fréchet distance.
pub fn squared_mean_distance(a: &FeatureStats, b: &FeatureStats) -> f64 {
    a.mean
        .iter()
        .zip(&b.mean)
        .map(|(x, y)| (x - y) * (x - y))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rng::SeededRng;
    use crate::images::linalg::max_abs_difference;

    fn diagonal_stats(mean: &[f64], variances: &[f64]) -> FeatureStats {
        let dim = mean.len();
        let mut cov = vec![0.0; dim * dim];
        for (i, &variance) in variances.iter().enumerate() {
            cov[i * dim + i] = variance;
        }
        FeatureStats {
            dim,
            count: 1000,
            mean: mean.to_vec(),
            cov,
        }
    }

    fn random_features(rng: &mut SeededRng, rows: usize, dim: usize, offset: f64) -> Vec<f32> {
        let mixing: Vec<f64> = (0..dim * dim).map(|_| rng.normal()).collect();
        let mut features = Vec::with_capacity(rows * dim);
        for _ in 0..rows {
            let latent: Vec<f64> = (0..dim).map(|_| rng.normal()).collect();
            for j in 0..dim {
                let value: f64 = (0..dim).map(|k| latent[k] * mixing[k * dim + j]).sum();
                features.push((value + offset + j as f64) as f32);
            }
        }
        features
    }

    #[test]
    fn statistics_match_the_textbook_formulas_even_far_from_the_origin() {
        let features = [1.0f32, 2.0, 3.0, 5.0, 5.0, 11.0];
        let stats = FeatureStats::from_rows(&features, 2).unwrap();
        assert_eq!(stats.count, 3);
        assert_eq!(stats.mean, vec![3.0, 6.0]);
        // Deviations (−2, −4), (0, −1), (2, 5): sums of products 8, 18, 42, over n − 1 = 2.
        assert_eq!(stats.cov, vec![4.0, 9.0, 9.0, 21.0]);

        let shifted: Vec<f32> = features.iter().map(|x| x + 1.0e6).collect();
        let shifted_stats = FeatureStats::from_rows(&shifted, 2).unwrap();
        assert!(max_abs_difference(&shifted_stats.cov, &stats.cov) < 1e-9);
    }

    #[test]
    fn malformed_features_are_refused() {
        assert!(FeatureStats::from_rows(&[1.0, 2.0, 3.0], 2).is_err());
        assert!(FeatureStats::from_rows(&[1.0, 2.0], 2).is_err());
        assert!(FeatureStats::from_rows(&[], 2).is_err());
        assert!(FeatureStats::from_rows(&[1.0, 2.0], 0).is_err());
        let error = FeatureStats::from_rows(&[1.0, 2.0, f32::NAN, 4.0], 2).unwrap_err();
        assert!(error.contains("feature vector 1"), "{error}");
    }

    #[test]
    fn identical_statistics_are_at_distance_zero() {
        let mut rng = SeededRng::new(3);
        let stats = FeatureStats::from_rows(&random_features(&mut rng, 300, 16, 5.0), 16).unwrap();
        let distance = frechet_distance(&stats, &stats).unwrap();
        assert!(distance.abs() < 1e-9, "{distance}");
    }

    /// Fewer samples than dimensions leave most covariance eigenvalues at zero, where a square
    /// root amplifies round-off the most; comparing such statistics with themselves is still 0.
    #[test]
    fn rank_deficient_statistics_are_at_distance_zero_from_themselves() {
        let mut rng = SeededRng::new(17);
        for (dim, rows) in [(48, 6), (96, 40)] {
            let features: Vec<f32> = (0..rows * dim)
                .map(|_| (rng.normal() * 3.0 + 1.0) as f32)
                .collect();
            let stats = FeatureStats::from_rows(&features, dim).unwrap();
            let distance = frechet_distance(&stats, &stats).unwrap();
            assert!(distance.abs() < 1e-9, "dim {dim}, {rows} rows: {distance}");
        }
    }

    #[test]
    fn diagonal_gaussians_match_the_closed_form() {
        let mean_a = [0.0, 1.0, -2.0, 4.0];
        let mean_b = [1.5, 1.0, 0.5, -1.0];
        let variances_a = [1.0, 4.0, 0.25, 9.0];
        let variances_b = [2.0, 1.0, 0.25, 0.01];
        let expected: f64 = mean_a
            .iter()
            .zip(&mean_b)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f64>()
            + variances_a
                .iter()
                .zip(&variances_b)
                .map(|(x, y): (&f64, &f64)| (x.sqrt() - y.sqrt()).powi(2))
                .sum::<f64>();
        let distance = frechet_distance(
            &diagonal_stats(&mean_a, &variances_a),
            &diagonal_stats(&mean_b, &variances_b),
        )
        .unwrap();
        assert!(
            (distance - expected).abs() < 1e-12 * expected,
            "{distance} vs {expected}"
        );
    }

    #[test]
    fn one_dimensional_distance_is_the_difference_of_means_and_deviations() {
        let (mu_1, sigma_1, mu_2, sigma_2) = (0.5f64, 2.0f64, -1.25f64, 0.75f64);
        let distance = frechet_distance(
            &diagonal_stats(&[mu_1], &[sigma_1 * sigma_1]),
            &diagonal_stats(&[mu_2], &[sigma_2 * sigma_2]),
        )
        .unwrap();
        let expected = (mu_1 - mu_2).powi(2) + (sigma_1 - sigma_2).powi(2);
        assert!(
            (distance - expected).abs() < 1e-14,
            "{distance} vs {expected}"
        );
    }

    #[test]
    fn distance_is_symmetric() {
        let mut rng = SeededRng::new(5);
        let a = FeatureStats::from_rows(&random_features(&mut rng, 200, 12, 0.0), 12).unwrap();
        let b = FeatureStats::from_rows(&random_features(&mut rng, 150, 12, 2.0), 12).unwrap();
        let forward = frechet_distance(&a, &b).unwrap();
        let backward = frechet_distance(&b, &a).unwrap();
        assert!(forward > 1.0);
        assert!(
            (forward - backward).abs() < 1e-10 * forward,
            "{forward} vs {backward}"
        );
    }

    #[test]
    fn mismatched_dimensions_are_refused() {
        let a = diagonal_stats(&[0.0, 0.0], &[1.0, 1.0]);
        let b = diagonal_stats(&[0.0, 0.0, 0.0], &[1.0, 1.0, 1.0]);
        assert!(frechet_distance(&a, &b).is_err());
        let mut truncated = a.clone();
        truncated.cov.pop();
        assert!(frechet_distance(&a, &truncated).is_err());
    }
}
