//! Pooling kernels on raw slices, in MATLAB's layout: input (S..., C, N) seen as input pixels
//! of `inner` = C·N contiguous values (three spatial dims; 1-D and 2-D embedded with leading
//! singleton dims). A window combines whole pixel rows elementwise, so every pass is a
//! vectorisable sweep over contiguous memory; pixels run in parallel, several per task.

use rayon::prelude::*;

use super::parallel::{use_rayon, PAR_CHUNK};
use super::vmath::multiversion;
use crate::dtype::Real;

/// The shape of one pooling, spatial parameters padded to three dims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolGeom {
    /// Values per pixel (C·N).
    pub inner: usize,
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
        let hi = (end.max(0) as usize).min(self.in_sp[d]);
        // A window wholly in the padding after the input is empty (never lo > hi).
        ((start.max(0) as usize).min(hi), hi)
    }

    /// The output pixel `p`'s clipped window, per dim.
    fn window_of(&self, p: usize) -> [(usize, usize); 3] {
        let (ow, oh) = (self.out_sp[2], self.out_sp[1]);
        [self.span(p / (ow * oh), 0), self.span((p / ow) % oh, 1), self.span(p % ow, 2)]
    }

    /// Calls `f(input pixel)` for each pixel of a window, in increasing (row-major) order.
    #[inline]
    fn for_each_in(&self, win: &[(usize, usize); 3], mut f: impl FnMut(usize)) {
        let (ih, iw) = (self.in_sp[1], self.in_sp[2]);
        for d in win[0].0..win[0].1 {
            for h in win[1].0..win[1].1 {
                for w in win[2].0..win[2].1 {
                    f((d * ih + h) * iw + w);
                }
            }
        }
    }

    /// The output range `lo..hi` whose windows cover input `i` along dim `d`.
    fn covering(&self, i: usize, d: usize) -> (usize, usize) {
        let (s, k, pad) = (self.stride[d], self.k[d], self.pad[d]);
        let hi = ((i + pad) / s + 1).min(self.out_sp[d]);
        let lo = (i + pad + 1).saturating_sub(k).div_ceil(s);
        (lo.min(hi), hi)
    }
}

/// Runs `body(first pixel, chunk)` over chunks of `out` (whole pixels of `per_pixel` values),
/// in parallel when `work` is large.
fn per_pixels<T: Send>(out: &mut [T], per_pixel: usize, work: usize, body: impl Fn(usize, &mut [T]) + Sync) {
    if per_pixel == 0 || out.is_empty() {
        return;
    }
    if use_rayon(work) {
        let per_task = (PAR_CHUNK / per_pixel).max(1);
        out.par_chunks_mut(per_pixel * per_task).enumerate().for_each(|(t, o)| body(t * per_task, o));
    } else {
        body(0, out);
    }
}

/// Max pooling: for every output, its window's maximum and that maximum's flat index into
/// `x`. Padding never wins (it acts as −∞); NaN wins over numbers (propagates, as in
/// PyTorch); ties keep the first position in row-major order. Every window must contain an
/// input element.
pub fn maxpool_forward<T: Real>(x: &[T], geo: &PoolGeom) -> (Vec<T>, Vec<usize>) {
    let inner = geo.inner;
    let n_out = geo.out_plane() * inner;
    let mut vals = vec![T::zero(); n_out];
    let mut idx = vec![0usize; n_out];
    if n_out == 0 {
        return (vals, idx);
    }
    // Two vectorisable sweeps per pixel: the maximum over the window's rows (NaN sticks),
    // then, scanning the rows backwards, the first row holding it; then the flat indices.
    let pixel = |p: usize, v: &mut [T], ix: &mut [usize], (rows, tap): &mut (Vec<usize>, Vec<u32>)| {
        rows.clear();
        geo.for_each_in(&geo.window_of(p), |i| rows.push(i));
        let row = |i: usize| &x[i * inner..(i + 1) * inner];
        v.copy_from_slice(row(rows[0]));
        for &i in &rows[1..] {
            max_into(v, row(i));
        }
        for (t, &i) in rows.iter().enumerate().rev() {
            mark_equal(tap, v, row(i), t as u32);
        }
        for (q, (j, &k)) in ix.iter_mut().zip(tap.iter()).enumerate() {
            *j = rows[k as usize] * inner + q;
        }
    };
    let scratch = || (Vec::with_capacity(geo.window()), vec![0u32; inner]);
    if use_rayon(x.len()) {
        let per_task = (PAR_CHUNK / inner).max(1) * inner;
        vals.par_chunks_mut(per_task).zip(idx.par_chunks_mut(per_task)).enumerate().for_each(|(t, (v, ix))| {
            let (p0, mut s) = (t * per_task / inner, scratch());
            v.chunks_mut(inner).zip(ix.chunks_mut(inner)).enumerate().for_each(|(j, (v, ix))| pixel(p0 + j, v, ix, &mut s))
        });
    } else {
        let mut s = scratch();
        vals.chunks_mut(inner).zip(idx.chunks_mut(inner)).enumerate().for_each(|(p, (v, ix))| pixel(p, v, ix, &mut s));
    }
    (vals, idx)
}

multiversion! {
    /// `best = max(best, row)` elementwise; NaN wins over numbers and then sticks.
    fn max_into<T: Real>(best: &mut [T], row: &[T]) {
        for (b, &e) in best.iter_mut().zip(row) {
            *b = if ((e > *b) | e.is_nan()) & !b.is_nan() { e } else { *b };
        }
    }
}

multiversion! {
    /// `tap = t` where `row` holds the maximum `best` (NaN matching NaN).
    fn mark_equal<T: Real>(tap: &mut [u32], best: &[T], row: &[T], t: u32) {
        for ((k, &b), &e) in tap.iter_mut().zip(best).zip(row) {
            *k = if (e == b) | (e.is_nan() & b.is_nan()) { t } else { *k };
        }
    }
}

/// A raw pointer shared by tasks that write disjoint elements.
#[derive(Clone, Copy)]
struct SharedOut<T>(*mut T);
// SAFETY: the tasks sharing the pointer write disjoint elements of one live allocation.
unsafe impl<T> Send for SharedOut<T> {}
// SAFETY: as for Send.
unsafe impl<T> Sync for SharedOut<T> {}

impl<T> SharedOut<T> {
    /// The pointer. A method, so that a closure captures the whole (Send) wrapper rather than
    /// its raw-pointer field alone.
    fn ptr(self) -> *mut T {
        self.0
    }
}

/// `dst` of `n` zeros plus `v[j]` at `idx[j]` for every j (repeats add up). When every index
/// stays in its own column (`idx[j] % inner == j % inner`, as maxpool's do: a window only
/// moves along the pixels), column ranges run in parallel; otherwise serially. `columnar`
/// says the caller knows it (maxpool's own indices); else it is checked.
pub fn scatter_columns<T: Real>(v: &[T], idx: &[usize], n: usize, inner: usize, columnar: bool) -> Vec<T> {
    let mut dst = vec![T::zero(); n];
    let own_column = |(c, i): (usize, &usize)| i % inner == c % inner;
    let columnar = inner > 0
        && use_rayon(idx.len())
        && n.is_multiple_of(inner)
        && idx.len().is_multiple_of(inner)
        && (columnar || idx.par_iter().enumerate().all(own_column));
    if !columnar {
        for (&i, &x) in idx.iter().zip(v) {
            dst[i] = dst[i] + x;
        }
        return dst;
    }
    let threads = rayon::current_num_threads();
    let width = inner.div_ceil(4 * threads).max(1);
    let out = SharedOut(dst.as_mut_ptr());
    (0..inner.div_ceil(width)).into_par_iter().for_each(|t| {
        let (c0, c1) = (t * width, ((t + 1) * width).min(inner));
        for row in 0..idx.len() / inner {
            for c in c0..c1 {
                let j = row * inner + c;
                // SAFETY: idx[j] < n (checked by the caller) and lies in column c, which only
                // this task writes.
                unsafe {
                    let d = out.ptr().add(idx[j]);
                    *d = *d + v[j];
                }
            }
        }
    });
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

/// The reciprocal of output pixel `p`'s divisor: the full window size when padding counts,
/// else the number of input pixels the window covers (at least 1).
fn scale<T: Real>(geo: &PoolGeom, win: &[(usize, usize); 3], count_pad: bool) -> T {
    let count = if count_pad { geo.window() } else { win.iter().map(|&(a, b)| b - a).product() };
    T::one() / T::from_f64(count.max(1) as f64)
}

/// Average pooling: padding contributes zeros; divisors as in [`scale`].
pub fn avgpool_forward<T: Real>(x: &[T], geo: &PoolGeom, count_pad: bool) -> Vec<T> {
    let inner = geo.inner;
    let mut y = vec![T::zero(); geo.out_plane() * inner];
    per_pixels(&mut y, inner, x.len(), |p0, out| {
        for (j, o) in out.chunks_mut(inner).enumerate() {
            let win = geo.window_of(p0 + j);
            geo.for_each_in(&win, |i| {
                for (a, &v) in o.iter_mut().zip(&x[i * inner..(i + 1) * inner]) {
                    *a = *a + v;
                }
            });
            let s: T = scale(geo, &win, count_pad);
            o.iter_mut().for_each(|a| *a = *a * s);
        }
    });
    y
}

/// The adjoint of [`avgpool_forward`]: each input pixel gathers the scaled gradients of the
/// outputs whose windows cover it.
pub fn avgpool_backward<T: Real>(g: &[T], geo: &PoolGeom, count_pad: bool) -> Vec<T> {
    let inner = geo.inner;
    let (ih, iw) = (geo.in_sp[1], geo.in_sp[2]);
    let (oh, ow) = (geo.out_sp[1], geo.out_sp[2]);
    let scales: Vec<T> = (0..geo.out_plane()).map(|p| scale(geo, &geo.window_of(p), count_pad)).collect();
    let mut dx = vec![T::zero(); geo.in_plane() * inner];
    per_pixels(&mut dx, inner, g.len(), |i0, out| {
        for (j, d) in out.chunks_mut(inner).enumerate() {
            let i = i0 + j;
            let (id, ihh, iww) = (i / (ih * iw), (i / iw) % ih, i % iw);
            let (cd, ch, cw) = (geo.covering(id, 0), geo.covering(ihh, 1), geo.covering(iww, 2));
            for od in cd.0..cd.1 {
                for ohh in ch.0..ch.1 {
                    for oww in cw.0..cw.1 {
                        let p = (od * oh + ohh) * ow + oww;
                        let s = scales[p];
                        for (a, &v) in d.iter_mut().zip(&g[p * inner..(p + 1) * inner]) {
                            *a = *a + v * s;
                        }
                    }
                }
            }
        }
    });
    dx
}
