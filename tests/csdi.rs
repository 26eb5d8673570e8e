//! CSDI: the official schedule and embeddings, the paper network's size, shapes, learning on the
//! shipped air-quality CSV (skipped with a note when `scripts/fetch-air.sh` has not run, except
//! under CI), imputation by seed, the weights' round trip and refusals, and the
//! `genlab train csdi` / `genlab impute` commands on small hand-written CSVs.

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::tensor::Device;
use futures_lite::future::block_on;
use genlab::core::rng::SeededRng;
use genlab::core::training::{read_f32, read_losses};
use genlab::series::baselines::Baseline;
use genlab::series::csdi::{
    diffusion_step_embedding, learning_rate_at, time_position_embedding, Csdi, CsdiConfig,
    CsdiData, CsdiSchedule, MODEL,
};
use genlab::series::data::{Normalizer, TimeSeries};
use genlab::series::imputation::{Imputation, ImputationSettings};
use genlab::series::masks::{
    conditioning, hide_drawn_and_marked, hide_for_evaluation, MaskStrategy,
};
use genlab::series::metrics::score_samples;
use genlab::series::windows::{windows, WINDOW_LEN};

fn names(k: usize) -> Vec<String> {
    (0..k).map(|i| format!("f{i}")).collect()
}

fn unit(k: usize) -> Normalizer {
    Normalizer {
        mean: vec![0.0; k],
        std: vec![1.0; k],
    }
}

fn tiny(k: usize, seed: u64) -> Csdi {
    Csdi::new(
        CsdiConfig::TINY,
        names(k),
        unit(k),
        "test",
        &Device::flex(),
        seed,
    )
    .unwrap()
}

/// A dated CSV of `rows` days and two correlated features, a few values missing.
fn small_csv(rows: usize) -> String {
    let mut text = String::from("date,north,south\n");
    for t in 0..rows {
        let x = 20.0 + 8.0 * (t as f64 * 0.3).sin();
        let north = if t % 7 == 3 {
            String::new()
        } else {
            format!("{x:.2}")
        };
        let south = if t % 11 == 5 {
            "NA".to_string()
        } else {
            format!("{:.2}", 0.8 * x + 3.0 + (t % 3) as f64)
        };
        text.push_str(&format!("2020-01-{:03},{north},{south}\n", t + 1));
    }
    text
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("genlab-csdi-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn genlab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_genlab"))
        .args(args)
        .output()
        .expect("genlab runs")
}

/// Asserts that the command succeeded (showing its stderr if not) and returns its stdout.
fn succeeded(output: std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The one JSON line a successful command printed.
fn json_line(output: std::process::Output) -> serde_json::Value {
    serde_json::from_str(succeeded(output).trim()).unwrap()
}

#[test]
fn the_schedule_and_the_embeddings_are_the_official_ones() {
    let schedule = CsdiSchedule::quadratic(&CsdiConfig::PAPER);
    assert_eq!(schedule.steps(), 50);
    assert!((schedule.beta[0] - 1e-4).abs() < 1e-12);
    assert!((schedule.beta[49] - 0.5).abs() < 1e-12);
    // β = linspace(√1e-4, √0.5, 50)²
    let root = 0.01 + (0.5f64.sqrt() - 0.01) * 20.0 / 49.0;
    assert!((schedule.beta[20] - root * root).abs() < 1e-12);
    let product: f64 = schedule.beta[..=10].iter().map(|b| 1.0 - b).product();
    assert!((schedule.alpha_bar[10] - product).abs() < 1e-12);
    let (c1, c2, sigma) = schedule.reverse(0);
    assert!((c1 - 1.0 / (1.0 - 1e-4f64).sqrt()).abs() < 1e-12);
    assert!((c2 - 1e-4 / (1e-4f64).sqrt()).abs() < 1e-9);
    assert_eq!(sigma, 0.0);
    let (_, _, sigma) = schedule.reverse(30);
    let expected = ((1.0 - schedule.alpha_bar[29]) / (1.0 - schedule.alpha_bar[30])
        * schedule.beta[30])
        .sqrt();
    assert!((sigma - expected).abs() < 1e-12);

    // Diffusion steps: 64 frequencies 10^(4j/63), sines then cosines.
    let table = diffusion_step_embedding(&[0, 3], 128);
    assert_eq!(table.len(), 256);
    assert_eq!((table[0], table[64]), (0.0, 1.0));
    assert!((table[128] - 3f32.sin()).abs() < 1e-6);
    assert!((table[128 + 63] - (3e4f64).sin() as f32).abs() < 1e-4);
    assert!((table[128 + 64] - 3f32.cos()).abs() < 1e-6);
    // Time positions: interleaved sin/cos of p / 10000^(2i/d).
    let pe = time_position_embedding(36, 128);
    assert_eq!(pe.len(), 36 * 128);
    assert!((pe[128] - 1f32.sin()).abs() < 1e-6 && (pe[129] - 1f32.cos()).abs() < 1e-6);
    let angle = 5.0 / 10000f64.powf(2.0 / 128.0);
    assert!((pe[5 * 128 + 2] - angle.sin() as f32).abs() < 1e-6);
    assert!((pe[5 * 128 + 3] - angle.cos() as f32).abs() < 1e-6);

    // The official MultiStepLR at 75 % and 90 % of the epochs.
    assert_eq!(learning_rate_at(1e-3, 149, 200), 1e-3);
    assert!((learning_rate_at(1e-3, 150, 200) - 1e-4).abs() < 1e-12);
    assert!((learning_rate_at(1e-3, 180, 200) - 1e-5).abs() < 1e-12);
}

#[test]
fn the_paper_network_has_the_official_size_and_shapes_fit() {
    // The official model on 36 features (PM2.5) has 414 081 parameters.
    let paper = Csdi::new(
        CsdiConfig::PAPER,
        names(36),
        unit(36),
        "pm25",
        &Device::flex(),
        0,
    )
    .unwrap();
    assert_eq!(paper.parameter_count(), 414_081);
    assert!(CsdiConfig::from_json(&CsdiConfig::SMALL.to_json()) == Ok(CsdiConfig::SMALL));
    assert!(CsdiConfig {
        heads: 5,
        ..CsdiConfig::PAPER
    }
    .check()
    .is_err());

    let (k, l) = (3, WINDOW_LEN);
    let mut model = tiny(k, 1);
    let mut rng = SeededRng::new(2);
    let batch = genlab::series::csdi::WindowBatch {
        len: l,
        features: k,
        values: (0..2 * l * k).map(|_| rng.normal() as f32).collect(),
        observed: (0..2 * l * k).map(|i| i % 5 != 0).collect(),
        cond: (0..2 * l * k).map(|i| i % 3 != 0).collect(),
    };
    assert_eq!(batch.windows(), 2);
    let loss = model.train_step(&batch);
    assert_eq!(loss.dims(), [1]);
    assert_eq!(model.steps_trained(), 1);
    assert_eq!(model.validation_loss(&batch, 0).dims(), [1]);

    let values: Vec<f32> = (0..l * k).map(|i| i as f32).collect();
    let cond: Vec<bool> = (0..l * k).map(|i| i % 4 != 0).collect();
    let samples = model.impute(&values, &cond, 3, 0).unwrap();
    assert_eq!(samples.dims(), [3, l, k]);
    let samples = block_on(read_f32(samples)).unwrap();
    for s in 0..3 {
        for (i, (&v, &c)) in values.iter().zip(&cond).enumerate() {
            let x = samples[s * l * k + i];
            assert!(x.is_finite());
            if c {
                assert_eq!(x, v, "a given value is kept");
            }
        }
    }
    assert!(model.impute(&values, &cond, 0, 0).is_err());
    assert!(model.impute(&values[1..], &cond, 2, 0).is_err());
}

#[test]
fn the_loss_falls_on_the_shipped_air_quality_csv() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("www/data/air-pm10.csv");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!(
                "{}: {e}: CI runs scripts/fetch-air.sh first",
                path.display()
            )
        }
        Err(e) => {
            return eprintln!(
                "note: skipping ({}: {e}); run scripts/fetch-air.sh",
                path.display()
            )
        }
    };
    let series = TimeSeries::from_csv(&text).unwrap();
    let data = CsdiData::new(&series).unwrap();
    assert_eq!(data.features(), 35);
    let mut model =
        Csdi::for_data(CsdiConfig::TINY, &data, "air-pm10", &Device::flex(), 3).unwrap();
    model.set_learning_rate(3e-3);
    let mut rng = SeededRng::new(4);
    let order = data.epoch_order(&mut rng);
    let losses: Vec<_> = order
        .chunks(8)
        .take(30)
        .map(|indices| {
            let batch = data.train_batch(indices, MaskStrategy::Mix, &mut rng);
            assert!(batch.targets() > 0);
            model.train_step(&batch)
        })
        .collect();
    let losses = block_on(read_losses(losses)).unwrap();
    let mean = |xs: &[f32]| xs.iter().sum::<f32>() / xs.len() as f32;
    let (first, last) = (mean(&losses[..5]), mean(&losses[20..]));
    assert!(
        last < 0.8 * first,
        "ε-prediction loss did not fall: {first} → {last} ({losses:?})"
    );
}

#[test]
fn imputations_depend_on_the_seed_only() {
    let k = 2;
    let values: Vec<f32> = (0..WINDOW_LEN * k)
        .map(|i| (i as f32 * 0.1).sin())
        .collect();
    let cond: Vec<bool> = (0..WINDOW_LEN * k).map(|i| i % 3 != 1).collect();
    let draw = |model: &Csdi, seed| block_on(model.impute_values(&values, &cond, 4, seed)).unwrap();
    let a = tiny(k, 5);
    let b = tiny(k, 5);
    let first = draw(&a, 9);
    assert_eq!(first, draw(&a, 9), "same seed, same samples");
    assert_eq!(first, draw(&b, 9), "same initialisation seed, same network");
    assert_ne!(first, draw(&a, 10), "another seed, other samples");
    assert_ne!(first, draw(&tiny(k, 6), 9), "another network");
}

#[test]
fn an_imputation_run_steps_through_every_diffusion_step_and_keeps_the_given_values() {
    let k = 2;
    let values: Vec<f32> = (0..WINDOW_LEN * k).map(|i| i as f32 * 0.5).collect();
    let cond: Vec<bool> = (0..WINDOW_LEN * k).map(|i| i % 4 != 0).collect();
    let model = tiny(k, 2);
    let mut run = model.start_imputation(&values, &cond, 3, 8).unwrap();
    assert_eq!(run.total(), 50);
    for done in 1..=run.total() {
        run.step();
        assert_eq!(run.remaining(), run.total() - done);
        assert!(block_on(read_f32(run.probe())).unwrap()[0].is_finite());
    }
    run.step();
    assert_eq!(run.remaining(), 0, "stepping past the end does nothing");
    let stepped = block_on(read_f32(run.result())).unwrap();
    let whole = block_on(model.impute_values(&values, &cond, 3, 8)).unwrap();
    assert_eq!(stepped, whole, "stepping is the same imputation");
    for s in 0..3 {
        for c in (0..values.len()).filter(|&c| cond[c]) {
            assert_eq!(
                stepped[s * values.len() + c],
                values[c],
                "given cells keep their value"
            );
        }
    }
}

#[test]
fn one_imputation_path_serves_the_page_and_the_command_line() {
    let series = TimeSeries::from_csv(&small_csv(80)).unwrap();
    let k = series.features();
    let model = Csdi::new(
        CsdiConfig::TINY,
        series.names.clone(),
        Normalizer::fit(&series, 0..80),
        "small",
        &Device::flex(),
        1,
    )
    .unwrap();
    let settings = |marked: Option<Vec<bool>>| ImputationSettings {
        nsample: 3,
        seed: 7,
        hide_ratio: 0.2,
        hide_seed: 7,
        marked,
    };
    let tiles = windows(0..80, WINDOW_LEN, WINDOW_LEN);
    let last = *tiles.last().unwrap();
    assert!(last.skip > 0, "the last tile overlaps the one before");

    // The page: one window, every row of it, drawn from the seed itself; painted cells hidden
    // on top of the drawn ones.
    let mut painted = vec![false; WINDOW_LEN * k];
    painted[10 * k] = true;
    let mut page =
        Imputation::of_window(&model, &series, last, settings(Some(painted.clone()))).unwrap();
    assert_eq!(
        (page.windows(), page.total(), page.remaining()),
        (1, 50, 50)
    );
    for _ in 0..49 {
        assert_eq!(page.step().unwrap(), None);
    }
    assert_eq!(
        page.step().unwrap(),
        Some(0),
        "the last step ends the window"
    );
    assert_eq!(page.remaining(), 0);
    assert!(block_on(read_f32(page.probe().unwrap())).unwrap()[0].is_finite());
    let imputed = block_on(page.finish()).unwrap();
    let cells = last.cells(k);
    let observed = &series.observed[cells.clone()];
    let hidden = hide_drawn_and_marked(observed, 0.2, 7, Some(&painted));
    assert_eq!(imputed.hidden, hidden);
    assert_eq!(imputed.hidden[10 * k], observed[10 * k]);
    let cond = conditioning(observed, &hidden);
    let truth = &series.values[cells];
    let direct = block_on(model.impute_values(truth, &cond, 3, 7)).unwrap();
    assert_eq!(imputed.samples, direct);
    assert_eq!(imputed.scores(), score_samples(&direct, 3, truth, &hidden));
    assert_eq!(imputed.median().len(), WINDOW_LEN * k);

    // `genlab impute`: the rows tiled, window i drawn from the i-th number of the seed's
    // stream, each row taken from the one tile that scores it.
    let rows = Imputation::of_rows(&model, &series, 0..80, settings(None)).unwrap();
    assert_eq!((rows.windows(), rows.total()), (3, 150));
    let imputed = block_on(rows.finish()).unwrap();
    let hidden = hide_for_evaluation(&series.observed, 0.2, 7);
    let cond = conditioning(&series.observed, &hidden);
    assert_eq!(imputed.hidden, hidden);
    let mut seeds = SeededRng::new(7);
    let count = 80 * k;
    for w in &tiles {
        let c = w.cells(k);
        let drawn =
            block_on(model.impute_values(&series.values[c.clone()], &cond[c], 3, seeds.next_u64()))
                .unwrap();
        for s in 0..3 {
            for i in w.skip * k..w.len * k {
                assert_eq!(
                    imputed.samples[s * count + w.start * k + i],
                    drawn[s * w.len * k + i]
                );
            }
        }
    }
    assert_eq!(
        imputed.baselines(),
        Baseline::score_all(&series.values, &cond, &hidden, k)
    );
    let err = Imputation::of_rows(&model, &series, 0..30, settings(None))
        .err()
        .unwrap();
    assert!(err.contains("fewer than a window"), "{err}");
}

#[test]
fn weights_round_trip_and_refuse_what_does_not_fit() {
    let series = TimeSeries::from_csv(&small_csv(80)).unwrap();
    let data = CsdiData::new(&series).unwrap();
    let mut model = Csdi::for_data(CsdiConfig::TINY, &data, "small", &Device::flex(), 7).unwrap();
    let mut rng = SeededRng::new(1);
    let batch = data.train_batch(&[0, 1, 2], MaskStrategy::Random, &mut rng);
    block_on(read_losses(vec![model.train_step(&batch)])).unwrap();
    model.set_epochs_trained(1);
    let bytes = block_on(model.save(&[("note", "x".to_string())]).bytes()).unwrap();

    let identity = genlab::core::weights::read_identity(&bytes).unwrap();
    assert_eq!(
        (identity.model.as_str(), identity.dataset.as_str()),
        (MODEL, "small")
    );
    assert_eq!(identity.extra["note"], "x");
    let loaded = Csdi::from_bytes(&bytes, &Device::flex()).unwrap();
    assert_eq!(loaded.config(), &CsdiConfig::TINY);
    assert_eq!(loaded.names(), ["north", "south"]);
    assert_eq!(loaded.normalizer(), &data.normalizer);
    assert_eq!((loaded.steps_trained(), loaded.epochs_trained()), (1, 1));
    let window = 0..WINDOW_LEN * 2;
    let cond = &series.observed[window.clone()];
    let values = &series.values[window];
    assert_eq!(
        block_on(model.impute_values(values, cond, 2, 3)).unwrap(),
        block_on(loaded.impute_values(values, cond, 2, 3)).unwrap()
    );

    // Another number of features, another network, another model, not a weights file.
    let mut three = tiny(3, 0);
    let err = three.load(&bytes).unwrap_err();
    assert!(err.contains("2 features") && err.contains("has 3"), "{err}");
    let mut small = Csdi::new(
        CsdiConfig::SMALL,
        names(2),
        unit(2),
        "x",
        &Device::flex(),
        0,
    )
    .unwrap();
    let err = small.load(&bytes).unwrap_err();
    assert!(
        err.contains("CSDI network") && err.contains("`tiny`"),
        "{err}"
    );
    let other = genlab::core::init::seeded_linear(2, 2, &mut SeededRng::new(0), &Device::flex());
    let vae =
        block_on(genlab::core::weights::save_module(&other, "vae", "mnist", &[]).bytes()).unwrap();
    let err = Csdi::from_bytes(&vae, &Device::flex()).err().unwrap();
    assert!(err.contains("`vae`"), "{err}");
    assert!(Csdi::from_bytes(b"not weights", &Device::flex()).is_err());

    let wide = TimeSeries::from_csv(&format!(
        "a,b,c\n{}",
        (0..40).map(|t| format!("{t},1,2\n")).collect::<String>()
    ))
    .unwrap();
    let err = loaded.check_series(&wide).unwrap_err();
    assert!(err.contains("2 value column(s), this CSV has 3"), "{err}");
    assert!(loaded.check_series(&series).is_ok());
}

#[test]
fn genlab_impute_writes_every_imputed_cell_and_scores_the_hidden_ones() {
    let dir = scratch("impute");
    let csv = dir.join("small.csv");
    std::fs::write(&csv, small_csv(40)).unwrap();
    let series = TimeSeries::from_csv(&small_csv(40)).unwrap();
    let normalizer = Normalizer::fit(&series, 0..40);
    let model = Csdi::new(
        CsdiConfig::TINY,
        series.names.clone(),
        normalizer,
        "small",
        &Device::flex(),
        1,
    )
    .unwrap();
    let weights = dir.join("w.bpk");
    std::fs::write(&weights, block_on(model.save(&[]).bytes()).unwrap()).unwrap();
    let out = dir.join("imputed.csv");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "impute",
            "--weights",
            weights.to_str().unwrap(),
            "--data",
            csv.to_str().unwrap(),
            "--nsample",
            "5",
            "--seed",
            "3",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        genlab(&args)
    };
    let line = json_line(run(&["--hide-ratio", "0.2"]));
    for key in ["crps", "mae", "rmse", "n_eval", "nsample", "baselines"] {
        assert!(line.get(key).is_some(), "no {key} in {line}");
    }
    let observed = series.observed.iter().filter(|&&o| o).count();
    let hidden = (observed as f64 * 0.2).round_ties_even() as u64;
    assert_eq!(line["n_eval"], hidden);
    assert_eq!(line["nsample"], 5);
    for baseline in ["mean", "linear", "locf"] {
        for metric in ["mae", "rmse"] {
            assert!(line["baselines"][baseline][metric].as_f64().unwrap() >= 0.0);
        }
    }
    let imputed = std::fs::read_to_string(&out).unwrap();
    let mut lines = imputed.lines();
    let header = lines.next().unwrap();
    let mut expected = String::from("time_index,feature,mean,median");
    for q in (5..=95).step_by(5) {
        expected.push_str(&format!(",q{q:02}"));
    }
    assert_eq!(header, expected);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let missing = series.observed.iter().filter(|&&o| !o).count();
    assert_eq!(rows.len() as u64, missing as u64 + hidden);
    for row in &rows {
        assert_eq!(row.len(), 23);
        let t: usize = row[0].parse().unwrap();
        assert!(t < 40 && ["north", "south"].contains(&row[1]));
        let q: Vec<f32> = row[4..].iter().map(|v| v.parse().unwrap()).collect();
        assert!(
            q.windows(2).all(|p| p[0] <= p[1]),
            "quantiles ascend: {row:?}"
        );
    }
    // A missing value is imputed too: row 3 of `north` is empty.
    assert!(rows.iter().any(|r| r[0] == "3" && r[1] == "north"));

    // mask.csv: the data's shape without the time column; nothing hidden, no JSON line.
    let mask = dir.join("mask.csv");
    let mut text = String::from("north,south\n");
    text.push_str(&"0,0\n".repeat(40));
    std::fs::write(&mask, &text).unwrap();
    assert!(succeeded(run(&["--mask", mask.to_str().unwrap()])).is_empty());
    assert_eq!(
        std::fs::read_to_string(&out).unwrap().lines().count(),
        1 + missing
    );
    // One hidden value by mask.
    text = String::from("north,south\n1,0\n");
    text.push_str(&"0,0\n".repeat(39));
    std::fs::write(&mask, &text).unwrap();
    let line = json_line(run(&["--mask", mask.to_str().unwrap()]));
    assert_eq!(line["n_eval"], 1);

    // Another number of columns is refused with a clear message.
    let wide = dir.join("wide.csv");
    std::fs::write(
        &wide,
        format!(
            "a,b,c\n{}",
            (0..40).map(|t| format!("{t},1,2\n")).collect::<String>()
        ),
    )
    .unwrap();
    let output = genlab(&[
        "impute",
        "--weights",
        weights.to_str().unwrap(),
        "--data",
        wide.to_str().unwrap(),
        "--nsample",
        "2",
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("this CSV has 3"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn genlab_train_csdi_checkpoints_each_epoch_and_resumes() {
    let dir = scratch("train");
    let csv = dir.join("small.csv");
    std::fs::write(&csv, small_csv(90)).unwrap();
    let weights = dir.join("w.bpk");
    let train = |epochs: &str, extra: &[&str]| {
        let mut args = vec![
            "train",
            "csdi",
            "--data",
            csv.to_str().unwrap(),
            "--epochs",
            epochs,
            "--batch",
            "8",
            "--out",
            weights.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        genlab(&args)
    };
    let output = train("1", &["--config", "tiny", "--strategy", "random"]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(stderr.contains("batch 4/4"), "{stderr}");
    let line = json_line(output);
    assert_eq!(line["epoch"], 1);
    for key in ["loss", "valid_loss", "seconds"] {
        assert!(line.get(key).is_some(), "{line}");
    }
    let first = Csdi::from_bytes(&std::fs::read(&weights).unwrap(), &Device::flex()).unwrap();
    assert_eq!((first.epochs_trained(), first.steps_trained()), (1, 4));

    let line = json_line(train(
        "2",
        &[
            "--resume",
            weights.to_str().unwrap(),
            "--strategy",
            "test-pattern",
        ],
    ));
    assert_eq!(line["epoch"], 2);
    let resumed = Csdi::from_bytes(&std::fs::read(&weights).unwrap(), &Device::flex()).unwrap();
    assert_eq!((resumed.epochs_trained(), resumed.steps_trained()), (2, 8));

    let output = train(
        "3",
        &["--resume", weights.to_str().unwrap(), "--config", "small"],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("another network"));
    let _ = std::fs::remove_dir_all(&dir);
}
