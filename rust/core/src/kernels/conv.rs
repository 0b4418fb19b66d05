//! Convolution kernels on raw slices, in MATLAB's own layout so that formatted data needs no
//! permutation: input (S..., C, N), weights (K..., C/G, F/G, G), output (O..., F, N) with
//! output channel g·F/G + f. Every kernel works on three spatial dims; 1-D and 2-D problems are
//! embedded with leading singleton dims (size 1, kernel 1, stride 1, no padding).
//!
//! With the batch innermost, what one output pixel reads is, per kernel tap, one contiguous
//! (C/G × N) block of the input. So the work runs over blocks of output pixels: gather the
//! block's taps into a small column matrix (rows (tap, channel), columns (pixel, sample)),
//! multiply it by the group's weights with one small GEMM, and place the result. A block holds
//! enough pixels for about [`BLOCK_COLUMNS`] columns; with a large batch it is one pixel and the
//! GEMM reads and writes the arrays in place.
//!
//! Parallelism: output pixel ranges per task. The input gradient scatters into overlapping input
//! windows, so its ranges are bands along the outermost output dim, run in two waves (even
//! bands, then odd) with bands wide enough that bands of one wave never touch the same input.
//!
//! Sums do not depend on the number of threads: the bands, and the pixel ranges whose weight
//! gradients are added up, are fixed by the geometry alone ([`FIXED_TASKS`] of them), run in
//! the same waves and added in the same order on one thread as on many.

use rayon::prelude::*;

use super::gemm::{matmul_to, Strided};
use super::parallel::{use_rayon, PAR_THRESHOLD};
use crate::dtype::Element;

/// Columns (pixels × samples) a pixel block aims for: enough for an efficient GEMM, small
/// enough for its column matrix to stay in cache.
const BLOCK_COLUMNS: usize = 128;

/// Pixel ranges (weight gradient) or bands (input gradient) a large problem is cut into,
/// whatever the number of threads, so that its sums are formed in one fixed order.
const FIXED_TASKS: usize = 16;

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
    /// True when some extent is zero (batch, channels, filters, input or output pixels): the
    /// kernels assume none is, and the ops layer computes such results directly.
    pub fn is_degenerate(&self) -> bool {
        self.n == 0 || self.c == 0 || self.f == 0 || self.in_sp.contains(&0) || self.out_sp.contains(&0)
    }

    /// The filter (0..F) that element `i` of the weights (K..., C/G, F/G, G) row-major feeds.
    pub fn filter_of_weight(&self, i: usize) -> usize {
        let group = i % self.groups;
        group * self.fg() + (i / self.groups) % self.fg()
    }

    /// The filter (0..F) that element `i` of the output (O..., F, N) row-major comes from.
    pub fn filter_of_output(&self, i: usize) -> usize {
        (i / self.n) % self.f
    }
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
    /// Input pixels.
    pub fn in_plane(&self) -> usize {
        self.in_sp.iter().product()
    }
    /// Output pixels.
    pub fn out_plane(&self) -> usize {
        self.out_sp.iter().product()
    }
    /// Rows of a group's column matrix (taps × channels per group).
    pub fn col_rows(&self) -> usize {
        self.cg() * self.kprod()
    }
    /// Multiply-adds of one pass (forward, or either backward).
    pub fn work(&self) -> usize {
        self.n * self.f * self.out_plane() * self.col_rows()
    }
    /// Output pixels per block.
    fn block(&self) -> usize {
        BLOCK_COLUMNS.div_ceil(self.n.max(1)).clamp(1, self.out_plane().max(1))
    }
}

/// Which input pixel each (output pixel, tap) reads, precomputed per dim.
struct Taps {
    /// `coord[d][o·k[d] + t]`: the input coordinate along dim d, or −1 in the padding.
    coord: [Vec<isize>; 3],
    k: [usize; 3],
    out: [usize; 3],
    inp: [usize; 3],
}

impl Taps {
    fn new(geo: &ConvGeom) -> Taps {
        let coord = std::array::from_fn(|d| {
            let mut v = Vec::with_capacity(geo.out_sp[d] * geo.k[d]);
            for o in 0..geo.out_sp[d] {
                for t in 0..geo.k[d] {
                    let i = (o * geo.stride[d] + t * geo.dil[d]) as isize - geo.pad[d] as isize;
                    v.push(if i >= 0 && (i as usize) < geo.in_sp[d] { i } else { -1 });
                }
            }
            v
        });
        Taps { coord, k: geo.k, out: geo.out_sp, inp: geo.in_sp }
    }

    /// The input pixel output pixel `p` reads at tap `t`, or None in the padding.
    #[inline]
    fn input(&self, p: usize, t: usize) -> Option<usize> {
        let (pw, ph, pd) = (p % self.out[2], (p / self.out[2]) % self.out[1], p / (self.out[2] * self.out[1]));
        let (tw, th, td) = (t % self.k[2], (t / self.k[2]) % self.k[1], t / (self.k[2] * self.k[1]));
        let iw = self.coord[2][pw * self.k[2] + tw];
        let ih = self.coord[1][ph * self.k[1] + th];
        let id = self.coord[0][pd * self.k[0] + td];
        if iw < 0 || ih < 0 || id < 0 {
            return None;
        }
        Some((id as usize * self.inp[1] + ih as usize) * self.inp[2] + iw as usize)
    }
}

/// Group `g`'s column matrix for output pixels `p0..p0 + count` (row (tap, channel), column
/// (pixel, sample), `count·n` columns); taps in the padding read `fill`.
fn gather_cols<T: Copy>(x: &[T], geo: &ConvGeom, taps: &Taps, g: usize, p0: usize, count: usize, col: &mut [T], fill: T) {
    let (n, cg) = (geo.n, geo.cg());
    let width = count * n;
    for t in 0..geo.kprod() {
        for pl in 0..count {
            let src = taps.input(p0 + pl, t).map(|i| &x[(i * geo.c + g * cg) * n..(i * geo.c + (g + 1) * cg) * n]);
            if count == 1 {
                let dst = &mut col[t * cg * n..(t + 1) * cg * n];
                match src {
                    Some(s) => dst.copy_from_slice(s),
                    None => dst.fill(fill),
                }
                continue;
            }
            for ci in 0..cg {
                let dst = &mut col[(t * cg + ci) * width + pl * n..(t * cg + ci) * width + (pl + 1) * n];
                match src {
                    Some(s) => dst.copy_from_slice(&s[ci * n..(ci + 1) * n]),
                    None => dst.fill(fill),
                }
            }
        }
    }
}

/// The adjoint of [`gather_cols`] (zero fill): adds each column entry to the input element it
/// was read from.
///
/// # Safety
/// `dx` points to the whole input gradient (`in_plane·c·n` elements); no other thread may touch
/// the input pixels these output pixels read while this runs.
unsafe fn scatter_cols<T: Element>(col: &[T], geo: &ConvGeom, taps: &Taps, g: usize, p0: usize, count: usize, dx: *mut T) {
    let (n, cg) = (geo.n, geo.cg());
    let width = count * n;
    for t in 0..geo.kprod() {
        for pl in 0..count {
            let Some(i) = taps.input(p0 + pl, t) else { continue };
            let base = (i * geo.c + g * cg) * n;
            for ci in 0..cg {
                let src = &col[(t * cg + ci) * width + pl * n..(t * cg + ci) * width + (pl + 1) * n];
                let dst = std::slice::from_raw_parts_mut(dx.add(base + ci * n), n);
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d = *d + v;
                }
            }
        }
    }
}

/// Group `g`'s slice of the (pixel, channel, sample) array `a` (`per_pixel` channels) for
/// pixels `p0..p0 + count`, as a (`rows` × count·n) matrix: in place for one pixel, else
/// copied into `tmp`.
fn channel_rows<'a, T: Copy>(
    a: &'a [T],
    per_pixel: usize,
    n: usize,
    first: usize,
    rows: usize,
    p0: usize,
    count: usize,
    tmp: &'a mut [T],
) -> Strided<'a, T> {
    if count == 1 {
        let base = (p0 * per_pixel + first) * n;
        return Strided::row_major(&a[base..base + rows * n], n, false);
    }
    let width = count * n;
    for r in 0..rows {
        for pl in 0..count {
            let s = ((p0 + pl) * per_pixel + first + r) * n;
            tmp[r * width + pl * n..r * width + (pl + 1) * n].copy_from_slice(&a[s..s + n]);
        }
    }
    Strided::row_major(&tmp[..rows * width], width, false)
}

/// Group `grp`'s weights (K..., C/G, F/G, G) as the (F/G × taps·C/G) matrix of the forward pass.
fn weights_by_filter<'a, T>(w: &'a [T], geo: &ConvGeom, grp: usize) -> Strided<'a, T> {
    Strided { data: &w[grp..], row_stride: geo.groups, col_stride: geo.fg() * geo.groups }
}

/// Group `grp`'s weights as the (taps·C/G × F/G) matrix of the input gradient.
fn weights_by_tap<'a, T>(w: &'a [T], geo: &ConvGeom, grp: usize) -> Strided<'a, T> {
    Strided { data: &w[grp..], row_stride: geo.fg() * geo.groups, col_stride: geo.groups }
}

/// Scratch of one task: a column matrix and a channel-rows block.
struct Scratch<T> {
    col: Vec<T>,
    tmp: Vec<T>,
}

impl<T: Element> Scratch<T> {
    fn new(geo: &ConvGeom) -> Scratch<T> {
        let width = geo.block() * geo.n;
        let tmp_rows = if geo.block() > 1 { geo.fg() } else { 0 };
        Scratch { col: vec![T::zero(); geo.col_rows() * width], tmp: vec![T::zero(); tmp_rows * width] }
    }
}

/// Output pixels per parallel task, a multiple of the block size.
fn pixels_per_task(geo: &ConvGeom) -> Option<usize> {
    let (op, block) = (geo.out_plane(), geo.block());
    let threads = rayon::current_num_threads();
    if threads < 2 || op < 2 || !use_rayon(geo.work()) {
        return None;
    }
    let per = op.div_ceil(4 * threads).max(block);
    Some(per.div_ceil(block) * block)
}

/// `y = conv(x, w) + bias`: x (S..., C, N), w (K..., C/G, F/G, G), bias (F) or none → y (O..., F, N).
/// Padded positions read `pad_value`. The bias is added while each block is in cache.
pub fn conv_forward<T: 'static + Element>(x: &[T], w: &[T], bias: Option<&[T]>, geo: &ConvGeom, pad_value: T) -> Vec<T> {
    let (n, f, fg, rows) = (geo.n, geo.f, geo.fg(), geo.col_rows());
    let pix_len = f * n;
    let mut y = vec![T::zero(); geo.out_plane() * pix_len];
    if y.is_empty() {
        return y;
    }
    let taps = Taps::new(geo);
    let block = geo.block();
    // Output pixels p0.. into `ys`.
    let run = |p0: usize, ys: &mut [T], s: &mut Scratch<T>| {
        let count_all = ys.len() / pix_len;
        for b0 in (0..count_all).step_by(block) {
            let count = block.min(count_all - b0);
            let width = count * n;
            for grp in 0..geo.groups {
                gather_cols(x, geo, &taps, grp, p0 + b0, count, &mut s.col, pad_value);
                let cols = Strided::row_major(&s.col[..rows * width], width, false);
                let lhs = weights_by_filter(w, geo, grp);
                let bias_of = |fi: usize| bias.map_or(T::zero(), |b| b[grp * fg + fi]);
                if count == 1 {
                    let dst = &mut ys[b0 * pix_len + grp * fg * n..b0 * pix_len + (grp + 1) * fg * n];
                    if bias.is_some() {
                        dst.chunks_mut(n).enumerate().for_each(|(fi, r)| r.fill(bias_of(fi)));
                    }
                    matmul_to(dst, n, 1, bias.is_some(), lhs, cols, fg, n, rows, false);
                } else {
                    matmul_to(&mut s.tmp[..fg * width], width, 1, false, lhs, cols, fg, width, rows, false);
                    for fi in 0..fg {
                        let bv = bias_of(fi);
                        for pl in 0..count {
                            let d = (b0 + pl) * pix_len + (grp * fg + fi) * n;
                            let src = &s.tmp[fi * width + pl * n..fi * width + (pl + 1) * n];
                            ys[d..d + n].iter_mut().zip(src).for_each(|(y, &v)| *y = v + bv);
                        }
                    }
                }
            }
        }
    };
    match pixels_per_task(geo) {
        Some(per) => y.par_chunks_mut(per * pix_len).enumerate().for_each(|(i, ys)| run(i * per, ys, &mut Scratch::new(geo))),
        None => run(0, &mut y, &mut Scratch::new(geo)),
    }
    y
}

/// Output-pixel bands for the input gradient: `(band length along the outermost non-singleton
/// output dim, pixels per unit of that length, number of bands)`, or None to run serially.
/// Bands of one parity never read the same input: a band is at least as long as the kernel's
/// reach along that dim divided by the stride.
/// The bands depend only on the geometry (the order of the sums into an input pixel does too).
fn input_bands(geo: &ConvGeom) -> Option<(usize, usize, usize)> {
    if geo.work() < PAR_THRESHOLD {
        return None;
    }
    let a = (0..3).find(|&d| geo.out_sp[d] > 1)?;
    let reach = geo.dil[a] * (geo.k[a] - 1) + 1;
    let len = reach.div_ceil(geo.stride[a]).max(geo.out_sp[a].div_ceil(FIXED_TASKS)).max(1);
    let bands = geo.out_sp[a].div_ceil(len);
    let unit: usize = geo.out_sp[a + 1..].iter().product();
    if bands < 3 {
        return None;
    }
    Some((len, unit, bands))
}

/// A raw pointer shared by the tasks of one wave (each writes input pixels no other touches).
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

/// The input gradient (a transposed convolution): g (O..., F, N), w (K..., C/G, F/G, G) →
/// dx (S..., C, N).
pub fn conv_backward_input<T: 'static + Element>(g: &[T], w: &[T], geo: &ConvGeom) -> Vec<T> {
    let (n, fg, rows) = (geo.n, geo.fg(), geo.col_rows());
    let mut dx = vec![T::zero(); geo.in_plane() * geo.c * n];
    if dx.is_empty() || geo.out_plane() == 0 {
        return dx;
    }
    let taps = Taps::new(geo);
    let block = geo.block();
    let out = SharedOut(dx.as_mut_ptr());
    // Output pixels p0..p1 scattered into dx.
    let run = |p0: usize, p1: usize, s: &mut Scratch<T>| {
        for b0 in (p0..p1).step_by(block) {
            let count = block.min(p1 - b0);
            let width = count * n;
            for grp in 0..geo.groups {
                let rhs = channel_rows(g, geo.f, n, grp * fg, fg, b0, count, &mut s.tmp);
                matmul_to(&mut s.col[..rows * width], width, 1, false, weights_by_tap(w, geo, grp), rhs, rows, width, fg, false);
                // SAFETY: dx outlives the scope; bands of one wave write disjoint input pixels.
                unsafe { scatter_cols(&s.col, geo, &taps, grp, b0, count, out.ptr()) };
            }
        }
    };
    match input_bands(geo) {
        Some((len, unit, bands)) => {
            let op = geo.out_plane();
            let band = |b: usize| run((b * len * unit).min(op), ((b + 1) * len * unit).min(op), &mut Scratch::new(geo));
            let par = rayon::current_num_threads() > 1 && use_rayon(geo.work());
            for parity in 0..2 {
                let wave: Vec<usize> = (parity..bands).step_by(2).collect();
                if par {
                    wave.into_par_iter().for_each(band);
                } else {
                    wave.into_iter().for_each(band);
                }
            }
        }
        None => run(0, geo.out_plane(), &mut Scratch::new(geo)),
    }
    dx
}

/// The weight gradient: x (S..., C, N), g (O..., F, N) → dw (K..., C/G, F/G, G), summed over
/// the batch. Padded positions read `pad_value` (so a nonzero padding value contributes).
pub fn conv_backward_weight<T: 'static + Element>(x: &[T], g: &[T], geo: &ConvGeom, pad_value: T) -> Vec<T> {
    let (n, fg, rows) = (geo.n, geo.fg(), geo.col_rows());
    let w_len = rows * geo.f;
    if w_len == 0 {
        return vec![];
    }
    let taps = Taps::new(geo);
    let block = geo.block();
    // Adds output pixels p0..p1's contribution to `dw`.
    let run = |p0: usize, p1: usize, dw: &mut [T], s: &mut Scratch<T>| {
        for b0 in (p0..p1).step_by(block) {
            let count = block.min(p1 - b0);
            let width = count * n;
            for grp in 0..geo.groups {
                gather_cols(x, geo, &taps, grp, b0, count, &mut s.col, pad_value);
                let cols = Strided::row_major(&s.col[..rows * width], width, false);
                let gr = channel_rows(g, geo.f, n, grp * fg, fg, b0, count, &mut s.tmp);
                let g_t = gr.t();
                // dw rows (tap, channel), columns f: stride F/G·G and G, from group grp.
                matmul_to(&mut dw[grp..], fg * geo.groups, geo.groups, true, cols, g_t, rows, fg, width, false);
            }
        }
    };
    // Fixed pixel ranges (whole blocks), each summed on its own, the partial sums added in order.
    let op = geo.out_plane();
    let per = if geo.work() < PAR_THRESHOLD { op } else { op.div_ceil(FIXED_TASKS).div_ceil(block).max(1) * block };
    let part = |i: usize| {
        let mut dw = vec![T::zero(); w_len];
        run(i * per, ((i + 1) * per).min(op), &mut dw, &mut Scratch::new(geo));
        dw
    };
    let tasks = op.div_ceil(per.max(1));
    let parts: Vec<Vec<T>> =
        if tasks > 1 && use_rayon(geo.work()) { (0..tasks).into_par_iter().map(part).collect() } else { (0..tasks).map(part).collect() };
    let mut it = parts.into_iter();
    let mut dw = it.next().unwrap_or_else(|| vec![T::zero(); w_len]);
    for p in it {
        dw.iter_mut().zip(&p).for_each(|(a, &b)| *a = *a + b);
    }
    dw
}
