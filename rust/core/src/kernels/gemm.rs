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
