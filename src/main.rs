//! `genlab`: the native command line over the same model code the page runs.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    if let Err(message) = cli::run() {
        eprintln!("genlab: {message}");
        std::process::exit(2);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use clap::{Parser, Subcommand};
    use genlab::backend::{compiled_backends, decide, native_device, native_wgpu, BackendKind};
    use genlab::state::PageState;
    use genlab::workload::{find_workload, time_workload, workloads};

    #[derive(Parser)]
    #[command(
        name = "genlab",
        version,
        about = "Generative-model playground: the page's models, natively",
        long_about = "Generative-model playground: the models of the genlab page, run natively on \
                      burn's CPU (Flex) or wgpu (Vulkan/Metal/DX12) backends. Parameter names are \
                      the same as in the page's links."
    )]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// The backends this build has, and what it finds on this machine.
        Info,
        /// Times a workload's training step on each backend and says what "auto" would pick.
        Bench {
            /// Registered workload name (see `genlab info`).
            #[arg(long, default_value = "mlp2d")]
            workload: String,
            /// `cpu`, `webgpu` (the native wgpu backend) or `all`.
            #[arg(long, default_value = "all")]
            backend: String,
            /// Seconds of steady-state steps per backend.
            #[arg(long, default_value_t = 3.0)]
            budget: f64,
            #[arg(long, default_value_t = 0)]
            seed: u64,
        },
        /// Particle-steps per second of the Langevin step on every engine: cpu (f64), wgsl (the
        /// shader on this machine's wgpu adapter), burn-cpu and burn-wgpu (the tensor path).
        BenchParticles {
            /// The run, as a link's parameters (density, sampler, particles, …).
            #[arg(long, default_value = "density=gmm150&sampler=ula&particles=10000")]
            link: String,
            #[arg(long, default_value_t = 20)]
            steps: usize,
        },
        /// Reads a page link (its `#…` part) and prints the state it opens, with any notices.
        Link { hash: String },
        /// Runs a Langevin sampler on a 2-D density; writes the particles as CSV and prints the
        /// metrics as one JSON line. Flags are the link's parameter names.
        Langevin(Box<LangevinArgs>),
        /// Writes a density preset's mixture parameters as the upload JSON format
        /// (`www/data/gmm150.json` is made by `genlab density --preset gmm150`).
        Density {
            #[arg(long, default_value = "gmm150")]
            preset: String,
            #[arg(long, default_value_t = 0.2)]
            p: f64,
            #[arg(long)]
            out: Option<std::path::PathBuf>,
        },
    }

    #[derive(clap::Args)]
    struct LangevinArgs {
        /// A preset (gmm150, two-modes, ring, spiral) or a mixture file (.json or NumPy .npz).
        #[arg(long)]
        density: Option<String>,
        /// ga, ula, ula-aniso, pula, mala, annealed, sde-ve, sde-vp, pc, ode.
        #[arg(long)]
        sampler: Option<String>,
        /// Where scores come from: exact, kde or learned.
        #[arg(long)]
        score: Option<String>,
        /// cpu (f64 in this process) or webgpu (the WGSL shader on this machine's wgpu adapter).
        #[arg(long, default_value = "cpu")]
        backend: String,
        #[arg(long)]
        steps: Option<String>,
        #[arg(long)]
        particles: Option<String>,
        #[arg(long)]
        tau: Option<String>,
        #[arg(long)]
        seed: Option<String>,
        /// Σ of ula-aniso and pula as a,b,d for [[a, b], [b, d]].
        #[arg(long)]
        noise_cov: Option<String>,
        /// Weight of the first mode of two-modes.
        #[arg(long)]
        p: Option<String>,
        /// Annealing: noise levels L.
        #[arg(long)]
        levels: Option<String>,
        /// Annealing: steps per level T.
        #[arg(long)]
        steps_per_level: Option<String>,
        /// Annealing: step scale ε.
        #[arg(long)]
        eps: Option<String>,
        /// Training steps of the learned score network (score = learned) before sampling.
        #[arg(long)]
        score_steps: Option<String>,
        /// Annealing: final denoising step (true/false).
        #[arg(long)]
        denoise: Option<String>,
        /// Where to write the final particles (CSV, header x,y).
        #[arg(long, default_value = "particles.csv")]
        out: std::path::PathBuf,
    }

    pub fn run() -> Result<(), String> {
        match Cli::parse().command {
            Command::Info => info(),
            Command::Bench {
                workload,
                backend,
                budget,
                seed,
            } => bench(&workload, &backend, budget, seed),
            Command::Langevin(args) => langevin(args),
            Command::BenchParticles { link, steps } => bench_particles(&link, steps),
            Command::Density { preset, p, out } => {
                let pairs = [
                    ("density".to_string(), preset),
                    ("p".to_string(), p.to_string()),
                ];
                let mut notices = Vec::new();
                let params: genlab::state::LangevinParams =
                    genlab::state::decode_params(&pairs, &mut notices);
                if !notices.is_empty() {
                    return Err(notices.join("; "));
                }
                let mixture =
                    genlab::langevin::preset_mixture(&params).map_err(|e| e.to_string())?;
                let json =
                    serde_json::to_string_pretty(&mixture.to_file()).map_err(|e| e.to_string())?;
                match out {
                    Some(path) => std::fs::write(&path, json + "\n")
                        .map_err(|e| format!("{}: {e}", path.display()))?,
                    None => println!("{json}"),
                }
                Ok(())
            }
            Command::Link { hash } => {
                let decoded = PageState::from_hash(&hash);
                for notice in &decoded.notices {
                    eprintln!("notice: {notice}");
                }
                println!("#{}", decoded.state.to_hash());
                Ok(())
            }
        }
    }

    fn langevin(args: Box<LangevinArgs>) -> Result<(), String> {
        use genlab::density::MixtureFile;
        use genlab::langevin::{preset_mixture, LangevinRun, Placement};
        use genlab::state::{decode_params, LangevinParams};

        let file = args.density.as_deref().filter(|d| {
            d.ends_with(".json") || d.ends_with(".npz") || std::path::Path::new(d).is_file()
        });
        let given = [
            (
                "density",
                if file.is_some() {
                    None
                } else {
                    args.density.clone()
                },
            ),
            ("sampler", args.sampler),
            ("score", args.score),
            ("steps", args.steps),
            ("particles", args.particles),
            ("tau", args.tau),
            ("seed", args.seed),
            ("noise-cov", args.noise_cov),
            ("p", args.p),
            ("levels", args.levels),
            ("steps-per-level", args.steps_per_level),
            ("eps", args.eps),
            ("denoise", args.denoise),
            ("score-steps", args.score_steps),
        ];
        let pairs: Vec<(String, String)> = given
            .into_iter()
            .filter_map(|(key, value)| value.map(|v| (key.to_string(), v)))
            .collect();
        // The link's decoder is the one parser of parameters, so the CLI accepts exactly what a
        // link does; where the page shows a notice, the CLI refuses.
        let mut notices = Vec::new();
        let params: LangevinParams = decode_params(&pairs, &mut notices);
        if !notices.is_empty() {
            return Err(notices.join("; "));
        }
        let mixture = match file {
            Some(path) if path.ends_with(".npz") => {
                let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
                genlab::density::mixture_from_npz(&bytes).map_err(|e| format!("{path}: {e}"))?
            }
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
                MixtureFile::from_json(&text).map_err(|e| format!("{path}: {e}"))?
            }
            None => preset_mixture(&params).map_err(|e| e.to_string())?,
        };
        let mut run = match args.backend.parse::<BackendKind>()? {
            BackendKind::Cpu => LangevinRun::new(&params, mixture),
            BackendKind::Wgpu => {
                let (device, _) = native_wgpu()?;
                let gpu = genlab::backend::native_gpu_context()?;
                LangevinRun::placed(&params, mixture, Placement::Wgsl(gpu, device))
            }
        }
        .map_err(|e| e.to_string())?;
        let losses = run.train_score(params.score_steps as usize);
        if !losses.is_empty() {
            let losses = futures_lite::future::block_on(genlab::workload::read_losses(losses))?;
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

    fn bench_particles(link: &str, steps: usize) -> Result<(), String> {
        use genlab::langevin::{preset_mixture, time_particle_steps, LangevinRun, Placement};
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
        match (native_wgpu(), genlab::backend::native_gpu_context()) {
            (Ok((device, _)), Ok(gpu)) => {
                engines.push(("wgsl", Placement::Wgsl(gpu, device.clone())));
                engines.push(("burn-wgpu", Placement::Burn(device)));
            }
            (Err(why), _) | (_, Err(why)) => eprintln!("wgpu engines skipped: {why}"),
        }
        for (name, placement) in engines {
            let mut run = LangevinRun::placed(&params, mixture.clone(), placement)
                .map_err(|e| e.to_string())?;
            let rate = futures_lite::future::block_on(time_particle_steps(&mut run, steps))?;
            println!(
                "{}",
                serde_json::json!({"engine": name, "particles": params.particles, "sampler": params.sampler.name(), "density": params.density.name(), "particle_steps_per_s": rate})
            );
        }
        Ok(())
    }

    fn info() -> Result<(), String> {
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

    fn bench(workload: &str, backend: &str, budget: f64, seed: u64) -> Result<(), String> {
        let spec = find_workload(workload)?;
        let kinds: Vec<BackendKind> = match backend {
            "all" => BackendKind::ALL.to_vec(),
            one => vec![one.parse()?],
        };
        let mut timings = Vec::new();
        for kind in kinds {
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
}
