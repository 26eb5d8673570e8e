//! The burn path: particles as one `[n, 2]` tensor on any burn device, moved by tensor ops. It is
//! how a learned score network drives the particles on WebGPU (no read-back per step), and the
//! third contender of the particle benchmark beside the WGSL shader and the CPU loop.

use std::future::Future;

use burn::tensor::{Device, Distribution, Tensor, TensorData};

use crate::langevin::density::Mixture;
use crate::langevin::particles::Move;

/// A score field evaluated on tensors, on the tensor's own device.
pub trait TensorScore {
    /// `∇log π_σ(x)` for `x: [n, 2]`.
    fn score(&self, x: Tensor<2>, sigma: f64) -> Tensor<2>;

    /// `log π(x)` up to a constant and its score, where the density is known (MALA needs it).
    fn log_density_and_score(&self, _x: Tensor<2>) -> Option<(Tensor<2>, Tensor<2>)> {
        None
    }
}

/// A Gaussian mixture in tensor form: the CPU's log-sum-exp, done as a row maximum over the
/// `[n, K]` matrix of component log-terms instead of streaming.
pub struct MixtureTensors {
    mixture: Mixture,
    mean_x: Tensor<2>,
    mean_y: Tensor<2>,
    device: Device,
    /// The rows of the last noise level asked for: most samplers keep σ for many moves (ULA and
    /// MALA always 0, annealing for a level), so they are uploaded once, not per move.
    noised: std::cell::RefCell<Option<(f64, [Tensor<2>; 4])>>,
}

impl MixtureTensors {
    pub fn new(mixture: &Mixture, device: &Device) -> Self {
        let row = |f: &dyn Fn(&crate::langevin::density::Component) -> f64| {
            let values: Vec<f32> = mixture.components().iter().map(|c| f(c) as f32).collect();
            let k = values.len();
            Tensor::<2>::from_data(TensorData::new(values, [1, k]), device)
        };
        Self {
            mean_x: row(&|c| c.mean[0]),
            mean_y: row(&|c| c.mean[1]),
            mixture: mixture.clone(),
            device: device.clone(),
            noised: std::cell::RefCell::new(None),
        }
    }

    /// Per-component rows `[1, K]`: the inverse of Σ_k + σ²I (a, b, d) and log w_k − ½ log det.
    fn noised_rows(&self, sigma: f64) -> [Tensor<2>; 4] {
        let mut cached = self.noised.borrow_mut();
        match &*cached {
            Some((at, rows)) if *at == sigma => rows.clone(),
            _ => {
                let rows = self.upload_noised_rows(sigma);
                *cached = Some((sigma, rows.clone()));
                rows
            }
        }
    }

    fn upload_noised_rows(&self, sigma: f64) -> [Tensor<2>; 4] {
        let s2 = sigma * sigma;
        let k = self.mixture.components().len();
        let mut rows = [
            Vec::with_capacity(k),
            Vec::with_capacity(k),
            Vec::with_capacity(k),
            Vec::with_capacity(k),
        ];
        for c in self.mixture.components() {
            let (a, b, d) = (c.cov[0] + s2, c.cov[1], c.cov[2] + s2);
            let det = a * d - b * b;
            let log_term = if c.weight > 0.0 {
                c.weight.ln() - 0.5 * det.ln()
            } else {
                -1e30
            };
            for (row, value) in rows.iter_mut().zip([d / det, -b / det, a / det, log_term]) {
                row.push(value as f32);
            }
        }
        rows.map(|values| Tensor::<2>::from_data(TensorData::new(values, [1, k]), &self.device))
    }

    fn evaluate(&self, x: Tensor<2>, sigma: f64) -> (Tensor<2>, Tensor<2>) {
        let [inv_a, inv_b, inv_d, log_norm] = self.noised_rows(sigma);
        let n = x.dims()[0];
        let dx = x.clone().slice([0..n, 0..1]) - self.mean_x.clone();
        let dy = x.slice([0..n, 1..2]) - self.mean_y.clone();
        let wx = dx.clone() * inv_a + dy.clone() * inv_b.clone();
        let wy = dx.clone() * inv_b + dy.clone() * inv_d;
        let log_terms = log_norm - (dx * wx.clone() + dy * wy.clone()) * 0.5;
        let best = log_terms.clone().max_dim(1);
        let r = (log_terms - best.clone()).exp();
        let total = r.clone().sum_dim(1);
        let sx = (r.clone() * wx).sum_dim(1).neg() / total.clone();
        let sy = (r * wy).sum_dim(1).neg() / total.clone();
        (best + total.log(), Tensor::cat(vec![sx, sy], 1))
    }
}

impl TensorScore for MixtureTensors {
    fn score(&self, x: Tensor<2>, sigma: f64) -> Tensor<2> {
        self.evaluate(x, sigma).1
    }

    fn log_density_and_score(&self, x: Tensor<2>) -> Option<(Tensor<2>, Tensor<2>)> {
        Some(self.evaluate(x, 0.0))
    }
}

/// Particles as an `[n, 2]` tensor. Noise comes from burn's generator, seeded once per run, so a
/// run repeats exactly on the same backend.
pub struct TensorParticles {
    pub positions: Tensor<2>,
    device: Device,
    accepted: Tensor<1>,
    pub proposed: u64,
}

fn matrix(values: [f64; 4], device: &Device) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(values.map(|v| v as f32).to_vec(), [2, 2]),
        device,
    )
}

impl TensorParticles {
    pub fn new(n: usize, start_scale: f64, seed: u64, device: &Device) -> Self {
        device.seed(seed);
        let positions =
            Tensor::<2>::random([n, 2], Distribution::Normal(0.0, 1.0), device) * start_scale;
        Self {
            positions,
            device: device.clone(),
            accepted: Tensor::zeros([1], device),
            proposed: 0,
        }
    }

    pub fn apply(&mut self, step: &Move, score: &dyn TensorScore) {
        let n = self.positions.dims()[0];
        let noise = Tensor::<2>::random([n, 2], Distribution::Normal(0.0, 1.0), &self.device);
        if step.metropolis {
            self.apply_mala(step.tau(), noise, score);
            return;
        }
        let x = self.positions.clone();
        let s = score.score(x.clone() * step.input_scale, step.sigma);
        // Row vectors: D s becomes s Dᵀ = s D (D symmetric), L z becomes z Lᵀ.
        let [a, b, d] = step.drift;
        let [l11, l21, l22] = step.noise;
        let drift = s.matmul(matrix([a, b, b, d], &self.device));
        let kick = noise.matmul(matrix([l11, l21, 0.0, l22], &self.device));
        self.positions = x * step.keep + drift + kick;
    }

    fn apply_mala(&mut self, tau: f64, noise: Tensor<2>, score: &dyn TensorScore) {
        let x = self.positions.clone();
        let n = x.dims()[0];
        let Some((log_p_x, s_x)) = score.log_density_and_score(x.clone()) else {
            return;
        };
        let y = x.clone() + s_x.clone() * tau + noise * (2.0 * tau).sqrt();
        let (log_p_y, s_y) = score
            .log_density_and_score(y.clone())
            .expect("density known above");
        let log_q = |to: Tensor<2>, from: Tensor<2>, s: Tensor<2>| {
            let gap = to - from - s * tau;
            (gap.clone() * gap).sum_dim(1) / (-4.0 * tau)
        };
        let log_ratio =
            log_p_y + log_q(x.clone(), y.clone(), s_y) - log_p_x - log_q(y.clone(), x.clone(), s_x);
        let uniform = Tensor::<2>::random([n, 1], Distribution::Uniform(0.0, 1.0), &self.device);
        let accept = uniform.log().lower(log_ratio);
        self.accepted = self.accepted.clone() + accept.clone().float().sum();
        self.proposed += n as u64;
        self.positions = x.mask_where(accept.expand([n, 2]), y);
    }

    /// The first `limit` positions and the accepted count, read without blocking the page.
    pub fn snapshot(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<[f64; 2]>, u64), String>> + 'static {
        let n = self.positions.dims()[0];
        let head = self.positions.clone().slice([0..limit.min(n), 0..2]);
        let accepted = self.accepted.clone();
        async move {
            let positions = read_pairs(head.into_data_async().await)?;
            let accepted = accepted
                .into_data_async()
                .await
                .map_err(|e| format!("reading acceptance failed: {e:?}"))?
                .try_to_vec::<f32>()
                .map_err(|e| format!("acceptance is not f32: {e:?}"))?;
            Ok((positions, accepted[0] as u64))
        }
    }
}

/// Scores at `points` from a tensor score on `device`, read back without blocking (WebGPU).
pub fn score_reading(
    score: &dyn TensorScore,
    device: &Device,
    points: &[[f64; 2]],
    sigma: f64,
) -> impl Future<Output = Result<Vec<[f64; 2]>, String>> + 'static {
    let scores = score.score(points_tensor(points, device), sigma);
    async move { read_pairs(scores.into_data_async().await) }
}

/// Points as interleaved f32 `x, y`: the layout of tensors, GPU buffers and the page's arrays.
pub fn interleaved_f32(points: &[[f64; 2]]) -> Vec<f32> {
    points
        .iter()
        .flat_map(|p| [p[0] as f32, p[1] as f32])
        .collect()
}

/// Points as an `[n, 2]` tensor on `device`.
pub fn points_tensor(points: &[[f64; 2]], device: &Device) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(interleaved_f32(points), [points.len(), 2]),
        device,
    )
}

/// An `[n, 2]` f32 read-back as points.
pub fn read_pairs<E: std::fmt::Debug>(
    data: Result<TensorData, E>,
) -> Result<Vec<[f64; 2]>, String> {
    let values = data
        .map_err(|e| format!("GPU read-back failed: {e:?}"))?
        .try_to_vec::<f32>()
        .map_err(|e| format!("read-back is not f32: {e:?}"))?;
    Ok(values
        .chunks_exact(2)
        .map(|p| [p[0] as f64, p[1] as f64])
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rng::SeededRng;
    use crate::langevin::density::gmm150;
    use crate::langevin::score::ScoreField;

    #[test]
    fn mixture_tensors_match_the_cpu_mixture_at_every_noise_level() {
        let mixture = gmm150();
        let device = Device::flex();
        let tensors = MixtureTensors::new(&mixture, &device);
        let mut rng = SeededRng::new(3);
        let points: Vec<[f64; 2]> = (0..200)
            .map(|_| [8.0 * rng.normal(), 8.0 * rng.normal()])
            .collect();
        // σ revisits a level so the cached rows are used after a change, not only on repeats.
        for sigma in [0.0, 0.0, 0.5, 3.0, 0.5, 0.0] {
            let expected = mixture.scores(&points, sigma);
            let got = read_pairs(Ok::<_, ()>(
                tensors
                    .score(points_tensor(&points, &device), sigma)
                    .into_data(),
            ))
            .unwrap();
            for (e, g) in expected.iter().zip(&got) {
                let scale = 1.0 + e[0].abs().max(e[1].abs());
                assert!(
                    (e[0] - g[0]).abs() < 1e-3 * scale && (e[1] - g[1]).abs() < 1e-3 * scale,
                    "σ = {sigma}: {e:?} vs {g:?}"
                );
            }
        }
        let (log_p, _) = tensors
            .log_density_and_score(points_tensor(&points, &device))
            .unwrap();
        let log_p = log_p.into_data().try_to_vec::<f32>().unwrap();
        let exact = mixture.log_densities_and_scores(&points).unwrap();
        // Up to one constant (the shader and tensors drop log 2π).
        let offset = exact[0].0 - log_p[0] as f64;
        for (e, g) in exact.iter().zip(&log_p) {
            assert!(
                (e.0 - *g as f64 - offset).abs() < 1e-2 * (1.0 + e.0.abs()),
                "{} vs {g}",
                e.0
            );
        }
    }
}
