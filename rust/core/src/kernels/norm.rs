//! Per-channel normalisation kernels on a row-major array viewed as (outer, C, inner): the
//! channel of flat element `e` is `(e / inner) % C`. Statistics accumulate in f64.

use rayon::prelude::*;

use super::elementwise::fill_chunks;
use super::parallel::use_rayon;
use crate::dtype::Real;

/// For each channel, folds `f(acc, channel, start)` over its rows (the `inner` contiguous
/// elements from flat index `start`), visiting rows in memory order so the pass streams;
/// blocks of outer indices run in parallel, each with its own accumulators, joined by `merge`.
fn per_channel<A: Send + Sync + Clone>(
    outer: usize,
    c: usize,
    inner: usize,
    init: A,
    f: impl Fn(&mut A, usize, usize) + Sync + Send,
    merge: impl Fn(&mut A, &A) + Sync + Send,
) -> Vec<A> {
    let block = |o0: usize, o1: usize| {
        let mut acc = vec![init.clone(); c];
        for o in o0..o1 {
            for (ch, a) in acc.iter_mut().enumerate() {
                f(a, ch, (o * c + ch) * inner);
            }
        }
        acc
    };
    let threads = rayon::current_num_threads();
    if !use_rayon(outer * c * inner) {
        return block(0, outer);
    }
    if outer < 4 * threads {
        // Few outer blocks (e.g. (C, B) data): one task per channel instead.
        return (0..c)
            .into_par_iter()
            .map(|ch| {
                let mut a = init.clone();
                (0..outer).for_each(|o| f(&mut a, ch, (o * c + ch) * inner));
                a
            })
            .collect();
    }
    let per = outer.div_ceil(4 * threads);
    (0..outer.div_ceil(per))
        .into_par_iter()
        .map(|i| block(i * per, ((i + 1) * per).min(outer)))
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(x, y)| merge(x, y));
            a
        })
        .unwrap_or_else(|| vec![init.clone(); c])
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
        let n = self.n + o.n;
        if n == 0.0 {
            return;
        }
        let d = o.mean - self.mean;
        self.mean += d * o.n / n;
        self.m2 += o.m2 + d * d * self.n * o.n / n;
        self.n = n;
    }
}

/// Per-channel mean and biased variance: each row's mean and squared deviations in the
/// data's precision (the row is in cache for its second sweep), rows merged in f64.
pub fn channel_moments<T: Real>(x: &[T], outer: usize, c: usize, inner: usize) -> (Vec<f64>, Vec<f64>) {
    let moments = per_channel(outer, c, inner, Moments::default(), |acc, _, start| {
        if inner == 0 {
            return;
        }
        let row = &x[start..start + inner];
        let mu = lane_sum(row, |v| v) / T::from_f64(inner as f64);
        let m2 = lane_sum(row, |v| (v - mu) * (v - mu));
        acc.merge(Moments { n: inner as f64, mean: mu.to_f64(), m2: m2.to_f64() });
    }, |a, b| a.merge(*b));
    moments.iter().map(|m| (m.mean, if m.n > 0.0 { m.m2 / m.n } else { 0.0 })).unzip()
}

/// `out[e] = a[ch] * x[e] + b[ch]` (+ `k[ch] * g[e]` when `g` is given), in parallel over rows.
pub fn channel_affine<T: Real>(x: &[T], g: Option<&[T]>, coef: &[(f64, f64, f64)], c: usize, inner: usize) -> Vec<T> {
    if inner == 0 || x.is_empty() {
        return vec![T::zero(); x.len()];
    }
    // Chunks may start and end inside rows: walk them row piece by row piece.
    fill_chunks(x.len(), |start, out| {
        let mut e = start;
        for piece in split_at_rows(out, start, inner) {
            let (a, b, k) = coef[(e / inner) % c];
            let (a, b, k) = (T::from_f64(a), T::from_f64(b), T::from_f64(k));
            let src = &x[e..e + piece.len()];
            match g {
                None => piece.iter_mut().zip(src).for_each(|(d, &v)| {
                    d.write(a * v + b);
                }),
                Some(g) => piece.iter_mut().zip(src).zip(&g[e..e + src.len()]).for_each(|((d, &v), &gv)| {
                    d.write(k * gv + a * v + b);
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
    per_channel(outer, c, inner, (0.0f64, 0.0f64), |acc, ch, start| {
        let (gr, xr) = (&g[start..start + inner], &x[start..start + inner]);
        let mu = T::from_f64(mean[ch]);
        acc.0 += lane_sum(gr, |v| v).to_f64();
        acc.1 += lane_sum2(gr, xr, |gv, xv| gv * (xv - mu)).to_f64();
    }, |a, b| {
        a.0 += b.0;
        a.1 += b.1;
    })
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
        let y = channel_affine(&x, None, &coef, 3, 2);
        for (e, (&yv, &xv)) in y.iter().zip(&x).enumerate() {
            let (a, b, _) = coef[(e / 2) % 3];
            assert!((yv - (a * xv + b)).abs() < 1e-15);
        }
    }
}
