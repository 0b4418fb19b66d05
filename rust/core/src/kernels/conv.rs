//! Convolution kernels on raw slices: im2col + GEMM for the forward pass and for both
//! backward passes (col2im for the input gradient).
//!
//! Layouts are PyTorch's: input (N, C, S...), weights (F, C/G, K...), output (N, F, O...).
//! Every kernel works on three spatial dims; 1-D and 2-D problems are embedded with leading
//! singleton dims (size 1, kernel 1, stride 1, no padding), which costs nothing.
//!
//! Parallelism: over the batch (each sample's GEMM single-threaded, one im2col buffer per
//! chunk of samples) when there are several samples and enough work; otherwise the samples
//! run in turn and the GEMM itself may use the pool.

use gemm::{gemm, Parallelism};
use rayon::prelude::*;

use super::gemm::matmul;
use super::parallel::{in_forked_child, use_rayon};
use crate::dtype::Element;

/// The shape of one convolution, spatial parameters padded to three dims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvGeom {
    pub n: usize,
    /// Input channels (all groups).
    pub c: usize,
    /// Output channels / filters (all groups).
    pub f: usize,
    pub groups: usize,
    pub in_sp: [usize; 3],
    pub out_sp: [usize; 3],
    pub k: [usize; 3],
    pub stride: [usize; 3],
    pub dil: [usize; 3],
    /// Padding before each spatial dim (the padding after only shows in `out_sp`).
    pub pad: [usize; 3],
}

impl ConvGeom {
    pub fn cg(&self) -> usize {
        self.c / self.groups
    }
    pub fn fg(&self) -> usize {
        self.f / self.groups
    }
    pub fn kprod(&self) -> usize {
        self.k.iter().product()
    }
    pub fn in_plane(&self) -> usize {
        self.in_sp.iter().product()
    }
    pub fn out_plane(&self) -> usize {
        self.out_sp.iter().product()
    }
    /// Rows of a group's im2col matrix (= columns of its weight matrix).
    pub fn col_rows(&self) -> usize {
        self.cg() * self.kprod()
    }
    /// A 1×1×1 kernel with unit stride and no padding: the input is its own im2col matrix.
    pub fn pointwise(&self) -> bool {
        self.k == [1; 3] && self.stride == [1; 3] && self.pad == [0; 3] && self.in_sp == self.out_sp
    }
    /// Multiply-adds of one pass (forward, or either backward).
    pub fn work(&self) -> usize {
        self.n * self.f * self.out_plane() * self.col_rows()
    }
}

/// Output positions `o` in `0..out` whose input position `o·stride + off` lies in `0..len`.
#[inline]
fn valid_range(off: isize, stride: usize, len: usize, out: usize) -> (usize, usize) {
    let s = stride as isize;
    let lo = if off >= 0 { 0 } else { ((-off) + s - 1) / s };
    let last = len as isize - 1 - off; // o·s ≤ last
    let hi = if last < 0 { 0 } else { last / s + 1 };
    let lo = (lo as usize).min(out);
    let hi = (hi as usize).min(out).max(lo);
    (lo, hi)
}

/// Per kernel tap along spatial dim `d`: the input offset `off` (input = o·stride + off) and
/// the range `lo..hi` of outputs whose input lies inside the input.
fn taps(geo: &ConvGeom, d: usize) -> Vec<(isize, usize, usize)> {
    (0..geo.k[d])
        .map(|k| {
            let off = (k * geo.dil[d]) as isize - geo.pad[d] as isize;
            let (lo, hi) = valid_range(off, geo.stride[d], geo.in_sp[d], geo.out_sp[d]);
            (off, lo, hi)
        })
        .collect()
}

/// One im2col row (c, kd, kh, kw) restricted to one output depth `od` whose input depth
/// exists: output lines `h.1..h.2` read input lines, positions `w.1..w.2` of each line read
/// input positions `w_in(ow) = ow·stride + w.0` of the line's input row; everything else of
/// the plane is padding.
struct Plane {
    /// Flat input index of the start (w_in = 0) of the input row of output line `h.1`.
    src: usize,
    h: (isize, usize, usize),
    w: (isize, usize, usize),
}

/// Walks the im2col rows of `cg` channels: for each, `whole(state, row)` when every entry
/// of the row is padding, else `padded(state, row, range)` for the row's planes (flat ranges
/// within the row) that are padding and `plane(state, row, od, &Plane)` for the others.
fn for_each_plane<S: ?Sized>(
    geo: &ConvGeom,
    cg: usize,
    state: &mut S,
    mut whole: impl FnMut(&mut S, usize),
    mut padded: impl FnMut(&mut S, usize, std::ops::Range<usize>),
    mut plane: impl FnMut(&mut S, usize, usize, &Plane),
) {
    let (td, th, tw) = (taps(geo, 0), taps(geo, 1), taps(geo, 2));
    let [od_n, oh_n, ow_n] = geo.out_sp;
    let (ih_n, iw_n) = (geo.in_sp[1], geo.in_sp[2]);
    let (in_plane, pl) = (geo.in_plane(), oh_n * ow_n);
    let mut row = 0;
    for c in 0..cg {
        for &(offd, dlo, dhi) in &td {
            for &h in &th {
                for &w in &tw {
                    if dlo == dhi || h.1 == h.2 || w.1 == w.2 {
                        whole(state, row);
                    } else {
                        padded(state, row, 0..dlo * pl);
                        padded(state, row, dhi * pl..od_n * pl);
                        for od in dlo..dhi {
                            let id = (od * geo.stride[0]) as isize + offd;
                            let ih = (h.1 * geo.stride[1]) as isize + h.0;
                            let src = c * in_plane + (id as usize * ih_n + ih as usize) * iw_n;
                            plane(state, row, od, &Plane { src, h, w });
                        }
                    }
                    row += 1;
                }
            }
        }
    }
}

/// A short copy without a call into libc (lines are often a few dozen elements).
#[inline(always)]
fn copy_short<T: Copy>(dst: &mut [T], src: &[T]) {
    let n = dst.len();
    let src = &src[..n];
    if n >= 8 {
        let mut i = 0;
        while i + 8 <= n {
            let a: [T; 8] = src[i..i + 8].try_into().expect("8 elements");
            dst[i..i + 8].copy_from_slice(&a);
            i += 8;
        }
        if i < n {
            // The last 8, overlapping what was copied already.
            let a: [T; 8] = src[n - 8..n].try_into().expect("8 elements");
            dst[n - 8..n].copy_from_slice(&a);
        }
    } else {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s;
        }
    }
}

#[inline(always)]
fn fill_short<T: Copy>(dst: &mut [T], v: T) {
    for d in dst {
        *d = v;
    }
}

/// Whether a plane's valid lines are one contiguous block in both the input and the
/// im2col row (unit strides along H and W, equal input and output widths: the common
/// "same" convolution), so that they move as one block.
#[inline]
fn block_plane(geo: &ConvGeom) -> bool {
    geo.stride[1] == 1 && geo.stride[2] == 1 && geo.in_sp[2] == geo.out_sp[2]
}

/// Unfolds `cg` channels of one sample (`x`: cg × in_plane) into `col`
/// (cg·kprod × out_plane); positions in the padding take `fill`.
pub fn im2col<T: Copy>(x: &[T], geo: &ConvGeom, cg: usize, col: &mut [T], fill: T) {
    let (op, ow_n, oh_n) = (geo.out_plane(), geo.out_sp[2], geo.out_sp[1]);
    let (iw_n, sh, sw) = (geo.in_sp[2], geo.stride[1], geo.stride[2]);
    let block = block_plane(geo);
    for_each_plane(
        geo,
        cg,
        col,
        |col, row| col[row * op..(row + 1) * op].fill(fill),
        |col, row, r| col[row * op + r.start..row * op + r.end].fill(fill),
        |col, row, od, p| {
            let plane = &mut col[row * op + od * oh_n * ow_n..row * op + (od + 1) * oh_n * ow_n];
            let ((_, hlo, hhi), (woff, wlo, whi)) = (p.h, p.w);
            plane[..hlo * ow_n].fill(fill);
            plane[hhi * ow_n..].fill(fill);
            if block {
                // One copy for all valid lines, then the padding at the line ends restored.
                let (a, b) = (hlo * ow_n + wlo, (hhi - 1) * ow_n + whi);
                let s = (p.src as isize + wlo as isize + woff) as usize;
                plane[a..b].copy_from_slice(&x[s..s + (b - a)]);
                for l in hlo..hhi {
                    fill_short(&mut plane[l * ow_n..l * ow_n + wlo], fill);
                    fill_short(&mut plane[l * ow_n + whi..(l + 1) * ow_n], fill);
                }
            } else {
                for (j, l) in (hlo..hhi).enumerate() {
                    let line = &mut plane[l * ow_n..(l + 1) * ow_n];
                    fill_short(&mut line[..wlo], fill);
                    fill_short(&mut line[whi..], fill);
                    let s = (p.src as isize + (j * sh * iw_n) as isize + (wlo * sw) as isize + woff) as usize;
                    if sw == 1 {
                        copy_short(&mut line[wlo..whi], &x[s..s + (whi - wlo)]);
                    } else {
                        for (k, d) in line[wlo..whi].iter_mut().enumerate() {
                            *d = x[s + k * sw];
                        }
                    }
                }
            }
        },
    );
}

/// Folds `col` (cg·kprod × out_plane) back onto `dx` (cg × in_plane), adding every entry to
/// the input position it was read from (the adjoint of [`im2col`] with zero fill). `col` is
/// scratch: its padding entries may be overwritten.
pub fn col2im<T: Element>(col: &mut [T], geo: &ConvGeom, cg: usize, dx: &mut [T]) {
    let (op, ow_n, oh_n) = (geo.out_plane(), geo.out_sp[2], geo.out_sp[1]);
    let (iw_n, sh, sw) = (geo.in_sp[2], geo.stride[1], geo.stride[2]);
    let block = block_plane(geo);
    for_each_plane(
        geo,
        cg,
        dx,
        |_, _| {},
        |_, _, _| {},
        |dx, row, od, p| {
            let plane = &mut col[row * op + od * oh_n * ow_n..row * op + (od + 1) * oh_n * ow_n];
            let ((_, hlo, hhi), (woff, wlo, whi)) = (p.h, p.w);
            if block {
                // Padding entries zeroed, then one add for all valid lines.
                for l in hlo..hhi {
                    fill_short(&mut plane[l * ow_n..l * ow_n + wlo], T::zero());
                    fill_short(&mut plane[l * ow_n + whi..(l + 1) * ow_n], T::zero());
                }
                let (a, b) = (hlo * ow_n + wlo, (hhi - 1) * ow_n + whi);
                let s = (p.src as isize + wlo as isize + woff) as usize;
                for (d, &v) in dx[s..s + (b - a)].iter_mut().zip(&plane[a..b]) {
                    *d = *d + v;
                }
            } else {
                for (j, l) in (hlo..hhi).enumerate() {
                    let line = &plane[l * ow_n + wlo..l * ow_n + whi];
                    let s = (p.src as isize + (j * sh * iw_n) as isize + (wlo * sw) as isize + woff) as usize;
                    if sw == 1 {
                        for (d, &v) in dx[s..s + line.len()].iter_mut().zip(line) {
                            *d = *d + v;
                        }
                    } else {
                        for (k, &v) in line.iter().enumerate() {
                            dx[s + k * sw] = dx[s + k * sw] + v;
                        }
                    }
                }
            }
        },
    );
}

/// `dst (m×n) += lhs (m×k) · rhsᵀ` where `rhs` is stored (n×k), all row-major.
fn gemm_acc_rhs_t<T: 'static + Element>(dst: &mut [T], lhs: &[T], rhs: &[T], m: usize, n: usize, k: usize, single: bool) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let par = if single || in_forked_child() || rayon::current_num_threads() < 2 || m * n * k < 48 * 48 * 256 {
        Parallelism::None
    } else {
        Parallelism::Rayon(rayon::current_num_threads())
    };
    // SAFETY: dimensions match the slices (checked by the callers' geometry).
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            true,
            lhs.as_ptr(),
            1,
            k as isize,
            rhs.as_ptr(),
            k as isize,
            1,
            T::one(),
            T::one(),
            false,
            false,
            false,
            par,
        );
    }
}

/// How to split the batch: `Some(samples per chunk)` to run chunks in parallel.
fn batch_chunks(geo: &ConvGeom, max_chunks: usize) -> Option<usize> {
    let threads = rayon::current_num_threads();
    if geo.n < 2 || threads < 2 || !use_rayon(geo.work()) {
        return None;
    }
    let chunks = geo.n.min(max_chunks.max(1));
    Some(geo.n.div_ceil(chunks))
}

/// `y = conv(x, w)`: x (N, C, S), w (F, C/G, K) → y (N, F, O). Padded positions read `pad_value`.
pub fn conv_forward<T: 'static + Element>(x: &[T], w: &[T], geo: &ConvGeom, pad_value: T) -> Vec<T> {
    let (cg, fg, op, ip, rows) = (geo.cg(), geo.fg(), geo.out_plane(), geo.in_plane(), geo.col_rows());
    let (x_stride, y_stride) = (geo.c * ip, geo.f * op);
    let mut y = vec![T::zero(); geo.n * y_stride];
    let pointwise = geo.pointwise();
    let col_len = if pointwise { 0 } else { rows * op };
    let sample = |xs: &[T], ys: &mut [T], col: &mut [T], single: bool| {
        for g in 0..geo.groups {
            let xg = &xs[g * cg * ip..(g + 1) * cg * ip];
            let cols: &[T] = if pointwise {
                xg
            } else {
                im2col(xg, geo, cg, col, pad_value);
                col
            };
            let wg = &w[g * fg * rows..(g + 1) * fg * rows];
            matmul(&mut ys[g * fg * op..(g + 1) * fg * op], wg, cols, fg, op, rows, false, false, single);
        }
    };
    if y.is_empty() {
        return y;
    }
    match batch_chunks(geo, 4 * rayon::current_num_threads()) {
        Some(per) => y.par_chunks_mut(per * y_stride).enumerate().for_each(|(i, yc)| {
            let mut col = vec![T::zero(); col_len];
            for (j, ys) in yc.chunks_mut(y_stride).enumerate() {
                let n = i * per + j;
                sample(&x[n * x_stride..(n + 1) * x_stride], ys, &mut col, true);
            }
        }),
        None => {
            let mut col = vec![T::zero(); col_len];
            for (n, ys) in y.chunks_mut(y_stride).enumerate() {
                sample(&x[n * x_stride..(n + 1) * x_stride], ys, &mut col, false);
            }
        }
    }
    y
}

/// The input gradient (a transposed convolution): g (N, F, O), w (F, C/G, K) → dx (N, C, S).
pub fn conv_backward_input<T: 'static + Element>(g: &[T], w: &[T], geo: &ConvGeom) -> Vec<T> {
    let (cg, fg, op, ip, rows) = (geo.cg(), geo.fg(), geo.out_plane(), geo.in_plane(), geo.col_rows());
    let (x_stride, y_stride) = (geo.c * ip, geo.f * op);
    let mut dx = vec![T::zero(); geo.n * x_stride];
    let pointwise = geo.pointwise();
    let col_len = if pointwise { 0 } else { rows * op };
    let sample = |gs: &[T], dxs: &mut [T], col: &mut [T], single: bool| {
        for grp in 0..geo.groups {
            let gg = &gs[grp * fg * op..(grp + 1) * fg * op];
            let wg = &w[grp * fg * rows..(grp + 1) * fg * rows];
            let dxg = &mut dxs[grp * cg * ip..(grp + 1) * cg * ip];
            if pointwise {
                matmul(dxg, wg, gg, rows, op, fg, true, false, single);
            } else {
                matmul(col, wg, gg, rows, op, fg, true, false, single);
                col2im(col, geo, cg, dxg);
            }
        }
    };
    if dx.is_empty() {
        return dx;
    }
    match batch_chunks(geo, 4 * rayon::current_num_threads()) {
        Some(per) => dx.par_chunks_mut(per * x_stride).enumerate().for_each(|(i, dc)| {
            let mut col = vec![T::zero(); col_len];
            for (j, dxs) in dc.chunks_mut(x_stride).enumerate() {
                let n = i * per + j;
                sample(&g[n * y_stride..(n + 1) * y_stride], dxs, &mut col, true);
            }
        }),
        None => {
            let mut col = vec![T::zero(); col_len];
            for (n, dxs) in dx.chunks_mut(x_stride).enumerate() {
                sample(&g[n * y_stride..(n + 1) * y_stride], dxs, &mut col, false);
            }
        }
    }
    dx
}

/// The weight gradient: x (N, C, S), g (N, F, O) → dw (F, C/G, K), summed over the batch.
/// Padded positions read `pad_value` (so a nonzero padding value contributes to dw).
pub fn conv_backward_weight<T: 'static + Element>(x: &[T], g: &[T], geo: &ConvGeom, pad_value: T) -> Vec<T> {
    let (cg, fg, op, ip, rows) = (geo.cg(), geo.fg(), geo.out_plane(), geo.in_plane(), geo.col_rows());
    let (x_stride, y_stride) = (geo.c * ip, geo.f * op);
    let w_len = geo.f * rows;
    let pointwise = geo.pointwise();
    let col_len = if pointwise { 0 } else { rows * op };
    // Adds sample n's contribution to `dw`.
    let sample = |n: usize, dw: &mut [T], col: &mut [T], single: bool| {
        let xs = &x[n * x_stride..(n + 1) * x_stride];
        let gs = &g[n * y_stride..(n + 1) * y_stride];
        for grp in 0..geo.groups {
            let xg = &xs[grp * cg * ip..(grp + 1) * cg * ip];
            let cols: &[T] = if pointwise {
                xg
            } else {
                im2col(xg, geo, cg, col, pad_value);
                col
            };
            let gg = &gs[grp * fg * op..(grp + 1) * fg * op];
            gemm_acc_rhs_t(&mut dw[grp * fg * rows..(grp + 1) * fg * rows], gg, cols, fg, rows, op, single);
        }
    };
    if w_len == 0 {
        return vec![];
    }
    match batch_chunks(geo, rayon::current_num_threads()) {
        Some(per) => {
            let chunks = geo.n.div_ceil(per);
            (0..chunks)
                .into_par_iter()
                .map(|i| {
                    let mut dw = vec![T::zero(); w_len];
                    let mut col = vec![T::zero(); col_len];
                    for n in i * per..((i + 1) * per).min(geo.n) {
                        sample(n, &mut dw, &mut col, true);
                    }
                    dw
                })
                .reduce_with(|mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(a, &b)| *a = *a + b);
                    a
                })
                .unwrap_or_else(|| vec![T::zero(); w_len])
        }
        None => {
            let mut dw = vec![T::zero(); w_len];
            let mut col = vec![T::zero(); col_len];
            for n in 0..geo.n {
                sample(n, &mut dw, &mut col, false);
            }
            dw
        }
    }
}
