//! Demo 3's data and evaluation foundation: CSV reading and its errors, normalisation, windows,
//! CSDI's masks, held-out values, the paper's CRPS and the baselines.
//!
//! Reference numbers marked "NumPy" were computed with NumPy 2.4 (`np.quantile`, default linear
//! method, which is also `torch.quantile`'s) and a NumPy port of CSDI's `calc_quantile_CRPS`.

use genlab::core::rng::SeededRng;
use genlab::series::baselines::*;
use genlab::series::csv_format::*;
use genlab::series::data::*;
use genlab::series::masks::*;
use genlab::series::metrics::*;
use genlab::series::windows::*;

/// A CSV of `rows` data rows: `date,a,b` with dates 2005-01-01… and `b` missing every 3rd row.
fn dated_csv(rows: usize) -> String {
    let mut s = String::from("date,a,b\n");
    for t in 0..rows {
        let b = if t % 3 == 0 {
            String::new()
        } else {
            format!("{}", t as f32 * 0.5)
        };
        s.push_str(&format!("2005-01-{:02},{},{b}\n", t % 28 + 1, t));
    }
    s
}

/// A CSV of `rows` data rows without header or time column: `t,2t`.
fn plain_csv(rows: usize) -> String {
    (0..rows).map(|t| format!("{t},{}\n", 2 * t)).collect()
}

fn err(text: &str) -> String {
    TimeSeries::from_csv(text)
        .expect_err("should be refused")
        .to_string()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

// ---- CSV ------------------------------------------------------------------------------------

#[test]
fn csv_with_header_and_date_column() {
    let ts = TimeSeries::from_csv(&dated_csv(40)).unwrap();
    assert_eq!(ts.names, ["a", "b"]);
    assert_eq!(ts.len(), 40);
    assert_eq!(ts.features(), 2);
    let times = ts.times.as_ref().unwrap();
    assert_eq!(times[0], "2005-01-01");
    assert_eq!(times[3], "2005-01-04");
    assert_eq!(ts.get(0, 0), Some(0.0));
    assert_eq!(ts.get(0, 1), None);
    assert_eq!(ts.get(1, 1), Some(0.5));
    assert_eq!(ts.values[1], 0.0, "missing values are stored as 0");
    assert_eq!(ts.observed.iter().filter(|o| !**o).count(), 14);
}

#[test]
fn csv_without_header_or_time_column() {
    let ts = TimeSeries::from_csv(&plain_csv(36)).unwrap();
    assert_eq!(ts.names, ["column 1", "column 2"]);
    assert!(ts.times.is_none());
    assert_eq!(ts.get(35, 1), Some(70.0));
}

#[test]
fn csv_time_column_is_recognised_without_header() {
    let text: String = (0..36)
        .map(|t| format!("2005-01-01T{:02}:00:00,{t}\n", t % 24))
        .collect();
    let ts = TimeSeries::from_csv(&text).unwrap();
    assert_eq!(ts.names, ["column 2"]);
    assert_eq!(ts.times.as_ref().unwrap()[1], "2005-01-01T01:00:00");
    // Any text labels make a time column, and a `time` header marks numeric times.
    let labels: String = (0..36).map(|t| format!("step{t},{t},1\n")).collect();
    assert_eq!(TimeSeries::from_csv(&labels).unwrap().features(), 2);
    let numeric = format!(
        "time,x\n{}",
        (0..36)
            .map(|t| format!("{t},{}\n", t * t))
            .collect::<String>()
    );
    let ts = TimeSeries::from_csv(&numeric).unwrap();
    assert_eq!(
        (ts.features(), ts.times.as_ref().unwrap()[2].as_str()),
        (1, "2")
    );
    // pandas' unnamed index column.
    let pandas = format!(
        ",x,y\n{}",
        plain_csv(36)
            .lines()
            .map(|l| format!("{l},1\n"))
            .collect::<String>()
    );
    let ts = TimeSeries::from_csv(&pandas).unwrap();
    assert_eq!(ts.names, ["x", "y"]);
}

#[test]
fn csv_header_without_time_column_missing_tokens_and_formats() {
    let mut text = String::from("\u{feff}\"PM10, µg/m³\";b\r\n");
    let tokens = ["", "NaN", "nan", "NA", "N/A", "null", " 1.5 ", "-2e1"];
    for t in 0..36 {
        text.push_str(&format!("{};{}\r\n", tokens[t % tokens.len()], t));
        if t == 10 {
            text.push_str("\r\n"); // blank lines are skipped
        }
    }
    let ts = TimeSeries::from_csv(&text).unwrap();
    assert_eq!(ts.names, ["PM10, µg/m³", "b"]);
    assert!(ts.times.is_none());
    let first: Vec<Option<f32>> = (0..8).map(|t| ts.get(t, 0)).collect();
    assert_eq!(
        first,
        [None, None, None, None, None, None, Some(1.5), Some(-20.0)]
    );
}

#[test]
fn csv_quoted_cells_may_span_lines_and_double_their_quotes() {
    // A header cell over two lines and one with doubled quotes, as spreadsheets write them.
    let mut text = String::from("date,\"PM10\n(µg/m³)\",\"the \"\"south\"\" site\"\n");
    for t in 0..36 {
        text.push_str(&format!("2005-01-{:02},{t},{}\n", t % 28 + 1, 2 * t));
    }
    let ts = TimeSeries::from_csv(&text).unwrap();
    assert_eq!(ts.names, ["PM10\n(µg/m³)", "the \"south\" site"]);
    assert_eq!(ts.len(), 36);
    assert_eq!(ts.get(35, 1), Some(70.0));
    assert_eq!(TimeSeries::from_csv(&ts.to_csv()).unwrap(), ts);

    // A row is named by the line it starts on: the header takes lines 1 and 2, so the fourth
    // data row is row 6.
    let bad = text.replacen("2005-01-04,3,6\n", "2005-01-04,3,six\n", 1);
    assert_eq!(
        err(&bad),
        "row 6, column 3 (the \"south\" site): \"six\" is not a number (a missing value is an \
         empty cell, NaN or NA)"
    );
    // A data cell may span lines too (a time label here); the rows after it keep their lines.
    let spanning = text.replacen("2005-01-02,", "\"2005-01-02\nnoon\",", 1);
    let ts = TimeSeries::from_csv(&spanning).unwrap();
    assert_eq!(ts.times.as_ref().unwrap()[1], "2005-01-02\nnoon");
    let bad = spanning.replacen("2005-01-03,2,4\n", "2005-01-03,2,x\n", 1);
    assert!(err(&bad).starts_with("row 6, column 3"), "{}", err(&bad));
}

#[test]
fn csv_round_trips_through_to_csv() {
    let ts = TimeSeries::from_csv(&dated_csv(40)).unwrap();
    let text = ts.to_csv();
    assert!(
        text.starts_with("date,a,b\n2005-01-01,0,\n2005-01-02,1,0.5\n"),
        "{text}"
    );
    assert_eq!(TimeSeries::from_csv(&text).unwrap(), ts);
    let plain = TimeSeries::from_csv(&plain_csv(36)).unwrap();
    assert_eq!(TimeSeries::from_csv(&plain.to_csv()).unwrap(), plain);
}

#[test]
fn csv_errors_name_the_row_and_column() {
    assert_eq!(err(""), "the file is empty");
    assert_eq!(err("\n  \n"), "the file is empty");

    // Row numbers are line numbers, the header being row 1.
    let mut text = dated_csv(40);
    text = text.replacen("2005-01-05,4,2\n", "2005-01-05,4\n", 1);
    assert_eq!(
        err(&text),
        "row 6 has 2 cells, row 1 has 3: column 3 (b) is missing"
    );
    let text = dated_csv(40).replacen("2005-01-05,4,2\n", "2005-01-05,4,2,7\n", 1);
    assert_eq!(
        err(&text),
        "row 6 has 4 cells, row 1 has 3: column 4 is extra"
    );

    let text = dated_csv(40).replacen("2005-01-03,2,1\n", "2005-01-03,abc,1\n", 1);
    assert_eq!(
        err(&text),
        "row 4, column 2 (a): \"abc\" is not a number (a missing value is an empty cell, NaN or NA)"
    );
    let text = plain_csv(36).replacen("7,14\n", "7,inf\n", 1);
    assert!(
        err(&text).starts_with("row 8, column 2: \"inf\" is not a number"),
        "{}",
        err(&text)
    );
    let text = plain_csv(36).replacen("7,14\n", "7,1e39\n", 1);
    assert!(
        err(&text).starts_with("row 8, column 2: 1e39 is out of range"),
        "{}",
        err(&text)
    );

    assert_eq!(
        err(&dated_csv(35)),
        "the file has 35 data row(s); at least 36 are needed (one window)"
    );
    assert_eq!(MIN_ROWS, 36);
    assert!(err("a,b\n").contains("0 data row(s)"));

    let no_b: String = dated_csv(40)
        .lines()
        .map(|l| format!("{},\n", l.rsplit_once(',').unwrap().0))
        .collect::<String>()
        .replacen("date,a,\n", "date,a,b\n", 1);
    assert_eq!(
        err(&no_b),
        "column 3 (b) has no observed value (every cell is missing)"
    );

    let text = dated_csv(40).replacen("2005-01-03,", ",", 1);
    assert_eq!(
        err(&text),
        "row 4, column 1 (date): the time column has no time here"
    );

    let text = plain_csv(36).replacen("3,6\n", "3,\"6\n", 1);
    assert!(
        err(&text).starts_with("row 4, column 2: a quoted cell"),
        "{}",
        err(&text)
    );
}

#[test]
fn csv_errors_are_typed_too() {
    match TimeSeries::from_csv(&plain_csv(36).replacen("5,10", "5,x", 1)) {
        Err(CsvError::NotANumber { row, column, cell }) => {
            assert_eq!(
                (row, column.number, column.name, cell.as_str()),
                (6, 2, None, "x")
            );
        }
        other => panic!("{other:?}"),
    }
}

// ---- mask.csv -------------------------------------------------------------------------------

#[test]
fn mask_csv_is_read_and_checked() {
    let ts = TimeSeries::from_csv(&dated_csv(40)).unwrap();
    let rows = |f: &dyn Fn(usize) -> String| (0..40).map(f).collect::<String>();
    // With a header and the time column: both ignored. 1 on a missing value is dropped.
    let text = format!(
        "date,a,b\n{}",
        rows(&|t| format!("d{t},{},1\n", u8::from(t == 2)))
    );
    let hidden = ts.read_mask_csv(&text).unwrap();
    assert_eq!(hidden.len(), 80);
    assert!(hidden[4] && !hidden[0]);
    assert_eq!(hidden.iter().filter(|h| **h).count(), 1 + 26);
    assert!(hidden.iter().zip(&ts.observed).all(|(h, o)| !h || *o));
    // Without header or time column.
    let bare = rows(&|t| format!("{},0\n", u8::from(t == 5)));
    assert_eq!(
        ts.read_mask_csv(&bare)
            .unwrap()
            .iter()
            .filter(|h| **h)
            .count(),
        1
    );

    let short = rows(&|t| {
        if t < 39 {
            "0,0\n".into()
        } else {
            String::new()
        }
    });
    assert_eq!(
        ts.read_mask_csv(&short).unwrap_err().to_string(),
        "mask.csv has 39 data row(s), the data has 40 time steps"
    );
    let wide = rows(&|t| {
        if t == 3 {
            "0,0,0\n".into()
        } else {
            "0,0\n".into()
        }
    });
    assert_eq!(
        ts.read_mask_csv(&wide).unwrap_err().to_string(),
        "row 4 has 3 cells, row 1 has 2: column 3 is extra"
    );
    let three = rows(&|_| "0,0,0\n".into());
    assert_eq!(
        ts.read_mask_csv(&three).unwrap_err().to_string(),
        "row 1: mask.csv has 3 value column(s), the data has 2 features"
    );
    let two = format!(
        "a,b\n{}",
        rows(&|t| if t == 6 {
            "0,2\n".into()
        } else {
            "0,0\n".into()
        })
    );
    assert_eq!(
        ts.read_mask_csv(&two).unwrap_err().to_string(),
        "row 8, column 2 (b): \"2\" is not 0 or 1 (mask.csv: 1 = hidden, 0 = kept)"
    );
}

// ---- normalisation, windows, split ----------------------------------------------------------

#[test]
fn normalizer_uses_observed_values_of_the_given_rows() {
    let ts = TimeSeries {
        names: vec!["a".into(), "b".into(), "c".into()],
        times: None,
        // a: 1, 3, (missing), 100 ; b: 2, 2, 2, 2 ; c: missing in rows 0..3
        values: vec![1.0, 2.0, 0.0, 3.0, 2.0, 0.0, 0.0, 2.0, 0.0, 100.0, 2.0, 5.0],
        observed: vec![
            true, true, false, true, true, false, false, true, false, true, true, true,
        ],
    };
    let norm = Normalizer::fit(&ts, 0..3);
    assert_eq!(norm.mean, [2.0, 2.0, 0.0]);
    assert_eq!(norm.std, [1.0, 1.0, 1.0]); // population std of 1, 3 is 1; constant b → 1; c none → 1
    let full = Normalizer::fit(&ts, 0..4);
    let m = (1.0 + 3.0 + 100.0) / 3.0;
    let sd = (((1.0f64 - m).powi(2) + (3.0 - m).powi(2) + (100.0 - m).powi(2)) / 3.0).sqrt();
    assert!(close(full.mean[0] as f64, m, 1e-4) && close(full.std[0] as f64, sd, 1e-4));
    let z = full.normalize(&ts.values, &ts.observed);
    assert_eq!(z[6], 0.0, "missing values normalise to 0");
    let back = full.denormalize(&z);
    for i in (0..12).filter(|&i| ts.observed[i]) {
        assert!(close(back[i] as f64, ts.values[i] as f64, 1e-4), "{i}");
    }
}

#[test]
fn windows_tile_a_range_and_cover_every_step_once() {
    let w = windows(0..10, 4, 4);
    let spans: Vec<(usize, usize)> = w.iter().map(|w| (w.start, w.skip)).collect();
    assert_eq!(spans, [(0, 0), (4, 0), (6, 2)]);
    assert_eq!(windows(0..8, 4, 4).len(), 2);
    assert_eq!(windows(5..45, 36, 1).len(), 5);
    assert!(windows(0..35, 36, 1).is_empty());
    assert_eq!(w[1].rows(), 4..8);
    assert_eq!(w[1].cells(3), 12..24);
    for (range, stride) in [(1461..1826, 36), (3..100, 7)] {
        let w = windows(range.clone(), 36, stride);
        assert!(w
            .iter()
            .all(|w| w.start >= range.start && w.start + w.len <= range.end));
        if stride == 36 {
            let scored: usize = w.iter().map(|w| w.len - w.skip).sum();
            assert_eq!(scored, range.len());
        }
    }
}

#[test]
fn split_by_time_is_contiguous() {
    let s = split_by_time(1826, 0.7, 0.1, 0.2).unwrap();
    assert_eq!(
        (s.train, s.valid, s.test),
        (0..1278, 1278..1461, 1461..1826)
    );
    let s = split_by_time(100, 7.0, 1.0, 2.0).unwrap();
    assert_eq!((s.train.end, s.valid.end, s.test.end), (70, 80, 100));
    assert!(split_by_time(10, -0.1, 0.5, 0.5).is_err());
    assert!(split_by_time(10, 0.0, 0.0, 0.0).is_err());
    assert!(split_by_time(10, f64::NAN, 0.5, 0.5).is_err());
}

// ---- masks ----------------------------------------------------------------------------------

fn random_observed(n: usize, seed: u64) -> Vec<bool> {
    let mut rng = SeededRng::new(seed);
    (0..n).map(|_| rng.uniform() > 0.2).collect()
}

#[test]
fn mask_strategy_names() {
    for s in MaskStrategy::ALL {
        assert_eq!(s.name().parse::<MaskStrategy>().unwrap(), *s);
    }
    assert_eq!(
        "test-pattern".parse::<MaskStrategy>().unwrap(),
        MaskStrategy::TestPattern
    );
    assert!("hist".parse::<MaskStrategy>().is_err());
    assert_eq!(MaskStrategy::default(), MaskStrategy::Mix);
    assert_eq!("locf".parse::<Baseline>().unwrap(), Baseline::Locf);
}

#[test]
fn random_mask_hides_a_uniform_fraction_of_observed_values() {
    let observed = random_observed(36 * 35, 1);
    let n_obs = observed.iter().filter(|o| **o).count();
    let mut rng = SeededRng::new(7);
    let mut fractions = Vec::new();
    for _ in 0..2000 {
        let cond = random_mask(&observed, &mut rng);
        assert!(
            cond.iter().zip(&observed).all(|(c, o)| !c || *o),
            "cond ⊆ observed"
        );
        let hidden = observed
            .iter()
            .zip(&cond)
            .filter(|(o, c)| **o && !**c)
            .count();
        fractions.push(hidden as f64 / n_obs as f64);
    }
    // The ratio is uniform in [0, 1): mean 1/2, a quarter of the draws below 1/4.
    let mean = fractions.iter().sum::<f64>() / fractions.len() as f64;
    let below = fractions.iter().filter(|f| **f < 0.25).count() as f64 / fractions.len() as f64;
    assert!(close(mean, 0.5, 0.02), "{mean}");
    assert!(close(below, 0.25, 0.03), "{below}");
    // Deterministic under a seed.
    let a = random_mask(&observed, &mut SeededRng::new(3));
    let b = random_mask(&observed, &mut SeededRng::new(3));
    assert_eq!(a, b);
}

#[test]
fn historical_mix_and_test_pattern_masks() {
    let observed = random_observed(200, 2);
    let pattern = random_observed(200, 3);
    let both: Vec<bool> = observed
        .iter()
        .zip(&pattern)
        .map(|(o, p)| *o && *p)
        .collect();
    let mut rng = SeededRng::new(0);
    for s in [MaskStrategy::Historical, MaskStrategy::TestPattern] {
        assert_eq!(conditional_mask(s, &observed, &pattern, &mut rng), both);
    }
    let cond = conditional_mask(MaskStrategy::Random, &observed, &[], &mut rng);
    assert!(cond.iter().zip(&observed).all(|(c, o)| !c || *o));
    // Mix: the historical mask about half the time.
    let historical = (0..2000)
        .filter(|_| conditional_mask(MaskStrategy::Mix, &observed, &pattern, &mut rng) == both)
        .count();
    assert!((900..1100).contains(&historical), "{historical}");
    // A batch pairs window i with the pattern of window i - 1 (the last for window 0).
    let batch = vec![observed.clone(), pattern.clone(), vec![true; 200]];
    let masks = conditional_masks(MaskStrategy::Historical, &batch, None, &mut rng);
    assert_eq!(masks[0], observed);
    assert_eq!(masks[1], both);
    assert_eq!(masks[2], pattern);
}

#[test]
fn evaluation_hides_exactly_the_rounded_ratio() {
    let observed = random_observed(1000, 4);
    let n_obs = observed.iter().filter(|o| **o).count();
    for ratio in [0.0, 0.1, 0.25, 0.5, 1.0] {
        let hidden = hide_for_evaluation(&observed, ratio, 42);
        let k = hidden.iter().filter(|h| **h).count();
        assert_eq!(
            k,
            (n_obs as f64 * ratio).round_ties_even() as usize,
            "ratio {ratio}"
        );
        assert!(
            hidden.iter().zip(&observed).all(|(h, o)| !h || *o),
            "hidden ⊆ observed"
        );
        let cond = conditioning(&observed, &hidden);
        assert_eq!(cond.iter().filter(|c| **c).count(), n_obs - k);
    }
    assert_eq!(
        hide_for_evaluation(&observed, 0.1, 42),
        hide_for_evaluation(&observed, 0.1, 42)
    );
    assert_ne!(
        hide_for_evaluation(&observed, 0.1, 42),
        hide_for_evaluation(&observed, 0.1, 43)
    );
    // Python's rounding: 25 × 0.1 = 2.5 → 2 (halves to even), 35 × 0.1 = 3.5 → 4.
    for (n, want) in [(25, 2), (35, 4)] {
        let k = hide_for_evaluation(&vec![true; n], 0.1, 0)
            .iter()
            .filter(|h| **h)
            .count();
        assert_eq!(k, want);
    }
    assert!(hide_for_evaluation(&observed, 7.0, 0)
        .iter()
        .zip(&observed)
        .all(|(h, o)| h == o));
}

// ---- metrics --------------------------------------------------------------------------------

#[test]
fn quantiles_interpolate_linearly_like_numpy() {
    let samples = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
    let taus = [0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0];
    // NumPy: np.quantile([3, 1, 4, 1, 5, 9, 2, 6], taus)
    let numpy = [1.0, 1.0, 1.0, 1.75, 3.5, 5.25, 6.9, 7.95, 9.0];
    let q = quantiles(&samples, 8, &taus);
    for (got, want) in q.iter().zip(numpy) {
        assert!(close(*got as f64, want, 1e-5), "{q:?}");
    }
    // torch.median: the lower middle value.
    assert_eq!(median(&samples, 8), [3.0]);
    assert_eq!(median(&[5.0, 1.0, 3.0], 3), [3.0]);
    // [nsample, cells]: two cells.
    assert_eq!(median(&[1.0, 10.0, 2.0, 20.0, 3.0, 30.0], 3), [2.0, 20.0]);
    let levels = crps_levels();
    assert_eq!(levels.len(), 19);
    assert!(close(levels[0], 0.05, 1e-15) && close(levels[18], 0.95, 1e-15));
}

#[test]
fn crps_of_constant_samples_is_the_normalised_absolute_error() {
    // With every sample equal to c, every quantile is c and the loss at level τ is
    // 2|c − y|(1 − τ) when y ≤ c, 2|y − c|τ otherwise. The 19 levels average to 1/2 (as do
    // 1 − τ), so CRPS = Σ|c − y| / Σ|y| over the evaluated cells.
    let truth = [1.0, -2.0, 3.5, 10.0];
    let eval = [true, true, true, false];
    let c = [0.5, 0.0, 4.0, 99.0];
    let samples: Vec<f32> = (0..7).flat_map(|_| c).collect();
    let want = (0.5 + 2.0 + 0.5) / (1.0 + 2.0 + 3.5);
    assert!(close(crps(&samples, 7, &truth, &eval), want, 1e-12));
    let point = score_point(&c, &truth, &eval);
    assert!(close(point.crps, want, 1e-12));
    assert!(close(point.mae, 1.0, 1e-12));
    assert!(close(
        point.rmse,
        ((0.25 + 4.0 + 0.25) / 3.0f64).sqrt(),
        1e-12
    ));
    assert_eq!(point.n_eval, 3);
}

#[test]
fn crps_matches_hand_and_numpy_references() {
    // Samples 0..4, truth 2: q_τ = 4τ; τ = 0.05i, i < 10: 2(2 − 0.2i)(0.05i) = 0.2i − 0.02i²,
    // sum over i = 1..9: 9 − 5.7 = 3.3; i > 10 mirrors it (3.3); τ = 0.5 gives 0. CRPS =
    // 6.6 / |2| / 19.
    let crps1 = crps(&[0.0, 1.0, 2.0, 3.0, 4.0], 5, &[2.0], &[true]);
    assert!(close(crps1, 6.6 / 2.0 / 19.0, 1e-12), "{crps1}");
    // NumPy port of calc_quantile_CRPS: 7 samples of 4 cells, the last one not evaluated.
    let samples = [
        [1.0, 10.0, -3.0, 0.5],
        [2.0, 12.0, -1.0, 0.5],
        [4.0, 11.0, -2.0, 0.7],
        [0.5, 15.0, -5.0, 0.1],
        [3.0, 9.0, 0.0, 0.2],
        [2.5, 13.0, -4.0, 0.9],
        [1.5, 10.5, -2.5, 0.3],
    ];
    let flat: Vec<f32> = samples.iter().flatten().copied().collect();
    let truth = [2.2, 14.0, -1.5, 0.4];
    let got = crps(&flat, 7, &truth, &[true, true, true, false]);
    assert!(close(got, 0.15954504906333628, 1e-6), "{got}");
    assert!(crps(&flat, 7, &truth, &[false; 4]).is_nan());
}

#[test]
fn sample_scores_use_the_median() {
    // Cell 0: samples 1, 2, 3, 4 → torch median 2; cell 1: 10 each.
    let samples = [1.0, 10.0, 4.0, 10.0, 2.0, 10.0, 3.0, 10.0];
    let s = score_samples(&samples, 4, &[3.0, 13.0], &[true, true]);
    assert!(close(s.mae, (1.0 + 3.0) / 2.0, 1e-12));
    assert!(close(s.rmse, ((1.0 + 9.0) / 2.0f64).sqrt(), 1e-12));
    assert!(mae(&[1.0], &[2.0], &[false]).is_nan());
}

// ---- baselines ------------------------------------------------------------------------------

#[test]
fn baselines_on_a_tiny_series() {
    // 6 steps × 2 features; conditioning: feature 0 at t = 1, 4; feature 1 at t = 0, 2, 3, 5.
    #[rustfmt::skip]
    let values = [
        9.0, 1.0,
        2.0, 9.0,
        9.0, 3.0,
        9.0, 4.0,
        8.0, 9.0,
        9.0, 6.0,
    ];
    #[rustfmt::skip]
    let cond = [
        false, true,
        true,  false,
        false, true,
        false, true,
        true,  false,
        false, true,
    ];
    #[rustfmt::skip]
    let mean = [
        5.0, 1.0,
        2.0, 3.5,
        5.0, 3.0,
        5.0, 4.0,
        8.0, 3.5,
        5.0, 6.0,
    ];
    assert_eq!(impute_mean(&values, &cond, 2), mean);
    #[rustfmt::skip]
    let linear = [
        2.0, 1.0,
        2.0, 2.0,
        4.0, 3.0,
        6.0, 4.0,
        8.0, 5.0,
        8.0, 6.0,
    ];
    assert_eq!(impute_linear(&values, &cond, 2), linear);
    #[rustfmt::skip]
    let locf = [
        2.0, 1.0,
        2.0, 1.0,
        2.0, 3.0,
        2.0, 4.0,
        8.0, 4.0,
        8.0, 6.0,
    ];
    assert_eq!(impute_locf(&values, &cond, 2), locf);
    assert_eq!(Baseline::Locf.impute(&values, &cond, 2), locf);
    // A feature without conditioning values takes the mean of all conditioning values.
    let none = [
        false, true, false, true, false, true, false, true, false, true, false, true,
    ];
    let all = (1.0 + 9.0 + 3.0 + 4.0 + 9.0 + 6.0) / 6.0;
    for b in Baseline::ALL {
        let out = b.impute(&values, &none, 2);
        assert!(
            out.iter().step_by(2).all(|&x| x == all as f32),
            "{b}: {out:?}"
        );
    }
}

// ---- the shipped PM10 series ----------------------------------------------------------------

#[test]
fn shipped_pm10_csv_has_the_expected_shape() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/www/data/air-pm10.csv");
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("skipped: {path} is missing (scripts/fetch-data.sh writes it)");
        return;
    };
    let ts = TimeSeries::from_csv(&text).unwrap();
    assert_eq!(ts.features(), 35);
    assert_eq!(ts.len(), 1826);
    let times = ts.times.as_ref().unwrap();
    assert_eq!(
        (times[0].as_str(), times[1825].as_str()),
        ("2005-01-01", "2009-12-31")
    );
    assert!(ts.names.iter().all(|n| n.starts_with("DE")));
    let missing = ts.missing_fraction();
    assert!((0.02..0.04).contains(&missing), "{missing}");
    let split = ts.split_by_time(0.7, 0.1, 0.2).unwrap();
    assert_eq!(
        windows(split.test.clone(), WINDOW_LEN, WINDOW_LEN).len(),
        11
    );
}
