//! Small dense matrices in `f64` (row-major `n × n` slices), as the Fréchet distance in
//! `images::fid` needs them: the eigendecomposition and positive semi-definite square root of a
//! symmetric matrix, and the sum of a matrix's singular values. All three are Jacobi methods,
//! chosen over faster ones for accuracy on the many near-zero eigenvalues of covariances
//! estimated from fewer samples than dimensions.

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
/// the Fréchet distance need. Panics if `matrix.len() != n * n`.
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
/// of using it in the Fréchet distance.
pub(crate) fn sum_of_singular_values(matrix: &[f64], n: usize) -> f64 {
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

pub(crate) fn trace(matrix: &[f64], n: usize) -> f64 {
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
pub(crate) fn multiply(left: &[f64], right: &[f64], n: usize) -> Vec<f64> {
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

/// The largest elementwise difference of two equally long vectors (the tests' yardstick).
#[cfg(test)]
pub(crate) fn max_abs_difference(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len());
    x.iter()
        .zip(y)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
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
}
