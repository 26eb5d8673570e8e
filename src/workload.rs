//! Trainable workloads behind one interface: the backend calibration, the benchmarks, the CLI and
//! the page all drive a workload by name through this registry.

use burn::tensor::{Device, Tensor};
use serde::Serialize;

use crate::backend::{BackendKind, BackendTiming};

/// One model being trained on one device.
pub trait Trainer {
    /// Queues one optimisation step and returns its loss as a one-element tensor. Nothing is
    /// read back, so a GPU can keep working; callers read losses in batches.
    fn step(&mut self) -> Tensor<1>;

    fn parameter_count(&self) -> usize;
}

/// A registered workload: a name (as in links and on the command line) and a constructor.
pub struct WorkloadSpec {
    pub name: &'static str,
    pub summary: &'static str,
    pub build: fn(&Device, u64) -> Box<dyn Trainer>,
}

#[derive(Serialize)]
pub struct WorkloadInfo {
    pub name: &'static str,
    pub summary: &'static str,
}

pub fn workloads() -> &'static [WorkloadSpec] {
    &[
        crate::mlp2d::WORKLOAD,
        crate::classifier::WORKLOAD,
        crate::ddpm::WORKLOAD,
        crate::csdi::WORKLOAD,
    ]
}

pub fn find_workload(name: &str) -> Result<&'static WorkloadSpec, String> {
    workloads().iter().find(|w| w.name == name).ok_or_else(|| {
        let names: Vec<&str> = workloads().iter().map(|w| w.name).collect();
        format!("unknown workload `{name}`; known: {}", names.join(", "))
    })
}

/// Builds a workload on a device for training (the device gains autodiff here).
pub fn build_trainer(spec: &WorkloadSpec, device: &Device, seed: u64) -> Box<dyn Trainer> {
    let device = device.clone().autodiff();
    device.seed(seed);
    (spec.build)(&device, seed)
}

/// Reads a batch of queued losses with one (asynchronous) readback.
pub async fn read_losses(losses: Vec<Tensor<1>>) -> Result<Vec<f32>, String> {
    if losses.is_empty() {
        return Ok(Vec::new());
    }
    read_f32(Tensor::cat(losses, 0)).await
}

/// Reads a tensor's values back as `f32`, asynchronously (the only way on WebGPU in the page).
pub async fn read_f32<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, String> {
    tensor
        .into_data_async()
        .await
        .map_err(|e| format!("reading a result back failed: {e:?}"))?
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| format!("a result is not f32: {e:?}"))
}

/// Runs `steps` steps natively and returns every loss; one readback at the end.
#[cfg(not(target_arch = "wasm32"))]
pub fn train_native(trainer: &mut dyn Trainer, steps: usize) -> Vec<f32> {
    let losses: Vec<Tensor<1>> = (0..steps).map(|_| trainer.step()).collect();
    futures_lite::future::block_on(read_losses(losses)).expect("native readback")
}

/// Times a workload on a device the same way in the page and natively: the first step (with
/// its readback: shader compilation, first uploads), one untimed step (the optimiser's kernels
/// first run there), then steady steps in groups of four until `budget_s` has passed or
/// `max_steps` ran. `pause` runs between groups: in the page it yields to the browser.
pub async fn time_workload<F: std::future::Future<Output = ()>>(
    spec: &WorkloadSpec,
    device: &Device,
    seed: u64,
    budget_s: f64,
    max_steps: usize,
    mut pause: impl FnMut() -> F,
) -> Result<BackendTiming, String> {
    use web_time::Instant;
    let mut trainer = build_trainer(spec, device, seed);
    let start = Instant::now();
    read_losses(vec![trainer.step()]).await?;
    let first_step_ms = start.elapsed().as_secs_f64() * 1e3;
    pause().await;
    read_losses(vec![trainer.step()]).await?;
    let start = Instant::now();
    let mut steps = 0;
    while steps < max_steps && (steps < 4 || start.elapsed().as_secs_f64() < budget_s) {
        pause().await;
        read_losses((0..4).map(|_| trainer.step()).collect()).await?;
        steps += 4;
    }
    Ok(BackendTiming {
        backend: BackendKind::of(device),
        first_step_ms,
        steps_per_s: steps as f64 / start.elapsed().as_secs_f64(),
    })
}
