//! Which burn device runs a workload, and how "auto" chooses.

use burn::tensor::Device;
use serde::Serialize;

use crate::named_choice;

named_choice! {
    /// The user's backend control. `auto` decides per workload from a calibration run.
    pub enum BackendChoice { Auto = "auto", Webgpu = "webgpu", Cpu = "cpu" } default Auto
}

named_choice! {
    /// A backend that actually runs: burn's wgpu backend (WebGPU in the browser, Vulkan/Metal/DX12
    /// natively) or burn's Flex CPU backend (wasm or native).
    pub enum BackendKind { Wgpu = "webgpu", Cpu = "cpu" } default Cpu
}

impl BackendKind {
    /// The kind of a live device, read from the device itself so a silent fallback cannot hide.
    pub fn of(device: &Device) -> Self {
        // Flex and the CubeCL wgpu runtime are the only backends this crate compiles in.
        if format!("{device:?}").contains("Flex") {
            BackendKind::Cpu
        } else {
            BackendKind::Wgpu
        }
    }
}

/// Timings of one backend on the calibration run of one workload.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct BackendTiming {
    pub backend: BackendKind,
    /// Wall time of the first step, readback included: shader compilation and first uploads.
    pub first_step_ms: f64,
    /// Steady-state steps per second after the first steps.
    pub steps_per_s: f64,
}

/// What "auto" decided for a workload, with the figures behind it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    pub workload: String,
    pub chosen: BackendKind,
    pub timings: Vec<BackendTiming>,
    pub reason: String,
}

/// Picks the backend with the higher steady-state throughput; a backend that was not measured
/// (unavailable) cannot win, and the CPU is the answer when nothing was measured at all.
pub fn decide(workload: &str, timings: &[BackendTiming]) -> Decision {
    let usable: Vec<&BackendTiming> = timings
        .iter()
        .filter(|t| t.steps_per_s.is_finite() && t.steps_per_s > 0.0)
        .collect();
    let best = usable
        .iter()
        .copied()
        .max_by(|a, b| a.steps_per_s.total_cmp(&b.steps_per_s));
    let (chosen, reason) = match best {
        None => (
            BackendKind::Cpu,
            "no backend could be timed; using the CPU".to_string(),
        ),
        Some(best) if usable.len() == 1 => (
            best.backend,
            format!(
                "only {} was available ({:.1} steps/s)",
                best.backend, best.steps_per_s
            ),
        ),
        Some(best) => {
            let others: Vec<String> = usable
                .iter()
                .filter(|t| t.backend != best.backend)
                .map(|t| format!("{} {:.1} steps/s", t.backend, t.steps_per_s))
                .collect();
            (
                best.backend,
                format!(
                    "{} {:.1} steps/s beats {}",
                    best.backend,
                    best.steps_per_s,
                    others.join(", ")
                ),
            )
        }
    };
    Decision {
        workload: workload.to_string(),
        chosen,
        timings: timings.to_vec(),
        reason,
    }
}

/// The backends compiled into this build, for `genlab info` and the page.
pub fn compiled_backends() -> Vec<&'static str> {
    vec![
        "flex (CPU)",
        "wgpu (WebGPU in browsers; Vulkan/Metal/DX12 natively)",
    ]
}

/// A native wgpu device and its adapter's name, or why there is none.
#[cfg(not(target_arch = "wasm32"))]
pub fn native_wgpu() -> Result<(Device, String), String> {
    crate::core::gpu::native_wgpu().map(|start| (start.device, start.adapter))
}

/// A native device for a concrete backend.
#[cfg(not(target_arch = "wasm32"))]
pub fn native_device(kind: BackendKind) -> Result<Device, String> {
    match kind {
        BackendKind::Cpu => Ok(Device::flex()),
        BackendKind::Wgpu => native_wgpu().map(|(device, _)| device),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(backend: BackendKind, steps_per_s: f64) -> BackendTiming {
        BackendTiming {
            backend,
            first_step_ms: 10.0,
            steps_per_s,
        }
    }

    #[test]
    fn the_faster_backend_wins_whichever_it_is() {
        let cpu_wins = decide(
            "w",
            &[
                timing(BackendKind::Wgpu, 1.0),
                timing(BackendKind::Cpu, 84.0),
            ],
        );
        assert_eq!(cpu_wins.chosen, BackendKind::Cpu);
        let gpu_wins = decide(
            "w",
            &[
                timing(BackendKind::Wgpu, 900.0),
                timing(BackendKind::Cpu, 84.0),
            ],
        );
        assert_eq!(gpu_wins.chosen, BackendKind::Wgpu);
        assert!(gpu_wins.reason.contains("900.0") && gpu_wins.reason.contains("84.0"));
    }

    #[test]
    fn an_unmeasured_backend_cannot_win() {
        let d = decide(
            "w",
            &[
                timing(BackendKind::Wgpu, f64::NAN),
                timing(BackendKind::Cpu, 5.0),
            ],
        );
        assert_eq!(d.chosen, BackendKind::Cpu);
        assert_eq!(decide("w", &[]).chosen, BackendKind::Cpu);
    }

    #[test]
    fn backend_names_parse_and_reject_garbage() {
        assert_eq!("webgpu".parse::<BackendChoice>(), Ok(BackendChoice::Webgpu));
        assert!("cuda!"
            .parse::<BackendChoice>()
            .unwrap_err()
            .contains("auto, webgpu, cpu"));
    }

    #[test]
    fn flex_device_reads_as_cpu() {
        assert_eq!(BackendKind::of(&Device::flex()), BackendKind::Cpu);
        assert_eq!(
            BackendKind::of(&Device::flex().autodiff()),
            BackendKind::Cpu
        );
    }
}
