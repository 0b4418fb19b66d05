//! Softmax and log-softmax along one axis of a row-major array viewed as (outer, n, inner).
//!
//! Each (n, inner) block is handled on its own: the per-column maximum, then `x − max` and its
//! exponentials row by row (contiguous, vectorised), then the per-column sums. A column's
//! maximum and sum are folded over the rows in order, so the result does not depend on how
//! the work is split between threads.

use rayon::prelude::*;

use super::parallel::use_rayon;
use crate::dtype::Real;

/// `softmax` (or `log_softmax` when `log`) of `x` along the middle axis of (outer, n, inner).
pub fn softmax_axis<T: Real>(x: &[T], outer: usize, n: usize, inner: usize, log: bool) -> Vec<T> {
    let mut out = vec![T::zero(); x.len()];
    let block = n * inner;
    if block == 0 {
        return out;
    }
    let one = |src: &[T], dst: &mut [T]| {
        if inner == 1 {
            row(src, dst, log)
        } else {
            columns(src, dst, n, inner, log)
        }
    };
    if use_rayon(x.len()) && outer > 1 {
        out.par_chunks_mut(block).zip(x.par_chunks(block)).for_each(|(d, s)| one(s, d));
    } else {
        out.chunks_mut(block).zip(x.chunks(block)).for_each(|(d, s)| one(s, d));
    }
    out
}

/// The largest value, NaN if there is one (so a NaN input gives NaN outputs).
#[inline(always)]
fn bigger<T: Real>(a: T, b: T) -> T {
    if b > a || b.is_nan() {
        b
    } else {
        a
    }
}

/// One contiguous softmax group (the axis is the last one).
fn row<T: Real>(x: &[T], out: &mut [T], log: bool) {
    let m = x.iter().fold(T::from_f64(f64::NEG_INFINITY), |a, &b| bigger(a, b));
    for (o, &v) in out.iter_mut().zip(x) {
        *o = v - m;
    }
    if log {
        let mut e = out.to_vec();
        T::exp_in_place(&mut e);
        let ls = e.iter().fold(T::zero(), |a, &b| a + b).ln();
        out.iter_mut().for_each(|o| *o = *o - ls);
    } else {
        T::exp_in_place(out);
        let inv = T::one() / out.iter().fold(T::zero(), |a, &b| a + b);
        out.iter_mut().for_each(|o| *o = *o * inv);
    }
}

/// One (n, inner) block: softmax down each of the `inner` columns.
fn columns<T: Real>(x: &[T], out: &mut [T], n: usize, inner: usize, log: bool) {
    let mut m = x[..inner].to_vec();
    for r in x.chunks_exact(inner).skip(1) {
        m.iter_mut().zip(r).for_each(|(a, &b)| *a = bigger(*a, b));
    }
    let mut sum = vec![T::zero(); inner];
    let mut e = if log { vec![T::zero(); inner] } else { vec![] };
    let rows = out.chunks_exact_mut(inner).zip(x.chunks_exact(inner));
    for (o, r) in rows.take(n) {
        o.iter_mut().zip(r).zip(&m).for_each(|((o, &v), &mu)| *o = v - mu);
        if log {
            T::exp_into(o, &mut e);
            sum.iter_mut().zip(&e).for_each(|(s, &v)| *s = *s + v);
        } else {
            T::exp_in_place(o);
            sum.iter_mut().zip(o.iter()).for_each(|(s, &v)| *s = *s + v);
        }
    }
    if log {
        sum.iter_mut().for_each(|s| *s = s.ln());
        for o in out.chunks_exact_mut(inner) {
            o.iter_mut().zip(&sum).for_each(|(o, &ls)| *o = *o - ls);
        }
    } else {
        sum.iter_mut().for_each(|s| *s = T::one() / *s);
        for o in out.chunks_exact_mut(inner) {
            o.iter_mut().zip(&sum).for_each(|(o, &inv)| *o = *o * inv);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(x: &[f64], outer: usize, n: usize, inner: usize, log: bool) -> Vec<f64> {
        let mut out = vec![0.0; x.len()];
        for o in 0..outer {
            for i in 0..inner {
                let at = |k: usize| (o * n + k) * inner + i;
                let m = (0..n).map(|k| x[at(k)]).fold(f64::NEG_INFINITY, f64::max);
                let s: f64 = (0..n).map(|k| (x[at(k)] - m).exp()).sum();
                for k in 0..n {
                    out[at(k)] = if log { x[at(k)] - m - s.ln() } else { (x[at(k)] - m).exp() / s };
                }
            }
        }
        out
    }

    #[test]
    fn matches_the_formula_in_every_layout() {
        for &(outer, n, inner) in &[(1, 5, 1), (3, 4, 1), (1, 4, 3), (2, 3, 5), (4, 1, 2)] {
            let x: Vec<f64> = (0..outer * n * inner).map(|i| ((i as f64) * 1.7).sin() * 30.0).collect();
            for log in [false, true] {
                let got = softmax_axis(&x, outer, n, inner, log);
                for (a, b) in got.iter().zip(direct(&x, outer, n, inner, log)) {
                    assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{outer},{n},{inner} log={log}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn log_softmax_is_exact_where_probabilities_underflow() {
        let x = [0.0f32, 200.0];
        let l = softmax_axis(&x, 1, 2, 1, true);
        assert_eq!(l, vec![-200.0, 0.0]);
        let p = softmax_axis(&x, 1, 2, 1, false);
        assert_eq!(p, vec![0.0, 1.0]);
    }

    #[test]
    fn nan_propagates_to_its_group_only() {
        let x = [1.0f64, f64::NAN, 2.0, 3.0];
        let y = softmax_axis(&x, 1, 2, 2, false);
        assert!(y[1].is_nan() && y[3].is_nan());
        assert!((y[0] - 1.0 / (1.0 + 1.0f64.exp())).abs() < 1e-15);
    }
}
