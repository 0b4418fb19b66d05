//! Raw compute on typed slices: no tensors, no tape.

pub mod elementwise;
pub mod gemm;
pub mod parallel;
pub mod reduce;
