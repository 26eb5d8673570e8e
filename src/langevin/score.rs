//! Where a sampler gets its scores from: the exact mixture here; a learned network and a
//! kernel-density estimate implement the same interface elsewhere.

use crate::langevin::density::Mixture;

/// Where a sampler gets its scores from: the exact mixture, a learned network, a KDE.
pub trait ScoreField {
    /// `∇log π_σ(x)` for every point; `sigma = 0` is the target itself.
    fn scores(&self, xs: &[[f64; 2]], sigma: f64) -> Vec<[f64; 2]>;

    /// `log π(x)` up to a constant and `∇log π(x)`, in one pass, where the density is known
    /// (MALA needs both at every point).
    fn log_densities_and_scores(&self, _xs: &[[f64; 2]]) -> Option<Vec<(f64, [f64; 2])>> {
        None
    }
}

impl ScoreField for Mixture {
    fn scores(&self, xs: &[[f64; 2]], sigma: f64) -> Vec<[f64; 2]> {
        let noised = self.noised(sigma);
        xs.iter()
            .map(|x| noised.log_density_and_score(*x).1)
            .collect()
    }

    fn log_densities_and_scores(&self, xs: &[[f64; 2]]) -> Option<Vec<(f64, [f64; 2])>> {
        let exact = self.noised(0.0);
        Some(xs.iter().map(|x| exact.log_density_and_score(*x)).collect())
    }
}
