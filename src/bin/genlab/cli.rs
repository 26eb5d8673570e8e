//! The command tree: every subcommand and the module that runs it.

use crate::{bench, csdi, images, langevin, train};
use clap::{Parser, Subcommand};
use genlab::app::state::PageState;
use genlab::langevin::params::DensityPreset;

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
        backend: bench::Backends,
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
    /// Trains a model natively and writes its weights (burn's .bpk record format, the format
    /// the page loads).
    Train {
        #[command(subcommand)]
        model: TrainCommand,
    },
    /// Draws samples from an image model and writes them as NumPy .npy (float32
    /// [N, 28, 28] in [0, 1]).
    Sample(images::SampleArgs),
    /// FID (on the shipped classifier's features, against the test split) and, with labels,
    /// class accuracy of samples; one JSON line.
    Eval(images::EvalArgs),
    /// FID and class accuracy of a model's samples against the guidance weight and against
    /// the sampler's steps; writes the JSON file the page plots.
    Sweep(images::SweepArgs),
    /// Imputes the missing values of a CSV with CSDI: writes every imputed cell's mean,
    /// median and quantiles, and, when observed values were hidden (--hide-ratio, default
    /// 0.1, or --mask), prints one JSON line of CRPS, MAE and RMSE next to the baselines.
    Impute(crate::csdi::ImputeArgs),
    /// Reads a page link (its `#…` part) and prints the state it opens, with any notices.
    Link { hash: String },
    /// Runs a Langevin sampler on a 2-D density; writes the particles as CSV and prints the
    /// metrics as one JSON line. Flags are the link's parameter names; `--density` also takes a
    /// mixture file (.json or NumPy .npz).
    Langevin(Box<langevin::LangevinArgs>),
    /// Writes a density preset's mixture parameters as the upload JSON format
    /// (`www/data/gmm150.json` is made by `genlab density --preset gmm150`).
    Density {
        #[arg(long, default_value_t = DensityPreset::Gmm150)]
        preset: DensityPreset,
        #[arg(long, default_value_t = 0.2)]
        p: f64,
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum TrainCommand {
    /// The CNN whose features give FID and whose predictions give class accuracy.
    Classifier(train::ClassifierArgs),
    /// The conditional VAE of the image lab.
    Vae(train::GeneratorTrainArgs),
    /// The class-conditional diffusion model (U-Net, classifier-free guidance).
    Ddpm(train::DdpmTrainArgs),
    /// CSDI, the time-series imputation model, on a CSV (prints one JSON line per epoch).
    Csdi(crate::csdi::TrainArgs),
}

pub fn run() -> Result<(), String> {
    match Cli::parse().command {
        Command::Info => bench::info(),
        Command::Bench {
            workload,
            backend,
            budget,
            seed,
        } => bench::bench(&workload, &backend, budget, seed),
        Command::BenchParticles { link, steps } => langevin::bench_particles(&link, steps),
        Command::Langevin(args) => langevin::langevin(*args),
        Command::Density { preset, p, out } => langevin::density(preset, p, out.as_deref()),
        Command::Train { model } => match model {
            TrainCommand::Classifier(args) => train::train_classifier(args),
            TrainCommand::Vae(args) => train::train_vae(args),
            TrainCommand::Ddpm(args) => train::train_ddpm(args),
            TrainCommand::Csdi(args) => csdi::train(args),
        },
        Command::Sample(args) => images::sample(args),
        Command::Eval(args) => images::eval(args),
        Command::Sweep(args) => images::sweep(args),
        Command::Impute(args) => csdi::impute(args),
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
