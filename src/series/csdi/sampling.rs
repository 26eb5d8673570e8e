//! CSDI's imputation (the official `impute`): the ancestral reverse process of one window's
//! draws, run a step at a time so that a page can show progress between steps.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};

use crate::core::rng::SeededRng;
use crate::core::tensor::host_normal;
use crate::core::training::read_f32;
use crate::series::csdi::config::CsdiSchedule;
use crate::series::csdi::model::{mask_values, Csdi};
use crate::series::csdi::network::CsdiNet;
use crate::series::data::Normalizer;

/// The most samples per window the page draws on the CPU path (the GPU path draws what the
/// link asks for): each sample is a full reverse diffusion of the window.
pub const CPU_NSAMPLE_CAP: usize = 16;

/// What imputing needs of a model, apart from it: the network for inference, the noise schedule
/// and the normalisation. An imputation of many windows keeps one while the page goes on
/// fine-tuning or replacing the model itself.
pub struct Sampler {
    net: CsdiNet,
    schedule: CsdiSchedule,
    normalizer: Normalizer,
    device: Device,
}

impl Sampler {
    /// Columns of the windows it imputes.
    pub fn features(&self) -> usize {
        self.normalizer.mean.len()
    }

    /// Reverse steps of one window (the model's diffusion steps).
    pub fn steps(&self) -> usize {
        self.schedule.steps()
    }

    /// Starts `nsample` imputations of one window: `values` in data units and `cond` (which
    /// values are given), both `[len, features]`. Random numbers come from `seed` only.
    pub fn start(
        &self,
        values: &[f32],
        cond: &[bool],
        nsample: usize,
        seed: u64,
    ) -> Result<ImputationRun, String> {
        let k = self.features();
        if nsample == 0 {
            return Err("ask for at least one sample".into());
        }
        if values.len() != cond.len() || values.is_empty() || !values.len().is_multiple_of(k) {
            return Err(format!(
                "a window is [len, {k}] values with a mask of the same shape; got {} values and {} mask cells",
                values.len(),
                cond.len()
            ));
        }
        let l = values.len() / k;
        let device = &self.device;
        let x = self.normalizer.normalize(values, cond);
        let tensor = |v: &[f32], shape: [usize; 3]| {
            Tensor::<3>::from_data(TensorData::new(v.to_vec(), shape), device)
        };
        // The window's mask and values once, `[1, L, K]`, broadcast over the samples; only the
        // network's input needs a row per sample.
        let cond_mask = tensor(&mask_values(cond), [1, l, k]);
        let mut rng = SeededRng::new(seed);
        let current = host_normal([nsample, l, k], &mut rng, device);
        Ok(ImputationRun {
            sides: self.net.side_projections(cond_mask.clone()),
            net: self.net.clone(),
            schedule: self.schedule.clone(),
            cond_obs: tensor(&x.repeat(nsample), [nsample, l, k]),
            free: cond_mask.clone().neg().add_scalar(1.0),
            given: tensor(values, [1, l, k]),
            mean: tensor(&self.normalizer.mean, [1, 1, k]),
            std: tensor(&self.normalizer.std, [1, 1, k]),
            cond_mask,
            current,
            remaining: self.schedule.steps(),
            rng,
            shape: [nsample, l, k],
            device: device.clone(),
        })
    }
}

impl Csdi {
    /// The model's [`Sampler`], on the inference side of its device.
    pub fn sampler(&self) -> Sampler {
        Sampler {
            net: self.net().valid(),
            schedule: self.schedule.clone(),
            normalizer: self.normalizer.clone(),
            device: self.train_device.clone().inner(),
        }
    }

    /// `nsample` imputations of one window: `values` in data units and `cond` (which values
    /// are given), both `[len, features]`. Returns `[nsample, len, features]` in data units,
    /// the conditioning cells holding their given values; not read back. Random numbers come
    /// from `seed` only.
    pub fn impute(
        &self,
        values: &[f32],
        cond: &[bool],
        nsample: usize,
        seed: u64,
    ) -> Result<Tensor<3>, String> {
        let mut run = self.start_imputation(values, cond, nsample, seed)?;
        while run.remaining() > 0 {
            run.step();
        }
        Ok(run.result())
    }

    /// [`Csdi::impute`] one reverse step at a time, so that a page can show its progress and
    /// stay responsive between steps.
    pub fn start_imputation(
        &self,
        values: &[f32],
        cond: &[bool],
        nsample: usize,
        seed: u64,
    ) -> Result<ImputationRun, String> {
        self.sampler().start(values, cond, nsample, seed)
    }

    /// [`Csdi::impute`], read back: `[nsample, len, features]` row-major in data units.
    pub async fn impute_values(
        &self,
        values: &[f32],
        cond: &[bool],
        nsample: usize,
        seed: u64,
    ) -> Result<Vec<f32>, String> {
        read_f32(self.impute(values, cond, nsample, seed)?).await
    }
}

/// An imputation in progress: the reverse diffusion of one window's `nsample` draws.
pub struct ImputationRun {
    net: CsdiNet,
    /// The net's side projections of this window's mask (the same at every reverse step and
    /// for every sample).
    sides: Vec<Tensor<4>>,
    schedule: CsdiSchedule,
    /// The normalised given values, `[nsample, L, K]` (the network's input).
    cond_obs: Tensor<3>,
    /// The window's mask (1 = given), its complement and its values in data units: `[1, L, K]`.
    cond_mask: Tensor<3>,
    free: Tensor<3>,
    given: Tensor<3>,
    mean: Tensor<3>,
    std: Tensor<3>,
    current: Tensor<3>,
    remaining: usize,
    rng: SeededRng,
    shape: [usize; 3],
    device: Device,
}

impl ImputationRun {
    /// Reverse steps still to run.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// All reverse steps (the model's diffusion steps).
    pub fn total(&self) -> usize {
        self.schedule.steps()
    }

    /// Queues one reverse step (nothing once all have run).
    pub fn step(&mut self) {
        if self.remaining == 0 {
            return;
        }
        let t = self.remaining - 1;
        let predicted = self.net.forward_with_sides(
            self.cond_obs.clone(),
            self.free.clone() * self.current.clone(),
            &self.sides,
            &vec![t; self.shape[0]],
        );
        let (coeff1, coeff2, sigma) = self.schedule.reverse(t);
        let mut next = (self.current.clone() - predicted.mul_scalar(coeff2)).mul_scalar(coeff1);
        if sigma > 0.0 {
            next = next + host_normal(self.shape, &mut self.rng, &self.device).mul_scalar(sigma);
        }
        self.current = next;
        self.remaining = t;
    }

    /// One value of the current draws: reading it back waits for the queued steps (a GPU runs
    /// them asynchronously), so progress shown after it is true.
    pub fn probe(&self) -> Tensor<1> {
        self.current.clone().slice([0..1, 0..1, 0..1]).reshape([1])
    }

    /// The draws in data units, `[nsample, len, features]`, given cells holding their values
    /// (the draws so far when called early).
    pub fn result(self) -> Tensor<3> {
        let imputed = self.current * self.std + self.mean;
        imputed * self.free + self.given * self.cond_mask
    }
}
