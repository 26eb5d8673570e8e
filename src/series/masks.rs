//! Which values are hidden: CSDI's target-choice masks for self-supervised training, and the
//! observed values held out to score an imputation.

use crate::core::rng::SeededRng;

/// Fraction of the observed values hidden for evaluation by default.
pub const DEFAULT_EVAL_RATIO: f64 = 0.1;

/// How training hides observed values (CSDI's "target choice strategies", §4.3 and appendix B
/// of the paper; `target_strategy` in the official code). The link's choice, one type from the
/// page to the CLI.
pub use crate::series::params::MaskStrategy;

/// Python's `round`: to the nearest integer, halves to even (`round(2.5) == 2`).
fn round_half_even(x: f64) -> usize {
    x.round_ties_even().max(0.0) as usize
}

/// `k` of the observed cells, uniformly at random (a partial Fisher–Yates shuffle).
fn choose_observed(observed: &[bool], k: usize, rng: &mut SeededRng) -> Vec<usize> {
    let mut cells: Vec<usize> = (0..observed.len()).filter(|&i| observed[i]).collect();
    let k = k.min(cells.len());
    for i in 0..k {
        let j = i + rng.below((cells.len() - i) as u64) as usize;
        cells.swap(i, j);
    }
    cells.truncate(k);
    cells
}

/// CSDI's `get_randmask` for one window: a ratio drawn uniformly in [0, 1), then
/// `round(ratio × observed)` observed cells (Python's rounding) chosen uniformly are hidden; the
/// other observed cells are the conditioning. (The official code takes the `topk` of uniform
/// keys over the observed cells: the same distribution.)
pub fn random_mask(observed: &[bool], rng: &mut SeededRng) -> Vec<bool> {
    let ratio = rng.uniform();
    let n_observed = observed.iter().filter(|&&o| o).count();
    let k = round_half_even(n_observed as f64 * ratio);
    let mut cond = observed.to_vec();
    for i in choose_observed(observed, k, rng) {
        cond[i] = false;
    }
    cond
}

/// The conditioning mask of one training window (`observed` values kept as conditioning; the
/// hidden observed values are the targets), as CSDI's official code draws it:
/// - `Random`: [`random_mask`];
/// - `Historical`: `observed && pattern`, `pattern` being the observed mask of another window
///   (`get_hist_mask`: the values missing there are hidden here, so training sees the data's
///   real missing patterns);
/// - `Mix`: with probability 1/2 `Random`, otherwise `Historical` (`mask_choice > 0.5` picks
///   the random mask);
/// - `TestPattern`: `observed && pattern`, `pattern` being a test-time conditioning pattern
///   (which values stay given when imputing, e.g. `!hidden` of a `mask.csv`): the paper's
///   strategy for when the missing pattern of the test data is known.
///
/// `pattern` must have `observed.len()` cells for every strategy but `Random`, which ignores
/// it (pass `&[]`); a wrong length panics. See [`conditional_masks`] for CSDI's pairing of
/// windows in a batch.
pub fn conditional_mask(
    strategy: MaskStrategy,
    observed: &[bool],
    pattern: &[bool],
    rng: &mut SeededRng,
) -> Vec<bool> {
    let use_pattern = |pattern: &[bool]| -> Vec<bool> {
        assert_eq!(
            pattern.len(),
            observed.len(),
            "the {strategy} strategy needs a pattern mask of the window's shape"
        );
        observed
            .iter()
            .zip(pattern)
            .map(|(&o, &p)| o && p)
            .collect()
    };
    match strategy {
        MaskStrategy::Random => random_mask(observed, rng),
        MaskStrategy::Historical | MaskStrategy::TestPattern => use_pattern(pattern),
        MaskStrategy::Mix => {
            if rng.uniform() > 0.5 {
                random_mask(observed, rng)
            } else {
                use_pattern(pattern)
            }
        }
    }
}

/// Conditioning masks for a batch of windows, pairing them as CSDI's `get_hist_mask` does:
/// window `i` takes the pattern of window `i - 1` (the last one for `i = 0`). `patterns`: one
/// per window, the observed masks of other windows (CSDI's `hist_mask` for the air-quality
/// data) or test patterns; `None` uses the batch's own observed masks (CSDI's default).
pub fn conditional_masks(
    strategy: MaskStrategy,
    observed: &[Vec<bool>],
    patterns: Option<&[Vec<bool>]>,
    rng: &mut SeededRng,
) -> Vec<Vec<bool>> {
    let patterns = patterns.unwrap_or(observed);
    assert_eq!(patterns.len(), observed.len(), "one pattern per window");
    let n = observed.len();
    (0..n)
        .map(|i| {
            let pattern = &patterns[(i + n - 1) % n];
            conditional_mask(strategy, &observed[i], pattern, rng)
        })
        .collect()
}

/// Which observed cells to hide for evaluation: exactly `round(ratio × observed)` of them
/// (Python's rounding, halves to even), chosen uniformly with [`SeededRng`]`::new(seed)`.
/// `ratio` is clamped to [0, 1] (NaN counts as 0). The hidden cells are the targets; the
/// conditioning is `observed && !hidden`. To hide only in the test range, pass the slice of its
/// rows (`observed[test.start * features..test.end * features]`).
pub fn hide_for_evaluation(observed: &[bool], ratio: f64, seed: u64) -> Vec<bool> {
    let ratio = if ratio.is_nan() {
        0.0
    } else {
        ratio.clamp(0.0, 1.0)
    };
    let n_observed = observed.iter().filter(|&&o| o).count();
    let k = round_half_even(n_observed as f64 * ratio);
    let mut rng = SeededRng::new(seed);
    let mut hidden = vec![false; observed.len()];
    for i in choose_observed(observed, k, &mut rng) {
        hidden[i] = true;
    }
    hidden
}

/// The observed cells hidden to score an imputation: `ratio` of them drawn as
/// [`hide_for_evaluation`] does, and every `marked` one (stretches painted in the page, the 1s
/// of a `mask.csv`; `marked` has `observed`'s shape). A missing value has nothing to score, so a
/// mark there is dropped.
pub fn hide_drawn_and_marked(
    observed: &[bool],
    ratio: f64,
    seed: u64,
    marked: Option<&[bool]>,
) -> Vec<bool> {
    let drawn = hide_for_evaluation(observed, ratio, seed);
    let is_marked = |i: usize| marked.is_some_and(|m| m[i]);
    (0..observed.len())
        .map(|i| observed[i] && (drawn[i] || is_marked(i)))
        .collect()
}

/// The conditioning mask left when `hidden` cells are taken out of `observed`.
pub fn conditioning(observed: &[bool], hidden: &[bool]) -> Vec<bool> {
    observed
        .iter()
        .zip(hidden)
        .map(|(&o, &h)| o && !h)
        .collect()
}
