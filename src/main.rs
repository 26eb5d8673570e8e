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
        /// Reads a page link (its `#…` part) and prints the state it opens, with any notices.
        Link { hash: String },
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
