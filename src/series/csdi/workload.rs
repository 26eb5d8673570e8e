//! CSDI as a calibration and benchmark workload: one training step of the page's network.

use burn::tensor::{Device, Tensor};

use crate::core::rng::SeededRng;
use crate::series::csdi::batches::WindowBatch;
use crate::series::csdi::config::CsdiConfig;
use crate::series::csdi::model::Csdi;
use crate::series::data::Normalizer;
use crate::series::windows::WINDOW_LEN;

/// The network the page runs (the shipped weights'), so that `auto` calibrates what it will run.
pub const PAGE_CONFIG: CsdiConfig = CsdiConfig::SMALL;

/// The calibration and benchmark workload of CSDI: one training step of [`PAGE_CONFIG`] on a
/// fixed batch of 16 seeded random windows of 36 steps × 35 features (the shipped air-quality
/// data's shape), a third of the values hidden as targets.
pub const WORKLOAD: crate::core::training::WorkloadSpec = crate::core::training::WorkloadSpec {
    name: "csdi",
    summary: "CSDI training step (small network, 2 layers × 32 channels), 16 windows of 36×35",
    build: |device, seed| Box::new(CalibrationStep::new(device, seed)),
};

struct CalibrationStep {
    model: Csdi,
    batch: WindowBatch,
}

impl CalibrationStep {
    fn new(device: &Device, seed: u64) -> Self {
        let (windows, features) = (16, 35);
        let cells = windows * WINDOW_LEN * features;
        let mut rng = SeededRng::new(seed);
        let names = (0..features).map(|k| format!("feature {k}")).collect();
        let normalizer = Normalizer {
            mean: vec![0.0; features],
            std: vec![1.0; features],
        };
        let model = Csdi::new(
            PAGE_CONFIG,
            names,
            normalizer,
            "calibration",
            &device.clone().inner(),
            seed,
        )
        .expect("the paper configuration is valid");
        let batch = WindowBatch {
            len: WINDOW_LEN,
            features,
            values: (0..cells).map(|_| rng.normal() as f32).collect(),
            observed: vec![true; cells],
            cond: (0..cells).map(|_| rng.uniform() >= 1.0 / 3.0).collect(),
        };
        Self { model, batch }
    }
}

impl crate::core::training::Trainer for CalibrationStep {
    fn step(&mut self) -> Tensor<1> {
        self.model.train_step(&self.batch)
    }

    fn parameter_count(&self) -> usize {
        self.model.parameter_count()
    }
}
