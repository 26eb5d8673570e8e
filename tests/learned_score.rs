//! The learned score: NCSN-v2's schedule arithmetic, and a network that learns the noised score
//! of a known mixture.

use burn::tensor::{Device, Tensor};
use genlab::density::{gmm150, two_modes, Mixture};
use genlab::langevin::largest_pairwise_distance;
use genlab::learned_score::{
    ncsn_v2_schedule, normal_cdf, overlap_gamma, variance_eps, LearnedScore,
};
use genlab::metrics2d::reference_samples;
use genlab::rng::SeededRng;
use genlab::samplers::ScoreField;

fn losses(trainer: &mut LearnedScore, steps: usize) -> Vec<f32> {
    let losses: Vec<Tensor<1>> = (0..steps).map(|_| trainer.train_step()).collect();
    Tensor::cat(losses, 0)
        .into_data()
        .to_vec::<f32>()
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

/// mean ‖learned − exact‖ / mean ‖exact‖ at points of π_σ.
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
fn explore() {
    let mixture = if std::env::var("XTWO").is_ok() { two_modes(0.3).unwrap() } else { gmm150() };
    let mut trainer = trainer_for(&mixture, 3);
    println!("sigmas {:?}", trainer.sigmas());
    let start = std::time::Instant::now();
    let mut all = Vec::new();
    for round in 0..8 {
        all.extend(losses(&mut trainer, 500));
        println!(
            "{} steps {:.1}s loss {:.4} err σ=1 {:.3} σ=0.3 {:.3} σ=3 {:.3} | levels 3.74 {:.3} 1.61 {:.3} 0.69 {:.3} 0.295 {:.3}",
            (round + 1) * 500,
            start.elapsed().as_secs_f64(),
            mean(&all[all.len() - 500..]),
            relative_score_error(&trainer, &mixture, 1.0),
            relative_score_error(&trainer, &mixture, 0.3),
            relative_score_error(&trainer, &mixture, 3.0),
            relative_score_error(&trainer, &mixture, trainer.sigmas()[2]),
            relative_score_error(&trainer, &mixture, trainer.sigmas()[3]),
            relative_score_error(&trainer, &mixture, trainer.sigmas()[4]),
            relative_score_error(&trainer, &mixture, trainer.sigmas()[5]),
        );
    }
    let _ = (
        two_modes,
        normal_cdf,
        overlap_gamma,
        variance_eps,
        largest_pairwise_distance,
    );
}
