//! Bits per dimension, the unit in which likelihood models of 8-bit images report how well they
//! fit: comparable across papers only when the density over continuous values is converted to a
//! probability of the discrete pixels the same way.

use std::f64::consts::LN_2;

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

#[cfg(test)]
mod tests {
    use super::*;

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
