//! `genlab langevin`, `genlab density` and `genlab bench-particles`: the Langevin demo natively.
//! The flags of `langevin` are the link's parameters (`LangevinParams`), plus what only a command
//! line has: a mixture file for `--density`, the output file.

use std::path::{Path, PathBuf};

use genlab::app::state::PageState;
use genlab::core::backend::{native_wgpu, BackendKind};
use genlab::core::training::read_losses;
use genlab::langevin::density::{mixture_from_npz, MixtureFile};
use genlab::langevin::params::{DensityPreset, LangevinParams};
use genlab::langevin::run::{preset_mixture, time_particle_steps, LangevinRun, Placement};

use crate::link_flags::LinkFlags;

#[derive(clap::Args)]
pub struct LangevinArgs {
    /// The link's parameters; `--density` also takes a mixture file (.json or NumPy .npz).
    #[command(flatten)]
    params: LinkFlags<LangevinParams>,
    /// cpu (f64 in this process) or webgpu (the WGSL shader on this machine's wgpu adapter).
    #[arg(long, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
    /// Where to write the final particles (CSV, header x,y).
    #[arg(long, default_value = "particles.csv")]
    out: PathBuf,
}

pub fn langevin(args: LangevinArgs) -> Result<(), String> {
    let mut flags = args.params;
    let density = flags.take("density");
    let file = density.as_deref().filter(|d| {
        d.ends_with(".json") || d.ends_with(".npz") || std::path::Path::new(d).is_file()
    });
    if let (Some(preset), None) = (&density, file) {
        flags.pairs.push(("density".into(), preset.clone()));
    }
    let params: LangevinParams = flags.decode()?;
    let mixture = match file {
        Some(path) if path.ends_with(".npz") => {
            let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
            mixture_from_npz(&bytes).map_err(|e| format!("{path}: {e}"))?
        }
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            MixtureFile::from_json(&text).map_err(|e| format!("{path}: {e}"))?
        }
        None => preset_mixture(&params).map_err(|e| e.to_string())?,
    };
    let mut run = match args.backend {
        BackendKind::Cpu => LangevinRun::new(&params, mixture),
        BackendKind::Wgpu => {
            let (device, _) = native_wgpu()?;
            let gpu = genlab::core::gpu::native_wgpu()?.gpu;
            LangevinRun::placed(&params, mixture, Placement::Wgsl(gpu, device))
        }
    }
    .map_err(|e| e.to_string())?;
    let losses = run.train_score(params.score_steps as usize);
    if !losses.is_empty() {
        let losses = futures_lite::future::block_on(read_losses(losses))?;
        let tail = &losses[losses.len().saturating_sub(100)..];
        eprintln!(
            "score network: {} steps, mean loss of the last {} {:.4}",
            losses.len(),
            tail.len(),
            tail.iter().sum::<f32>() / tail.len() as f32
        );
    }
    let total = run.total_steps();
    run.advance(total);
    futures_lite::future::block_on(run.refresh())?;
    let mut csv = String::from("x,y\n");
    for p in run.particles() {
        csv.push_str(&format!("{},{}\n", p[0], p[1]));
    }
    std::fs::write(&args.out, csv).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let mut report = serde_json::to_value(run.metrics()).map_err(|e| e.to_string())?;
    report["steps"] = total.into();
    report["sampler"] = params.sampler.name().into();
    println!("{report}");
    Ok(())
}

/// Writes a preset's mixture parameters as the upload JSON format (`www/data/gmm150.json` is
/// `genlab density --preset gmm150`).
pub fn density(preset: DensityPreset, p: f64, out: Option<&Path>) -> Result<(), String> {
    let mut flags = LinkFlags::<LangevinParams>::default();
    flags.pairs = vec![
        ("density".to_string(), preset.to_string()),
        ("p".to_string(), p.to_string()),
    ];
    let mixture = preset_mixture(&flags.decode()?).map_err(|e| e.to_string())?;
    let json = serde_json::to_string_pretty(&mixture.to_file()).map_err(|e| e.to_string())?;
    match out {
        Some(path) => {
            std::fs::write(path, json + "\n").map_err(|e| format!("{}: {e}", path.display()))
        }
        None => {
            println!("{json}");
            Ok(())
        }
    }
}

pub fn bench_particles(link: &str, steps: usize) -> Result<(), String> {
    let decoded = PageState::from_hash(&format!("demo=langevin&{link}"));
    if !decoded.notices.is_empty() {
        return Err(decoded.notices.join("; "));
    }
    let params = decoded.state.langevin;
    let mixture = preset_mixture(&params).map_err(|e| e.to_string())?;
    let mut engines: Vec<(&str, Placement)> = vec![
        ("cpu", Placement::Cpu),
        ("burn-cpu", Placement::Burn(burn::tensor::Device::flex())),
    ];
    match (
        native_wgpu(),
        genlab::core::gpu::native_wgpu().map(|start| start.gpu),
    ) {
        (Ok((device, _)), Ok(gpu)) => {
            engines.push(("wgsl", Placement::Wgsl(gpu, device.clone())));
            engines.push(("burn-wgpu", Placement::Burn(device)));
        }
        (Err(why), _) | (_, Err(why)) => eprintln!("wgpu engines skipped: {why}"),
    }
    for (name, placement) in engines {
        let mut run =
            LangevinRun::placed(&params, mixture.clone(), placement).map_err(|e| e.to_string())?;
        let rate = futures_lite::future::block_on(time_particle_steps(&mut run, steps))?;
        println!(
            "{}",
            serde_json::json!({"engine": name, "particles": params.particles, "sampler": params.sampler.name(), "density": params.density.name(), "particle_steps_per_s": rate})
        );
    }
    Ok(())
}
