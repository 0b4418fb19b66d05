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
            dst[0] = x[base..base + n].iter().fold(init, |acc, &v| f(acc, v));
        } else {
            for k in 0..n {
                let row = &x[base + k * inner..base + (k + 1) * inner];
                for (d, &v) in dst.iter_mut().zip(row) {
                    *d = f(*d, v);
                }
            }
        }
    };
    if use_rayon(x.len()) && outer > 1 {
        out.par_chunks_mut(inner).enumerate().for_each(|(o, dst)| body(o, dst));
    } else if use_rayon(x.len()) && inner == 1 {
        // One long row: split it and combine the partial folds.
        let part = x.par_chunks(1 << 14).map(|c| c.iter().fold(init, |a, &v| f(a, v))).collect::<Vec<_>>();
        out[0] = part.into_iter().fold(init, &f);
    } else {
        out.chunks_mut(inner).enumerate().for_each(|(o, dst)| body(o, dst));
    }
    out
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
