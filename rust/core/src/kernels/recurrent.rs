//! Fused LSTM kernels on raw slices (the GRU's are in `recurrent_gru`): the whole-sequence
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

pub use super::gate_activation::Activation;
use super::gemm::{matmul_to, Strided};
use super::packed_gemm::{PackedLhs, PANEL_ROWS};
use super::parallel::in_forked_child;
pub use super::recurrent_gru::*;
use super::vmath::multiversion;
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
    let mut out = vec![T::zero(); rows * b * t];
    for r in 0..rows {
        let (src, dst) = (&x[r * b * src_t..(r + 1) * b * src_t], &mut out[r * b * t..(r + 1) * b * t]);
        for bb in 0..b {
            for s in 0..t {
                dst[s * b + bb] = src[bb * src_t + s];
            }
        }
    }
    out
}

/// (rows, T·B) with column s·B + b → (rows, B, T).
pub(super) fn from_time_columns<T: Real>(x: &[T], rows: usize, b: usize, t: usize) -> Vec<T> {
    let mut out = vec![T::zero(); x.len()];
    for r in 0..rows {
        let (src, dst) = (&x[r * b * t..(r + 1) * b * t], &mut out[r * b * t..(r + 1) * b * t]);
        for s in 0..t {
            for bb in 0..b {
                dst[bb * t + s] = src[s * b + bb];
            }
        }
    }
    out
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

// ----- LSTM ---------------------------------------------------------------------------------

/// The LSTM's per-step product runs on stacked operands: the weights `[W b R]` (4H × K,
/// K = C + 1 + H) times the step input `[x_t; 1; h_{t-1}]` (K × B). One product per step
/// then gives the whole pre-activation (input projection, bias and recurrence together),
/// and after the loop one product `dz · [x; 1; h_prev]'` gives dW, db and dR at once.
fn stacked_k(d: Dims) -> usize {
    d.c + 1 + d.h
}

/// `[W b R]` stored transposed, (K, 4H): a column-major left operand, which the product
/// reads as it is (no per-step packing of the weights).
fn stacked_weights_t<T: Real>(w: &[T], bias: &[T], r: &[T], d: Dims) -> Vec<T> {
    let (rows, kk) = (4 * d.h, stacked_k(d));
    let mut out = vec![T::zero(); kk * rows];
    for i in 0..rows {
        for c in 0..d.c {
            out[c * rows + i] = w[i * d.c + c];
        }
        out[d.c * rows + i] = bias[i];
        for j in 0..d.h {
            out[(d.c + 1 + j) * rows + i] = r[i * d.h + j];
        }
    }
    out
}

/// The stacked step inputs (K, (T+1)·B): column block s is `[x_s; 1; h_{s-1}]` (x's last
/// block unused and zero). The hidden rows are filled in by the forward pass (block 0 = h0).
fn stacked_inputs<T: Real>(x: &[T], h0: &[T], d: Dims) -> Vec<T> {
    let (b, t, width) = (d.b, d.t, (d.t + 1) * d.b);
    let mut xh = vec![T::zero(); stacked_k(d) * width];
    for c in 0..d.c {
        let (src, dst) = (&x[c * b * t..(c + 1) * b * t], &mut xh[c * width..c * width + b * t]);
        for bb in 0..b {
            for s in 0..t {
                dst[s * b + bb] = src[bb * t + s];
            }
        }
    }
    xh[d.c * width..(d.c + 1) * width].iter_mut().for_each(|v| *v = T::one());
    for k in 0..d.h {
        let row = (d.c + 1 + k) * width;
        xh[row..row + b].copy_from_slice(&h0[k * b..(k + 1) * b]);
    }
    xh
}

/// Whether a step's work splits over two threads, and where: `Some(first unit of the second
/// half)`, on a panel boundary of the packed weights. Only when the per-step product is large
/// enough to pay for the hand-over.
fn step_halves(d: Dims, kk: usize) -> Option<usize> {
    let work = 4 * d.h * kk * d.b;
    let mid = d.h / 2 / PANEL_ROWS * PANEL_ROWS;
    (mid > 0 && work >= 1 << 20 && rayon::current_num_threads() >= 2 && !in_forked_child()).then_some(mid)
}

/// The four gates' rows of one step's pre-activations (4H × B), each split at row `at`
/// (elements): `[first halves, second halves]`.
fn split_gates<T>(z: &mut [T], hb: usize, at: usize) -> [[&mut [T]; 4]; 2] {
    let (i, rest) = z.split_at_mut(hb);
    let (f, rest) = rest.split_at_mut(hb);
    let (g, o) = rest.split_at_mut(hb);
    let (i, f, g, o) = (i.split_at_mut(at), f.split_at_mut(at), g.split_at_mut(at), o.split_at_mut(at));
    [[i.0, f.0, g.0, o.0], [i.1, f.1, g.1, o.1]]
}

/// What every unit of one forward step reads.
struct LstmStep<'a, T> {
    /// `[W b R]` of each gate, packed.
    weights: &'a [PackedLhs<'a, T>; 4],
    /// The step input `[x_t; 1; h_{t-1}]`: K rows, `width` apart.
    xh: &'a [T],
    width: usize,
    c_prev: &'a [T],
    b: usize,
    state: Activation,
    gate: Activation,
}

impl<T: Real> LstmStep<'_, T> {
    /// Units `k0..k1`: their four gates' rows of the product, the activations, and their cell
    /// and hidden states (`c_new`, `tc`, `h_new` hold just these units' rows).
    fn units(&self, k0: usize, k1: usize, z: [&mut [T]; 4], c_new: &mut [T], tc: &mut [T], h_new: &mut [T]) {
        let b = self.b;
        let [zi, zf, zg, zo] = z;
        for (weights, zr) in self.weights.iter().zip([&mut *zi, &mut *zf, &mut *zg, &mut *zo]) {
            weights.matmul_rows(k0..k1, zr, b, false, self.xh, self.width, b);
        }
        self.gate.apply_in_place(zi);
        self.gate.apply_in_place(zf);
        self.state.apply_in_place(zg);
        self.gate.apply_in_place(zo);
        lstm_cell_update(zi, zf, zg, &self.c_prev[k0 * b..k1 * b], c_new);
        self.state.apply_into(c_new, tc);
        lstm_hidden_update(zo, tc, h_new, b, b);
    }
}

/// What the LSTM forward pass keeps for its backward pass.
/// `S` is the storage: `Vec<T>` from the forward pass, `&[T]` for the backward pass.
pub struct LstmSaved<S> {
    /// Activated gates i, f, g, o per step: (T, 4H, B).
    pub gates: S,
    /// Cell state after each step: (T, H, B).
    pub cells: S,
    /// The state activation of each cell state, σ_c(c_t): (T, H, B).
    pub cells_activated: S,
    /// The stacked step inputs `[x; 1; h_prev]`: (C + 1 + H, (T+1)·B), column block s for
    /// step s (block T holds only the last hidden state).
    pub inputs: S,
}

/// Returns the packed output (H, B, T+1) — hidden states of every step, then the final cell
/// state — and the saved intermediates.
#[allow(clippy::too_many_arguments)]
pub fn lstm_forward<T: Real>(
    x: &[T],
    h0: &[T],
    c0: &[T],
    w: &[T],
    r: &[T],
    bias: &[T],
    d: Dims,
    state: Activation,
    gate: Activation,
) -> (Vec<T>, LstmSaved<Vec<T>>) {
    let (h, b, t, kk) = (d.h, d.b, d.t, stacked_k(d));
    let (hb, width) = (h * b, (t + 1) * b);
    let weights_t = stacked_weights_t(w, bias, r, d);
    let weights: [PackedLhs<T>; 4] = std::array::from_fn(|gi| PackedLhs::new(Strided { data: &weights_t[gi * h..], row_stride: 1, col_stride: 4 * h }, h, kk));
    let mut inputs = stacked_inputs(x, h0, d);
    let hidden_row0 = (d.c + 1) * width;
    let mut gates = vec![T::zero(); t * 4 * hb];
    let mut cells = vec![T::zero(); t * hb];
    let mut cells_activated = vec![T::zero(); t * hb];
    let halves = step_halves(d, kk);
    let mut h_new = vec![T::zero(); hb];
    for s in 0..t {
        let z = &mut gates[s * 4 * hb..(s + 1) * 4 * hb];
        let (cdone, crest) = cells.split_at_mut(s * hb);
        let c_prev = if s == 0 { c0 } else { &cdone[(s - 1) * hb..] };
        let step = LstmStep { weights: &weights, xh: &inputs[s * b..], width, c_prev, b, state, gate };
        let c_new = &mut crest[..hb];
        let tc = &mut cells_activated[s * hb..(s + 1) * hb];
        match halves {
            // Two threads, each the gates, cells and hidden states of half the units: the
            // step's product is most of its time and both cores do it.
            Some(mid) => {
                let (zs, (c_a, c_b), (tc_a, tc_b), (h_a, h_b)) = (split_gates(z, hb, mid * b), c_new.split_at_mut(mid * b), tc.split_at_mut(mid * b), h_new.split_at_mut(mid * b));
                let [za, zb] = zs;
                rayon::join(|| step.units(0, mid, za, c_a, tc_a, h_a), || step.units(mid, h, zb, c_b, tc_b, h_b));
            }
            None => {
                let [all, _] = split_gates(z, hb, hb);
                step.units(0, h, all, c_new, tc, &mut h_new)
            }
        }
        for k in 0..h {
            let dst = hidden_row0 + k * width + (s + 1) * b;
            inputs[dst..dst + b].copy_from_slice(&h_new[k * b..(k + 1) * b]);
        }
    }
    let mut out = hidden_to_output(&inputs[hidden_row0..], d, 1);
    for e in 0..hb {
        out[e * (t + 1) + t] = cells[(t - 1) * hb + e];
    }
    (out, LstmSaved { gates, cells, cells_activated, inputs })
}

/// Gradients of every LSTM input from the gradient `gout` of the packed output.
pub struct LstmGrads<T> {
    pub dx: Vec<T>,
    pub dh0: Vec<T>,
    pub dc0: Vec<T>,
    pub dw: Vec<T>,
    pub dr: Vec<T>,
    pub db: Vec<T>,
}

#[allow(clippy::too_many_arguments)]
pub fn lstm_backward<T: Real>(
    gout: &[T],
    saved: &LstmSaved<&[T]>,
    c0: &[T],
    w: &[T],
    r: &[T],
    d: Dims,
    state: Activation,
    gate: Activation,
    need_x: bool,
) -> LstmGrads<T> {
    let (h, b, t, bt, kk) = (d.h, d.b, d.t, d.bt(), stacked_k(d));
    let (hb, width) = (h * b, (t + 1) * b);
    let gy = output_grad_to_columns(gout, d, 1);
    // Pre-activation gradients of the four gates, (4H, T·B).
    let mut dz_all = vec![T::zero(); 4 * h * bt];
    let mut dh_rec = vec![T::zero(); hb];
    let mut dc: Vec<T> = (0..hb).map(|e| gout[e * (t + 1) + t]).collect();
    // Activation derivatives of the step's gates (i, f, g, o) and of σ_c(c).
    let mut dgates = vec![T::zero(); 4 * hb];
    let mut dtc = vec![T::zero(); hb];
    let halves = step_halves(d, kk);
    let r_t = PackedLhs::new(Strided { data: r, row_stride: 1, col_stride: h }, h, 4 * h);
    for s in (0..t).rev() {
        let gs = &saved.gates[s * 4 * hb..(s + 1) * 4 * hb];
        let tc = &saved.cells_activated[s * hb..(s + 1) * hb];
        let c_prev = if s > 0 { &saved.cells[(s - 1) * hb..s * hb] } else { c0 };
        gate.deriv_into(&gs[..2 * hb], &mut dgates[..2 * hb]);
        state.deriv_into(&gs[2 * hb..3 * hb], &mut dgates[2 * hb..3 * hb]);
        gate.deriv_into(&gs[3 * hb..], &mut dgates[3 * hb..]);
        state.deriv_into(tc, &mut dtc);
        lstm_backward_cells(&gy[s * b..], &mut dh_rec, &mut dc, gs, &dgates, tc, &dtc, c_prev, &mut dz_all[s * b..], h, b, bt);
        // dh_{t-1} from the recurrence: R' · dz_s (R' is column-major: read in place), its rows
        // split over two threads when the step is large enough.
        let dz_s = &dz_all[s * b..];
        let rows_of_rt = |k0: usize, dst: &mut [T]| r_t.matmul_rows(k0..k0 + dst.len() / b, dst, b, false, dz_s, bt, b);
        match halves {
            Some(mid) => {
                let (lo, hi) = dh_rec.split_at_mut(mid * b);
                rayon::join(|| rows_of_rt(0, lo), || rows_of_rt(mid, hi));
            }
            None => rows_of_rt(0, &mut dh_rec),
        }
    }
    // [dW db dR] = dz · [x; 1; h_prev]' over all T·B columns, in one product.
    let mut dstacked = vec![T::zero(); 4 * h * kk];
    let inputs_t = Strided { data: saved.inputs, row_stride: 1, col_stride: width };
    matmul_to(&mut dstacked, kk, 1, false, Strided::row_major(&dz_all, bt, false), inputs_t, 4 * h, kk, bt, true);
    let (mut dw, mut db, mut dr) = (Vec::with_capacity(4 * h * d.c), Vec::with_capacity(4 * h), Vec::with_capacity(4 * h * h));
    for row in dstacked.chunks_exact(kk) {
        dw.extend_from_slice(&row[..d.c]);
        db.push(row[d.c]);
        dr.extend_from_slice(&row[d.c + 1..]);
    }
    let dx = if need_x {
        let mut dx = vec![T::zero(); d.c * bt];
        matmul_to(&mut dx, bt, 1, false, Strided::row_major(w, d.c, true), Strided::row_major(&dz_all, bt, false), d.c, bt, 4 * h, true);
        from_time_columns(&dx, d.c, d.b, d.t)
    } else {
        Vec::new()
    };
    LstmGrads { dx, dh0: dh_rec, dc0: dc, dw, dr, db }
}

multiversion! {
    /// c_t = f ⊙ c_{t-1} + i ⊙ g.
    fn lstm_cell_update<T: Real>(ig: &[T], fg: &[T], gg: &[T], c_prev: &[T], c_new: &mut [T]) {
        let n = c_new.len();
        let (ig, fg, gg, c_prev) = (&ig[..n], &fg[..n], &gg[..n], &c_prev[..n]);
        for e in 0..n {
            c_new[e] = fg[e] * c_prev[e] + ig[e] * gg[e];
        }
    }
}

multiversion! {
    /// h_t = o ⊙ σ_c(c_t), written into column block `hidden` (rows `width` apart).
    fn lstm_hidden_update<T: Real>(og: &[T], tc: &[T], hidden: &mut [T], width: usize, b: usize) {
        for (k, (o, a)) in og.chunks_exact(b).zip(tc.chunks_exact(b)).enumerate() {
            let h_new = &mut hidden[k * width..k * width + b];
            for e in 0..b {
                h_new[e] = o[e] * a[e];
            }
        }
    }
}

multiversion! {
    /// One backward step through the cell: from the output gradient `gy` (column block of an
    /// (H, ·) matrix with rows `bt` apart), the recurrent gradient `dh_rec` and the cell
    /// gradient `dc` (updated to the previous step's), the four gates' pre-activation
    /// gradients into the column block `dz` of the (4H, T·B) matrix.
    fn lstm_backward_cells<T: Real>(
        gy: &[T],
        dh_rec: &mut [T],
        dc: &mut [T],
        gates: &[T],
        dgates: &[T],
        tc: &[T],
        dtc: &[T],
        c_prev: &[T],
        dz: &mut [T],
        h: usize,
        b: usize,
        bt: usize,
    ) {
        let hb = h * b;
        for k in 0..h {
            let row = k * b..(k + 1) * b;
            let (ig, fg, gg, og) = (&gates[row.clone()], &gates[hb..][row.clone()], &gates[2 * hb..][row.clone()], &gates[3 * hb..][row.clone()]);
            let (di, df, dg, dout) = (&dgates[row.clone()], &dgates[hb..][row.clone()], &dgates[2 * hb..][row.clone()], &dgates[3 * hb..][row.clone()]);
            let (tc, dtc, c_prev, gy) = (&tc[row.clone()], &dtc[row.clone()], &c_prev[row.clone()], &gy[k * bt..k * bt + b]);
            let (dh_rec, dc) = (&mut dh_rec[row.clone()], &mut dc[row]);
            // Rows k, H + k, 2H + k, 3H + k of dz: one row per gate.
            let (dzi, rest) = dz[k * bt..].split_at_mut(h * bt);
            let (dzf, rest) = rest.split_at_mut(h * bt);
            let (dzg, dzo) = rest.split_at_mut(h * bt);
            let (dzi, dzf, dzg, dzo) = (&mut dzi[..b], &mut dzf[..b], &mut dzg[..b], &mut dzo[..b]);
            for e in 0..b {
                let dh = gy[e] + dh_rec[e];
                let dcc = dc[e] + dh * og[e] * dtc[e];
                dzi[e] = dcc * gg[e] * di[e];
                dzf[e] = dcc * c_prev[e] * df[e];
                dzg[e] = dcc * ig[e] * dg[e];
                dzo[e] = dh * tc[e] * dout[e];
                dc[e] = dcc * fg[e];
            }
        }
    }
}
