//! CSDI's training (the official `calc_loss`): the loss on the targets of a batch of windows
//! and one optimisation step.

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};

use crate::core::rng::SeededRng;
use crate::core::tensor::host_normal;
use crate::series::csdi::batches::WindowBatch;
use crate::series::csdi::model::{mask_values, Csdi};
use crate::series::csdi::network::CsdiNet;

impl Csdi {
    fn batch_tensor(&self, values: Vec<f32>, batch: &WindowBatch, device: &Device) -> Tensor<3> {
        Tensor::<3>::from_data(
            TensorData::new(values, [batch.windows(), batch.len, batch.features]),
            device,
        )
    }

    /// The loss `Σ ((ε − ε̂) · target)² / max(Σ target, 1)` of `net` on `batch` at diffusion
    /// steps `times` with noise `noise`.
    fn loss(
        &self,
        net: &CsdiNet,
        batch: &WindowBatch,
        times: &[usize],
        noise: Tensor<3>,
        device: &Device,
    ) -> Tensor<1> {
        let b = batch.windows();
        let column = |f: &dyn Fn(f64) -> f64| {
            let v: Vec<f32> = times
                .iter()
                .map(|&t| f(self.schedule.alpha_bar[t]) as f32)
                .collect();
            Tensor::<3>::from_data(TensorData::new(v, [b, 1, 1]), device)
        };
        let x0 = self.batch_tensor(batch.values.clone(), batch, device);
        let cond = self.batch_tensor(mask_values(&batch.cond), batch, device);
        let target: Vec<f32> = batch
            .observed
            .iter()
            .zip(&batch.cond)
            .map(|(&o, &c)| f32::from(u8::from(o && !c)))
            .collect();
        let count = target.iter().sum::<f32>().max(1.0);
        let target = self.batch_tensor(target, batch, device);
        let noisy =
            x0.clone() * column(&|a| a.sqrt()) + noise.clone() * column(&|a| (1.0 - a).sqrt());
        let cond_obs = cond.clone() * x0;
        let noisy_target = (cond.clone().neg().add_scalar(1.0)) * noisy;
        let predicted = net.forward(cond_obs, noisy_target, cond, times);
        ((noise - predicted) * target)
            .square()
            .sum()
            .div_scalar(count as f64)
    }

    /// One optimisation step on `batch` (the official `calc_loss`): a diffusion step uniform in
    /// `0..T` per window, host-drawn noise. Returns the loss, not read back.
    pub fn train_step(&mut self, batch: &WindowBatch) -> Tensor<1> {
        assert_eq!(batch.features, self.features(), "batch of another width");
        let b = batch.windows();
        let total = self.schedule.steps() as u64;
        let times: Vec<usize> = (0..b).map(|_| self.rng.below(total) as usize).collect();
        let device = self.train_device.clone();
        let noise = host_normal([b, batch.len, batch.features], &mut self.rng, &device);
        let net = self.net.take().expect("network is present between steps");
        let loss = self.loss(&net, batch, &times, noise, &device);
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        self.net = Some(self.optimizer.step(self.learning_rate, net, grads));
        self.steps += 1;
        loss.detach()
    }

    /// The official validation loss (`calc_loss_valid`): the loss at every diffusion step
    /// `0..T`, averaged, with noise from `seed`. Not read back.
    pub fn validation_loss(&self, batch: &WindowBatch, seed: u64) -> Tensor<1> {
        self.loss_per_step(batch, seed).mean()
    }

    /// The loss on `batch` at each diffusion step `0..T` (`[T]`), with noise from `seed`.
    pub fn loss_per_step(&self, batch: &WindowBatch, seed: u64) -> Tensor<1> {
        let device = self.train_device.clone().inner();
        let net = self.net().valid();
        let b = batch.windows();
        let mut rng = SeededRng::new(seed);
        let losses: Vec<Tensor<1>> = (0..self.schedule.steps())
            .map(|t| {
                let noise = host_normal([b, batch.len, batch.features], &mut rng, &device);
                self.loss(&net, batch, &vec![t; b], noise, &device)
            })
            .collect();
        Tensor::cat(losses, 0)
    }
}
