//! A Langevin particle run: a target mixture, a sampler, particles and their metrics. The page
//! and `genlab langevin` both drive this.

use crate::langevin::density::{gmm150, ring, spiral, two_modes, Component, Mixture, MixtureError};
use crate::langevin::metrics::{particle_metrics, reference_samples, ParticleMetrics};
use burn::tensor::{Device, Tensor};

use crate::core::gpu::GpuContext;
use crate::core::training::{time_steps, TimedSteps, TimingPlan};
use crate::langevin::gpu_particles::{GpuParticles, GpuSnapshot};
use crate::langevin::learned_score::{
    largest_pairwise_distance, ncsn_v2_schedule, AnnealingSchedule, LearnedScore,
};
use crate::langevin::params::{DensityPreset, LangevinParams, SamplerName, ScoreSource};
use crate::langevin::particles::{CpuParticles, Move};
use crate::langevin::samplers::{build_sampler, Sampler, SamplerConfig};
use crate::langevin::score::ScoreField;
use crate::langevin::tensor_particles::{MixtureTensors, TensorParticles, TensorScore};

/// The mixture a preset names. `painted` has no preset: it comes from the canvas.
pub fn preset_mixture(params: &LangevinParams) -> Result<Mixture, MixtureError> {
    match params.density {
        DensityPreset::Gmm150 => Ok(gmm150()),
        DensityPreset::TwoModes => two_modes(params.p),
        DensityPreset::Ring => Ok(ring()),
        DensityPreset::Spiral => Ok(spiral()),
        DensityPreset::Painted => painted_mixture(&params.paint.dabs, params.paint.brush),
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

/// What a run's scores come from.
pub enum ScoreModel {
    /// The exact mixture, or the KDE of exact samples (also a mixture).
    Mixture(Mixture),
    /// A network trained live by denoising score matching.
    Learned(Box<LearnedScore>),
}

impl ScoreModel {
    pub fn field(&self) -> &dyn ScoreField {
        match self {
            ScoreModel::Mixture(mixture) => mixture,
            ScoreModel::Learned(net) => net.as_ref(),
        }
    }

    pub fn mixture(&self) -> Option<&Mixture> {
        match self {
            ScoreModel::Mixture(mixture) => Some(mixture),
            ScoreModel::Learned(_) => None,
        }
    }
}

/// The score field a mixture-based source follows: the exact mixture, or the KDE of 1 000 exact
/// samples. `None` for the learned score, which is trained by the run.
pub fn score_field(
    params: &LangevinParams,
    mixture: &Mixture,
) -> Result<Option<Mixture>, MixtureError> {
    match params.score {
        ScoreSource::Exact => Ok(Some(mixture.clone())),
        ScoreSource::Kde => kde_mixture(
            &reference_samples(mixture, 1000, params.seed ^ 0x6b64),
            mixture,
        )
        .map(Some),
        ScoreSource::Learned => Ok(None),
    }
}

/// NCSN-v2's schedule for a learned score: σ_1 from the data, γ from the overlap equation, the
/// annealing budget `levels × steps-per-level` of the link shared over the resulting levels, ε from
/// the variance formula.
pub fn learned_schedule(params: &LangevinParams, mixture: &Mixture) -> AnnealingSchedule {
    let sample = reference_samples(mixture, 1000, params.seed);
    ncsn_v2_schedule(
        &sample,
        SIGMA_MIN,
        (params.levels * params.steps_per_level) as usize,
    )
}

/// The smallest noise level of every annealed and reverse-diffusion sampler.
pub const SIGMA_MIN: f64 = 0.01;

/// The sampler settings a parameter set means for a given target.
pub fn sampler_config(params: &LangevinParams, mixture: &Mixture) -> SamplerConfig {
    let sample = reference_samples(mixture, 1000, params.seed);
    SamplerConfig {
        steps: params.steps as usize,
        tau: params.tau,
        noise_cov: params.noise_cov,
        sigma_max: largest_pairwise_distance(&sample).max(1.0),
        sigma_min: SIGMA_MIN,
        levels: params.levels as usize,
        steps_per_level: params.steps_per_level as usize,
        eps: params.eps,
        denoise: params.denoise,
    }
}

/// Where the particles live and what moves them.
pub enum ParticleStore {
    /// f64 in this process, moved by `particles.rs`.
    Cpu(CpuParticles),
    /// f32 on the GPU, moved by the WGSL shader; `seen` is the last read-back.
    Gpu {
        particles: Box<GpuParticles>,
        seen: GpuSnapshot,
    },
    /// An `[n, 2]` tensor on a burn device (the learned score on WebGPU; the benchmark).
    Tensor {
        particles: Box<TensorParticles>,
        mixture: Option<Box<MixtureTensors>>,
        seen: GpuSnapshot,
    },
}

/// Where a run puts its particles (and its score network, when it learns one).
#[derive(Clone)]
pub enum Placement {
    /// f64 particles here; a learned network on burn's CPU backend.
    Cpu,
    /// The WGSL shader on this wgpu device for mixture scores; a learned score runs the burn path
    /// on `device` (the burn device over the same wgpu device).
    Wgsl(GpuContext, Device),
    /// The burn path on `device`.
    Burn(Device),
}

pub struct LangevinRun {
    mixture: Mixture,
    score: ScoreModel,
    sampler: Box<dyn Sampler>,
    config: SamplerConfig,
    store: ParticleStore,
    done: usize,
    reference: Vec<[f64; 2]>,
}

/// How many GPU particles are read back for the metrics (the exact reference has as many).
pub const METRIC_SAMPLE: usize = 10_000;

impl LangevinRun {
    /// Particles start from N(0, I) (mapped onto the sampler's prior), from `params.seed`, on the
    /// CPU. Fails when the chosen score source cannot be built.
    pub fn new(params: &LangevinParams, mixture: Mixture) -> Result<Self, MixtureError> {
        Self::placed(params, mixture, Placement::Cpu)
    }

    pub fn placed(
        params: &LangevinParams,
        mixture: Mixture,
        placement: Placement,
    ) -> Result<Self, MixtureError> {
        let field = score_field(params, &mixture)?;
        let mut config = sampler_config(params, &mixture);
        let score = match field {
            Some(field) => ScoreModel::Mixture(field),
            None => {
                if params.sampler == SamplerName::Mala {
                    return Err(MixtureError(
                        "MALA needs log π for its accept/reject step, and a learned score has no density; choose another sampler or score = exact".into(),
                    ));
                }
                let schedule = learned_schedule(params, &mixture);
                config.levels = schedule.sigmas.len();
                config.steps_per_level = schedule.steps_per_level;
                config.eps = schedule.eps;
                config.sigma_max = schedule.sigmas[0];
                let device = match &placement {
                    Placement::Cpu => Device::flex(),
                    Placement::Wgsl(_, device) | Placement::Burn(device) => device.clone(),
                };
                ScoreModel::Learned(Box::new(LearnedScore::new(
                    &device,
                    &mixture,
                    schedule.sigmas,
                    params.seed,
                )))
            }
        };
        let sampler = build_sampler(params.sampler, &config);
        let (n, start, seed) = (params.particles, sampler.start_scale(), params.seed);
        let tensor_store = |device: &Device, mixture: Option<&Mixture>| ParticleStore::Tensor {
            particles: Box::new(TensorParticles::new(n as usize, start, seed, device)),
            mixture: mixture.map(|m| Box::new(MixtureTensors::new(m, device))),
            seen: GpuSnapshot::default(),
        };
        let store = match (&placement, score.mixture()) {
            (Placement::Cpu, _) => ParticleStore::Cpu(CpuParticles::new(n as usize, start, seed)),
            (Placement::Wgsl(gpu, _), Some(field)) => ParticleStore::Gpu {
                particles: Box::new(
                    GpuParticles::new(gpu, field, n, start, seed).map_err(MixtureError)?,
                ),
                seen: GpuSnapshot::default(),
            },
            (Placement::Wgsl(_, device), None) => tensor_store(device, None),
            (Placement::Burn(device), field) => tensor_store(device, field),
        };
        let reference = reference_samples(
            &mixture,
            (params.particles as usize).clamp(1000, METRIC_SAMPLE),
            params.seed,
        );
        Ok(Self {
            mixture,
            score,
            sampler,
            config,
            store,
            done: 0,
            reference,
        })
    }

    /// The sampler settings in force (for a learned score, NCSN-v2's schedule).
    pub fn config(&self) -> &SamplerConfig {
        &self.config
    }

    /// Queues `n` training steps of the learned score network and returns their losses unread
    /// (none for a mixture score).
    pub fn train_score(&mut self, n: usize) -> Vec<Tensor<1>> {
        match &mut self.score {
            ScoreModel::Learned(net) => (0..n).map(|_| net.train_step()).collect(),
            ScoreModel::Mixture(_) => Vec::new(),
        }
    }

    pub fn score(&self) -> &ScoreModel {
        &self.score
    }

    /// Runs up to `n` more steps; returns how many ran. On the GPU the steps are only queued.
    pub fn advance(&mut self, n: usize) -> usize {
        let todo = n.min(self.total_steps() - self.done);
        let moves: Vec<Move> = (self.done..self.done + todo)
            .flat_map(|i| self.sampler.moves(i))
            .collect();
        match &mut self.store {
            ParticleStore::Cpu(particles) => {
                for step in &moves {
                    particles.apply(step, self.score.field());
                }
            }
            ParticleStore::Gpu { particles, .. } => particles.apply(&moves),
            ParticleStore::Tensor {
                particles, mixture, ..
            } => {
                let score: &dyn TensorScore = match (&self.score, mixture.as_deref()) {
                    (_, Some(tensors)) => tensors,
                    (ScoreModel::Learned(net), None) => net.as_ref(),
                    (ScoreModel::Mixture(_), None) => {
                        unreachable!("mixture tensors are built with the store")
                    }
                };
                for step in &moves {
                    particles.apply(step, score);
                }
            }
        }
        self.done += todo;
        todo
    }

    /// Starts a read-back of the particles the metrics and the page see (the first
    /// [`METRIC_SAMPLE`]); `None` on the CPU, where they are always current. The future owns what
    /// it needs, so the run stays usable while it waits; hand its result to [`Self::show`].
    #[allow(clippy::type_complexity)]
    pub fn read_back(
        &self,
    ) -> Option<std::pin::Pin<Box<dyn std::future::Future<Output = Result<GpuSnapshot, String>>>>>
    {
        match &self.store {
            ParticleStore::Cpu(_) => None,
            ParticleStore::Gpu { particles, .. } => {
                Some(Box::pin(particles.snapshot(METRIC_SAMPLE)))
            }
            ParticleStore::Tensor { particles, .. } => {
                let proposed = particles.proposed;
                let reading = particles.snapshot(METRIC_SAMPLE);
                Some(Box::pin(async move {
                    let (positions, accepted) = reading.await?;
                    Ok(GpuSnapshot {
                        positions,
                        accepted,
                        proposed,
                    })
                }))
            }
        }
    }

    /// Takes a read-back as the particles the metrics and the page see.
    pub fn show(&mut self, snapshot: GpuSnapshot) {
        match &mut self.store {
            ParticleStore::Cpu(_) => {}
            ParticleStore::Gpu { seen, .. } | ParticleStore::Tensor { seen, .. } => {
                *seen = snapshot
            }
        }
    }

    /// Reads back and shows, in one call (the CLI and tests; the page splits the two).
    pub async fn refresh(&mut self) -> Result<(), String> {
        if let Some(reading) = self.read_back() {
            let snapshot = reading.await?;
            self.show(snapshot);
        }
        Ok(())
    }

    pub fn total_steps(&self) -> usize {
        self.sampler.total_steps()
    }

    pub fn steps_done(&self) -> usize {
        self.done
    }

    /// All particles on the CPU; the last read-back on the GPU.
    pub fn particles(&self) -> &[[f64; 2]] {
        match &self.store {
            ParticleStore::Cpu(particles) => &particles.positions,
            ParticleStore::Gpu { seen, .. } | ParticleStore::Tensor { seen, .. } => &seen.positions,
        }
    }

    pub fn particle_count(&self) -> usize {
        match &self.store {
            ParticleStore::Cpu(particles) => particles.positions.len(),
            ParticleStore::Gpu { particles, .. } => particles.count() as usize,
            ParticleStore::Tensor { particles, .. } => particles.positions.dims()[0],
        }
    }

    pub fn gpu_particles(&self) -> Option<&GpuParticles> {
        match &self.store {
            ParticleStore::Gpu { particles, .. } => Some(particles),
            _ => None,
        }
    }

    /// Which engine moves the particles: `cpu`, `wgsl` or `burn`.
    pub fn engine(&self) -> &'static str {
        match &self.store {
            ParticleStore::Cpu(_) => "cpu",
            ParticleStore::Gpu { .. } => "wgsl",
            ParticleStore::Tensor { .. } => "burn",
        }
    }

    pub fn mixture(&self) -> &Mixture {
        &self.mixture
    }

    pub fn metrics(&self) -> ParticleMetrics {
        particle_metrics(&self.mixture, self.particles(), &self.reference)
    }

    /// The noise level of the density the particles are currently sampling (0 = π itself).
    pub fn current_sigma(&self) -> f64 {
        if self.done == 0 {
            self.sampler.sigma_after(0)
        } else {
            self.sampler.sigma_after(self.done - 1)
        }
    }

    /// MALA's acceptance rate so far.
    pub fn diagnostic(&self) -> Option<(&'static str, f64)> {
        let (accepted, proposed) = match &self.store {
            ParticleStore::Cpu(particles) => (particles.accepted, particles.proposed),
            ParticleStore::Gpu { seen, .. } | ParticleStore::Tensor { seen, .. } => {
                (seen.accepted, seen.proposed)
            }
        };
        (proposed > 0).then(|| ("acceptance", accepted as f64 / proposed as f64))
    }
}

/// What the page says beside a run: the course's lessons, when the run shows them.
pub fn lessons(
    params: &LangevinParams,
    mixture: &Mixture,
    metrics: &ParticleMetrics,
) -> Vec<String> {
    use crate::langevin::params::SamplerName::*;
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

/// A density painted on the canvas: one isotropic component of standard deviation `brush` per
/// dab; dabs closer than three brush widths (transitively) form one mode, so the metrics count
/// each painted blob as a mode.
pub fn painted_mixture(dabs: &[[f64; 2]], brush: f64) -> Result<Mixture, MixtureError> {
    if dabs.is_empty() {
        return Err(MixtureError("paint a density on the canvas first".into()));
    }
    if !(brush.is_finite() && brush > 0.0) || dabs.iter().flatten().any(|v| !v.is_finite()) {
        return Err(MixtureError(
            "the painted strokes have a non-finite position or brush width".into(),
        ));
    }
    let mut parent: Vec<usize> = (0..dabs.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..dabs.len() {
        for j in i + 1..dabs.len() {
            let gap = (dabs[i][0] - dabs[j][0]).hypot(dabs[i][1] - dabs[j][1]);
            if gap < 3.0 * brush {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a] = b;
            }
        }
    }
    let mut mode_of_root = std::collections::HashMap::new();
    let components = (0..dabs.len())
        .map(|i| {
            let r = root(&mut parent, i);
            let next = mode_of_root.len();
            let mode = *mode_of_root.entry(r).or_insert(next);
            Component {
                weight: 1.0,
                mean: dabs[i],
                cov: [brush * brush, 0.0, brush * brush],
                mode,
            }
        })
        .collect();
    Mixture::new(components)
}

/// Counts `positions` per pixel of a `width × height` view with corners `[x0, y_top, x1,
/// y_bottom]` (row 0 at `y_top`), as the GPU histogram shader does.
pub fn bin_positions(
    positions: &[[f64; 2]],
    corners: [f64; 4],
    width: u32,
    height: u32,
) -> Vec<u32> {
    let [x0, y0, x1, y1] = corners;
    let mut bins = vec![0u32; (width * height) as usize];
    for p in positions {
        let u = (p[0] - x0) / (x1 - x0);
        let v = (p[1] - y0) / (y1 - y0);
        if (0.0..1.0).contains(&u) && (0.0..1.0).contains(&v) {
            let col = ((u * width as f64) as u32).min(width - 1);
            let row = ((v * height as f64) as u32).min(height - 1);
            bins[(row * width + col) as usize] += 1;
        }
    }
    bins
}

/// Particle-steps per second of a run: one warm-up step (shader compilation, first uploads) and a
/// read-back, then `steps` steps timed up to the read-back that proves they ran. The page's
/// benchmark and `genlab bench-particles` both use it.
pub async fn time_particle_steps(run: &mut LangevinRun, steps: usize) -> Result<f64, String> {
    let plan = TimingPlan {
        warmup: 0,
        batch: steps,
        max_batch: steps,
        budget_s: f64::INFINITY,
        max_steps: steps,
    };
    let timing = time_steps(run, plan, || async {}).await?;
    Ok(timing.steps_per_s * run.particle_count() as f64)
}

impl TimedSteps for LangevinRun {
    async fn run_steps(&mut self, n: usize) -> Result<usize, String> {
        let ran = self.advance(n);
        self.refresh().await?;
        Ok(ran)
    }
}
