//! Elementwise maps: unary, and binary with numpy broadcasting. Contiguous fast paths, a
//! strided path for broadcasting, rayon above a size threshold.

use rayon::prelude::*;

use super::parallel::{use_rayon, PAR_CHUNK};
use crate::shape::{broadcast_strides, numel, StridedIter};

pub fn map<T: Copy + Send + Sync, U: Copy + Send + Sync>(x: &[T], f: impl Fn(T) -> U + Sync + Send) -> Vec<U> {
    if use_rayon(x.len()) {
        x.par_iter().with_min_len(PAR_CHUNK).map(|&v| f(v)).collect()
    } else {
        x.iter().map(|&v| f(v)).collect()
    }
}

/// `f(a, b)` over the broadcast of `a` (shape `sa`) and `b` (shape `sb`) to `out`.
pub fn zip_broadcast<T: Copy + Send + Sync, S: Copy + Send + Sync, U: Copy + Send + Sync + Default>(
    a: &[T],
    sa: &[usize],
    b: &[S],
    sb: &[usize],
    out: &[usize],
    f: impl Fn(T, S) -> U + Sync + Send,
) -> Vec<U> {
    let n = numel(out);
    let par = use_rayon(n);
    if sa == out && sb == out {
        return if par {
            a.par_iter().zip(b.par_iter()).with_min_len(PAR_CHUNK).map(|(&x, &y)| f(x, y)).collect()
        } else {
            a.iter().zip(b.iter()).map(|(&x, &y)| f(x, y)).collect()
        };
    }
    if b.len() == 1 && sa == out {
        let y = b[0];
        return map(a, |x| f(x, y));
    }
    if a.len() == 1 && sb == out {
        let x = a[0];
        return map(b, |y| f(x, y));
    }
    let st = [broadcast_strides(sa, out), broadcast_strides(sb, out)];
    let mut res = vec![U::default(); n];
    let fill = |start: usize, chunk: &mut [U]| {
        let it = StridedIter::starting_at(out, st.clone(), start);
        for (dst, [i, j]) in chunk.iter_mut().zip(it) {
            *dst = f(a[i], b[j]);
        }
    };
    if par {
        res.par_chunks_mut(PAR_CHUNK).enumerate().for_each(|(c, chunk)| fill(c * PAR_CHUNK, chunk));
    } else {
        fill(0, &mut res);
    }
    res
}

/// Three-way broadcast for `where(cond, a, b)`.
pub fn where_broadcast<T: Copy + Send + Sync + Default>(
    c: &[bool],
    sc: &[usize],
    a: &[T],
    sa: &[usize],
    b: &[T],
    sb: &[usize],
    out: &[usize],
) -> Vec<T> {
    let st = [broadcast_strides(sc, out), broadcast_strides(sa, out), broadcast_strides(sb, out)];
    let n = numel(out);
    let mut res = vec![T::default(); n];
    let fill = |start: usize, chunk: &mut [T]| {
        let it = StridedIter::starting_at(out, st.clone(), start);
        for (dst, [k, i, j]) in chunk.iter_mut().zip(it) {
            *dst = if c[k] { a[i] } else { b[j] };
        }
    };
    if use_rayon(n) {
        res.par_chunks_mut(PAR_CHUNK).enumerate().for_each(|(ch, chunk)| fill(ch * PAR_CHUNK, chunk));
    } else {
        fill(0, &mut res);
    }
    res
}

/// Copies `x` (shape `sx`) into the layout given by `strides` over `out` — the general
/// "materialise a strided view" used by permute, broadcast_to and flips.
pub fn gather_strided<T: Copy + Send + Sync + Default>(x: &[T], out: &[usize], strides: &[usize], offset: usize) -> Vec<T> {
    let n = numel(out);
    let mut res = vec![T::default(); n];
    let st = [strides.to_vec()];
    let fill = |start: usize, chunk: &mut [T]| {
        let it = StridedIter::starting_at(out, st.clone(), start);
        for (dst, [i]) in chunk.iter_mut().zip(it) {
            *dst = x[(offset as isize + i as isize) as usize];
        }
    };
    if use_rayon(n) {
        res.par_chunks_mut(PAR_CHUNK).enumerate().for_each(|(c, chunk)| fill(c * PAR_CHUNK, chunk));
    } else {
        fill(0, &mut res);
    }
    res
}
