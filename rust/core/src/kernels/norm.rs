//! Per-channel normalisation kernels on a row-major array viewed as (outer, C, inner): the
//! channel of flat element `e` is `(e / inner) % C`. Statistics accumulate in f64.
//!
//! Results do not depend on the number of threads: rows are grouped into blocks of a fixed
//! number of outer indices, each block is folded on its own, and the blocks are merged in
//! order; threads only share out the blocks (or the channels).

use rayon::prelude::*;

use super::elementwise::fill_chunks;
use super::parallel::use_rayon;
use crate::dtype::Real;

/// Elements per block of rows: the unit of parallel work, and of the fixed merge order.
const BLOCK_ELEMS: usize = 1 << 14;

/// For each channel, folds `f(acc, channel, start)` over its rows (the `inner` contiguous
/// elements from flat index `start`), in blocks of whole outer indices, visiting rows in
/// memory order so a pass streams; a block's accumulators start from `init` and the blocks
/// are joined by `merge` in order.
fn per_channel<A: Send + Sync + Clone>(
    outer: usize,
    c: usize,
    inner: usize,
    init: A,
    f: impl Fn(&mut A, usize, usize) + Sync + Send,
    merge: impl Fn(&mut A, &A) + Sync + Send,
) -> Vec<A> {
    let per = (BLOCK_ELEMS / (c * inner).max(1)).max(1);
    let blocks = outer.div_ceil(per);
    let span = |b: usize| (b * per)..((b + 1) * per).min(outer);
    // One channel over all blocks, merged in block order.
    let channel = |ch: usize| {
        let mut total: Option<A> = None;
        for b in 0..blocks {
            let mut a = init.clone();
            span(b).for_each(|o| f(&mut a, ch, (o * c + ch) * inner));
            match &mut total {
                None => total = Some(a),
                Some(t) => merge(t, &a),
            }
        }
        total.unwrap_or_else(|| init.clone())
    };
    let par = use_rayon(outer * c * inner);
    if par && blocks < 4 * rayon::current_num_threads() {
        // Few blocks (e.g. (C, B) data): the same folds, one task per channel.
        return (0..c).into_par_iter().map(channel).collect();
    }
    // All channels of a block together, so the pass over memory streams.
    let block = |b: usize| {
        let mut acc = vec![init.clone(); c];
        for o in span(b) {
            for (ch, a) in acc.iter_mut().enumerate() {
                f(a, ch, (o * c + ch) * inner);
            }
        }
        acc
    };
    let parts: Vec<Vec<A>> = if par { (0..blocks).into_par_iter().map(block).collect() } else { (0..blocks).map(block).collect() };
    let mut it = parts.into_iter();
    let mut total = it.next().unwrap_or_else(|| vec![init.clone(); c]);
    for p in it {
        total.iter_mut().zip(&p).for_each(|(x, y)| merge(x, y));
    }
    total
}

const LANES: usize = 16;

/// Adds the lanes pairwise.
#[inline(always)]
fn reduce_lanes<T: Real>(mut acc: [T; LANES]) -> T {
    let mut w = LANES;
    while w > 1 {
        w /= 2;
        for l in 0..w {
            acc[l] = acc[l] + acc[l + w];
        }
    }
    acc[0]
}

/// `sum_i f(a_i, b_i)` in the data's own precision with sixteen independent lanes over
/// fixed-size chunks, which the compiler turns into SIMD adds (rows are short, so the error
/// stays at the level of a few roundings; totals over rows accumulate in f64).
#[inline(always)]
fn lane_sum2<T: Real>(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> T {
    let mut acc = [T::zero(); LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        let (x, y): (&[T; LANES], &[T; LANES]) = (x.try_into().expect("exact chunk"), y.try_into().expect("exact chunk"));
        for l in 0..LANES {
            acc[l] = acc[l] + f(x[l], y[l]);
        }
    }
    let tail = ra.iter().zip(rb).fold(T::zero(), |s, (&x, &y)| s + f(x, y));
    reduce_lanes(acc) + tail
}

#[inline(always)]
fn lane_sum<T: Real>(a: &[T], f: impl Fn(T) -> T) -> T {
    lane_sum2(a, a, |x, _| f(x))
}

/// Count, mean and sum of squared deviations of a set, merged with another (Chan et al.), so
/// the variance comes from one pass over memory and stays accurate.
#[derive(Clone, Copy, Default)]
struct Moments {
    n: f64,
    mean: f64,
    m2: f64,
}

impl Moments {
    fn merge(&mut self, o: Moments) {
        if self.n == 0.0 {
            *self = o;
            return;
        }
        let n = self.n + o.n;
        if o.n == 0.0 {
            return;
        }
        let d = o.mean - self.mean;
        self.mean += d * (o.n / n);
        self.m2 += o.m2 + d * d * (self.n * o.n / n);
        self.n = n;
    }
}

/// Elements whose shifted sums are taken in the data's precision before they are turned into
/// [`Moments`] (few enough that the float32 sums stay accurate).
const FLUSH: usize = 2048;

/// One channel's running statistics: sums of deviations from a value `k` of the data, in
/// sixteen lanes of the data's precision (SIMD), turned into f64 [`Moments`] every [`FLUSH`]
/// elements. Shifting by a value of the data keeps the sums small whatever the offset (a
/// constant channel gives exactly mean `k`, variance 0), and rows need no per-row division,
/// so short rows stay cheap.
#[derive(Clone)]
struct ShiftedSums<T> {
    k: Option<T>,
    n: usize,
    s1: [T; LANES],
    s2: [T; LANES],
    done: Moments,
}

impl<T: Real> ShiftedSums<T> {
    fn new() -> Self {
        ShiftedSums { k: None, n: 0, s1: [T::zero(); LANES], s2: [T::zero(); LANES], done: Moments::default() }
    }

    fn add(&mut self, mut row: &[T]) {
        while !row.is_empty() {
            let (piece, rest) = row.split_at(row.len().min(FLUSH - self.n));
            let k = *self.k.get_or_insert(piece[0]);
            let chunks = piece.chunks_exact(LANES);
            let tail = chunks.remainder();
            for x in chunks {
                let x: &[T; LANES] = x.try_into().expect("exact chunk");
                for ((s1, s2), &v) in self.s1.iter_mut().zip(self.s2.iter_mut()).zip(x) {
                    let d = v - k;
                    *s1 = *s1 + d;
                    *s2 = *s2 + d * d;
                }
            }
            for (l, &v) in tail.iter().enumerate() {
                let d = v - k;
                self.s1[l] = self.s1[l] + d;
                self.s2[l] = self.s2[l] + d * d;
            }
            self.n += piece.len();
            if self.n >= FLUSH {
                self.flush();
            }
            row = rest;
        }
    }

    fn flush(&mut self) {
        let Some(k) = self.k.take() else { return };
        let n = self.n as f64;
        let (s1, s2) = (reduce_lanes(self.s1).to_f64(), reduce_lanes(self.s2).to_f64());
        let md = s1 / n;
        self.done.merge(Moments { n, mean: k.to_f64() + md, m2: (s2 - s1 * md).max(0.0) });
        *self = ShiftedSums { done: self.done, ..ShiftedSums::new() };
    }

    fn finish(mut self) -> Moments {
        self.flush();
        self.done
    }
}

/// Per-channel mean and biased variance in one pass over memory (see [`ShiftedSums`]).
pub fn channel_moments<T: Real>(x: &[T], outer: usize, c: usize, inner: usize) -> (Vec<f64>, Vec<f64>) {
    let merge = |a: &mut ShiftedSums<T>, b: &ShiftedSums<T>| {
        let mut m = std::mem::replace(a, ShiftedSums::new()).finish();
        m.merge(b.clone().finish());
        a.done = m;
    };
    let sums = per_channel(outer, c, inner, ShiftedSums::new(), |acc, _, start| acc.add(&x[start..start + inner]), merge);
    sums.into_iter()
        .map(|s| {
            let m = s.finish();
            (m.mean, if m.n > 0.0 { m.m2 / m.n } else { 0.0 })
        })
        .unzip()
}

/// `centre` as two values of the data's type, `hi + lo` (nearly f64 precision): `(x − hi) −
/// lo` is `x − centre` without the rounding of `centre` to the data's precision, and the first
/// subtraction is exact for `x` near `centre` (so a constant channel centres to exactly 0).
#[inline(always)]
pub(crate) fn split_centre<T: Real>(centre: f64) -> (T, T) {
    let hi = T::from_f64(centre);
    (hi, T::from_f64(centre - hi.to_f64()))
}

/// `out[e] = a[ch] · (x[e] − centre[ch]) + b[ch]` (+ `k[ch] · g[e]` when `g` is given), in
/// parallel over rows. Centring first keeps a large offset from cancelling in `a·x + b`.
pub fn channel_affine<T: Real>(x: &[T], g: Option<&[T]>, coef: &[(f64, f64, f64)], centre: &[f64], c: usize, inner: usize) -> Vec<T> {
    if inner == 0 || x.is_empty() {
        return vec![T::zero(); x.len()];
    }
    // Chunks may start and end inside rows: walk them row piece by row piece.
    fill_chunks(x.len(), |start, out| {
        let mut e = start;
        for piece in split_at_rows(out, start, inner) {
            let ch = (e / inner) % c;
            let (a, b, k) = coef[ch];
            let (a, b, k) = (T::from_f64(a), T::from_f64(b), T::from_f64(k));
            let (hi, lo) = split_centre::<T>(centre[ch]);
            let src = &x[e..e + piece.len()];
            match g {
                None => piece.iter_mut().zip(src).for_each(|(d, &v)| {
                    d.write(a * ((v - hi) - lo) + b);
                }),
                Some(g) => piece.iter_mut().zip(src).zip(&g[e..e + src.len()]).for_each(|((d, &v), &gv)| {
                    d.write(k * gv + a * ((v - hi) - lo) + b);
                }),
            }
            e += src.len();
        }
    })
}

/// `out` (flat elements from `start`) cut where rows of `inner` elements begin.
fn split_at_rows<U>(out: &mut [U], start: usize, inner: usize) -> impl Iterator<Item = &mut [U]> {
    let first = (inner - start % inner).min(out.len());
    let (head, rest) = out.split_at_mut(first);
    std::iter::once(head).filter(|h| !h.is_empty()).chain(rest.chunks_mut(inner))
}

/// Per-channel `(sum g, sum g * (x - mean))` for the batch-normalisation backward pass.
pub fn channel_grad_sums<T: Real>(g: &[T], x: &[T], mean: &[f64], outer: usize, c: usize, inner: usize) -> Vec<(f64, f64)> {
    per_channel(
        outer,
        c,
        inner,
        (0.0f64, 0.0f64),
        |acc, ch, start| {
            let (gr, xr) = (&g[start..start + inner], &x[start..start + inner]);
            let (hi, lo) = split_centre::<T>(mean[ch]);
            acc.0 += lane_sum(gr, |v| v).to_f64();
            acc.1 += lane_sum2(gr, xr, |gv, xv| gv * ((xv - hi) - lo)).to_f64();
        },
        |a, b| {
            a.0 += b.0;
            a.1 += b.1;
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_and_affine_match_a_direct_computation() {
        // (outer=2, C=3, inner=2)
        let x: Vec<f64> = (0..12).map(|i| (i as f64 * 0.7).sin()).collect();
        let (mean, var) = channel_moments(&x, 2, 3, 2);
        for ch in 0..3 {
            let vals: Vec<f64> = (0..2).flat_map(|o| (0..2).map(move |i| (o * 3 + ch) * 2 + i)).map(|e| x[e]).collect();
            let m = vals.iter().sum::<f64>() / 4.0;
            let v = vals.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / 4.0;
            assert!((mean[ch] - m).abs() < 1e-14 && (var[ch] - v).abs() < 1e-14);
        }
        let coef = vec![(2.0, 1.0, 0.0), (0.0, -1.0, 0.0), (1.0, 0.0, 0.0)];
        let centre = [0.25, 0.0, -0.5];
        let y = channel_affine(&x, None, &coef, &centre, 3, 2);
        for (e, (&yv, &xv)) in y.iter().zip(&x).enumerate() {
            let (a, b, _) = coef[(e / 2) % 3];
            assert!((yv - (a * (xv - centre[(e / 2) % 3]) + b)).abs() < 1e-15);
        }
    }

    #[test]
    fn large_offsets_keep_their_statistics_and_centre_exactly() {
        // float32 channels: constant 1e5 + 0.3 (not a multiple of a power of two), and 1e5
        // plus small steps; the results must not depend on the offset.
        let (outer, c, inner) = (3, 2, 37);
        let x: Vec<f32> =
            (0..outer * c * inner).map(|e| if (e / inner) % c == 0 { 100000.3 } else { 100000.0 + ((e % 7) as f32) * 0.125 }).collect();
        let (mean, var) = channel_moments(&x, outer, c, inner);
        assert_eq!(mean[0], 100000.3f32 as f64);
        assert_eq!(var[0], 0.0);
        let ch1: Vec<f64> = (0..x.len()).filter(|e| (e / inner) % c == 1).map(|e| x[e] as f64).collect();
        let m = ch1.iter().sum::<f64>() / ch1.len() as f64;
        let v = ch1.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / ch1.len() as f64;
        // float32 accuracy relative to the spread, whatever the offset.
        assert!((mean[1] - m).abs() <= 1e-6 * v.sqrt() && (var[1] - v).abs() <= 1e-6 * v, "{} {} vs {m} {v}", mean[1], var[1]);
        let y = channel_affine(&x, None, &[(316.0, 0.5, 0.0), (1.0, 0.0, 0.0)], &mean, c, inner);
        for (e, &yv) in y.iter().enumerate() {
            if (e / inner) % c == 0 {
                assert_eq!(yv, 0.5);
            } else {
                assert!((yv as f64 - (x[e] as f64 - mean[1])).abs() < 1e-6);
            }
        }
    }
}
