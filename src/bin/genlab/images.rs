//! The image lab's sampling commands: sample, evaluate (FID on the shipped classifier's features
//! and class accuracy) and sweep guidance and steps; training is in `train`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::Device;
use futures_lite::future::block_on;
use genlab::core::backend::{native_device, BackendKind};
use genlab::images::classifier::Classifier;
use genlab::images::datasets::{train_class_counts, SIDE};
use genlab::images::evaluation::{labels_from_npy, samples_from_npy, Evaluator, ReferenceImages};
use genlab::images::generator::{
    sample_in_chunks, ClassChoice, ClassFilter, Generator, GeneratorSpec, SampleRequest,
};
use genlab::images::params::Dataset;
use genlab::images::registry::find_generator;
use genlab::io::idx::{load_split, Split};
use genlab::io::npy;

use crate::files::{read_file, shipped_weights, write_file};

#[derive(clap::Args)]
pub struct SampleArgs {
    /// A registered model (see `genlab info`).
    #[arg(long)]
    model: String,
    /// mnist or fashion.
    #[arg(long)]
    dataset: Dataset,
    /// Default: the shipped weights, www/models/<model>-<dataset>.bpk.
    #[arg(long)]
    weights: Option<PathBuf>,
    #[arg(long, default_value_t = 64)]
    n: usize,
    /// Draw every sample from this class (0–9); `all` (or no flag): the classes come in the
    /// training set's proportions, interleaved (on MNIST 1 most often, 5 least).
    #[arg(long, default_value_t = ClassFilter::Every)]
    class: ClassFilter,
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
    #[arg(long, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
    #[arg(long, default_value = "samples.npy")]
    out: PathBuf,
    /// Also write the class each sample was drawn for (int64 [N]).
    #[arg(long)]
    labels_out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// mnist or fashion.
    #[arg(long)]
    dataset: Dataset,
    /// float32 [N, 28, 28] in [0, 1], as `genlab sample` writes.
    #[arg(long)]
    samples: Option<PathBuf>,
    /// The class each sample was drawn for (integer [N]).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Print the reference points instead: N train images, noise and the mean image.
    #[arg(long)]
    reference_points: Option<usize>,
    /// Print the classifier's accuracy on the first N test images instead.
    #[arg(long)]
    classify_test: Option<usize>,
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// Default: the shipped classifier, www/models/classifier-<dataset>.bpk.
    #[arg(long)]
    classifier: Option<PathBuf>,
    #[arg(long, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
}

#[derive(clap::Args)]
pub struct SweepArgs {
    #[arg(long, default_value = "ddpm")]
    model: String,
    /// mnist or fashion.
    #[arg(long)]
    dataset: Dataset,
    /// Default: the shipped weights, www/models/<model>-<dataset>.bpk.
    #[arg(long)]
    weights: Option<PathBuf>,
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
    data_dir: PathBuf,
    #[arg(long, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
    /// Default: www/models/<model>-<dataset>.sweep.json, the file the page plots.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// A registered generator for `dataset` with the weights at `weights`, or the shipped ones.
fn load_generator(
    spec: &GeneratorSpec,
    dataset: Dataset,
    weights: Option<&Path>,
    device: &Device,
) -> Result<Box<dyn Generator>, String> {
    let mut generator = (spec.build)(dataset.name(), device, 0, &Default::default());
    let path = weights.map_or_else(
        || shipped_weights(&format!("{}-{dataset}.bpk", spec.name)),
        Path::to_path_buf,
    );
    generator
        .load(&read_file(&path)?)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(generator)
}

/// The classifier at `weights`, or the one shipped for `dataset`.
fn load_classifier(
    dataset: Dataset,
    weights: Option<&Path>,
    device: &Device,
) -> Result<Classifier, String> {
    let path = weights.map_or_else(
        || shipped_weights(&format!("classifier-{dataset}.bpk")),
        Path::to_path_buf,
    );
    Classifier::from_bytes(&read_file(&path)?, dataset.name(), device)
        .map_err(|e| format!("{}: {e}", path.display()))
}

pub fn sample(args: SampleArgs) -> Result<(), String> {
    let spec = find_generator(&args.model)?;
    if args.class.only().is_some() && !spec.conditional {
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
    let device = native_device(args.backend)?;
    let generator = load_generator(spec, args.dataset, args.weights.as_deref(), &device)?;
    let request = SampleRequest {
        count: args.n,
        classes: match args.class {
            ClassFilter::Only(class) => ClassChoice::Only(class),
            ClassFilter::Every => ClassChoice::Mix(train_class_counts(args.dataset.name())),
        },
        guidance: args
            .guidance
            .unwrap_or((spec.default_guidance)(args.dataset.name())),
        guidance_limit: args.guidance_limit,
        steps: args.steps,
        eta: args.eta,
        seed: args.seed,
    };
    let pixels = block_on(sample_in_chunks(generator.as_ref(), &request))?;
    write_file(
        &args.out,
        &npy::write_npy_f32(&[args.n, SIDE, SIDE], &pixels),
    )?;
    if let Some(path) = &args.labels_out {
        let labels: Vec<i64> = request.classes().into_iter().map(i64::from).collect();
        write_file(path, &npy::write_npy_i64(&[args.n], &labels))?;
    }
    eprintln!("wrote {} samples to {}", args.n, args.out.display());
    Ok(())
}

pub fn eval(args: EvalArgs) -> Result<(), String> {
    let device = native_device(args.backend)?;
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
        let images = ReferenceImages::draw(&train, n, 0);
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
            labels_from_npy(&read_file(path)?).map_err(|e| format!("{}: {e}", path.display()))?,
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

pub fn sweep(args: SweepArgs) -> Result<(), String> {
    fn list<T: std::str::FromStr>(text: &str, flag: &str) -> Result<Vec<T>, String> {
        text.split(',')
            .map(|v| v.trim().parse::<T>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("--{flag} `{text}`: expected numbers separated by commas"))
    }
    let guidances: Vec<f64> = list(&args.guidance, "guidance")?;
    let steps: Vec<usize> = list(&args.steps, "steps")?;
    let spec = find_generator(&args.model)?;
    let device = native_device(args.backend)?;
    let generator = load_generator(spec, args.dataset, args.weights.as_deref(), &device)?;
    let dir = args.data_dir.join(args.dataset.name());
    let test = load_split(&dir, Split::Test)
        .map_err(|e| format!("{e} (run scripts/fetch-data.sh {} first)", args.dataset))?;
    let train = load_split(&dir, Split::Train).map_err(|e| e.to_string())?;
    let classifier = load_classifier(args.dataset, None, &device)?;
    let evaluator = block_on(Evaluator::new(classifier, &test.images))?;
    let floor =
        block_on(evaluator.reference_points(&ReferenceImages::draw(&train, args.n, args.seed)))?
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
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| format!("www/models/{}-{}.sweep.json", spec.name, args.dataset).into());
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
