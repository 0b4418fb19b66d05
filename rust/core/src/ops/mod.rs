//! The differentiable operations. Each file adds methods to [`crate::Tensor`] for one family,
//! together with their backward rules.

pub mod activation;
pub mod binary;
pub mod complex;
pub mod conv;
pub mod index;
pub mod matmul;
pub mod norm;
pub mod pool;
pub mod reduce;
pub mod recurrent;
pub mod shape_ops;
pub mod standardize;
pub mod unary;

pub use binary::{BinaryOp, CompareOp};
pub use reduce::ReduceOp;
pub use unary::UnaryOp;
