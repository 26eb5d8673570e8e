//! The series itself: a multivariate time series with missing values, and the per-feature
//! normalisation CSDI works in.
//!
//! Layout: a series of `len` time steps and `features` features is stored row-major,
//! `[len, features]`: cell `(t, k)` is at `t * features + k`. Masks are `Vec<bool>` in the same
//! layout. Sample sets are `[nsample, cells]` row-major: sample `s` of cell `c` is at
//! `s * cells + c`.
//!
//! Masks, in CSDI's vocabulary: `observed` (the data has a value), `cond` (observed values given
//! to the model as conditioning), targets (`observed && !cond`: hidden observed values, where the
//! model is trained or scored). Everything in `series` but the network is plain Rust, and all of
//! it compiles for wasm32 as well.

use std::ops::Range;

use crate::series::windows::{split_by_time, windows, TimeSplit, Window};

/// A multivariate time series with missing values.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeSeries {
    /// One name per feature (the CSV header, or `column N` without a header).
    pub names: Vec<String>,
    /// One label per time step when the CSV had a time column (dates are kept as written).
    pub times: Option<Vec<String>>,
    /// `[len, features]` row-major; 0.0 where the value is missing (CSDI's `fillna(0)`).
    pub values: Vec<f32>,
    /// `[len, features]` row-major: whether the value was observed.
    pub observed: Vec<bool>,
}

impl TimeSeries {
    /// Number of time steps.
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.features()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of features.
    pub fn features(&self) -> usize {
        self.names.len()
    }

    /// The value at time step `t` of feature `k`, `None` when missing.
    pub fn get(&self, t: usize, k: usize) -> Option<f32> {
        let i = t * self.features() + k;
        self.observed[i].then(|| self.values[i])
    }

    /// Fraction of the cells that are missing.
    pub fn missing_fraction(&self) -> f64 {
        let missing = self.observed.iter().filter(|&&o| !o).count();
        missing as f64 / self.observed.len().max(1) as f64
    }

    /// Windows of `len` steps every `stride` steps over the whole series (see [`windows`]).
    pub fn windows(&self, len: usize, stride: usize) -> Vec<Window> {
        windows(0..self.len(), len, stride)
    }

    /// Three contiguous time ranges (see [`split_by_time`]).
    pub fn split_by_time(&self, train: f64, valid: f64, test: f64) -> Result<TimeSplit, String> {
        split_by_time(self.len(), train, valid, test)
    }
}

/// Per-feature standardisation, as CSDI's data loaders do: `(x - mean) / std` with the mean and
/// the (population) standard deviation of the observed values, missing values set to 0.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalizer {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Normalizer {
    /// Fits on the observed values of the time steps `rows` (the training range, so that no
    /// statistic leaks from validation or test). A feature without observed values there gets
    /// mean 0 and std 1; one whose values are all equal gets std 1.
    pub fn fit(series: &TimeSeries, rows: Range<usize>) -> Normalizer {
        let features = series.features();
        let observed_in = |k: usize| {
            rows.clone().filter_map(move |t| {
                let i = t * features + k;
                series.observed[i].then(|| series.values[i] as f64)
            })
        };
        let (mut mean, mut std) = (Vec::with_capacity(features), Vec::with_capacity(features));
        for k in 0..features {
            let (n, sum) = observed_in(k).fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
            if n == 0 {
                mean.push(0.0);
                std.push(1.0);
                continue;
            }
            let m = sum / n as f64;
            let var = observed_in(k).map(|x| (x - m).powi(2)).sum::<f64>() / n as f64;
            let sd = var.sqrt();
            mean.push(m as f32);
            std.push(if sd > 1e-12 { sd as f32 } else { 1.0 });
        }
        Normalizer { mean, std }
    }

    /// `[len, features]` values standardised; 0 where not observed.
    pub fn normalize(&self, values: &[f32], observed: &[bool]) -> Vec<f32> {
        let features = self.mean.len();
        values
            .iter()
            .zip(observed)
            .enumerate()
            .map(|(i, (&x, &o))| {
                let k = i % features;
                if o {
                    (x - self.mean[k]) / self.std[k]
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// The inverse of [`Normalizer::normalize`] on every cell (samples, medians):
    /// `x * std + mean`. Works on any number of rows, e.g. `[nsample * len, features]`.
    pub fn denormalize(&self, values: &[f32]) -> Vec<f32> {
        let features = self.mean.len();
        values
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let k = i % features;
                x * self.std[k] + self.mean[k]
            })
            .collect()
    }
}
