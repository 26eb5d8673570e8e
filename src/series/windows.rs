//! Windows of a series and its split by time: CSDI trains on every window of the training
//! rows and imputes (and scores) tiles of windows that cover each step once.

use std::ops::Range;

/// Time steps per window (CSDI's `eval_length` for the air-quality data: 36).
pub const WINDOW_LEN: usize = 36;

/// A window of time steps `start..start + len`. `skip`: its leading steps already covered by
/// the window before it (non-zero only for the last window that [`windows`] aligns to the end
/// of the range; CSDI's `cut_length`): evaluation scores only steps `start + skip..`, so that
/// every step is scored once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: usize,
    pub len: usize,
    pub skip: usize,
}

impl Window {
    /// The time steps it covers.
    pub fn rows(&self) -> Range<usize> {
        self.start..self.start + self.len
    }

    /// Its cells in a `[len, features]` row-major layout (rows are contiguous).
    pub fn cells(&self, features: usize) -> Range<usize> {
        self.start * features..(self.start + self.len) * features
    }
}

/// Windows of `len` steps inside `range`, one every `stride` steps from its start (stride 1:
/// every window, for training; stride `len`: tiling, for evaluation). When the last one ends
/// before the range does, one more window ends exactly at the range's end, with `skip` set to
/// the steps it shares with the one before. No window leaves the range; a range shorter than
/// `len` has none. A stride of 0 is taken as 1.
pub fn windows(range: Range<usize>, len: usize, stride: usize) -> Vec<Window> {
    let stride = stride.max(1);
    if len == 0 || range.end < range.start + len {
        return Vec::new();
    }
    let mut out: Vec<Window> = (range.start..=range.end - len)
        .step_by(stride)
        .map(|start| Window {
            start,
            len,
            skip: 0,
        })
        .collect();
    let covered = out.last().map_or(range.start, |w| w.start + len);
    if covered < range.end {
        let start = range.end - len;
        out.push(Window {
            start,
            len,
            skip: covered - start,
        });
    }
    out
}

/// Three contiguous, disjoint ranges of time steps covering the series in order: train, then
/// validation, then test (no window of one range sees a step of another).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeSplit {
    pub train: Range<usize>,
    pub valid: Range<usize>,
    pub test: Range<usize>,
}

/// Splits `len` time steps by the given proportions (normalised by their sum, e.g. 0.7, 0.1,
/// 0.2): the boundaries are `round(len * train / sum)` and `round(len * (train + valid) / sum)`.
/// Proportions must be finite, non-negative and not all zero.
pub fn split_by_time(len: usize, train: f64, valid: f64, test: f64) -> Result<TimeSplit, String> {
    let parts = [train, valid, test];
    if parts.iter().any(|p| !p.is_finite() || *p < 0.0) {
        return Err(format!(
            "split proportions must be finite and non-negative, got {train}/{valid}/{test}"
        ));
    }
    let sum: f64 = parts.iter().sum();
    if sum <= 0.0 {
        return Err("split proportions are all zero".to_string());
    }
    let a = ((len as f64 * train / sum).round() as usize).min(len);
    let b = ((len as f64 * (train + valid) / sum).round() as usize).clamp(a, len);
    Ok(TimeSplit {
        train: 0..a,
        valid: a..b,
        test: b..len,
    })
}
