//! The backend interface on the GPU engine. The ops that run on the GPU are here, each mapped
//! to its engine kernel; everything else runs on the host (see the module above).
//!
//! On the GPU: `+ - .* ./ .^ max min` with broadcasting, the comparisons, `where`, `neg abs
//! sign sqrt floor ceil relu` (float32 and float64) and `exp log sin cos tan tanh sigmoid`
//! (float32: the shading languages have no 64-bit forms), `sum max min` over any axes, `@` and
//! `pagemtimes` (either operand transposed), `permute`, softmax and log-softmax (float32),
//! batch normalisation with batch statistics (its backward is built from the ops above), and
//! the optimizers' fused steps
//! (`adamupdate`, `rmspropupdate`, `sgdmupdate`), convolution and its two adjoints (the input
//! and weight gradients, so transposed convolution too), max and average pooling and their
//! adjoints. Reshapes share the device buffer.

use std::sync::Arc;

use dlarray_gpu::kernels::{
    conv as cv, elementwise as ew, gather as ga, layout, matmul as mm, norm as nm, optim as og, pool as pl, reduce as rd, softmax as sm,
};
use dlarray_gpu::{GpuBuffer, GpuError, Layout};

use crate::buffer::Buffer;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernels::conv::ConvGeom;
use crate::kernels::pool::PoolGeom;
use crate::ops::{BinaryOp, CompareOp, ReduceOp, UnaryOp};
use crate::optim::rules::RuleKind;
use crate::storage::{Device, DeviceArray, Storage};
use crate::tensor::Tensor;

/// Whether a GPU adapter is present and a device was created on it.
pub fn available() -> bool {
    dlarray_gpu::available()
}

/// The adapter and its limits, as (name, value) pairs.
pub fn info() -> Result<Vec<(&'static str, String)>> {
    let i = dlarray_gpu::gpu_info().map_err(|e| to_error("gpu_info", e))?;
    Ok(vec![
        ("name", i.name),
        ("backend", i.backend),
        ("device_type", i.device_type),
        ("driver", i.driver),
        ("max_buffer_size", i.max_buffer_size.to_string()),
        ("max_storage_buffer_binding_size", i.max_storage_buffer_binding_size.to_string()),
        ("max_compute_workgroups_per_dimension", i.max_compute_workgroups_per_dimension.to_string()),
        ("max_compute_invocations_per_workgroup", i.max_compute_invocations_per_workgroup.to_string()),
        ("shader_f16", i.shader_f16.to_string()),
        ("shader_f64", i.shader_f64.to_string()),
    ])
}

/// The engine's counters since the process started, as (name, value) pairs: submits,
/// dispatches, uploads, readbacks (the batch), allocations and reuses (the buffer pool), and
/// pipelines compiled. For tests and reports of what a step costs on the device.
pub fn stats() -> Result<Vec<(&'static str, u64)>> {
    let s = dlarray_gpu::context().map_err(|e| to_error("gpu_stats", e))?.stats();
    Ok(vec![
        ("submits", s.batch.submits),
        ("dispatches", s.batch.dispatches),
        ("uploads", s.batch.uploads),
        ("readbacks", s.batch.readbacks),
        ("allocations", s.pool.allocations),
        ("reuses", s.pool.reuses),
        ("live_bytes", s.pool.live_bytes),
        ("pipelines_compiled", s.pipelines_compiled),
    ])
}

/// Whether an array of `dtype` can be moved to the GPU; the reason when not.
pub fn check_dtype(dtype: DType) -> Result<()> {
    let gpu = dlarray_gpu::context().map_err(|e| to_error("gpuArray", e))?;
    match dtype {
        DType::F32 => Ok(()),
        DType::F64 if gpu.info().shader_f64 => Ok(()),
        DType::F64 => Err(Error::dtype(
            "gpuArray",
            format!("float64 is not supported on the GPU adapter \"{}\" (it lacks shader-f64); use float32", gpu.info().name),
        )),
        _ => {
            Err(Error::dtype("gpuArray", format!("{dtype} arrays cannot be moved to the GPU (the GPU backend holds float32 and float64)")))
        }
    }
}

fn engine_dtype(dtype: DType) -> Option<dlarray_gpu::DType> {
    match dtype {
        DType::F32 => Some(dlarray_gpu::DType::F32),
        DType::F64 => Some(dlarray_gpu::DType::F64),
        _ => None,
    }
}

/// The core's error for a failure of the engine in `op`.
fn to_error(op: &str, e: GpuError) -> Error {
    match e {
        GpuError::OutOfMemory { .. } => Error::memory(op, e.to_string()),
        GpuError::UnsupportedDType { .. } => Error::dtype(op, e.to_string()),
        GpuError::Validation(_) => Error::internal(op, e.to_string()),
        _ => Error::device(op, e.to_string()),
    }
}

/// Reads a device buffer back into host memory.
pub(crate) fn download(g: &GpuBuffer) -> Result<Buffer> {
    let read = match g.dtype() {
        dlarray_gpu::DType::F32 => g.to_f32_vec().map(|v| Buffer::F32(v.into())),
        dlarray_gpu::DType::F64 => g.to_f64_vec().map(|v| Buffer::F64(v.into())),
    };
    read.map_err(|e| to_error("gather", e))
}

/// Copies host data to a new device buffer.
pub(crate) fn upload(b: &Buffer) -> Result<GpuBuffer> {
    let made = match b {
        Buffer::F32(v) => GpuBuffer::from_f32(v),
        Buffer::F64(v) => GpuBuffer::from_f64(v),
        _ => return Err(Error::dtype("gpuArray", format!("{} arrays cannot be moved to the GPU", b.dtype()))),
    };
    made.map_err(|e| to_error("gpuArray", e))
}

/// An operand's device buffer: its own, a host operand (a constant beside a GPU array)
/// uploaded for this op, or a host scalar's copy kept on the device.
enum Operand<'a> {
    Resident(&'a GpuBuffer),
    Uploaded(GpuBuffer),
    Scalar(Arc<GpuBuffer>),
}

/// Host scalars' device copies, by dtype and bits: the constants of a training step (`2.0`,
/// `0.5`, a learning rate) are made afresh on every call, and uploading each one is a copy
/// queued to the device. Kept for the process's life, a few hundred at most; never written
/// (kernels only read their inputs).
fn device_scalar(h: &Buffer) -> Result<Arc<GpuBuffer>> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    const KEPT: usize = 256;
    /// (dtype code, value bits) → the device copy.
    type Scalars = HashMap<(u8, u64), Arc<GpuBuffer>>;
    static CACHE: OnceLock<Mutex<Scalars>> = OnceLock::new();
    let key = match h {
        Buffer::F32(v) => (0, v[0].to_bits() as u64),
        Buffer::F64(v) => (1, v[0].to_bits()),
        _ => return Ok(Arc::new(upload(h)?)),
    };
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(found) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(found.clone());
    }
    let made = Arc::new(upload(h)?);
    let mut kept = cache.lock().unwrap_or_else(|e| e.into_inner());
    if kept.len() < KEPT {
        kept.insert(key, made.clone());
    }
    Ok(made)
}

impl std::ops::Deref for Operand<'_> {
    type Target = GpuBuffer;
    fn deref(&self) -> &GpuBuffer {
        match self {
            Operand::Resident(g) => g,
            Operand::Uploaded(g) => g,
            Operand::Scalar(g) => g,
        }
    }
}

/// The operands' device buffers when the op is to run on the GPU: an input is on the GPU and
/// every input has one dtype that the adapter holds.
fn operands<'a>(inputs: &[&'a Tensor]) -> Result<Option<Vec<Operand<'a>>>> {
    if !Tensor::any_on_gpu(inputs.iter().copied()) {
        return Ok(None);
    }
    let dtype = inputs[0].dtype();
    if inputs.iter().any(|t| t.dtype() != dtype) || engine_dtype(dtype).is_none() {
        return Ok(None);
    }
    let gpu = dlarray_gpu::context().map_err(|e| to_error("gpu", e))?;
    if dtype == DType::F64 && !gpu.info().shader_f64 {
        return Ok(None);
    }
    // An array past the binding limit stays in its host copy.
    let limit = gpu.info().max_storage_buffer_binding_size;
    if inputs.iter().any(|t| (t.numel() * t.dtype().size_of()) as u64 > limit) {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(inputs.len());
    for t in inputs {
        out.push(match t.storage() {
            Storage::Device(d) => Operand::Resident(d.gpu()?),
            Storage::Host(h) if h.len() == 1 => Operand::Scalar(device_scalar(h)?),
            Storage::Host(h) => Operand::Uploaded(upload(h)?),
        });
    }
    Ok(Some(out))
}

/// A kernel's result as storage, or `None` where the engine has no kernel for these operands
/// (a dtype, rank or size it does not handle), which sends the op to the host.
fn finish(op: &str, dtype: DType, made: std::result::Result<GpuBuffer, GpuError>) -> Result<Option<Storage>> {
    match made {
        Ok(g) => Ok(Some(stored(g, dtype))),
        Err(e) if runs_on_host(&e) => Ok(None),
        Err(e) => Err(to_error(op, e)),
    }
}

/// Whether a kernel's refusal sends the op to the host: operands it does not handle, as
/// opposed to a failure of the device.
fn runs_on_host(e: &GpuError) -> bool {
    matches!(
        e,
        GpuError::UnsupportedDType { .. } | GpuError::InvalidArgument(_) | GpuError::BindingLimit { .. } | GpuError::DispatchLimit { .. }
    )
}

fn stored(g: GpuBuffer, dtype: DType) -> Storage {
    Storage::Device(Arc::new(DeviceArray::from_gpu(g, dtype)))
}

fn layout_of(t: &Tensor) -> Layout {
    Layout::contiguous(t.shape())
}

pub(crate) fn unary(op: UnaryOp, x: &Tensor) -> Result<Option<Storage>> {
    use ew::UnaryOp as G;
    let kernel = match op {
        UnaryOp::Neg => G::Neg,
        UnaryOp::Abs => G::Abs,
        UnaryOp::Sign => G::Sign,
        UnaryOp::Sqrt => G::Sqrt,
        UnaryOp::Floor => G::Floor,
        UnaryOp::Ceil => G::Ceil,
        UnaryOp::Relu => G::Relu,
        UnaryOp::Exp => G::Exp,
        UnaryOp::Log => G::Log,
        UnaryOp::Sin => G::Sin,
        UnaryOp::Cos => G::Cos,
        UnaryOp::Tan => G::Tan,
        UnaryOp::Tanh => G::Tanh,
        UnaryOp::Sigmoid => G::Sigmoid,
        // Half to even, on both devices (numpy's rule).
        UnaryOp::Round => G::Round,
        UnaryOp::Log1p => G::Log1p,
        UnaryOp::Sinh => G::Sinh,
        UnaryOp::Cosh => G::Cosh,
        UnaryOp::Asin => G::Asin,
        UnaryOp::Acos => G::Acos,
        UnaryOp::Atan => G::Atan,
        UnaryOp::Erf => G::Erf,
    };
    let Some(ops) = operands(&[x])? else { return Ok(None) };
    finish(op.name(), x.dtype(), ew::unary(kernel, &ops[0], &layout_of(x)))
}

pub(crate) fn binary(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Option<Storage>> {
    use ew::BinaryOp as G;
    let kernel = match op {
        BinaryOp::Add => G::Add,
        BinaryOp::Sub => G::Sub,
        BinaryOp::Mul => G::Mul,
        BinaryOp::Div => G::Div,
        BinaryOp::Pow => G::Pow,
        BinaryOp::Maximum => G::Maximum,
        BinaryOp::Minimum => G::Minimum,
        BinaryOp::Atan2 => G::Atan2,
    };
    elementwise2(op.name(), kernel, a, b)
}

pub(crate) fn compare(op: CompareOp, a: &Tensor, b: &Tensor) -> Result<Option<Storage>> {
    use ew::BinaryOp as G;
    let kernel = match op {
        CompareOp::Eq => G::Eq,
        CompareOp::Ne => G::Ne,
        CompareOp::Lt => G::Lt,
        CompareOp::Le => G::Le,
        CompareOp::Gt => G::Gt,
        CompareOp::Ge => G::Ge,
    };
    elementwise2(op.name(), kernel, a, b)
}

/// relu's backward, `g` where `x > 0` (same shapes).
pub(crate) fn relu_grad(g: &Tensor, x: &Tensor) -> Result<Option<Storage>> {
    elementwise2("relu_grad", ew::BinaryOp::ReluGrad, g, x)
}

/// leakyrelu of `x` with `scale` below zero, or its slope (1 above zero, `scale` below).
pub(crate) fn leaky_relu(x: &Tensor, scale: f64, slope: bool) -> Result<Option<Storage>> {
    let (name, kernel) = if slope { ("leakyrelu_slope", ew::BinaryOp::LeakyReluSlope) } else { ("leakyrelu", ew::BinaryOp::LeakyRelu) };
    elementwise2(name, kernel, x, &Tensor::scalar_like(scale, x.dtype()))
}

/// Rows `idx` of `x` viewed as (outer, n, inner): numpy's `take` along an axis, or of flat
/// positions with outer = inner = 1.
pub(crate) fn take_rows(x: &Tensor, (outer, n, inner): (usize, usize, usize), idx: &[usize]) -> Result<Option<Storage>> {
    let Some(ops) = operands(&[x])? else { return Ok(None) };
    finish("take", x.dtype(), ga::take_rows(&ops[0], ga::Rows { outer, n, inner }, idx))
}

/// Zeros of (outer, n, inner) with the rows of `v` (outer, idx.len(), inner) added at rows
/// `idx`: the adjoint of [`take_rows`].
pub(crate) fn add_rows(v: &Tensor, (outer, n, inner): (usize, usize, usize), idx: &[usize]) -> Result<Option<Storage>> {
    let Some(ops) = operands(&[v])? else { return Ok(None) };
    finish("index_add", v.dtype(), ga::add_rows(&ops[0], ga::Rows { outer, n, inner }, idx))
}

/// A copy of `base` with `values` (one per position) written at flat positions `idx`.
pub(crate) fn index_put(base: &Tensor, idx: &[usize], values: &Tensor) -> Result<Option<Storage>> {
    let Some(ops) = operands(&[base, values])? else { return Ok(None) };
    finish("index assignment", base.dtype(), ga::put(&ops[0], idx, &ops[1]))
}

fn elementwise2(name: &str, kernel: ew::BinaryOp, a: &Tensor, b: &Tensor) -> Result<Option<Storage>> {
    let Some(ops) = operands(&[a, b])? else { return Ok(None) };
    finish(name, a.dtype(), ew::binary(kernel, &ops[0], &layout_of(a), &ops[1], &layout_of(b)).map(|(g, _)| g))
}

pub(crate) fn where_(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Option<Storage>> {
    let Some(ops) = operands(&[cond, a, b])? else { return Ok(None) };
    let made = ew::where_(&ops[0], &layout_of(cond), &ops[1], &layout_of(a), &ops[2], &layout_of(b)).map(|(g, _)| g);
    finish("where", a.dtype(), made)
}

/// `op` over `axes` (the result keeps them as size 1: the same elements in the same order).
pub(crate) fn reduce(op: ReduceOp, x: &Tensor, axes: &[usize]) -> Result<Option<Storage>> {
    let kernel = match op {
        ReduceOp::Sum => rd::ReduceOp::Sum,
        ReduceOp::Max => rd::ReduceOp::Max,
        ReduceOp::Min => rd::ReduceOp::Min,
        ReduceOp::Prod => rd::ReduceOp::Prod,
    };
    if x.numel() == 0 {
        return Ok(None);
    }
    let Some(ops) = operands(&[x])? else { return Ok(None) };
    finish(op.name(), x.dtype(), rd::reduce(kernel, &ops[0], &layout_of(x), axes).map(|(g, _)| g))
}

/// Batch normalisation with batch statistics of `x` viewed as (outer, C, inner): `(y, mean,
/// var)`, made by one kernel; empty channels run on the host.
pub(crate) fn batchnorm_train(
    x: &Tensor,
    offset: &Tensor,
    scale: &Tensor,
    (outer, c, inner): (usize, usize, usize),
    epsilon: f64,
) -> Result<Option<(Storage, Storage, Storage)>> {
    if x.device() != Device::Gpu || x.numel() == 0 {
        return Ok(None);
    }
    let Some(ops) = operands(&[x, offset, scale])? else { return Ok(None) };
    match nm::batchnorm_train(&ops[0], &ops[1], &ops[2], outer, c, inner, epsilon) {
        Ok((y, m, v)) => Ok(Some((stored(y, x.dtype()), stored(m, x.dtype()), stored(v, x.dtype())))),
        Err(e) if runs_on_host(&e) => Ok(None),
        Err(e) => Err(to_error("batchnorm", e)),
    }
}

/// `x` standardised over `axes` (see [`Tensor::standardize`]) by the batch-normalisation
/// kernel, with offset 0 and scale 1: every group of `x` is a channel of an (outer, C, inner)
/// view. When the axes kept apart (those of more than one element) are not adjacent (group
/// normalisation's), `x` is permuted so that they are last, and the result permuted back.
pub(crate) fn standardize(x: &Tensor, axes: &[usize], epsilon: f64) -> Result<Option<Storage>> {
    if x.device() != Device::Gpu || x.numel() == 0 {
        return Ok(None);
    }
    let one = Tensor::scalar_like(1.0, x.dtype());
    let zero = Tensor::scalar_like(0.0, x.dtype());
    let Some(ops) = operands(&[x, &zero, &one])? else { return Ok(None) };
    let shape = x.shape();
    let normalise = |x: &GpuBuffer, (outer, c, inner): (usize, usize, usize)| -> std::result::Result<GpuBuffer, GpuError> {
        let offset = layout::broadcast(&ops[1], &[], &[c])?;
        let scale = layout::broadcast(&ops[2], &[], &[c])?;
        Ok(nm::batchnorm_train(x, &offset, &scale, outer, c, inner, epsilon)?.0)
    };
    let made = match group_view(shape, axes) {
        Some(view) => normalise(&ops[0], view),
        None => {
            let perm: Vec<usize> = axes.iter().copied().chain((0..shape.len()).filter(|a| !axes.contains(a))).collect();
            let mut back = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                back[p] = i;
            }
            let size = |dims: &[usize]| dims.iter().map(|&a| shape[a]).product::<usize>();
            let (outer, c) = (size(axes), size(&perm[axes.len()..]));
            layout::permute(&ops[0], shape, &perm).and_then(|(moved, moved_shape)| {
                let y = normalise(&moved, (outer, c, 1))?;
                Ok(layout::permute(&y, &moved_shape, &back)?.0)
            })
        }
    };
    finish("standardize", x.dtype(), made)
}

/// `(outer, groups, inner)` when the axes not in `axes` that have more than one element are
/// adjacent (so the groups are the middle dimension of a contiguous view).
fn group_view(shape: &[usize], axes: &[usize]) -> Option<(usize, usize, usize)> {
    let kept: Vec<usize> = (0..shape.len()).filter(|a| !axes.contains(a) && shape[*a] > 1).collect();
    let (first, last) = match (kept.first(), kept.last()) {
        (Some(&f), Some(&l)) => (f, l + 1),
        _ => (0, 0),
    };
    if (first..last).any(|a| axes.contains(&a) && shape[a] > 1) {
        return None;
    }
    let size = |dims: &[usize]| dims.iter().product::<usize>();
    Some((size(&shape[..first]), size(&shape[first..last]), size(&shape[last..])))
}

/// `op(a) @ op(b)` with batch broadcasting, either operand read transposed.
pub(crate) fn matmul(a: &Tensor, b: &Tensor, ta: bool, tb: bool) -> Result<Option<Storage>> {
    let Some(ops) = operands(&[a, b])? else { return Ok(None) };
    let view = |t: &Tensor, transposed: bool| -> std::result::Result<Layout, GpuError> {
        let l = layout_of(t);
        if !transposed {
            return Ok(l);
        }
        let mut perm: Vec<usize> = (0..t.ndim()).collect();
        perm.swap(t.ndim() - 2, t.ndim() - 1);
        l.permuted(&perm)
    };
    let made =
        view(a, ta).and_then(|la| Ok((la, view(b, tb)?))).and_then(|(la, lb)| mm::matmul(&ops[0], &la, &ops[1], &lb)).map(|(g, _)| g);
    finish("pagemtimes", a.dtype(), made)
}

pub(crate) fn broadcast_to(x: &Tensor, shape: &[usize]) -> Result<Option<Storage>> {
    let Some(ops) = operands(&[x])? else { return Ok(None) };
    finish("broadcast_to", x.dtype(), layout::broadcast(&ops[0], x.shape(), shape))
}

pub(crate) fn permute(x: &Tensor, perm: &[usize]) -> Result<Option<Storage>> {
    let Some(ops) = operands(&[x])? else { return Ok(None) };
    finish("permute", x.dtype(), layout::permute(&ops[0], x.shape(), perm).map(|(g, _)| g))
}

/// The slice `start..start + len` along `axis`, by a strided copy.
pub(crate) fn narrow(x: &Tensor, axis: usize, start: usize, len: usize) -> Result<Option<Storage>> {
    let Some(ops) = operands(&[x])? else { return Ok(None) };
    let mut view = Layout::contiguous(x.shape());
    view.offset = start * view.strides[axis] as usize;
    view.shape[axis] = len;
    finish("narrow", x.dtype(), layout::contiguous(&ops[0], &view))
}

/// `x` viewed as (outer, n, inner) around `axis`.
fn around(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (shape[..axis].iter().product(), shape[axis], shape[axis + 1..].iter().product())
}

/// `x` with `before` and `after` zeros along `axis`.
pub(crate) fn pad_axis(x: &Tensor, axis: usize, before: usize, after: usize) -> Result<Option<Storage>> {
    let Some(ops) = operands(&[x])? else { return Ok(None) };
    let (outer, k, inner) = around(x.shape(), axis);
    finish("pad", x.dtype(), ga::pad_rows(&ops[0], outer, k, inner, before, after))
}

/// `xs` (one dtype, equal outside `axis`) joined along `axis`.
pub(crate) fn concat(xs: &[&Tensor], axis: usize) -> Result<Option<Storage>> {
    let Some(ops) = operands(xs)? else { return Ok(None) };
    let (outer, _, inner) = around(xs[0].shape(), axis);
    let sizes: Vec<usize> = xs.iter().map(|x| x.shape()[axis]).collect();
    let parts: Vec<&GpuBuffer> = ops.iter().map(|o| &**o).collect();
    finish("concatenate", xs[0].dtype(), ga::concat_rows(&parts, outer, &sizes, inner))
}

/// Softmax (or log-softmax when `log`) along `axis`.
pub(crate) fn softmax(x: &Tensor, axis: usize, log: bool) -> Result<Option<Storage>> {
    let Some(ops) = operands(&[x])? else { return Ok(None) };
    finish(if log { "log_softmax" } else { "softmax" }, x.dtype(), sm::softmax(&ops[0], x.shape(), axis, log))
}

/// One optimizer step of one parameter that is on the GPU: the new parameter and states, made
/// by one kernel from the parameter, its gradient and its given states (`None`: zeros), all of
/// the parameter's dtype. `consts` are the rule's scalars in float64 (`Rule::consts`).
pub(crate) fn optim_step(
    op: &str,
    kind: RuleKind,
    consts: &[f64; 6],
    param: &Tensor,
    grad: &Tensor,
    states: &[Option<&Tensor>],
) -> Result<Option<(Storage, Vec<Storage>)>> {
    // The result goes where the parameter is: a host parameter with a GPU gradient steps on the host.
    if param.device() != Device::Gpu {
        return Ok(None);
    }
    let rule = match kind {
        RuleKind::Adam => og::OptimRule::Adam,
        RuleKind::RmsProp => og::OptimRule::RmsProp,
        RuleKind::Sgdm => og::OptimRule::Sgdm,
    };
    let mut inputs = vec![param, grad];
    inputs.extend(states.iter().flatten().copied());
    let Some(ops) = operands(&inputs)? else { return Ok(None) };
    let mut given_ops = ops[2..].iter();
    let given: Vec<Option<&GpuBuffer>> = states.iter().map(|s| s.and_then(|_| given_ops.next()).map(|o| &**o)).collect();
    match og::step(rule, consts, &ops[0], &ops[1], &given) {
        Ok((p, s)) => Ok(Some((stored(p, param.dtype()), s.into_iter().map(|g| stored(g, param.dtype())).collect()))),
        Err(e) if runs_on_host(&e) => Ok(None),
        Err(e) => Err(to_error(op, e)),
    }
}

fn conv_shape(geo: &ConvGeom) -> cv::ConvShape {
    cv::ConvShape {
        n: geo.n,
        c: geo.c,
        f: geo.f,
        groups: geo.groups,
        in_sp: geo.in_sp,
        out_sp: geo.out_sp,
        k: geo.k,
        stride: geo.stride,
        dil: geo.dil,
        pad: geo.pad,
    }
}

/// `conv(x, w) + bias` (a geometry with no zero extent), padding read as `pad_value`.
pub(crate) fn conv(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, geo: &ConvGeom, pad_value: f64) -> Result<Option<Storage>> {
    let mut inputs = vec![x, w];
    inputs.extend(bias);
    let Some(ops) = operands(&inputs)? else { return Ok(None) };
    finish("dlconv", x.dtype(), cv::forward(&ops[0], &ops[1], ops.get(2).map(|b| &**b), &conv_shape(geo), pad_value))
}

/// The input gradient of `conv` for the output gradient `g`.
pub(crate) fn conv_input_grad(g: &Tensor, w: &Tensor, geo: &ConvGeom) -> Result<Option<Storage>> {
    let Some(ops) = operands(&[g, w])? else { return Ok(None) };
    finish("dlconv", g.dtype(), cv::input_grad(&ops[0], &ops[1], &conv_shape(geo)))
}

/// The weight gradient of `conv` for the input `x` and the output gradient `g`.
pub(crate) fn conv_weight_grad(x: &Tensor, g: &Tensor, geo: &ConvGeom, pad_value: f64) -> Result<Option<Storage>> {
    let Some(ops) = operands(&[x, g])? else { return Ok(None) };
    finish("dlconv", x.dtype(), cv::weight_grad(&ops[0], &ops[1], &conv_shape(geo), pad_value))
}

fn pool_shape(geo: &PoolGeom) -> pl::PoolShape {
    pl::PoolShape { inner: geo.inner, in_sp: geo.in_sp, out_sp: geo.out_sp, k: geo.k, stride: geo.stride, pad: geo.pad }
}

/// Average pooling of `x`; `count_pad` divides by the full window.
pub(crate) fn avgpool(x: &Tensor, geo: &PoolGeom, count_pad: bool) -> Result<Option<Storage>> {
    let Some(ops) = operands(&[x])? else { return Ok(None) };
    finish("avgpool", x.dtype(), pl::avg_forward(&ops[0], &pool_shape(geo), count_pad))
}

/// The adjoint of average pooling for the output gradient `g`.
pub(crate) fn avgpool_backward(g: &Tensor, geo: &PoolGeom, count_pad: bool) -> Result<Option<Storage>> {
    let Some(ops) = operands(&[g])? else { return Ok(None) };
    finish("avgpool", g.dtype(), pl::avg_backward(&ops[0], &pool_shape(geo), count_pad))
}

/// The elements of `src` (shaped like `x`) where the windows of `x` have their maxima; `src`
/// = `x` is max pooling.
pub(crate) fn maxpool_gather(src: &Tensor, x: &Tensor, geo: &PoolGeom) -> Result<Option<Storage>> {
    let Some(ops) = operands(&[src, x])? else { return Ok(None) };
    finish("maxpool", x.dtype(), pl::max_gather(&ops[0], &ops[1], &pool_shape(geo)))
}

/// The adjoint of max pooling of `x` for the output gradient `g`.
pub(crate) fn maxpool_backward(g: &Tensor, x: &Tensor, geo: &PoolGeom) -> Result<Option<Storage>> {
    let Some(ops) = operands(&[g, x])? else { return Ok(None) };
    finish("maxpool", x.dtype(), pl::max_backward(&ops[0], &ops[1], &pool_shape(geo)))
}
