//! Reductions (sum, mean, max, min, prod) over any set of axes of any strided view, from the one
//! template `reduce.wgsl`. Long reductions give each output element a workgroup that strides
//! over the reduced elements and combines in workgroup memory; short ones give each output
//! element one thread.

use crate::batch::Binding;
use crate::buffer::{DType, GpuBuffer};
use crate::context::context;
use crate::error::GpuError;
use crate::kernels::{prelude, push_shape, Layout, MAX_DIMS};
use crate::pipelines::PipelineKey;

const TEMPLATE: &str = include_str!("reduce.wgsl");
const WORKGROUP: u64 = 256;
/// Reductions at least this long use a workgroup per output element.
const PER_GROUP_FROM: usize = 128;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// 0 over no elements.
    Sum,
    /// NaN over no elements (0/0, as numpy).
    Mean,
    /// NaN if any element is NaN; -inf over no elements.
    Max,
    /// NaN if any element is NaN; +inf over no elements.
    Min,
    /// 1 over no elements.
    Prod,
}

impl ReduceOp {
    fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Mean => "mean",
            ReduceOp::Max => "max",
            ReduceOp::Min => "min",
            ReduceOp::Prod => "prod",
        }
    }

    /// (identity, combine body, finish expression)
    fn wgsl(self) -> (&'static str, &'static str, &'static str) {
        const NEG_INF: &str = "T(bitcast<f32>(0xff800000u))";
        const POS_INF: &str = "T(bitcast<f32>(0x7f800000u))";
        match self {
            ReduceOp::Sum => ("T(0.0)", "return a + b;", "acc"),
            ReduceOp::Mean => ("T(0.0)", "return a + b;", "acc / T(params[1])"),
            ReduceOp::Max => (NEG_INF, "return select(max(a, b), a + b, is_nan(a) || is_nan(b));", "acc"),
            ReduceOp::Min => (POS_INF, "return select(min(a, b), a + b, is_nan(a) || is_nan(b));", "acc"),
            ReduceOp::Prod => ("T(1.0)", "return a * b;", "acc"),
        }
    }
}

fn source(op: ReduceOp, dtype: DType) -> String {
    let (init, combine, finish) = op.wgsl();
    let body = TEMPLATE.replace("{{INIT}}", init).replace("{{COMBINE}}", combine).replace("{{FINISH}}", finish).replace("{{T}}", "T");
    format!("{}{body}", prelude(dtype))
}

/// `op` of the view `layout` of `x` over `axes` (each once, in any order); returns the result
/// (contiguous) and its shape, the kept dimensions in order (numpy's `keepdims=False`).
pub fn reduce(op: ReduceOp, x: &GpuBuffer, layout: &Layout, axes: &[usize]) -> Result<(GpuBuffer, Vec<usize>), GpuError> {
    let gpu = context()?;
    layout.check_within(x.len())?;
    gpu.check_dtype(x.dtype(), op.name())?;
    let nd = layout.shape.len();
    let mut reduced = vec![false; nd];
    for &a in axes {
        if a >= nd || std::mem::replace(&mut reduced[a], true) {
            return Err(GpuError::InvalidArgument(format!("axes {axes:?} are not distinct axes of a {nd}-dimensional array")));
        }
    }
    let (kept, red): (Vec<usize>, Vec<usize>) = (0..nd).partition(|&d| !reduced[d]);
    let kept_shape: Vec<usize> = kept.iter().map(|&d| layout.shape[d]).collect();
    let red_shape: Vec<usize> = red.iter().map(|&d| layout.shape[d]).collect();
    let n_out: usize = kept_shape.iter().product();
    let n_red: usize = red_shape.iter().product();
    let out = GpuBuffer::uninit(gpu, x.dtype(), n_out)?;
    if n_out == 0 {
        return Ok((out, kept_shape));
    }
    if n_red > u32::MAX as usize || n_out > u32::MAX as usize {
        return Err(GpuError::InvalidArgument("a reduction past the kernels' 32-bit indexing".into()));
    }
    let per_group = n_red >= PER_GROUP_FROM;
    let entry = if per_group { "per_group" } else { "per_thread" };
    let key = PipelineKey { kernel: "reduce", dtype: x.dtype(), variant: format!("{}/{entry}", op.name()), entry };
    let pipeline = gpu.pipeline(key, || source(op, x.dtype()))?;

    let mut params = vec![n_out as u32, n_red as u32, kept.len() as u32, red.len() as u32, layout.offset as u32, 0, 0, 0];
    let strides_of =
        |dims: &[usize]| -> Vec<u32> { (0..MAX_DIMS).map(|i| dims.get(i).map_or(0, |&d| layout.strides[d] as i32 as u32)).collect() };
    push_shape(&mut params, &kept_shape);
    params.extend(strides_of(&kept));
    push_shape(&mut params, &red_shape);
    params.extend(strides_of(&red));
    let groups = if per_group { n_out as u64 } else { (n_out as u64).div_ceil(WORKGROUP) };
    let grid = gpu.grid(groups)?;
    let bindings = [Binding { buffer: out.raw(), bytes: out.size_bytes() }, Binding { buffer: x.raw(), bytes: x.size_bytes() }];
    gpu.record_dispatch(&pipeline, &params, &bindings, grid)?;
    Ok((out, kept_shape))
}
