//! The same model code on burn's CPU (Flex) backend and on its wgpu backend (Mesa's lavapipe
//! on machines without a GPU; set GENLAB_SKIP_WGPU=1 only where no Vulkan driver exists).

use burn::tensor::Device;
use genlab::core::backend::{native_device, BackendKind};
use genlab::core::training::{build_trainer, time_workload, train_native};
use genlab::langevin::mlp2d::WORKLOAD;

fn wgpu_device() -> Option<Device> {
    match native_device(BackendKind::Wgpu) {
        Ok(device) => Some(device),
        Err(why) if std::env::var_os("GENLAB_SKIP_WGPU").is_some() => {
            eprintln!("skipping wgpu: {why}");
            None
        }
        Err(why) => {
            panic!("no wgpu adapter ({why}); install mesa-vulkan-drivers or set GENLAB_SKIP_WGPU=1")
        }
    }
}

fn mean(xs: &[f32]) -> f32 {
    xs.iter().sum::<f32>() / xs.len() as f32
}

#[test]
fn the_wgpu_backend_trains_and_reads_as_wgpu() {
    let Some(device) = wgpu_device() else { return };
    assert_eq!(BackendKind::of(&device), BackendKind::Wgpu);
    let mut trainer = build_trainer(&WORKLOAD, &device, 5);
    let losses = train_native(trainer.as_mut(), 40);
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert!(mean(&losses[30..]) < mean(&losses[..10]), "{losses:?}");
}

#[test]
fn cpu_training_is_deterministic_under_a_seed() {
    let run = |seed| train_native(build_trainer(&WORKLOAD, &Device::flex(), seed).as_mut(), 5);
    assert_eq!(run(11), run(11));
    assert_ne!(run(11), run(12));
}

#[test]
fn cpu_and_wgpu_compute_the_same_steps_from_the_same_seed() {
    // Same seed: same initial weights and data on both backends, so the losses agree up to
    // float32 rounding of different kernels.
    let Some(device) = wgpu_device() else { return };
    let cpu = train_native(build_trainer(&WORKLOAD, &Device::flex(), 1).as_mut(), 5);
    let gpu = train_native(build_trainer(&WORKLOAD, &device, 1).as_mut(), 5);
    for (c, g) in cpu.iter().zip(&gpu) {
        assert!(
            (c - g).abs() < 1e-3 * c.abs().max(1.0),
            "cpu {cpu:?} vs wgpu {gpu:?}"
        );
    }
}

#[test]
fn timing_reports_the_device_it_ran_on() {
    let timing = futures_lite::future::block_on(time_workload(
        &WORKLOAD,
        &Device::flex(),
        0,
        0.05,
        8,
        || async {},
    ))
    .unwrap();
    assert_eq!(timing.backend, BackendKind::Cpu);
    assert!(timing.first_step_ms > 0.0 && timing.steps_per_s > 0.0);
}
