//! 2-D Gaussian mixtures with full covariances: exact log-density, score, noised score and
//! sampling. Every preset of the Langevin demo is a mixture, so one set of closed forms serves
//! the exact score, the noised score `∇log(π * N(0, σ²I))` and the metrics.

use serde::{Deserialize, Serialize};

use crate::core::rng::SeededRng;

/// One component: weight, mean, covariance `[[a, b], [b, d]]`, and the label of its mode.
#[derive(Clone, Debug, PartialEq)]
pub struct Component {
    pub weight: f64,
    pub mean: [f64; 2],
    pub cov: [f64; 3],
    pub mode: usize,
}

/// A normalised mixture with per-component precomputations.
#[derive(Clone, Debug)]
pub struct Mixture {
    components: Vec<Component>,
    /// Each component's inverse and Cholesky factor, computed once: classifying and sampling
    /// run per particle.
    gaussians: Vec<Gaussian2>,
    log_weights: Vec<f64>,
    mode_count: usize,
}

/// The inverse, log-determinant and Cholesky factor of a 2×2 SPD matrix.
#[derive(Clone, Copy, Debug)]
struct Gaussian2 {
    inv: [f64; 3],
    log_det: f64,
    chol: [f64; 3],
}

/// The lower Cholesky factor `[l11, l21, l22]` of `[[a, b], [b, d]]`.
pub fn cholesky2([a, b, d]: [f64; 3]) -> [f64; 3] {
    let l11 = a.sqrt();
    let l21 = b / l11;
    [l11, l21, (d - l21 * l21).max(0.0).sqrt()]
}

impl Gaussian2 {
    fn new([a, b, d]: [f64; 3]) -> Self {
        let det = a * d - b * b;
        Self {
            inv: [d / det, -b / det, a / det],
            log_det: det.ln(),
            chol: cholesky2([a, b, d]),
        }
    }

    /// `log N(x; μ, Σ)` and `∇_x log N = -Σ⁻¹(x - μ)`.
    fn log_pdf_and_grad(&self, mean: [f64; 2], x: [f64; 2]) -> (f64, [f64; 2]) {
        let dx = x[0] - mean[0];
        let dy = x[1] - mean[1];
        let [p, q, r] = self.inv;
        let gx = -(p * dx + q * dy);
        let gy = -(q * dx + r * dy);
        let quad = -(dx * gx + dy * gy);
        let log_pdf =
            -std::f64::consts::LN_2 - std::f64::consts::PI.ln() - 0.5 * self.log_det - 0.5 * quad;
        (log_pdf, [gx, gy])
    }
}

fn log_add_exp(a: f64, b: f64) -> f64 {
    let (high, low) = if a > b { (a, b) } else { (b, a) };
    if low == f64::NEG_INFINITY {
        high
    } else {
        high + (low - high).exp().ln_1p()
    }
}

/// A mixture at one noise level, ready for evaluation.
#[derive(Clone, Debug)]
pub struct NoisedMixture {
    terms: Vec<(f64, [f64; 2], Gaussian2)>,
}

impl NoisedMixture {
    /// `log π_σ(x)` and its gradient. A streaming log-sum-exp over the components keeps both
    /// finite far from every component, where each `N_k(x)` underflows to zero.
    pub fn log_density_and_score(&self, x: [f64; 2]) -> (f64, [f64; 2]) {
        let mut best = f64::NEG_INFINITY;
        let mut total = 0.0;
        let mut score = [0.0, 0.0];
        for (log_w, mean, g) in &self.terms {
            let (log_pdf, grad) = g.log_pdf_and_grad(*mean, x);
            let log_term = log_w + log_pdf;
            if log_term > best {
                let rescale = (best - log_term).exp();
                total *= rescale;
                score[0] *= rescale;
                score[1] *= rescale;
                best = log_term;
            }
            let r = (log_term - best).exp();
            total += r;
            score[0] += r * grad[0];
            score[1] += r * grad[1];
        }
        (best + total.ln(), [score[0] / total, score[1] / total])
    }
}

/// Why a mixture was refused.
#[derive(Clone, Debug, PartialEq)]
pub struct MixtureError(pub String);

impl std::fmt::Display for MixtureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MixtureError {}

fn fail<T>(message: impl Into<String>) -> Result<T, MixtureError> {
    Err(MixtureError(message.into()))
}

impl Mixture {
    /// Validates and normalises the weights; covariances must be symmetric positive definite.
    pub fn new(components: Vec<Component>) -> Result<Self, MixtureError> {
        if components.is_empty() {
            return fail("a mixture needs at least one component");
        }
        for (k, c) in components.iter().enumerate() {
            let values = [c.weight, c.mean[0], c.mean[1], c.cov[0], c.cov[1], c.cov[2]];
            if values.iter().any(|v| !v.is_finite()) {
                return fail(format!(
                    "component {k} has a value that is not a finite number"
                ));
            }
            if c.weight < 0.0 {
                return fail(format!("component {k} has a negative weight {}", c.weight));
            }
            let [a, b, d] = c.cov;
            // A relative floor keeps the inverse well conditioned in f64.
            if !(a > 0.0 && a * d - b * b > 1e-12 * (a * d).abs().max(f64::MIN_POSITIVE)) {
                return fail(format!(
                    "component {k}: covariance [[{a}, {b}], [{b}, {d}]] is not positive definite"
                ));
            }
        }
        let total: f64 = components.iter().map(|c| c.weight).sum();
        if !(total > 0.0 && total.is_finite()) {
            return fail("the weights are all zero");
        }
        let components: Vec<Component> = components
            .into_iter()
            .map(|c| Component {
                weight: c.weight / total,
                ..c
            })
            .collect();
        let log_weights = components.iter().map(|c| c.weight.ln()).collect();
        let mode_count = components.iter().map(|c| c.mode + 1).max().unwrap_or(1);
        let gaussians = components.iter().map(|c| Gaussian2::new(c.cov)).collect();
        Ok(Self {
            components,
            gaussians,
            log_weights,
            mode_count,
        })
    }

    pub fn components(&self) -> &[Component] {
        &self.components
    }

    pub fn mode_count(&self) -> usize {
        self.mode_count
    }

    /// The total weight of each mode.
    pub fn mode_weights(&self) -> Vec<f64> {
        let mut weights = vec![0.0; self.mode_count];
        for c in &self.components {
            weights[c.mode] += c.weight;
        }
        weights
    }

    /// The mixture convolved with `N(0, σ²I)` (`sigma = 0`: the density itself), with each
    /// component's inverse covariance computed once for many evaluations.
    pub fn noised(&self, sigma: f64) -> NoisedMixture {
        let s2 = sigma * sigma;
        NoisedMixture {
            terms: self
                .components
                .iter()
                .zip(&self.log_weights)
                .filter(|(_, log_w)| log_w.is_finite())
                .map(|(c, log_w)| {
                    (
                        *log_w,
                        c.mean,
                        Gaussian2::new([c.cov[0] + s2, c.cov[1], c.cov[2] + s2]),
                    )
                })
                .collect(),
        }
    }

    /// `log π_σ(x)` and `∇log π_σ(x)`; see [`Mixture::noised`] for many points.
    pub fn log_density_and_score(&self, x: [f64; 2], sigma: f64) -> (f64, [f64; 2]) {
        self.noised(sigma).log_density_and_score(x)
    }

    pub fn log_density(&self, x: [f64; 2]) -> f64 {
        self.log_density_and_score(x, 0.0).0
    }

    pub fn score(&self, x: [f64; 2], sigma: f64) -> [f64; 2] {
        self.log_density_and_score(x, sigma).1
    }

    /// The mode whose components explain `x` best (highest responsibility summed per mode).
    pub fn mode_of(&self, x: [f64; 2]) -> usize {
        let mut per_mode = vec![f64::NEG_INFINITY; self.mode_count];
        for ((c, g), log_w) in self
            .components
            .iter()
            .zip(&self.gaussians)
            .zip(&self.log_weights)
        {
            let (log_pdf, _) = g.log_pdf_and_grad(c.mean, x);
            per_mode[c.mode] = log_add_exp(per_mode[c.mode], log_w + log_pdf);
        }
        per_mode
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(k, _)| k)
    }

    /// Exact samples: a component by weight, then `μ + Lz`.
    pub fn sample(&self, n: usize, rng: &mut SeededRng) -> Vec<[f64; 2]> {
        let mut cumulative = Vec::with_capacity(self.components.len());
        let mut acc = 0.0;
        for c in &self.components {
            acc += c.weight;
            cumulative.push(acc);
        }
        (0..n)
            .map(|_| {
                let u = rng.uniform() * acc;
                let k = cumulative
                    .partition_point(|&c| c <= u)
                    .min(self.components.len() - 1);
                let c = &self.components[k];
                let [l11, l21, l22] = self.gaussians[k].chol;
                let (z1, z2) = (rng.normal(), rng.normal());
                [c.mean[0] + l11 * z1, c.mean[1] + l21 * z1 + l22 * z2]
            })
            .collect()
    }

    /// The mixture as the upload format (`weights`, `means`, `covariances`, `modes`).
    pub fn to_file(&self) -> MixtureFile {
        MixtureFile {
            weights: self.components.iter().map(|c| c.weight).collect(),
            means: self.components.iter().map(|c| c.mean.to_vec()).collect(),
            covariances: self
                .components
                .iter()
                .map(|c| vec![vec![c.cov[0], c.cov[1]], vec![c.cov[1], c.cov[2]]])
                .collect(),
            modes: Some(self.components.iter().map(|c| c.mode).collect()),
        }
    }
}

/// The JSON upload format: `{"weights": [K], "means": [[x, y], …], "covariances": [[[a, b], [b, d]], …], "modes": [K]?}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixtureFile {
    pub weights: Vec<f64>,
    pub means: Vec<Vec<f64>>,
    pub covariances: Vec<Vec<Vec<f64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modes: Option<Vec<usize>>,
}

impl MixtureFile {
    pub fn from_json(text: &str) -> Result<Mixture, MixtureError> {
        let file: MixtureFile = serde_json::from_str(text)
            .map_err(|e| MixtureError(format!("not a mixture JSON file: {e}")))?;
        file.into_mixture()
    }

    pub fn into_mixture(self) -> Result<Mixture, MixtureError> {
        let k = self.weights.len();
        if self.means.len() != k || self.covariances.len() != k {
            return fail(format!(
                "shapes disagree: {k} weights, {} means, {} covariances",
                self.means.len(),
                self.covariances.len()
            ));
        }
        if let Some(modes) = &self.modes {
            if modes.len() != k {
                return fail(format!("{} modes for {k} components", modes.len()));
            }
            // Labels index the per-mode tables; more modes than components cannot be meant.
            if let Some(bad) = modes.iter().find(|&&m| m >= k) {
                return fail(format!(
                    "mode label {bad} is out of range: labels must lie in 0..{k} (one per component at most)"
                ));
            }
        }
        let mut components = Vec::with_capacity(k);
        for i in 0..k {
            let mean: [f64; 2] = self.means[i].as_slice().try_into().map_err(|_| {
                MixtureError(format!(
                    "mean {i} has {} entries, not 2",
                    self.means[i].len()
                ))
            })?;
            let cov = &self.covariances[i];
            if cov.len() != 2 || cov.iter().any(|row| row.len() != 2) {
                return fail(format!("covariance {i} is not a 2×2 matrix"));
            }
            let (a, b, c, d) = (cov[0][0], cov[0][1], cov[1][0], cov[1][1]);
            if (b - c).abs() > 1e-9 * (1.0 + b.abs().max(c.abs())) {
                return fail(format!("covariance {i} is not symmetric ({b} vs {c})"));
            }
            components.push(Component {
                weight: self.weights[i],
                mean,
                cov: [a, 0.5 * (b + c), d],
                // Without labels, every component is its own mode.
                mode: self.modes.as_ref().map_or(i, |m| m[i]),
            });
        }
        Mixture::new(components)
    }
}

/// The upload format as NumPy arrays, `np.savez(path, weights=…, means=…, covariances=…,
/// modes=…)` or `np.savez_compressed`: `weights` `(K,)`, `means` `(K, 2)`, `covariances`
/// `(K, 2, 2)`, optional `modes` `(K,)` of whole numbers, any numeric dtype. Only the shapes are
/// checked here (JSON has no shapes); the values go through [`MixtureFile::into_mixture`], so
/// both uploads accept and refuse the same mixtures with the same messages.
pub fn mixture_from_npz(bytes: &[u8]) -> Result<Mixture, MixtureError> {
    use crate::io::npy::{python_shape, read_npz, NpyArray};
    const NAMES: [&str; 4] = ["weights", "means", "covariances", "modes"];

    let mut arrays =
        read_npz(bytes).map_err(|e| MixtureError(format!("not a mixture npz file: {e}")))?;
    if let Some(unknown) = arrays.keys().find(|name| !NAMES.contains(&name.as_str())) {
        return fail(format!(
            "not a mixture npz file: unknown array `{unknown}` (expected weights, means, \
             covariances and optionally modes)"
        ));
    }
    let mut take = |name: &str, expected: Option<&[usize]>| -> Result<_, MixtureError> {
        let Some(array): Option<NpyArray> = arrays.remove(name) else {
            return Ok(None);
        };
        let fits = match expected {
            Some(expected) => array.shape == expected,
            None => array.shape.len() == 1,
        };
        if !fits {
            let expected = expected.map_or("(K,)".to_string(), python_shape);
            return fail(format!(
                "`{name}` has shape {}, expected {expected}",
                python_shape(&array.shape)
            ));
        }
        Ok(Some(array.data))
    };
    let missing = |name: &str| MixtureError(format!("the npz file has no `{name}` array"));
    let weights = take("weights", None)?.ok_or_else(|| missing("weights"))?;
    let k = weights.len();
    let means = take("means", Some(&[k, 2]))?.ok_or_else(|| missing("means"))?;
    let covariances =
        take("covariances", Some(&[k, 2, 2]))?.ok_or_else(|| missing("covariances"))?;
    let modes = take("modes", Some(&[k]))?
        .map(|modes| {
            modes
                .iter()
                .enumerate()
                .map(|(i, &mode)| {
                    // A float array of whole numbers is accepted: only the labels matter.
                    if mode >= 0.0 && mode.fract() == 0.0 {
                        Ok(mode as usize)
                    } else {
                        fail(format!("mode {i} is {mode}, not a non-negative integer"))
                    }
                })
                .collect::<Result<Vec<usize>, _>>()
        })
        .transpose()?;
    MixtureFile {
        weights,
        means: means.chunks_exact(2).map(<[f64]>::to_vec).collect(),
        covariances: covariances
            .chunks_exact(4)
            .map(|cov| vec![cov[..2].to_vec(), cov[2..].to_vec()])
            .collect(),
        modes,
    }
    .into_mixture()
}

/// A random 2×2 SPD matrix with eigenvalues in `[low, high]` and a random orientation.
fn random_cov(rng: &mut SeededRng, low: f64, high: f64) -> [f64; 3] {
    let l1 = low + (high - low) * rng.uniform();
    let l2 = low + (high - low) * rng.uniform();
    let angle = std::f64::consts::PI * rng.uniform();
    let (s, c) = angle.sin_cos();
    [
        c * c * l1 + s * s * l2,
        c * s * (l1 - l2),
        s * s * l1 + c * c * l2,
    ]
}

/// `gmm150`: 150 components in 5 well-separated clusters of unequal weight, from a fixed seed.
pub fn gmm150() -> Mixture {
    const MODE_WEIGHTS: [f64; 5] = [0.34, 0.26, 0.18, 0.14, 0.08];
    const CENTRES: [[f64; 2]; 5] = [
        [-5.0, 4.0],
        [5.0, 5.0],
        [0.0, -1.0],
        [-6.0, -5.0],
        [5.5, -5.0],
    ];
    let mut rng = SeededRng::new(150);
    let mut components = Vec::with_capacity(150);
    for (mode, (centre, mode_weight)) in CENTRES.iter().zip(MODE_WEIGHTS).enumerate() {
        let raw: Vec<f64> = (0..30).map(|_| 0.5 + rng.uniform()).collect();
        let sum: f64 = raw.iter().sum();
        for w in raw {
            let mean = [
                centre[0] + 0.7 * rng.normal(),
                centre[1] + 0.7 * rng.normal(),
            ];
            components.push(Component {
                weight: mode_weight * w / sum,
                mean,
                cov: random_cov(&mut rng, 0.04, 0.25),
                mode,
            });
        }
    }
    Mixture::new(components).expect("the preset is valid")
}

/// `two-modes`: weight `p` at (-4, 0) and `1 - p` at (4, 0), unit-ish spread, a wide gap.
pub fn two_modes(p: f64) -> Result<Mixture, MixtureError> {
    if !(p > 0.0 && p < 1.0) {
        return fail(format!("p = {p} must lie strictly between 0 and 1"));
    }
    Mixture::new(vec![
        Component {
            weight: p,
            mean: [-4.0, 0.0],
            cov: [0.5, 0.0, 0.5],
            mode: 0,
        },
        Component {
            weight: 1.0 - p,
            mean: [4.0, 0.0],
            cov: [0.5, 0.0, 0.5],
            mode: 1,
        },
    ])
}

/// Components spaced along a curve, each elongated along it: a connected density.
fn along_curve(points: &[[f64; 2]], width: f64) -> Mixture {
    let n = points.len();
    let components = (0..n)
        .map(|i| {
            let next = points[(i + 1) % n];
            let prev = points[(i + n - 1) % n];
            let (tx, ty) = (next[0] - prev[0], next[1] - prev[1]);
            let len = (tx * tx + ty * ty).sqrt().max(1e-9);
            let along = (0.5 * len).powi(2).max(width * width);
            let (c, s) = (tx / len, ty / len);
            let across = width * width;
            Component {
                weight: 1.0,
                mean: points[i],
                cov: [
                    c * c * along + s * s * across,
                    c * s * (along - across),
                    s * s * along + c * c * across,
                ],
                mode: 0,
            }
        })
        .collect();
    Mixture::new(components).expect("curve presets are valid")
}

/// `ring`: radius 3, width 0.3.
pub fn ring() -> Mixture {
    let points: Vec<[f64; 2]> = (0..48)
        .map(|i| {
            let t = std::f64::consts::TAU * i as f64 / 48.0;
            [3.0 * t.cos(), 3.0 * t.sin()]
        })
        .collect();
    along_curve(&points, 0.3)
}

/// `spiral`: an Archimedean spiral over two turns.
pub fn spiral() -> Mixture {
    let points: Vec<[f64; 2]> = (0..80)
        .map(|i| {
            let t = 1.0 + 4.0 * std::f64::consts::PI * i as f64 / 79.0;
            let r = 0.45 * t;
            [r * t.cos(), r * t.sin()]
        })
        .collect();
    along_curve(&points, 0.25)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finite_difference_score(m: &Mixture, x: [f64; 2], sigma: f64) -> [f64; 2] {
        let h = 1e-5;
        let f = |p: [f64; 2]| m.log_density_and_score(p, sigma).0;
        [
            (f([x[0] + h, x[1]]) - f([x[0] - h, x[1]])) / (2.0 * h),
            (f([x[0], x[1] + h]) - f([x[0], x[1] - h])) / (2.0 * h),
        ]
    }

    #[test]
    fn score_matches_finite_differences_with_and_without_noise() {
        let m = gmm150();
        let mut rng = SeededRng::new(4);
        for _ in 0..50 {
            let x = [8.0 * rng.normal(), 8.0 * rng.normal()];
            for sigma in [0.0, 0.3, 2.0] {
                let exact = m.score(x, sigma);
                let fd = finite_difference_score(&m, x, sigma);
                for i in 0..2 {
                    assert!(
                        (exact[i] - fd[i]).abs() < 1e-4 * (1.0 + exact[i].abs()),
                        "{x:?} σ={sigma}: {exact:?} vs {fd:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn single_gaussian_has_its_closed_form() {
        let m = Mixture::new(vec![Component {
            weight: 3.0,
            mean: [1.0, -2.0],
            cov: [2.0, 0.5, 1.0],
            mode: 0,
        }])
        .unwrap();
        let x = [0.3, 0.7];
        // Σ⁻¹ = [[1, -0.5], [-0.5, 2]] / 1.75
        let (dx, dy) = (x[0] - 1.0, x[1] + 2.0);
        let expected = [-(dx - 0.5 * dy) / 1.75, -(-0.5 * dx + 2.0 * dy) / 1.75];
        let s = m.score(x, 0.0);
        assert!((s[0] - expected[0]).abs() < 1e-12 && (s[1] - expected[1]).abs() < 1e-12);
        let log_p = -(2.0 * std::f64::consts::PI).ln()
            - 0.5 * 1.75f64.ln()
            - 0.5 * (dx * -expected[0] + dy * -expected[1]);
        assert!((m.log_density(x) - log_p).abs() < 1e-12);
    }

    #[test]
    fn far_from_the_data_everything_stays_finite() {
        let m = gmm150();
        for x in [[1e3, -1e3], [0.0, 5e4], [-300.0, 200.0]] {
            let (log_p, s) = m.log_density_and_score(x, 0.0);
            assert!(
                log_p.is_finite() && s[0].is_finite() && s[1].is_finite(),
                "{x:?}: {log_p} {s:?}"
            );
            // Far away the score points back towards the data.
            assert!(s[0] * x[0] + s[1] * x[1] < 0.0);
        }
    }

    #[test]
    fn gmm150_has_150_components_in_5_unequal_modes() {
        let m = gmm150();
        assert_eq!(m.components().len(), 150);
        let w = m.mode_weights();
        assert_eq!(w.len(), 5);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((w[0] - 0.34).abs() < 1e-12 && (w[4] - 0.08).abs() < 1e-12);
    }

    #[test]
    fn samples_have_the_mode_weights_and_moments() {
        let m = gmm150();
        let mut rng = SeededRng::new(9);
        let xs = m.sample(40_000, &mut rng);
        let mut counts = [0usize; 5];
        for x in &xs {
            counts[m.mode_of(*x)] += 1;
        }
        for (k, w) in m.mode_weights().iter().enumerate() {
            let freq = counts[k] as f64 / xs.len() as f64;
            assert!((freq - w).abs() < 0.01, "mode {k}: {freq} vs {w}");
        }
        let g = Mixture::new(vec![Component {
            weight: 1.0,
            mean: [1.0, 2.0],
            cov: [2.0, 0.6, 0.5],
            mode: 0,
        }])
        .unwrap();
        let ys = g.sample(100_000, &mut rng);
        let n = ys.len() as f64;
        let mx = ys.iter().map(|y| y[0]).sum::<f64>() / n;
        let my = ys.iter().map(|y| y[1]).sum::<f64>() / n;
        let cxy = ys.iter().map(|y| (y[0] - mx) * (y[1] - my)).sum::<f64>() / n;
        let cyy = ys.iter().map(|y| (y[1] - my).powi(2)).sum::<f64>() / n;
        assert!((mx - 1.0).abs() < 0.02 && (my - 2.0).abs() < 0.01);
        assert!((cxy - 0.6).abs() < 0.02 && (cyy - 0.5).abs() < 0.01);
    }

    #[test]
    fn bad_uploads_are_refused_with_a_reason() {
        let ok = r#"{"weights":[1,2],"means":[[0,0],[1,1]],"covariances":[[[1,0],[0,1]],[[2,0.5],[0.5,1]]]}"#;
        assert!(MixtureFile::from_json(ok).is_ok());
        let cases = [
            (
                r#"{"weights":[1],"means":[[0,0],[1,1]],"covariances":[[[1,0],[0,1]]]}"#,
                "shapes",
            ),
            (
                r#"{"weights":[1],"means":[[0]],"covariances":[[[1,0],[0,1]]]}"#,
                "entries",
            ),
            (
                r#"{"weights":[1],"means":[[0,0]],"covariances":[[[1,2],[2,1]]]}"#,
                "positive definite",
            ),
            (
                r#"{"weights":[1],"means":[[0,0]],"covariances":[[[1,0.2],[0.3,1]]]}"#,
                "symmetric",
            ),
            (
                r#"{"weights":[-1],"means":[[0,0]],"covariances":[[[1,0],[0,1]]]}"#,
                "negative",
            ),
            (
                r#"{"weights":[0,0],"means":[[0,0],[1,1]],"covariances":[[[1,0],[0,1]],[[1,0],[0,1]]]}"#,
                "zero",
            ),
            (r#"{"weights":[1],"means":[[0,0]]}"#, "not a mixture"),
            (
                r#"{"weights":[1],"means":[[0,0]],"covariances":[[[1,0],[0]]]}"#,
                "2×2",
            ),
        ];
        for (text, word) in cases {
            let err = MixtureFile::from_json(text).unwrap_err().0;
            assert!(err.contains(word), "{text}: {err}");
        }
        assert!(
            MixtureFile::from_json(&serde_json::to_string(&gmm150().to_file()).unwrap()).is_ok()
        );
    }
}
