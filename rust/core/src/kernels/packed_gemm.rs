//! Products whose left operand is fixed and reused many times: a recurrent layer multiplies
//! the same weights by a new (K × B) block at every time step. The weights are packed once
//! per sequence into the layout the inner kernel reads, instead of once per step inside a
//! general GEMM (where the packing of a 512 × 145 operand costs about as much as the
//! 512 × 145 × 32 product itself).
//!
//! float32 on a CPU with AVX-512 runs a register-blocked kernel: 8 rows of the left operand
//! against 32 columns of the right (two 16-lane vectors), 16 accumulators, with each step of
//! k one broadcast per row and two vector loads. Other types and CPUs go through `matmul_to`.

use std::any::TypeId;
use std::ops::Range;

use super::gemm::{matmul_to, Strided};
use crate::dtype::Element;

/// Rows per packed panel (and per register tile).
pub const PANEL_ROWS: usize = 8;

/// A left operand (m × k), packed for repeated products.
pub struct PackedLhs<'a, T> {
    m: usize,
    k: usize,
    form: Form<'a, T>,
}

enum Form<'a, T> {
    /// Panels of `PANEL_ROWS` rows; within a panel, the rows' values for each k are adjacent.
    /// The last panel is zero-padded.
    Panels(Vec<f32>),
    /// Row-major f32 rows read in place (row stride given): for an operand used only a few
    /// times, or small and hot in cache, where packing would cost more than it saves.
    Direct(&'a [f32], usize),
    /// The operand as given, multiplied through the general product.
    Plain(Strided<'a, T>),
}

/// Whether the packed f32 kernel can run on this CPU.
fn fast_kernel_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `T` seen as f32 when it is f32 (checked through its `TypeId`).
fn as_f32<T: 'static>(v: &[T]) -> Option<&[f32]> {
    // SAFETY: T is f32 exactly, so the slice's layout is unchanged.
    (TypeId::of::<T>() == TypeId::of::<f32>()).then(|| unsafe { std::slice::from_raw_parts(v.as_ptr() as *const f32, v.len()) })
}

fn as_f32_mut<T: 'static>(v: &mut [T]) -> Option<&mut [f32]> {
    // SAFETY: as in `as_f32`.
    (TypeId::of::<T>() == TypeId::of::<f32>()).then(|| unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut f32, v.len()) })
}

impl<'a, T: 'static + Copy + Element> PackedLhs<'a, T> {
    /// Packs the (m × k) operand `lhs` (any strides).
    pub fn new(lhs: Strided<'a, T>, m: usize, k: usize) -> Self {
        let form = match as_f32(lhs.data) {
            Some(data) if fast_kernel_available() && m > 0 && k > 0 => {
                let (panels, (rs, cs)) = (m.div_ceil(PANEL_ROWS), (lhs.row_stride, lhs.col_stride));
                let mut packed = vec![0f32; panels * k * PANEL_ROWS];
                // Panel by panel, step by step: each step's values are written once, in order,
                // from the panel's rows (the last panel's missing rows stay zero).
                for (p, panel) in packed.chunks_exact_mut(k * PANEL_ROWS).enumerate() {
                    let valid = PANEL_ROWS.min(m - p * PANEL_ROWS);
                    let rows: [&[f32]; PANEL_ROWS] =
                        std::array::from_fn(|r| if r < valid { &data[(p * PANEL_ROWS + r) * rs..][..(k - 1) * cs + 1] } else { &[] });
                    for (kk, dst) in panel.chunks_exact_mut(PANEL_ROWS).enumerate() {
                        if valid == PANEL_ROWS {
                            for r in 0..PANEL_ROWS {
                                dst[r] = rows[r][kk * cs];
                            }
                        } else {
                            for r in 0..valid {
                                dst[r] = rows[r][kk * cs];
                            }
                        }
                    }
                }
                Form::Panels(packed)
            }
            _ => Form::Plain(lhs),
        };
        PackedLhs { m, k, form }
    }

    /// The operand (m × k) read in place, not packed, when its rows are contiguous (an
    /// operand used once or twice, such as a step's gradient block, already in cache).
    pub fn direct(lhs: Strided<'a, T>, m: usize, k: usize) -> Self {
        let form = match as_f32(lhs.data) {
            Some(data) if fast_kernel_available() && lhs.col_stride == 1 && m > 0 && k > 0 => Form::Direct(data, lhs.row_stride),
            _ => Form::Plain(lhs),
        };
        PackedLhs { m, k, form }
    }

    /// `dst = [dst +] lhs[rows] · rhs`: rows `rows` of the product with the (k × n) matrix
    /// `rhs` (row stride `rhs_stride`, contiguous columns), into the (rows.len() × n) block
    /// `dst` (row stride `dst_stride`, contiguous columns). `rows.start` must be a multiple of
    /// `PANEL_ROWS` so that a range starts on a panel.
    #[allow(clippy::too_many_arguments)]
    pub fn matmul_rows(
        &self,
        rows: Range<usize>,
        dst: &mut [T],
        dst_stride: usize,
        accumulate: bool,
        rhs: &[T],
        rhs_stride: usize,
        n: usize,
    ) {
        assert!(rows.start.is_multiple_of(PANEL_ROWS) && rows.end <= self.m && rows.start <= rows.end, "matmul_rows: bad row range");
        let m = rows.len();
        if m == 0 || n == 0 {
            return;
        }
        assert!((m - 1) * dst_stride + n <= dst.len(), "matmul_rows: destination too small");
        assert!(self.k == 0 || (self.k - 1) * rhs_stride + n <= rhs.len(), "matmul_rows: operand too small");
        match &self.form {
            Form::Plain(lhs) => {
                let lhs = Strided { data: &lhs.data[rows.start * lhs.row_stride..], ..*lhs };
                matmul_to(
                    dst,
                    dst_stride,
                    1,
                    accumulate,
                    lhs,
                    Strided { data: rhs, row_stride: rhs_stride, col_stride: 1 },
                    m,
                    n,
                    self.k,
                    false,
                )
            }
            Form::Panels(_) | Form::Direct(..) => {
                let (dst, rhs) = (as_f32_mut(dst).expect("fast forms are f32"), as_f32(rhs).expect("fast forms are f32"));
                for i in 0..m.div_ceil(PANEL_ROWS) {
                    let (row0, valid) = (rows.start + i * PANEL_ROWS, PANEL_ROWS.min(m - i * PANEL_ROWS));
                    // The panel's rows as (first element, step along k); rows past `valid` repeat
                    // the last valid row (computed, never stored).
                    let (a, step): ([*const f32; PANEL_ROWS], usize) = match &self.form {
                        Form::Panels(packed) => {
                            let panel = &packed[row0 / PANEL_ROWS * self.k * PANEL_ROWS..][..self.k * PANEL_ROWS];
                            (std::array::from_fn(|r| panel[r..].as_ptr()), PANEL_ROWS)
                        }
                        Form::Direct(data, row_stride) => {
                            (std::array::from_fn(|r| data[(row0 + r.min(valid - 1)) * row_stride..][..self.k].as_ptr()), 1)
                        }
                        Form::Plain(_) => unreachable!(),
                    };
                    let dst = &mut dst[i * PANEL_ROWS * dst_stride..];
                    // SAFETY: AVX-512F was detected when the form was chosen; the slices above
                    // hold k steps of every row pointer, and the asserts above bound every row
                    // and column of dst and rhs the kernel touches (`valid` rows of dst, k rows
                    // of rhs, n columns each).
                    #[cfg(target_arch = "x86_64")]
                    unsafe {
                        avx512::panel_product(&a, step, self.k, rhs, rhs_stride, dst, dst_stride, valid, n, accumulate)
                    };
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::PANEL_ROWS;
    use std::arch::x86_64::*;

    /// One panel (`valid` ≤ 8 rows stored) times all n columns of `rhs`, 32 columns at a time;
    /// the last 1–31 columns through masked loads and stores.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn panel_product(
        a: &[*const f32; PANEL_ROWS],
        step: usize,
        k: usize,
        rhs: &[f32],
        rhs_stride: usize,
        dst: &mut [f32],
        dst_stride: usize,
        valid: usize,
        n: usize,
        accumulate: bool,
    ) {
        let (b, c) = (rhs.as_ptr(), dst.as_mut_ptr());
        // Column blocks of up to 32: two vectors, or one for a block of at most 16; the last
        // vector of a short block is masked.
        for j in (0..n).step_by(32) {
            let width = (n - j).min(32);
            let last = match width % 16 {
                0 => 0xffff,
                w => ((1u32 << w) - 1) as u16,
            };
            let (b, c) = (b.add(j), c.add(j));
            if width > 16 {
                tile::<2>(a, step, b, rhs_stride, c, dst_stride, k, valid, last, accumulate);
            } else {
                tile::<1>(a, step, b, rhs_stride, c, dst_stride, k, valid, last, accumulate);
            }
        }
    }

    /// The register tile: 8 rows × `V` vectors of 16 columns; `last` masks the columns of the
    /// last vector. Row r's value at step kk of k is `a[r] + kk·step`. Rows past `valid` are
    /// computed but never loaded or stored.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn tile<const V: usize>(
        a: &[*const f32; PANEL_ROWS],
        step: usize,
        b: *const f32,
        ldb: usize,
        c: *mut f32,
        ldc: usize,
        k: usize,
        valid: usize,
        last: u16,
        accumulate: bool,
    ) {
        let mask = |v: usize| if v + 1 == V { last } else { 0xffff };
        let mut acc = [[_mm512_setzero_ps(); V]; PANEL_ROWS];
        if accumulate {
            for (r, row) in acc.iter_mut().enumerate().take(valid) {
                for (v, x) in row.iter_mut().enumerate() {
                    *x = _mm512_maskz_loadu_ps(mask(v), c.add(r * ldc + 16 * v));
                }
            }
        }
        for kk in 0..k {
            let brow = b.add(kk * ldb);
            let mut bv = [_mm512_setzero_ps(); V];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = _mm512_maskz_loadu_ps(mask(v), brow.add(16 * v));
            }
            let off = kk * step;
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*a[r].add(off));
                for (v, x) in row.iter_mut().enumerate() {
                    *x = _mm512_fmadd_ps(av, bv[v], *x);
                }
            }
        }
        for (r, row) in acc.iter().enumerate().take(valid) {
            for (v, x) in row.iter().enumerate() {
                _mm512_mask_storeu_ps(c.add(r * ldc + 16 * v), mask(v), *x);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference product in f64.
    fn reference(a: &[f32], m: usize, k: usize, b: &[f32], n: usize) -> Vec<f64> {
        let mut out = vec![0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|kk| a[i * k + kk] as f64 * b[kk * n + j] as f64).sum();
            }
        }
        out
    }

    #[test]
    fn row_ranges_and_column_tails_match_the_reference() {
        let (m, k) = (21, 13);
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.25).collect();
        for n in [1, 5, 16, 17, 31, 32, 33, 64, 70] {
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 13) as f32 - 6.0) * 0.5).collect();
            let want = reference(&a, m, k, &b, n);
            for packed in
                [PackedLhs::new(Strided::row_major(&a, k, false), m, k), PackedLhs::direct(Strided::row_major(&a, k, false), m, k)]
            {
                for rows in [0..m, 8..m, 16..21, 0..8, 8..8] {
                    for accumulate in [false, true] {
                        let dst_stride = n + 3;
                        let mut dst = vec![1f32; rows.len().max(1) * dst_stride];
                        packed.matmul_rows(rows.clone(), &mut dst, dst_stride, accumulate, &b, n, n);
                        for (ri, i) in rows.clone().enumerate() {
                            for j in 0..dst_stride {
                                let got = dst[ri * dst_stride + j] as f64;
                                let expect = if j >= n { 1.0 } else { want[i * n + j] + if accumulate { 1.0 } else { 0.0 } };
                                assert!((got - expect).abs() < 1e-4, "n {n} rows {rows:?} acc {accumulate}: ({i},{j}) {got} vs {expect}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_transposed_f32_operand_packs_through_its_strides() {
        let (m, k, n) = (11, 6, 20);
        let a: Vec<f32> = (0..m * k).map(|i| (i % 9) as f32 - 4.0).collect();
        let at: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 7) as f32 * 0.5).collect();
        let mut dst = vec![0f32; m * n];
        PackedLhs::new(Strided::row_major(&at, m, true), m, k).matmul_rows(0..m, &mut dst, n, false, &b, n, n);
        let want = reference(&a, m, k, &b, n);
        assert!(dst.iter().zip(&want).all(|(&g, &w)| (g as f64 - w).abs() < 1e-4));
    }

    #[test]
    fn transposed_operands_and_f64_take_the_general_path() {
        let (m, k, n) = (9, 4, 3);
        let a: Vec<f64> = (0..m * k).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..k * n).map(|i| 1.0 - i as f64).collect();
        // lhs read transposed from a (k × m) store.
        let at: Vec<f64> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        let packed = PackedLhs::new(Strided::row_major(&at, m, true), m, k);
        let mut dst = vec![0f64; m * n];
        packed.matmul_rows(0..m, &mut dst, n, false, &b, n, n);
        let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
        let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
        assert_eq!(dst, reference(&a32, m, k, &b32, n));
    }
}
