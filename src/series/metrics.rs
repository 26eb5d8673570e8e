//! The paper's scores of an imputation: per-cell quantiles and medians of the samples, the
//! quantile CRPS, MAE and RMSE.

/// Number of quantile levels in the CRPS: 0.05, 0.10, …, 0.95.
pub const CRPS_LEVELS: usize = 19;

/// The quantile levels of the paper's CRPS, exactly as `np.arange(0.05, 1.0, 0.05)` computes
/// them (`0.05 + i * 0.05` in double precision).
pub fn crps_levels() -> [f64; CRPS_LEVELS] {
    std::array::from_fn(|i| 0.05 + i as f64 * 0.05)
}

/// The `tau`-quantile of sorted values with linear interpolation between order statistics
/// (NumPy's and `torch.quantile`'s default): position `tau × (n - 1)`.
pub fn quantile_sorted(sorted: &[f32], tau: f64) -> f64 {
    let n = sorted.len();
    assert!(n > 0, "the quantile of no value");
    let pos = tau.clamp(0.0, 1.0) * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let (a, b) = (sorted[lo] as f64, sorted[hi] as f64);
    a + (b - a) * (pos - lo as f64)
}

/// The samples of each cell, sorted: `samples` is `[nsample, cells]`.
fn sorted_cell(samples: &[f32], nsample: usize, cells: usize, c: usize, buf: &mut Vec<f32>) {
    buf.clear();
    buf.extend((0..nsample).map(|s| samples[s * cells + c]));
    buf.sort_by(f32::total_cmp);
}

fn cells_of(samples: &[f32], nsample: usize) -> usize {
    assert!(nsample > 0, "no samples");
    assert_eq!(
        samples.len() % nsample,
        0,
        "samples must be [nsample, cells]"
    );
    samples.len() / nsample
}

/// Per-cell quantiles of `samples` (`[nsample, cells]`) at each level of `taus`, linearly
/// interpolated ([`quantile_sorted`]): `[taus.len(), cells]`. The 5–95 % band is
/// `quantiles(samples, nsample, &[0.05, 0.95])`.
pub fn quantiles(samples: &[f32], nsample: usize, taus: &[f64]) -> Vec<f32> {
    let cells = cells_of(samples, nsample);
    let mut out = vec![0.0; taus.len() * cells];
    let mut buf = Vec::with_capacity(nsample);
    for c in 0..cells {
        sorted_cell(samples, nsample, cells, c, &mut buf);
        for (j, &tau) in taus.iter().enumerate() {
            out[j * cells + c] = quantile_sorted(&buf, tau) as f32;
        }
    }
    out
}

/// Per-cell median of `samples` (`[nsample, cells]`) as `torch.median` (CSDI's point estimate
/// for MAE and RMSE): for an even number of samples, the lower of the two middle values.
pub fn median(samples: &[f32], nsample: usize) -> Vec<f32> {
    let cells = cells_of(samples, nsample);
    let mut buf = Vec::with_capacity(nsample);
    (0..cells)
        .map(|c| {
            sorted_cell(samples, nsample, cells, c, &mut buf);
            buf[(nsample - 1) / 2]
        })
        .collect()
}

/// The paper's CRPS (`calc_quantile_CRPS` in CSDI's `utils.py`): for each of the 19 levels τ of
/// [`crps_levels`], the quantile loss `2 Σ |(q_τ − y) · (1[y ≤ q_τ] − τ)|` over the evaluated
/// cells, with `q_τ` the linearly interpolated τ-quantile of the cell's samples, divided by
/// `Σ |y|` over the evaluated cells; the mean over the 19 levels. Values in data units
/// (denormalise first, as the official code does). `samples`: `[nsample, cells]`; `truth`
/// and `eval`: `[cells]`. NaN when nothing is evaluated or `Σ |y| = 0`.
pub fn crps(samples: &[f32], nsample: usize, truth: &[f32], eval: &[bool]) -> f64 {
    let cells = cells_of(samples, nsample);
    assert_eq!(truth.len(), cells, "truth must have one value per cell");
    assert_eq!(eval.len(), cells, "eval must have one flag per cell");
    let levels = crps_levels();
    let mut loss = [0.0f64; CRPS_LEVELS];
    let mut denom = 0.0f64;
    let mut buf = Vec::with_capacity(nsample);
    for c in (0..cells).filter(|&c| eval[c]) {
        let y = truth[c] as f64;
        denom += y.abs();
        sorted_cell(samples, nsample, cells, c, &mut buf);
        for (l, &tau) in loss.iter_mut().zip(&levels) {
            let q = quantile_sorted(&buf, tau);
            let indicator = if y <= q { 1.0 } else { 0.0 };
            *l += 2.0 * ((q - y) * (indicator - tau)).abs();
        }
    }
    if denom == 0.0 {
        return f64::NAN;
    }
    loss.iter().map(|l| l / denom).sum::<f64>() / CRPS_LEVELS as f64
}

/// Mean absolute error of `pred` over the evaluated cells (NaN when there are none).
pub fn mae(pred: &[f32], truth: &[f32], eval: &[bool]) -> f64 {
    let (sum, n) = eval_sum(pred, truth, eval, |d| d.abs());
    sum / n as f64
}

/// Root mean squared error of `pred` over the evaluated cells (NaN when there are none).
pub fn rmse(pred: &[f32], truth: &[f32], eval: &[bool]) -> f64 {
    let (sum, n) = eval_sum(pred, truth, eval, |d| d * d);
    (sum / n as f64).sqrt()
}

fn eval_sum(pred: &[f32], truth: &[f32], eval: &[bool], f: impl Fn(f64) -> f64) -> (f64, usize) {
    assert!(
        pred.len() == truth.len() && truth.len() == eval.len(),
        "shapes differ"
    );
    let mut sum = 0.0;
    let mut n = 0;
    for i in (0..eval.len()).filter(|&i| eval[i]) {
        sum += f(pred[i] as f64 - truth[i] as f64);
        n += 1;
    }
    (if n == 0 { f64::NAN } else { sum }, n)
}

/// The scores of one method on the evaluated cells.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Scores {
    pub crps: f64,
    pub mae: f64,
    pub rmse: f64,
    /// Number of evaluated cells.
    pub n_eval: usize,
}

/// Scores of a probabilistic imputation, as the paper reports them: CRPS of the samples, MAE
/// and RMSE of their [`median`].
pub fn score_samples(samples: &[f32], nsample: usize, truth: &[f32], eval: &[bool]) -> Scores {
    let point = median(samples, nsample);
    Scores {
        crps: crps(samples, nsample, truth, eval),
        mae: mae(&point, truth, eval),
        rmse: rmse(&point, truth, eval),
        n_eval: eval.iter().filter(|&&e| e).count(),
    }
}

/// Scores of a point imputation (a baseline). Its CRPS is that of one sample, every quantile
/// equal to the prediction, which reduces to `Σ |ŷ − y| / Σ |y|` over the evaluated cells.
pub fn score_point(pred: &[f32], truth: &[f32], eval: &[bool]) -> Scores {
    score_samples(pred, 1, truth, eval)
}
