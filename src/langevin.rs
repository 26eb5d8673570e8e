//! A Langevin particle run: a target mixture, a sampler, particles and their metrics. The page
//! and `genlab langevin` both drive this.

use crate::density::{gmm150, ring, spiral, two_modes, Component, Mixture, MixtureError};
use crate::metrics2d::{particle_metrics, reference_samples, ParticleMetrics};
use crate::rng::SeededRng;
use crate::samplers::{build_sampler, Sampler, SamplerConfig};
use crate::state::{DensityPreset, LangevinParams, ScoreSource};

/// The mixture a preset names. `painted` has no preset: it comes from the canvas.
pub fn preset_mixture(params: &LangevinParams) -> Result<Mixture, MixtureError> {
    match params.density {
        DensityPreset::Gmm150 => Ok(gmm150()),
        DensityPreset::TwoModes => two_modes(params.p),
        DensityPreset::Ring => Ok(ring()),
        DensityPreset::Spiral => Ok(spiral()),
        DensityPreset::Painted => Err(MixtureError("paint a density on the canvas first".into())),
    }
}

/// The kernel density estimate of `samples` with Silverman's bandwidth `h = σ̂ n^(-1/6)` (2-D):
/// a mixture of `N(x_i, h²I)`, so its score is the explicit-score-matching baseline in closed form.
pub fn kde_mixture(samples: &[[f64; 2]], modes_from: &Mixture) -> Result<Mixture, MixtureError> {
    let n = samples.len() as f64;
    let std = |axis: usize| {
        let mean = samples.iter().map(|x| x[axis]).sum::<f64>() / n;
        (samples
            .iter()
            .map(|x| (x[axis] - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt()
    };
    let h = 0.5 * (std(0) + std(1)) * n.powf(-1.0 / 6.0);
    Mixture::new(
        samples
            .iter()
            .map(|x| Component {
                weight: 1.0,
                mean: *x,
                cov: [h * h, 0.0, h * h],
                mode: modes_from.mode_of(*x),
            })
            .collect(),
    )
}

/// The score field a run follows: the exact mixture, or the KDE of 1 000 exact samples.
pub fn score_field(params: &LangevinParams, mixture: &Mixture) -> Result<Mixture, MixtureError> {
    match params.score {
        ScoreSource::Exact => Ok(mixture.clone()),
        ScoreSource::Kde => kde_mixture(
            &reference_samples(mixture, 1000, params.seed ^ 0x6b64),
            mixture,
        ),
        ScoreSource::Learned => Err(MixtureError(
            "the learned score network is not built yet; choose score = exact or kde".into(),
        )),
    }
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

/// The sampler settings a parameter set means for a given target.
pub fn sampler_config(params: &LangevinParams, mixture: &Mixture) -> SamplerConfig {
    let sample = reference_samples(mixture, 1000, params.seed);
    SamplerConfig {
        steps: params.steps as usize,
        tau: params.tau,
        noise_cov: params.noise_cov,
        sigma_max: largest_pairwise_distance(&sample).max(1.0),
        sigma_min: 0.01,
        levels: params.levels as usize,
        steps_per_level: params.steps_per_level as usize,
        eps: params.eps,
        denoise: params.denoise,
    }
}

pub struct LangevinRun {
    mixture: Mixture,
    field: Mixture,
    sampler: Box<dyn Sampler>,
    particles: Vec<[f64; 2]>,
    rng: SeededRng,
    done: usize,
    reference: Vec<[f64; 2]>,
}

impl LangevinRun {
    /// Particles start from N(0, I) (mapped onto the sampler's prior), from `params.seed`. Fails
    /// when the chosen score source cannot be built.
    pub fn new(params: &LangevinParams, mixture: Mixture) -> Result<Self, MixtureError> {
        let field = score_field(params, &mixture)?;
        let config = sampler_config(params, &mixture);
        let sampler = build_sampler(params.sampler, &config);
        let mut rng = SeededRng::new(params.seed);
        let n = params.particles as usize;
        let mut particles: Vec<[f64; 2]> = (0..n).map(|_| [rng.normal(), rng.normal()]).collect();
        sampler.start(&mut particles);
        let reference = reference_samples(&mixture, n.clamp(1000, 10_000), params.seed);
        Ok(Self {
            mixture,
            field,
            sampler,
            particles,
            rng,
            done: 0,
            reference,
        })
    }

    /// Runs up to `n` more steps; returns how many ran.
    pub fn advance(&mut self, n: usize) -> usize {
        let todo = n.min(self.total_steps() - self.done);
        for _ in 0..todo {
            self.sampler
                .step(self.done, &mut self.particles, &self.field, &mut self.rng);
            self.done += 1;
        }
        todo
    }

    pub fn total_steps(&self) -> usize {
        self.sampler.total_steps()
    }

    pub fn steps_done(&self) -> usize {
        self.done
    }

    pub fn particles(&self) -> &[[f64; 2]] {
        &self.particles
    }

    pub fn mixture(&self) -> &Mixture {
        &self.mixture
    }

    /// The score field the sampler follows (the mixture itself for the exact score).
    pub fn field(&self) -> &Mixture {
        &self.field
    }

    pub fn metrics(&self) -> ParticleMetrics {
        particle_metrics(&self.mixture, &self.particles, &self.reference)
    }

    /// The noise level of the density the particles are currently sampling (0 = π itself).
    pub fn current_sigma(&self) -> f64 {
        if self.done == 0 {
            self.sampler.sigma_after(0)
        } else {
            self.sampler.sigma_after(self.done - 1)
        }
    }

    pub fn diagnostic(&self) -> Option<(&'static str, f64)> {
        self.sampler.diagnostic()
    }
}

/// What the page says beside a run: the course's lessons, when the run shows them.
pub fn lessons(
    params: &LangevinParams,
    mixture: &Mixture,
    metrics: &ParticleMetrics,
) -> Vec<String> {
    use crate::state::SamplerName::*;
    let mut said = Vec::new();
    if metrics.non_finite > 0 {
        said.push(format!(
            "τ = {} is too large for this density: {} particles diverged to infinity and are not drawn. \
             A stable step must stay well below the smallest variance of the target.",
            params.tau, metrics.non_finite
        ));
    }
    let plain = matches!(
        params.sampler,
        GradientAscent | Ula | UlaAniso | Pula | Mala
    );
    if params.sampler == GradientAscent {
        said.push("Gradient ascent has no noise: the particles collapse onto the modes (local maxima of π) instead of sampling it.".into());
    }
    if plain && mixture.mode_count() > 1 && metrics.mode_tv > 0.1 {
        said.push(format!(
            "The mode weights are wrong (total variation {:.2}): started from N(0, I), plain Langevin fills each mode \
             through its basin of attraction, and across low-density gaps the score carries no information about the \
             weights. Annealed Langevin and the reverse SDE/ODE samplers recover them.",
            metrics.mode_tv
        ));
    }
    if params.sampler == UlaAniso {
        said.push("Anisotropic noise without preconditioning the drift samples a distorted law, not π; pula applies Σ to both and samples π.".into());
    }
    if params.sampler == Ula && params.tau >= 0.3 && metrics.non_finite == 0 {
        said.push(format!(
            "With τ = {} ULA is biased: its stationary law is wider than π. MALA's accept/reject step removes the bias at the same τ.",
            params.tau
        ));
    }
    said
}
