//! Fused recurrent kernels on raw slices — the LSTM's in `recurrent_lstm`, the GRU's in
//! `recurrent_gru`, and here what both share: the whole-sequence
//! forward pass (per step, the input and recurrent products accumulate straight into the
//! step's gate block, then whole-block activations) and its first-order backward pass (BPTT
//! with one product per step; the weight, input and bias gradients as large products after
//! the loop).
//!
//! Layouts are row-major and MATLAB's: `x` (C, B, T), weights (G·H, C) and recurrent weights
//! (G·H, H) with the gates stacked in rows, states (H, B). Internally:
//! - per-step intermediates are time-major, (T, rows, B), so each step is one contiguous block;
//! - hidden states are kept as an (H, (T+1)·B) matrix whose column block s is h_{s-1}
//!   (block 0 is h0), and pre-activation gradients as (rows, T·B) with column s·B + b. Each
//!   step reads or writes its column block through a strided view, and the weight gradients
//!   after the loop are single products over all T·B columns, with no reshuffling copy.

use super::elementwise::written_by;
pub use super::gate_activation::Activation;
use super::gemm::{matmul_to, Strided};
pub use super::recurrent_gru::*;
pub use super::recurrent_lstm::*;
use crate::dtype::Real;

/// Sizes of one recurrent problem.
#[derive(Debug, Clone, Copy)]
pub struct Dims {
    pub c: usize,
    pub h: usize,
    pub b: usize,
    pub t: usize,
}

impl Dims {
    /// True when a size the kernels divide work by is zero (no batch, units or channels).
    pub fn is_degenerate(&self) -> bool {
        self.c == 0 || self.h == 0 || self.b == 0
    }

    pub(super) fn bt(&self) -> usize {
        self.b * self.t
    }
}

/// Sum of a slice with 16 independent partial sums: a single running sum is one long chain
/// of dependent additions that cannot be vectorised.
fn lane_sum<T: Real>(v: &[T]) -> T {
    const LANES: usize = 16;
    let mut acc = [T::zero(); LANES];
    let chunks = v.chunks_exact(LANES);
    let tail: T = chunks.remainder().iter().copied().sum();
    for c in chunks {
        for i in 0..LANES {
            acc[i] = acc[i] + c[i];
        }
    }
    acc.iter().copied().sum::<T>() + tail
}

/// Row sums of a (rows × n) matrix.
pub(super) fn row_sums<T: Real>(m: &[T], n: usize) -> Vec<T> {
    if n == 0 {
        return vec![T::zero(); m.len()];
    }
    m.chunks(n).map(lane_sum).collect()
}

/// The first `t` of `src_t` time steps of (rows, B, src_t) → (rows, T·B) with column s·B + b.
pub(super) fn to_time_columns<T: Real>(x: &[T], rows: usize, b: usize, t: usize, src_t: usize) -> Vec<T> {
    written_by(rows * b * t, |out| {
        for r in 0..rows {
            let (src, dst) = (&x[r * b * src_t..(r + 1) * b * src_t], &mut out[r * b * t..(r + 1) * b * t]);
            for bb in 0..b {
                for s in 0..t {
                    dst[s * b + bb].write(src[bb * src_t + s]);
                }
            }
        }
    })
}

/// (rows, T·B) with column s·B + b → (rows, B, T).
pub(super) fn from_time_columns<T: Real>(x: &[T], rows: usize, b: usize, t: usize) -> Vec<T> {
    written_by(rows * b * t, |out| {
        for r in 0..rows {
            let (src, dst) = (&x[r * b * t..(r + 1) * b * t], &mut out[r * b * t..(r + 1) * b * t]);
            for s in 0..t {
                for bb in 0..b {
                    dst[bb * t + s].write(src[s * b + bb]);
                }
            }
        }
    })
}

/// The hidden-state matrix (H, (T+1)·B) with h0 as column block 0 and the rest zero.
pub(super) fn hidden_with_h0<T: Real>(h0: &[T], d: Dims) -> Vec<T> {
    let (b, w) = (d.b, (d.t + 1) * d.b);
    let mut hs = vec![T::zero(); d.h * w];
    for k in 0..d.h {
        hs[k * w..k * w + b].copy_from_slice(&h0[k * b..(k + 1) * b]);
    }
    hs
}

/// The output (H, B, T + extra) from the hidden-state matrix (its blocks 1..=T); the extra
/// columns are left zero.
pub(super) fn hidden_to_output<T: Real>(hs: &[T], d: Dims, extra: usize) -> Vec<T> {
    let (b, t, tt, w) = (d.b, d.t, d.t + extra, (d.t + 1) * d.b);
    let mut out = vec![T::zero(); d.h * b * tt];
    for k in 0..d.h {
        let (src, dst) = (&hs[k * w + b..(k + 1) * w], &mut out[k * b * tt..(k + 1) * b * tt]);
        for (bb, row) in dst.chunks_exact_mut(tt).enumerate() {
            let src = &src[bb..];
            for (s, v) in row[..t].iter_mut().enumerate() {
                *v = src[s * b];
            }
        }
    }
    out
}

/// The first T columns of a (H, B, T + extra) output gradient as (H, T·B), column s·B + b.
pub(super) fn output_grad_to_columns<T: Real>(g: &[T], d: Dims, extra: usize) -> Vec<T> {
    to_time_columns(g, d.h, d.b, d.t, d.t + extra)
}

/// Column block `s` (B columns) of a matrix with `width` columns, as a read-only view.
pub(super) fn block<T>(m: &[T], width: usize, s: usize, b: usize) -> Strided<'_, T> {
    Strided { data: &m[s * b..], row_stride: width, col_stride: 1 }
}

/// `dst (rows × B) = w (rows × C) · x_s + bias[row]`: step `s`'s input projection, reading
/// x (C, B, T) in place (column b of x_s is at stride T).
pub(super) fn project_step<T: Real>(dst: &mut [T], w: &[T], x: &[T], bias: &[T], rows: usize, s: usize, d: Dims) {
    let xs = Strided { data: &x[s..], row_stride: d.b * d.t, col_stride: d.t };
    matmul_to(dst, d.b, 1, false, Strided::row_major(w, d.c, false), xs, rows, d.b, d.c, false);
    for (row, chunk) in dst.chunks_exact_mut(d.b).enumerate().take(rows) {
        let bj = bias[row];
        chunk.iter_mut().for_each(|v| *v = *v + bj);
    }
}

/// Gradients of the parameters shared by LSTM and GRU from the pre-activation gradients
/// `dz` (rows × T·B, time columns): (dX (C, B, T), dW (rows, C), db (rows)).
pub(super) fn input_side_grads<T: Real>(dz: &[T], x: &[T], w: &[T], rows: usize, d: Dims, need_x: bool) -> (Vec<T>, Vec<T>, Vec<T>) {
    let bt = d.bt();
    let x_tc = to_time_columns(x, d.c, d.b, d.t, d.t);
    let mut dw = vec![T::zero(); rows * d.c];
    matmul_to(&mut dw, d.c, 1, false, Strided::row_major(dz, bt, false), Strided::row_major(&x_tc, bt, true), rows, d.c, bt, true);
    let dx = if need_x {
        let mut dx = vec![T::zero(); d.c * bt];
        matmul_to(&mut dx, bt, 1, false, Strided::row_major(w, d.c, true), Strided::row_major(dz, bt, false), d.c, bt, rows, true);
        from_time_columns(&dx, d.c, d.b, d.t)
    } else {
        Vec::new()
    };
    (dx, dw, row_sums(dz, bt))
}

/// `dr (rows × H) = dz (rows × T·B) · hp'` where hp is the first T column blocks of the
/// hidden-state matrix (h_{s-1} for every step).
pub(super) fn recurrent_weight_grad<T: Real>(dr: &mut [T], dz: &[T], hs: &[T], rows: usize, d: Dims) {
    let bt = d.bt();
    let hp_t = Strided { data: hs, row_stride: 1, col_stride: (d.t + 1) * d.b };
    matmul_to(dr, d.h, 1, false, Strided::row_major(dz, bt, false), hp_t, rows, d.h, bt, true);
}
