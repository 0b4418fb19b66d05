//! Fused LSTM and GRU kernels on raw slices: the whole-sequence forward pass (one GEMM for
//! the input projection of every time step, then per step one recurrent GEMM and a single
//! pass over the gates) and its first-order backward pass (BPTT with one GEMM per step, and
//! the weight, input and bias gradients as three large GEMMs after the loop).
//!
//! Layouts are row-major and MATLAB's: `x` (C, B, T), weights (G·H, C) and recurrent weights
//! (G·H, H) with the gates stacked in rows, states (H, B). Internally everything is
//! time-major — the input as (C, T·B), projections and gradients as (rows, T·B) with column
//! s·B + b, per-step intermediates as (T, rows, B) — so each step touches contiguous memory
//! (strided per-step access into (…, B, T) arrays costs a cache miss per element).

use super::gemm::matmul;
use crate::dtype::Real;

/// A gate or state activation; derivatives are taken from the activation's *output* so the
/// backward pass needs only what the forward pass saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Tanh,
    Softsign,
    Relu,
    Sigmoid,
    /// MATLAB's hard sigmoid: `max(0, min(1, 0.2·x + 0.5))`.
    HardSigmoid,
}

impl Activation {
    #[inline(always)]
    pub fn apply<T: Real>(self, x: T) -> T {
        let one = T::one();
        match self {
            Activation::Tanh => x.tanh(),
            Activation::Softsign => x / (one + x.abs()),
            Activation::Relu => {
                if x > T::zero() {
                    x
                } else {
                    T::zero()
                }
            }
            Activation::Sigmoid => one / (one + (-x).exp()),
            Activation::HardSigmoid => {
                let y = x * T::from_f64(0.2) + T::from_f64(0.5);
                if y < T::zero() {
                    T::zero()
                } else if y > one {
                    one
                } else {
                    y
                }
            }
        }
    }

    /// f'(x) expressed through y = f(x).
    #[inline(always)]
    pub fn deriv_from_output<T: Real>(self, y: T) -> T {
        let one = T::one();
        match self {
            Activation::Tanh => one - y * y,
            Activation::Softsign => {
                let d = one - y.abs();
                d * d
            }
            Activation::Relu => {
                if y > T::zero() {
                    one
                } else {
                    T::zero()
                }
            }
            Activation::Sigmoid => y * (one - y),
            Activation::HardSigmoid => {
                if y > T::zero() && y < one {
                    T::from_f64(0.2)
                } else {
                    T::zero()
                }
            }
        }
    }
}

/// Sizes of one recurrent problem.
#[derive(Debug, Clone, Copy)]
pub struct Dims {
    pub c: usize,
    pub h: usize,
    pub b: usize,
    pub t: usize,
}

impl Dims {
    fn bt(&self) -> usize {
        self.b * self.t
    }
}

/// `w (rows×C) · x (C×BT)` plus `bias[row]` on every column: the input projection of all steps.
fn input_projection<T: Real>(w: &[T], x: &[T], bias: &[T], rows: usize, d: Dims) -> Vec<T> {
    let bt = d.bt();
    let mut xp = vec![T::zero(); rows * bt];
    matmul(&mut xp, w, x, rows, bt, d.c, false, false, false);
    for (row, chunk) in xp.chunks_mut(bt.max(1)).enumerate() {
        let bj = bias[row];
        chunk.iter_mut().for_each(|v| *v = *v + bj);
    }
    xp
}

/// Row sums of a (rows × n) matrix.
fn row_sums<T: Real>(m: &[T], n: usize) -> Vec<T> {
    if n == 0 {
        return vec![T::zero(); m.len()];
    }
    m.chunks(n).map(|r| r.iter().copied().sum()).collect()
}

/// (rows, B, T) → (rows, T·B) with column s·B + b.
fn to_time_columns<T: Real>(x: &[T], rows: usize, b: usize, t: usize) -> Vec<T> {
    let mut out = vec![T::zero(); x.len()];
    for r in 0..rows {
        for bb in 0..b {
            for s in 0..t {
                out[r * b * t + s * b + bb] = x[r * b * t + bb * t + s];
            }
        }
    }
    out
}

/// (rows, T·B) with column s·B + b → (rows, B, T).
fn from_time_columns<T: Real>(x: &[T], rows: usize, b: usize, t: usize) -> Vec<T> {
    let mut out = vec![T::zero(); x.len()];
    for r in 0..rows {
        for s in 0..t {
            for bb in 0..b {
                out[r * b * t + bb * t + s] = x[r * b * t + s * b + bb];
            }
        }
    }
    out
}

/// Time-major states (T, H, B) → (H, B, T + extra) (the extra columns left zero).
fn states_to_output<T: Real>(hs: &[T], hb: usize, t: usize, extra: usize) -> Vec<T> {
    let tt = t + extra;
    let mut out = vec![T::zero(); hb * tt];
    for e in 0..hb {
        for s in 0..t {
            out[e * tt + s] = hs[s * hb + e];
        }
    }
    out
}

/// The first T columns of a (H, B, T + extra) gradient as time-major (T, H, B).
fn output_to_states<T: Real>(g: &[T], hb: usize, t: usize, extra: usize) -> Vec<T> {
    let tt = t + extra;
    let mut out = vec![T::zero(); hb * t];
    for e in 0..hb {
        for s in 0..t {
            out[s * hb + e] = g[e * tt + s];
        }
    }
    out
}

/// h_{t-1} for every step as a (H, T·B) matrix (column s·B + b), from time-major states.
fn previous_states<T: Real>(hs: &[T], h0: &[T], d: Dims) -> Vec<T> {
    let (hb, b, bt) = (d.h * d.b, d.b, d.bt());
    let mut hp = vec![T::zero(); d.h * bt];
    for k in 0..d.h {
        for s in 0..d.t {
            let src = if s == 0 { &h0[k * b..(k + 1) * b] } else { &hs[(s - 1) * hb + k * b..(s - 1) * hb + (k + 1) * b] };
            hp[k * bt + s * b..k * bt + (s + 1) * b].copy_from_slice(src);
        }
    }
    hp
}

/// Gradients of the parameters shared by LSTM and GRU from the pre-activation gradients
/// `dz` (rows × BT): (dX (C, BT), dW (rows, C), db (rows)).
/// `dz` and `x_tc` are in time-column layout; dX is returned as (C, B, T).
fn input_side_grads<T: Real>(dz: &[T], x_tc: &[T], w: &[T], rows: usize, d: Dims, need_x: bool) -> (Vec<T>, Vec<T>, Vec<T>) {
    let bt = d.bt();
    let mut dw = vec![T::zero(); rows * d.c];
    matmul(&mut dw, dz, x_tc, rows, d.c, bt, false, true, false);
    let dx = if need_x {
        let mut dx = vec![T::zero(); d.c * bt];
        matmul(&mut dx, w, dz, d.c, bt, rows, true, false, false);
        from_time_columns(&dx, d.c, d.b, d.t)
    } else {
        Vec::new()
    };
    (dx, dw, row_sums(dz, bt))
}

// ----- LSTM ---------------------------------------------------------------------------------

/// What the LSTM forward pass keeps for its backward pass (all time-major).
/// `S` is the storage: `Vec<T>` from the forward pass, `&[T]` for the backward pass.
pub struct LstmSaved<S> {
    /// Activated gates i, f, g, o per step: (T, 4H, B).
    pub gates: S,
    /// Cell state after each step: (T, H, B).
    pub cells: S,
    /// Hidden state after each step: (T, H, B).
    pub hidden: S,
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
    let (h, b, t, bt) = (d.h, d.b, d.t, d.bt());
    let hb = h * b;
    let xp = input_projection(w, &to_time_columns(x, d.c, b, t), bias, 4 * h, d);
    let mut gates = vec![T::zero(); t * 4 * hb];
    let mut cells = vec![T::zero(); t * hb];
    let mut hidden = vec![T::zero(); t * hb];
    let mut rh = vec![T::zero(); 4 * hb];
    for step in 0..t {
        let (done, rest) = hidden.split_at_mut(step * hb);
        let h_prev = if step == 0 { h0 } else { &done[(step - 1) * hb..] };
        let h_new = &mut rest[..hb];
        matmul(&mut rh, r, h_prev, 4 * h, b, h, false, false, false);
        let (cdone, crest) = cells.split_at_mut(step * hb);
        let c_prev = if step == 0 { c0 } else { &cdone[(step - 1) * hb..] };
        let c_new = &mut crest[..hb];
        let g_step = &mut gates[step * 4 * hb..(step + 1) * 4 * hb];
        for k in 0..h {
            let xrow = |gi: usize| &xp[(gi * h + k) * bt + step * b..(gi * h + k) * bt + (step + 1) * b];
            let (xi, xf, xg, xo) = (xrow(0), xrow(1), xrow(2), xrow(3));
            for bb in 0..b {
                let e = k * b + bb;
                let ig = gate.apply(xi[bb] + rh[e]);
                let fg = gate.apply(xf[bb] + rh[hb + e]);
                let gg = state.apply(xg[bb] + rh[2 * hb + e]);
                let og = gate.apply(xo[bb] + rh[3 * hb + e]);
                let c = fg * c_prev[e] + ig * gg;
                c_new[e] = c;
                h_new[e] = og * state.apply(c);
                g_step[e] = ig;
                g_step[hb + e] = fg;
                g_step[2 * hb + e] = gg;
                g_step[3 * hb + e] = og;
            }
        }
    }
    let mut out = states_to_output(&hidden, hb, t, 1);
    for e in 0..hb {
        out[e * (t + 1) + t] = cells[(t - 1) * hb + e];
    }
    (out, LstmSaved { gates, cells, hidden })
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
    x: &[T],
    h0: &[T],
    c0: &[T],
    w: &[T],
    r: &[T],
    d: Dims,
    state: Activation,
    gate: Activation,
    need_x: bool,
) -> LstmGrads<T> {
    let (h, b, t, bt) = (d.h, d.b, d.t, d.bt());
    let hb = h * b;
    let gy = output_to_states(gout, hb, t, 1);
    let mut dz_all = vec![T::zero(); 4 * h * bt];
    let mut dz = vec![T::zero(); 4 * hb];
    let mut dh_rec = vec![T::zero(); hb];
    let mut dc: Vec<T> = (0..hb).map(|e| gout[e * (t + 1) + t]).collect();
    for step in (0..t).rev() {
        let gs = &saved.gates[step * 4 * hb..(step + 1) * 4 * hb];
        let c_now = &saved.cells[step * hb..(step + 1) * hb];
        let c_prev = if step > 0 { &saved.cells[(step - 1) * hb..step * hb] } else { c0 };
        let gy_step = &gy[step * hb..(step + 1) * hb];
        for e in 0..hb {
            let dh = gy_step[e] + dh_rec[e];
            let (ig, fg, gg, og) = (gs[e], gs[hb + e], gs[2 * hb + e], gs[3 * hb + e]);
            let s = state.apply(c_now[e]);
            let dcc = dc[e] + dh * og * state.deriv_from_output(s);
            dz[e] = dcc * gg * gate.deriv_from_output(ig);
            dz[hb + e] = dcc * c_prev[e] * gate.deriv_from_output(fg);
            dz[2 * hb + e] = dcc * ig * state.deriv_from_output(gg);
            dz[3 * hb + e] = dh * s * gate.deriv_from_output(og);
            dc[e] = dcc * fg;
        }
        // Scatter into the (4H, T·B) matrix: contiguous B-long rows per step.
        for row in 0..4 * h {
            dz_all[row * bt + step * b..row * bt + (step + 1) * b].copy_from_slice(&dz[row * b..(row + 1) * b]);
        }
        // dh_{t-1} from the recurrence: R' · dz (R read transposed, no copy).
        matmul(&mut dh_rec, r, &dz, h, b, 4 * h, true, false, false);
    }
    let hp = previous_states(saved.hidden, h0, d);
    let mut dr = vec![T::zero(); 4 * h * h];
    matmul(&mut dr, &dz_all, &hp, 4 * h, h, bt, false, true, false);
    let (dx, dw, db) = input_side_grads(&dz_all, &to_time_columns(x, d.c, b, t), w, 4 * h, d, need_x);
    LstmGrads { dx, dh0: dh_rec, dc0: dc, dw, dr, db }
}

// ----- GRU ----------------------------------------------------------------------------------

/// MATLAB's three reset-gate modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetGateMode {
    AfterMultiplication,
    BeforeMultiplication,
    RecurrentBiasAfterMultiplication,
}

pub struct GruSaved<S> {
    /// Activated gates r, z and candidate h̃ per step: (T, 3H, B).
    pub gates: S,
    /// Per step: after-multiplication modes keep `R_h̃·h_{t-1} (+ b_Rh̃)`; before-multiplication
    /// keeps `r ⊙ h_{t-1}`: (T, H, B).
    pub aux: S,
    /// Hidden state after each step: (T, H, B).
    pub hidden: S,
}

/// Returns the hidden states of every step, (H, B, T), and the saved intermediates.
/// `bias` is 3H (input bias) or, for the recurrent-bias mode, 6H (input then recurrent bias).
#[allow(clippy::too_many_arguments)]
pub fn gru_forward<T: Real>(
    x: &[T],
    h0: &[T],
    w: &[T],
    r: &[T],
    bias: &[T],
    d: Dims,
    mode: ResetGateMode,
    state: Activation,
    gate: Activation,
) -> (Vec<T>, GruSaved<Vec<T>>) {
    let (h, b, t, bt) = (d.h, d.b, d.t, d.bt());
    let hb = h * b;
    let xp = input_projection(w, &to_time_columns(x, d.c, b, t), &bias[..3 * h], 3 * h, d);
    let zero_bias = vec![T::zero(); 3 * h];
    let rbias = if mode == ResetGateMode::RecurrentBiasAfterMultiplication { &bias[3 * h..] } else { &zero_bias[..] };
    let mut gates = vec![T::zero(); t * 3 * hb];
    let mut aux = vec![T::zero(); t * hb];
    let mut hidden = vec![T::zero(); t * hb];
    let mut rh = vec![T::zero(); 3 * hb];
    let before = mode == ResetGateMode::BeforeMultiplication;
    let xrow = |gi: usize, k: usize, step: usize| (gi * h + k) * bt + step * b;
    for step in 0..t {
        let (done, rest) = hidden.split_at_mut(step * hb);
        let h_prev = if step == 0 { h0 } else { &done[(step - 1) * hb..] };
        let h_new = &mut rest[..hb];
        let rows = if before { 2 * h } else { 3 * h };
        matmul(&mut rh[..rows * b], &r[..rows * h], h_prev, rows, b, h, false, false, false);
        let g_step = &mut gates[step * 3 * hb..(step + 1) * 3 * hb];
        let a_step = &mut aux[step * hb..(step + 1) * hb];
        for k in 0..h {
            let (o0, o1) = (xrow(0, k, step), xrow(1, k, step));
            for bb in 0..b {
                let e = k * b + bb;
                g_step[e] = gate.apply(xp[o0 + bb] + rh[e] + rbias[k]);
                g_step[hb + e] = gate.apply(xp[o1 + bb] + rh[hb + e] + rbias[h + k]);
            }
        }
        if before {
            for e in 0..hb {
                a_step[e] = g_step[e] * h_prev[e];
            }
            matmul(&mut rh[2 * hb..], &r[2 * h * h..], a_step, h, b, h, false, false, false);
        }
        for k in 0..h {
            let o2 = xrow(2, k, step);
            for bb in 0..b {
                let e = k * b + bb;
                let (rg, zg) = (g_step[e], g_step[hb + e]);
                let n = if before {
                    state.apply(xp[o2 + bb] + rh[2 * hb + e])
                } else {
                    let u = rh[2 * hb + e] + rbias[2 * h + k];
                    a_step[e] = u;
                    state.apply(xp[o2 + bb] + rg * u)
                };
                g_step[2 * hb + e] = n;
                h_new[e] = (T::one() - zg) * n + zg * h_prev[e];
            }
        }
    }
    (states_to_output(&hidden, hb, t, 0), GruSaved { gates, aux, hidden })
}

pub struct GruGrads<T> {
    pub dx: Vec<T>,
    pub dh0: Vec<T>,
    pub dw: Vec<T>,
    pub dr: Vec<T>,
    /// 3H, or 6H in the recurrent-bias mode.
    pub db: Vec<T>,
}

#[allow(clippy::too_many_arguments)]
pub fn gru_backward<T: Real>(
    gout: &[T],
    saved: &GruSaved<&[T]>,
    x: &[T],
    h0: &[T],
    w: &[T],
    r: &[T],
    d: Dims,
    mode: ResetGateMode,
    state: Activation,
    gate: Activation,
    need_x: bool,
) -> GruGrads<T> {
    let (h, b, t, bt) = (d.h, d.b, d.t, d.bt());
    let hb = h * b;
    let before = mode == ResetGateMode::BeforeMultiplication;
    let gy = output_to_states(gout, hb, t, 0);
    // Pre-activation gradients on the input side (r, z, h̃) and on the recurrent products'
    // outputs (r, z, and the h̃ row: dz_n·r after multiplication, dz_n before), per step.
    let mut dzw = vec![T::zero(); 3 * hb];
    let mut dzr = vec![T::zero(); 3 * hb];
    let mut dzw_all = vec![T::zero(); 3 * h * bt];
    let mut dzr_all = vec![T::zero(); 3 * h * bt];
    let mut dh_rec = vec![T::zero(); hb];
    let mut dh_direct = vec![T::zero(); hb];
    let mut dq = vec![T::zero(); hb];
    let mut tmp = vec![T::zero(); hb];
    for step in (0..t).rev() {
        let gs = &saved.gates[step * 3 * hb..(step + 1) * 3 * hb];
        let aux = &saved.aux[step * hb..(step + 1) * hb];
        let h_prev = if step == 0 { h0 } else { &saved.hidden[(step - 1) * hb..step * hb] };
        let gy_step = &gy[step * hb..(step + 1) * hb];
        // Phase 1: the candidate's and the update gate's pre-activation gradients.
        for e in 0..hb {
            let dh = gy_step[e] + dh_rec[e];
            let (zg, n) = (gs[hb + e], gs[2 * hb + e]);
            let dzn = dh * (T::one() - zg) * state.deriv_from_output(n);
            let dzz = dh * (h_prev[e] - n) * gate.deriv_from_output(zg);
            dh_direct[e] = dh * zg;
            dzw[hb + e] = dzz;
            dzw[2 * hb + e] = dzn;
            dzr[hb + e] = dzz;
            dzr[2 * hb + e] = if before { dzn } else { dzn * gs[e] };
        }
        if before {
            // q = r ⊙ h_prev feeds R_h̃: dq = R_h̃' · dz_n.
            matmul(&mut dq, &r[2 * h * h..], &dzr[2 * hb..], h, b, h, true, false, false);
        }
        // Phase 2: the reset gate.
        for e in 0..hb {
            let rg = gs[e];
            let dr = if before {
                dh_direct[e] = dh_direct[e] + dq[e] * rg;
                dq[e] * h_prev[e]
            } else {
                dzw[2 * hb + e] * aux[e]
            };
            let v = dr * gate.deriv_from_output(rg);
            dzw[e] = v;
            dzr[e] = v;
        }
        for row in 0..3 * h {
            let (src, dst) = (row * b..(row + 1) * b, row * bt + step * b..row * bt + (step + 1) * b);
            dzw_all[dst.clone()].copy_from_slice(&dzw[src.clone()]);
            dzr_all[dst].copy_from_slice(&dzr[src]);
        }
        let rows = if before { 2 * h } else { 3 * h };
        matmul(&mut tmp, &r[..rows * h], &dzr[..rows * b], h, b, rows, true, false, false);
        for e in 0..hb {
            dh_rec[e] = dh_direct[e] + tmp[e];
        }
    }
    let hp = previous_states(saved.hidden, h0, d);
    let mut dr = vec![T::zero(); 3 * h * h];
    if before {
        // R_h̃ multiplied q_t = r_t ⊙ h_{t-1} (saved time-major): as (H, T·B) columns.
        let mut q_all = vec![T::zero(); hb * t];
        for step in 0..t {
            for k in 0..h {
                q_all[k * bt + step * b..k * bt + (step + 1) * b].copy_from_slice(&saved.aux[step * hb + k * b..step * hb + (k + 1) * b]);
            }
        }
        matmul(&mut dr[..2 * h * h], &dzr_all[..2 * h * bt], &hp, 2 * h, h, bt, false, true, false);
        matmul(&mut dr[2 * h * h..], &dzr_all[2 * h * bt..], &q_all, h, h, bt, false, true, false);
    } else {
        matmul(&mut dr, &dzr_all, &hp, 3 * h, h, bt, false, true, false);
    }
    let (dx, dw, mut db) = input_side_grads(&dzw_all, &to_time_columns(x, d.c, b, t), w, 3 * h, d, need_x);
    if mode == ResetGateMode::RecurrentBiasAfterMultiplication {
        db.extend(row_sums(&dzr_all, bt));
    }
    GruGrads { dx, dh0: dh_rec, dw, dr, db }
}
