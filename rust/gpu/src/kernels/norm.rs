//! Batch normalisation with batch statistics (training mode): per-channel mean and biased
//! variance over every other axis, and the normalised, scaled and offset array, in one
//! dispatch from `norm.wgsl` (a workgroup per channel). float32, and float64 where the adapter
//! has shader-f64.

use crate::batch::Binding;
use crate::buffer::GpuBuffer;
use crate::context::context;
use crate::error::GpuError;
use crate::kernels::prelude;
use crate::pipelines::PipelineKey;

const TEMPLATE: &str = include_str!("norm.wgsl");

fn bind(b: &GpuBuffer) -> Binding<'_> {
    Binding { buffer: b.raw(), bytes: b.size_bytes() }
}

/// `scale · (x − mean) / sqrt(var + epsilon) + offset` per channel of the contiguous array `x`
/// viewed as (outer, C, inner), with `offset` and `scale` of length C. Returns `(y, mean,
/// var)`, the statistics of length C. Empty channels are refused (the caller's host kernel
/// defines them).
pub fn batchnorm_train(
    x: &GpuBuffer,
    offset: &GpuBuffer,
    scale: &GpuBuffer,
    outer: usize,
    c: usize,
    inner: usize,
    epsilon: f64,
) -> Result<(GpuBuffer, GpuBuffer, GpuBuffer), GpuError> {
    let gpu = context()?;
    const OP: &str = "batchnorm";
    let dtype = x.dtype();
    let numel = outer.checked_mul(c).and_then(|v| v.checked_mul(inner));
    if numel != Some(x.len()) || offset.len() != c || scale.len() != c || offset.dtype() != dtype || scale.dtype() != dtype {
        return Err(GpuError::InvalidArgument(format!(
            "{OP}: ({outer}, {c}, {inner}) for operands of {}, {} and {} elements (one dtype)",
            x.len(),
            offset.len(),
            scale.len()
        )));
    }
    if c == 0 || outer * inner == 0 {
        return Err(GpuError::InvalidArgument(format!("{OP}: an empty channel or no channels")));
    }
    if x.len() > u32::MAX as usize {
        return Err(GpuError::InvalidArgument(format!("{OP} past the kernels' 32-bit indexing")));
    }
    if !(epsilon > 0.0 && epsilon.is_finite()) {
        return Err(GpuError::InvalidArgument(format!("{OP}: epsilon must be positive, got {epsilon}")));
    }
    gpu.check_dtype(dtype, OP)?;
    // Epsilon is a literal of the shader (one pipeline per value: a model uses one or two),
    // which keeps float64's epsilon exact without a 64-bit parameter word.
    let eps = format!("{epsilon:e}");
    let pipeline = gpu.pipeline(PipelineKey { kernel: "norm", dtype, variant: format!("eps={eps}"), entry: "train" }, || {
        format!("{}{}", prelude(dtype), TEMPLATE.replace("{{EPS}}", &eps))
    })?;
    let y = GpuBuffer::uninit(gpu, dtype, x.len())?;
    let mean = GpuBuffer::uninit(gpu, dtype, c)?;
    let var = GpuBuffer::uninit(gpu, dtype, c)?;
    let params = [outer as u32, c as u32, inner as u32];
    let grid = gpu.grid(c as u64)?;
    gpu.record_dispatch(&pipeline, &params, &[bind(&y), bind(&mean), bind(&var), bind(x), bind(offset), bind(scale)], grid)?;
    Ok((y, mean, var))
}
