//! Simple imputations to compare CSDI with: the per-feature mean, linear interpolation in time,
//! last observation carried forward.

use crate::series::metrics::{score_point, Scores};

crate::named_choice! {
    /// Simple imputations to compare with: the per-feature mean, linear interpolation in time,
    /// last observation carried forward.
    pub enum Baseline {
        Mean = "mean",
        Linear = "linear",
        Locf = "locf",
    } default Linear
}

impl Baseline {
    /// The imputed `[len, features]` matrix; see [`impute_mean`], [`impute_linear`],
    /// [`impute_locf`].
    pub fn impute(self, values: &[f32], cond: &[bool], features: usize) -> Vec<f32> {
        match self {
            Baseline::Mean => impute_mean(values, cond, features),
            Baseline::Linear => impute_linear(values, cond, features),
            Baseline::Locf => impute_locf(values, cond, features),
        }
    }

    /// Every baseline's scores on the `eval` cells of `truth` (`[len, features]`), each imputing
    /// from the `cond` cells.
    pub fn score_all(
        truth: &[f32],
        cond: &[bool],
        eval: &[bool],
        features: usize,
    ) -> Vec<(Baseline, Scores)> {
        Baseline::ALL
            .iter()
            .map(|&b| {
                (
                    b,
                    score_point(&b.impute(truth, cond, features), truth, eval),
                )
            })
            .collect()
    }
}

/// Per-feature mean of the conditioning values; a feature without any takes the mean of all
/// conditioning values (0 when there are none at all).
fn feature_means(values: &[f32], cond: &[bool], features: usize) -> Vec<f64> {
    let mut sum = vec![0.0f64; features];
    let mut count = vec![0usize; features];
    for (i, (&x, &c)) in values.iter().zip(cond).enumerate() {
        if c {
            sum[i % features] += x as f64;
            count[i % features] += 1;
        }
    }
    let total: usize = count.iter().sum();
    let overall = if total > 0 {
        sum.iter().sum::<f64>() / total as f64
    } else {
        0.0
    };
    (0..features)
        .map(|k| {
            if count[k] > 0 {
                sum[k] / count[k] as f64
            } else {
                overall
            }
        })
        .collect()
}

fn check_shape(values: &[f32], cond: &[bool], features: usize) -> usize {
    assert!(features > 0, "no feature");
    assert_eq!(values.len(), cond.len(), "values and mask differ in length");
    assert_eq!(values.len() % features, 0, "values are not [len, features]");
    values.len() / features
}

/// Every non-conditioning cell gets its feature's mean over the conditioning cells
/// (`[len, features]`; conditioning cells keep their values).
pub fn impute_mean(values: &[f32], cond: &[bool], features: usize) -> Vec<f32> {
    check_shape(values, cond, features);
    let means = feature_means(values, cond, features);
    values
        .iter()
        .zip(cond)
        .enumerate()
        .map(|(i, (&x, &c))| if c { x } else { means[i % features] as f32 })
        .collect()
}

/// Linear interpolation in time (by step index) between the nearest conditioning values of the
/// same feature before and after; before the first and after the last, that value (constant
/// extrapolation). A feature without conditioning values takes the [`impute_mean`] fallback.
pub fn impute_linear(values: &[f32], cond: &[bool], features: usize) -> Vec<f32> {
    let len = check_shape(values, cond, features);
    let means = feature_means(values, cond, features);
    let mut out = values.to_vec();
    for (k, &mean) in means.iter().enumerate() {
        let at = |t: usize| t * features + k;
        let known: Vec<usize> = (0..len).filter(|&t| cond[at(t)]).collect();
        let (Some(&first), Some(&last)) = (known.first(), known.last()) else {
            (0..len).for_each(|t| out[at(t)] = mean as f32);
            continue;
        };
        (0..first).for_each(|t| out[at(t)] = values[at(first)]);
        (last + 1..len).for_each(|t| out[at(t)] = values[at(last)]);
        for pair in known.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let (ya, yb) = (values[at(a)] as f64, values[at(b)] as f64);
            for t in a + 1..b {
                let w = (t - a) as f64 / (b - a) as f64;
                out[at(t)] = (ya + (yb - ya) * w) as f32;
            }
        }
    }
    out
}

/// Last observation carried forward: each non-conditioning cell takes the latest earlier
/// conditioning value of its feature, or, when none came before, the next one (next
/// observation carried backward). A feature without conditioning values takes the
/// [`impute_mean`] fallback.
pub fn impute_locf(values: &[f32], cond: &[bool], features: usize) -> Vec<f32> {
    let len = check_shape(values, cond, features);
    let means = feature_means(values, cond, features);
    let mut out = values.to_vec();
    for (k, &mean) in means.iter().enumerate() {
        let at = |t: usize| t * features + k;
        let Some(first) = (0..len).find(|&t| cond[at(t)]) else {
            (0..len).for_each(|t| out[at(t)] = mean as f32);
            continue;
        };
        let mut last = values[at(first)];
        for t in 0..len {
            if cond[at(t)] {
                last = values[at(t)];
            } else {
                out[at(t)] = last;
            }
        }
    }
    out
}
