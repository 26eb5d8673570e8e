//! The wasm-bindgen surface of the page. It only translates between JavaScript and the shared
//! Rust code: URL state, backend initialisation, calibration and training sessions.

use std::cell::RefCell;
use std::rc::Rc;

use burn::tensor::Device;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::backend::{decide, BackendKind, BackendTiming};
use crate::state::{Demo, PageState};
use crate::workload::{build_trainer, find_workload, read_losses, time_workload, Trainer};

#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(report_panic));
}

/// Shows a Rust panic in the page's error panel (through `globalThis.genlabReportPanic`) as well
/// as on the console, instead of leaving the tab frozen on an opaque `unreachable`.
fn report_panic(info: &std::panic::PanicHookInfo) {
    let message = format!("Rust panic: {info}");
    web_sys::console::error_1(&message.clone().into());
    let reporter = js_sys::Reflect::get(&js_sys::global(), &"genlabReportPanic".into());
    if let Ok(reporter) = reporter {
        if let Some(reporter) = reporter.dyn_ref::<js_sys::Function>() {
            let _ = reporter.call1(&JsValue::NULL, &message.into());
        }
    }
}

/// Panics on purpose, so the tests can check that panics reach the error panel.
#[wasm_bindgen]
pub fn debug_panic(message: &str) {
    panic!("{message}");
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}

#[derive(Serialize)]
struct DecodedForPage {
    demo: Demo,
    backend: crate::backend::BackendChoice,
    params: serde_json::Value,
    choices: std::collections::BTreeMap<&'static str, Vec<&'static str>>,
    notices: Vec<String>,
    /// The canonical link for this state (without `#`).
    hash: String,
}

/// Decodes a URL hash into `{demo, backend, params, choices, notices, hash}`. Never throws for
/// a bad link: problems come back as notices and the affected fields keep their defaults.
#[wasm_bindgen]
pub fn decode_hash(hash: &str) -> Result<JsValue, JsError> {
    let decoded = PageState::from_hash(hash);
    let state = decoded.state;
    to_js(&DecodedForPage {
        demo: state.demo,
        backend: state.backend,
        params: state.params_json(),
        choices: PageState::choices(state.demo).into_iter().collect(),
        notices: decoded.notices,
        hash: state.to_hash(),
    })
}

/// The names of the registered workloads, for the page's selectors.
#[wasm_bindgen]
pub fn workload_names() -> Vec<String> {
    crate::workload::workloads()
        .iter()
        .map(|w| w.name.to_string())
        .collect()
}

thread_local! {
    static WEBGPU: RefCell<Option<Result<(Device, String), String>>> = const { RefCell::new(None) };
}

fn webgpu_device() -> Result<Device, String> {
    WEBGPU.with(|cell| match &*cell.borrow() {
        Some(Ok((device, _))) => Ok(device.clone()),
        Some(Err(why)) => Err(why.clone()),
        None => Err("WebGPU has not been initialised".into()),
    })
}

/// Initialises burn's wgpu runtime on the browser's WebGPU adapter, once; resolves to the
/// adapter's name, or rejects with the reason it could not start.
#[wasm_bindgen]
pub async fn init_webgpu() -> Result<String, JsError> {
    if let Some(done) = WEBGPU.with(|cell| cell.borrow().clone()) {
        return done.map(|(_, name)| name).map_err(|e| JsError::new(&e));
    }
    let result = match Device::wgpu_options().init_with_setup_async().await {
        Ok((device, setup)) => {
            let info = setup.adapter.get_info();
            Ok((device, info.name))
        }
        Err(e) => Err(format!("burn's wgpu backend failed to start: {e}")),
    };
    WEBGPU.with(|cell| *cell.borrow_mut() = Some(result.clone()));
    result.map(|(_, name)| name).map_err(|e| JsError::new(&e))
}

fn device_for(backend: &str) -> Result<Device, String> {
    match backend.parse::<BackendKind>()? {
        BackendKind::Cpu => Ok(Device::flex()),
        BackendKind::Wgpu => webgpu_device(),
    }
}

/// Resolves after the browser has had a turn (a macrotask), so long work stays responsive.
pub async fn yield_to_browser() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        let set_timeout = js_sys::Reflect::get(&global, &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        match set_timeout {
            Some(set_timeout) => {
                let _ = set_timeout.call2(&JsValue::NULL, &resolve, &JsValue::from(0));
            }
            None => {
                let _ = resolve.call0(&JsValue::NULL);
            }
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Times a workload on each available backend and decides what "auto" runs it on. Resolves to
/// `{workload, chosen, timings: [{backend, first_step_ms, steps_per_s}], reason}`.
#[wasm_bindgen]
pub async fn calibrate(workload: String, seed: f64, budget_s: f64) -> Result<JsValue, JsError> {
    let spec = find_workload(&workload).map_err(|e| JsError::new(&e))?;
    let mut timings: Vec<BackendTiming> = Vec::new();
    for backend in [BackendKind::Cpu, BackendKind::Wgpu] {
        let Ok(device) = device_for(backend.name()) else {
            continue;
        };
        let timing = time_workload(spec, &device, seed as u64, budget_s, 400, yield_to_browser)
            .await
            .map_err(|e| JsError::new(&e))?;
        timings.push(timing);
    }
    to_js(&decide(&workload, &timings))
}

/// One workload training on one backend, driven in small batches by the page.
#[wasm_bindgen]
pub struct TrainSession {
    trainer: Rc<RefCell<Box<dyn Trainer>>>,
    backend: BackendKind,
}

#[wasm_bindgen]
impl TrainSession {
    /// `backend` is `webgpu` (after `init_webgpu`) or `cpu`.
    #[wasm_bindgen(constructor)]
    pub fn new(workload: &str, backend: &str, seed: f64) -> Result<TrainSession, JsError> {
        let spec = find_workload(workload).map_err(|e| JsError::new(&e))?;
        let device = device_for(backend).map_err(|e| JsError::new(&e))?;
        Ok(TrainSession {
            trainer: Rc::new(RefCell::new(build_trainer(spec, &device, seed as u64))),
            backend: BackendKind::of(&device),
        })
    }

    /// The backend of the device the model really lives on.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.name().into()
    }

    #[wasm_bindgen(getter, js_name = parameterCount)]
    pub fn parameter_count(&self) -> usize {
        self.trainer.borrow().parameter_count()
    }

    /// Queues `n` steps and resolves to their losses (a Float32Array), read back once.
    pub fn steps(&self, n: u32) -> js_sys::Promise {
        let losses: Vec<_> = {
            let mut trainer = self.trainer.borrow_mut();
            (0..n).map(|_| trainer.step()).collect()
        };
        wasm_bindgen_futures::future_to_promise(async move {
            let values = read_losses(losses)
                .await
                .map_err(|e| JsValue::from(JsError::new(&e)))?;
            Ok(js_sys::Float32Array::from(values.as_slice()).into())
        })
    }
}

/// The Langevin demo's CPU path: a run of the shared [`LangevinRun`], stepped by the page.
#[wasm_bindgen]
pub struct LangevinLab {
    run: crate::langevin::LangevinRun,
    params: crate::state::LangevinParams,
}

#[derive(Serialize)]
struct LangevinReport {
    #[serde(flatten)]
    metrics: crate::metrics2d::ParticleMetrics,
    steps_done: usize,
    total_steps: usize,
    sigma: f64,
    diagnostic: Option<(&'static str, f64)>,
    lessons: Vec<String>,
}

impl LangevinLab {
    fn start(
        hash: &str,
        target: impl FnOnce(
            &crate::state::LangevinParams,
        ) -> Result<crate::density::Mixture, crate::density::MixtureError>,
    ) -> Result<LangevinLab, JsError> {
        let params = PageState::from_hash(hash).state.langevin;
        let run = target(&params)
            .and_then(|mixture| crate::langevin::LangevinRun::new(&params, mixture))
            .map_err(|e| JsError::new(&e.0))?;
        Ok(LangevinLab { run, params })
    }
}

#[wasm_bindgen]
impl LangevinLab {
    /// Starts a run from a link's state; rejects with a message when the density cannot be built.
    #[wasm_bindgen(constructor)]
    pub fn new(hash: &str) -> Result<LangevinLab, JsError> {
        Self::start(hash, crate::langevin::preset_mixture)
    }

    /// Starts a run on an uploaded mixture (the JSON upload format) with the link's sampler
    /// settings; rejects with the reason the file was refused.
    #[wasm_bindgen(js_name = fromMixtureJson)]
    pub fn from_mixture_json(hash: &str, text: &str) -> Result<LangevinLab, JsError> {
        Self::start(hash, |_| crate::density::MixtureFile::from_json(text))
    }

    /// Runs up to `n` more steps; returns how many ran.
    pub fn advance(&mut self, n: u32) -> u32 {
        self.run.advance(n as usize) as u32
    }

    /// The score the sampler currently follows (at its current noise level) on an `nx × ny`
    /// grid of cell centres over [x0, x1] × [y0, y1], rows from the top, as interleaved sx, sy.
    pub fn score_grid(
        &self,
        x0: f64,
        x1: f64,
        y0: f64,
        y1: f64,
        nx: u32,
        ny: u32,
    ) -> js_sys::Float32Array {
        let noised = self.run.field().noised(self.run.current_sigma());
        let mut out = Vec::with_capacity((2 * nx * ny) as usize);
        for row in 0..ny {
            let y = y1 - (y1 - y0) * (row as f64 + 0.5) / ny as f64;
            for col in 0..nx {
                let x = x0 + (x1 - x0) * (col as f64 + 0.5) / nx as f64;
                let s = noised.log_density_and_score([x, y]).1;
                out.extend([s[0] as f32, s[1] as f32]);
            }
        }
        js_sys::Float32Array::from(out.as_slice())
    }

    /// Particle positions as interleaved x, y.
    pub fn positions(&self) -> js_sys::Float32Array {
        let flat: Vec<f32> = self
            .run
            .particles()
            .iter()
            .flat_map(|p| [p[0] as f32, p[1] as f32])
            .collect();
        js_sys::Float32Array::from(flat.as_slice())
    }

    pub fn report(&self) -> Result<JsValue, JsError> {
        let metrics = self.run.metrics();
        let lessons = crate::langevin::lessons(&self.params, self.run.mixture(), &metrics);
        to_js(&LangevinReport {
            metrics,
            steps_done: self.run.steps_done(),
            total_steps: self.run.total_steps(),
            sigma: self.run.current_sigma(),
            diagnostic: self.run.diagnostic(),
            lessons,
        })
    }

    /// The region worth showing, `[x0, x1, y0, y1]`: every component's mean ± 3 standard
    /// deviations, squared up and padded.
    pub fn view_box(&self) -> Vec<f64> {
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for c in self.run.mixture().components() {
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
        let noised = self.run.mixture().noised(0.0);
        let mut grid = Vec::with_capacity((width * height) as usize);
        for row in 0..height {
            let y = y1 - (y1 - y0) * (row as f64 + 0.5) / height as f64;
            for col in 0..width {
                let x = x0 + (x1 - x0) * (col as f64 + 0.5) / width as f64;
                grid.push(noised.log_density_and_score([x, y]).0 as f32);
            }
        }
        js_sys::Float32Array::from(grid.as_slice())
    }
}
