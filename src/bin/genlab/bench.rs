//! `genlab info` and `genlab bench`: what this build can run, and how fast a workload trains on
//! each backend (the page's calibration, natively).

use genlab::app::workloads::{find_workload, workloads};
use genlab::core::backend::{compiled_backends, decide, native_device, native_wgpu, BackendKind};
use genlab::core::training::time_workload;

/// `--backend` of `bench`: one backend, or `all` of them.
#[derive(Clone, Debug)]
pub struct Backends(Vec<BackendKind>);

impl std::str::FromStr for Backends {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "all" => Ok(Self(BackendKind::ALL.to_vec())),
            one => Ok(Self(vec![one.parse()?])),
        }
    }
}

pub fn info() -> Result<(), String> {
    println!("genlab {}", env!("CARGO_PKG_VERSION"));
    println!("backends compiled in: {}", compiled_backends().join("; "));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("cpu (flex): available, {cores} threads");
    match native_wgpu() {
        Ok((_, adapter)) => println!("wgpu: adapter {adapter}"),
        Err(why) => println!("wgpu: not available ({why})"),
    }
    let names: Vec<&str> = workloads().iter().map(|w| w.name).collect();
    println!("workloads: {}", names.join(", "));
    Ok(())
}

pub fn bench(workload: &str, backends: &Backends, budget: f64, seed: u64) -> Result<(), String> {
    let spec = find_workload(workload)?;
    let mut timings = Vec::new();
    for &kind in &backends.0 {
        let device = match native_device(kind) {
            Ok(device) => device,
            Err(why) => {
                eprintln!("{kind}: skipped ({why})");
                continue;
            }
        };
        let timing = futures_lite::future::block_on(time_workload(
            spec,
            &device,
            seed,
            budget,
            100_000,
            || async {},
        ))?;
        println!(
            "{}",
            serde_json::to_string(&timing).map_err(|e| e.to_string())?
        );
        timings.push(timing);
    }
    let decision = decide(workload, &timings);
    println!(
        "{}",
        serde_json::to_string(&decision).map_err(|e| e.to_string())?
    );
    Ok(())
}
