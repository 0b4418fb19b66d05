//! Pooling kernels on raw slices. Input (N, C, S...) is seen as N·C independent planes of
//! three spatial dims (1-D and 2-D embedded with leading singleton dims); planes run in
//! parallel, several per task.
//!
//! Each output line (fixed output depth and height) is computed in two stages: first the
//! window's input rows are combined elementwise into one row buffer (a vectorisable pass
//! over whole rows), then each output reduces its span of that buffer.

use rayon::prelude::*;

use super::parallel::{use_rayon, PAR_CHUNK};
use crate::dtype::Real;

/// The shape of one pooling, spatial parameters padded to three dims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolGeom {
    /// N·C.
    pub planes: usize,
    pub in_sp: [usize; 3],
    pub out_sp: [usize; 3],
    pub k: [usize; 3],
    pub stride: [usize; 3],
    /// Padding before each spatial dim.
    pub pad: [usize; 3],
}

impl PoolGeom {
    pub fn in_plane(&self) -> usize {
        self.in_sp.iter().product()
    }
    pub fn out_plane(&self) -> usize {
        self.out_sp.iter().product()
    }
    pub fn window(&self) -> usize {
        self.k.iter().product()
    }

    /// The input range `lo..hi` covered by output `o` along dim `d` (clipped to the input).
    fn span(&self, o: usize, d: usize) -> (usize, usize) {
        let start = (o * self.stride[d]) as isize - self.pad[d] as isize;
        let end = start + self.k[d] as isize;
        (start.max(0) as usize, (end.max(0) as usize).min(self.in_sp[d]))
    }

    /// The clipped windows of every output position along each dim.
    fn spans(&self) -> [Vec<(usize, usize)>; 3] {
        std::array::from_fn(|d| (0..self.out_sp[d]).map(|o| self.span(o, d)).collect())
    }
}

/// The precomputed walk over one plane's output lines.
struct Lines {
    spans: [Vec<(usize, usize)>; 3],
    ih: usize,
    iw: usize,
}

impl Lines {
    fn new(geo: &PoolGeom) -> Lines {
        Lines { spans: geo.spans(), ih: geo.in_sp[1], iw: geo.in_sp[2] }
    }

    /// Calls `f(line, rows, (d-extent × h-extent))` for every output line of a plane, where
    /// `rows` yields the flat starts of the input rows its windows cover.
    #[inline]
    fn for_each(&self, mut f: impl FnMut(usize, &mut dyn Iterator<Item = usize>, usize)) {
        let mut line = 0;
        for &(d0, d1) in &self.spans[0] {
            for &(h0, h1) in &self.spans[1] {
                let (ih, iw) = (self.ih, self.iw);
                let mut rows = (d0..d1).flat_map(move |d| (h0..h1).map(move |h| (d * ih + h) * iw));
                f(line, &mut rows, (d1 - d0) * (h1 - h0));
                line += 1;
            }
        }
    }
}

/// Runs `body(plane, out_chunk, scratch)` over chunks of `out` of `per_plane` elements each,
/// in parallel (several planes per task, one scratch per task) when `work` is large.
fn per_plane<T: Send, S>(
    out: &mut [T],
    per_plane: usize,
    work: usize,
    scratch: impl Fn() -> S + Sync,
    body: impl Fn(usize, &mut [T], &mut S) + Sync,
) {
    if per_plane == 0 {
        return;
    }
    if use_rayon(work) {
        let per_task = (PAR_CHUNK / per_plane).max(1);
        out.par_chunks_mut(per_plane * per_task).enumerate().for_each(|(t, o)| {
            let mut s = scratch();
            o.chunks_mut(per_plane).enumerate().for_each(|(p, o)| body(t * per_task + p, o, &mut s))
        });
    } else {
        let mut s = scratch();
        out.chunks_mut(per_plane).enumerate().for_each(|(p, o)| body(p, o, &mut s));
    }
}

/// Max pooling: for every output, its window's maximum and that maximum's flat index into
/// `x`. Padding never wins (it acts as −∞); NaN wins over numbers (propagates, as in
/// PyTorch); ties keep the first position in row-major order. Every window must contain an
/// input element.
pub fn maxpool_forward<T: Real>(x: &[T], geo: &PoolGeom) -> (Vec<T>, Vec<usize>) {
    let (ip, op) = (geo.in_plane(), geo.out_plane());
    let lines = Lines::new(geo);
    let (iw, ow) = (geo.in_sp[2], geo.out_sp[2]);
    let wspans = &lines.spans[2];
    let mut vals = vec![T::zero(); geo.planes * op];
    let mut idx = vec![0usize; geo.planes * op];
    let plane = |p: usize, vals: &mut [T], idx: &mut [usize], (acc, rows_v): &mut (Vec<T>, Vec<usize>)| {
        let base = p * ip;
        let xp = &x[base..base + ip];
        lines.for_each(|line, rows, _| {
            rows_v.clear();
            rows_v.extend(rows);
            // Stage 1: per input column, the maximum over the window's rows (NaN sticks).
            let first = rows_v[0];
            acc.copy_from_slice(&xp[first..first + iw]);
            for &r in &rows_v[1..] {
                for (a, &v) in acc.iter_mut().zip(&xp[r..r + iw]) {
                    *a = if ((v > *a) | v.is_nan()) & !a.is_nan() { v } else { *a };
                }
            }
            // Stage 2: per output, the maximum over its columns, then the first position in
            // row-major order holding it (a reverse scan with selects: no unpredictable
            // branches).
            let range = line * ow..(line + 1) * ow;
            for ((v, i), &(w0, w1)) in vals[range.clone()].iter_mut().zip(&mut idx[range]).zip(wspans) {
                let mut bv = acc[w0];
                for &a in &acc[w0 + 1..w1] {
                    bv = if ((a > bv) | a.is_nan()) & !bv.is_nan() { a } else { bv };
                }
                let nan = bv.is_nan();
                let mut bi = 0;
                for &r in rows_v.iter().rev() {
                    for j in (r + w0..r + w1).rev() {
                        let e = xp[j];
                        bi = if (e == bv) | (nan & e.is_nan()) { j } else { bi };
                    }
                }
                *v = bv;
                *i = base + bi;
            }
        });
    };
    let scratch = || (vec![T::zero(); iw], Vec::<usize>::new());
    if op == 0 {
        return (vals, idx);
    }
    if use_rayon(x.len()) {
        let per_task = (PAR_CHUNK / op).max(1);
        vals.par_chunks_mut(op * per_task).zip(idx.par_chunks_mut(op * per_task)).enumerate().for_each(|(t, (v, i))| {
            let mut s = scratch();
            v.chunks_mut(op).zip(i.chunks_mut(op)).enumerate().for_each(|(p, (v, i))| plane(t * per_task + p, v, i, &mut s))
        });
    } else {
        let mut s = scratch();
        vals.chunks_mut(op).zip(idx.chunks_mut(op)).enumerate().for_each(|(p, (v, i))| plane(p, v, i, &mut s));
    }
    (vals, idx)
}

/// `dst` of `n` zeros plus `v[j]` at `idx[j]` for every j (repeats add up). When every index
/// stays in its own plane (`idx[j] / in_plane == j / out_plane`, as maxpool's do), planes
/// run in parallel; otherwise serially.
pub fn scatter_planes<T: Real>(v: &[T], idx: &[usize], n: usize, out_plane: usize, in_plane: usize) -> Vec<T> {
    let mut dst = vec![T::zero(); n];
    let in_own_plane = |(p, c): (usize, &[usize])| {
        let lo = p * in_plane;
        c.iter().all(|&i| i.wrapping_sub(lo) < in_plane)
    };
    let planar = out_plane > 0
        && in_plane > 0
        && v.len().is_multiple_of(out_plane)
        && v.len() / out_plane * in_plane == n
        && if use_rayon(idx.len()) {
            idx.par_chunks(out_plane).enumerate().all(in_own_plane)
        } else {
            idx.chunks(out_plane).enumerate().all(in_own_plane)
        };
    if planar {
        per_plane(&mut dst, in_plane, n, || (), |p, d, _| {
            let base = p * in_plane;
            for (&i, &x) in idx[p * out_plane..(p + 1) * out_plane].iter().zip(&v[p * out_plane..(p + 1) * out_plane]) {
                d[i - base] = d[i - base] + x;
            }
        });
    } else {
        for (&i, &x) in idx.iter().zip(v) {
            dst[i] = dst[i] + x;
        }
    }
    dst
}

/// `v[idx[j]]` for every j, in parallel for large inputs.
pub fn gather<T: Real>(v: &[T], idx: &[usize]) -> Vec<T> {
    if use_rayon(idx.len()) {
        idx.par_iter().map(|&i| v[i]).collect()
    } else {
        idx.iter().map(|&i| v[i]).collect()
    }
}

/// The reciprocal of each window's divisor, as `row_scale(rows) · col_scale[ow]`: the full
/// window size when padding counts, else the number of input elements the window covers
/// (at least 1).
struct Scale<T> {
    count_pad: bool,
    full: T,
    cols: Vec<T>,
}

impl<T: Real> Scale<T> {
    fn new(geo: &PoolGeom, wspans: &[(usize, usize)], count_pad: bool) -> Scale<T> {
        let cols = wspans.iter().map(|&(w0, w1)| T::one() / T::from_f64((w1 - w0).max(1) as f64)).collect();
        Scale { count_pad, full: T::one() / T::from_f64(geo.window() as f64), cols }
    }
    /// The factor of a line whose windows cover `rows` input rows.
    #[inline]
    fn rows(&self, rows: usize) -> T {
        if self.count_pad { self.full } else { T::one() / T::from_f64(rows.max(1) as f64) }
    }
    #[inline]
    fn col(&self, row_scale: T, ow: usize) -> T {
        if self.count_pad { row_scale } else { row_scale * self.cols[ow] }
    }
}

/// Average pooling: padding contributes zeros; divisors as in [`Scale`].
pub fn avgpool_forward<T: Real>(x: &[T], geo: &PoolGeom, count_pad: bool) -> Vec<T> {
    let (ip, op) = (geo.in_plane(), geo.out_plane());
    let lines = Lines::new(geo);
    let (iw, ow) = (geo.in_sp[2], geo.out_sp[2]);
    let wspans = &lines.spans[2];
    let scale = Scale::<T>::new(geo, wspans, count_pad);
    let mut y = vec![T::zero(); geo.planes * op];
    per_plane(
        &mut y,
        op,
        x.len(),
        || vec![T::zero(); iw],
        |p, out, acc| {
            let xp = &x[p * ip..(p + 1) * ip];
            lines.for_each(|line, rows, nrows| {
                acc.iter_mut().for_each(|a| *a = T::zero());
                for r in rows {
                    for (a, &v) in acc.iter_mut().zip(&xp[r..r + iw]) {
                        *a = *a + v;
                    }
                }
                let rs = scale.rows(nrows);
                let dst = &mut out[line * ow..(line + 1) * ow];
                for (j, (o, &(w0, w1))) in dst.iter_mut().zip(wspans).enumerate() {
                    let s = acc[w0..w1].iter().fold(T::zero(), |s, &v| s + v);
                    *o = s * scale.col(rs, j);
                }
            });
        },
    );
    y
}

/// The adjoint of [`avgpool_forward`]: spreads each output gradient evenly over its window.
pub fn avgpool_backward<T: Real>(g: &[T], geo: &PoolGeom, count_pad: bool) -> Vec<T> {
    let (ip, op) = (geo.in_plane(), geo.out_plane());
    let lines = Lines::new(geo);
    let (iw, ow) = (geo.in_sp[2], geo.out_sp[2]);
    let wspans = &lines.spans[2];
    let scale = Scale::<T>::new(geo, wspans, count_pad);
    let n = geo.planes * ip;
    let mut dx = vec![T::zero(); n];
    per_plane(
        &mut dx,
        ip,
        n,
        || vec![T::zero(); iw],
        |p, dxp, acc| {
            let gp = &g[p * op..(p + 1) * op];
            lines.for_each(|line, rows, nrows| {
                acc.iter_mut().for_each(|a| *a = T::zero());
                let rs = scale.rows(nrows);
                for (j, (&gv, &(w0, w1))) in gp[line * ow..(line + 1) * ow].iter().zip(wspans).enumerate() {
                    let v = gv * scale.col(rs, j);
                    acc[w0..w1].iter_mut().for_each(|a| *a = *a + v);
                }
                for r in rows {
                    for (d, &a) in dxp[r..r + iw].iter_mut().zip(acc.iter()) {
                        *d = *d + a;
                    }
                }
            });
        },
    );
    dx
}
