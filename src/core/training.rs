//! Training behind one interface: the backend calibration, the benchmarks, the CLI and the page
//! drive every model's training step through [`Trainer`]; `app::workloads` lists them by name.

use burn::tensor::{Device, Tensor};

use crate::core::backend::{BackendKind, BackendTiming};

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

/// Something whose steps can be timed: a training step, a particle step.
pub trait TimedSteps {
    /// Runs up to `n` steps and waits until their results are back; returns how many ran (0 when
    /// there is nothing left to run).
    fn run_steps(&mut self, n: usize) -> impl std::future::Future<Output = Result<usize, String>>;
}

/// How [`time_steps`] measures: after the first step (timed on its own: shader compilation,
/// first uploads) and `warmup` untimed steps, batches that start at `batch` steps and double up
/// to `max_batch` until `budget_s` seconds of timed steps or `max_steps` steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimingPlan {
    pub warmup: usize,
    pub batch: usize,
    pub max_batch: usize,
    pub budget_s: f64,
    pub max_steps: usize,
}

/// What [`time_steps`] measured: the first step and the steady rate (NaN when nothing ran).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepTiming {
    pub first_step_ms: f64,
    pub steps_per_s: f64,
}

/// The one timing loop of the page and the command line. `pause` runs before each batch and is
/// not timed: in the page it yields to the browser.
pub async fn time_steps<F: std::future::Future<Output = ()>>(
    subject: &mut impl TimedSteps,
    plan: TimingPlan,
    mut pause: impl FnMut() -> F,
) -> Result<StepTiming, String> {
    use web_time::Instant;
    let start = Instant::now();
    subject.run_steps(1).await?;
    let first_step_ms = start.elapsed().as_secs_f64() * 1e3;
    for _ in 0..plan.warmup {
        pause().await;
        subject.run_steps(1).await?;
    }
    let (mut steps, mut seconds, mut batch) = (0usize, 0.0f64, plan.batch.max(1));
    while steps < plan.max_steps && (steps == 0 || seconds < plan.budget_s) {
        pause().await;
        let t0 = Instant::now();
        let ran = subject.run_steps(batch.min(plan.max_steps - steps)).await?;
        seconds += t0.elapsed().as_secs_f64();
        if ran == 0 {
            break;
        }
        steps += ran;
        batch = (batch * 2).min(plan.max_batch.max(1));
    }
    Ok(StepTiming {
        first_step_ms,
        steps_per_s: if seconds > 0.0 {
            steps as f64 / seconds
        } else {
            f64::NAN
        },
    })
}

/// A trainer's steps, each group read back at once (as the page and the CLI train).
struct TrainerSteps(Box<dyn Trainer>);

impl TimedSteps for TrainerSteps {
    async fn run_steps(&mut self, n: usize) -> Result<usize, String> {
        read_losses((0..n).map(|_| self.0.step()).collect()).await?;
        Ok(n)
    }
}

/// Times a workload on a device the same way in the page and natively: the first step, one
/// untimed step (the optimiser's kernels first run there), then steady steps in groups of four
/// until `budget_s` has passed or `max_steps` ran.
pub async fn time_workload<F: std::future::Future<Output = ()>>(
    spec: &WorkloadSpec,
    device: &Device,
    seed: u64,
    budget_s: f64,
    max_steps: usize,
    pause: impl FnMut() -> F,
) -> Result<BackendTiming, String> {
    let mut steps = TrainerSteps(build_trainer(spec, device, seed));
    let plan = TimingPlan {
        warmup: 1,
        batch: 4,
        max_batch: 4,
        budget_s,
        max_steps: max_steps.max(4),
    };
    let timing = time_steps(&mut steps, plan, pause).await?;
    Ok(BackendTiming {
        backend: BackendKind::of(device),
        first_step_ms: timing.first_step_ms,
        steps_per_s: timing.steps_per_s,
    })
}

/// Where a native training run stands after a readback or a checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// Steps done, the resumed ones included.
    pub step: usize,
    /// Steps the run ends at.
    pub total: usize,
    /// The losses just read back, in step order.
    pub losses: Vec<f32>,
    /// Mean loss of the steps since the last checkpoint (at a checkpoint: of that stretch).
    pub mean_since_checkpoint: f64,
    /// Steps per second of this run so far, and the seconds it has left at that rate.
    pub steps_per_s: f64,
    pub eta_s: f64,
    pub seconds: f64,
}

impl Progress {
    /// Mean of the losses just read.
    pub fn mean_loss(&self) -> f32 {
        self.losses.iter().sum::<f32>() / self.losses.len().max(1) as f32
    }
}

/// Steps `first..total` of a training, losses read back every `read_every` steps and a
/// checkpoint written every `checkpoint_every` steps and after the last.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainingPlan {
    pub first: usize,
    pub total: usize,
    pub read_every: usize,
    pub checkpoint_every: usize,
}

/// A trainer the command line runs to a file: every native trainer (the image generators, the
/// classifier, CSDI) goes through [`run_checkpointed`], the one loop with readbacks, progress and
/// checkpoints.
pub trait CheckpointedRun {
    /// Queues step `step` (0-based over the whole training, resumed steps included) and returns
    /// its loss without reading it back.
    fn queue_step(&mut self, step: usize) -> Result<Tensor<1>, String>;
    /// Sees the losses read back (progress lines).
    fn losses_read(&mut self, progress: &Progress) -> Result<(), String>;
    /// Writes the weights (and whatever the trainer evaluates at a checkpoint).
    fn checkpoint(&mut self, progress: &Progress) -> Result<(), String>;
}

/// Runs `plan` on `run`: the one checkpointed training loop of the command line.
#[cfg(not(target_arch = "wasm32"))]
pub fn run_checkpointed(run: &mut dyn CheckpointedRun, plan: TrainingPlan) -> Result<(), String> {
    let started = web_time::Instant::now();
    let mut pending = Vec::new();
    let (mut sum, mut count) = (0.0f64, 0usize);
    let read_every = plan.read_every.max(1);
    let checkpoint_every = plan.checkpoint_every.max(1);
    for step in plan.first..plan.total {
        pending.push(run.queue_step(step)?);
        let done = step + 1;
        let at_checkpoint = done.is_multiple_of(checkpoint_every) || done == plan.total;
        if pending.len() < read_every && !at_checkpoint {
            continue;
        }
        let losses = futures_lite::future::block_on(read_losses(std::mem::take(&mut pending)))?;
        sum += losses.iter().map(|&l| f64::from(l)).sum::<f64>();
        count += losses.len();
        let seconds = started.elapsed().as_secs_f64();
        let steps_per_s = (done - plan.first) as f64 / seconds.max(1e-9);
        let progress = Progress {
            step: done,
            total: plan.total,
            losses,
            mean_since_checkpoint: sum / count.max(1) as f64,
            steps_per_s,
            eta_s: (plan.total - done) as f64 / steps_per_s,
            seconds,
        };
        run.losses_read(&progress)?;
        if at_checkpoint {
            run.checkpoint(&progress)?;
            (sum, count) = (0.0, 0);
        }
    }
    Ok(())
}
