//! Matrix products through the `gemm` crate (runtime CPU dispatch: AVX2/AVX-512/NEON).
//! Note gemm's convention: dst := alpha·dst + beta·lhs·rhs (the reverse of BLAS).

use gemm::{gemm, Parallelism};

use super::parallel::in_forked_child;

/// Work (m·n·k) above which one product uses the thread pool.
const PAR_WORK: usize = 48 * 48 * 256;

fn parallelism(work: usize) -> Parallelism {
    let threads = rayon::current_num_threads();
    if work >= PAR_WORK && threads > 1 && !in_forked_child() {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    }
}

/// `dst (m×n) = lhs (m×k) · rhs (k×n)`, every operand row-major and contiguous, except that
/// `lhs_t`/`rhs_t` read the stored matrix transposed (so no transposed copy is made).
#[allow(clippy::too_many_arguments)]
pub fn matmul<T: 'static + Copy + crate::dtype::Element>(
    dst: &mut [T],
    lhs: &[T],
    rhs: &[T],
    m: usize,
    n: usize,
    k: usize,
    lhs_t: bool,
    rhs_t: bool,
    single_thread: bool,
) {
    // A transposed operand is the stored (cols × rows) matrix read with swapped strides.
    let lhs = Strided::row_major(lhs, if lhs_t { m } else { k }, lhs_t);
    let rhs = Strided::row_major(rhs, if rhs_t { k } else { n }, rhs_t);
    matmul_to(dst, n, 1, false, lhs, rhs, m, n, k, !single_thread);
}

/// A read-only matrix operand with explicit row and column strides (in elements).
#[derive(Clone, Copy)]
pub struct Strided<'a, T> {
    pub data: &'a [T],
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a, T> Strided<'a, T> {
    /// A contiguous row-major (rows × cols) matrix, read as stored or transposed.
    pub fn row_major(data: &'a [T], cols: usize, transposed: bool) -> Self {
        if transposed {
            Strided { data, row_stride: 1, col_stride: cols }
        } else {
            Strided { data, row_stride: cols, col_stride: 1 }
        }
    }

    /// The same matrix read transposed.
    pub fn t(self) -> Self {
        Strided { data: self.data, row_stride: self.col_stride, col_stride: self.row_stride }
    }

    /// Whether every element of a (rows × cols) view lies inside `data`.
    fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.row_stride + (cols - 1) * self.col_stride < self.data.len()
    }
}

/// `dst (m×n) = [dst +] lhs (m×k) · rhs (k×n)` with arbitrary operand and destination strides
/// (element (i, j) of `dst` at `i·dst_row_stride + j·dst_col_stride`): lets a recurrent step
/// add its product straight into a strided pre-activation block, and a convolution write a
/// pixel block's product in place or into a strided weight gradient. `threaded` allows the
/// thread pool for large products (small per-step or per-block products run faster on one
/// thread than they gain from waking the pool).
#[allow(clippy::too_many_arguments)]
pub fn matmul_to<T: 'static + Copy + crate::dtype::Element>(
    dst: &mut [T],
    dst_row_stride: usize,
    dst_col_stride: usize,
    accumulate: bool,
    lhs: Strided<'_, T>,
    rhs: Strided<'_, T>,
    m: usize,
    n: usize,
    k: usize,
    threaded: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    let (drs, dcs) = (dst_row_stride, dst_col_stride);
    assert!((m - 1) * drs + (n - 1) * dcs < dst.len(), "matmul_to: destination too small");
    assert!(lhs.fits(m, k) && rhs.fits(k, n), "matmul_to: operand too small");
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                for j in 0..n {
                    dst[i * drs + j * dcs] = T::zero();
                }
            }
        }
        return;
    }
    let par = if threaded { parallelism(m * n * k) } else { Parallelism::None };
    // SAFETY: the asserts above keep every addressed element inside its slice.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dcs as isize,
            drs as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            if accumulate { T::one() } else { T::zero() },
            T::one(),
            false,
            false,
            false,
            par,
        );
    }
}
