//! `genlab train csdi` and `genlab impute`: CSDI on any CSV of the upload format.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::files::{read_file, shipped_weights, write_file};
use burn::tensor::Tensor;
use futures_lite::future::block_on;
use genlab::core::backend::{native_device, BackendKind};
use genlab::core::rng::SeededRng;
use genlab::core::training::{read_f32, run_checkpointed, CheckpointedRun, Progress, TrainingPlan};
use genlab::io::csv::write_rows;
use genlab::series::csdi::{
    learning_rate_at, Csdi, CsdiData, CsdiPreset, WindowBatch, BATCH, EPOCHS, LEARNING_RATE, SPLIT,
};
use genlab::series::data::TimeSeries;
use genlab::series::imputation::{Imputation, ImputationSettings, DEFAULT_NSAMPLE};
use genlab::series::masks::{MaskStrategy, DEFAULT_EVAL_RATIO};
use genlab::series::metrics::crps_levels;
use genlab::series::params::CsdiNetwork;
use genlab::series::windows::WINDOW_LEN;

#[derive(clap::Args)]
pub struct TrainArgs {
    /// A CSV of the upload format (rows: time steps, columns: features; empty cells missing).
    #[arg(long)]
    data: PathBuf,
    /// Target choice: random, historical, mix or test-pattern.
    #[arg(long, default_value_t = MaskStrategy::default())]
    strategy: MaskStrategy,
    /// Total epochs (a resumed run counts the epochs it already had).
    #[arg(long, default_value_t = EPOCHS)]
    epochs: usize,
    /// Windows per batch.
    #[arg(long, default_value_t = BATCH)]
    batch: usize,
    /// At most this many batches per epoch (the official `itr_per_epoch`).
    #[arg(long)]
    batches_per_epoch: Option<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Weights to continue from (a checkpoint, or pretrained weights to fine-tune on this CSV:
    /// it must have the same number of columns; its normalisation is refitted on this CSV).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Default: www/models/csdi-<CSV name>.bpk. Written after every epoch.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Network: paper (4 layers × 64 channels), small (2 × 32) or tiny (tests). Default:
    /// paper, or the resumed file's.
    #[arg(long)]
    config: Option<CsdiPreset>,
    /// Adam's learning rate before the official drops (×0.1 at 75 % and 90 % of the epochs).
    #[arg(long, default_value_t = LEARNING_RATE)]
    learning_rate: f64,
    /// test-pattern: the fraction of each window's observed values hidden (without --mask).
    #[arg(long, default_value_t = DEFAULT_EVAL_RATIO)]
    hide_ratio: f64,
    /// test-pattern: the test-time pattern as a mask.csv (1 = hidden).
    #[arg(long)]
    mask: Option<PathBuf>,
    /// cpu or webgpu (this machine's wgpu adapter).
    #[arg(long, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Rows {
    /// Every row of the CSV.
    All,
    /// The last 20 % of the rows (the split training leaves out).
    Test,
}

#[derive(clap::Args)]
pub struct ImputeArgs {
    /// CSDI weights; default: the shipped weights of --network.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Without --weights: the shipped small network (www/models/csdi-air-pm10.bpk, the page's
    /// default) or the paper-size one (csdi-air-pm10-paper.bpk).
    #[arg(long, default_value_t = CsdiNetwork::default(), conflicts_with = "weights")]
    network: CsdiNetwork,
    /// A CSV with the columns the weights were trained on.
    #[arg(long)]
    data: PathBuf,
    /// Fraction of the observed values (of the rows imputed) hidden for evaluation, drawn with
    /// --hide-seed. Default 0.1 unless --mask is given.
    #[arg(long, conflicts_with = "mask")]
    hide_ratio: Option<f64>,
    /// The values to hide: the data's shape without the time column, 1 = hidden.
    #[arg(long)]
    mask: Option<PathBuf>,
    /// Which rows to impute and score: all, or test (the last 20 %, which `genlab train csdi`
    /// holds out). Windows of 36 rows tile them, the last one aligned to their end; each
    /// window is imputed from its own values.
    #[arg(long, value_enum, default_value = "all")]
    split: Rows,
    /// Samples per window.
    #[arg(long, default_value_t = DEFAULT_NSAMPLE)]
    nsample: usize,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Seed of the draw of hidden values (--hide-ratio).
    #[arg(long, default_value_t = 0)]
    hide_seed: u64,
    /// One row per imputed cell: time_index,feature,mean,median,q05,q10,…,q95.
    #[arg(long, default_value = "imputed.csv")]
    out: PathBuf,
    /// cpu or webgpu (this machine's wgpu adapter).
    #[arg(long, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
}

fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn read_series(path: &Path) -> Result<TimeSeries, String> {
    TimeSeries::from_csv(&read_text(path)?).map_err(|e| format!("{}: {e}", path.display()))
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map_or_else(|| "data".to_string(), |s| s.to_string_lossy().into_owned())
}

pub fn train(args: TrainArgs) -> Result<(), String> {
    let series = read_series(&args.data)?;
    let mut data = CsdiData::new(&series).map_err(|e| format!("{}: {e}", args.data.display()))?;
    match (&args.mask, args.strategy) {
        (Some(path), MaskStrategy::TestPattern) => {
            let hidden = series
                .read_mask_csv(&read_text(path)?)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            data.set_test_pattern(Some(hidden), args.hide_ratio);
        }
        (Some(_), _) => return Err("--mask is the pattern of --strategy test-pattern".into()),
        (None, _) => data.set_test_pattern(None, args.hide_ratio),
    }
    if args.batch == 0 {
        return Err("--batch must be at least 1".into());
    }
    if args.batches_per_epoch == Some(0) {
        return Err("--batches-per-epoch must be at least 1".into());
    }
    let dataset = stem(&args.data);
    let device = native_device(args.backend)?;
    let mut model = match &args.resume {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut model = Csdi::from_bytes(&bytes, &device)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if let Some(preset) = args.config.filter(|p| p.config() != *model.config()) {
                return Err(format!(
                    "{} holds another network than --config {preset}",
                    path.display()
                ));
            }
            model
                .set_data(&data, &dataset)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!(
                "resumed from {} after {} epoch(s), {} steps",
                path.display(),
                model.epochs_trained(),
                model.steps_trained()
            );
            model
        }
        None => Csdi::for_data(
            args.config.unwrap_or_default().config(),
            &data,
            &dataset,
            &device,
            args.seed,
        )?,
    };
    let done = model.epochs_trained();
    model.reseed(args.seed ^ (done as u64).rotate_left(32));
    let rng = SeededRng::new(args.seed ^ 0x0074_7261_696e ^ (done as u64).rotate_left(32));
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| format!("www/models/csdi-{dataset}.bpk").into());
    let batches = data
        .train_windows
        .len()
        .div_ceil(args.batch)
        .min(args.batches_per_epoch.unwrap_or(usize::MAX));
    let valid = data.valid_batch();
    eprintln!(
        "csdi {}: {} parameters; {} features; rows: train {:?}, validation {:?}, test {:?}; {} training windows, {} batches of {} per epoch; strategy {}; {} validation windows",
        CsdiPreset::of(model.config()).map_or("custom".to_string(), |p| p.to_string()),
        model.parameter_count(),
        data.features(),
        data.split.train,
        data.split.valid,
        data.split.test,
        data.train_windows.len(),
        batches,
        args.batch,
        args.strategy,
        data.valid_windows.len()
    );
    if done >= args.epochs {
        eprintln!(
            "already trained {done} epoch(s), --epochs is {}: nothing to do",
            args.epochs
        );
        return Ok(());
    }
    let started = Instant::now();
    let mut run = CsdiTraining {
        model: &mut model,
        data: &data,
        args: &args,
        rng,
        batches,
        valid,
        out: &out,
        started,
        epoch_started: started,
        learning_rate: args.learning_rate,
        order: Vec::new(),
    };
    run_checkpointed(
        &mut run,
        TrainingPlan {
            first: done * batches,
            total: args.epochs * batches,
            read_every: 10,
            checkpoint_every: batches,
        },
    )?;
    eprintln!(
        "wrote {} ({} parameters, {} epochs, {} steps, {:.0} s)",
        out.display(),
        model.parameter_count(),
        model.epochs_trained(),
        model.steps_trained(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `genlab train csdi` as a checkpointed run: an epoch is `batches` steps over a fresh shuffle
/// of the training windows, at the learning rate of the official schedule, and ends with a
/// checkpoint (validation loss, one JSON line, the weights file).
struct CsdiTraining<'a> {
    model: &'a mut Csdi,
    data: &'a CsdiData,
    args: &'a TrainArgs,
    /// Draws the epochs' orders and the batches' masks, in step order.
    rng: SeededRng,
    batches: usize,
    valid: Option<WindowBatch>,
    out: &'a Path,
    started: Instant,
    epoch_started: Instant,
    learning_rate: f64,
    order: Vec<usize>,
}

impl CsdiTraining<'_> {
    /// The 0-based epoch of a 0-based step, and the step's batch within it.
    fn place(&self, step: usize) -> (usize, usize) {
        (step / self.batches, step % self.batches)
    }
}

impl CheckpointedRun for CsdiTraining<'_> {
    fn queue_step(&mut self, step: usize) -> Result<Tensor<1>, String> {
        let (epoch, batch) = self.place(step);
        if batch == 0 {
            self.learning_rate = learning_rate_at(self.args.learning_rate, epoch, self.args.epochs);
            self.model.set_learning_rate(self.learning_rate);
            self.order = self.data.epoch_order(&mut self.rng);
            self.epoch_started = Instant::now();
        }
        let size = self.args.batch;
        let indices = &self.order[batch * size..((batch + 1) * size).min(self.order.len())];
        let windows = self
            .data
            .train_batch(indices, self.args.strategy, &mut self.rng);
        Ok(self.model.train_step(&windows))
    }

    fn losses_read(&mut self, progress: &Progress) -> Result<(), String> {
        let (epoch, batch) = self.place(progress.step - 1);
        eprintln!(
            "epoch {}/{}: batch {}/{}, loss {:.4}, {:.2} s/step",
            epoch + 1,
            self.args.epochs,
            batch + 1,
            self.batches,
            progress.mean_loss(),
            self.epoch_started.elapsed().as_secs_f64() / (batch + 1) as f64
        );
        Ok(())
    }

    fn checkpoint(&mut self, progress: &Progress) -> Result<(), String> {
        let train_seconds = self.epoch_started.elapsed().as_secs_f64();
        let epochs = progress.step / self.batches;
        let valid_loss = match &self.valid {
            Some(batch) => Some(block_on(read_f32(self.model.validation_loss(batch, 0)))?[0]),
            None => None,
        };
        self.model.set_epochs_trained(epochs);
        println!(
            "{}",
            serde_json::json!({
                "epoch": epochs,
                "loss": progress.mean_since_checkpoint,
                "valid_loss": valid_loss,
                "learning_rate": self.learning_rate,
                "steps": self.model.steps_trained(),
                "train_seconds": train_seconds,
                "seconds": self.started.elapsed().as_secs_f64(),
            })
        );
        let args = self.args;
        let mut extra = vec![
            ("strategy", args.strategy.to_string()),
            ("seconds", format!("{:.0}", self.started.elapsed().as_secs_f64())),
            (
                "command",
                format!(
                    "genlab train csdi --data {} --strategy {} --epochs {} --batch {} --seed {} --learning-rate {}{}",
                    args.data.display(),
                    args.strategy,
                    args.epochs,
                    args.batch,
                    args.seed,
                    args.learning_rate,
                    args.resume
                        .as_ref()
                        .map_or(String::new(), |p| format!(" --resume {}", p.display()))
                ),
            ),
        ];
        if let Some(v) = valid_loss {
            extra.push(("valid_loss", format!("{v:.5}")));
        }
        write_file(self.out, &block_on(self.model.save(&extra).bytes())?)
    }
}

pub fn impute(args: ImputeArgs) -> Result<(), String> {
    let weights = args
        .weights
        .clone()
        .unwrap_or_else(|| shipped_weights(args.network.weights_file()));
    if args.nsample == 0 {
        return Err("--nsample must be at least 1".into());
    }
    let series = read_series(&args.data)?;
    let device = native_device(args.backend)?;
    let bytes = read_file(&weights)?;
    let model =
        Csdi::from_bytes(&bytes, &device).map_err(|e| format!("{}: {e}", weights.display()))?;
    model
        .check_series(&series)
        .map_err(|e| format!("{}: {e}", args.data.display()))?;
    let k = series.features();
    let range = match args.split {
        Rows::All => 0..series.len(),
        Rows::Test => {
            let (train, valid, test) = SPLIT;
            series.split_by_time(train, valid, test)?.test
        }
    };
    let cells = range.start * k..range.end * k;
    let (hide_ratio, marked) = match &args.mask {
        Some(path) => {
            let mask = series
                .read_mask_csv(&read_text(path)?)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            (0.0, Some(mask[cells].to_vec()))
        }
        None => (args.hide_ratio.unwrap_or(DEFAULT_EVAL_RATIO), None),
    };
    let settings = ImputationSettings {
        nsample: args.nsample,
        seed: args.seed,
        hide_ratio,
        hide_seed: args.hide_seed,
        marked,
    };
    let started = Instant::now();
    let mut imputation = Imputation::of_rows(&model, &series, range.clone(), settings)?;
    let n = imputation.nsample();
    eprintln!(
        "csdi: {} windows of {WINDOW_LEN} rows over rows {:?}, {n} samples each, {} hidden values",
        imputation.windows(),
        range,
        imputation.hidden_count()
    );
    while imputation.remaining() > 0 {
        if let Some(window) = imputation.step()? {
            block_on(imputation.read_drawn())?;
            eprintln!(
                "window {}/{}: {:.1} s/window",
                window + 1,
                imputation.windows(),
                started.elapsed().as_secs_f64() / (window + 1) as f64
            );
        }
    }
    let imputed = block_on(imputation.finish())?;
    let levels = crps_levels();
    let bands = imputed.quantiles(&levels);
    let medians = imputed.median();
    let means = imputed.mean();
    let count = imputed.truth.len();
    let mut header = vec![
        "time_index".to_string(),
        "feature".into(),
        "mean".into(),
        "median".into(),
    ];
    header.extend(
        levels
            .iter()
            .map(|level| format!("q{:02}", (level * 100.0).round() as usize)),
    );
    let rows = (0..count).filter(|&c| !imputed.cond[c]).map(|c| {
        let mut row = vec![
            (range.start + c / k).to_string(),
            series.names[c % k].clone(),
            means[c].to_string(),
            medians[c].to_string(),
        ];
        row.extend((0..levels.len()).map(|j| bands[j * count + c].to_string()));
        row
    });
    let table: Vec<Vec<String>> = std::iter::once(header).chain(rows).collect();
    let imputed_cells = table.len() - 1;
    write_file(&args.out, write_rows(table).as_bytes())?;
    eprintln!(
        "wrote {} ({imputed_cells} imputed cells, {:.0} s)",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    let scores = imputed.scores();
    if scores.n_eval == 0 {
        eprintln!("no observed value was hidden: nothing to score");
        return Ok(());
    }
    let baselines: serde_json::Map<String, serde_json::Value> = imputed
        .baselines()
        .into_iter()
        .map(|(b, s)| {
            let scores = serde_json::json!({"crps": s.crps, "mae": s.mae, "rmse": s.rmse});
            (b.to_string(), scores)
        })
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "crps": scores.crps,
            "mae": scores.mae,
            "rmse": scores.rmse,
            "n_eval": scores.n_eval,
            "nsample": n,
            "windows": imputed.windows,
            "seconds": started.elapsed().as_secs_f64(),
            "baselines": baselines,
        })
    );
    Ok(())
}
