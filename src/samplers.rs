//! The samplers of the Langevin demo, each a plug-in behind [`Sampler`], named as in links and
//! on the command line. They move particles on the CPU in f64; the WebGPU path runs the same
//! update rules in WGSL.

use crate::density::{cholesky2, Mixture};
use crate::rng::SeededRng;
use crate::state::{SamplerName, Sym2};

/// Where a sampler gets its scores from: the exact mixture, a learned network, a KDE.
pub trait ScoreField {
    /// `∇log π_σ(x)` for every point; `sigma = 0` is the target itself.
    fn scores(&self, xs: &[[f64; 2]], sigma: f64) -> Vec<[f64; 2]>;

    /// `log π(x)` up to a constant, where it is known (MALA needs it).
    fn log_densities(&self, _xs: &[[f64; 2]]) -> Option<Vec<f64>> {
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

    fn log_densities(&self, xs: &[[f64; 2]]) -> Option<Vec<f64>> {
        let exact = self.noised(0.0);
        Some(
            xs.iter()
                .map(|x| exact.log_density_and_score(*x).0)
                .collect(),
        )
    }
}

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

/// One way of moving particles.
pub trait Sampler {
    /// Steps in a full run.
    fn total_steps(&self) -> usize;

    /// Maps standard-normal draws onto this sampler's starting distribution (the VE samplers
    /// start from their prior `N(0, σ_max² I)`).
    fn start(&self, standard_normal: &mut [[f64; 2]]) {
        let _ = standard_normal;
    }

    /// Step `i` (0-based) of the run, applied to every particle.
    fn step(
        &mut self,
        i: usize,
        particles: &mut [[f64; 2]],
        score: &dyn ScoreField,
        rng: &mut SeededRng,
    );

    /// The noise level the particles are at after step `i` (0 once they target π itself).
    fn sigma_after(&self, _i: usize) -> f64 {
        0.0
    }

    /// A live figure worth showing (MALA's acceptance rate).
    fn diagnostic(&self) -> Option<(&'static str, f64)> {
        None
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
            build: |c| Box::new(Langevin::new(c, Noise::Naive(Factor::new(c.noise_cov)))),
        },
        SamplerSpec {
            name: SamplerName::Pula,
            summary: "x + τΣ∇log π + √(2τ)Σ^½ζ (preconditioned)",
            build: |c| {
                Box::new(Langevin::new(
                    c,
                    Noise::Preconditioned(Factor::new(c.noise_cov)),
                ))
            },
        },
        SamplerSpec {
            name: SamplerName::Mala,
            summary: "ULA proposal + Metropolis–Hastings",
            build: |c| Box::new(Mala::new(c)),
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

/// `L` with `LLᵀ = Σ`, and Σ itself.
#[derive(Clone, Copy, Debug)]
pub struct Factor {
    cov: Sym2,
    chol: [f64; 3],
}

impl Factor {
    pub fn new(cov: Sym2) -> Self {
        Self {
            cov,
            chol: cholesky2([cov.a, cov.b, cov.d]),
        }
    }

    fn apply_chol(&self, z: [f64; 2]) -> [f64; 2] {
        let [l11, l21, l22] = self.chol;
        [l11 * z[0], l21 * z[0] + l22 * z[1]]
    }

    fn apply_cov(&self, v: [f64; 2]) -> [f64; 2] {
        [
            self.cov.a * v[0] + self.cov.b * v[1],
            self.cov.b * v[0] + self.cov.d * v[1],
        ]
    }
}

fn normal2(rng: &mut SeededRng) -> [f64; 2] {
    [rng.normal(), rng.normal()]
}

enum Noise {
    None,
    Isotropic,
    Naive(Factor),
    Preconditioned(Factor),
}

/// `ga`, `ula`, `ula-aniso`, `pula`: one drift-plus-noise rule with different noise.
struct Langevin {
    steps: usize,
    tau: f64,
    noise: Noise,
}

impl Langevin {
    fn new(config: &SamplerConfig, noise: Noise) -> Self {
        Self {
            steps: config.steps,
            tau: config.tau,
            noise,
        }
    }
}

impl Sampler for Langevin {
    fn total_steps(&self) -> usize {
        self.steps
    }

    fn step(
        &mut self,
        _i: usize,
        particles: &mut [[f64; 2]],
        score: &dyn ScoreField,
        rng: &mut SeededRng,
    ) {
        let scores = score.scores(particles, 0.0);
        let scale = (2.0 * self.tau).sqrt();
        for (x, s) in particles.iter_mut().zip(scores) {
            let (drift, kick) = match &self.noise {
                Noise::None => (s, [0.0, 0.0]),
                Noise::Isotropic => (s, normal2(rng)),
                Noise::Naive(f) => (s, f.apply_chol(normal2(rng))),
                Noise::Preconditioned(f) => (f.apply_cov(s), f.apply_chol(normal2(rng))),
            };
            x[0] += self.tau * drift[0] + scale * kick[0];
            x[1] += self.tau * drift[1] + scale * kick[1];
        }
    }
}

/// Metropolis-adjusted Langevin: the ULA move as a proposal, accepted with the MH ratio, so π is
/// exactly invariant whatever τ.
struct Mala {
    steps: usize,
    tau: f64,
    accepted: u64,
    proposed: u64,
}

impl Mala {
    fn new(config: &SamplerConfig) -> Self {
        Self {
            steps: config.steps,
            tau: config.tau,
            accepted: 0,
            proposed: 0,
        }
    }
}

impl Sampler for Mala {
    fn total_steps(&self) -> usize {
        self.steps
    }

    fn step(
        &mut self,
        _i: usize,
        particles: &mut [[f64; 2]],
        score: &dyn ScoreField,
        rng: &mut SeededRng,
    ) {
        let tau = self.tau;
        let scale = (2.0 * tau).sqrt();
        let Some(log_p_x) = score.log_densities(particles) else {
            // Without a density there is no acceptance ratio; nothing moves rather than a wrong chain.
            return;
        };
        let s_x = score.scores(particles, 0.0);
        let proposals: Vec<[f64; 2]> = particles
            .iter()
            .zip(&s_x)
            .map(|(x, s)| {
                let z = normal2(rng);
                [
                    x[0] + tau * s[0] + scale * z[0],
                    x[1] + tau * s[1] + scale * z[1],
                ]
            })
            .collect();
        let log_p_y = score
            .log_densities(&proposals)
            .expect("density known above");
        let s_y = score.scores(&proposals, 0.0);
        // log q(b | a) = -|b - a - τ s(a)|² / (4τ) + const
        let log_q = |to: &[f64; 2], from: &[f64; 2], s: &[f64; 2]| {
            let dx = to[0] - from[0] - tau * s[0];
            let dy = to[1] - from[1] - tau * s[1];
            -(dx * dx + dy * dy) / (4.0 * tau)
        };
        for i in 0..particles.len() {
            let (x, y) = (particles[i], proposals[i]);
            let log_ratio =
                log_p_y[i] + log_q(&x, &y, &s_y[i]) - log_p_x[i] - log_q(&y, &x, &s_x[i]);
            self.proposed += 1;
            if log_ratio.is_finite() && rng.uniform().ln() < log_ratio {
                particles[i] = y;
                self.accepted += 1;
            }
        }
    }

    fn diagnostic(&self) -> Option<(&'static str, f64)> {
        (self.proposed > 0).then(|| ("acceptance", self.accepted as f64 / self.proposed as f64))
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

    fn start(&self, particles: &mut [[f64; 2]]) {
        scale_all(particles, self.sigmas[0]);
    }

    fn step(
        &mut self,
        i: usize,
        particles: &mut [[f64; 2]],
        score: &dyn ScoreField,
        rng: &mut SeededRng,
    ) {
        let sigma_last = *self.sigmas.last().expect("at least one level");
        if i >= self.langevin_steps() {
            let scores = score.scores(particles, sigma_last);
            for (x, s) in particles.iter_mut().zip(scores) {
                x[0] += sigma_last * sigma_last * s[0];
                x[1] += sigma_last * sigma_last * s[1];
            }
            return;
        }
        let sigma = self.sigmas[i / self.steps_per_level];
        let alpha = self.eps * sigma * sigma / (sigma_last * sigma_last);
        let scores = score.scores(particles, sigma);
        let kick = alpha.sqrt();
        for (x, s) in particles.iter_mut().zip(scores) {
            let z = normal2(rng);
            x[0] += 0.5 * alpha * s[0] + kick * z[0];
            x[1] += 0.5 * alpha * s[1] + kick * z[1];
        }
    }

    fn sigma_after(&self, i: usize) -> f64 {
        if i + 1 >= self.langevin_steps() {
            0.0
        } else {
            self.sigmas[i / self.steps_per_level]
        }
    }
}

fn scale_all(particles: &mut [[f64; 2]], factor: f64) {
    for x in particles {
        x[0] *= factor;
        x[1] *= factor;
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

    fn start(&self, particles: &mut [[f64; 2]]) {
        scale_all(particles, self.sigmas[0]);
    }

    fn step(
        &mut self,
        i: usize,
        particles: &mut [[f64; 2]],
        score: &dyn ScoreField,
        rng: &mut SeededRng,
    ) {
        let (sigma, next) = (self.sigmas[i], self.sigmas[i + 1]);
        let dvar = sigma * sigma - next * next;
        let scores = score.scores(particles, sigma);
        for (x, s) in particles.iter_mut().zip(scores) {
            match self.rule {
                VeRule::Ode => {
                    x[0] += 0.5 * dvar * s[0];
                    x[1] += 0.5 * dvar * s[1];
                }
                VeRule::Sde | VeRule::PredictorCorrector => {
                    // The last step (to σ = 0) adds no noise: it is the Tweedie denoising step.
                    let kick = if next > 0.0 { dvar.sqrt() } else { 0.0 };
                    let z = normal2(rng);
                    x[0] += dvar * s[0] + kick * z[0];
                    x[1] += dvar * s[1] + kick * z[1];
                }
            }
        }
        if self.rule == VeRule::PredictorCorrector && next > 0.0 {
            let scores = score.scores(particles, next);
            let noise: Vec<[f64; 2]> = (0..particles.len()).map(|_| normal2(rng)).collect();
            let norm = |v: &[[f64; 2]]| {
                (v.iter().map(|a| a[0] * a[0] + a[1] * a[1]).sum::<f64>() / v.len().max(1) as f64)
                    .sqrt()
            };
            let (score_norm, noise_norm) = (norm(&scores), norm(&noise));
            if score_norm > 0.0 {
                let step = 2.0 * (CORRECTOR_SNR * noise_norm / score_norm).powi(2);
                let kick = (2.0 * step).sqrt();
                for ((x, s), z) in particles.iter_mut().zip(scores).zip(noise) {
                    x[0] += step * s[0] + kick * z[0];
                    x[1] += step * s[1] + kick * z[1];
                }
            }
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

/// `∇log p_t(x)` of the VP marginal from a noised-score field: with `y = x/√ᾱ`,
/// `p_t(x) ∝ π_σ(y)` at `σ² = (1-ᾱ)/ᾱ`, so `∇_x log p_t = ∇_y log π_σ(y) / √ᾱ`.
pub fn vp_scores(score: &dyn ScoreField, xs: &[[f64; 2]], alpha_bar: f64) -> Vec<[f64; 2]> {
    let root = alpha_bar.sqrt();
    let scaled: Vec<[f64; 2]> = xs.iter().map(|x| [x[0] / root, x[1] / root]).collect();
    let sigma = ((1.0 - alpha_bar) / alpha_bar).sqrt();
    score
        .scores(&scaled, sigma)
        .into_iter()
        .map(|s| [s[0] / root, s[1] / root])
        .collect()
}

impl Sampler for ReverseVp {
    fn total_steps(&self) -> usize {
        self.steps
    }

    fn step(
        &mut self,
        i: usize,
        particles: &mut [[f64; 2]],
        score: &dyn ScoreField,
        rng: &mut SeededRng,
    ) {
        let t = self.time(i);
        let dt = t - self.time(i + 1);
        let beta = Self::beta(t);
        let scores = vp_scores(score, particles, Self::alpha_bar(t));
        let kick = (beta * dt).sqrt();
        for (x, s) in particles.iter_mut().zip(scores) {
            let z = normal2(rng);
            x[0] += (0.5 * beta * x[0] + beta * s[0]) * dt + kick * z[0];
            x[1] += (0.5 * beta * x[1] + beta * s[1]) * dt + kick * z[1];
        }
    }

    fn sigma_after(&self, i: usize) -> f64 {
        let a = Self::alpha_bar(self.time(i + 1));
        ((1.0 - a) / a).sqrt()
    }
}

/// Standard-normal particles mapped onto the sampler's start, then a full run.
pub fn run_sampler(
    sampler: &mut dyn Sampler,
    score: &dyn ScoreField,
    n: usize,
    seed: u64,
) -> Vec<[f64; 2]> {
    let mut rng = SeededRng::new(seed);
    let mut particles: Vec<[f64; 2]> = (0..n).map(|_| normal2(&mut rng)).collect();
    sampler.start(&mut particles);
    for i in 0..sampler.total_steps() {
        sampler.step(i, &mut particles, score, &mut rng);
    }
    particles
}
