//! The one particle update every sampler is made of, and its CPU executor.
//!
//! Each sampler step is a short list of [`Move`]s; the CPU (here, f64), the WGSL compute shader
//! (`shaders/particle_step.wgsl`, f32) and the burn tensor path all execute exactly this rule, and
//! all draw their noise from [`particle_noise`], a counter-based generator: the draw of particle
//! `p` in move `k` depends on `(seed, k, p)` only, so a GPU thread needs no state and the CPU and
//! GPU paths see the same noise.

use crate::langevin::score::ScoreField;

/// `x ← keep·x + D·s(input_scale·x; σ) + L·ζ` with `D` symmetric and `L` lower-triangular, or,
/// with `metropolis`, the MALA move: the proposal `y = x + τ s(x) + √(2τ) ζ` (with `D = τI`,
/// `L = √(2τ)I`) accepted with the Metropolis–Hastings ratio.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Move {
    pub keep: f64,
    /// `[a, b, d]` of `D = [[a, b], [b, d]]`.
    pub drift: [f64; 3],
    /// `[l11, l21, l22]` of `L`.
    pub noise: [f64; 3],
    /// Noise level of the score: the score of π convolved with N(0, σ²I).
    pub sigma: f64,
    pub input_scale: f64,
    pub metropolis: bool,
}

impl Move {
    /// `x ← x + drift·s(x; σ) + noise_scale·ζ`.
    pub fn isotropic(drift: f64, noise_scale: f64, sigma: f64) -> Self {
        Self {
            keep: 1.0,
            drift: [drift, 0.0, drift],
            noise: [noise_scale, 0.0, noise_scale],
            sigma,
            input_scale: 1.0,
            metropolis: false,
        }
    }

    pub fn mala(tau: f64) -> Self {
        Self {
            metropolis: true,
            ..Self::isotropic(tau, (2.0 * tau).sqrt(), 0.0)
        }
    }

    pub fn tau(&self) -> f64 {
        self.drift[0]
    }

    fn apply_drift(&self, s: [f64; 2]) -> [f64; 2] {
        let [a, b, d] = self.drift;
        [a * s[0] + b * s[1], b * s[0] + d * s[1]]
    }

    fn apply_noise(&self, z: [f64; 2]) -> [f64; 2] {
        let [l11, l21, l22] = self.noise;
        [l11 * z[0], l21 * z[0] + l22 * z[1]]
    }
}

/// PCG hash (Jarzynski & Olano 2020), the integer permutation both the CPU and WGSL use.
pub fn pcg_hash(input: u32) -> u32 {
    let state = input.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// The per-move key: one hash chain over the seed's halves and the move counter, computed once on
/// the host and handed to every particle.
pub fn move_key(seed: u64, counter: u32) -> u32 {
    pcg_hash((seed as u32) ^ pcg_hash(((seed >> 32) as u32) ^ pcg_hash(counter)))
}

/// Two standard normals (Box–Muller) and a uniform in (0, 1) for particle `index` under `key`.
/// Uniforms have 24 bits, exactly representable in f32, so the shader sees the same numbers.
pub fn particle_noise(key: u32, index: u32) -> ([f64; 2], f64) {
    let h = pcg_hash(key ^ pcg_hash(index));
    let h1 = pcg_hash(h);
    let h2 = pcg_hash(h1);
    let h3 = pcg_hash(h2);
    let unit = 1.0 / 16_777_216.0;
    let u1 = ((h1 >> 8) + 1) as f64 * unit;
    let u2 = (h2 >> 8) as f64 * unit;
    let u3 = ((h3 >> 8) as f64 + 0.5) * unit;
    let radius = (-2.0 * u1.ln()).sqrt();
    let angle = std::f64::consts::TAU * u2;
    ([radius * angle.cos(), radius * angle.sin()], u3)
}

/// Counter 0 draws the start; moves count from 1.
pub const START_COUNTER: u32 = 0;

/// Particles held in f64 on the CPU.
#[derive(Clone, Debug)]
pub struct CpuParticles {
    pub positions: Vec<[f64; 2]>,
    seed: u64,
    counter: u32,
    pub accepted: u64,
    pub proposed: u64,
}

impl CpuParticles {
    /// `n` particles from N(0, start_scale² I).
    pub fn new(n: usize, start_scale: f64, seed: u64) -> Self {
        let key = move_key(seed, START_COUNTER);
        let positions = (0..n)
            .map(|p| {
                let (z, _) = particle_noise(key, p as u32);
                [start_scale * z[0], start_scale * z[1]]
            })
            .collect();
        Self {
            positions,
            seed,
            counter: START_COUNTER,
            accepted: 0,
            proposed: 0,
        }
    }

    pub fn apply(&mut self, step: &Move, score: &dyn ScoreField) {
        self.counter = self.counter.wrapping_add(1);
        let key = move_key(self.seed, self.counter);
        if step.metropolis {
            self.apply_mala(step.tau(), key, score);
            return;
        }
        // Only the VP sampler rescales its score's input; the others read the positions as they are.
        let scaled: Vec<[f64; 2]>;
        let inputs: &[[f64; 2]] = if step.input_scale == 1.0 {
            &self.positions
        } else {
            scaled = self
                .positions
                .iter()
                .map(|x| [x[0] * step.input_scale, x[1] * step.input_scale])
                .collect();
            &scaled
        };
        let scores = score.scores(inputs, step.sigma);
        for (p, (x, s)) in self.positions.iter_mut().zip(scores).enumerate() {
            let (z, _) = particle_noise(key, p as u32);
            let drift = step.apply_drift(s);
            let kick = step.apply_noise(z);
            x[0] = step.keep * x[0] + drift[0] + kick[0];
            x[1] = step.keep * x[1] + drift[1] + kick[1];
        }
    }

    fn apply_mala(&mut self, tau: f64, key: u32, score: &dyn ScoreField) {
        let Some(at_x) = score.log_densities_and_scores(&self.positions) else {
            // Without a density there is no acceptance ratio; nothing moves rather than a wrong chain.
            return;
        };
        let scale = (2.0 * tau).sqrt();
        let draws: Vec<([f64; 2], f64)> = (0..self.positions.len())
            .map(|p| particle_noise(key, p as u32))
            .collect();
        let proposals: Vec<[f64; 2]> = self
            .positions
            .iter()
            .zip(&at_x)
            .zip(&draws)
            .map(|((x, (_, s)), (z, _))| {
                [
                    x[0] + tau * s[0] + scale * z[0],
                    x[1] + tau * s[1] + scale * z[1],
                ]
            })
            .collect();
        let at_y = score
            .log_densities_and_scores(&proposals)
            .expect("density known above");
        for (p, y) in proposals.into_iter().enumerate() {
            let ((log_p_x, s_x), (log_p_y, s_y)) = (at_x[p], at_y[p]);
            let log_ratio = mala_log_ratio(tau, self.positions[p], y, log_p_x, log_p_y, s_x, s_y);
            self.proposed += 1;
            if log_ratio.is_finite() && draws[p].1.ln() < log_ratio {
                self.positions[p] = y;
                self.accepted += 1;
            }
        }
    }
}

/// `log π(y) q(x|y) − log π(x) q(y|x)` with `log q(b | a) = −|b − a − τ s(a)|² / (4τ)`.
pub fn mala_log_ratio(
    tau: f64,
    x: [f64; 2],
    y: [f64; 2],
    log_p_x: f64,
    log_p_y: f64,
    s_x: [f64; 2],
    s_y: [f64; 2],
) -> f64 {
    let log_q = |to: [f64; 2], from: [f64; 2], s: [f64; 2]| {
        let dx = to[0] - from[0] - tau * s[0];
        let dy = to[1] - from[1] - tau * s[1];
        -(dx * dx + dy * dy) / (4.0 * tau)
    };
    log_p_y + log_q(x, y, s_y) - log_p_x - log_q(y, x, s_x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn particle_noise_is_standard_normal_and_uniform() {
        let key = move_key(42, 3);
        let n = 200_000;
        let (mut sum, mut sum_sq, mut cross, mut u_sum) = ([0.0; 2], [0.0; 2], 0.0, 0.0);
        for p in 0..n {
            let (z, u) = particle_noise(key, p);
            for k in 0..2 {
                sum[k] += z[k];
                sum_sq[k] += z[k] * z[k];
            }
            cross += z[0] * z[1];
            u_sum += u;
            assert!(u > 0.0 && u < 1.0);
        }
        let n = n as f64;
        for k in 0..2 {
            assert!((sum[k] / n).abs() < 0.01, "mean {}", sum[k] / n);
            assert!((sum_sq[k] / n - 1.0).abs() < 0.015, "var {}", sum_sq[k] / n);
        }
        assert!((cross / n).abs() < 0.01);
        assert!((u_sum / n - 0.5).abs() < 0.005);
    }

    #[test]
    fn keys_differ_across_moves_and_seeds() {
        let keys: std::collections::HashSet<u32> = (0..10_000)
            .flat_map(|c| [move_key(1, c), move_key(2, c), move_key(1 << 40, c)])
            .collect();
        assert!(keys.len() > 29_990);
    }

    #[test]
    fn pcg_hash_matches_the_reference_values() {
        // The shader relies on wrapping u32 arithmetic giving these exact values.
        assert_eq!(pcg_hash(0), 129_708_002);
        assert_eq!(pcg_hash(1), 2_831_084_092);
    }
}
