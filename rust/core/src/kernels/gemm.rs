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
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        dst.iter_mut().for_each(|d| *d = T::zero());
        return;
    }
    // Row-major (rows, cols) has row stride = cols, col stride = 1; transposed swaps them.
    let (lhs_rs, lhs_cs) = if lhs_t { (1, m as isize) } else { (k as isize, 1) };
    let (rhs_rs, rhs_cs) = if rhs_t { (1, k as isize) } else { (n as isize, 1) };
    let par = if single_thread { Parallelism::None } else { parallelism(m * n * k) };
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.as_ptr(),
            lhs_cs,
            lhs_rs,
            rhs.as_ptr(),
            rhs_cs,
            rhs_rs,
            T::zero(),
            T::one(),
            false,
            false,
            false,
            par,
        );
    }
}

/// A matrix operand with explicit strides: element (i, j) at `ptr[i·rs + j·cs]`.
#[derive(Clone, Copy)]
pub struct Strided<'a, T> {
    pub data: &'a [T],
    pub rs: usize,
    pub cs: usize,
}

impl<'a, T> Strided<'a, T> {
    /// A contiguous row-major (rows × cols) matrix.
    pub fn rows(data: &'a [T], cols: usize) -> Self {
        Strided { data, rs: cols, cs: 1 }
    }
    /// The transpose of a contiguous row-major matrix with `cols` columns.
    pub fn transposed(data: &'a [T], cols: usize) -> Self {
        Strided { data, rs: 1, cs: cols }
    }
    fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.rs + (cols - 1) * self.cs < self.data.len()
    }
}

/// `dst (m×n) = [dst +] lhs (m×k) · rhs (k×n)` with arbitrary (non-negative) strides, on the
/// calling thread: the building block of kernels that parallelise around many small products
/// (convolution per output pixel block). `accumulate` adds to what `dst` holds.
#[allow(clippy::too_many_arguments)]
pub fn matmul_strided<T: 'static + Copy + crate::dtype::Element>(
    dst: &mut [T],
    dst_rs: usize,
    dst_cs: usize,
    lhs: Strided<'_, T>,
    rhs: Strided<'_, T>,
    m: usize,
    n: usize,
    k: usize,
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        lhs.fits(m, k) && rhs.fits(k, n) && (m - 1) * dst_rs + (n - 1) * dst_cs < dst.len(),
        "matmul_strided: operand strides exceed their slices"
    );
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                for j in 0..n {
                    dst[i * dst_rs + j * dst_cs] = T::zero();
                }
            }
        }
        return;
    }
    // SAFETY: every index the product touches lies inside its slice (asserted above).
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_cs as isize,
            dst_rs as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            T::one(),
            T::one(),
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}
