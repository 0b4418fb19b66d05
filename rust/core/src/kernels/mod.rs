//! Raw compute on typed slices: no tensors, no tape.

pub mod complex_math;
pub mod conv;
pub mod elementwise;
pub mod gate_activation;
pub mod gemm;
pub mod lockstep;
pub mod norm;
pub mod packed_gemm;
pub mod parallel;
pub mod pool;
pub mod recurrent;
pub mod recurrent_gru;
pub mod recurrent_lstm;
pub mod reduce;
pub mod softmax;
pub mod standardize;
pub mod vmath;
