//! Small tensor helpers every domain uses.

use burn::tensor::{Device, Tensor, TensorData};

use crate::core::rng::SeededRng;

/// Standard-normal values from `rng` as a tensor of `shape` (host-drawn, so backend-independent).
pub fn host_normal<const D: usize>(
    shape: [usize; D],
    rng: &mut SeededRng,
    device: &Device,
) -> Tensor<D> {
    let n = shape.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
    Tensor::<D>::from_data(TensorData::new(values, shape), device)
}
