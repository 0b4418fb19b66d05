//! Convolution (MATLAB's `dlconv`) and its two adjoints in MATLAB's layouts: input
//! (S..., C, N), weights (K..., C/G, F/G, G), output (O..., F, N), three spatial dims (1-D and
//! 2-D problems embedded with leading singletons), as the core's CPU kernels take them.
//!
//! Every pass is im2col plus the engine's matmul, one group per batch element of the product
//! (the weights are read in place through strides, nothing is transposed):
//! - forward: `y_g = W_gᵀ · col_g`, placed into the output with the bias;
//! - input gradient: `dcol_g = W_g · dy_g`, gathered back into input pixels (col2im: each
//!   input element sums the taps that read it, so no atomics);
//! - weight gradient: `dW_g = col_g · dy_gᵀ`, summed over chunks.
//!
//! The column matrix of the whole output can be far larger than one binding, so the passes
//! run over chunks of output pixels sized to fit it; a problem whose single output pixel does
//! not fit is refused with `BindingLimit` (the caller runs it on the host).

use crate::batch::Binding;
use crate::buffer::{DType, GpuBuffer};
use crate::context::{context, Gpu};
use crate::error::GpuError;
use crate::kernels::elementwise::{binary, BinaryOp};
use crate::kernels::layout::{contiguous, permute};
use crate::kernels::matmul::matmul;
use crate::kernels::{prelude, Layout};
use crate::pipelines::PipelineKey;

const TEMPLATE: &str = include_str!("conv.wgsl");
const WORKGROUP: u64 = 256;
/// The bytes of scratch (column matrix) a chunk aims for: larger chunks gain little once the
/// product fills the device, and the scratch stays modest.
const CHUNK_BYTES: u64 = 128 << 20;

/// The sizes of one convolution, spatial values padded to three dims (leading ones).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvShape {
    pub n: usize,
    /// Input channels (all groups).
    pub c: usize,
    /// Filters (all groups).
    pub f: usize,
    pub groups: usize,
    pub in_sp: [usize; 3],
    pub out_sp: [usize; 3],
    pub k: [usize; 3],
    pub stride: [usize; 3],
    pub dil: [usize; 3],
    /// Padding before each dim (the padding after only shows in `out_sp`).
    pub pad: [usize; 3],
}

impl ConvShape {
    fn cg(&self) -> usize {
        self.c / self.groups
    }
    fn fg(&self) -> usize {
        self.f / self.groups
    }
    fn taps(&self) -> usize {
        self.k.iter().product()
    }
    fn rows(&self) -> usize {
        self.cg() * self.taps()
    }
    fn out_pixels(&self) -> usize {
        self.out_sp.iter().product()
    }
    fn input_len(&self) -> usize {
        self.in_sp.iter().product::<usize>() * self.c * self.n
    }
    fn weight_len(&self) -> usize {
        self.taps() * self.cg() * self.f
    }
    fn output_len(&self) -> usize {
        self.out_pixels() * self.f * self.n
    }

    /// Checks the sizes describe a convolution the kernels handle: no extent zero (the caller
    /// computes those results directly), groups dividing the channels and filters, and every
    /// count and coordinate within the kernels' 32-bit indexing.
    fn check(&self) -> Result<(), GpuError> {
        let bad = |why: &str| Err(GpuError::InvalidArgument(format!("conv {self:?}: {why}")));
        let extents = [self.n, self.c, self.f, self.groups].into_iter().chain(self.in_sp).chain(self.out_sp).chain(self.k);
        if extents.clone().any(|v| v == 0) || self.stride.contains(&0) || self.dil.contains(&0) {
            return bad("an extent, stride or dilation is zero");
        }
        if !self.c.is_multiple_of(self.groups) || !self.f.is_multiple_of(self.groups) {
            return bad("the groups do not divide the channels and filters");
        }
        let small = |v: Option<usize>| v.is_some_and(|v| v <= i32::MAX as usize);
        let product = |vs: &[usize]| vs.iter().try_fold(1usize, |a, &v| a.checked_mul(v));
        let reach = |d: usize| (self.out_sp[d] - 1).checked_mul(self.stride[d])?.checked_add((self.k[d] - 1).checked_mul(self.dil[d])?);
        let counts = [
            product(&[product(&self.in_sp).unwrap_or(usize::MAX), self.c, self.n]),
            product(&[product(&self.out_sp).unwrap_or(usize::MAX), self.f, self.n]),
            product(&[product(&self.k).unwrap_or(usize::MAX), self.cg(), self.f]),
        ];
        if !counts.into_iter().chain((0..3).map(reach)).chain(self.pad.map(Some)).all(small) {
            return bad("sizes past the kernels' 32-bit indexing");
        }
        Ok(())
    }

    /// The parameter words of a pass over output pixels `p0 .. p0 + pc` with `threads`
    /// threads, then the padding value as `dtype`.
    fn params(&self, p0: usize, pc: usize, threads: usize, accumulate: bool, pad_value: f64, dtype: DType) -> Vec<u32> {
        let mut u = vec![
            self.n as u32,
            self.c as u32,
            self.cg() as u32,
            self.rows() as u32,
            pc as u32,
            p0 as u32,
            self.groups as u32,
            threads as u32,
            self.fg() as u32,
            self.f as u32,
            self.out_pixels() as u32,
            accumulate as u32,
        ];
        for v in [self.in_sp, self.out_sp, self.k, self.stride, self.dil, self.pad] {
            u.extend(v.iter().map(|&x| x as u32));
        }
        u.resize(32, 0);
        match dtype {
            DType::F32 => u.push((pad_value as f32).to_bits()),
            DType::F64 => {
                let b = pad_value.to_ne_bytes();
                u.push(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                u.push(u32::from_ne_bytes([b[4], b[5], b[6], b[7]]));
            }
        }
        u
    }

    /// Output pixels per chunk: about [`CHUNK_BYTES`] of column matrix (and of the other
    /// per-chunk arrays), never past `max_bytes` (one binding), and the matmul's grid within
    /// the adapter's.
    fn chunk_pixels(&self, gpu: &Gpu, dtype: DType, max_bytes: u64) -> Result<usize, GpuError> {
        let per_pixel = ((self.c * self.taps()).max(self.f) * self.n) as u64 * dtype.size() as u64;
        if per_pixel > max_bytes {
            return Err(GpuError::BindingLimit {
                requested_bytes: per_pixel,
                limit_bytes: max_bytes,
                what: "storage binding limit (one output pixel's column matrix)",
            });
        }
        let by_bytes = (CHUNK_BYTES.min(max_bytes) / per_pixel).max(1);
        // The product's columns (pixels × samples) are the grid's x, 64 a workgroup.
        let by_grid = (gpu.limits.max_compute_workgroups_per_dimension as u64 * 64 / self.n as u64).max(1);
        Ok(by_bytes.min(by_grid).min(self.out_pixels() as u64) as usize)
    }
}

/// How many output pixels a chunk holds: `None` for as many as fit a binding.
pub type Chunk = Option<usize>;

fn source(dtype: DType, bias: bool) -> String {
    let (extra, add) = if bias { ("@group(0) @binding(3) var<storage, read> bias: array<T>;", "+ bias[fch]") } else { ("", "") };
    format!("{}{}", prelude(dtype), TEMPLATE.replace("{{EXTRA}}", extra).replace("{{BIAS}}", add))
}

fn bind(b: &GpuBuffer) -> Binding<'_> {
    Binding { buffer: b.raw(), bytes: b.size_bytes() }
}

/// Records one dispatch of `entry` over `threads` threads.
fn dispatch(
    gpu: &Gpu,
    entry: &'static str,
    dtype: DType,
    bias: bool,
    params: &[u32],
    bindings: &[Binding<'_>],
    threads: usize,
) -> Result<(), GpuError> {
    let variant = if bias { "bias" } else { "plain" }.to_string();
    let pipeline = gpu.pipeline(PipelineKey { kernel: "conv", dtype, variant, entry }, || source(dtype, bias))?;
    let grid = gpu.grid((threads as u64).div_ceil(WORKGROUP))?;
    gpu.record_dispatch(&pipeline, params, bindings, grid)
}

/// Checks the operands' dtypes and lengths and the shape; returns the device and the dtype.
fn prepare(op: &str, shape: &ConvShape, operands: &[(&GpuBuffer, usize)]) -> Result<(&'static Gpu, DType), GpuError> {
    let gpu = context()?;
    shape.check()?;
    let dtype = operands[0].0.dtype();
    for &(b, len) in operands {
        if b.dtype() != dtype {
            return Err(GpuError::InvalidArgument(format!("{op} needs operands of one dtype")));
        }
        if b.len() != len {
            return Err(GpuError::InvalidArgument(format!("{op}: an operand of {} elements where {shape:?} needs {len}", b.len())));
        }
    }
    gpu.check_dtype(dtype, op)?;
    Ok((gpu, dtype))
}

/// The chunk's column matrix [G, rows, pc, N] of the input `x`, padding read as `pad_value`.
fn im2col(gpu: &Gpu, x: &GpuBuffer, s: &ConvShape, p0: usize, pc: usize, pad_value: f64) -> Result<GpuBuffer, GpuError> {
    let threads = s.c * s.taps() * pc * s.n;
    let col = GpuBuffer::uninit(gpu, x.dtype(), threads)?;
    let params = s.params(p0, pc, threads, false, pad_value, x.dtype());
    dispatch(gpu, "im2col", x.dtype(), false, &params, &[bind(&col), bind(x)], threads)?;
    Ok(col)
}

/// The chunk of the output gradient `g` (O..., F, N) as [G, F/G, pc, N], contiguous.
fn gradient_chunk(g: &GpuBuffer, s: &ConvShape, p0: usize, pc: usize) -> Result<GpuBuffer, GpuError> {
    let (n, f, fg) = (s.n as isize, s.f as isize, s.fg() as isize);
    let view = Layout { shape: vec![s.groups, s.fg(), pc, s.n], strides: vec![fg * n, n, f * n, 1], offset: p0 * s.f * s.n };
    contiguous(g, &view)
}

/// The weights as the batch of matrices W_g [rows, F/G] (or their transposes), read in place.
fn weight_view(s: &ConvShape, transposed: bool) -> Layout {
    let (g, fg) = (s.groups as isize, s.fg() as isize);
    if transposed {
        Layout { shape: vec![s.groups, s.fg(), s.rows()], strides: vec![1, g, fg * g], offset: 0 }
    } else {
        Layout { shape: vec![s.groups, s.rows(), s.fg()], strides: vec![1, fg * g, g], offset: 0 }
    }
}

/// `conv(x, w) + bias` with the padding read as `pad_value`: the output (O..., F, N).
pub fn forward(x: &GpuBuffer, w: &GpuBuffer, bias: Option<&GpuBuffer>, shape: &ConvShape, pad_value: f64) -> Result<GpuBuffer, GpuError> {
    forward_chunked(x, w, bias, shape, pad_value, None)
}

/// [`forward`] over chunks of `chunk` output pixels (for tests of the chunked path).
#[doc(hidden)]
pub fn forward_chunked(
    x: &GpuBuffer,
    w: &GpuBuffer,
    bias: Option<&GpuBuffer>,
    s: &ConvShape,
    pad_value: f64,
    chunk: Chunk,
) -> Result<GpuBuffer, GpuError> {
    let mut operands = vec![(x, s.input_len()), (w, s.weight_len())];
    operands.extend(bias.map(|b| (b, s.f)));
    let (gpu, dtype) = prepare("dlconv", s, &operands)?;
    let pc = chunk_size(gpu, s, dtype, chunk)?;
    let out = GpuBuffer::uninit(gpu, dtype, s.output_len())?;
    let total = s.out_pixels();
    for p0 in (0..total).step_by(pc) {
        let pc = pc.min(total - p0);
        let col = im2col(gpu, x, s, p0, pc, pad_value)?;
        let col_view = Layout::contiguous(&[s.groups, s.rows(), pc * s.n]);
        let (y, _) = matmul(w, &weight_view(s, true), &col, &col_view)?;
        let threads = s.f * pc * s.n;
        let params = s.params(p0, pc, threads, false, pad_value, dtype);
        let mut bindings = vec![bind(&out), bind(&y)];
        bindings.extend(bias.map(bind));
        dispatch(gpu, "place", dtype, bias.is_some(), &params, &bindings, threads)?;
    }
    Ok(out)
}

/// The gradient of `conv` with respect to its input for the output gradient `g` (O..., F, N):
/// the input's shape (S..., C, N). The padding value plays no part (padding is constant).
pub fn input_grad(g: &GpuBuffer, w: &GpuBuffer, shape: &ConvShape) -> Result<GpuBuffer, GpuError> {
    input_grad_chunked(g, w, shape, None)
}

/// [`input_grad`] over chunks of `chunk` output pixels.
#[doc(hidden)]
pub fn input_grad_chunked(g: &GpuBuffer, w: &GpuBuffer, s: &ConvShape, chunk: Chunk) -> Result<GpuBuffer, GpuError> {
    let (gpu, dtype) = prepare("dlconv input gradient", s, &[(g, s.output_len()), (w, s.weight_len())])?;
    let pc = chunk_size(gpu, s, dtype, chunk)?;
    let dx = GpuBuffer::uninit(gpu, dtype, s.input_len())?;
    let total = s.out_pixels();
    for p0 in (0..total).step_by(pc) {
        let pc = pc.min(total - p0);
        let gc = gradient_chunk(g, s, p0, pc)?;
        let gc_view = Layout::contiguous(&[s.groups, s.fg(), pc * s.n]);
        let (dcol, _) = matmul(w, &weight_view(s, false), &gc, &gc_view)?;
        let threads = s.input_len();
        let params = s.params(p0, pc, threads, p0 > 0, 0.0, dtype);
        dispatch(gpu, "col2im", dtype, false, &params, &[bind(&dx), bind(&dcol)], threads)?;
    }
    Ok(dx)
}

/// The gradient of `conv` with respect to its weights for the input `x` and the output
/// gradient `g`, summed over the batch, padding read as `pad_value`: the weights' shape
/// (K..., C/G, F/G, G).
pub fn weight_grad(x: &GpuBuffer, g: &GpuBuffer, shape: &ConvShape, pad_value: f64) -> Result<GpuBuffer, GpuError> {
    weight_grad_chunked(x, g, shape, pad_value, None)
}

/// [`weight_grad`] over chunks of `chunk` output pixels.
#[doc(hidden)]
pub fn weight_grad_chunked(x: &GpuBuffer, g: &GpuBuffer, s: &ConvShape, pad_value: f64, chunk: Chunk) -> Result<GpuBuffer, GpuError> {
    let (gpu, dtype) = prepare("dlconv weight gradient", s, &[(x, s.input_len()), (g, s.output_len())])?;
    let pc = chunk_size(gpu, s, dtype, chunk)?;
    let total = s.out_pixels();
    let mut sum: Option<GpuBuffer> = None;
    let grouped = [s.groups, s.rows(), s.fg()];
    for p0 in (0..total).step_by(pc) {
        let pc = pc.min(total - p0);
        let col = im2col(gpu, x, s, p0, pc, pad_value)?;
        let gc = gradient_chunk(g, s, p0, pc)?;
        let cols = pc * s.n;
        let gc_t = Layout { shape: vec![s.groups, cols, s.fg()], strides: vec![(s.fg() * cols) as isize, 1, cols as isize], offset: 0 };
        let (part, _) = matmul(&col, &Layout::contiguous(&[s.groups, s.rows(), cols]), &gc, &gc_t)?;
        sum = Some(match sum {
            None => part,
            Some(acc) => binary(BinaryOp::Add, &acc, &Layout::contiguous(&grouped), &part, &Layout::contiguous(&grouped))?.0,
        });
    }
    let sum = sum.expect("a convolution has at least one output pixel");
    // [G, (taps, C/G), F/G] to the weights' (taps, C/G, F/G, G).
    Ok(permute(&sum, &grouped, &[1, 2, 0])?.0)
}

fn chunk_size(gpu: &Gpu, s: &ConvShape, dtype: DType, chunk: Chunk) -> Result<usize, GpuError> {
    let max_bytes = gpu.limits.max_storage_buffer_binding_size.min(gpu.limits.max_buffer_size);
    let fit = s.chunk_pixels(gpu, dtype, max_bytes)?;
    Ok(chunk.map_or(fit, |c| c.clamp(1, fit)))
}
