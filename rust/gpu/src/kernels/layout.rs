//! Moving data between layouts on the device: any strided view (a permutation, a broadcast,
//! a slice, a reversal) becomes a contiguous array by the elementwise copy kernel. A reshape
//! of a contiguous array needs no kernel at all: only the `Layout` changes.

use crate::buffer::GpuBuffer;
use crate::error::GpuError;
use crate::kernels::elementwise::{unary, UnaryOp};
use crate::kernels::Layout;

/// The view `layout` of `x` as a new contiguous array.
pub fn contiguous(x: &GpuBuffer, layout: &Layout) -> Result<GpuBuffer, GpuError> {
    unary(UnaryOp::Copy, x, layout)
}

/// The contiguous array of shape `shape` with its dimensions reordered by `perm` (numpy's
/// `transpose(x, perm)`); returns the array and its shape.
pub fn permute(x: &GpuBuffer, shape: &[usize], perm: &[usize]) -> Result<(GpuBuffer, Vec<usize>), GpuError> {
    let view = Layout::contiguous(shape).permuted(perm)?;
    let out = contiguous(x, &view)?;
    Ok((out, view.shape))
}

/// The contiguous array of `shape` that the array of shape `from` broadcasts to (numpy's
/// `broadcast_to`, made into its own array).
pub fn broadcast(x: &GpuBuffer, from: &[usize], shape: &[usize]) -> Result<GpuBuffer, GpuError> {
    contiguous(x, &Layout::contiguous(from).broadcast_to(shape)?)
}

/// The view `layout` of `x` reshaped to `shape` (row-major, as numpy's `reshape`): the same
/// layout's element order, laid out contiguously. Sizes must match.
pub fn reshape(x: &GpuBuffer, layout: &Layout, shape: &[usize]) -> Result<(GpuBuffer, Layout), GpuError> {
    if layout.numel() != shape.iter().product::<usize>() {
        return Err(GpuError::InvalidArgument(format!("cannot reshape {:?} to {shape:?}", layout.shape)));
    }
    let out = contiguous(x, layout)?;
    Ok((out, Layout::contiguous(shape)))
}
