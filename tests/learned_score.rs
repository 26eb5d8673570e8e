//! The learned score: NCSN-v2's schedule arithmetic, and a network that learns the noised score
//! of a known mixture.

use burn::tensor::{Device, Tensor};
use genlab::core::rng::SeededRng;
use genlab::langevin::density::{gmm150, two_modes, Mixture};
use genlab::langevin::learned_score::largest_pairwise_distance;
use genlab::langevin::learned_score::{
    ncsn_v2_schedule, normal_cdf, overlap_gamma, variance_eps, LearnedScore,
};
use genlab::langevin::metrics::reference_samples;
use genlab::langevin::score::ScoreField;

/// The paper's overlap for D = 2 (√(2D) = 2) at a ratio of scales `ratio` = σ_to/σ_from.
fn overlap_2d(ratio: f64) -> f64 {
    let drift = 2.0 * (ratio - 1.0);
    normal_cdf(drift + 3.0 * ratio) - normal_cdf(drift - 3.0 * ratio)
}

/// `s_T²/σ²` of NCSN-v2 technique 4, written as in the paper.
fn paper_variance_ratio(eps: f64, gamma: f64, sigma_last: f64, steps: usize) -> f64 {
    let l2 = sigma_last * sigma_last;
    let stationary = 2.0 * eps / (l2 - l2 * (1.0 - eps / l2).powi(2));
    (1.0 - eps / l2).powi(2 * steps as i32) * (gamma * gamma - stationary) + stationary
}

fn losses(trainer: &mut LearnedScore, steps: usize) -> Vec<f32> {
    let losses: Vec<Tensor<1>> = (0..steps).map(|_| trainer.train_step()).collect();
    Tensor::cat(losses, 0)
        .into_data()
        .try_to_vec::<f32>()
        .expect("losses are f32")
}

fn trainer_for(mixture: &Mixture, seed: u64) -> LearnedScore {
    let data = reference_samples(mixture, 1000, seed);
    let schedule = ncsn_v2_schedule(&data, 0.01, 1000);
    LearnedScore::new(&Device::flex(), mixture, schedule.sigmas, seed)
}

fn mean(xs: &[f32]) -> f64 {
    xs.iter().map(|&x| x as f64).sum::<f64>() / xs.len() as f64
}

/// The smallest DSM loss any network reaches: with E[z | x̃] = −σ∇log π_σ(x̃),
/// min E ½‖f + z‖² = 1 − ½σ² E‖∇log π_σ(x̃)‖², averaged over the levels.
fn dsm_loss_floor(mixture: &Mixture, sigmas: &[f64]) -> f64 {
    let mut rng = SeededRng::new(17);
    let per_level = 4000;
    let mut total = 0.0;
    for &sigma in sigmas {
        let noised = mixture.noised(sigma);
        for x in mixture.sample(per_level, &mut rng) {
            let noisy = [x[0] + sigma * rng.normal(), x[1] + sigma * rng.normal()];
            let s = noised.log_density_and_score(noisy).1;
            total += 1.0 - 0.5 * sigma * sigma * (s[0] * s[0] + s[1] * s[1]);
        }
    }
    total / (sigmas.len() * per_level) as f64
}

/// mean ‖learned − exact‖ / mean ‖exact‖ over points of π_σ; a zero score scores 1.
fn relative_score_error(trainer: &LearnedScore, mixture: &Mixture, sigma: f64) -> f64 {
    let mut rng = SeededRng::new(99);
    let points: Vec<[f64; 2]> = mixture
        .sample(2000, &mut rng)
        .into_iter()
        .map(|x| [x[0] + sigma * rng.normal(), x[1] + sigma * rng.normal()])
        .collect();
    let learned = trainer.scores(&points, sigma);
    let noised = mixture.noised(sigma);
    let (mut error, mut size) = (0.0, 0.0);
    for (x, s) in points.iter().zip(&learned) {
        let exact = noised.log_density_and_score(*x).1;
        error += (s[0] - exact[0]).hypot(s[1] - exact[1]);
        size += exact[0].hypot(exact[1]);
    }
    error / size
}

#[test]
fn overlap_gamma_solves_the_overlap_equation_in_two_dimensions() {
    let gamma = overlap_gamma(2, 0.5);
    // The larger level's norms land in the smaller level's shell half the time…
    assert!((overlap_2d(1.0 / gamma) - 0.5).abs() < 1e-6, "γ = {gamma}");
    // …while the paper's direction never falls to 0.5 in 2-D: the larger shell holds the origin.
    for ratio in [gamma, 1.5, 3.0, 10.0, 1e3] {
        assert!(overlap_2d(ratio) > 0.99, "{ratio}: {}", overlap_2d(ratio));
    }
}

#[test]
fn schedule_is_geometric_from_the_data_extent_down_to_sigma_min() {
    let data = reference_samples(&gmm150(), 1000, 5);
    let schedule = ncsn_v2_schedule(&data, 0.01, 1000);
    let widest = largest_pairwise_distance(&data);
    let levels = schedule.sigmas.len();
    assert_eq!(schedule.sigmas[0], widest);
    assert!((schedule.sigmas[levels - 1] - 0.01).abs() < 1e-12);
    for pair in schedule.sigmas.windows(2) {
        assert!((pair[0] / pair[1] - schedule.gamma).abs() < 1e-9);
    }
    let overlap_ratio = overlap_gamma(2, 0.5);
    assert!(schedule.gamma <= overlap_ratio);
    assert!(
        (widest / 0.01).powf(1.0 / (levels - 2) as f64) > overlap_ratio,
        "one level fewer would still overlap enough: {:?}",
        schedule.sigmas
    );
    assert_eq!(schedule.steps_per_level, 1000 / levels);
    // The crate's annealed sampler takes NCSN-v1's (α/2, √α) form: twice NCSN-v2's ε.
    assert_eq!(
        schedule.eps,
        2.0 * variance_eps(schedule.gamma, 0.01, schedule.steps_per_level)
    );
}

#[test]
fn variance_eps_brings_the_variance_ratio_closest_to_one() {
    let sigma_last = 0.01;
    for (gamma, steps) in [(2.27, 100), (1.5, 10), (1.04, 5), (2.47, 1000)] {
        let eps = variance_eps(gamma, sigma_last, steps);
        assert!(eps > 0.0 && eps < sigma_last * sigma_last, "{eps}");
        let best = paper_variance_ratio(eps, gamma, sigma_last, steps);
        assert!(
            best > 1.0,
            "the ratio is a mean of γ² and a stationary ratio above 1"
        );
        for k in 1..2000 {
            let other = sigma_last * sigma_last * k as f64 / 2000.0;
            let ratio = paper_variance_ratio(other, gamma, sigma_last, steps);
            assert!(
                ratio >= best - 1e-12,
                "γ {gamma}, T {steps}: ε {other} gives {ratio} < {best}"
            );
        }
    }
    // A hundred steps per level come within 2.2% of the target variance.
    let eps = variance_eps(2.27, sigma_last, 100);
    assert!(paper_variance_ratio(eps, 2.27, sigma_last, 100) < 1.022);
}

#[test]
fn two_modes_loss_falls_and_the_score_is_learned() {
    let mixture = two_modes(0.3).unwrap();
    let mut trainer = trainer_for(&mixture, 3);
    let untrained = relative_score_error(&trainer, &mixture, 1.0);
    let history = losses(&mut trainer, 2000);
    assert!(history.iter().all(|l| l.is_finite()));
    let (first, last) = (mean(&history[..50]), mean(&history[1950..]));
    let error = relative_score_error(&trainer, &mixture, 1.0);
    let floor = dsm_loss_floor(&mixture, trainer.sigmas());
    println!(
        "two-modes: loss {first:.3} → {last:.3} (floor {floor:.3}); \
         score error at σ = 1 {untrained:.3} → {error:.3}"
    );
    // Measured: the excess over the floor fell from 0.10 to 0.003, within the noise of 50 steps.
    assert!(
        last - floor < 0.25 * (first - floor),
        "loss went {first} → {last}, floor {floor}"
    );
    // Measured 0.060 after 2000 steps.
    assert!(error < 0.1, "relative score error {error}");
    assert_eq!(trainer.steps_trained(), 2000);
}

#[test]
fn gmm150_score_is_learned_at_sigma_one() {
    let mixture = gmm150();
    let mut trainer = trainer_for(&mixture, 3);
    let history = losses(&mut trainer, 3000);
    let (first, last) = (mean(&history[..50]), mean(&history[2950..]));
    let error = relative_score_error(&trainer, &mixture, 1.0);
    let floor = dsm_loss_floor(&mixture, trainer.sigmas());
    println!(
        "gmm150: loss {first:.3} → {last:.3} (floor {floor:.3}); score error at σ = 1 {error:.3}"
    );
    // Measured: the excess over the floor fell from 0.145 to 0.015.
    assert!(
        last - floor < 0.25 * (first - floor),
        "loss went {first} → {last}, floor {floor}"
    );
    // Measured 0.200 after 3000 steps: the 30 components of each cluster still show at σ = 1.
    assert!(error < 0.25, "relative score error {error}");
}

#[test]
fn same_seed_same_losses() {
    let mixture = two_modes(0.3).unwrap();
    let a = losses(&mut trainer_for(&mixture, 7), 30);
    let b = losses(&mut trainer_for(&mixture, 7), 30);
    let c = losses(&mut trainer_for(&mixture, 8), 30);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn below_the_smallest_level_the_score_is_that_of_the_smallest_level() {
    let mixture = two_modes(0.5).unwrap();
    let trainer = trainer_for(&mixture, 1);
    let points = [[0.5, -1.0], [4.0, 0.2]];
    let sigma_last = *trainer.sigmas().last().unwrap();
    let at_zero = trainer.scores(&points, 0.0);
    assert_eq!(at_zero, trainer.scores(&points, sigma_last));
    assert!(at_zero.iter().flatten().all(|v| v.is_finite()));
}
