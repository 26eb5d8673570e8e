//! Live metrics of the Langevin demo: particles against exact samples of π.

use serde::Serialize;

use crate::core::rng::SeededRng;
use crate::langevin::density::Mixture;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParticleMetrics {
    /// Fraction of particles in each mode, against the true mode weights.
    pub occupancy: Vec<f64>,
    pub mode_weights: Vec<f64>,
    /// Total variation between occupancy and mode weights: ½ Σ |occupancy − weight|.
    pub mode_tv: f64,
    /// Sliced 2-Wasserstein distance to exact samples of π.
    pub sliced_wasserstein: f64,
    /// Particles that are NaN or infinite (a diverged sampler), excluded from the rest.
    pub non_finite: usize,
}

/// Compares particles with `reference`, exact samples of the same mixture.
pub fn particle_metrics(
    mixture: &Mixture,
    particles: &[[f64; 2]],
    reference: &[[f64; 2]],
) -> ParticleMetrics {
    let finite: Vec<[f64; 2]> = particles
        .iter()
        .copied()
        .filter(|x| x[0].is_finite() && x[1].is_finite())
        .collect();
    let mode_weights = mixture.mode_weights();
    let mut counts = vec![0usize; mode_weights.len()];
    for x in &finite {
        counts[mixture.mode_of(*x)] += 1;
    }
    let occupancy: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / finite.len().max(1) as f64)
        .collect();
    let mode_tv = 0.5
        * occupancy
            .iter()
            .zip(&mode_weights)
            .map(|(o, w)| (o - w).abs())
            .sum::<f64>();
    ParticleMetrics {
        occupancy,
        mode_weights,
        mode_tv,
        sliced_wasserstein: sliced_wasserstein(&finite, reference, 64),
        non_finite: particles.len() - finite.len(),
    }
}

/// Sliced 2-Wasserstein distance over `directions` evenly spaced angles, comparing quantiles so
/// the two sets may differ in size.
pub fn sliced_wasserstein(a: &[[f64; 2]], b: &[[f64; 2]], directions: usize) -> f64 {
    if a.is_empty() || b.is_empty() {
        return f64::INFINITY;
    }
    let n = a.len().max(b.len()).min(4096);
    let quantiles = |points: &[[f64; 2]], (c, s): (f64, f64)| -> Vec<f64> {
        let mut p: Vec<f64> = points.iter().map(|x| c * x[0] + s * x[1]).collect();
        p.sort_by(f64::total_cmp);
        (0..n)
            .map(|i| p[((i as f64 + 0.5) / n as f64 * p.len() as f64) as usize])
            .collect()
    };
    let mut total = 0.0;
    for k in 0..directions {
        let angle = std::f64::consts::PI * (k as f64 + 0.5) / directions as f64;
        let dir = (angle.cos(), angle.sin());
        let (qa, qb) = (quantiles(a, dir), quantiles(b, dir));
        total += qa
            .iter()
            .zip(&qb)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            / n as f64;
    }
    (total / directions as f64).sqrt()
}

/// Exact samples of π for the metrics, from a seed of their own.
pub fn reference_samples(mixture: &Mixture, n: usize, seed: u64) -> Vec<[f64; 2]> {
    mixture.sample(n, &mut SeededRng::new(seed ^ 0x5eed_5a3b))
}
