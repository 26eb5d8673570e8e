//! The course's lessons about Langevin samplers, as tests.

use genlab::langevin::density::{gmm150, ring, two_modes, Component, Mixture};
use genlab::langevin::metrics::{particle_metrics, reference_samples, sliced_wasserstein};
use genlab::langevin::params::{SamplerName, Sym2};
use genlab::langevin::samplers::{build_sampler, run_sampler, SamplerConfig};
use genlab::langevin::score::ScoreField;

const N: usize = 10_000;

fn run(mixture: &Mixture, name: SamplerName, config: &SamplerConfig) -> Vec<[f64; 2]> {
    let sampler = build_sampler(name, config);
    run_sampler(sampler.as_ref(), mixture, N, 7).positions
}

fn sw_to_target(mixture: &Mixture, xs: &[[f64; 2]]) -> f64 {
    particle_metrics(mixture, xs, &reference_samples(mixture, N, 1)).sliced_wasserstein
}

fn exact_vs_exact_sw(mixture: &Mixture) -> f64 {
    sliced_wasserstein(
        &reference_samples(mixture, N, 1),
        &reference_samples(mixture, N, 2),
        64,
    )
}

fn covariance(xs: &[[f64; 2]]) -> [f64; 3] {
    let n = xs.len() as f64;
    let mx = xs.iter().map(|x| x[0]).sum::<f64>() / n;
    let my = xs.iter().map(|x| x[1]).sum::<f64>() / n;
    let c = |f: &dyn Fn(&[f64; 2]) -> f64| xs.iter().map(f).sum::<f64>() / n;
    [
        c(&|x| (x[0] - mx).powi(2)),
        c(&|x| (x[0] - mx) * (x[1] - my)),
        c(&|x| (x[1] - my).powi(2)),
    ]
}

fn standard_gaussian() -> Mixture {
    Mixture::new(vec![Component {
        weight: 1.0,
        mean: [0.0, 0.0],
        cov: [1.0, 0.0, 1.0],
        mode: 0,
    }])
    .unwrap()
}

#[test]
fn gradient_ascent_collapses_onto_modes() {
    let m = gmm150();
    let xs = run(
        &m,
        SamplerName::GradientAscent,
        &SamplerConfig {
            steps: 600,
            tau: 0.02,
            ..Default::default()
        },
    );
    let scores = m.scores(&xs, 0.0);
    let mean_norm = scores.iter().map(|s| s[0].hypot(s[1])).sum::<f64>() / N as f64;
    assert!(
        mean_norm < 0.05,
        "particles still climb: mean |∇log π| = {mean_norm}"
    );
    let spread = covariance(&xs);
    let exact = covariance(&reference_samples(&m, N, 1));
    assert!(
        spread[0] + spread[2] < 0.5 * (exact[0] + exact[2]),
        "no collapse: {spread:?} vs {exact:?}"
    );
}

#[test]
fn ula_with_a_small_step_samples_a_connected_density() {
    let m = ring();
    let xs = run(
        &m,
        SamplerName::Ula,
        &SamplerConfig {
            steps: 600,
            tau: 0.01,
            ..Default::default()
        },
    );
    let (sw, floor) = (sw_to_target(&m, &xs), exact_vs_exact_sw(&m));
    assert!(
        sw < 2.0 * floor + 0.05,
        "ULA on the ring: SW {sw}, exact-vs-exact {floor}"
    );
}

#[test]
fn ula_on_gmm150_follows_the_basins_of_its_start_not_the_weights() {
    let m = gmm150();
    let xs = run(
        &m,
        SamplerName::Ula,
        &SamplerConfig {
            steps: 300,
            tau: 0.01,
            ..Default::default()
        },
    );
    let metrics = particle_metrics(&m, &xs, &reference_samples(&m, N, 1));
    assert!(
        metrics.mode_tv > 0.3,
        "ULA should get the mode weights wrong: {metrics:?}"
    );
}

#[test]
fn a_unit_step_biases_or_diverges() {
    let m = ring();
    let xs = run(
        &m,
        SamplerName::Ula,
        &SamplerConfig {
            steps: 200,
            tau: 1.0,
            ..Default::default()
        },
    );
    let metrics = particle_metrics(&m, &xs, &reference_samples(&m, N, 1));
    assert!(
        metrics.non_finite > 0 || metrics.sliced_wasserstein > 5.0 * exact_vs_exact_sw(&m),
        "{metrics:?}"
    );
}

#[test]
fn naive_anisotropic_noise_samples_the_wrong_law_and_preconditioning_fixes_it() {
    let m = standard_gaussian();
    let sigma = Sym2 {
        a: 2.0,
        b: 0.4,
        d: 0.4,
    };
    let config = SamplerConfig {
        steps: 800,
        tau: 0.02,
        noise_cov: sigma,
        ..Default::default()
    };
    let naive = covariance(&run(&m, SamplerName::UlaAniso, &config));
    let pre = covariance(&run(&m, SamplerName::Pula, &config));
    // Naive: the stationary law is ≈ N(0, Σ), not N(0, I).
    assert!(
        (naive[0] - 2.0).abs() < 0.2 && (naive[2] - 0.4).abs() < 0.1,
        "naive {naive:?}"
    );
    assert!(
        (pre[0] - 1.0).abs() < 0.1 && pre[1].abs() < 0.06 && (pre[2] - 1.0).abs() < 0.1,
        "pula {pre:?}"
    );
}

#[test]
fn mala_removes_the_step_size_bias_of_ula() {
    let m = standard_gaussian();
    let config = SamplerConfig {
        steps: 300,
        tau: 0.5,
        ..Default::default()
    };
    let ula = covariance(&run(&m, SamplerName::Ula, &config));
    let mala = covariance(&run(&m, SamplerName::Mala, &config));
    // ULA's stationary variance for N(0, 1) is 1 / (1 - τ/2) = 4/3 at τ = 0.5.
    assert!((ula[0] - 4.0 / 3.0).abs() < 0.08, "ula {ula:?}");
    assert!(
        (mala[0] - 1.0).abs() < 0.06 && (mala[2] - 1.0).abs() < 0.06,
        "mala {mala:?}"
    );
}

/// The samplers that follow the noised score from a broad prior down to π.
const SCORE_BASED: [SamplerName; 5] = [
    SamplerName::Annealed,
    SamplerName::SdeVe,
    SamplerName::SdeVp,
    SamplerName::PredictorCorrector,
    SamplerName::Ode,
];

fn score_based_config() -> SamplerConfig {
    SamplerConfig {
        steps: 200,
        levels: 20,
        steps_per_level: 50,
        ..Default::default()
    }
}

#[test]
fn score_based_samplers_recover_the_mode_weights_of_gmm150() {
    let m = gmm150();
    let reference = reference_samples(&m, N, 1);
    for name in SCORE_BASED {
        let xs = run(&m, name, &score_based_config());
        let metrics = particle_metrics(&m, &xs, &reference);
        assert!(metrics.mode_tv < 0.05, "{name}: {metrics:?}");
    }
}

#[test]
fn score_based_samplers_recover_p_of_two_modes_where_ula_does_not() {
    let m = two_modes(0.2).unwrap();
    let reference = reference_samples(&m, N, 1);
    let ula = run(
        &m,
        SamplerName::Ula,
        &SamplerConfig {
            steps: 300,
            tau: 0.05,
            ..Default::default()
        },
    );
    let ula_first = particle_metrics(&m, &ula, &reference).occupancy[0];
    assert!(
        (ula_first - 0.2).abs() > 0.2,
        "ULA from N(0, I) should split ~50/50: {ula_first}"
    );
    for name in SCORE_BASED {
        let first =
            particle_metrics(&m, &run(&m, name, &score_based_config()), &reference).occupancy[0];
        assert!(
            (first - 0.2).abs() < 0.05,
            "{name}: weight of the first mode {first}"
        );
    }
}

#[test]
fn the_kde_score_baseline_samples_its_own_estimate_and_mala_refuses_a_learned_score() {
    use genlab::langevin::params::{DensityPreset, LangevinParams, ScoreSource};
    use genlab::langevin::run::LangevinRun;
    let params = LangevinParams {
        density: DensityPreset::TwoModes,
        p: 0.2,
        sampler: SamplerName::SdeVe,
        score: ScoreSource::Kde,
        steps: 200,
        particles: 5000,
        ..LangevinParams::default()
    };
    let mixture = two_modes(0.2).unwrap();
    let mut run = LangevinRun::new(&params, mixture.clone()).unwrap();
    assert_eq!(run.score().mixture().unwrap().components().len(), 1000);
    let kde_first = run.score().mixture().unwrap().mode_weights()[0];
    run.advance(200);
    let occupancy = run.metrics().occupancy[0];
    // 1 000 samples carry the weights (±0.013), and annealing over the KDE keeps them.
    assert!(
        (occupancy - kde_first).abs() < 0.05,
        "{occupancy} vs the KDE's {kde_first}"
    );
    assert!((kde_first - 0.2).abs() < 0.05, "{kde_first}");
    let learned_mala = LangevinParams {
        score: ScoreSource::Learned,
        sampler: SamplerName::Mala,
        ..params
    };
    let refused = LangevinRun::new(&learned_mala, mixture)
        .err()
        .expect("refused");
    assert!(refused.0.contains("MALA needs log π"), "{}", refused.0);
}
