//! A CSV prepared for CSDI's training: split by time, normalised, cut into windows, and drawn
//! into batches with the target-choice masks.

use crate::core::rng::SeededRng;
use crate::series::data::{Normalizer, TimeSeries};
use crate::series::masks::{
    conditional_masks, hide_for_evaluation, MaskStrategy, DEFAULT_EVAL_RATIO,
};
use crate::series::windows::{windows, TimeSplit, Window, WINDOW_LEN};

/// The split of a CSV's rows by time: train, validation, test (the last 20 %, what
/// `genlab impute --split test` evaluates).
pub const SPLIT: (f64, f64, f64) = (0.7, 0.1, 0.2);

/// Windows of a normalised series for one training (or validation) step: `[B, L, K]` each.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowBatch {
    pub len: usize,
    pub features: usize,
    /// Normalised values, 0 where not observed.
    pub values: Vec<f32>,
    pub observed: Vec<bool>,
    /// The conditioning mask; the targets are `observed && !cond`.
    pub cond: Vec<bool>,
}

impl WindowBatch {
    pub fn windows(&self) -> usize {
        self.values.len() / (self.len * self.features).max(1)
    }

    /// Number of target cells (observed, not conditioning).
    pub fn targets(&self) -> usize {
        self.observed
            .iter()
            .zip(&self.cond)
            .filter(|(&o, &c)| o && !c)
            .count()
    }
}

/// A CSV prepared for training: split by time ([`SPLIT`]), normalised with statistics of the
/// training rows, cut into windows of [`WINDOW_LEN`] (every start in the training rows; tiled
/// in the validation rows, with [`DEFAULT_EVAL_RATIO`] of their observed
/// values hidden by a fixed seed as the validation targets).
#[derive(Clone, Debug)]
pub struct CsdiData {
    pub names: Vec<String>,
    pub split: TimeSplit,
    pub normalizer: Normalizer,
    pub train_windows: Vec<Window>,
    pub valid_windows: Vec<Window>,
    normalized: Vec<f32>,
    observed: Vec<bool>,
    /// `[len, features]`: the conditioning of the validation windows.
    valid_cond: Vec<bool>,
    /// For the test-pattern strategy: the cells hidden at test time (`mask.csv`), or none (a
    /// fresh random pattern of `hide_ratio` per window).
    test_hidden: Option<Vec<bool>>,
    hide_ratio: f64,
}

/// The seed of the validation targets' draw.
const VALID_SEED: u64 = 0x0076_616c_6964;

impl CsdiData {
    pub fn new(series: &TimeSeries) -> Result<CsdiData, String> {
        let (train, valid, test) = SPLIT;
        let split = series.split_by_time(train, valid, test)?;
        if split.train.len() < WINDOW_LEN {
            return Err(format!(
                "training needs at least {WINDOW_LEN} rows in the training part (the first {:.0} %), \
                 this CSV has {} there ({} rows in all)",
                train * 100.0,
                split.train.len(),
                series.len()
            ));
        }
        let features = series.features();
        let normalizer = Normalizer::fit(series, split.train.clone());
        let normalized = normalizer.normalize(&series.values, &series.observed);
        let valid_windows = windows(split.valid.clone(), WINDOW_LEN, WINDOW_LEN);
        let mut valid_cond = series.observed.clone();
        let cells = split.valid.start * features..split.valid.end * features;
        let hidden = hide_for_evaluation(
            &series.observed[cells.clone()],
            DEFAULT_EVAL_RATIO,
            VALID_SEED,
        );
        for (c, h) in valid_cond[cells].iter_mut().zip(hidden) {
            *c &= !h;
        }
        Ok(CsdiData {
            names: series.names.clone(),
            train_windows: windows(split.train.clone(), WINDOW_LEN, 1),
            valid_windows,
            split,
            normalizer,
            normalized,
            observed: series.observed.clone(),
            valid_cond,
            test_hidden: None,
            hide_ratio: DEFAULT_EVAL_RATIO,
        })
    }

    pub fn features(&self) -> usize {
        self.names.len()
    }

    /// The test pattern of the test-pattern strategy: the cells a `mask.csv` hides
    /// (`[len, features]`), or, with `None`, a fresh draw of `hide_ratio` of each window's
    /// observed values.
    pub fn set_test_pattern(&mut self, hidden: Option<Vec<bool>>, hide_ratio: f64) {
        self.test_hidden = hidden;
        self.hide_ratio = hide_ratio;
    }

    /// The training windows in a shuffled order (Fisher–Yates).
    pub fn epoch_order(&self, rng: &mut SeededRng) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.train_windows.len()).collect();
        for i in (1..order.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        order
    }

    fn gather(&self, windows: &[Window], cond: Vec<Vec<bool>>) -> WindowBatch {
        let features = self.features();
        let mut batch = WindowBatch {
            len: WINDOW_LEN,
            features,
            values: Vec::with_capacity(windows.len() * WINDOW_LEN * features),
            observed: Vec::with_capacity(windows.len() * WINDOW_LEN * features),
            cond: cond.concat(),
        };
        for w in windows {
            batch
                .values
                .extend_from_slice(&self.normalized[w.cells(features)]);
            batch
                .observed
                .extend_from_slice(&self.observed[w.cells(features)]);
        }
        batch
    }

    /// Training windows `indices` with conditioning masks drawn by `strategy`.
    pub fn train_batch(
        &self,
        indices: &[usize],
        strategy: MaskStrategy,
        rng: &mut SeededRng,
    ) -> WindowBatch {
        let features = self.features();
        let windows: Vec<Window> = indices.iter().map(|&i| self.train_windows[i]).collect();
        let observed: Vec<Vec<bool>> = windows
            .iter()
            .map(|w| self.observed[w.cells(features)].to_vec())
            .collect();
        let patterns: Option<Vec<Vec<bool>>> = (strategy == MaskStrategy::TestPattern).then(|| {
            windows
                .iter()
                .zip(&observed)
                .map(|(w, o)| {
                    let hidden = match &self.test_hidden {
                        Some(hidden) => hidden[w.cells(features)].to_vec(),
                        None => hide_for_evaluation(o, self.hide_ratio, rng.next_u64()),
                    };
                    hidden.iter().map(|h| !h).collect()
                })
                .collect()
        });
        let cond = conditional_masks(strategy, &observed, patterns.as_deref(), rng);
        self.gather(&windows, cond)
    }

    /// The validation windows with their fixed targets; `None` when the validation rows are
    /// fewer than a window.
    pub fn valid_batch(&self) -> Option<WindowBatch> {
        if self.valid_windows.is_empty() {
            return None;
        }
        let features = self.features();
        let cond = self
            .valid_windows
            .iter()
            .map(|w| self.valid_cond[w.cells(features)].to_vec())
            .collect();
        Some(self.gather(&self.valid_windows, cond))
    }
}
