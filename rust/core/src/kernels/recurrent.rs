//! Fused LSTM and GRU kernels on raw slices: the whole-sequence forward pass (one GEMM for
//! the input projection of every time step, then per step one recurrent GEMM and a single
//! pass over the gates) and its first-order backward pass (BPTT with one GEMM per step, and
//! the weight, input and bias gradients as three large GEMMs after the loop).
//!
//! Layouts are row-major and MATLAB's: `x` (C, B, T), weights (G·H, C) and recurrent weights
//! (G·H, H) with the gates stacked in rows, states (H, B). Per-step intermediates are stored
//! time-major, (T, rows, B), so each step's block is contiguous for the GEMMs.

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

/// h_{t-1} for every step as a (H, B·T) matrix in the (b, t) column order of `x`.
fn previous_states<T: Real>(y: &[T], y_t: usize, h0: &[T], d: Dims) -> Vec<T> {
    let mut hp = vec![T::zero(); d.h * d.bt()];
    for k in 0..d.h {
        for bb in 0..d.b {
            let dst = &mut hp[(k * d.b + bb) * d.t..(k * d.b + bb + 1) * d.t];
            let src = &y[(k * d.b + bb) * y_t..];
            if d.t > 0 {
                dst[0] = h0[k * d.b + bb];
                dst[1..].copy_from_slice(&src[..d.t - 1]);
            }
        }
    }
    hp
}

/// Gradients of the parameters shared by LSTM and GRU from the pre-activation gradients
/// `dz` (rows × BT): (dX (C, BT), dW (rows, C), db (rows)).
fn input_side_grads<T: Real>(dz: &[T], x: &[T], w: &[T], rows: usize, d: Dims, need_x: bool) -> (Vec<T>, Vec<T>, Vec<T>) {
    let bt = d.bt();
    let mut dw = vec![T::zero(); rows * d.c];
    matmul(&mut dw, dz, x, rows, d.c, bt, false, true, false);
    let dx = if need_x {
        let mut dx = vec![T::zero(); d.c * bt];
        matmul(&mut dx, w, dz, d.c, bt, rows, true, false, false);
        dx
    } else {
        Vec::new()
    };
    (dx, dw, row_sums(dz, bt))
}

// ----- LSTM ---------------------------------------------------------------------------------

/// What the LSTM forward pass keeps for its backward pass.
pub struct LstmSaved<T> {
    /// Activated gates i, f, g, o per step: (T, 4H, B).
    pub gates: Vec<T>,
    /// Cell state after each step: (T, H, B).
    pub cells: Vec<T>,
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
) -> (Vec<T>, LstmSaved<T>) {
    let (h, b, t, bt) = (d.h, d.b, d.t, d.bt());
    let hb = h * b;
    let xp = input_projection(w, x, bias, 4 * h, d);
    let mut out = vec![T::zero(); hb * (t + 1)];
    let mut gates = vec![T::zero(); t * 4 * hb];
    let mut cells = vec![T::zero(); t * hb];
    let mut hs = h0.to_vec();
    let mut cs = c0.to_vec();
    let mut rh = vec![T::zero(); 4 * hb];
    for step in 0..t {
        matmul(&mut rh, r, &hs, 4 * h, b, h, false, false, false);
        let g_step = &mut gates[step * 4 * hb..(step + 1) * 4 * hb];
        for k in 0..h {
            for bb in 0..b {
                let pre = |gi: usize| xp[(gi * h + k) * bt + bb * t + step] + rh[(gi * h + k) * b + bb];
                let ig = gate.apply(pre(0));
                let fg = gate.apply(pre(1));
                let gg = state.apply(pre(2));
                let og = gate.apply(pre(3));
                let e = k * b + bb;
                let c_new = fg * cs[e] + ig * gg;
                let h_new = og * state.apply(c_new);
                cs[e] = c_new;
                hs[e] = h_new;
                out[e * (t + 1) + step] = h_new;
                g_step[e] = ig;
                g_step[hb + e] = fg;
                g_step[2 * hb + e] = gg;
                g_step[3 * hb + e] = og;
                cells[step * hb + e] = c_new;
            }
        }
    }
    for e in 0..hb {
        out[e * (t + 1) + t] = cs[e];
    }
    (out, LstmSaved { gates, cells })
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
    out: &[T],
    saved_gates: &[T],
    saved_cells: &[T],
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
    let mut dz_all = vec![T::zero(); 4 * h * bt];
    let mut dz = vec![T::zero(); 4 * hb];
    let mut dh_rec = vec![T::zero(); hb];
    let mut dc: Vec<T> = (0..hb).map(|e| gout[e * (t + 1) + t]).collect();
    for step in (0..t).rev() {
        let gs = &saved_gates[step * 4 * hb..(step + 1) * 4 * hb];
        let c_now = &saved_cells[step * hb..(step + 1) * hb];
        let c_prev = if step > 0 { &saved_cells[(step - 1) * hb..step * hb] } else { c0 };
        for k in 0..h {
            for bb in 0..b {
                let e = k * b + bb;
                let dh = gout[e * (t + 1) + step] + dh_rec[e];
                let (ig, fg, gg, og) = (gs[e], gs[hb + e], gs[2 * hb + e], gs[3 * hb + e]);
                let s = state.apply(c_now[e]);
                let dcc = dc[e] + dh * og * state.deriv_from_output(s);
                let grads = [
                    dcc * gg * gate.deriv_from_output(ig),
                    dcc * c_prev[e] * gate.deriv_from_output(fg),
                    dcc * ig * state.deriv_from_output(gg),
                    dh * s * gate.deriv_from_output(og),
                ];
                dc[e] = dcc * fg;
                for (gi, v) in grads.into_iter().enumerate() {
                    dz[gi * hb + e] = v;
                    dz_all[(gi * h + k) * bt + bb * t + step] = v;
                }
            }
        }
        // dh_{t-1} from the recurrence: R' · dz (R read transposed, no copy).
        matmul(&mut dh_rec, r, &dz, h, b, 4 * h, true, false, false);
    }
    let hp = previous_states(out, t + 1, h0, d);
    let mut dr = vec![T::zero(); 4 * h * h];
    matmul(&mut dr, &dz_all, &hp, 4 * h, h, bt, false, true, false);
    let (dx, dw, db) = input_side_grads(&dz_all, x, w, 4 * h, d, need_x);
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

pub struct GruSaved<T> {
    /// Activated gates r, z and candidate h̃ per step: (T, 3H, B).
    pub gates: Vec<T>,
    /// Per step: after-multiplication modes keep `R_h̃·h_{t-1} (+ b_Rh̃)`; before-multiplication
    /// keeps `r ⊙ h_{t-1}`: (T, H, B).
    pub aux: Vec<T>,
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
) -> (Vec<T>, GruSaved<T>) {
    let (h, b, t, bt) = (d.h, d.b, d.t, d.bt());
    let hb = h * b;
    let xp = input_projection(w, x, &bias[..3 * h], 3 * h, d);
    let zero_bias = vec![T::zero(); 3 * h];
    let rbias = if mode == ResetGateMode::RecurrentBiasAfterMultiplication { &bias[3 * h..] } else { &zero_bias[..] };
    let mut out = vec![T::zero(); hb * t];
    let mut gates = vec![T::zero(); t * 3 * hb];
    let mut aux = vec![T::zero(); t * hb];
    let mut hs = h0.to_vec();
    let mut rh = vec![T::zero(); 3 * hb];
    let mut q = vec![T::zero(); hb];
    let before = mode == ResetGateMode::BeforeMultiplication;
    for step in 0..t {
        let rows = if before { 2 * h } else { 3 * h };
        matmul(&mut rh[..rows * b], &r[..rows * h], &hs, rows, b, h, false, false, false);
        let g_step = &mut gates[step * 3 * hb..(step + 1) * 3 * hb];
        let pre_x = |gi: usize, k: usize, bb: usize| xp[(gi * h + k) * bt + bb * t + step];
        for k in 0..h {
            for bb in 0..b {
                let e = k * b + bb;
                g_step[e] = gate.apply(pre_x(0, k, bb) + rh[e] + rbias[k]);
                g_step[hb + e] = gate.apply(pre_x(1, k, bb) + rh[hb + e] + rbias[h + k]);
            }
        }
        if before {
            for e in 0..hb {
                q[e] = g_step[e] * hs[e];
            }
            matmul(&mut rh[2 * hb..], &r[2 * h * h..], &q, h, b, h, false, false, false);
        }
        let a_step = &mut aux[step * hb..(step + 1) * hb];
        for k in 0..h {
            for bb in 0..b {
                let e = k * b + bb;
                let (rg, zg) = (g_step[e], g_step[hb + e]);
                let n = if before {
                    a_step[e] = q[e];
                    state.apply(pre_x(2, k, bb) + rh[2 * hb + e])
                } else {
                    let u = rh[2 * hb + e] + rbias[2 * h + k];
                    a_step[e] = u;
                    state.apply(pre_x(2, k, bb) + rg * u)
                };
                g_step[2 * hb + e] = n;
                let h_new = (T::one() - zg) * n + zg * hs[e];
                hs[e] = h_new;
                out[e * t + step] = h_new;
            }
        }
    }
    (out, GruSaved { gates, aux })
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
    out: &[T],
    saved_gates: &[T],
    saved_aux: &[T],
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
    // Pre-activation gradients on the input side (r, z, h̃) and on the recurrent products'
    // outputs (r, z, and the h̃ row: dz_n·r after multiplication, dz_n before).
    let mut dzw_all = vec![T::zero(); 3 * hb * t];
    let mut dzr_all = vec![T::zero(); 3 * hb * t];
    let mut dzr = vec![T::zero(); 3 * hb];
    let mut dh_rec = vec![T::zero(); hb];
    let mut dh_direct = vec![T::zero(); hb];
    let mut dq = vec![T::zero(); hb];
    let mut tmp = vec![T::zero(); hb];
    let put = |all: &mut [T], gi: usize, k: usize, bb: usize, step: usize, v: T| all[(gi * h + k) * bt + bb * t + step] = v;
    for step in (0..t).rev() {
        let gs = &saved_gates[step * 3 * hb..(step + 1) * 3 * hb];
        let aux = &saved_aux[step * hb..(step + 1) * hb];
        let h_prev = |e: usize| if step > 0 { out[e * t + step - 1] } else { h0[e] };
        // Phase 1: the candidate's pre-activation gradient and the update gate's.
        for k in 0..h {
            for bb in 0..b {
                let e = k * b + bb;
                let dh = gout[e * t + step] + dh_rec[e];
                let (zg, n) = (gs[hb + e], gs[2 * hb + e]);
                let dzn = dh * (T::one() - zg) * state.deriv_from_output(n);
                let dzz = dh * (h_prev(e) - n) * gate.deriv_from_output(zg);
                dh_direct[e] = dh * zg;
                dzr[hb + e] = dzz;
                dzr[2 * hb + e] = if before { dzn } else { dzn * gs[e] };
                put(&mut dzw_all, 1, k, bb, step, dzz);
                put(&mut dzw_all, 2, k, bb, step, dzn);
                put(&mut dzr_all, 1, k, bb, step, dzz);
                put(&mut dzr_all, 2, k, bb, step, dzr[2 * hb + e]);
            }
        }
        if before {
            // q = r ⊙ h_prev feeds R_h̃: dq = R_h̃' · dz_n.
            matmul(&mut dq, &r[2 * h * h..], &dzr[2 * hb..], h, b, h, true, false, false);
        }
        // Phase 2: the reset gate.
        for k in 0..h {
            for bb in 0..b {
                let e = k * b + bb;
                let rg = gs[e];
                let dr = if before {
                    dh_direct[e] = dh_direct[e] + dq[e] * rg;
                    dq[e] * h_prev(e)
                } else {
                    let dzn = dzw_all[(2 * h + k) * bt + bb * t + step];
                    dzn * aux[e]
                };
                let dzrv = dr * gate.deriv_from_output(rg);
                dzr[e] = dzrv;
                put(&mut dzw_all, 0, k, bb, step, dzrv);
                put(&mut dzr_all, 0, k, bb, step, dzrv);
            }
        }
        let rows = if before { 2 * h } else { 3 * h };
        matmul(&mut tmp, &r[..rows * h], &dzr[..rows * b], h, b, rows, true, false, false);
        for e in 0..hb {
            dh_rec[e] = dh_direct[e] + tmp[e];
        }
    }
    let hp = previous_states(out, t, h0, d);
    let mut dr = vec![T::zero(); 3 * h * h];
    if before {
        let q_all = {
            // aux is (T, H, B); the weight gradient wants (H, B·T).
            let mut m = vec![T::zero(); hb * t];
            for step in 0..t {
                for e in 0..hb {
                    m[e * t + step] = saved_aux[step * hb + e];
                }
            }
            m
        };
        matmul(&mut dr[..2 * h * h], &dzr_all[..2 * h * bt], &hp, 2 * h, h, bt, false, true, false);
        matmul(&mut dr[2 * h * h..], &dzr_all[2 * h * bt..], &q_all, h, h, bt, false, true, false);
    } else {
        matmul(&mut dr, &dzr_all, &hp, 3 * h, h, bt, false, true, false);
    }
    let (dx, dw, mut db) = input_side_grads(&dzw_all, x, w, 3 * h, d, need_x);
    if mode == ResetGateMode::RecurrentBiasAfterMultiplication {
        db.extend(row_sums(&dzr_all, bt));
    }
    GruGrads { dx, dh0: dh_rec, dw, dr, db }
}
