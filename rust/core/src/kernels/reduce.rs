//! Reductions along one axis of a row-major array viewed as (outer, n, inner).

use rayon::prelude::*;

use super::parallel::use_rayon;

/// Folds axis `n` of `x` viewed as (outer, n, inner) with `f`, starting from `init`.
pub fn reduce_axis<T: Copy + Send + Sync>(
    x: &[T],
    outer: usize,
    n: usize,
    inner: usize,
    init: T,
    f: impl Fn(T, T) -> T + Sync + Send,
) -> Vec<T> {
    let mut out = vec![init; outer * inner];
    let body = |o: usize, dst: &mut [T]| {
        let base = o * n * inner;
        if inner == 1 {
            dst[0] = lane_fold(&x[base..base + n], init, &f);
        } else {
            for k in 0..n {
                let row = &x[base + k * inner..base + (k + 1) * inner];
                for (d, &v) in dst.iter_mut().zip(row) {
                    *d = f(*d, v);
                }
            }
        }
    };
    if use_rayon(x.len()) && outer >= rayon::current_num_threads() {
        out.par_chunks_mut(inner).enumerate().for_each(|(o, dst)| body(o, dst));
    } else if use_rayon(x.len()) && inner == 1 {
        // Long rows: split each and combine the partial folds.
        for (o, dst) in out.iter_mut().enumerate() {
            let row = &x[o * n..(o + 1) * n];
            let part = row.par_chunks(1 << 14).map(|c| lane_fold(c, init, &f)).collect::<Vec<_>>();
            *dst = part.into_iter().fold(init, &f);
        }
    } else if use_rayon(x.len()) {
        // Few outer blocks: split each block's columns between threads.
        let cols = (inner / (4 * rayon::current_num_threads())).max(256).min(inner);
        for (o, dst) in out.chunks_mut(inner).enumerate() {
            let base = o * n * inner;
            dst.par_chunks_mut(cols).enumerate().for_each(|(b, d)| {
                let c0 = b * cols;
                for k in 0..n {
                    let row = &x[base + k * inner + c0..base + k * inner + c0 + d.len()];
                    for (d, &v) in d.iter_mut().zip(row) {
                        *d = f(*d, v);
                    }
                }
            });
        }
    } else {
        out.chunks_mut(inner).enumerate().for_each(|(o, dst)| body(o, dst));
    }
    out
}

/// Folds `x` with eight independent accumulators (so the compiler can keep them in one SIMD
/// register) combined at the end; `init` must be the fold's identity.
#[inline]
fn lane_fold<T: Copy>(x: &[T], init: T, f: &impl Fn(T, T) -> T) -> T {
    const L: usize = 8;
    let mut acc = [init; L];
    let mut chunks = x.chunks_exact(L);
    for c in &mut chunks {
        for l in 0..L {
            acc[l] = f(acc[l], c[l]);
        }
    }
    let mut r = chunks.remainder().iter().fold(init, |a, &v| f(a, v));
    for a in acc {
        r = f(r, a);
    }
    r
}

/// Inclusive running fold along axis `n` (forwards, or backwards when `reverse`).
pub fn scan_axis<T: Copy + Send + Sync>(
    x: &[T],
    outer: usize,
    n: usize,
    inner: usize,
    reverse: bool,
    f: impl Fn(T, T) -> T + Sync + Send,
) -> Vec<T> {
    let mut out = x.to_vec();
    let body = |block: &mut [T]| {
        let steps: Box<dyn Iterator<Item = usize>> = if reverse { Box::new((0..n.saturating_sub(1)).rev()) } else { Box::new(1..n) };
        for k in steps {
            let prev = if reverse { k + 1 } else { k - 1 };
            for i in 0..inner {
                block[k * inner + i] = f(block[prev * inner + i], block[k * inner + i]);
            }
        }
    };
    if use_rayon(x.len()) && outer > 1 {
        out.par_chunks_mut((n * inner).max(1)).for_each(body);
    } else {
        out.chunks_mut((n * inner).max(1)).for_each(body);
    }
    out
}
