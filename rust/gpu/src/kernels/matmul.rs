//! Matrix products `a @ b` with numpy's matmul rules for the batch ("paged") dimensions:
//! operands of shape [..., M, K] and [..., K, N], batch dimensions broadcast. One tiled kernel
//! (`matmul.wgsl`: 64 x 64 tiles, 4 x 4 register blocks); the batch is the grid's z.

use crate::batch::Binding;
use crate::buffer::GpuBuffer;
use crate::context::context;
use crate::error::GpuError;
use crate::kernels::{broadcast_shapes, prelude, push_shape, Layout, MAX_DIMS};
use crate::pipelines::PipelineKey;

const TEMPLATE: &str = include_str!("matmul.wgsl");
const TILE: u64 = 64;

/// `a @ b` for views of rank ≥ 2 (vectors are the caller's to reshape to matrices); returns
/// the row-major result and its shape [broadcast batch..., M, N].
pub fn matmul(a: &GpuBuffer, a_layout: &Layout, b: &GpuBuffer, b_layout: &Layout) -> Result<(GpuBuffer, Vec<usize>), GpuError> {
    let gpu = context()?;
    a_layout.check_within(a.len())?;
    b_layout.check_within(b.len())?;
    if a.dtype() != b.dtype() {
        return Err(GpuError::InvalidArgument("matmul needs operands of one dtype".into()));
    }
    gpu.check_dtype(a.dtype(), "matmul")?;
    let (ar, br) = (a_layout.shape.len(), b_layout.shape.len());
    if ar < 2 || br < 2 {
        return Err(GpuError::InvalidArgument("matmul takes operands of at least 2 dimensions".into()));
    }
    let (m, k) = (a_layout.shape[ar - 2], a_layout.shape[ar - 1]);
    let (k2, n) = (b_layout.shape[br - 2], b_layout.shape[br - 1]);
    if k != k2 {
        return Err(GpuError::InvalidArgument(format!("matmul of {:?} and {:?}: inner sizes differ", a_layout.shape, b_layout.shape)));
    }
    let batch_shape = broadcast_shapes(&a_layout.shape[..ar - 2], &b_layout.shape[..br - 2])?;
    if batch_shape.len() > MAX_DIMS - 2 {
        return Err(GpuError::InvalidArgument(format!("matmul takes at most {} batch dimensions", MAX_DIMS - 2)));
    }
    let batch_view = |l: &Layout, r: usize| -> Result<Layout, GpuError> {
        Layout { shape: l.shape[..r - 2].to_vec(), strides: l.strides[..r - 2].to_vec(), offset: 0 }.broadcast_to(&batch_shape)
    };
    let (a_batch, b_batch) = (batch_view(a_layout, ar)?, batch_view(b_layout, br)?);
    let count: usize = batch_shape.iter().product();
    let mut shape = batch_shape.clone();
    shape.extend([m, n]);
    let total = count.checked_mul(m).and_then(|v| v.checked_mul(n)).filter(|&t| t <= u32::MAX as usize);
    let Some(total) = total else {
        return Err(GpuError::InvalidArgument(format!("a matmul result of shape {shape:?} exceeds the kernels' 32-bit indexing")));
    };
    let out = GpuBuffer::uninit(gpu, a.dtype(), total)?;
    if total == 0 {
        return Ok((out, shape));
    }
    if k == 0 {
        // Sums over nothing: zeros, without a dispatch.
        gpu.record_clear(out.raw(), out.size_bytes())?;
        return Ok((out, shape));
    }
    let max = gpu.limits.max_compute_workgroups_per_dimension as u64;
    let grid = [(n as u64).div_ceil(TILE), (m as u64).div_ceil(TILE), count as u64];
    if let Some(&g) = grid.iter().find(|&&g| g > max) {
        return Err(GpuError::DispatchLimit { workgroups: g, limit: max });
    }
    let key = PipelineKey { kernel: "matmul", dtype: a.dtype(), variant: "tiled64x64r4x4".into(), entry: "main" };
    let pipeline = gpu.pipeline(key, || format!("{}{TEMPLATE}", prelude(a.dtype())))?;
    let s = |v: isize| v as i32 as u32;
    let mut params = vec![
        m as u32,
        n as u32,
        k as u32,
        batch_shape.len() as u32,
        a_layout.offset as u32,
        b_layout.offset as u32,
        s(a_layout.strides[ar - 2]),
        s(a_layout.strides[ar - 1]),
        s(b_layout.strides[br - 2]),
        s(b_layout.strides[br - 1]),
    ];
    params.resize(16, 0);
    push_shape(&mut params, &batch_shape);
    params.extend((0..MAX_DIMS).map(|d| a_batch.strides.get(d).map_or(0, |&v| s(v))));
    params.extend((0..MAX_DIMS).map(|d| b_batch.strides.get(d).map_or(0, |&v| s(v))));
    let bindings = [
        Binding { buffer: out.raw(), bytes: out.size_bytes() },
        Binding { buffer: a.raw(), bytes: a.size_bytes() },
        Binding { buffer: b.raw(), bytes: b.size_bytes() },
    ];
    gpu.record_dispatch(&pipeline, &params, &bindings, [grid[0] as u32, grid[1] as u32, grid[2] as u32])?;
    Ok((out, shape))
}
