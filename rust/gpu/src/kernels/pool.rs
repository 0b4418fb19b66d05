//! Max and average pooling and their adjoints in MATLAB's layout, input (S..., C, N) seen as
//! pixels of `inner` = C·N values, as the core's CPU kernels take it (three spatial dims,
//! 1-D and 2-D embedded with leading singletons). One dispatch each, from `pool.wgsl`; every
//! entry gathers (one thread per element written), so no atomics. Max pooling keeps no
//! indices: the adjoints find each window's maximum again, with the CPU's rule (the first in
//! row-major order; NaN wins), so the same elements are chosen.

use crate::batch::Binding;
use crate::buffer::{DType, GpuBuffer};
use crate::context::{context, Gpu};
use crate::error::GpuError;
use crate::kernels::prelude;
use crate::pipelines::PipelineKey;

const TEMPLATE: &str = include_str!("pool.wgsl");
const WORKGROUP: u64 = 256;

/// The sizes of one pooling, spatial values padded to three dims (leading ones).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolShape {
    /// Values per pixel (C·N).
    pub inner: usize,
    pub in_sp: [usize; 3],
    pub out_sp: [usize; 3],
    pub k: [usize; 3],
    pub stride: [usize; 3],
    /// Padding before each dim (the padding after only shows in `out_sp`).
    pub pad: [usize; 3],
}

impl PoolShape {
    fn input_len(&self) -> usize {
        self.in_sp.iter().product::<usize>() * self.inner
    }
    fn output_len(&self) -> usize {
        self.out_sp.iter().product::<usize>() * self.inner
    }

    /// Checks the kernels handle the sizes: no extent zero (the caller computes empty
    /// results), for max pooling every window overlapping the input (its maximum needs an
    /// element), and every count and coordinate within 32-bit indexing.
    fn check(&self, max: bool) -> Result<(), GpuError> {
        let bad = |why: &str| Err(GpuError::InvalidArgument(format!("pool {self:?}: {why}")));
        if self.inner == 0 || [self.in_sp, self.out_sp, self.k, self.stride].iter().flatten().any(|&v| v == 0) {
            return bad("an extent or stride is zero");
        }
        let product = |vs: &[usize]| vs.iter().try_fold(self.inner, |a, &v| a.checked_mul(v));
        let small = |v: Option<usize>| v.is_some_and(|v| v <= i32::MAX as usize);
        let reach = |d: usize| (self.out_sp[d] - 1).checked_mul(self.stride[d])?.checked_add(self.k[d]);
        let window = self.k.iter().try_fold(1usize, |a, &v| a.checked_mul(v));
        if ![product(&self.in_sp), product(&self.out_sp), window].into_iter().chain((0..3).map(reach)).chain(self.pad.map(Some)).all(small)
        {
            return bad("sizes past the kernels' 32-bit indexing");
        }
        for d in (0..3).filter(|_| max) {
            let start = (self.out_sp[d] - 1) * self.stride[d];
            if self.pad[d] >= self.k[d] || start >= self.in_sp[d] + self.pad[d] {
                return bad("a window lies wholly in the padding");
            }
        }
        Ok(())
    }

    fn params(&self, threads: usize, count_pad: bool) -> Vec<u32> {
        let mut p = vec![self.inner as u32, threads as u32, count_pad as u32, self.k.iter().product::<usize>() as u32];
        for v in [self.in_sp, self.out_sp, self.k, self.stride, self.pad] {
            p.extend(v.iter().map(|&x| x as u32));
        }
        p
    }
}

/// Records `entry` writing `len` elements of a new buffer from `src` (and `x`, the input
/// whose maxima the max entries look for).
fn run(
    gpu: &Gpu,
    entry: &'static str,
    shape: &PoolShape,
    count_pad: bool,
    src: &GpuBuffer,
    x: Option<&GpuBuffer>,
    len: usize,
) -> Result<GpuBuffer, GpuError> {
    let dtype: DType = src.dtype();
    let out = GpuBuffer::uninit(gpu, dtype, len)?;
    let pipeline =
        gpu.pipeline(PipelineKey { kernel: "pool", dtype, variant: String::new(), entry }, || format!("{}{TEMPLATE}", prelude(dtype)))?;
    let mut bindings = vec![bind(&out), bind(src)];
    bindings.extend(x.map(bind));
    let grid = gpu.grid((len as u64).div_ceil(WORKGROUP))?;
    gpu.record_dispatch(&pipeline, &shape.params(len, count_pad), &bindings, grid)?;
    Ok(out)
}

fn bind(b: &GpuBuffer) -> Binding<'_> {
    Binding { buffer: b.raw(), bytes: b.size_bytes() }
}

/// Checks the shape and that each operand has one dtype and its length.
fn prepare(op: &str, shape: &PoolShape, operands: &[(&GpuBuffer, usize)]) -> Result<&'static Gpu, GpuError> {
    let gpu = context()?;
    shape.check(op == "maxpool")?;
    let dtype = operands[0].0.dtype();
    for &(b, len) in operands {
        if b.dtype() != dtype || b.len() != len {
            return Err(GpuError::InvalidArgument(format!(
                "{op}: an operand of {} {} where {shape:?} needs {len} {}",
                b.len(),
                b.dtype().name(),
                dtype.name()
            )));
        }
    }
    gpu.check_dtype(dtype, op)?;
    Ok(gpu)
}

/// Average pooling of `x` (S..., C, N): (O..., C, N). With `count_pad` every window is
/// divided by the full pool size, else by the input elements it covers.
pub fn avg_forward(x: &GpuBuffer, shape: &PoolShape, count_pad: bool) -> Result<GpuBuffer, GpuError> {
    let gpu = prepare("avgpool", shape, &[(x, shape.input_len())])?;
    run(gpu, "avg_forward", shape, count_pad, x, None, shape.output_len())
}

/// The adjoint of [`avg_forward`] for the output gradient `g`: (S..., C, N).
pub fn avg_backward(g: &GpuBuffer, shape: &PoolShape, count_pad: bool) -> Result<GpuBuffer, GpuError> {
    let gpu = prepare("avgpool", shape, &[(g, shape.output_len())])?;
    run(gpu, "avg_backward", shape, count_pad, g, None, shape.input_len())
}

/// Max pooling of `x`: each window's maximum, (O..., C, N).
pub fn max_forward(x: &GpuBuffer, shape: &PoolShape) -> Result<GpuBuffer, GpuError> {
    max_gather(x, x, shape)
}

/// The elements of `src` (shaped like `x`) where the windows of `x` have their maxima:
/// (O..., C, N).
pub fn max_gather(src: &GpuBuffer, x: &GpuBuffer, shape: &PoolShape) -> Result<GpuBuffer, GpuError> {
    let gpu = prepare("maxpool", shape, &[(src, shape.input_len()), (x, shape.input_len())])?;
    run(gpu, "max_gather", shape, false, src, Some(x), shape.output_len())
}

/// The adjoint of max pooling for the output gradient `g`: zeros shaped like `x` with each
/// element of `g` added where its window of `x` has its maximum.
pub fn max_backward(g: &GpuBuffer, x: &GpuBuffer, shape: &PoolShape) -> Result<GpuBuffer, GpuError> {
    let gpu = prepare("maxpool", shape, &[(g, shape.output_len()), (x, shape.input_len())])?;
    run(gpu, "max_scatter", shape, false, g, Some(x), shape.input_len())
}
