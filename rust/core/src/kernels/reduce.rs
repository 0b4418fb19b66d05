//! Reductions along one axis of a row-major array viewed as (outer, n, inner).
//!
//! Every output is folded in a fixed pairwise tree over its `n` inputs: runs of up to
//! [`LEAF`] contiguous elements (or [`ROW_LEAF`] rows) are folded directly, longer ranges
//! are split in halves and the halves combined. Rounding then grows with `log n` instead of
//! `n` (float32 sums of millions of elements stay accurate), and the tree depends only on `n`:
//! threads share out whole outputs, column blocks or subtrees, so the result is the same for
//! any number of threads.

use rayon::prelude::*;

use super::parallel::use_rayon;

/// Contiguous elements folded directly, with eight lanes.
const LEAF: usize = 256;
/// Rows (of `inner` elements) folded directly, in order.
const ROW_LEAF: usize = 16;
/// Below this many elements a subtree is not split between threads.
const PAR_MIN: usize = 1 << 15;
/// Columns per task when rows are folded elementwise.
const COLS: usize = 1 << 10;

/// Folds axis `n` of `x` viewed as (outer, n, inner) with `f`, starting from `init` (the
/// fold's identity: it is only returned for an empty axis).
pub fn reduce_axis<T: Copy + Send + Sync>(
    x: &[T],
    outer: usize,
    n: usize,
    inner: usize,
    init: T,
    f: impl Fn(T, T) -> T + Sync + Send,
) -> Vec<T> {
    let mut out = vec![init; outer * inner];
    if n == 0 || out.is_empty() {
        return out;
    }
    let par = use_rayon(x.len());
    let f = &f;
    if inner == 1 {
        let row = |o: usize| &x[o * n..(o + 1) * n];
        if par && outer >= rayon::current_num_threads() {
            out.par_iter_mut().enumerate().for_each(|(o, d)| *d = fold_contiguous(row(o), init, f, false));
        } else {
            out.iter_mut().enumerate().for_each(|(o, d)| *d = fold_contiguous(row(o), init, f, par));
        }
        return out;
    }
    // Rows of `inner` elements folded elementwise, a block of columns at a time.
    let task = |o: usize, c0: usize, dst: &mut [T]| {
        let rows = Rows { x, base: o * n * inner, inner, c0 };
        let mut scratch = vec![init; dst.len() * tree_depth(n)];
        fold_rows(&rows, 0, n, dst, &mut scratch, f, false);
    };
    let blocks = inner.div_ceil(COLS);
    if par && outer * blocks >= rayon::current_num_threads() {
        out.par_chunks_mut(inner).enumerate().for_each(|(o, dst)| {
            dst.par_chunks_mut(COLS).enumerate().for_each(|(b, d)| task(o, b * COLS, d));
        });
    } else if par {
        // Few columns: split each column block's row tree between threads.
        for (o, dst) in out.chunks_mut(inner).enumerate() {
            for (b, d) in dst.chunks_mut(COLS).enumerate() {
                let rows = Rows { x, base: o * n * inner, inner, c0: b * COLS };
                let mut scratch = vec![init; d.len() * tree_depth(n)];
                fold_rows(&rows, 0, n, d, &mut scratch, f, true);
            }
        }
    } else {
        for (o, dst) in out.chunks_mut(inner).enumerate() {
            for (b, d) in dst.chunks_mut(COLS).enumerate() {
                task(o, b * COLS, d);
            }
        }
    }
    out
}

/// Pairwise fold of a contiguous run (halves combined left to right); the two halves of a
/// large run go to different threads when `par`.
fn fold_contiguous<T: Copy + Send + Sync>(x: &[T], init: T, f: &(impl Fn(T, T) -> T + Sync), par: bool) -> T {
    if x.len() <= LEAF {
        return lane_fold(x, init, f);
    }
    let (a, b) = x.split_at(x.len() / 2);
    let (l, r) = if par && x.len() >= PAR_MIN {
        rayon::join(|| fold_contiguous(a, init, f, true), || fold_contiguous(b, init, f, true))
    } else {
        (fold_contiguous(a, init, f, false), fold_contiguous(b, init, f, false))
    };
    f(l, r)
}

/// Folds a run of at most [`LEAF`] elements with eight independent accumulators (so the
/// compiler keeps them in one SIMD register), combined pairwise at the end.
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
    let r = chunks.remainder().iter().fold(init, |a, &v| f(a, v));
    let mut w = L;
    while w > 1 {
        w /= 2;
        for l in 0..w {
            acc[l] = f(acc[l], acc[l + w]);
        }
    }
    f(acc[0], r)
}

/// Columns `c0..c0 + dst.len()` of the rows of one (n, inner) block starting at `base`.
struct Rows<'a, T> {
    x: &'a [T],
    base: usize,
    inner: usize,
    c0: usize,
}

impl<T> Rows<'_, T> {
    fn row(&self, k: usize, w: usize) -> &[T] {
        let s = self.base + k * self.inner + self.c0;
        &self.x[s..s + w]
    }
}

/// Levels of scratch the row tree of `n` rows needs.
fn tree_depth(n: usize) -> usize {
    let mut d = 1;
    let mut m = n;
    while m > ROW_LEAF {
        m = m.div_ceil(2);
        d += 1;
    }
    d
}

/// `dst` = the elementwise fold of rows `k0..k1` (non-empty): runs of up to [`ROW_LEAF`] rows in
/// order, longer ranges split in halves; `scratch` holds the right halves' results, one level
/// per depth (the two halves go to different threads when `par`).
fn fold_rows<T: Copy + Send + Sync>(
    rows: &Rows<'_, T>,
    k0: usize,
    k1: usize,
    dst: &mut [T],
    scratch: &mut [T],
    f: &(impl Fn(T, T) -> T + Sync),
    par: bool,
) {
    let w = dst.len();
    if k1 - k0 <= ROW_LEAF {
        dst.copy_from_slice(rows.row(k0, w));
        for k in k0 + 1..k1 {
            dst.iter_mut().zip(rows.row(k, w)).for_each(|(d, &v)| *d = f(*d, v));
        }
        return;
    }
    let mid = k0 + (k1 - k0) / 2;
    let (right, deeper) = scratch.split_at_mut(w);
    if par && (k1 - k0) * w >= PAR_MIN {
        let mut deeper_r = deeper.to_vec();
        rayon::join(|| fold_rows(rows, k0, mid, dst, deeper, f, true), || fold_rows(rows, mid, k1, right, &mut deeper_r, f, true));
    } else {
        fold_rows(rows, k0, mid, dst, deeper, f, false);
        fold_rows(rows, mid, k1, right, deeper, f, false);
    }
    dst.iter_mut().zip(right.iter()).for_each(|(d, &v)| *d = f(*d, v));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float32_sums_of_many_elements_stay_accurate() {
        // 1e7 copies of 0.1f32: the float64 sum of the same values is 1000000.0149...; folding
        // blocks of 16384 and adding the block sums in a row gave 1000020.8. Within four
        // float32 ulps (0.0625 each at 1e6) here.
        let x = vec![0.1f32; 10_000_000];
        let exact = 0.1f32 as f64 * 1e7;
        let s = reduce_axis(&x, 1, x.len(), 1, 0.0f32, |a, b| a + b)[0] as f64;
        assert!((s - exact).abs() <= 0.25, "{s} vs {exact}");
        // The same along the middle axis (rows folded elementwise).
        let x = vec![0.1f32; 2_000_000];
        let exact = 0.1f32 as f64 * 1e6;
        for v in reduce_axis(&x, 1, 1_000_000, 2, 0.0f32, |a, b| a + b) {
            assert!((v as f64 - exact).abs() <= 0.25, "{v} vs {exact}");
        }
    }

    #[test]
    fn every_layout_matches_a_float64_sum() {
        for &(outer, n, inner) in &[(1, 1, 1), (3, 1000, 1), (2, 333, 5), (1, 40, 3000), (4, 17, 1025), (1, 0, 3)] {
            let x: Vec<f64> = (0..outer * n * inner).map(|i| ((i * 7919) % 1013) as f64 - 500.0).collect();
            let got = reduce_axis(&x, outer, n, inner, 0.0, |a, b| a + b);
            for o in 0..outer {
                for i in 0..inner {
                    let want: f64 = (0..n).map(|k| x[(o * n + k) * inner + i]).sum();
                    assert_eq!(got[o * inner + i], want, "({outer}, {n}, {inner}) at ({o}, {i})");
                }
            }
        }
    }

    #[test]
    fn the_tree_is_the_same_on_one_thread() {
        // Results must not depend on the thread pool: compare with a one-thread pool.
        let x: Vec<f32> = (0..3_000_000).map(|i| ((i as f32) * 0.37).sin() * 1000.0).collect();
        let run = || {
            (
                reduce_axis(&x, 1, x.len(), 1, 0.0f32, |a, b| a + b),
                reduce_axis(&x, 1, 1000, 3000, 0.0f32, |a, b| a + b),
                reduce_axis(&x, 3000, 1000, 1, 0.0f32, |a, b| a + b),
                reduce_axis(&x, 1, 300_000, 10, 0.0f32, |a, b| a + b),
            )
        };
        let many = run();
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(run);
        let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap().install(run);
        assert!(many == one && one == three);
    }
}
