//! `genlab train csdi` and `genlab impute`: CSDI on any CSV of the upload format.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cli::{read_file, shipped_weights, write_file};
use futures_lite::future::block_on;
use genlab::core::backend::{native_device, BackendKind};
use genlab::core::rng::SeededRng;
use genlab::core::training::{read_f32, read_losses};
use genlab::series::csdi::{
    learning_rate_at, Csdi, CsdiData, CsdiPreset, BATCH, EPOCHS, LEARNING_RATE, SPLIT,
};
use genlab::series::data::{
    conditioning, crps_levels, hide_for_evaluation, median, quantiles, score_samples, windows,
    Baseline, MaskStrategy, TimeSeries, DEFAULT_EVAL_RATIO, DEFAULT_NSAMPLE, WINDOW_LEN,
};
use genlab::series::params::CsdiNetwork;

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
    #[arg(long, default_value = "cpu")]
    backend: String,
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
    #[arg(long, default_value = "cpu")]
    backend: String,
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
    let dataset = stem(&args.data);
    let device = native_device(args.backend.parse::<BackendKind>()?)?;
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
    let mut rng = SeededRng::new(args.seed ^ 0x0074_7261_696e ^ (done as u64).rotate_left(32));
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
        genlab::series::csdi::CsdiPreset::of(model.config()).map_or("custom".to_string(), |p| p.to_string()),
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
    for epoch in done..args.epochs {
        let lr = learning_rate_at(args.learning_rate, epoch, args.epochs);
        model.set_learning_rate(lr);
        let order = data.epoch_order(&mut rng);
        let epoch_start = Instant::now();
        let mut pending = Vec::new();
        let (mut loss_sum, mut seen) = (0.0f64, 0usize);
        for (b, indices) in order.chunks(args.batch).take(batches).enumerate() {
            let batch = data.train_batch(indices, args.strategy, &mut rng);
            pending.push(model.train_step(&batch));
            if pending.len() == 10 || b + 1 == batches {
                let losses = block_on(read_losses(std::mem::take(&mut pending)))?;
                loss_sum += losses.iter().map(|&l| l as f64).sum::<f64>();
                seen += losses.len();
                eprintln!(
                    "epoch {}/{}: batch {}/{batches}, loss {:.4}, {:.2} s/step",
                    epoch + 1,
                    args.epochs,
                    b + 1,
                    losses.iter().sum::<f32>() / losses.len() as f32,
                    epoch_start.elapsed().as_secs_f64() / (b + 1) as f64
                );
            }
        }
        let train_seconds = epoch_start.elapsed().as_secs_f64();
        let valid_loss = match &valid {
            Some(batch) => Some(block_on(read_f32(model.validation_loss(batch, 0)))?[0]),
            None => None,
        };
        model.set_epochs_trained(epoch + 1);
        println!(
            "{}",
            serde_json::json!({
                "epoch": epoch + 1,
                "loss": loss_sum / seen.max(1) as f64,
                "valid_loss": valid_loss,
                "learning_rate": lr,
                "steps": model.steps_trained(),
                "train_seconds": train_seconds,
                "seconds": started.elapsed().as_secs_f64(),
            })
        );
        let mut extra = vec![
            ("strategy", args.strategy.to_string()),
            ("seconds", format!("{:.0}", started.elapsed().as_secs_f64())),
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
        write_file(&out, &block_on(model.save(&extra).bytes())?)?;
    }
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

fn quote(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) || text.trim() != text {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
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
    let device = native_device(args.backend.parse::<BackendKind>()?)?;
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
    if range.len() < WINDOW_LEN {
        return Err(format!(
            "the rows to impute ({:?}) are fewer than a window ({WINDOW_LEN})",
            range
        ));
    }
    let cells = range.start * k..range.end * k;
    let mut hidden = vec![false; series.observed.len()];
    match &args.mask {
        Some(path) => {
            let mask = series
                .read_mask_csv(&read_text(path)?)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            hidden[cells.clone()].copy_from_slice(&mask[cells.clone()]);
        }
        None => {
            let ratio = args.hide_ratio.unwrap_or(DEFAULT_EVAL_RATIO);
            let drawn = hide_for_evaluation(&series.observed[cells.clone()], ratio, args.hide_seed);
            hidden[cells.clone()].copy_from_slice(&drawn);
        }
    }
    let cond = conditioning(&series.observed, &hidden);
    let tiles = windows(range.clone(), WINDOW_LEN, WINDOW_LEN);
    let n = args.nsample;
    let count = cells.len();
    let mut samples = vec![0f32; n * count];
    let mut master = SeededRng::new(args.seed);
    let started = Instant::now();
    eprintln!(
        "csdi: {} windows of {WINDOW_LEN} rows over rows {:?}, {n} samples each, {} hidden values",
        tiles.len(),
        range,
        hidden.iter().filter(|&&h| h).count()
    );
    for (i, w) in tiles.iter().enumerate() {
        let seed = master.next_u64();
        let window = w.cells(k);
        let drawn =
            block_on(model.impute_values(&series.values[window.clone()], &cond[window], n, seed))?;
        let per = w.len * k;
        for s in 0..n {
            for t in w.skip..w.len {
                let to = s * count + (w.start + t - range.start) * k;
                let from = s * per + t * k;
                samples[to..to + k].copy_from_slice(&drawn[from..from + k]);
            }
        }
        eprintln!(
            "window {}/{}: {:.1} s/window",
            i + 1,
            tiles.len(),
            started.elapsed().as_secs_f64() / (i + 1) as f64
        );
    }
    let levels = crps_levels();
    let bands = quantiles(&samples, n, &levels);
    let medians = median(&samples, n);
    let mut csv = String::from("time_index,feature,mean,median");
    for level in levels {
        csv.push_str(&format!(",q{:02}", (level * 100.0).round() as usize));
    }
    csv.push('\n');
    let cond_range = &cond[cells.clone()];
    let mut imputed = 0;
    for c in (0..count).filter(|&c| !cond_range[c]) {
        let mean = (0..n).map(|s| samples[s * count + c] as f64).sum::<f64>() / n as f64;
        csv.push_str(&format!(
            "{},{},{},{}",
            range.start + c / k,
            quote(&series.names[c % k]),
            mean as f32,
            medians[c]
        ));
        for j in 0..levels.len() {
            csv.push_str(&format!(",{}", bands[j * count + c]));
        }
        csv.push('\n');
        imputed += 1;
    }
    write_file(&args.out, csv.as_bytes())?;
    eprintln!(
        "wrote {} ({imputed} imputed cells, {:.0} s)",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    let truth = &series.values[cells.clone()];
    let eval = &hidden[cells];
    let scores = score_samples(&samples, n, truth, eval);
    if scores.n_eval == 0 {
        eprintln!("no observed value was hidden: nothing to score");
        return Ok(());
    }
    let baselines: serde_json::Map<String, serde_json::Value> =
        Baseline::score_all(truth, cond_range, eval, k)
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
            "windows": tiles.len(),
            "seconds": started.elapsed().as_secs_f64(),
            "baselines": baselines,
        })
    );
    Ok(())
}
