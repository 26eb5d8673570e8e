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
mod csdi;

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use clap::{Parser, Subcommand};
    use genlab::app::state::PageState;
    use genlab::app::workloads::{find_workload, workloads};
    use genlab::core::backend::{
        compiled_backends, decide, native_device, native_wgpu, BackendKind,
    };
    use genlab::core::training::time_workload;

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
        /// Trains a model natively and writes its weights (burn's .bpk record format, the format
        /// the page loads).
        Train {
            #[command(subcommand)]
            model: TrainCommand,
        },
        /// Draws samples from an image model and writes them as NumPy .npy (float32
        /// [N, 28, 28] in [0, 1]).
        Sample(SampleArgs),
        /// FID (on the shipped classifier's features, against the test split) and, with labels,
        /// class accuracy of samples; one JSON line.
        Eval(EvalArgs),
        /// FID and class accuracy of a model's samples against the guidance weight and against
        /// the sampler's steps; writes the JSON file the page plots.
        Sweep(SweepArgs),
        /// Imputes the missing values of a CSV with CSDI: writes every imputed cell's mean,
        /// median and quantiles, and, when observed values were hidden (--hide-ratio, default
        /// 0.1, or --mask), prints one JSON line of CRPS, MAE and RMSE next to the baselines.
        Impute(crate::csdi::ImputeArgs),
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

    #[derive(Subcommand)]
    enum TrainCommand {
        /// The CNN whose features give FID and whose predictions give class accuracy.
        Classifier(ClassifierArgs),
        /// The conditional VAE of the image lab.
        Vae(GeneratorTrainArgs),
        /// The class-conditional diffusion model (U-Net, classifier-free guidance).
        Ddpm(DdpmTrainArgs),
        /// CSDI, the time-series imputation model, on a CSV (prints one JSON line per epoch).
        Csdi(crate::csdi::TrainArgs),
    }

    #[derive(clap::Args)]
    struct DdpmTrainArgs {
        #[command(flatten)]
        common: GeneratorTrainArgs,
        // The three architecture flags have no clap default, so that one given beside --resume
        // can be checked against the file instead of being silently ignored.
        /// β schedule: linear or cosine [default: linear; a --resume file keeps its own].
        #[arg(long)]
        schedule: Option<genlab::images::diffusion::BetaSchedule>,
        /// Diffusion steps T [default: 1000; a --resume file keeps its own].
        #[arg(long)]
        diffusion_steps: Option<usize>,
        /// U-Net widths: channels at 14×14, at 7×7, embedding width [default: 16,48,128; a
        /// --resume file keeps its own].
        #[arg(long)]
        unet: Option<String>,
        #[arg(long, default_value_t = 5e-4)]
        learning_rate: f64,
        /// Largest per-step decay of the sampling weights' moving average; a long run's last
        /// steps gain from a longer memory (0.9999 as in Ho et al.). Warm-up caps it at
        /// (1 + n)/(10 + n) after n steps.
        #[arg(long, default_value_t = genlab::images::ddpm::DEFAULT_EMA_DECAY)]
        ema_decay: f64,
    }

    #[derive(clap::Args)]
    struct GeneratorTrainArgs {
        /// mnist or fashion.
        #[arg(long)]
        dataset: genlab::images::params::Dataset,
        #[arg(long, default_value = "data")]
        data_dir: std::path::PathBuf,
        #[arg(long, default_value_t = 5000)]
        steps: usize,
        #[arg(long, default_value_t = 128)]
        batch: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value = "cpu")]
        backend: String,
        /// Weights to continue from (a checkpoint or shipped weights).
        #[arg(long)]
        resume: Option<std::path::PathBuf>,
        /// Steps between checkpoints (written to --out).
        #[arg(long, default_value_t = 1000)]
        checkpoint_every: usize,
        /// Default: www/models/<model>-<dataset>.bpk, the weights the page ships.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    }

    #[derive(clap::Args)]
    struct SampleArgs {
        /// A registered model (see `genlab info`).
        #[arg(long)]
        model: String,
        /// mnist or fashion.
        #[arg(long)]
        dataset: genlab::images::params::Dataset,
        /// Default: the shipped weights, www/models/<model>-<dataset>.bpk.
        #[arg(long)]
        weights: Option<std::path::PathBuf>,
        #[arg(long, default_value_t = 64)]
        n: usize,
        /// Draw every sample from this class (0–9); without it the classes come in the
        /// training set's proportions, interleaved (on MNIST 1 most often, 5 least).
        #[arg(long)]
        class: Option<u8>,
        /// Classifier-free guidance weight (default: the model's own for the dataset; ddpm: 0.6
        /// on mnist, 3 on fashion).
        #[arg(long)]
        guidance: Option<f64>,
        /// Guidance acts only at t ≤ this fraction of T (default: the model's for the dataset;
        /// ddpm: 0.6 on mnist, 1 (every step) on fashion).
        #[arg(long)]
        guidance_limit: Option<f64>,
        /// Sampler steps (ddpm: DDIM steps, default 50; 1000 with --eta 1 is ancestral DDPM).
        #[arg(long)]
        steps: Option<usize>,
        /// DDIM's stochasticity η in [0, 1].
        #[arg(long, default_value_t = 0.0)]
        eta: f64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value = "cpu")]
        backend: String,
        #[arg(long, default_value = "samples.npy")]
        out: std::path::PathBuf,
        /// Also write the class each sample was drawn for (int64 [N]).
        #[arg(long)]
        labels_out: Option<std::path::PathBuf>,
    }

    #[derive(clap::Args)]
    struct EvalArgs {
        /// mnist or fashion.
        #[arg(long)]
        dataset: genlab::images::params::Dataset,
        /// float32 [N, 28, 28] in [0, 1], as `genlab sample` writes.
        #[arg(long)]
        samples: Option<std::path::PathBuf>,
        /// The class each sample was drawn for (integer [N]).
        #[arg(long)]
        labels: Option<std::path::PathBuf>,
        /// Print the reference points instead: N train images, noise and the mean image.
        #[arg(long)]
        reference_points: Option<usize>,
        /// Print the classifier's accuracy on the first N test images instead.
        #[arg(long)]
        classify_test: Option<usize>,
        #[arg(long, default_value = "data")]
        data_dir: std::path::PathBuf,
        /// Default: the shipped classifier, www/models/classifier-<dataset>.bpk.
        #[arg(long)]
        classifier: Option<std::path::PathBuf>,
        #[arg(long, default_value = "cpu")]
        backend: String,
    }

    #[derive(clap::Args)]
    struct SweepArgs {
        #[arg(long, default_value = "ddpm")]
        model: String,
        /// mnist or fashion.
        #[arg(long)]
        dataset: genlab::images::params::Dataset,
        /// Default: the shipped weights, www/models/<model>-<dataset>.bpk.
        #[arg(long)]
        weights: Option<std::path::PathBuf>,
        /// Samples per point (classes in the training set's proportions).
        #[arg(long, default_value_t = 1000)]
        n: usize,
        /// Guidance weights of the first sweep (at --at-steps).
        #[arg(long, default_value = "0,0.5,1,2,3,5")]
        guidance: String,
        /// Sampler steps of the second sweep (at --at-guidance).
        #[arg(long, default_value = "5,10,20,50,100")]
        steps: String,
        /// Guidance acts only at t ≤ this fraction of T (default: the model's for the dataset).
        #[arg(long)]
        guidance_limit: Option<f64>,
        /// Guidance during the steps sweep (default: the model's for the dataset).
        #[arg(long)]
        at_guidance: Option<f64>,
        #[arg(long, default_value_t = 50)]
        at_steps: usize,
        #[arg(long, default_value_t = 0.0)]
        eta: f64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value = "data")]
        data_dir: std::path::PathBuf,
        #[arg(long, default_value = "cpu")]
        backend: String,
        /// Default: www/models/<model>-<dataset>.sweep.json, the file the page plots.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    }

    #[derive(clap::Args)]
    struct ClassifierArgs {
        /// mnist or fashion.
        #[arg(long)]
        dataset: genlab::images::params::Dataset,
        /// Where `scripts/fetch-data.sh` put the IDX files.
        #[arg(long, default_value = "data")]
        data_dir: std::path::PathBuf,
        #[arg(long, default_value_t = 4)]
        epochs: usize,
        #[arg(long, default_value_t = 128)]
        batch: usize,
        #[arg(long, default_value_t = 1e-3)]
        learning_rate: f64,
        /// Each epoch's learning rate is the previous one's times this.
        #[arg(long, default_value_t = 0.5)]
        lr_decay: f64,
        /// Augmentation: shift training images by up to this many pixels.
        #[arg(long, default_value_t = 0)]
        shift: usize,
        /// Augmentation: mirror half the training images left–right (not for digits; Fashion-MNIST's
        /// shoes all face one way, so it cost accuracy there).
        #[arg(long)]
        flip: bool,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// cpu or webgpu (this machine's wgpu adapter).
        #[arg(long, default_value = "cpu")]
        backend: String,
        /// Default: www/models/classifier-<dataset>.bpk, the weights the page ships.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// Weights to continue from.
        #[arg(long)]
        resume: Option<std::path::PathBuf>,
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
            Command::Train { model } => match model {
                TrainCommand::Classifier(args) => train_classifier(args),
                TrainCommand::Vae(args) => {
                    let device = native_device(args.backend.parse::<BackendKind>()?)?;
                    let spec = genlab::images::registry::find_generator("vae")?;
                    let generator =
                        (spec.build)(args.dataset.name(), &device, args.seed, &Default::default());
                    train_generator(generator, args)
                }
                TrainCommand::Ddpm(args) => {
                    use genlab::images::ddpm::{Ddpm, DdpmSettings};
                    let settings = DdpmSettings {
                        unet: match &args.unet {
                            Some(text) => genlab::images::unet::UNetConfig::from_text(text)?,
                            None => Default::default(),
                        },
                        schedule: args.schedule.unwrap_or_default(),
                        diffusion_steps: args
                            .diffusion_steps
                            .unwrap_or(genlab::images::diffusion::DEFAULT_STEPS),
                        learning_rate: args.learning_rate,
                        ema_decay: args.ema_decay,
                    };
                    if !(0.0..1.0).contains(&settings.ema_decay) {
                        return Err(format!(
                            "--ema-decay must be at least 0 and below 1, not {}",
                            settings.ema_decay
                        ));
                    }
                    if let Some(path) = &args.common.resume {
                        check_resumed_architecture(path, &args, settings)?;
                    }
                    let device = native_device(args.common.backend.parse::<BackendKind>()?)?;
                    let generator = Ddpm::new(
                        args.common.dataset.name(),
                        &device,
                        args.common.seed,
                        settings,
                    );
                    train_generator(Box::new(generator), args.common)
                }
                TrainCommand::Csdi(args) => crate::csdi::train(args),
            },
            Command::Impute(args) => crate::csdi::impute(args),
            Command::Sample(args) => sample(args),
            Command::Eval(args) => eval(args),
            Command::Sweep(args) => sweep(args),
            Command::BenchParticles { link, steps } => bench_particles(&link, steps),
            Command::Density { preset, p, out } => {
                let pairs = [
                    ("density".to_string(), preset),
                    ("p".to_string(), p.to_string()),
                ];
                let mut notices = Vec::new();
                let params: genlab::langevin::params::LangevinParams =
                    genlab::core::link::decode_params(&pairs, &mut notices);
                if !notices.is_empty() {
                    return Err(notices.join("; "));
                }
                let mixture =
                    genlab::langevin::run::preset_mixture(&params).map_err(|e| e.to_string())?;
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
        use genlab::core::link::decode_params;
        use genlab::langevin::density::MixtureFile;
        use genlab::langevin::params::LangevinParams;
        use genlab::langevin::run::{preset_mixture, LangevinRun, Placement};

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
                genlab::langevin::density::mixture_from_npz(&bytes)
                    .map_err(|e| format!("{path}: {e}"))?
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
                let gpu = genlab::core::gpu::native_wgpu()?.gpu;
                LangevinRun::placed(&params, mixture, Placement::Wgsl(gpu, device))
            }
        }
        .map_err(|e| e.to_string())?;
        let losses = run.train_score(params.score_steps as usize);
        if !losses.is_empty() {
            let losses =
                futures_lite::future::block_on(genlab::core::training::read_losses(losses))?;
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

    /// `www/models/<file>` of the checkout this binary was built from, or of the working
    /// directory when run from another checkout.
    pub(crate) fn shipped_weights(file: &str) -> std::path::PathBuf {
        let here = std::path::Path::new("www/models").join(file);
        if here.is_file() {
            return here;
        }
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("www/models")
            .join(file)
    }

    /// A registered generator for `dataset` with the weights at `weights`, or the shipped ones.
    fn load_generator(
        spec: &genlab::images::generator::GeneratorSpec,
        dataset: genlab::images::params::Dataset,
        weights: Option<&std::path::Path>,
        device: &burn::tensor::Device,
    ) -> Result<Box<dyn genlab::images::generator::Generator>, String> {
        let mut generator = (spec.build)(dataset.name(), device, 0, &Default::default());
        let path = weights.map_or_else(
            || shipped_weights(&format!("{}-{dataset}.bpk", spec.name)),
            std::path::Path::to_path_buf,
        );
        generator
            .load(&read_file(&path)?)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(generator)
    }

    /// The classifier at `weights`, or the one shipped for `dataset`.
    fn load_classifier(
        dataset: genlab::images::params::Dataset,
        weights: Option<&std::path::Path>,
        device: &burn::tensor::Device,
    ) -> Result<genlab::images::classifier::Classifier, String> {
        let path = weights.map_or_else(
            || shipped_weights(&format!("classifier-{dataset}.bpk")),
            std::path::Path::to_path_buf,
        );
        genlab::images::classifier::Classifier::from_bytes(
            &read_file(&path)?,
            dataset.name(),
            device,
        )
        .map_err(|e| format!("{}: {e}", path.display()))
    }

    pub(crate) fn read_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
        std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub(crate) fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A resumed training keeps the architecture its file records, so a flag asking for
    /// another one is refused rather than ignored.
    fn check_resumed_architecture(
        path: &std::path::Path,
        args: &DdpmTrainArgs,
        asked: genlab::images::ddpm::DdpmSettings,
    ) -> Result<(), String> {
        let recorded = asked
            .recorded_in(&read_file(path)?)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let conflicts = [
            (
                "--unet",
                args.unet.is_some() && asked.unet != recorded.unet,
                asked.unet.to_text(),
                recorded.unet.to_text(),
            ),
            (
                "--schedule",
                args.schedule.is_some() && asked.schedule != recorded.schedule,
                asked.schedule.to_string(),
                recorded.schedule.to_string(),
            ),
            (
                "--diffusion-steps",
                args.diffusion_steps.is_some() && asked.diffusion_steps != recorded.diffusion_steps,
                asked.diffusion_steps.to_string(),
                recorded.diffusion_steps.to_string(),
            ),
        ];
        match conflicts.into_iter().find(|&(_, differs, ..)| differs) {
            Some((flag, _, asked, recorded)) => Err(format!(
                "{flag} {asked}: {} was trained with {recorded}, and a resumed training keeps its file's architecture (drop {flag}, or train from scratch)",
                path.display()
            )),
            None => Ok(()),
        }
    }

    fn train_generator(
        mut generator: Box<dyn genlab::images::generator::Generator>,
        args: GeneratorTrainArgs,
    ) -> Result<(), String> {
        use genlab::core::rng::SeededRng;
        use genlab::images::generator::ImageBatch;
        use genlab::io::idx::{load_split, Split};
        use std::time::Instant;

        let model = generator.name();
        let train = load_split(args.data_dir.join(args.dataset.name()), Split::Train)
            .map_err(|e| format!("{e} (run scripts/fetch-data.sh {} first)", args.dataset))?;
        if let Some(path) = &args.resume {
            generator.load(&read_file(path)?)?;
            eprintln!(
                "resumed from {} at step {}",
                path.display(),
                generator.steps_trained()
            );
        }
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| format!("www/models/{model}-{}.bpk", args.dataset).into());
        let mut rng =
            SeededRng::new(args.seed ^ (generator.steps_trained() as u64).rotate_left(32));
        let started = Instant::now();
        let mut pending = Vec::new();
        let first = generator.steps_trained();
        while generator.steps_trained() < args.steps {
            let batch = ImageBatch::random(&train, args.batch, &mut rng, generator.train_device());
            pending.push(generator.train_step(batch));
            let step = generator.steps_trained();
            if pending.len() == 100 || step == args.steps {
                let losses = futures_lite::future::block_on(genlab::core::training::read_losses(
                    std::mem::take(&mut pending),
                ))?;
                let rate = (step - first) as f64 / started.elapsed().as_secs_f64();
                println!(
                    "{}",
                    serde_json::json!({"step": step, "loss": losses.iter().sum::<f32>() / losses.len() as f32, "loss_name": generator.loss_name(), "steps_per_s": rate, "eta_s": (args.steps - step) as f64 / rate})
                );
            }
            if step.is_multiple_of(args.checkpoint_every) || step == args.steps {
                write_file(
                    &out,
                    &futures_lite::future::block_on(generator.save().bytes())?,
                )?;
            }
        }
        eprintln!(
            "wrote {} ({} parameters, {} steps, {:.0} s)",
            out.display(),
            generator.parameter_count(),
            generator.steps_trained(),
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    fn sample(args: SampleArgs) -> Result<(), String> {
        use genlab::images::datasets::train_class_counts;
        use genlab::images::generator::{ClassChoice, SampleRequest};
        use genlab::images::registry::find_generator;
        let spec = find_generator(&args.model)?;
        if let Some(c) = args.class.filter(|c| *c > 9) {
            return Err(format!("--class {c}: classes are 0 to 9"));
        }
        if args.class.is_some() && !spec.conditional {
            return Err(format!(
                "the `{}` model cannot be asked for a class",
                spec.name
            ));
        }
        if args.n == 0 {
            return Err("--n must be at least 1".into());
        }
        if args.labels_out.is_some() && !spec.conditional {
            return Err(format!(
                "the `{}` model draws no classes: --labels-out has nothing to write",
                spec.name
            ));
        }
        let device = native_device(args.backend.parse::<BackendKind>()?)?;
        let generator = load_generator(spec, args.dataset, args.weights.as_deref(), &device)?;
        let request = SampleRequest {
            count: args.n,
            classes: match args.class {
                Some(class) => ClassChoice::Only(class),
                None => ClassChoice::Mix(train_class_counts(args.dataset.name())),
            },
            guidance: args
                .guidance
                .unwrap_or((spec.default_guidance)(args.dataset.name())),
            guidance_limit: args.guidance_limit,
            steps: args.steps,
            eta: args.eta,
            seed: args.seed,
        };
        let pixels = futures_lite::future::block_on(genlab::images::generator::sample_in_chunks(
            generator.as_ref(),
            &request,
        ))?;
        write_file(
            &args.out,
            &genlab::io::npy::write_npy_f32(&[args.n, 28, 28], &pixels),
        )?;
        if let Some(path) = &args.labels_out {
            let labels: Vec<i64> = request.classes().into_iter().map(i64::from).collect();
            write_file(path, &genlab::io::npy::write_npy_i64(&[args.n], &labels))?;
        }
        eprintln!("wrote {} samples to {}", args.n, args.out.display());
        Ok(())
    }

    fn eval(args: EvalArgs) -> Result<(), String> {
        use futures_lite::future::block_on;
        use genlab::images::evaluation::{labels_from_npy, samples_from_npy, Evaluator};
        use genlab::io::idx::{load_split, Split};

        let device = native_device(args.backend.parse::<BackendKind>()?)?;
        let classifier = load_classifier(args.dataset, args.classifier.as_deref(), &device)?;
        let dir = args.data_dir.join(args.dataset.name());
        let test = load_split(&dir, Split::Test)
            .map_err(|e| format!("{e} (run scripts/fetch-data.sh {} first)", args.dataset))?;
        if let Some(n) = args.classify_test {
            let n = n.min(test.count);
            let judged = block_on(classifier.judge_bytes(&test.images[..n * test.image_len()]))?;
            let accuracy = judged.accuracy(&test.labels[..n]);
            println!("{}", serde_json::json!({"accuracy": accuracy, "n": n}));
            return Ok(());
        }
        let evaluator = block_on(Evaluator::new(classifier, &test.images))?;
        if let Some(n) = args.reference_points {
            let train = load_split(&dir, Split::Train).map_err(|e| e.to_string())?;
            let images = genlab::images::evaluation::ReferenceImages::draw(&train, n, 0);
            let points = block_on(evaluator.reference_points(&images))?;
            println!(
                "{}",
                serde_json::to_string(&points).map_err(|e| e.to_string())?
            );
            return Ok(());
        }
        let path = args
            .samples
            .as_ref()
            .ok_or("--samples samples.npy is needed (or --reference-points N)")?;
        let samples =
            samples_from_npy(&read_file(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
        let labels = match &args.labels {
            Some(path) => Some(
                labels_from_npy(&read_file(path)?)
                    .map_err(|e| format!("{}: {e}", path.display()))?,
            ),
            None => None,
        };
        let report = block_on(evaluator.evaluate(&samples, labels.as_deref()))?;
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| e.to_string())?
        );
        Ok(())
    }

    fn sweep(args: SweepArgs) -> Result<(), String> {
        use futures_lite::future::block_on;
        use genlab::images::datasets::train_class_counts;
        use genlab::images::evaluation::{Evaluator, ReferenceImages};
        use genlab::images::generator::{sample_in_chunks, ClassChoice, SampleRequest};
        use genlab::images::registry::find_generator;
        use genlab::io::idx::{load_split, Split};
        use std::time::Instant;

        fn list<T: std::str::FromStr>(text: &str, flag: &str) -> Result<Vec<T>, String> {
            text.split(',')
                .map(|v| v.trim().parse::<T>())
                .collect::<Result<_, _>>()
                .map_err(|_| format!("--{flag} `{text}`: expected numbers separated by commas"))
        }
        let guidances: Vec<f64> = list(&args.guidance, "guidance")?;
        let steps: Vec<usize> = list(&args.steps, "steps")?;
        let spec = find_generator(&args.model)?;
        let device = native_device(args.backend.parse::<BackendKind>()?)?;
        let generator = load_generator(spec, args.dataset, args.weights.as_deref(), &device)?;
        let dir = args.data_dir.join(args.dataset.name());
        let test = load_split(&dir, Split::Test)
            .map_err(|e| format!("{e} (run scripts/fetch-data.sh {} first)", args.dataset))?;
        let train = load_split(&dir, Split::Train).map_err(|e| e.to_string())?;
        let classifier = load_classifier(args.dataset, None, &device)?;
        let evaluator = block_on(Evaluator::new(classifier, &test.images))?;
        let floor = block_on(
            evaluator.reference_points(&ReferenceImages::draw(&train, args.n, args.seed)),
        )?
        .train_vs_test;
        eprintln!("floor (train vs test, {} images): {floor:.3}", args.n);
        let at_guidance = args
            .at_guidance
            .unwrap_or((spec.default_guidance)(args.dataset.name()));
        let measure = |guidance: f64, steps: usize| -> Result<serde_json::Value, String> {
            let started = Instant::now();
            let request = SampleRequest {
                count: args.n,
                classes: ClassChoice::Mix(train_class_counts(args.dataset.name())),
                guidance,
                steps: Some(steps),
                guidance_limit: args.guidance_limit,
                eta: args.eta,
                seed: args.seed,
            };
            let pixels = block_on(sample_in_chunks(generator.as_ref(), &request))?;
            let report = block_on(evaluator.evaluate(&pixels, Some(&request.classes())))?;
            let point = serde_json::json!({"guidance": guidance, "steps": steps, "fid": report.fid, "accuracy": report.accuracy, "seconds": started.elapsed().as_secs_f64()});
            println!("{point}");
            Ok(point)
        };
        let guidance_sweep = guidances
            .iter()
            .map(|&g| measure(g, args.at_steps))
            .collect::<Result<Vec<_>, _>>()?;
        // The point where the two sweeps cross is drawn once: at 10 000 samples it costs minutes.
        let crossing = guidances
            .iter()
            .position(|&g| g == at_guidance)
            .map(|i| &guidance_sweep[i]);
        let steps_sweep = steps
            .iter()
            .map(|&s| match crossing {
                Some(point) if s == args.at_steps => Ok(point.clone()),
                _ => measure(at_guidance, s),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = args.out.clone().unwrap_or_else(|| {
            format!("www/models/{}-{}.sweep.json", spec.name, args.dataset).into()
        });
        let file = serde_json::json!({
            "model": spec.name,
            "dataset": args.dataset.name(),
            "n": args.n,
            "eta": args.eta,
            "weights_steps": generator.steps_trained(),
            "floor": floor,
            "guidance_sweep": guidance_sweep,
            "steps_sweep": steps_sweep,
            "command": std::env::args().skip(1).collect::<Vec<_>>().join(" "),
        });
        let text = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())?;
        write_file(&out, (text + "\n").as_bytes())?;
        eprintln!("wrote {}", out.display());
        Ok(())
    }

    fn train_classifier(args: ClassifierArgs) -> Result<(), String> {
        use genlab::images::classifier::{ClassifierTrainer, TrainSettings};
        use genlab::io::idx::{load_split, Split};
        use std::time::Instant;

        let dir = args.data_dir.join(args.dataset.name());
        let train = load_split(&dir, Split::Train)
            .map_err(|e| format!("{e} (run scripts/fetch-data.sh {} first)", args.dataset))?;
        let test = load_split(&dir, Split::Test).map_err(|e| e.to_string())?;
        let device = native_device(args.backend.parse::<BackendKind>()?)?;
        let settings = TrainSettings {
            epochs: args.epochs,
            batch: args.batch,
            learning_rate: args.learning_rate,
            lr_decay: args.lr_decay,
            shift: args.shift,
            flip: args.flip,
            seed: args.seed,
        };
        let mut trainer = ClassifierTrainer::new(args.dataset.name(), settings, &device);
        if let Some(path) = &args.resume {
            trainer
                .resume(&read_file(path)?)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let out = args.out.clone().unwrap_or_else(|| {
            std::path::PathBuf::from(format!("www/models/classifier-{}.bpk", args.dataset))
        });
        let started = Instant::now();
        let mut test_accuracy = 0.0;
        for epoch in 1..=args.epochs {
            let order = trainer.epoch_order(train.count);
            let mut pending = Vec::new();
            let mut loss_sum = 0.0;
            let batches = order.chunks(args.batch).count();
            for (b, indices) in order.chunks(args.batch).enumerate() {
                pending.push(trainer.step(&train, indices));
                if pending.len() == 50 || b + 1 == batches {
                    let losses = futures_lite::future::block_on(
                        genlab::core::training::read_losses(std::mem::take(&mut pending)),
                    )?;
                    loss_sum += losses.iter().map(|&l| l as f64).sum::<f64>();
                    eprintln!(
                        "epoch {epoch}/{}: batch {}/{batches}, loss {:.4}, {:.0} s",
                        args.epochs,
                        b + 1,
                        losses.iter().sum::<f32>() / losses.len() as f32,
                        started.elapsed().as_secs_f64()
                    );
                }
            }
            let classifier = trainer.classifier();
            let judgement = futures_lite::future::block_on(classifier.judge_bytes(&test.images))?;
            test_accuracy = judgement.accuracy(&test.labels);
            println!(
                "{}",
                serde_json::json!({"epoch": epoch, "train_loss": loss_sum / batches as f64, "test_accuracy": test_accuracy, "seconds": started.elapsed().as_secs_f64()})
            );
            // Every epoch is a checkpoint: a stopped run still leaves usable weights.
            let bytes = classifier.to_bytes(&[
                ("test_accuracy", format!("{test_accuracy:.4}")),
                ("epochs", epoch.to_string()),
                ("seconds", format!("{:.0}", started.elapsed().as_secs_f64())),
                (
                    "command",
                    format!(
                        "genlab train classifier --dataset {} --epochs {} --batch {} --learning-rate {} --lr-decay {} --shift {}{} --seed {}{}",
                        args.dataset, args.epochs, args.batch, args.learning_rate, args.lr_decay, args.shift,
                        if args.flip { " --flip" } else { "" }, args.seed,
                        args.resume.as_ref().map_or(String::new(), |p| format!(" --resume {}", p.display()))
                    ),
                ),
            ]);
            write_file(&out, &futures_lite::future::block_on(bytes.bytes())?)?;
        }
        eprintln!(
            "wrote {} ({} parameters, test accuracy {:.2} %, {:.0} s)",
            out.display(),
            trainer.classifier().parameter_count(),
            100.0 * test_accuracy,
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    fn bench_particles(link: &str, steps: usize) -> Result<(), String> {
        use genlab::langevin::run::{preset_mixture, time_particle_steps, LangevinRun, Placement};
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
