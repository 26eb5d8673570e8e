//! The registry of trainable workloads: what the backend calibration, `genlab bench` and the
//! page's selectors know by name. A model becomes a workload by one line here.

use crate::core::training::WorkloadSpec;

pub fn workloads() -> &'static [WorkloadSpec] {
    &[
        crate::langevin::mlp2d::WORKLOAD,
        crate::images::classifier::WORKLOAD,
        crate::images::ddpm::WORKLOAD,
        crate::series::csdi::WORKLOAD,
    ]
}

pub fn find_workload(name: &str) -> Result<&'static WorkloadSpec, String> {
    workloads().iter().find(|w| w.name == name).ok_or_else(|| {
        let names: Vec<&str> = workloads().iter().map(|w| w.name).collect();
        format!("unknown workload `{name}`; known: {}", names.join(", "))
    })
}
