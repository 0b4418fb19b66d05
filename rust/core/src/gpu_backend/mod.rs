//! The backend interface between the core's ops and the GPU engine (`dlarray-gpu`).
//!
//! An op whose input is on the GPU asks here first: each function returns `Ok(Some(result))`
//! when a GPU kernel computed it, or `Ok(None)` when the op runs on the host instead — no input
//! is on the GPU, the engine has no kernel for the op or dtype, or the array is past what one
//! kernel can address. A host kernel reads the GPU arrays' host copies and its result is placed
//! on the GPU (see [`crate::storage`]), so every op works on GPU arrays, and the ops listed in
//! [`native`] run there. Failures of the device itself (lost, out of memory, a wait that timed
//! out) are errors, never a silent retry on the host.
//!
//! Without the `gpu` feature every function answers `Ok(None)`, and [`check_dtype`] — what
//! `gpuArray` asks — refuses with the reason.

#[cfg_attr(feature = "gpu", path = "native.rs")]
#[cfg_attr(not(feature = "gpu"), path = "host_only.rs")]
mod native;

pub(crate) use native::{
    add_rows, avgpool, avgpool_backward, batchnorm_train, binary, broadcast_to, compare, concat, conv, conv_input_grad, conv_weight_grad,
    index_put, leaky_relu, matmul, maxpool_backward, maxpool_gather, narrow, optim_step, pad_axis, permute, reduce, relu_grad, softmax,
    standardize, take_rows, unary, where_,
};
pub use native::{available, check_dtype, info, stats};
#[cfg(feature = "gpu")]
pub(crate) use native::{download, upload};
