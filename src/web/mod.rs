//! The wasm-bindgen surface of the page as a whole. It only translates between JavaScript and the
//! shared Rust code: URL state and its edits, backend initialisation, calibration and training
//! sessions; each demo's surface is its own file (`langevin`, `images`, `series`).

pub mod images;
pub mod langevin;
pub mod series;

use std::cell::RefCell;
use std::rc::Rc;

use burn::tensor::Device;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::app::state::{Decoded, Demo, PageState};
use crate::app::workloads::find_workload;
use crate::core::backend::{decide, BackendKind, BackendTiming};
use crate::core::gpu::{start_wgpu, GpuContext};
use crate::core::training::{build_trainer, read_losses, time_workload, Trainer, WorkloadSpec};

extern "C" {
    /// The static constructors wasm-ld collects (cubecl's and pliron's `inventory`
    /// registrations). Without an explicit call, wasm-ld wraps every export in a shim that runs
    /// all of them again on each call from JavaScript, and wgpu crosses into wasm thousands of
    /// times per training step: that cost 17 s of host time per DDPM step on WebGPU. Calling
    /// them once here makes wasm-ld drop the shims (BENCHMARKS.md, "DDPM against TF.js").
    fn __wasm_call_ctors();
}

#[wasm_bindgen(start)]
pub fn start() {
    static CONSTRUCTORS: std::sync::Once = std::sync::Once::new();
    // SAFETY: the linker-made constructor list, run exactly once before any other Rust code
    // of this module uses what it registers.
    CONSTRUCTORS.call_once(|| unsafe { __wasm_call_ctors() });
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

pub(crate) fn js_error(message: impl std::fmt::Display) -> JsError {
    JsError::new(&message.to_string())
}

pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}

#[derive(Serialize)]
struct DecodedForPage {
    demo: Demo,
    backend: crate::core::backend::BackendChoice,
    params: serde_json::Value,
    choices: std::collections::BTreeMap<&'static str, Vec<&'static str>>,
    notices: Vec<String>,
    /// The canonical link for this state (without `#`).
    hash: String,
}

fn for_page(decoded: Decoded) -> Result<JsValue, JsError> {
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

/// Decodes a URL hash into `{demo, backend, params, choices, notices, hash}`. Never throws for
/// a bad link: problems come back as notices and the affected fields keep their defaults.
#[wasm_bindgen]
pub fn decode_hash(hash: &str) -> Result<JsValue, JsError> {
    for_page(PageState::from_hash(hash))
}

/// The page's state after it sets `keys[i]` to `values[i]` on the link `hash` (a control's
/// change, a painting), as [`decode_hash`] gives it; see [`PageState::edited`] for what an
/// edit brings along.
#[wasm_bindgen(js_name = editHash)]
pub fn edit_hash(hash: &str, keys: Vec<String>, values: Vec<String>) -> Result<JsValue, JsError> {
    if keys.len() != values.len() {
        return Err(js_error(format!(
            "{} keys but {} values",
            keys.len(),
            values.len()
        )));
    }
    let edits: Vec<(String, String)> = keys.into_iter().zip(values).collect();
    for_page(PageState::from_hash(hash).state.edited(&edits))
}

/// The names of the registered workloads, for the page's selectors.
#[wasm_bindgen]
pub fn workload_names() -> Vec<String> {
    crate::app::workloads::workloads()
        .iter()
        .map(|w| w.name.to_string())
        .collect()
}

/// The workload whose calibration decides where `auto` runs a demo's models. Langevin's is
/// the learned score's network, the one the page's backend check trains (its particles are
/// timed per run by [`calibrate_particles`]); the image models' is the classifier's CNN step,
/// as convolutions dominate them.
fn calibration_workload(demo: Demo) -> &'static WorkloadSpec {
    match demo {
        Demo::Langevin => &crate::langevin::mlp2d::WORKLOAD,
        Demo::Mnist => &crate::images::classifier::WORKLOAD,
        Demo::Csdi => &crate::series::csdi::WORKLOAD,
    }
}

#[derive(Serialize)]
struct WorkloadInfo {
    name: &'static str,
    summary: &'static str,
}

/// `{demo: {name, summary}}`: the workload each demo calibrates with (see `calibrate`).
#[wasm_bindgen(js_name = calibrationWorkloads)]
pub fn calibration_workloads() -> Result<JsValue, JsError> {
    let map: std::collections::BTreeMap<&str, WorkloadInfo> = Demo::ALL
        .iter()
        .map(|&demo| {
            let spec = calibration_workload(demo);
            let info = WorkloadInfo {
                name: spec.name,
                summary: spec.summary,
            };
            (demo.name(), info)
        })
        .collect();
    to_js(&map)
}

/// burn's wgpu device, the adapter's name, and the raw wgpu handles under it (for the WGSL
/// particle shader).
type WebGpu = (Device, String, GpuContext);

thread_local! {
    static WEBGPU: RefCell<Option<Result<WebGpu, String>>> = const { RefCell::new(None) };
}

pub(crate) fn webgpu() -> Result<WebGpu, String> {
    WEBGPU.with(|cell| match &*cell.borrow() {
        Some(result) => result.clone(),
        None => Err("WebGPU has not been initialised".into()),
    })
}

pub(crate) fn webgpu_device() -> Result<Device, String> {
    webgpu().map(|(device, _, _)| device)
}

/// Initialises burn's wgpu runtime on the browser's WebGPU adapter, once; resolves to the
/// adapter's name, or rejects with the reason it could not start.
#[wasm_bindgen]
pub async fn init_webgpu() -> Result<String, JsError> {
    if let Some(done) = WEBGPU.with(|cell| cell.borrow().clone()) {
        return done.map(|(_, name, _)| name).map_err(|e| JsError::new(&e));
    }
    let result = start_wgpu()
        .await
        .map(|start| (start.device, start.adapter, start.gpu));
    WEBGPU.with(|cell| *cell.borrow_mut() = Some(result.clone()));
    result
        .map(|(_, name, _)| name)
        .map_err(|e| JsError::new(&e))
}

pub(crate) fn device_for(backend: &str) -> Result<Device, String> {
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
