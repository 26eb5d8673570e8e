//! The Langevin demo's wasm-bindgen surface: a run stepped by the page, its particle calibration
//! and benchmark, and the painted density's link value.

use std::cell::RefCell;
use std::rc::Rc;

use burn::tensor::Device;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::app::state::PageState;
use crate::core::backend::{decide, BackendKind, BackendTiming};
use crate::core::training::{read_losses, time_steps, TimingPlan};
use crate::langevin::density::{Mixture, MixtureError, MixtureFile};
use crate::langevin::params::{LangevinParams, Painting, MAX_DABS};
use crate::langevin::run::{bin_positions, preset_mixture, LangevinRun, Placement, ScoreModel};
use crate::langevin::score::ScoreField;
use crate::langevin::tensor_particles::{interleaved_f32, score_reading};

use super::{js_error, to_js, webgpu, webgpu_device, yield_to_browser};

#[derive(Serialize)]
struct PaintingForLink {
    /// The link's `paint` value.
    paint: String,
    /// How many dabs it kept.
    dabs: usize,
}

/// A painted density's link value from brush dabs `[x0, y0, x1, y1, …]` in world units:
/// `{paint, dabs}`, the last dabs a link holds at a hundredth of a unit, so links stay short.
#[wasm_bindgen(js_name = paintingLink)]
pub fn painting_link(brush: f64, points: Vec<f64>) -> Result<JsValue, JsError> {
    let hundredth = |v: f64| (v * 100.0).round() / 100.0;
    let dabs: Vec<[f64; 2]> = points
        .chunks_exact(2)
        .map(|p| [hundredth(p[0]), hundredth(p[1])])
        .collect();
    let keep = dabs.len().saturating_sub(MAX_DABS);
    let painting = Painting {
        brush,
        dabs: dabs[keep..].to_vec(),
    };
    to_js(&PaintingForLink {
        paint: painting.to_string(),
        dabs: painting.dabs.len(),
    })
}

/// Times the Langevin particle step of a link's run on the CPU and on WebGPU (the WGSL shader, or
/// the burn path for a learned score), a read-back per batch included, and decides as `auto` does.
#[wasm_bindgen(js_name = calibrateParticles)]
pub async fn calibrate_particles(hash: String, budget_s: f64) -> Result<JsValue, JsError> {
    let params = PageState::from_hash(&hash).state.langevin;
    let mixture = preset_mixture(&params).map_err(|e| js_error(e.0))?;
    let mut timings = Vec::new();
    for backend in [BackendKind::Cpu, BackendKind::Wgpu] {
        let Ok(placement) = placement(backend.name()) else {
            continue;
        };
        let mut run =
            LangevinRun::placed(&params, mixture.clone(), placement).map_err(|e| js_error(e.0))?;
        let plan = TimingPlan {
            warmup: 0,
            batch: 1,
            max_batch: 64,
            budget_s,
            max_steps: usize::MAX,
        };
        let timing = time_steps(&mut run, plan, yield_to_browser)
            .await
            .map_err(js_error)?;
        timings.push(BackendTiming {
            backend,
            first_step_ms: timing.first_step_ms,
            steps_per_s: timing.steps_per_s,
        });
    }
    to_js(&decide("langevin-particles", &timings))
}

/// Particle-steps per second of a link's run on one engine: `cpu` (f64 Rust), `wgsl` (the shader
/// on WebGPU), `burn-webgpu` or `burn-cpu` (the tensor path), for the particle benchmark.
#[wasm_bindgen(js_name = benchParticles)]
pub async fn bench_particles(engine: String, hash: String, steps: u32) -> Result<f64, JsError> {
    let params = PageState::from_hash(&hash).state.langevin;
    let mixture = preset_mixture(&params).map_err(|e| js_error(e.0))?;
    let placement = match engine.as_str() {
        "cpu" => Placement::Cpu,
        "wgsl" => placement("webgpu").map_err(js_error)?,
        "burn-webgpu" => Placement::Burn(webgpu_device().map_err(js_error)?),
        "burn-cpu" => Placement::Burn(Device::flex()),
        other => return Err(js_error(format!("unknown particle engine `{other}`"))),
    };
    let mut run = LangevinRun::placed(&params, mixture, placement).map_err(|e| js_error(e.0))?;
    crate::langevin::run::time_particle_steps(&mut run, steps as usize)
        .await
        .map_err(js_error)
}

/// The Langevin demo: a shared [`LangevinRun`] on the CPU, on the WGSL shader or on the burn path,
/// stepped by the page. The run sits behind `Rc<RefCell>` so read-backs can await while the page
/// keeps a handle (no borrow is held across an await).
#[wasm_bindgen]
pub struct LangevinLab {
    run: Rc<RefCell<LangevinRun>>,
    params: LangevinParams,
}

#[derive(Serialize)]
struct LangevinReport {
    #[serde(flatten)]
    metrics: crate::langevin::metrics::ParticleMetrics,
    steps_done: usize,
    total_steps: usize,
    sigma: f64,
    diagnostic: Option<(&'static str, f64)>,
    lessons: Vec<String>,
    engine: &'static str,
    particle_count: usize,
    /// Particles the metrics saw (a read-back of the first ones on the GPU).
    measured: usize,
    score_steps: usize,
    levels: usize,
    steps_per_level: usize,
    eps: f64,
}

fn placement(backend: &str) -> Result<Placement, String> {
    match backend.parse::<BackendKind>()? {
        BackendKind::Cpu => Ok(Placement::Cpu),
        BackendKind::Wgpu => webgpu().map(|(device, _, gpu)| Placement::Wgsl(gpu, device)),
    }
}

impl LangevinLab {
    fn start(
        hash: &str,
        backend: &str,
        target: impl FnOnce(&LangevinParams) -> Result<Mixture, MixtureError>,
    ) -> Result<LangevinLab, JsError> {
        let params = PageState::from_hash(hash).state.langevin;
        let placement = placement(backend).map_err(js_error)?;
        let run = target(&params)
            .and_then(|mixture| LangevinRun::placed(&params, mixture, placement))
            .map_err(|e| js_error(e.0))?;
        Ok(LangevinLab {
            run: Rc::new(RefCell::new(run)),
            params,
        })
    }
}

fn grid_points(bounds: [f64; 4], nx: u32, ny: u32) -> Vec<[f64; 2]> {
    let [x0, x1, y0, y1] = bounds;
    let mut points = Vec::with_capacity((nx * ny) as usize);
    for row in 0..ny {
        let y = y1 - (y1 - y0) * (row as f64 + 0.5) / ny as f64;
        for col in 0..nx {
            points.push([x0 + (x1 - x0) * (col as f64 + 0.5) / nx as f64, y]);
        }
    }
    points
}

fn flatten(points: &[[f64; 2]]) -> js_sys::Float32Array {
    js_sys::Float32Array::from(interleaved_f32(points).as_slice())
}

#[derive(Serialize)]
struct ScoreGrids {
    exact: Vec<f32>,
    learned: Option<Vec<f32>>,
    /// `|s_learned − s_exact|` per cell.
    error: Option<Vec<f32>>,
    sigma: f64,
}

#[wasm_bindgen]
impl LangevinLab {
    /// Starts a run from a link's state on `backend` (`webgpu` after `init_webgpu`, or `cpu`);
    /// rejects with a message when the density or the run cannot be built.
    #[wasm_bindgen(constructor)]
    pub fn new(hash: &str, backend: &str) -> Result<LangevinLab, JsError> {
        Self::start(hash, backend, preset_mixture)
    }

    /// Starts a run on an uploaded mixture (the JSON upload format); rejects with the reason the
    /// file was refused.
    #[wasm_bindgen(js_name = fromMixtureJson)]
    pub fn from_mixture_json(
        hash: &str,
        backend: &str,
        text: &str,
    ) -> Result<LangevinLab, JsError> {
        Self::start(hash, backend, |_| MixtureFile::from_json(text))
    }

    /// Starts a run on an uploaded NumPy `.npz` with arrays `weights`, `means`, `covariances`.
    #[wasm_bindgen(js_name = fromMixtureNpz)]
    pub fn from_mixture_npz(
        hash: &str,
        backend: &str,
        bytes: &[u8],
    ) -> Result<LangevinLab, JsError> {
        Self::start(hash, backend, |_| {
            crate::langevin::density::mixture_from_npz(bytes)
        })
    }

    /// Queues up to `n` more steps; returns how many. On the GPU nothing waits: call `refresh`
    /// before reading particles or metrics.
    pub fn advance(&mut self, n: u32) -> u32 {
        self.run.borrow_mut().advance(n as usize) as u32
    }

    /// Reads the particles the page shows back from the GPU (no-op on the CPU).
    pub async fn refresh(&self) -> Result<(), JsError> {
        let reading = self.run.borrow().read_back();
        if let Some(reading) = reading {
            let snapshot = reading.await.map_err(js_error)?;
            self.run.borrow_mut().show(snapshot);
        }
        Ok(())
    }

    /// Trains the learned score network `n` more steps; resolves to their losses (empty for the
    /// mixture scores).
    #[wasm_bindgen(js_name = trainScore)]
    pub async fn train_score(&self, n: u32) -> Result<js_sys::Float32Array, JsError> {
        let losses = self.run.borrow_mut().train_score(n as usize);
        let values = read_losses(losses).await.map_err(js_error)?;
        Ok(js_sys::Float32Array::from(values.as_slice()))
    }

    /// `cpu`, `wgsl` or `burn`.
    #[wasm_bindgen(getter)]
    pub fn engine(&self) -> String {
        self.run.borrow().engine().into()
    }

    #[wasm_bindgen(getter, js_name = particleCount)]
    pub fn particle_count(&self) -> u32 {
        self.run.borrow().particle_count() as u32
    }

    #[wasm_bindgen(getter, js_name = learnsScore)]
    pub fn learns_score(&self) -> bool {
        matches!(self.run.borrow().score(), ScoreModel::Learned(_))
    }

    /// Particle positions the page knows (all on the CPU; the read-back on the GPU), interleaved.
    pub fn positions(&self) -> js_sys::Float32Array {
        flatten(self.run.borrow().particles())
    }

    /// Particles per pixel of a `width × height` view, row 0 at the top (`y1`): on the GPU every
    /// particle, counted there; elsewhere the known positions.
    pub async fn histogram(
        &self,
        x0: f64,
        x1: f64,
        y0: f64,
        y1: f64,
        width: u32,
        height: u32,
    ) -> Result<js_sys::Uint32Array, JsError> {
        let counting = self
            .run
            .borrow()
            .gpu_particles()
            .map(|gpu| gpu.histogram([x0, y1, x1, y0], width, height));
        let bins = match counting {
            Some(counting) => counting.await.map_err(js_error)?,
            None => bin_positions(
                self.run.borrow().particles(),
                [x0, y1, x1, y0],
                width,
                height,
            ),
        };
        Ok(js_sys::Uint32Array::from(bins.as_slice()))
    }

    /// The exact score of the density at the sampler's current noise level on an `nx × ny` grid
    /// over [x0, x1] × [y0, y1] (rows from the top), interleaved sx, sy; with a learned score also
    /// the network's field and the error magnitude per cell.
    #[wasm_bindgen(js_name = scoreGrids)]
    pub async fn score_grids(
        &self,
        x0: f64,
        x1: f64,
        y0: f64,
        y1: f64,
        nx: u32,
        ny: u32,
    ) -> Result<JsValue, JsError> {
        let points = grid_points([x0, x1, y0, y1], nx, ny);
        let (exact, sigma, learning) = {
            let run = self.run.borrow();
            let sigma = run.current_sigma();
            let exact = run.mixture().scores(&points, sigma);
            let learning = match run.score() {
                ScoreModel::Learned(net) => {
                    Some(score_reading(net.as_ref(), net.device(), &points, sigma))
                }
                ScoreModel::Mixture(_) => None,
            };
            (exact, sigma, learning)
        };
        let learned = match learning {
            Some(reading) => Some(reading.await.map_err(js_error)?),
            None => None,
        };
        let error = learned.as_ref().map(|learned| {
            learned
                .iter()
                .zip(&exact)
                .map(|(l, e)| (l[0] - e[0]).hypot(l[1] - e[1]) as f32)
                .collect()
        });
        to_js(&ScoreGrids {
            exact: interleaved_f32(&exact),
            learned: learned.as_deref().map(interleaved_f32),
            error,
            sigma,
        })
    }

    pub fn report(&self) -> Result<JsValue, JsError> {
        let run = self.run.borrow();
        let metrics = run.metrics();
        let lessons = crate::langevin::run::lessons(&self.params, run.mixture(), &metrics);
        let config = run.config();
        let score_steps = match run.score() {
            ScoreModel::Learned(net) => net.steps_trained(),
            ScoreModel::Mixture(_) => 0,
        };
        to_js(&LangevinReport {
            metrics,
            steps_done: run.steps_done(),
            total_steps: run.total_steps(),
            sigma: run.current_sigma(),
            diagnostic: run.diagnostic(),
            lessons,
            engine: run.engine(),
            particle_count: run.particle_count(),
            measured: run.particles().len(),
            score_steps,
            levels: config.levels,
            steps_per_level: config.steps_per_level,
            eps: config.eps,
        })
    }

    /// The region worth showing, `[x0, x1, y0, y1]`: every component's mean ± 3 standard
    /// deviations, squared up and padded.
    pub fn view_box(&self) -> Vec<f64> {
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for c in self.run.borrow().mixture().components() {
            let (sx, sy) = (3.0 * c.cov[0].sqrt(), 3.0 * c.cov[2].sqrt());
            x0 = x0.min(c.mean[0] - sx);
            x1 = x1.max(c.mean[0] + sx);
            y0 = y0.min(c.mean[1] - sy);
            y1 = y1.max(c.mean[1] + sy);
        }
        let half = 0.55 * (x1 - x0).max(y1 - y0).max(1.0);
        let (cx, cy) = (0.5 * (x0 + x1), 0.5 * (y0 + y1));
        vec![cx - half, cx + half, cy - half, cy + half]
    }

    /// `log π` on a `width × height` grid over [x0, x1] × [y0, y1], row by row from the top.
    pub fn log_density_grid(
        &self,
        x0: f64,
        x1: f64,
        y0: f64,
        y1: f64,
        width: u32,
        height: u32,
    ) -> js_sys::Float32Array {
        let noised = self.run.borrow().mixture().noised(0.0);
        let grid: Vec<f32> = grid_points([x0, x1, y0, y1], width, height)
            .into_iter()
            .map(|p| noised.log_density_and_score(p).0 as f32)
            .collect();
        js_sys::Float32Array::from(grid.as_slice())
    }
}
