//! The samplers of the Langevin demo, each a plug-in behind [`Sampler`], named as in links and
//! on the command line. A sampler only schedules [`Move`]s; `particles.rs` (CPU), the WGSL shader
//! and the burn path execute them.

use crate::langevin::density::cholesky2;
use crate::langevin::params::{SamplerName, Sym2};
use crate::langevin::particles::{CpuParticles, Move};
use crate::langevin::score::ScoreField;

/// Everything a sampler may need; each uses its own part.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplerConfig {
    pub steps: usize,
    pub tau: f64,
    pub noise_cov: Sym2,
    /// Noise levels σ_1 > … > σ_L of the annealed and VE samplers.
    pub sigma_max: f64,
    pub sigma_min: f64,
    pub levels: usize,
    pub steps_per_level: usize,
    pub eps: f64,
    pub denoise: bool,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        Self {
            steps: 500,
            tau: 0.01,
            noise_cov: Sym2 {
                a: 2.0,
                b: 0.4,
                d: 0.4,
            },
            sigma_max: 16.0,
            sigma_min: 0.01,
            levels: 20,
            steps_per_level: 50,
            eps: 2e-5,
            denoise: true,
        }
    }
}

/// One way of moving particles: a schedule of [`Move`]s, so the CPU, the WGSL shader and the burn
/// path all run it.
pub trait Sampler {
    /// Steps in a full run.
    fn total_steps(&self) -> usize;

    /// Particles start from `N(0, s² I)` with this `s` (the VE samplers start from their prior
    /// `N(0, σ_max² I)`).
    fn start_scale(&self) -> f64 {
        1.0
    }

    /// The moves of step `i` (0-based), each applied to every particle in turn.
    fn moves(&self, i: usize) -> Vec<Move>;

    /// The noise level the particles are at after step `i` (0 once they target π itself).
    fn sigma_after(&self, _i: usize) -> f64 {
        0.0
    }
}

pub struct SamplerSpec {
    pub name: SamplerName,
    pub summary: &'static str,
    pub build: fn(&SamplerConfig) -> Box<dyn Sampler>,
}

pub fn samplers() -> &'static [SamplerSpec] {
    &[
        SamplerSpec {
            name: SamplerName::GradientAscent,
            summary: "x + τ∇log π (no noise)",
            build: |c| Box::new(Langevin::new(c, Noise::None)),
        },
        SamplerSpec {
            name: SamplerName::Ula,
            summary: "x + τ∇log π + √(2τ)ζ",
            build: |c| Box::new(Langevin::new(c, Noise::Isotropic)),
        },
        SamplerSpec {
            name: SamplerName::UlaAniso,
            summary: "x + τ∇log π + √(2τ)ζ, ζ ~ N(0, Σ) (naive)",
            build: |c| Box::new(Langevin::new(c, Noise::Naive)),
        },
        SamplerSpec {
            name: SamplerName::Pula,
            summary: "x + τΣ∇log π + √(2τ)Σ^½ζ (preconditioned)",
            build: |c| Box::new(Langevin::new(c, Noise::Preconditioned)),
        },
        SamplerSpec {
            name: SamplerName::Mala,
            summary: "ULA proposal + Metropolis–Hastings",
            build: |c| {
                Box::new(Mala {
                    steps: c.steps,
                    tau: c.tau,
                })
            },
        },
        SamplerSpec {
            name: SamplerName::Annealed,
            summary: "NCSN annealed Langevin (Algorithm 1)",
            build: |c| Box::new(Annealed::new(c)),
        },
        SamplerSpec {
            name: SamplerName::SdeVe,
            summary: "reverse VE SDE, Euler–Maruyama",
            build: |c| Box::new(ReverseVe::new(c, VeRule::Sde)),
        },
        SamplerSpec {
            name: SamplerName::SdeVp,
            summary: "reverse VP SDE, Euler–Maruyama",
            build: |c| Box::new(ReverseVp::new(c)),
        },
        SamplerSpec {
            name: SamplerName::PredictorCorrector,
            summary: "VE reverse-diffusion predictor + Langevin corrector",
            build: |c| Box::new(ReverseVe::new(c, VeRule::PredictorCorrector)),
        },
        SamplerSpec {
            name: SamplerName::Ode,
            summary: "probability-flow ODE (VE), Euler",
            build: |c| Box::new(ReverseVe::new(c, VeRule::Ode)),
        },
    ]
}

pub fn build_sampler(name: SamplerName, config: &SamplerConfig) -> Box<dyn Sampler> {
    let spec = samplers()
        .iter()
        .find(|s| s.name == name)
        .expect("every sampler name is registered");
    (spec.build)(config)
}

/// Geometric noise levels from `max` down to `min`.
pub fn geometric_levels(max: f64, min: f64, count: usize) -> Vec<f64> {
    if count <= 1 {
        return vec![min];
    }
    let ratio = (min / max).powf(1.0 / (count - 1) as f64);
    (0..count).map(|i| max * ratio.powi(i as i32)).collect()
}

/// The noise of the plain Langevin family; `Naive` and `Preconditioned` use the config's Σ.
enum Noise {
    None,
    Isotropic,
    Naive,
    Preconditioned,
}

/// `ga`, `ula`, `ula-aniso`, `pula`: one drift-plus-noise rule with different noise.
struct Langevin {
    steps: usize,
    step: Move,
}

impl Langevin {
    fn new(config: &SamplerConfig, noise: Noise) -> Self {
        let tau = config.tau;
        let scale = (2.0 * tau).sqrt();
        let sigma = config.noise_cov;
        let chol_scaled = || cholesky2([sigma.a, sigma.b, sigma.d]).map(|l| scale * l);
        let (drift, noise) = match noise {
            Noise::None => ([tau, 0.0, tau], [0.0; 3]),
            Noise::Isotropic => ([tau, 0.0, tau], [scale, 0.0, scale]),
            Noise::Naive => ([tau, 0.0, tau], chol_scaled()),
            Noise::Preconditioned => ([tau * sigma.a, tau * sigma.b, tau * sigma.d], chol_scaled()),
        };
        Self {
            steps: config.steps,
            step: Move {
                drift,
                noise,
                ..Move::isotropic(0.0, 0.0, 0.0)
            },
        }
    }
}

impl Sampler for Langevin {
    fn total_steps(&self) -> usize {
        self.steps
    }

    fn moves(&self, _i: usize) -> Vec<Move> {
        vec![self.step]
    }
}

/// Metropolis-adjusted Langevin: the ULA move as a proposal, accepted with the MH ratio, so π is
/// exactly invariant whatever τ.
struct Mala {
    steps: usize,
    tau: f64,
}

impl Sampler for Mala {
    fn total_steps(&self) -> usize {
        self.steps
    }

    fn moves(&self, _i: usize) -> Vec<Move> {
        vec![Move::mala(self.tau)]
    }
}

/// NCSN Algorithm 1: `T` Langevin steps `x + (α_i/2) s(x, σ_i) + √α_i z` per level, with
/// `α_i = ε σ_i² / σ_L²`, then optionally `x + σ_L² s(x, σ_L)`.
struct Annealed {
    sigmas: Vec<f64>,
    steps_per_level: usize,
    eps: f64,
    denoise: bool,
}

impl Annealed {
    fn new(config: &SamplerConfig) -> Self {
        Self {
            sigmas: geometric_levels(config.sigma_max, config.sigma_min, config.levels),
            steps_per_level: config.steps_per_level,
            eps: config.eps,
            denoise: config.denoise,
        }
    }

    fn langevin_steps(&self) -> usize {
        self.sigmas.len() * self.steps_per_level
    }
}

impl Sampler for Annealed {
    fn total_steps(&self) -> usize {
        self.langevin_steps() + usize::from(self.denoise)
    }

    fn start_scale(&self) -> f64 {
        self.sigmas[0]
    }

    fn moves(&self, i: usize) -> Vec<Move> {
        let sigma_last = *self.sigmas.last().expect("at least one level");
        if i >= self.langevin_steps() {
            return vec![Move::isotropic(sigma_last * sigma_last, 0.0, sigma_last)];
        }
        let sigma = self.sigmas[i / self.steps_per_level];
        let alpha = self.eps * sigma * sigma / (sigma_last * sigma_last);
        vec![Move::isotropic(0.5 * alpha, alpha.sqrt(), sigma)]
    }

    fn sigma_after(&self, i: usize) -> f64 {
        if i + 1 >= self.langevin_steps() {
            0.0
        } else {
            self.sigmas[i / self.steps_per_level]
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum VeRule {
    Sde,
    PredictorCorrector,
    Ode,
}

/// The VE process `σ(t)` geometric from σ_max to σ_min, run backwards over `steps` steps.
struct ReverseVe {
    sigmas: Vec<f64>,
    rule: VeRule,
}

/// Signal-to-noise ratio of the Langevin corrector (Song et al. 2021 use 0.16 for VE).
const CORRECTOR_SNR: f64 = 0.16;

impl ReverseVe {
    fn new(config: &SamplerConfig, rule: VeRule) -> Self {
        let mut sigmas = geometric_levels(config.sigma_max, config.sigma_min, config.steps.max(1));
        sigmas.push(0.0);
        Self { sigmas, rule }
    }
}

impl Sampler for ReverseVe {
    fn total_steps(&self) -> usize {
        self.sigmas.len() - 1
    }

    fn start_scale(&self) -> f64 {
        self.sigmas[0]
    }

    fn moves(&self, i: usize) -> Vec<Move> {
        let (sigma, next) = (self.sigmas[i], self.sigmas[i + 1]);
        let dvar = sigma * sigma - next * next;
        // The last step (to σ = 0) adds no noise: it is the Tweedie denoising step.
        let kick = if next > 0.0 { dvar.sqrt() } else { 0.0 };
        match self.rule {
            VeRule::Ode => vec![Move::isotropic(0.5 * dvar, 0.0, sigma)],
            VeRule::Sde => vec![Move::isotropic(dvar, kick, sigma)],
            VeRule::PredictorCorrector if next > 0.0 => {
                // Song et al. set the corrector step from batch norms, 2(r‖z‖/‖s‖)²; at noise level
                // σ in 2-D, E‖z‖² = 2 and E‖s‖² ≈ 2/σ², which gives 2r²σ² and keeps every
                // particle independent (no reduction across particles on the GPU).
                let step = 2.0 * CORRECTOR_SNR * CORRECTOR_SNR * next * next;
                vec![
                    Move::isotropic(dvar, kick, sigma),
                    Move::isotropic(step, (2.0 * step).sqrt(), next),
                ]
            }
            VeRule::PredictorCorrector => vec![Move::isotropic(dvar, kick, sigma)],
        }
    }

    fn sigma_after(&self, i: usize) -> f64 {
        self.sigmas[i + 1]
    }
}

/// The VP process with linear β from 0.1 to 20 on t ∈ [0, 1]; its marginal at t is
/// `√ᾱ x₀ + √(1-ᾱ) ε`, so its score is the mixture's noised score at σ² = (1-ᾱ)/ᾱ, rescaled.
struct ReverseVp {
    steps: usize,
}

const VP_BETA_MIN: f64 = 0.1;
const VP_BETA_MAX: f64 = 20.0;
const VP_T_END: f64 = 1e-3;

impl ReverseVp {
    fn new(config: &SamplerConfig) -> Self {
        Self {
            steps: config.steps.max(1),
        }
    }

    fn time(&self, i: usize) -> f64 {
        1.0 - (1.0 - VP_T_END) * i as f64 / self.steps as f64
    }

    fn beta(t: f64) -> f64 {
        VP_BETA_MIN + t * (VP_BETA_MAX - VP_BETA_MIN)
    }

    fn alpha_bar(t: f64) -> f64 {
        (-(VP_BETA_MIN * t + 0.5 * (VP_BETA_MAX - VP_BETA_MIN) * t * t)).exp()
    }
}

impl Sampler for ReverseVp {
    fn total_steps(&self) -> usize {
        self.steps
    }

    /// Euler–Maruyama of `dx = [-½βx − β∇log p_t(x)]dt + √β dw̄` backwards in time. With
    /// `y = x/√ᾱ`, `p_t(x) ∝ π_σ(y)` at `σ² = (1-ᾱ)/ᾱ`, so `∇_x log p_t = ∇_y log π_σ(y) / √ᾱ`.
    fn moves(&self, i: usize) -> Vec<Move> {
        let t = self.time(i);
        let dt = t - self.time(i + 1);
        let beta = Self::beta(t);
        let alpha_bar = Self::alpha_bar(t);
        let root = alpha_bar.sqrt();
        let sigma = ((1.0 - alpha_bar) / alpha_bar).sqrt();
        vec![Move {
            keep: 1.0 + 0.5 * beta * dt,
            input_scale: 1.0 / root,
            ..Move::isotropic(beta * dt / root, (beta * dt).sqrt(), sigma)
        }]
    }

    fn sigma_after(&self, i: usize) -> f64 {
        let a = Self::alpha_bar(self.time(i + 1));
        ((1.0 - a) / a).sqrt()
    }
}

/// Particles from N(0, I) mapped onto the sampler's start, then a full run on the CPU.
pub fn run_sampler(
    sampler: &dyn Sampler,
    score: &dyn ScoreField,
    n: usize,
    seed: u64,
) -> CpuParticles {
    let mut particles = CpuParticles::new(n, sampler.start_scale(), seed);
    for i in 0..sampler.total_steps() {
        for step in sampler.moves(i) {
            particles.apply(&step, score);
        }
    }
    particles
}
