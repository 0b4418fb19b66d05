//! Indexing by positions along the middle axis of arrays viewed as (outer, n, inner), from
//! `gather.wgsl`: taking rows (numpy's `take`; with outer = inner = 1, flat positions), adding
//! rows back at their positions (the adjoint, repeats summed in the host's order, without
//! atomics: float atomics are not in WGSL), and writing values at flat positions (index
//! assignment, the last write winning on repeats), and placing whole arrays as runs of rows
//! (concatenation and zero padding). The positions are uploaded as u32 words.

use crate::batch::Binding;
use crate::buffer::GpuBuffer;
use crate::context::{context, Gpu};
use crate::error::GpuError;
use crate::kernels::prelude;
use crate::pipelines::PipelineKey;

const TEMPLATE: &str = include_str!("gather.wgsl");
const WORKGROUP: u64 = 256;

/// An array viewed as `outer` blocks of `n` rows of `inner` elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rows {
    pub outer: usize,
    pub n: usize,
    pub inner: usize,
}

impl Rows {
    /// A flat array of `n` elements: positions are element positions.
    pub fn flat(n: usize) -> Rows {
        Rows { outer: 1, n, inner: 1 }
    }

    fn numel(&self, rows: usize) -> Option<usize> {
        self.outer.checked_mul(rows)?.checked_mul(self.inner)
    }
}

fn words(op: &str, values: &[usize]) -> Result<GpuBuffer, GpuError> {
    let mut out = Vec::with_capacity(values.len());
    for &v in values {
        out.push(u32::try_from(v).map_err(|_| past_u32(op))?);
    }
    GpuBuffer::from_words(&out)
}

fn past_u32(op: &str) -> GpuError {
    GpuError::InvalidArgument(format!("{op} past the kernels' 32-bit indexing"))
}

fn check_positions(op: &str, idx: &[usize], n: usize) -> Result<(), GpuError> {
    match idx.iter().find(|&&i| i >= n) {
        Some(bad) => Err(GpuError::InvalidArgument(format!("{op}: position {bad} is out of bounds for {n} rows"))),
        None => Ok(()),
    }
}

fn dispatch<const P: usize>(
    gpu: &Gpu,
    entry: &'static str,
    x: &GpuBuffer,
    out: &GpuBuffer,
    words: Option<&GpuBuffer>,
    params: [usize; P],
) -> Result<(), GpuError> {
    let threads = params[4];
    if threads == 0 {
        return Ok(());
    }
    if params.iter().any(|&p| p > u32::MAX as usize) {
        return Err(past_u32(entry));
    }
    let dtype = x.dtype();
    let pipeline = gpu
        .pipeline(PipelineKey { kernel: "gather", dtype, variant: entry.to_string(), entry }, || format!("{}{TEMPLATE}", prelude(dtype)))?;
    let params = params.map(|p| p as u32);
    let mut bindings = vec![Binding { buffer: out.raw(), bytes: out.size_bytes() }, Binding { buffer: x.raw(), bytes: x.size_bytes() }];
    bindings.extend(words.map(|w| Binding { buffer: w.raw(), bytes: w.size_bytes() }));
    let grid = gpu.grid((threads as u64).div_ceil(WORKGROUP))?;
    gpu.record_dispatch(&pipeline, &params, &bindings, grid)
}

fn checked_len(op: &str, x: &GpuBuffer, rows: Rows, n: usize) -> Result<(), GpuError> {
    if rows.numel(n) != Some(x.len()) {
        return Err(GpuError::InvalidArgument(format!("{op}: {rows:?} with {n} rows for a buffer of {} elements", x.len())));
    }
    Ok(())
}

/// Rows `idx` of `x` (viewed as `rows`): a buffer of (outer, idx.len(), inner).
pub fn take_rows(x: &GpuBuffer, rows: Rows, idx: &[usize]) -> Result<GpuBuffer, GpuError> {
    const OP: &str = "take";
    let gpu = context()?;
    gpu.check_dtype(x.dtype(), OP)?;
    checked_len(OP, x, rows, rows.n)?;
    check_positions(OP, idx, rows.n)?;
    let len = rows.numel(idx.len()).ok_or_else(|| past_u32(OP))?;
    let out = GpuBuffer::uninit(gpu, x.dtype(), len)?;
    if len > 0 {
        let w = words(OP, idx)?;
        dispatch(gpu, "take_rows", x, &out, Some(&w), [rows.outer, rows.n, rows.inner, idx.len(), len])?;
    }
    Ok(out)
}

/// Zeros of `rows` with the rows of `v` (outer, idx.len(), inner) added at rows `idx`
/// (repeats add up, in the order of `idx`): the adjoint of [`take_rows`].
pub fn add_rows(v: &GpuBuffer, rows: Rows, idx: &[usize]) -> Result<GpuBuffer, GpuError> {
    const OP: &str = "index_add";
    let gpu = context()?;
    gpu.check_dtype(v.dtype(), OP)?;
    checked_len(OP, v, rows, idx.len())?;
    check_positions(OP, idx, rows.n)?;
    let len = rows.numel(rows.n).ok_or_else(|| past_u32(OP))?;
    if len == 0 {
        return GpuBuffer::uninit(gpu, v.dtype(), 0);
    }
    if idx.is_empty() {
        return GpuBuffer::zeros(v.dtype(), len);
    }
    // Each target row's source rows, ascending (a counting sort): run starts, then the list.
    let mut start = vec![0usize; rows.n + 1];
    for &r in idx {
        start[r + 1] += 1;
    }
    for r in 0..rows.n {
        start[r + 1] += start[r];
    }
    let mut next = start.clone();
    let mut list = vec![0usize; idx.len()];
    for (j, &r) in idx.iter().enumerate() {
        list[next[r]] = j;
        next[r] += 1;
    }
    start.extend(list);
    let w = words(OP, &start)?;
    let out = GpuBuffer::uninit(gpu, v.dtype(), len)?;
    dispatch(gpu, "add_rows", v, &out, Some(&w), [rows.outer, rows.n, rows.inner, idx.len(), len])?;
    Ok(out)
}

/// A copy of `base` with `values[j]` written at flat position `idx[j]` (the last write wins
/// on repeats, as in numpy); `values` has one element per position.
pub fn put(base: &GpuBuffer, idx: &[usize], values: &GpuBuffer) -> Result<GpuBuffer, GpuError> {
    const OP: &str = "index assignment";
    let gpu = context()?;
    gpu.check_dtype(base.dtype(), OP)?;
    if values.dtype() != base.dtype() || values.len() != idx.len() {
        return Err(GpuError::InvalidArgument(format!(
            "{OP}: {} {} values for {} positions in {} data",
            values.len(),
            values.dtype().name(),
            idx.len(),
            base.dtype().name()
        )));
    }
    check_positions(OP, idx, base.len())?;
    let out = crate::kernels::elementwise::unary(
        crate::kernels::elementwise::UnaryOp::Copy,
        base,
        &crate::kernels::Layout::contiguous(&[base.len()]),
    )?;
    // The last source of each target.
    let mut last = vec![usize::MAX; base.len()];
    for (j, &i) in idx.iter().enumerate() {
        last[i] = j;
    }
    let pairs: Vec<usize> = last.iter().enumerate().filter(|(_, &j)| j != usize::MAX).flat_map(|(i, &j)| [i, j]).collect();
    if !pairs.is_empty() {
        let count = pairs.len() / 2;
        let w = words(OP, &pairs)?;
        dispatch(gpu, "put", values, &out, Some(&w), [1, base.len(), 1, idx.len(), count])?;
    }
    Ok(out)
}

/// `parts[p]`, each (outer, sizes[p], inner), joined along their middle axis: one dispatch per
/// non-empty part.
pub fn concat_rows(parts: &[&GpuBuffer], outer: usize, sizes: &[usize], inner: usize) -> Result<GpuBuffer, GpuError> {
    const OP: &str = "concatenate";
    let gpu = context()?;
    let first = parts.first().ok_or_else(|| GpuError::InvalidArgument(format!("{OP}: no arrays")))?;
    if parts.len() != sizes.len() || parts.iter().any(|p| p.dtype() != first.dtype()) {
        return Err(GpuError::InvalidArgument(format!("{OP}: {} parts of one dtype with {} sizes", parts.len(), sizes.len())));
    }
    gpu.check_dtype(first.dtype(), OP)?;
    let n = sizes.iter().try_fold(0usize, |a, &k| a.checked_add(k)).ok_or_else(|| past_u32(OP))?;
    let rows = Rows { outer, n, inner };
    for (p, &k) in parts.iter().zip(sizes) {
        checked_len(OP, p, rows, k)?;
    }
    let len = rows.numel(n).ok_or_else(|| past_u32(OP))?;
    let out = GpuBuffer::uninit(gpu, first.dtype(), len)?;
    let mut start = 0;
    for (p, &k) in parts.iter().zip(sizes) {
        dispatch(gpu, "place_rows", p, &out, None, [outer, n, inner, k, p.len(), start])?;
        start += k;
    }
    Ok(out)
}

/// `x` (outer, k, inner) with `before` and `after` rows of zeros around its middle axis.
pub fn pad_rows(x: &GpuBuffer, outer: usize, k: usize, inner: usize, before: usize, after: usize) -> Result<GpuBuffer, GpuError> {
    const OP: &str = "pad";
    let gpu = context()?;
    gpu.check_dtype(x.dtype(), OP)?;
    let n = k.checked_add(before).and_then(|m| m.checked_add(after)).ok_or_else(|| past_u32(OP))?;
    let rows = Rows { outer, n, inner };
    checked_len(OP, x, rows, k)?;
    let out = GpuBuffer::zeros(x.dtype(), rows.numel(n).ok_or_else(|| past_u32(OP))?)?;
    dispatch(gpu, "place_rows", x, &out, None, [outer, n, inner, k, x.len(), before])?;
    Ok(out)
}
