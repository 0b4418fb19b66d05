//! Per-channel normalisation kernels on a row-major array viewed as (outer, C, inner): the
//! channel of flat element `e` is `(e / inner) % C`. Statistics accumulate in f64.

use rayon::prelude::*;

use super::parallel::use_rayon;
use crate::dtype::Real;

/// Rows of `inner` elements per parallel task, so small rows are batched.
fn rows_per_task(inner: usize) -> usize {
    (8192 / inner.max(1)).max(1)
}

/// For each channel, folds `f(acc, channel, start)` over its rows: the `inner` contiguous
/// elements from flat index `start` (one task per channel).
fn per_channel<A: Send + Sync + Clone>(outer: usize, c: usize, inner: usize, init: A, f: impl Fn(&mut A, usize, usize) + Sync + Send) -> Vec<A> {
    let body = |ch: usize| {
        let mut acc = init.clone();
        for o in 0..outer {
            f(&mut acc, ch, (o * c + ch) * inner);
        }
        acc
    };
    if use_rayon(outer * c * inner) && c > 1 {
        (0..c).into_par_iter().map(body).collect()
    } else {
        (0..c).map(body).collect()
    }
}

/// `sum_i f(i)` for `i < n` in the data's own precision with sixteen independent lanes, which
/// the compiler turns into SIMD adds (rows are short, so the error stays at the level of a
/// few roundings; the totals over rows accumulate in f64).
#[inline(always)]
fn lane_sum<T: Real>(n: usize, f: impl Fn(usize) -> T) -> T {
    const L: usize = 16;
    let mut acc = [T::zero(); L];
    let full = n / L * L;
    let mut i = 0;
    while i < full {
        for (l, a) in acc.iter_mut().enumerate() {
            *a = *a + f(i + l);
        }
        i += L;
    }
    let mut s = T::zero();
    for j in full..n {
        s = s + f(j);
    }
    let mut w = L;
    while w > 1 {
        w /= 2;
        for l in 0..w {
            acc[l] = acc[l] + acc[l + w];
        }
    }
    acc[0] + s
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
        let mu = lane_sum(inner, |i| row[i]) / T::from_f64(inner as f64);
        let m2 = lane_sum(inner, |i| {
            let d = row[i] - mu;
            d * d
        });
        acc.merge(Moments { n: inner as f64, mean: mu.to_f64(), m2: m2.to_f64() });
    });
    moments.iter().map(|m| (m.mean, if m.n > 0.0 { m.m2 / m.n } else { 0.0 })).unzip()
}

/// `out[e] = a[ch] * x[e] + b[ch]` (+ `k[ch] * g[e]` when `g` is given), in parallel over rows.
pub fn channel_affine<T: Real>(x: &[T], g: Option<&[T]>, coef: &[(f64, f64, f64)], c: usize, inner: usize) -> Vec<T> {
    let mut out = vec![T::zero(); x.len()];
    if inner == 0 || x.is_empty() {
        return out;
    }
    let row = |r: usize, dst: &mut [T]| {
        let (a, b, k) = coef[r % c];
        let (a, b, k) = (T::from_f64(a), T::from_f64(b), T::from_f64(k));
        let src = &x[r * inner..(r + 1) * inner];
        match g {
            None => dst.iter_mut().zip(src).for_each(|(d, &v)| *d = a * v + b),
            Some(g) => {
                let gs = &g[r * inner..(r + 1) * inner];
                dst.iter_mut().zip(src).zip(gs).for_each(|((d, &v), &gv)| *d = k * gv + a * v + b)
            }
        }
    };
    let per = rows_per_task(inner);
    if use_rayon(x.len()) {
        out.par_chunks_mut(inner * per).enumerate().for_each(|(t, block)| {
            for (j, dst) in block.chunks_mut(inner).enumerate() {
                row(t * per + j, dst);
            }
        });
    } else {
        out.chunks_mut(inner).enumerate().for_each(|(r, dst)| row(r, dst));
    }
    out
}

/// Per-channel `(sum g, sum g * (x - mean))` for the batch-normalisation backward pass.
pub fn channel_grad_sums<T: Real>(g: &[T], x: &[T], mean: &[f64], outer: usize, c: usize, inner: usize) -> Vec<(f64, f64)> {
    per_channel(outer, c, inner, (0.0f64, 0.0f64), |acc, ch, start| {
        let (gr, xr) = (&g[start..start + inner], &x[start..start + inner]);
        let mu = T::from_f64(mean[ch]);
        acc.0 += lane_sum(inner, |i| gr[i]).to_f64();
        acc.1 += lane_sum(inner, |i| gr[i] * (xr[i] - mu)).to_f64();
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
