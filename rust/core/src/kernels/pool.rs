//! Pooling kernels on raw slices. Input (N, C, S...) is seen as N·C independent planes of
//! three spatial dims (1-D and 2-D embedded with leading singleton dims); planes run in
//! parallel.

use rayon::prelude::*;

use super::parallel::use_rayon;
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
    #[inline]
    fn span(&self, o: usize, d: usize) -> (usize, usize) {
        let start = (o * self.stride[d]) as isize - self.pad[d] as isize;
        let end = start + self.k[d] as isize;
        (start.max(0) as usize, (end.max(0) as usize).min(self.in_sp[d]))
    }

    /// Calls `f(out_flat, lo, hi)` for every output position of a plane with its clipped
    /// window `lo[d]..hi[d]` per dim.
    #[inline]
    fn for_each_window(&self, mut f: impl FnMut(usize, [usize; 3], [usize; 3])) {
        let [od_n, oh_n, ow_n] = self.out_sp;
        let mut o = 0;
        for od in 0..od_n {
            let (d0, d1) = self.span(od, 0);
            for oh in 0..oh_n {
                let (h0, h1) = self.span(oh, 1);
                for ow in 0..ow_n {
                    let (w0, w1) = self.span(ow, 2);
                    f(o, [d0, h0, w0], [d1, h1, w1]);
                    o += 1;
                }
            }
        }
    }
}

/// Runs `body(plane, out_chunk)` over chunks of `out` of `per_plane` elements each, in
/// parallel when the input is large.
fn per_plane<T: Send>(out: &mut [T], per_plane: usize, work: usize, body: impl Fn(usize, &mut [T]) + Sync) {
    if per_plane == 0 {
        return;
    }
    if use_rayon(work) {
        out.par_chunks_mut(per_plane).enumerate().for_each(|(p, o)| body(p, o));
    } else {
        out.chunks_mut(per_plane).enumerate().for_each(|(p, o)| body(p, o));
    }
}

/// For every output of max pooling, the flat index (into `x`) of its window's maximum.
/// Padding never wins (it acts as −∞); NaN wins over numbers (propagates, as in PyTorch);
/// ties keep the first position. Every window must contain an input element.
pub fn maxpool_argmax<T: Real>(x: &[T], geo: &PoolGeom) -> Vec<usize> {
    let (ip, op) = (geo.in_plane(), geo.out_plane());
    let (ih, iw) = (geo.in_sp[1], geo.in_sp[2]);
    let mut idx = vec![0usize; geo.planes * op];
    per_plane(&mut idx, op, x.len(), |p, out| {
        let base = p * ip;
        let xp = &x[base..base + ip];
        geo.for_each_window(|o, lo, hi| {
            let mut best = usize::MAX;
            let mut best_v = T::zero();
            'outer: for d in lo[0]..hi[0] {
                for h in lo[1]..hi[1] {
                    let row = (d * ih + h) * iw;
                    for (i, &v) in xp[row + lo[2]..row + hi[2]].iter().enumerate() {
                        if best == usize::MAX || v > best_v || v.is_nan() {
                            best = row + lo[2] + i;
                            best_v = v;
                            if v.is_nan() {
                                break 'outer;
                            }
                        }
                    }
                }
            }
            out[o] = base + best;
        });
    });
    idx
}

/// The divisor of each window: the full window size when padding counts, else the number
/// of input elements it covers (at least 1).
#[inline]
fn divisor(geo: &PoolGeom, lo: [usize; 3], hi: [usize; 3], count_pad: bool) -> f64 {
    if count_pad {
        geo.window() as f64
    } else {
        ((hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2])).max(1) as f64
    }
}

/// Average pooling: padding contributes zeros; see [`divisor`].
pub fn avgpool_forward<T: Real>(x: &[T], geo: &PoolGeom, count_pad: bool) -> Vec<T> {
    let (ip, op) = (geo.in_plane(), geo.out_plane());
    let (ih, iw) = (geo.in_sp[1], geo.in_sp[2]);
    let mut y = vec![T::zero(); geo.planes * op];
    per_plane(&mut y, op, x.len(), |p, out| {
        let xp = &x[p * ip..(p + 1) * ip];
        geo.for_each_window(|o, lo, hi| {
            let mut s = T::zero();
            for d in lo[0]..hi[0] {
                for h in lo[1]..hi[1] {
                    let row = (d * ih + h) * iw;
                    for &v in &xp[row + lo[2]..row + hi[2]] {
                        s = s + v;
                    }
                }
            }
            out[o] = s / T::from_f64(divisor(geo, lo, hi, count_pad));
        });
    });
    y
}

/// The adjoint of [`avgpool_forward`]: spreads each output gradient evenly over its window.
pub fn avgpool_backward<T: Real>(g: &[T], geo: &PoolGeom, count_pad: bool) -> Vec<T> {
    let (ip, op) = (geo.in_plane(), geo.out_plane());
    let (ih, iw) = (geo.in_sp[1], geo.in_sp[2]);
    let n = geo.planes * ip;
    let mut dx = vec![T::zero(); n];
    per_plane(&mut dx, ip, n, |p, dxp| {
        let gp = &g[p * op..(p + 1) * op];
        geo.for_each_window(|o, lo, hi| {
            let v = gp[o] / T::from_f64(divisor(geo, lo, hi, count_pad));
            for d in lo[0]..hi[0] {
                for h in lo[1]..hi[1] {
                    let row = (d * ih + h) * iw;
                    for e in &mut dxp[row + lo[2]..row + hi[2]] {
                        *e = *e + v;
                    }
                }
            }
        });
    });
    dx
}
