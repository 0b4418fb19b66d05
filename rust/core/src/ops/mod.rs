//! The differentiable operations. Each file adds methods to [`crate::Tensor`] for one family:
//! checks, the kernel call, and the op recorded as data ([`crate::op::OpKind`]); the backward
//! rules are in [`crate::autodiff::rules`].

pub mod activation;
pub mod binary;
pub mod complex;
pub mod conv;
pub mod index;
pub mod matmul;
pub mod norm;
pub mod pool;
pub mod recurrent;
pub mod reduce;
pub mod shape_ops;
pub mod softmax;
pub mod standardize;
pub mod unary;

pub use binary::{BinaryOp, CompareOp};
pub use reduce::ReduceOp;
pub use unary::UnaryOp;

/// Smooth, deterministic float64 test data of `shape` (the ops' unit tests).
#[cfg(test)]
pub(crate) fn test_data(shape: &[usize], seed: f64) -> crate::tensor::Tensor {
    let n: usize = shape.iter().product();
    crate::tensor::Tensor::from_vec((0..n).map(|i| ((i as f64 + seed) * 1.37).sin() * 2.0 + 0.3).collect::<Vec<f64>>(), shape.to_vec())
        .unwrap()
}
