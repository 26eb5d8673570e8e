//! Sample-quality numbers for generative models, in plain `f64` so that they run the same natively
//! and in wasm: the Fréchet distance between Gaussian fits of two feature sets (FID, when the
//! features come from an Inception network), and bits per dimension for likelihood models on
//! 8-bit images.
//!
//! The Fréchet distance needs the trace of a matrix square root, tr((Σa Σb)^{1/2}). Σa Σb is not
//! symmetric, so instead of a general square root (SciPy's `sqrtm`, a Schur decomposition) this
//! takes the singular values of Σb^{1/2} Σa^{1/2}, whose squares are the eigenvalues of Σa Σb
//! ([`frechet_distance`] says why); the symmetric square roots come from a cyclic Jacobi
//! eigensolver.

use std::f64::consts::LN_2;

/// The mean and covariance of a set of feature vectors: the Gaussian that FID compares.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureStats {
    pub dim: usize,
    /// How many feature vectors the statistics summarise.
    pub count: usize,
    pub mean: Vec<f64>,
    /// `dim × dim`, row-major, normalised by `count − 1` like `numpy.cov(rowvar=False)`, which is
    /// what published FID statistics use.
    pub cov: Vec<f64>,
}

impl FeatureStats {
    /// Statistics of `features`, read as rows of `dim` values each.
    ///
    /// Two passes in `f64` (mean first, then the centred products): the one-pass formula
    /// E[xxᵀ] − μμᵀ cancels catastrophically when the features sit far from the origin, which
    /// network activations often do.
    pub fn from_rows(features: &[f32], dim: usize) -> Result<Self, String> {
        if dim == 0 {
            return Err("feature dimension must be at least 1".to_string());
        }
        if !features.len().is_multiple_of(dim) {
            return Err(format!(
                "{} feature values do not split into rows of {dim}",
                features.len()
            ));
        }
        let count = features.len() / dim;
        if count < 2 {
            return Err(format!(
                "a covariance needs at least 2 feature vectors, got {count}"
            ));
        }
        if let Some(position) = features.iter().position(|value| !value.is_finite()) {
            return Err(format!(
                "feature vector {} has a non-finite value ({}) at index {}",
                position / dim,
                features[position],
                position % dim
            ));
        }

        let mut mean = vec![0.0f64; dim];
        for row in features.chunks_exact(dim) {
            for (sum, &value) in mean.iter_mut().zip(row) {
                *sum += f64::from(value);
            }
        }
        for sum in &mut mean {
            *sum /= count as f64;
        }

        // Only the upper triangle is accumulated; the mirror image is copied at the end, which
        // also makes the result exactly symmetric.
        let mut cov = vec![0.0f64; dim * dim];
        let mut centred = vec![0.0f64; dim];
        for row in features.chunks_exact(dim) {
            for ((deviation, &value), &mu) in centred.iter_mut().zip(row).zip(&mean) {
                *deviation = f64::from(value) - mu;
            }
            for i in 0..dim {
                let deviation_i = centred[i];
                let cov_row = &mut cov[i * dim..(i + 1) * dim];
                for j in i..dim {
                    cov_row[j] += deviation_i * centred[j];
                }
            }
        }
        let bessel = 1.0 / (count - 1) as f64;
        for i in 0..dim {
            for j in i..dim {
                let value = cov[i * dim + j] * bessel;
                cov[i * dim + j] = value;
                cov[j * dim + i] = value;
            }
        }
        Ok(Self {
            dim,
            count,
            mean,
            cov,
        })
    }

    /// tr Σ: the total variance of the features.
    pub fn total_variance(&self) -> f64 {
        trace(&self.cov, self.dim)
    }

    fn check_shape(&self, name: &str) -> Result<(), String> {
        if self.mean.len() != self.dim || self.cov.len() != self.dim * self.dim {
            return Err(format!(
                "{name}: dim {} but {} mean values and {} covariance values",
                self.dim,
                self.mean.len(),
                self.cov.len()
            ));
        }
        Ok(())
    }
}

/// Negative results no larger than this fraction of ‖μa − μb‖² + tr Σa + tr Σb are round-off.
///
/// The distance is a difference of large terms that cancel when the two Gaussians coincide, so
/// the computed value can land slightly below zero; a square distance cannot, so it is reported
/// as 0. The round-off measured on self-distances (up to dim 256, rank-deficient included) is
/// below 1e-14 of that scale, so this leaves a wide margin. Anything more negative means the
/// covariances were not positive semi-definite, which is an input error worth seeing rather than
/// hiding behind a 0.
const ROUND_OFF_TOLERANCE: f64 = 1e-9;

/// The squared Fréchet (2-Wasserstein) distance between the Gaussians N(μa, Σa) and N(μb, Σb):
/// ‖μa − μb‖² + tr Σa + tr Σb − 2 tr((Σa Σb)^{1/2}). This is FID when both statistics come from
/// Inception pool features of real and generated images.
///
/// tr((Σa Σb)^{1/2}) is the sum of the square roots of the eigenvalues of the symmetric positive
/// semi-definite M = Σa^{1/2} Σb Σa^{1/2}, which is similar to Σa Σb (M = Σa^{1/2} (Σa Σb)
/// Σa^{-1/2} where Σa is invertible, and by continuity otherwise). Those square roots are taken
/// as the singular values of C = Σb^{1/2} Σa^{1/2} (CᵀC = M) rather than as √λ(M): an eigensolver
/// knows each λ(M) only to about an ulp of ‖M‖, and the square root turns that into √ulp of ‖Σ‖
/// per eigenvalue. Covariances from fewer samples than dimensions have many zero eigenvalues, and
/// there √λ(M) made the distance of such statistics to themselves come out near −1e-7 relative
/// (dim 256, 30 samples) instead of 0; the singular values stay within an ulp of ‖C‖.
///
/// The cost is two `dim × dim` eigendecompositions, a product and an SVD sweep loop, O(dim³);
/// it is meant for `dim` up to a few hundred (one to two seconds at 256 in a native build).
pub fn frechet_distance(a: &FeatureStats, b: &FeatureStats) -> Result<f64, String> {
    a.check_shape("first statistics")?;
    b.check_shape("second statistics")?;
    if a.dim != b.dim {
        return Err(format!(
            "feature dimensions differ: {} and {}",
            a.dim, b.dim
        ));
    }
    let n = a.dim;
    if a.mean
        .iter()
        .chain(&a.cov)
        .chain(&b.mean)
        .chain(&b.cov)
        .any(|x| !x.is_finite())
    {
        return Err("the statistics contain a non-finite value".to_string());
    }

    let mean_term = squared_mean_distance(a, b);
    let trace_a = a.total_variance();
    let trace_b = b.total_variance();

    let root_a = sqrt_psd(&a.cov, n);
    let root_b = sqrt_psd(&b.cov, n);
    let trace_of_root = sum_of_singular_values(&multiply(&root_b, &root_a, n), n);

    let distance = mean_term + trace_a + trace_b - 2.0 * trace_of_root;
    if distance >= 0.0 {
        return Ok(distance);
    }
    let scale = mean_term + trace_a + trace_b;
    if distance >= -ROUND_OFF_TOLERANCE * scale {
        Ok(0.0)
    } else {
        Err(format!(
            "the distance came out negative ({distance:e} against a scale of {scale:e}): \
             a covariance is not positive semi-definite"
        ))
    }
}

/// ‖μa − μb‖², the first term of the Fréchet distance.
pub fn squared_mean_distance(a: &FeatureStats, b: &FeatureStats) -> f64 {
    a.mean
        .iter()
        .zip(&b.mean)
        .map(|(x, y)| (x - y) * (x - y))
        .sum()
}

/// Eigenvalues and eigenvectors of the symmetric `n × n` matrix `matrix` (row-major; only its
/// symmetric part (A + Aᵀ)/2 is used, so round-off asymmetry does no harm).
///
/// Returns `(eigenvalues, eigenvectors)`: the eigenvalues in ascending order (as `numpy.linalg.eigh`
/// returns them), and the matching unit eigenvectors as the columns of an `n × n` matrix stored
/// column-major, so that eigenvector `k` is the contiguous slice `eigenvectors[k * n..(k + 1) * n]`
/// and A = V diag(λ) Vᵀ.
///
/// Cyclic Jacobi: slower than tridiagonal QR for large `n`, but short, unconditionally convergent
/// and accurate to a few ulps of ‖A‖ for every eigenvalue, which is what the square roots in
/// [`frechet_distance`] need. Panics if `matrix.len() != n * n`.
pub fn symmetric_eigen(matrix: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(
        matrix.len(),
        n * n,
        "symmetric_eigen: a {n}×{n} matrix needs {} values, got {}",
        n * n,
        matrix.len()
    );
    let mut work = matrix.to_vec();
    symmetrise(&mut work, n);
    let mut vectors = identity(n);

    let frobenius = work.iter().map(|x| x * x).sum::<f64>().sqrt();
    // Once the off-diagonal part is below an ulp of the whole matrix, the diagonal holds the
    // eigenvalues to working precision (Weyl's inequality); convergence is quadratic, so this
    // takes a handful of sweeps. The cap only guards against a NaN in the input.
    let converged = (f64::EPSILON * frobenius).powi(2);
    const MAX_SWEEPS: usize = 60;
    for _ in 0..MAX_SWEEPS {
        let off_diagonal: f64 = (0..n)
            .flat_map(|p| ((p + 1)..n).map(move |q| (p, q)))
            .map(|(p, q)| work[p * n + q] * work[p * n + q])
            .sum();
        if off_diagonal <= converged || off_diagonal.is_nan() {
            break;
        }
        for p in 0..n {
            for q in (p + 1)..n {
                rotate_away(&mut work, &mut vectors, n, p, q);
            }
        }
    }

    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| work[i * n + i].total_cmp(&work[j * n + j]));
    let eigenvalues = order.iter().map(|&k| work[k * n + k]).collect();
    let eigenvectors = order
        .iter()
        .flat_map(|&k| vectors[k * n..(k + 1) * n].iter().copied())
        .collect();
    (eigenvalues, eigenvectors)
}

/// One Jacobi rotation in the (p, q) plane that makes `work[p][q]` zero: `work` ← Jᵀ work J and
/// `vectors` ← vectors J, with `work` symmetric row-major and `vectors` column-major.
fn rotate_away(work: &mut [f64], vectors: &mut [f64], n: usize, p: usize, q: usize) {
    let a_pq = work[p * n + q];
    if a_pq == 0.0 {
        return;
    }
    let a_pp = work[p * n + p];
    let a_qq = work[q * n + q];
    let (t, c, s) = jacobi_rotation(a_pp, a_qq, a_pq);

    work[p * n + p] = a_pp - t * a_pq;
    work[q * n + q] = a_qq + t * a_pq;
    work[p * n + q] = 0.0;
    work[q * n + p] = 0.0;
    for r in 0..n {
        if r == p || r == q {
            continue;
        }
        let a_rp = work[r * n + p];
        let a_rq = work[r * n + q];
        let new_rp = c * a_rp - s * a_rq;
        let new_rq = s * a_rp + c * a_rq;
        work[r * n + p] = new_rp;
        work[p * n + r] = new_rp;
        work[r * n + q] = new_rq;
        work[q * n + r] = new_rq;
    }
    let (low, high) = vectors.split_at_mut(q * n);
    let column_p = &mut low[p * n..(p + 1) * n];
    let column_q = &mut high[..n];
    for (v_p, v_q) in column_p.iter_mut().zip(column_q.iter_mut()) {
        let (old_p, old_q) = (*v_p, *v_q);
        *v_p = c * old_p - s * old_q;
        *v_q = s * old_p + c * old_q;
    }
}

/// The rotation `(tan φ, cos φ, sin φ)` that zeroes the off-diagonal of the symmetric 2 × 2
/// matrix [[a_pp, a_pq], [a_pq, a_qq]] (`a_pq ≠ 0`). tan φ is the smaller root of
/// t² + 2θt − 1 = 0, θ = (a_qq − a_pp)/(2 a_pq), which keeps the angle at most π/4 (the choice
/// that makes Jacobi sweeps converge); hypot avoids overflowing θ².
fn jacobi_rotation(a_pp: f64, a_qq: f64, a_pq: f64) -> (f64, f64, f64) {
    let theta = (a_qq - a_pp) / (2.0 * a_pq);
    let t = if theta >= 0.0 {
        1.0 / (theta + theta.hypot(1.0))
    } else {
        -1.0 / (-theta + theta.hypot(1.0))
    };
    let c = 1.0 / t.hypot(1.0);
    (t, c, t * c)
}

/// The sum of the singular values (nuclear norm) of the `n × n` row-major `matrix`.
///
/// One-sided (Hestenes) Jacobi: pairs of rows are rotated until all rows are mutually orthogonal,
/// and the row lengths are then the singular values. Working on the matrix rather than on its
/// Gram matrix keeps small singular values accurate to an ulp of the largest, which is the point
/// of using it in [`frechet_distance`].
fn sum_of_singular_values(matrix: &[f64], n: usize) -> f64 {
    let mut rows = matrix.to_vec();
    // Dot products of length n carry about n ulps of error, so asking for orthogonality beyond
    // that could keep the sweeps going without improving anything.
    let orthogonal_enough = n as f64 * f64::EPSILON;
    const MAX_SWEEPS: usize = 60;
    for _ in 0..MAX_SWEEPS {
        let mut rotated = false;
        for p in 0..n {
            for q in (p + 1)..n {
                let (upper, lower) = rows.split_at_mut(q * n);
                let row_p = &mut upper[p * n..(p + 1) * n];
                let row_q = &mut lower[..n];
                let (mut norm_p, mut norm_q, mut overlap) = (0.0f64, 0.0f64, 0.0f64);
                for (&x, &y) in row_p.iter().zip(row_q.iter()) {
                    norm_p += x * x;
                    norm_q += y * y;
                    overlap += x * y;
                }
                if overlap.abs() <= orthogonal_enough * (norm_p * norm_q).sqrt() {
                    continue;
                }
                rotated = true;
                // The symmetric Jacobi rotation of the 2 × 2 Gram matrix [[‖p‖², p·q], [p·q, ‖q‖²]],
                // applied to the rows themselves: it makes the rotated rows orthogonal.
                let (_, c, s) = jacobi_rotation(norm_p, norm_q, overlap);
                for (x, y) in row_p.iter_mut().zip(row_q.iter_mut()) {
                    let (old_x, old_y) = (*x, *y);
                    *x = c * old_x - s * old_y;
                    *y = s * old_x + c * old_y;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    rows.chunks_exact(n)
        .map(|row| row.iter().map(|x| x * x).sum::<f64>().sqrt())
        .sum()
}

/// The symmetric positive semi-definite square root R of the symmetric `n × n` matrix `matrix`
/// (row-major): R = V diag(√max(λ, 0)) Vᵀ, so R² = A when A is positive semi-definite. Negative
/// eigenvalues, which a covariance only has through round-off, are treated as zero. The result
/// is row-major and exactly symmetric.
pub fn sqrt_psd(matrix: &[f64], n: usize) -> Vec<f64> {
    let (eigenvalues, eigenvectors) = symmetric_eigen(matrix, n);
    let mut root = vec![0.0f64; n * n];
    for (k, &eigenvalue) in eigenvalues.iter().enumerate() {
        let weight = eigenvalue.max(0.0).sqrt();
        if weight == 0.0 {
            continue;
        }
        let vector = &eigenvectors[k * n..(k + 1) * n];
        for i in 0..n {
            let weighted = weight * vector[i];
            let root_row = &mut root[i * n..(i + 1) * n];
            for j in i..n {
                root_row[j] += weighted * vector[j];
            }
        }
    }
    for i in 0..n {
        for j in (i + 1)..n {
            root[j * n + i] = root[i * n + j];
        }
    }
    root
}

/// Converts a negative log-likelihood per image, in nats, to bits per dimension, the unit image
/// likelihoods are reported in: nll / (dims · ln 2). `dims` counts every sub-pixel
/// (3 · 32 · 32 = 3072 for CIFAR-10). A model that spreads its mass uniformly over the 256 values of
/// each 8-bit sub-pixel scores exactly 8.
pub fn bits_per_dim(nll_nats_per_image: f64, dims: usize) -> f64 {
    nll_nats_per_image / (dims as f64 * LN_2)
}

/// The negative log-likelihood, in nats per image, of the discrete 8-bit data under a continuous
/// density model, the quantity whose [`bits_per_dim`] is comparable across papers.
///
/// The model's density p(y) is over dequantised data y = (x + u) / `scale`, with x ∈ {0, …, 255}
/// the stored sub-pixel values and u ~ U[0, 1)^dims the dequantisation noise. Each discrete value
/// owns a unit-width cell on the 0..256 grid, so the probability the model gives an image is
/// read off the density on that grid, p(y) · scale^(−dims): the change of variables from y back
/// to x + u. Hence
///
/// NLL = −log p(y) + dims · ln(scale).
///
/// Averaged over u, this is an upper bound on the negative log-probability that the model,
/// integrated over each cell, gives the discrete image (Jensen's inequality; Theis et al. 2016),
/// which is why it is the number reported.
///
/// `scale` is 256 for data in [0, 1) (y = (x + u) / 256) and 128 for data in [−1, 1)
/// (y = (x + u) / 128 − 1; the shift has unit Jacobian and does not enter). Passing the log-density
/// the model reports on its own input space is the only requirement.
pub fn discrete_nll_from_density(log_density_nats_per_image: f64, dims: usize, scale: f64) -> f64 {
    -log_density_nats_per_image + dims as f64 * scale.ln()
}

fn trace(matrix: &[f64], n: usize) -> f64 {
    (0..n).map(|i| matrix[i * n + i]).sum()
}

fn identity(n: usize) -> Vec<f64> {
    let mut matrix = vec![0.0f64; n * n];
    for i in 0..n {
        matrix[i * n + i] = 1.0;
    }
    matrix
}

fn symmetrise(matrix: &mut [f64], n: usize) {
    for i in 0..n {
        for j in (i + 1)..n {
            let mean = 0.5 * (matrix[i * n + j] + matrix[j * n + i]);
            matrix[i * n + j] = mean;
            matrix[j * n + i] = mean;
        }
    }
}

/// Row-major `n × n` product; the i-k-j loop order keeps the inner loop on contiguous rows.
fn multiply(left: &[f64], right: &[f64], n: usize) -> Vec<f64> {
    let mut product = vec![0.0f64; n * n];
    for i in 0..n {
        let product_row = &mut product[i * n..(i + 1) * n];
        for k in 0..n {
            let factor = left[i * n + k];
            if factor == 0.0 {
                continue;
            }
            let right_row = &right[k * n..(k + 1) * n];
            for (out, &value) in product_row.iter_mut().zip(right_row) {
                *out += factor * value;
            }
        }
    }
    product
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rng::SeededRng;

    fn random_symmetric(rng: &mut SeededRng, n: usize) -> Vec<f64> {
        let mut matrix = vec![0.0; n * n];
        for i in 0..n {
            for j in i..n {
                let value = rng.normal() * 3.0;
                matrix[i * n + j] = value;
                matrix[j * n + i] = value;
            }
        }
        matrix
    }

    /// G Gᵀ with G of shape n × rank: positive semi-definite, singular when rank < n.
    fn random_psd(rng: &mut SeededRng, n: usize, rank: usize) -> Vec<f64> {
        let factor: Vec<f64> = (0..n * rank).map(|_| rng.normal()).collect();
        let mut matrix = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                matrix[i * n + j] = (0..rank)
                    .map(|k| factor[i * rank + k] * factor[j * rank + k])
                    .sum();
            }
        }
        matrix
    }

    fn max_abs_difference(x: &[f64], y: &[f64]) -> f64 {
        assert_eq!(x.len(), y.len());
        x.iter()
            .zip(y)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }

    fn diagonal_stats(mean: &[f64], variances: &[f64]) -> FeatureStats {
        let dim = mean.len();
        let mut cov = vec![0.0; dim * dim];
        for (i, &variance) in variances.iter().enumerate() {
            cov[i * dim + i] = variance;
        }
        FeatureStats {
            dim,
            count: 1000,
            mean: mean.to_vec(),
            cov,
        }
    }

    fn random_features(rng: &mut SeededRng, rows: usize, dim: usize, offset: f64) -> Vec<f32> {
        let mixing: Vec<f64> = (0..dim * dim).map(|_| rng.normal()).collect();
        let mut features = Vec::with_capacity(rows * dim);
        for _ in 0..rows {
            let latent: Vec<f64> = (0..dim).map(|_| rng.normal()).collect();
            for j in 0..dim {
                let value: f64 = (0..dim).map(|k| latent[k] * mixing[k * dim + j]).sum();
                features.push((value + offset + j as f64) as f32);
            }
        }
        features
    }

    #[test]
    fn eigen_decomposition_reconstructs_random_symmetric_matrices() {
        let mut rng = SeededRng::new(7);
        for n in [1, 2, 3, 8, 17, 40] {
            let matrix = random_symmetric(&mut rng, n);
            let (values, vectors) = symmetric_eigen(&matrix, n);
            assert!(
                values.windows(2).all(|pair| pair[0] <= pair[1]),
                "not ascending"
            );
            let mut rebuilt = vec![0.0; n * n];
            for (k, &value) in values.iter().enumerate() {
                let v = &vectors[k * n..(k + 1) * n];
                for i in 0..n {
                    for j in 0..n {
                        rebuilt[i * n + j] += value * v[i] * v[j];
                    }
                }
            }
            assert!(max_abs_difference(&rebuilt, &matrix) < 1e-10, "n = {n}");
            let mut gram = vec![0.0; n * n];
            for k in 0..n {
                for l in 0..n {
                    gram[k * n + l] = (0..n)
                        .map(|i| vectors[k * n + i] * vectors[l * n + i])
                        .sum();
                }
            }
            assert!(
                max_abs_difference(&gram, &identity(n)) < 1e-12,
                "n = {n}: not orthonormal"
            );
        }
    }

    #[test]
    fn eigenvalues_of_a_known_matrix() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3 with eigenvectors (1, −1)/√2 and (1, 1)/√2.
        let (values, vectors) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!(max_abs_difference(&values, &[1.0, 3.0]) < 1e-15);
        let half = std::f64::consts::FRAC_1_SQRT_2;
        assert!((vectors[0] * vectors[1] + half * half).abs() < 1e-15);
        assert!((vectors[2] * vectors[3] - half * half).abs() < 1e-15);
    }

    #[test]
    fn square_root_squares_back_to_the_matrix() {
        let mut rng = SeededRng::new(11);
        for (n, rank) in [(1, 1), (5, 5), (30, 30), (30, 7)] {
            let matrix = random_psd(&mut rng, n, rank);
            let root = sqrt_psd(&matrix, n);
            assert_eq!(root, {
                let mut transposed = root.clone();
                symmetrise(&mut transposed, n);
                transposed
            });
            let squared = multiply(&root, &root, n);
            let scale = matrix.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            assert!(
                max_abs_difference(&squared, &matrix) < 1e-12 * scale,
                "n = {n}, rank = {rank}"
            );
            let (root_eigenvalues, _) = symmetric_eigen(&root, n);
            assert!(
                root_eigenvalues[0] > -1e-12 * scale.sqrt(),
                "root is not PSD"
            );
        }
    }

    #[test]
    fn singular_values_sum_to_the_trace_of_the_square_root_of_the_gram_matrix() {
        let mut rng = SeededRng::new(13);
        for n in [1, 2, 9, 33] {
            let matrix: Vec<f64> = (0..n * n).map(|_| rng.normal()).collect();
            let transposed: Vec<f64> = (0..n * n).map(|k| matrix[(k % n) * n + k / n]).collect();
            let gram = multiply(&transposed, &matrix, n);
            let expected = trace(&sqrt_psd(&gram, n), n);
            let sum = sum_of_singular_values(&matrix, n);
            assert!(
                (sum - expected).abs() < 1e-10 * expected,
                "n = {n}: {sum} vs {expected}"
            );
        }
        // diag(3, −4) rotated: singular values 3 and 4.
        let (c, s) = (0.6, 0.8);
        let rotated = [3.0 * c, -3.0 * s, -4.0 * s, -4.0 * c];
        assert!((sum_of_singular_values(&rotated, 2) - 7.0).abs() < 1e-14);
    }

    #[test]
    fn statistics_match_the_textbook_formulas_even_far_from_the_origin() {
        let features = [1.0f32, 2.0, 3.0, 5.0, 5.0, 11.0];
        let stats = FeatureStats::from_rows(&features, 2).unwrap();
        assert_eq!(stats.count, 3);
        assert_eq!(stats.mean, vec![3.0, 6.0]);
        // Deviations (−2, −4), (0, −1), (2, 5): sums of products 8, 18, 42, over n − 1 = 2.
        assert_eq!(stats.cov, vec![4.0, 9.0, 9.0, 21.0]);

        let shifted: Vec<f32> = features.iter().map(|x| x + 1.0e6).collect();
        let shifted_stats = FeatureStats::from_rows(&shifted, 2).unwrap();
        assert!(max_abs_difference(&shifted_stats.cov, &stats.cov) < 1e-9);
    }

    #[test]
    fn malformed_features_are_refused() {
        assert!(FeatureStats::from_rows(&[1.0, 2.0, 3.0], 2).is_err());
        assert!(FeatureStats::from_rows(&[1.0, 2.0], 2).is_err());
        assert!(FeatureStats::from_rows(&[], 2).is_err());
        assert!(FeatureStats::from_rows(&[1.0, 2.0], 0).is_err());
        let error = FeatureStats::from_rows(&[1.0, 2.0, f32::NAN, 4.0], 2).unwrap_err();
        assert!(error.contains("feature vector 1"), "{error}");
    }

    #[test]
    fn identical_statistics_are_at_distance_zero() {
        let mut rng = SeededRng::new(3);
        let stats = FeatureStats::from_rows(&random_features(&mut rng, 300, 16, 5.0), 16).unwrap();
        let distance = frechet_distance(&stats, &stats).unwrap();
        assert!(distance.abs() < 1e-9, "{distance}");
    }

    /// Fewer samples than dimensions leave most covariance eigenvalues at zero, where a square
    /// root amplifies round-off the most; comparing such statistics with themselves is still 0.
    #[test]
    fn rank_deficient_statistics_are_at_distance_zero_from_themselves() {
        let mut rng = SeededRng::new(17);
        for (dim, rows) in [(48, 6), (96, 40)] {
            let features: Vec<f32> = (0..rows * dim)
                .map(|_| (rng.normal() * 3.0 + 1.0) as f32)
                .collect();
            let stats = FeatureStats::from_rows(&features, dim).unwrap();
            let distance = frechet_distance(&stats, &stats).unwrap();
            assert!(distance.abs() < 1e-9, "dim {dim}, {rows} rows: {distance}");
        }
    }

    #[test]
    fn diagonal_gaussians_match_the_closed_form() {
        let mean_a = [0.0, 1.0, -2.0, 4.0];
        let mean_b = [1.5, 1.0, 0.5, -1.0];
        let variances_a = [1.0, 4.0, 0.25, 9.0];
        let variances_b = [2.0, 1.0, 0.25, 0.01];
        let expected: f64 = mean_a
            .iter()
            .zip(&mean_b)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f64>()
            + variances_a
                .iter()
                .zip(&variances_b)
                .map(|(x, y): (&f64, &f64)| (x.sqrt() - y.sqrt()).powi(2))
                .sum::<f64>();
        let distance = frechet_distance(
            &diagonal_stats(&mean_a, &variances_a),
            &diagonal_stats(&mean_b, &variances_b),
        )
        .unwrap();
        assert!(
            (distance - expected).abs() < 1e-12 * expected,
            "{distance} vs {expected}"
        );
    }

    #[test]
    fn one_dimensional_distance_is_the_difference_of_means_and_deviations() {
        let (mu_1, sigma_1, mu_2, sigma_2) = (0.5f64, 2.0f64, -1.25f64, 0.75f64);
        let distance = frechet_distance(
            &diagonal_stats(&[mu_1], &[sigma_1 * sigma_1]),
            &diagonal_stats(&[mu_2], &[sigma_2 * sigma_2]),
        )
        .unwrap();
        let expected = (mu_1 - mu_2).powi(2) + (sigma_1 - sigma_2).powi(2);
        assert!(
            (distance - expected).abs() < 1e-14,
            "{distance} vs {expected}"
        );
    }

    #[test]
    fn distance_is_symmetric() {
        let mut rng = SeededRng::new(5);
        let a = FeatureStats::from_rows(&random_features(&mut rng, 200, 12, 0.0), 12).unwrap();
        let b = FeatureStats::from_rows(&random_features(&mut rng, 150, 12, 2.0), 12).unwrap();
        let forward = frechet_distance(&a, &b).unwrap();
        let backward = frechet_distance(&b, &a).unwrap();
        assert!(forward > 1.0);
        assert!(
            (forward - backward).abs() < 1e-10 * forward,
            "{forward} vs {backward}"
        );
    }

    #[test]
    fn mismatched_dimensions_are_refused() {
        let a = diagonal_stats(&[0.0, 0.0], &[1.0, 1.0]);
        let b = diagonal_stats(&[0.0, 0.0, 0.0], &[1.0, 1.0, 1.0]);
        assert!(frechet_distance(&a, &b).is_err());
        let mut truncated = a.clone();
        truncated.cov.pop();
        assert!(frechet_distance(&a, &truncated).is_err());
    }

    #[test]
    fn uniform_noise_on_eight_bit_pixels_is_eight_bits_per_dimension() {
        // The uniform density on [0, 1)^dims is 1 everywhere: log-density 0.
        let dims = 3 * 32 * 32;
        let nll = discrete_nll_from_density(0.0, dims, 256.0);
        assert_eq!(bits_per_dim(nll, dims), 8.0);
        // On [−1, 1) the same uniform model has density 2^−dims and scale 128.
        let nll = discrete_nll_from_density(-(dims as f64) * LN_2, dims, 128.0);
        assert!((bits_per_dim(nll, dims) - 8.0).abs() < 1e-12);
    }
}
