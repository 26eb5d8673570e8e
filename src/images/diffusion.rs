//! Denoising diffusion (Ho et al. 2020; Song et al. 2021, DDIM): β schedules, the closed-form
//! forward noising `x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε`, and the reverse update both samplers share.
//!
//! Every reverse step, ancestral DDPM or DDIM, is written as
//! `x_s = a·x̂_0 + b·x_t + σ·z` with `x̂_0 = clip((x_t − √(1−ᾱ_t) ε̂) / √ᾱ_t, −1, 1)`, so a
//! sampler is a list of [`ReverseStep`] coefficients computed here in `f64` on the host, and the
//! device only does the elementwise arithmetic. DDIM with `η = 1` over all `T` steps is exactly
//! the ancestral sampler (`tests` checks the coefficients agree).

/// Diffusion steps unless a model says otherwise.
pub const DEFAULT_STEPS: usize = 1000;

crate::named_choice! {
    /// `linear`: `β_t` from `1e-4` to `0.02` in equal increments (Ho et al.), rescaled by `1000/T`
    /// so the total noise does not depend on `T`. `cosine`: `ᾱ_t = f(t)/f(0)`,
    /// `f(t) = cos²(((t/T) + s)/(1 + s) · π/2)`, `s = 0.008`, `β_t` capped at 0.999 (Nichol &
    /// Dhariwal 2021). The link's choice, one type from the page to the CLI.
    pub enum BetaSchedule { Linear = "linear", Cosine = "cosine" } default Linear
}

/// `β_1 … β_T` and `ᾱ_0 = 1, ᾱ_1 … ᾱ_T`.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffusionSchedule {
    pub kind: BetaSchedule,
    betas: Vec<f64>,
    alpha_bars: Vec<f64>,
}

impl DiffusionSchedule {
    pub fn new(kind: BetaSchedule, steps: usize) -> Self {
        assert!(steps >= 2, "a diffusion needs at least two steps");
        let betas: Vec<f64> = match kind {
            BetaSchedule::Linear => {
                let scale = 1000.0 / steps as f64;
                let (first, last) = (scale * 1e-4, (scale * 0.02).min(0.999));
                (0..steps)
                    .map(|i| first + (last - first) * i as f64 / (steps - 1) as f64)
                    .collect()
            }
            BetaSchedule::Cosine => {
                let s = 0.008;
                let f = |t: f64| {
                    ((t / steps as f64 + s) / (1.0 + s) * std::f64::consts::FRAC_PI_2)
                        .cos()
                        .powi(2)
                };
                (1..=steps)
                    .map(|t| (1.0 - f(t as f64) / f(t as f64 - 1.0)).min(0.999))
                    .collect()
            }
        };
        let mut alpha_bars = Vec::with_capacity(steps + 1);
        alpha_bars.push(1.0);
        for beta in &betas {
            let previous = *alpha_bars.last().expect("starts with ᾱ_0");
            alpha_bars.push(previous * (1.0 - beta));
        }
        Self {
            kind,
            betas,
            alpha_bars,
        }
    }

    /// `T`.
    pub fn steps(&self) -> usize {
        self.betas.len()
    }

    /// `β_t` for `t` in `1..=T`.
    pub fn beta(&self, t: usize) -> f64 {
        self.betas[t - 1]
    }

    /// `ᾱ_t` for `t` in `0..=T` (`ᾱ_0 = 1`).
    pub fn alpha_bar(&self, t: usize) -> f64 {
        self.alpha_bars[t]
    }

    /// `(√ᾱ_t, √(1−ᾱ_t))`: `x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε`.
    pub fn noising(&self, t: usize) -> (f64, f64) {
        let alpha_bar = self.alpha_bar(t);
        (alpha_bar.sqrt(), (1.0 - alpha_bar).sqrt())
    }

    /// `x_t` of pixels `x_0` in `[−1, 1]` with the given standard-normal `noise`.
    pub fn noise_image(&self, x0: &[f32], t: usize, noise: &[f32]) -> Vec<f32> {
        assert_eq!(x0.len(), noise.len(), "one noise value per pixel");
        let (signal, spread) = self.noising(t);
        x0.iter()
            .zip(noise)
            .map(|(&x, &e)| (signal * x as f64 + spread * e as f64) as f32)
            .collect()
    }

    /// The forward process of one 8-bit image at each of `times`, with one noise draw from
    /// `seed` shared by every frame (so the frames show one path), as pixels in `[0, 1]`
    /// (clipped for display), `times.len() × pixels` values.
    pub fn noising_strip(&self, image: &[u8], times: &[usize], seed: u64) -> Vec<f32> {
        let mut rng = crate::core::rng::SeededRng::new(seed);
        let noise: Vec<f32> = image.iter().map(|_| rng.normal() as f32).collect();
        let x0: Vec<f32> = image.iter().map(|&p| p as f32 / 127.5 - 1.0).collect();
        times
            .iter()
            .flat_map(|&t| self.noise_image(&x0, t.min(self.steps()), &noise))
            .map(|v| ((v + 1.0) * 0.5).clamp(0.0, 1.0))
            .collect()
    }

    /// The timesteps a sampler with `count` steps visits, from `T` down: `count` of them evenly
    /// spaced (`round(i·T/count)`, `i = count … 1`), each followed by the next one or by 0.
    pub fn sampling_timesteps(&self, count: usize) -> Vec<usize> {
        let total = self.steps();
        let count = count.clamp(1, total);
        let mut times: Vec<usize> = (1..=count)
            .rev()
            .map(|i| ((i * total) as f64 / count as f64).round() as usize)
            .map(|t| t.max(1))
            .collect();
        times.dedup();
        times
    }

    /// The DDIM update from `t` to `s < t` with stochasticity `η` (`η = 0`: deterministic;
    /// `η = 1` with `s = t − 1`: ancestral DDPM). The noise estimate is re-derived from the
    /// clipped `x̂_0`, which is what makes the two samplers one formula.
    pub fn ddim_step(&self, t: usize, s: usize, eta: f64) -> ReverseStep {
        assert!(s < t, "reverse steps go down in time");
        let (alpha_t, alpha_s) = (self.alpha_bar(t), self.alpha_bar(s));
        let sigma = eta * ((1.0 - alpha_s) / (1.0 - alpha_t) * (1.0 - alpha_t / alpha_s)).sqrt();
        let direction = (1.0 - alpha_s - sigma * sigma).max(0.0).sqrt();
        let b = direction / (1.0 - alpha_t).sqrt();
        ReverseStep {
            t,
            x0_from_noisy: 1.0 / alpha_t.sqrt(),
            x0_from_noise: ((1.0 - alpha_t) / alpha_t).sqrt(),
            a: alpha_s.sqrt() - b * alpha_t.sqrt(),
            b,
            sigma,
        }
    }

    /// The ancestral step from `t` to `t − 1` (Ho et al. eq. 7): the mean of
    /// `q(x_{t−1} | x_t, x̂_0)` and its standard deviation `√β̃_t`.
    pub fn ancestral_step(&self, t: usize) -> ReverseStep {
        let (alpha_t, alpha_prev) = (self.alpha_bar(t), self.alpha_bar(t - 1));
        let beta = self.beta(t);
        ReverseStep {
            t,
            x0_from_noisy: 1.0 / alpha_t.sqrt(),
            x0_from_noise: ((1.0 - alpha_t) / alpha_t).sqrt(),
            a: alpha_prev.sqrt() * beta / (1.0 - alpha_t),
            b: (1.0 - beta).sqrt() * (1.0 - alpha_prev) / (1.0 - alpha_t),
            sigma: ((1.0 - alpha_prev) / (1.0 - alpha_t) * beta).sqrt(),
        }
    }

    /// Every step of a sampler: `steps = T` with `η = 1` is the ancestral sampler, anything
    /// else DDIM over [`DiffusionSchedule::sampling_timesteps`].
    pub fn reverse_steps(&self, steps: usize, eta: f64) -> Vec<ReverseStep> {
        if steps >= self.steps() && eta == 1.0 {
            return (1..=self.steps())
                .rev()
                .map(|t| self.ancestral_step(t))
                .collect();
        }
        let times = self.sampling_timesteps(steps);
        times
            .iter()
            .enumerate()
            .map(|(i, &t)| self.ddim_step(t, times.get(i + 1).copied().unwrap_or(0), eta))
            .collect()
    }
}

/// One reverse update `x_s = a·x̂_0 + b·x_t + σ·z`,
/// `x̂_0 = clip(x0_from_noisy·x_t − x0_from_noise·ε̂, −1, 1)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReverseStep {
    /// The timestep the network is asked about.
    pub t: usize,
    pub x0_from_noisy: f64,
    pub x0_from_noise: f64,
    pub a: f64,
    pub b: f64,
    pub sigma: f64,
}

/// The sinusoidal embedding of timesteps (Vaswani et al.; Ho et al. §B): `dim/2` sines and
/// cosines of `t · 10000^(−k/(dim/2))`, row-major `[times.len(), dim]`. Computed on the host:
/// the timesteps are host numbers anyway.
pub fn timestep_embedding(times: &[usize], dim: usize) -> Vec<f32> {
    assert!(
        dim.is_multiple_of(2),
        "the embedding pairs sines with cosines"
    );
    let half = dim / 2;
    let mut values = Vec::with_capacity(times.len() * dim);
    for &t in times {
        let angles: Vec<f64> = (0..half)
            .map(|k| t as f64 * (-(10000f64.ln()) * k as f64 / half as f64).exp())
            .collect();
        values.extend(angles.iter().map(|a| a.sin() as f32));
        values.extend(angles.iter().map(|a| a.cos() as f32));
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn linear_schedule_matches_ho_et_al() {
        let schedule = DiffusionSchedule::new(BetaSchedule::Linear, 1000);
        assert!(close(schedule.beta(1), 1e-4, 1e-12));
        assert!(close(schedule.beta(1000), 0.02, 1e-12));
        // ᾱ_T = Π(1 − β_t); Ho et al. report √ᾱ_T ≈ 6.3e-3 for this schedule.
        let product: f64 = (1..=1000).map(|t| 1.0 - schedule.beta(t)).product();
        assert!(close(schedule.alpha_bar(1000), product, 1e-12));
        assert!((schedule.alpha_bar(1000).sqrt() - 6.3e-3).abs() < 2e-4);
    }

    #[test]
    fn cosine_schedule_follows_its_closed_form() {
        let schedule = DiffusionSchedule::new(BetaSchedule::Cosine, 1000);
        let f = |t: f64| {
            ((t / 1000.0 + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2)
                .cos()
                .powi(2)
        };
        for t in [1, 10, 250, 500, 900] {
            assert!(
                close(schedule.alpha_bar(t), f(t as f64) / f(0.0), 1e-9),
                "t = {t}"
            );
        }
        assert!(schedule.alpha_bar(1000) < 1e-6);
        assert!((1..=1000).all(|t| schedule.beta(t) <= 0.999));
    }

    #[test]
    fn ddim_with_full_noise_over_every_step_is_the_ancestral_sampler() {
        for &kind in BetaSchedule::ALL {
            let schedule = DiffusionSchedule::new(kind, 1000);
            for t in [1, 2, 17, 500, 999, 1000] {
                let (ddim, ancestral) = (
                    schedule.ddim_step(t, t - 1, 1.0),
                    schedule.ancestral_step(t),
                );
                for (x, y) in [
                    (ddim.a, ancestral.a),
                    (ddim.b, ancestral.b),
                    (ddim.sigma, ancestral.sigma),
                ] {
                    assert!(
                        close(x, y, 1e-9),
                        "{kind} t = {t}: {ddim:?} vs {ancestral:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_reverse_step_keeps_a_perfect_prediction_on_the_forward_marginal() {
        // With ε̂ = ε exactly, x̂_0 = x_0 and the deterministic DDIM step lands on
        // √ᾱ_s x_0 + √(1−ᾱ_s) ε: the same noise, at the earlier time.
        let schedule = DiffusionSchedule::new(BetaSchedule::Cosine, 1000);
        let (x0, noise) = (0.3, -1.2);
        let step = schedule.ddim_step(800, 600, 0.0);
        let (signal, spread) = schedule.noising(800);
        let xt = signal * x0 + spread * noise;
        let x0_hat = step.x0_from_noisy * xt - step.x0_from_noise * noise;
        assert!(close(x0_hat, x0, 1e-12));
        let xs = step.a * x0_hat + step.b * xt;
        let (signal, spread) = schedule.noising(600);
        assert!(close(xs, signal * x0 + spread * noise, 1e-12));
        assert_eq!(step.sigma, 0.0);
    }

    #[test]
    fn the_last_step_returns_the_clean_estimate() {
        let schedule = DiffusionSchedule::new(BetaSchedule::Linear, 1000);
        let steps = schedule.reverse_steps(50, 0.0);
        assert_eq!(steps.len(), 50);
        assert_eq!(steps[0].t, 1000);
        let last = steps.last().unwrap();
        assert_eq!(last.t, 20);
        assert!(close(last.a, 1.0, 1e-12) && last.b.abs() < 1e-12 && last.sigma == 0.0);
        let ancestral = schedule.reverse_steps(1000, 1.0);
        assert_eq!(ancestral.len(), 1000);
        assert!(ancestral.last().unwrap().sigma == 0.0);
    }

    #[test]
    fn sampling_timesteps_are_distinct_and_descending() {
        let schedule = DiffusionSchedule::new(BetaSchedule::Linear, 1000);
        for count in [1, 3, 10, 50, 999, 1000, 5000] {
            let times = schedule.sampling_timesteps(count);
            assert_eq!(times[0], 1000);
            assert!(times.windows(2).all(|w| w[0] > w[1]));
            assert_eq!(times.len(), count.min(1000));
        }
    }

    #[test]
    fn forward_noising_has_the_marginal_moments() {
        let schedule = DiffusionSchedule::new(BetaSchedule::Linear, 1000);
        let mut rng = crate::core::rng::SeededRng::new(3);
        let n = 200_000;
        let x0 = vec![0.5f32; n];
        let noise: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
        let xt = schedule.noise_image(&x0, 300, &noise);
        let mean = xt.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let variance = xt.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        let (signal, spread) = schedule.noising(300);
        assert!((mean - 0.5 * signal).abs() < 0.01);
        assert!((variance - spread * spread).abs() < 0.01);
    }

    #[test]
    fn the_noising_strip_starts_at_the_image_and_ends_near_pure_noise() {
        let schedule = DiffusionSchedule::new(BetaSchedule::Linear, 1000);
        let image: Vec<u8> = (0..784).map(|i| if i % 3 == 0 { 255 } else { 0 }).collect();
        let strip = schedule.noising_strip(&image, &[0, 1000], 5);
        assert_eq!(strip.len(), 2 * 784);
        for (p, v) in image.iter().zip(&strip[..784]) {
            assert!((*p as f32 / 255.0 - v).abs() < 1e-6);
        }
        // At t = T the image's share is √ᾱ_T ≈ 0.006: ink and background pixels differ by
        // 0.006 on average against 1 at t = 0; 0.1 is four standard errors of the two means.
        let last = &strip[784..];
        let mean = |xs: &mut dyn Iterator<Item = f32>| {
            let v: Vec<f32> = xs.collect();
            v.iter().sum::<f32>() / v.len() as f32
        };
        let on = mean(
            &mut image
                .iter()
                .zip(last)
                .filter(|(p, _)| **p == 255)
                .map(|(_, v)| *v),
        );
        let off = mean(
            &mut image
                .iter()
                .zip(last)
                .filter(|(p, _)| **p == 0)
                .map(|(_, v)| *v),
        );
        assert!(
            (on - off).abs() < 0.1,
            "ink still visible at t = T: {on} vs {off}"
        );
        assert_eq!(strip, schedule.noising_strip(&image, &[0, 1000], 5));
    }

    #[test]
    fn timestep_embedding_pairs_sines_and_cosines() {
        let e = timestep_embedding(&[0, 7], 8);
        assert_eq!(&e[..8], &[0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
        assert!((e[8] - 7f32.sin()).abs() < 1e-6);
        assert!((e[12] - 7f32.cos()).abs() < 1e-6);
        for k in 0..4 {
            assert!((e[8 + k].powi(2) + e[12 + k].powi(2) - 1.0).abs() < 1e-5);
        }
    }
}
