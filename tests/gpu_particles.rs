//! The WGSL particle shader against the CPU path, on this machine's wgpu adapter (Mesa's lavapipe
//! in CI): the same moves and the same counter-based noise must give the same particles, up to f32.

use futures_lite::future::block_on;
use genlab::core::backend::native_wgpu;
use genlab::core::gpu;
use genlab::langevin::density::gmm150;
use genlab::langevin::gpu_particles::GpuParticles;
use genlab::langevin::params::{DensityPreset, LangevinParams, SamplerName};
use genlab::langevin::particles::CpuParticles;
use genlab::langevin::run::{preset_mixture, sampler_config, LangevinRun, Placement};
use genlab::langevin::samplers::build_sampler;

fn params(sampler: SamplerName, particles: u32) -> LangevinParams {
    LangevinParams {
        sampler,
        particles,
        steps: 40,
        tau: 0.05,
        levels: 4,
        steps_per_level: 5,
        eps: 2e-3,
        seed: 11,
        ..LangevinParams::default()
    }
}

#[test]
fn every_sampler_moves_the_same_particles_on_the_gpu_and_the_cpu() {
    let gpu = gpu::native_wgpu()
        .map(|start| start.gpu)
        .expect("a wgpu adapter (lavapipe in CI)");
    let mixture = gmm150();
    for name in SamplerName::ALL {
        let params = params(*name, 2_000);
        let sampler = build_sampler(*name, &sampler_config(&params, &mixture));
        let steps = sampler.total_steps().min(12);
        let mut cpu = CpuParticles::new(2_000, sampler.start_scale(), params.seed);
        let mut on_gpu =
            GpuParticles::new(&gpu, &mixture, 2_000, sampler.start_scale(), params.seed).unwrap();
        // The last steps of the annealed and VE samplers (small σ, denoising) matter most.
        let first = sampler.total_steps() - steps;
        for i in 0..sampler.total_steps() {
            let moves = sampler.moves(i);
            if i < first && i > 2 {
                // Skip the middle of long schedules on both sides alike: only states are compared.
                continue;
            }
            for step in &moves {
                cpu.apply(step, &mixture);
            }
            on_gpu.apply(&moves);
        }
        let seen = block_on(on_gpu.snapshot(2_000)).unwrap();
        let close = cpu
            .positions
            .iter()
            .zip(&seen.positions)
            .filter(|(a, b)| {
                let scale = 1.0 + a[0].abs().max(a[1].abs());
                (a[0] - b[0]).abs() < 2e-3 * scale && (a[1] - b[1]).abs() < 2e-3 * scale
            })
            .count();
        // MALA may decide a borderline accept differently in f32; everything else must agree.
        let needed = if *name == SamplerName::Mala {
            1_960
        } else {
            2_000
        };
        assert!(
            close >= needed,
            "{name}: only {close} of 2000 particles agree (first: cpu {:?} gpu {:?})",
            cpu.positions[0],
            seen.positions[0]
        );
        if *name == SamplerName::Mala {
            assert_eq!(seen.proposed, cpu.proposed);
            assert!(seen.accepted.abs_diff(cpu.accepted) <= 40);
        }
    }
}

/// A link's run on the WGSL shader of this machine's adapter.
fn wgsl_run(params: &LangevinParams) -> LangevinRun {
    let gpu = gpu::native_wgpu()
        .map(|start| start.gpu)
        .expect("a wgpu adapter (lavapipe in CI)");
    let device = native_wgpu().unwrap().0;
    let mixture = preset_mixture(params).unwrap();
    LangevinRun::placed(params, mixture, Placement::Wgsl(gpu, device)).unwrap()
}

#[test]
fn the_gpu_path_recovers_the_mode_weights_with_the_reverse_sde() {
    let params = LangevinParams {
        sampler: SamplerName::SdeVe,
        steps: 500,
        ..LangevinParams::default()
    };
    let mut run = wgsl_run(&params);
    run.advance(run.total_steps());
    block_on(run.refresh()).unwrap();
    let metrics = run.metrics();
    assert_eq!(run.particles().len(), 10_000);
    assert_eq!(metrics.non_finite, 0);
    assert!(metrics.mode_tv < 0.05, "TV {}", metrics.mode_tv);
}

#[test]
fn a_million_particles_step_and_are_counted_in_a_histogram() {
    let params = LangevinParams {
        density: DensityPreset::Ring,
        particles: 1_000_000,
        steps: 2,
        ..LangevinParams::default()
    };
    let mut run = wgsl_run(&params);
    assert_eq!(run.particle_count(), 1_000_000);
    run.advance(2);
    block_on(run.refresh()).unwrap();
    let particles = run.gpu_particles().unwrap();
    let bins = block_on(particles.histogram([-50.0, -50.0, 50.0, 50.0], 64, 48)).unwrap();
    assert_eq!(bins.len(), 64 * 48);
    // N(0, I) moved twice by a small step: every particle is inside a ±50 box.
    assert_eq!(bins.iter().map(|&b| b as u64).sum::<u64>(), 1_000_000);
    let last = block_on(particles.snapshot(1_000_000)).unwrap();
    assert!(last.positions[999_999][0].is_finite());
    assert_ne!(last.positions[999_999], last.positions[999_998]);
}
