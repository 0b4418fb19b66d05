//! Softmax and log-softmax along one axis of a contiguous array, from the one template
//! `softmax.wgsl`: the group's maximum is subtracted before the exponentials (nothing
//! overflows), and log-softmax is `x − max − log Σ exp(x − max)`, never the log of a
//! probability (exact where the probabilities underflow). Long groups get a workgroup each,
//! short ones a thread each. float32 only: the exponential and logarithm have no 64-bit forms
//! in the shading languages.

use crate::batch::Binding;
use crate::buffer::{DType, GpuBuffer};
use crate::context::context;
use crate::error::GpuError;
use crate::kernels::prelude;
use crate::pipelines::PipelineKey;

const TEMPLATE: &str = include_str!("softmax.wgsl");
const WORKGROUP: u64 = 256;
/// Groups at least this long use a workgroup each.
const PER_GROUP_FROM: usize = 128;

fn source(dtype: DType, log: bool) -> String {
    // The CPU kernel's forms: the shifted value less the log-sum, or its exponential times
    // the reciprocal of the sum.
    let finish = if log { "(v - m) - log(s)" } else { "exp(v - m) * inv" };
    format!("{}{}", prelude(dtype), TEMPLATE.replace("{{FINISH}}", finish))
}

/// `softmax` (or `log_softmax` when `log`) of the contiguous array `x` of shape `shape` along
/// `axis`; the result has the same shape.
pub fn softmax(x: &GpuBuffer, shape: &[usize], axis: usize, log: bool) -> Result<GpuBuffer, GpuError> {
    let gpu = context()?;
    let name = if log { "log_softmax" } else { "softmax" };
    if axis >= shape.len() {
        return Err(GpuError::InvalidArgument(format!("{name}: axis {axis} of a {}-dimensional array", shape.len())));
    }
    let numel: usize = shape.iter().product();
    if numel != x.len() {
        return Err(GpuError::InvalidArgument(format!("{name}: shape {shape:?} for a buffer of {} elements", x.len())));
    }
    gpu.check_dtype(x.dtype(), name)?;
    if x.dtype() == DType::F64 {
        return Err(GpuError::UnsupportedDType { dtype: "float64", op: name.to_string(), adapter: gpu.info.name.clone() });
    }
    if numel > u32::MAX as usize {
        return Err(GpuError::InvalidArgument(format!("{name} past the kernels' 32-bit indexing")));
    }
    let out = GpuBuffer::uninit(gpu, x.dtype(), numel)?;
    if numel == 0 {
        return Ok(out);
    }
    let (outer, n, inner) = (shape[..axis].iter().product::<usize>(), shape[axis], shape[axis + 1..].iter().product::<usize>());
    let columns = outer * inner;
    let per_group = n >= PER_GROUP_FROM;
    let entry = if per_group { "per_group" } else { "per_thread" };
    let variant = format!("{name}/{entry}");
    let pipeline = gpu.pipeline(PipelineKey { kernel: "softmax", dtype: x.dtype(), variant, entry }, || source(x.dtype(), log))?;
    let params = [outer as u32, n as u32, inner as u32, columns as u32];
    let groups = if per_group { columns as u64 } else { (columns as u64).div_ceil(WORKGROUP) };
    let grid = gpu.grid(groups)?;
    let bindings = [Binding { buffer: out.raw(), bytes: out.size_bytes() }, Binding { buffer: x.raw(), bytes: x.size_bytes() }];
    gpu.record_dispatch(&pipeline, &params, &bindings, grid)?;
    Ok(out)
}
