//! Fused GRU kernels on raw slices: forward pass and first-order backward pass, with the
//! layouts and per-step structure of the LSTM kernels (see `recurrent`).

use super::gate_activation::Activation;
use super::gemm::{matmul_to, Strided};
use super::recurrent::{
    block, hidden_to_output, hidden_with_h0, input_side_grads, output_grad_to_columns, project_step, recurrent_weight_grad, row_sums, Dims,
};
use crate::dtype::Real;

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
    /// Hidden states: (H, (T+1)·B), column block s = h_{s-1}.
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
    let (h, b, t) = (d.h, d.b, d.t);
    let (hb, width) = (h * b, (t + 1) * b);
    let rbias = if mode == ResetGateMode::RecurrentBiasAfterMultiplication { Some(&bias[3 * h..]) } else { None };
    let before = mode == ResetGateMode::BeforeMultiplication;
    let mut gates = vec![T::zero(); t * 3 * hb];
    let mut aux = vec![T::zero(); t * hb];
    let mut hidden = hidden_with_h0(h0, d);
    let row_major = |m, rows: usize| Strided::row_major(&r[m * h * h..(m + rows) * h * h], h, false);
    for s in 0..t {
        let z = &mut gates[s * 3 * hb..(s + 1) * 3 * hb];
        let a = &mut aux[s * hb..(s + 1) * hb];
        project_step(z, w, x, &bias[..3 * h], 3 * h, s, d);
        let (zrz, zn) = z.split_at_mut(2 * hb);
        // r and z: x-part + R_{r,z}·h_{t-1} (+ recurrent bias), accumulated in place.
        matmul_to(zrz, b, 1, true, row_major(0, 2), block(&hidden, width, s, b), 2 * h, b, h, false);
        if !before {
            // u = R_h̃·h_{t-1} (+ b_Rh̃), kept for the backward pass.
            matmul_to(a, b, 1, false, row_major(2, 1), block(&hidden, width, s, b), h, b, h, false);
        }
        if let Some(rb) = rbias {
            for (row, chunk) in zrz.chunks_exact_mut(b).enumerate() {
                chunk.iter_mut().for_each(|v| *v = *v + rb[row]);
            }
            for (row, chunk) in a.chunks_exact_mut(b).enumerate() {
                chunk.iter_mut().for_each(|v| *v = *v + rb[2 * h + row]);
            }
        }
        gate.apply_in_place(zrz);
        let rg = &zrz[..hb];
        if before {
            // q = r ⊙ h_{t-1} feeds R_h̃.
            for k in 0..h {
                let hp = &hidden[k * width + s * b..k * width + (s + 1) * b];
                let (q, rk) = (&mut a[k * b..(k + 1) * b], &rg[k * b..(k + 1) * b]);
                for e in 0..b {
                    q[e] = rk[e] * hp[e];
                }
            }
            matmul_to(zn, b, 1, true, row_major(2, 1), Strided::row_major(a, b, false), h, b, h, false);
        } else {
            for e in 0..hb {
                zn[e] = zn[e] + rg[e] * a[e];
            }
        }
        state.apply_in_place(zn);
        let zg = &zrz[hb..];
        for k in 0..h {
            let (hp, hn) = hidden[k * width + s * b..k * width + (s + 2) * b].split_at_mut(b);
            let (zk, nk) = (&zg[k * b..(k + 1) * b], &zn[k * b..(k + 1) * b]);
            for e in 0..b {
                hn[e] = (T::one() - zk[e]) * nk[e] + zk[e] * hp[e];
            }
        }
    }
    (hidden_to_output(&hidden, d, 0), GruSaved { gates, aux, hidden })
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
    w: &[T],
    r: &[T],
    d: Dims,
    mode: ResetGateMode,
    state: Activation,
    gate: Activation,
    need_x: bool,
) -> GruGrads<T> {
    let (h, b, t, bt) = (d.h, d.b, d.t, d.bt());
    let (hb, width) = (h * b, (t + 1) * b);
    let before = mode == ResetGateMode::BeforeMultiplication;
    let gy = output_grad_to_columns(gout, d, 0);
    // Pre-activation gradients on the input side (r, z, h̃), (3H, T·B). The recurrent
    // products' outputs get the same for r and z; for the h̃ row they get dz_h̃ itself
    // before multiplication, and dz_h̃ ⊙ r after it (kept separately, (H, T·B)).
    let mut dz_all = vec![T::zero(); 3 * h * bt];
    let mut dzn_rec_all = if before { Vec::new() } else { vec![T::zero(); h * bt] };
    let mut dh_rec = vec![T::zero(); hb];
    let mut dq = vec![T::zero(); hb];
    let mut dgates = vec![T::zero(); 3 * hb];
    let hrow = |k: usize, s: usize| k * width + s * b..k * width + (s + 1) * b;
    for s in (0..t).rev() {
        let gs = &saved.gates[s * 3 * hb..(s + 1) * 3 * hb];
        let aux = &saved.aux[s * hb..(s + 1) * hb];
        gate.deriv_into(&gs[..2 * hb], &mut dgates[..2 * hb]);
        state.deriv_into(&gs[2 * hb..], &mut dgates[2 * hb..]);
        let (dzr, rest) = dz_all.split_at_mut(h * bt);
        let (dzz, dzn) = rest.split_at_mut(h * bt);
        // Phase 1: the candidate's and the update gate's pre-activation gradients; dh_rec
        // becomes the direct path dh ⊙ z.
        for k in 0..h {
            let row = k * b..(k + 1) * b;
            let col = k * bt + s * b..k * bt + (s + 1) * b;
            let (zg, n, dgz, dgn) =
                (&gs[hb..][row.clone()], &gs[2 * hb..][row.clone()], &dgates[hb..][row.clone()], &dgates[2 * hb..][row.clone()]);
            let (hp, gy, dhr) = (&saved.hidden[hrow(k, s)], &gy[col.clone()], &mut dh_rec[row.clone()]);
            let (dzz, dzn) = (&mut dzz[col.clone()], &mut dzn[col.clone()]);
            for e in 0..b {
                let dh = gy[e] + dhr[e];
                dzn[e] = dh * (T::one() - zg[e]) * dgn[e];
                dzz[e] = dh * (hp[e] - n[e]) * dgz[e];
                dhr[e] = dh * zg[e];
            }
            if !before {
                let (rg, dznr) = (&gs[row], &mut dzn_rec_all[col.clone()]);
                for e in 0..b {
                    dznr[e] = dzn[e] * rg[e];
                }
            }
        }
        if before {
            // q = r ⊙ h_prev feeds R_h̃: dq = R_h̃' · dz_h̃.
            let rn_t = Strided::row_major(&r[2 * h * h..], h, true);
            matmul_to(&mut dq, b, 1, false, rn_t, block(dzn, bt, s, b), h, b, h, false);
        }
        // Phase 2: the reset gate.
        for k in 0..h {
            let row = k * b..(k + 1) * b;
            let col = k * bt + s * b..k * bt + (s + 1) * b;
            let (rg, dgr, a, hp) = (&gs[row.clone()], &dgates[row.clone()], &aux[row.clone()], &saved.hidden[hrow(k, s)]);
            let (dzr, dzn) = (&mut dzr[col.clone()], &dzn[col]);
            if before {
                let (dq, dhr) = (&dq[row.clone()], &mut dh_rec[row]);
                for e in 0..b {
                    dhr[e] = dhr[e] + dq[e] * rg[e];
                    dzr[e] = dq[e] * hp[e] * dgr[e];
                }
            } else {
                for e in 0..b {
                    dzr[e] = dzn[e] * a[e] * dgr[e];
                }
            }
        }
        // dh_{t-1} += R_{r,z}' · dz_{r,z} (+ R_h̃' · dz_h̃ ⊙ r after multiplication).
        let rz_t = Strided::row_major(&r[..2 * h * h], h, true);
        let dz_rz = Strided { data: &dz_all[s * b..2 * h * bt], row_stride: bt, col_stride: 1 };
        matmul_to(&mut dh_rec, b, 1, true, rz_t, dz_rz, h, b, 2 * h, false);
        if !before {
            let rn_t = Strided::row_major(&r[2 * h * h..], h, true);
            matmul_to(&mut dh_rec, b, 1, true, rn_t, block(&dzn_rec_all, bt, s, b), h, b, h, false);
        }
    }
    let mut dr = vec![T::zero(); 3 * h * h];
    recurrent_weight_grad(&mut dr[..2 * h * h], &dz_all[..2 * h * bt], saved.hidden, 2 * h, d);
    if before {
        // R_h̃ multiplied q_t = r_t ⊙ h_{t-1}, saved time-major (T, H, B): contract over
        // (t, b) with q read as (T·B × H) through strides per step block.
        for s in 0..t {
            let q_t = Strided { data: &saved.aux[s * hb..(s + 1) * hb], row_stride: 1, col_stride: b };
            let dzn_s = Strided { data: &dz_all[2 * h * bt + s * b..], row_stride: bt, col_stride: 1 };
            matmul_to(&mut dr[2 * h * h..], h, 1, s > 0, dzn_s, q_t, h, h, b, false);
        }
    } else {
        recurrent_weight_grad(&mut dr[2 * h * h..], &dzn_rec_all, saved.hidden, h, d);
    }
    let (dx, dw, mut db) = input_side_grads(&dz_all, x, w, 3 * h, d, need_x);
    if mode == ResetGateMode::RecurrentBiasAfterMultiplication {
        db.extend(row_sums(&dz_all[..2 * h * bt], bt));
        db.extend(row_sums(&dzn_rec_all, bt));
    }
    GruGrads { dx, dh0: dh_rec, dw, dr, db }
}
