//! One imputation, as the page and `genlab impute` both run it: hide observed values to score,
//! condition on the rest, draw CSDI's samples window by window one reverse step at a time (so a
//! page can show progress and yield between steps), then finish into medians, quantiles, the
//! paper's scores and the baselines' scores.

use std::collections::VecDeque;
use std::ops::Range;

use burn::tensor::Tensor;

use crate::core::rng::SeededRng;
use crate::core::training::read_f32;
use crate::series::baselines::Baseline;
use crate::series::csdi::{Csdi, ImputationRun, Sampler};
use crate::series::data::TimeSeries;
use crate::series::masks::{conditioning, hide_drawn_and_marked};
use crate::series::metrics::{median, quantiles, score_samples, Scores};
use crate::series::windows::{windows, Window, WINDOW_LEN};

/// Samples per window at inference (the paper's 100).
pub const DEFAULT_NSAMPLE: usize = 100;

/// How an imputation draws, and which observed values it hides to score itself.
#[derive(Clone, Debug, PartialEq)]
pub struct ImputationSettings {
    /// Samples per window.
    pub nsample: usize,
    /// Seed of the sampler.
    pub seed: u64,
    /// Fraction of the observed values of the imputed rows hidden, drawn with `hide_seed`.
    pub hide_ratio: f64,
    pub hide_seed: u64,
    /// Cells hidden on top of the drawn ones (painted stretches, a `mask.csv`), `[rows,
    /// features]` over the imputed rows.
    pub marked: Option<Vec<bool>>,
}

/// An imputation in progress over some rows of a series.
pub struct Imputation {
    sampler: Sampler,
    rows: Range<usize>,
    features: usize,
    nsample: usize,
    /// `[rows, features]` over the imputed rows: the data (0 where missing), the conditioning
    /// and the hidden cells.
    truth: Vec<f32>,
    cond: Vec<bool>,
    hidden: Vec<bool>,
    /// Windows not started yet, each with the seed of its draws.
    waiting: VecDeque<(Window, u64)>,
    running: Option<(Window, ImputationRun)>,
    /// Windows drawn but not read back yet (a GPU may still be drawing them).
    drawn: Vec<(Window, Tensor<3>)>,
    windows: usize,
    windows_drawn: usize,
    /// `[nsample, cells]` over the imputed rows, filled as windows are read back.
    samples: Vec<f32>,
}

impl Imputation {
    /// Imputes rows `rows` of `series`, tiled by windows of [`WINDOW_LEN`] rows (the last one
    /// aligned to their end; every row is scored once); window `i` is drawn from the `i`-th
    /// number of `SeededRng::new(settings.seed)`. This is `genlab impute`.
    pub fn of_rows(
        model: &Csdi,
        series: &TimeSeries,
        rows: Range<usize>,
        settings: ImputationSettings,
    ) -> Result<Imputation, String> {
        if rows.len() < WINDOW_LEN {
            return Err(format!(
                "the rows to impute ({rows:?}) are fewer than a window ({WINDOW_LEN})"
            ));
        }
        let mut seeds = SeededRng::new(settings.seed);
        let tiles = windows(rows.clone(), WINDOW_LEN, WINDOW_LEN)
            .into_iter()
            .map(|w| (w, seeds.next_u64()))
            .collect();
        Imputation::new(model, series, rows, tiles, settings)
    }

    /// Imputes one window of `series`, every row of it, drawn from `settings.seed` itself. This
    /// is the page's imputation.
    pub fn of_window(
        model: &Csdi,
        series: &TimeSeries,
        window: Window,
        settings: ImputationSettings,
    ) -> Result<Imputation, String> {
        let whole = Window { skip: 0, ..window };
        let tiles = VecDeque::from([(whole, settings.seed)]);
        Imputation::new(model, series, whole.rows(), tiles, settings)
    }

    fn new(
        model: &Csdi,
        series: &TimeSeries,
        rows: Range<usize>,
        waiting: VecDeque<(Window, u64)>,
        settings: ImputationSettings,
    ) -> Result<Imputation, String> {
        model.check_series(series)?;
        if rows.end > series.len() {
            return Err(format!(
                "rows {rows:?} reach past the series' {} rows",
                series.len()
            ));
        }
        let k = series.features();
        let cells = rows.start * k..rows.end * k;
        let observed = &series.observed[cells.clone()];
        if let Some(marked) = &settings.marked {
            if marked.len() != observed.len() {
                return Err(format!(
                    "{} marked cells for {} cells of the imputed rows",
                    marked.len(),
                    observed.len()
                ));
            }
        }
        let hidden = hide_drawn_and_marked(
            observed,
            settings.hide_ratio,
            settings.hide_seed,
            settings.marked.as_deref(),
        );
        let cond = conditioning(observed, &hidden);
        let mut imputation = Imputation {
            sampler: model.sampler(),
            features: k,
            nsample: settings.nsample,
            truth: series.values[cells.clone()].to_vec(),
            cond,
            hidden,
            windows: waiting.len(),
            waiting,
            running: None,
            drawn: Vec::new(),
            windows_drawn: 0,
            samples: vec![0.0; settings.nsample * cells.len()],
            rows,
        };
        // Every window has the first one's shape: starting it checks them all.
        imputation.start_next()?;
        Ok(imputation)
    }

    fn start_next(&mut self) -> Result<(), String> {
        let Some((window, seed)) = self.waiting.pop_front() else {
            return Ok(());
        };
        let (k, first) = (self.features, window.start - self.rows.start);
        let cells = first * k..(first + window.len) * k;
        let run = self.sampler.start(
            &self.truth[cells.clone()],
            &self.cond[cells],
            self.nsample,
            seed,
        )?;
        self.running = Some((window, run));
        Ok(())
    }

    /// Windows of the imputation.
    pub fn windows(&self) -> usize {
        self.windows
    }

    /// Reverse steps of the whole imputation: every window's.
    pub fn total(&self) -> usize {
        self.windows * self.sampler.steps()
    }

    /// Reverse steps still to run.
    pub fn remaining(&self) -> usize {
        let running = self.running.as_ref().map_or(0, |(_, run)| run.remaining());
        running + self.waiting.len() * self.sampler.steps()
    }

    /// Samples drawn per window.
    pub fn nsample(&self) -> usize {
        self.nsample
    }

    /// Observed values hidden to be scored.
    pub fn hidden_count(&self) -> usize {
        self.hidden.iter().filter(|&&h| h).count()
    }

    /// Queues one reverse step (nothing once all have run). When the step ends a window, that
    /// window's draws wait to be read back, the next window starts, and the ended window's
    /// number (0-based) is returned.
    pub fn step(&mut self) -> Result<Option<usize>, String> {
        let Some((_, run)) = self.running.as_mut() else {
            return Ok(None);
        };
        run.step();
        if run.remaining() > 0 {
            return Ok(None);
        }
        let (window, run) = self.running.take().expect("a window is running");
        self.drawn.push((window, run.result()));
        self.windows_drawn += 1;
        self.start_next()?;
        Ok(Some(self.windows_drawn - 1))
    }

    /// One value of the latest draws: reading it back waits for the queued steps (a GPU runs
    /// them asynchronously), so progress shown after it is true. `None` once every draw has
    /// been read back.
    pub fn probe(&self) -> Option<Tensor<1>> {
        match (&self.running, self.drawn.last()) {
            (Some((_, run)), _) => Some(run.probe()),
            (None, Some((_, draws))) => Some(draws.clone().slice([0..1, 0..1, 0..1]).reshape([1])),
            (None, None) => None,
        }
    }

    /// Reads back the windows drawn so far, keeping each row of a window that its tile scores
    /// (the last tile skips the rows the one before it covers).
    pub async fn read_drawn(&mut self) -> Result<(), String> {
        let (n, k) = (self.nsample, self.features);
        let count = self.truth.len();
        for (w, draws) in std::mem::take(&mut self.drawn) {
            let draws = read_f32(draws).await?;
            let per = w.len * k;
            for s in 0..n {
                for t in w.skip..w.len {
                    let to = s * count + (w.start + t - self.rows.start) * k;
                    let from = s * per + t * k;
                    self.samples[to..to + k].copy_from_slice(&draws[from..from + k]);
                }
            }
        }
        Ok(())
    }

    /// Runs whatever reverse steps remain, reads every draw back and hands over the samples.
    pub async fn finish(mut self) -> Result<Imputed, String> {
        while self.remaining() > 0 {
            self.step()?;
        }
        self.read_drawn().await?;
        Ok(Imputed {
            nsample: self.nsample,
            features: self.features,
            rows: self.rows,
            windows: self.windows,
            samples: self.samples,
            truth: self.truth,
            cond: self.cond,
            hidden: self.hidden,
        })
    }
}

/// A finished imputation over some rows: CSDI's samples with what they are scored against.
/// Cells are `[rows, features]` over the imputed rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Imputed {
    pub nsample: usize,
    pub features: usize,
    pub rows: Range<usize>,
    pub windows: usize,
    /// `[nsample, cells]` in data units; the conditioning cells hold their given values.
    pub samples: Vec<f32>,
    /// The data, 0 where missing.
    pub truth: Vec<f32>,
    /// The values given to the model.
    pub cond: Vec<bool>,
    /// The observed values hidden from the model, which the scores are computed on.
    pub hidden: Vec<bool>,
}

impl Imputed {
    /// Per-cell quantiles at each level of `taus`: `[taus.len(), cells]`.
    pub fn quantiles(&self, taus: &[f64]) -> Vec<f32> {
        quantiles(&self.samples, self.nsample, taus)
    }

    /// Per-cell median of the samples (the paper's point estimate).
    pub fn median(&self) -> Vec<f32> {
        median(&self.samples, self.nsample)
    }

    /// Per-cell mean of the samples, summed in double precision.
    pub fn mean(&self) -> Vec<f32> {
        let (n, count) = (self.nsample, self.truth.len());
        (0..count)
            .map(|c| {
                let sum = (0..n)
                    .map(|s| self.samples[s * count + c] as f64)
                    .sum::<f64>();
                (sum / n as f64) as f32
            })
            .collect()
    }

    /// Observed values hidden from the model, the ones scored.
    pub fn hidden_count(&self) -> usize {
        self.hidden.iter().filter(|&&h| h).count()
    }

    /// CSDI's scores on the hidden values (`n_eval` 0 and NaN scores when none was hidden).
    pub fn scores(&self) -> Scores {
        score_samples(&self.samples, self.nsample, &self.truth, &self.hidden)
    }

    /// Every baseline's scores on the hidden values, each imputing from the conditioning.
    pub fn baselines(&self) -> Vec<(Baseline, Scores)> {
        Baseline::score_all(&self.truth, &self.cond, &self.hidden, self.features)
    }
}
