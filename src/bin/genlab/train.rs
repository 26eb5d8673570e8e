//! `genlab train classifier|vae|ddpm`: the image lab's trainers, each a `CheckpointedRun` of the
//! one checkpointed loop (`core::training::run_checkpointed`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::Tensor;
use futures_lite::future::block_on;
use genlab::core::backend::{native_device, BackendKind};
use genlab::core::rng::SeededRng;
use genlab::core::training::{run_checkpointed, CheckpointedRun, Progress, TrainingPlan};
use genlab::images::classifier::{ClassifierTrainer, TrainSettings};
use genlab::images::ddpm::{Ddpm, DdpmSettings};
use genlab::images::diffusion::BetaSchedule;
use genlab::images::generator::{Generator, ImageBatch};
use genlab::images::params::Dataset;
use genlab::images::registry::find_generator;
use genlab::io::idx::{load_split, LabelledImages, Split};

use crate::files::{read_file, write_file};

#[derive(clap::Args)]
pub struct DdpmTrainArgs {
    #[command(flatten)]
    common: GeneratorTrainArgs,
    // The three architecture flags have no clap default, so that one given beside --resume
    // can be checked against the file instead of being silently ignored.
    /// β schedule: linear or cosine [default: linear; a --resume file keeps its own].
    #[arg(long)]
    schedule: Option<BetaSchedule>,
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
pub struct GeneratorTrainArgs {
    /// mnist or fashion.
    #[arg(long)]
    dataset: Dataset,
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    #[arg(long, default_value_t = 5000)]
    steps: usize,
    #[arg(long, default_value_t = 128)]
    batch: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
    /// Weights to continue from (a checkpoint or shipped weights).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Steps between checkpoints (written to --out).
    #[arg(long, default_value_t = 1000)]
    checkpoint_every: usize,
    /// Default: www/models/<model>-<dataset>.bpk, the weights the page ships.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct ClassifierArgs {
    /// mnist or fashion.
    #[arg(long)]
    dataset: Dataset,
    /// Where `scripts/fetch-data.sh` put the IDX files.
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
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
    #[arg(long, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
    /// Default: www/models/classifier-<dataset>.bpk, the weights the page ships.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Weights to continue from.
    #[arg(long)]
    resume: Option<PathBuf>,
}

/// A resumed training keeps the architecture its file records, so a flag asking for
/// another one is refused rather than ignored.
fn check_resumed_architecture(
    path: &Path,
    args: &DdpmTrainArgs,
    asked: DdpmSettings,
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

pub fn train_vae(args: GeneratorTrainArgs) -> Result<(), String> {
    let device = native_device(args.backend)?;
    let spec = find_generator("vae")?;
    let generator = (spec.build)(args.dataset.name(), &device, args.seed, &Default::default());
    train_generator(generator, args)
}

pub fn train_ddpm(args: DdpmTrainArgs) -> Result<(), String> {
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
    let device = native_device(args.common.backend)?;
    let generator = Ddpm::new(
        args.common.dataset.name(),
        &device,
        args.common.seed,
        settings,
    );
    train_generator(Box::new(generator), args.common)
}

/// A generator training toward `--steps`, checkpointed to `out`.
struct GeneratorRun<'a> {
    generator: Box<dyn Generator>,
    train: &'a LabelledImages,
    batch: usize,
    rng: SeededRng,
    out: PathBuf,
}

impl CheckpointedRun for GeneratorRun<'_> {
    fn queue_step(&mut self, _step: usize) -> Result<Tensor<1>, String> {
        let batch = ImageBatch::random(
            self.train,
            self.batch,
            &mut self.rng,
            self.generator.train_device(),
        );
        Ok(self.generator.train_step(batch))
    }

    fn losses_read(&mut self, progress: &Progress) -> Result<(), String> {
        println!(
            "{}",
            serde_json::json!({"step": progress.step, "loss": progress.mean_loss(), "loss_name": self.generator.loss_name(), "steps_per_s": progress.steps_per_s, "eta_s": progress.eta_s})
        );
        Ok(())
    }

    fn checkpoint(&mut self, _progress: &Progress) -> Result<(), String> {
        write_file(&self.out, &block_on(self.generator.save().bytes())?)
    }
}

fn train_generator(
    mut generator: Box<dyn Generator>,
    args: GeneratorTrainArgs,
) -> Result<(), String> {
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
    let first = generator.steps_trained();
    let plan = TrainingPlan {
        first,
        total: args.steps.max(first),
        read_every: 100,
        checkpoint_every: args.checkpoint_every,
    };
    let mut run = GeneratorRun {
        generator,
        train: &train,
        batch: args.batch,
        rng: SeededRng::new(args.seed ^ (first as u64).rotate_left(32)),
        out,
    };
    let started = Instant::now();
    run_checkpointed(&mut run, plan)?;
    eprintln!(
        "wrote {} ({} parameters, {} steps, {:.0} s)",
        run.out.display(),
        run.generator.parameter_count(),
        run.generator.steps_trained(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The classifier training: `epochs` passes over a shuffled training split, judged on the test
/// split and written at the end of every epoch.
struct ClassifierRun<'a> {
    trainer: ClassifierTrainer,
    train: &'a LabelledImages,
    test: &'a LabelledImages,
    args: &'a ClassifierArgs,
    batches: usize,
    order: Vec<usize>,
    out: PathBuf,
    test_accuracy: f64,
}

impl CheckpointedRun for ClassifierRun<'_> {
    fn queue_step(&mut self, step: usize) -> Result<Tensor<1>, String> {
        let b = step % self.batches;
        if b == 0 {
            self.order = self.trainer.epoch_order(self.train.count);
        }
        let batch = self.args.batch;
        let indices = &self.order[b * batch..((b + 1) * batch).min(self.order.len())];
        Ok(self.trainer.step(self.train, indices))
    }

    fn losses_read(&mut self, progress: &Progress) -> Result<(), String> {
        eprintln!(
            "epoch {}/{}: batch {}/{}, loss {:.4}, {:.0} s",
            (progress.step - 1) / self.batches + 1,
            self.args.epochs,
            (progress.step - 1) % self.batches + 1,
            self.batches,
            progress.mean_loss(),
            progress.seconds
        );
        Ok(())
    }

    fn checkpoint(&mut self, progress: &Progress) -> Result<(), String> {
        let args = self.args;
        let epoch = progress.step / self.batches;
        let classifier = self.trainer.classifier();
        let judgement = block_on(classifier.judge_bytes(&self.test.images))?;
        self.test_accuracy = judgement.accuracy(&self.test.labels);
        println!(
            "{}",
            serde_json::json!({"epoch": epoch, "train_loss": progress.mean_since_checkpoint, "test_accuracy": self.test_accuracy, "seconds": progress.seconds})
        );
        // Every epoch is a checkpoint: a stopped run still leaves usable weights.
        let bytes = classifier.to_bytes(&[
            ("test_accuracy", format!("{:.4}", self.test_accuracy)),
            ("epochs", epoch.to_string()),
            ("seconds", format!("{:.0}", progress.seconds)),
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
        write_file(&self.out, &block_on(bytes.bytes())?)
    }
}

pub fn train_classifier(args: ClassifierArgs) -> Result<(), String> {
    let dir = args.data_dir.join(args.dataset.name());
    let train = load_split(&dir, Split::Train)
        .map_err(|e| format!("{e} (run scripts/fetch-data.sh {} first)", args.dataset))?;
    let test = load_split(&dir, Split::Test).map_err(|e| e.to_string())?;
    let device = native_device(args.backend)?;
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
    if args.batch == 0 {
        return Err("--batch must be at least 1".into());
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("www/models/classifier-{}.bpk", args.dataset)));
    let batches = train.count.div_ceil(args.batch);
    let mut run = ClassifierRun {
        trainer,
        train: &train,
        test: &test,
        args: &args,
        batches,
        order: Vec::new(),
        out,
        test_accuracy: 0.0,
    };
    let plan = TrainingPlan {
        first: 0,
        total: args.epochs * batches,
        read_every: 50,
        checkpoint_every: batches,
    };
    let started = Instant::now();
    run_checkpointed(&mut run, plan)?;
    eprintln!(
        "wrote {} ({} parameters, test accuracy {:.2} %, {:.0} s)",
        run.out.display(),
        run.trainer.classifier().parameter_count(),
        100.0 * run.test_accuracy,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
