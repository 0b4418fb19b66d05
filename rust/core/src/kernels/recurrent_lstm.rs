//! The fused LSTM kernels: forward pass and first-order backward pass (layouts and the
//! per-step structure in `recurrent`).

use super::elementwise::written_by;
use super::gemm::Strided;
use super::lockstep::{lockstep, SharedMut, Tickets};
use super::packed_gemm::{PackedLhs, PANEL_ROWS};
use super::parallel::in_forked_child;
use super::recurrent::{Activation, Dims};
use super::vmath::multiversion;
use crate::dtype::Real;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The LSTM's per-step product runs on stacked operands: the weights `[W b R]` (4H × K,
/// K = C + 1 + H) times the step input `[x_t; 1; h_{t-1}]` (K × B). One product per step
/// then gives the whole pre-activation (input projection, bias and recurrence together),
/// and in the backward pass one product per step `dz_s · [x_s; 1; h_{s-1}]'` adds to dW, db
/// and dR at once.
fn stacked_k(d: Dims) -> usize {
    d.c + 1 + d.h
}

/// `[W b R]`, (4H, K) row-major.
fn stacked_weights<T: Real>(w: &[T], bias: &[T], r: &[T], d: Dims) -> Vec<T> {
    let kk = stacked_k(d);
    written_by(4 * d.h * kk, |out| {
        for (i, row) in out.chunks_exact_mut(kk).enumerate() {
            let src = w[i * d.c..(i + 1) * d.c].iter().chain(&bias[i..=i]).chain(&r[i * d.h..(i + 1) * d.h]);
            for (o, &v) in row.iter_mut().zip(src) {
                o.write(v);
            }
        }
    })
}

/// The stacked step inputs, time-major (T+1, K, B): block s is `[x_s; 1; h_{s-1}]`, one
/// contiguous (K × B) matrix (block T holds only the last hidden state). The hidden rows of
/// blocks 1..=T are filled in by the forward pass.
fn stacked_inputs<T: Real>(x: &[T], h0: &[T], d: Dims) -> Vec<T> {
    let (b, t, kb) = (d.b, d.t, stacked_k(d) * d.b);
    let mut xh = vec![T::zero(); (t + 1) * kb];
    for c in 0..d.c {
        for bb in 0..b {
            for (s, &v) in x[(c * b + bb) * t..][..t].iter().enumerate() {
                xh[s * kb + c * b + bb] = v;
            }
        }
    }
    for block in xh.chunks_exact_mut(kb) {
        block[d.c * b..(d.c + 1) * b].iter_mut().for_each(|v| *v = T::one());
    }
    xh[(d.c + 1) * b..kb].copy_from_slice(h0);
    xh
}

/// How many threads walk the sequence: two when the per-step product is large enough to pay
/// for a barrier per step.
fn step_threads(d: Dims, kk: usize) -> usize {
    let work = 4 * d.h * kk * d.b;
    if d.h > PANEL_ROWS && work >= 1 << 20 && rayon::current_num_threads() >= 2 && !in_forked_child() {
        2
    } else {
        1
    }
}

/// The chunks of rows a step's work is handed out in, starting on panel boundaries of the
/// packed weights: small enough that two threads share a step evenly, large enough that each
/// product keeps the kernel busy.
fn row_chunks(rows: usize) -> Vec<std::ops::Range<usize>> {
    const CHUNK: usize = 2 * PANEL_ROWS;
    (0..rows).step_by(CHUNK).map(|r| r..(r + CHUNK).min(rows)).collect()
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
    /// The stacked step inputs `[x; 1; h_prev]`, time-major: (T+1, C + 1 + H, B).
    pub inputs: S,
}

/// Returns the packed output — the hidden states of every step Y (H, B, T), then the final
/// cell state (H, B), flat — and the saved intermediates.
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
    // Every element of the output is written from some step (the ops layer rejects T = 0).
    assert!(d.t > 0, "lstm_forward: empty sequence");
    let (h, b, t, kk) = (d.h, d.b, d.t, stacked_k(d));
    let (hb, kb) = (h * b, kk * b);
    let stacked = stacked_weights(w, bias, r, d);
    let weights: [PackedLhs<T>; 4] =
        std::array::from_fn(|gi| PackedLhs::new(Strided::row_major(&stacked[gi * h * kk..], kk, false), h, kk));
    let mut inputs = stacked_inputs(x, h0, d);
    // Written in full by the parts (each its units' rows of every step), so not zeroed first.
    let (mut gates, mut cells, mut cells_activated) =
        (Vec::with_capacity(t * 4 * hb), Vec::with_capacity(t * hb), Vec::with_capacity(t * hb));
    let mut out = Vec::with_capacity(hb * (t + 1));
    {
        let xh = SharedMut::new(&mut inputs);
        let y = SharedMut::uninit(&mut out.spare_capacity_mut()[..hb * (t + 1)]);
        let z = SharedMut::uninit(&mut gates.spare_capacity_mut()[..t * 4 * hb]);
        let c = SharedMut::uninit(&mut cells.spare_capacity_mut()[..t * hb]);
        let tc = SharedMut::uninit(&mut cells_activated.spare_capacity_mut()[..t * hb]);
        let chunks = row_chunks(h);
        // Phase s is step s; phase T writes the output.
        let threads = step_threads(d, kk);
        let tickets = Tickets::new(t + 1, threads);
        lockstep(threads, |step| {
            for s in 0..t {
                // During step s a part reads all of input block s and writes only the rows of the units it
                // took (gates and cells of step s, hidden rows of input block s + 1); the barrier ends the step.
                // SAFETY: input block s is only read during step s: its hidden rows were written in step s − 1
                // (the initial state, by stacked_inputs, for s = 0), ordered by the barrier that ended that step,
                // and this step's writes go to block s + 1.
                let xh_s = unsafe { xh.get(s * kb, kb) };
                for units in tickets.take(step, s, chunks.len()).map(|i| chunks[i].clone()) {
                    let (k0, n) = (units.start, units.len() * b);
                    // SAFETY: rows k0.. of each gate of step s (four disjoint ranges, H·B apart) belong to this chunk
                    // of units, which Tickets gives to this part alone in phase s; no other part reads or writes them.
                    let [zi, zf, zg, zo] = std::array::from_fn(|gi| unsafe { z.get_mut(s * 4 * hb + (gi * h + k0) * b, n) });
                    for (weights, zr) in weights.iter().zip([&mut *zi, &mut *zf, &mut *zg, &mut *zo]) {
                        weights.matmul_rows(units.clone(), zr, b, false, xh_s, b, b);
                    }
                    gate.apply_in_place(zi);
                    gate.apply_in_place(zf);
                    state.apply_in_place(zg);
                    gate.apply_in_place(zo);
                    // SAFETY: these units' cells of step s − 1 were written before the barrier that ended step s − 1,
                    // and no part writes step s − 1's cells during step s.
                    let c_prev = if s == 0 { &c0[k0 * b..][..n] } else { unsafe { c.get((s - 1) * hb + k0 * b, n) } };
                    // SAFETY: these units' cells of step s are written only by the part that took this chunk, and read
                    // (as c_prev, or for c_T) only after the barrier that ends step s.
                    let c_new = unsafe { c.get_mut(s * hb + k0 * b, n) };
                    lstm_cell_update(zi, zf, zg, c_prev, c_new);
                    // SAFETY: these units' activated cells of step s: this chunk's rows, no other part's.
                    let tc_s = unsafe { tc.get_mut(s * hb + k0 * b, n) };
                    state.apply_into(c_new, tc_s);
                    // SAFETY: these units' hidden rows of input block s + 1 are written only by this chunk's part; every
                    // part reads block s + 1 only in step s + 1, after the barrier below.
                    lstm_hidden_update(zo, tc_s, unsafe { xh.get_mut((s + 1) * kb + (d.c + 1 + k0) * b, n) });
                }
                step.wait();
            }
            // The output of the units taken: Y (H, B, T) from the hidden rows of input blocks
            // 1..=T, then c_T (T ≥ 1, asserted above). Only those units' rows are read and written.
            for units in tickets.take(step, t, chunks.len()).map(|i| chunks[i].clone()) {
                let (k0, n) = (units.start, units.len() * b);
                // SAFETY: Y's rows of these units (n·T elements from k0·B·T) are written only by the part that took
                // this chunk in phase T, every element below before any is read; nothing else touches Y.
                let y_rows = unsafe { y.get_mut(k0 * b * t, n * t) };
                for s in 0..t {
                    // SAFETY: these units' hidden rows of block s + 1 were last written in step s, before the barrier
                    // that ended step T − 1; no part writes xh in phase T.
                    for (e, &v) in unsafe { xh.get((s + 1) * kb + (d.c + 1 + k0) * b, n) }.iter().enumerate() {
                        y_rows[e * t + s] = v;
                    }
                }
                // SAFETY: c_T's rows of these units (after Y's H·B·T elements) are this part's alone in phase T; the
                // cells of step T − 1 were written before the last step's barrier and are only read now.
                unsafe { y.get_mut(hb * t + k0 * b, n) }.copy_from_slice(unsafe { c.get((t - 1) * hb + k0 * b, n) });
            }
        });
    }
    // SAFETY: the parts have written every element.
    unsafe {
        gates.set_len(t * 4 * hb);
        cells.set_len(t * hb);
        cells_activated.set_len(t * hb);
        out.set_len(hb * (t + 1));
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

/// `dst (cols × rows) = src (rows × cols)'`, eight source rows at a time so that the writes
/// come in contiguous runs.
fn transpose_into<T: Copy>(src: &[T], rows: usize, cols: usize, dst: &mut [T]) {
    const RUN: usize = 8;
    for r0 in (0..rows).step_by(RUN) {
        let run = RUN.min(rows - r0);
        let block = &src[r0 * cols..(r0 + run) * cols];
        for c in 0..cols {
            let out = &mut dst[c * rows + r0..c * rows + r0 + run];
            for (i, o) in out.iter_mut().enumerate() {
                *o = block[i * cols + c];
            }
        }
    }
}

/// BPTT through the whole sequence, the threads walking the steps backwards together. Per
/// step, each chunk of units taken: its cells give its rows of the pre-activation gradient
/// dz_s, and its share of `[dW db dR] += dz_s · [x_s; 1; h_{s-1}]'` is added while dz_s is in
/// cache; then, after a barrier (all of dz_s written), chunks of rows of
/// `dh_{s-1} = R' · dz_s` and `dx_s = W' · dz_s`, each published to the next step's cells.
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
    let (h, b, t, kk) = (d.h, d.b, d.t, stacked_k(d));
    let (hb, kb, cb) = (h * b, kk * b, d.c * b);
    // The step's pre-activation gradients (4H, B), in two alternating blocks so that step
    // s − 1's can be written while step s's may still be read.
    let mut dz_steps = vec![T::zero(); 2 * 4 * hb];
    let mut dstacked = vec![T::zero(); 4 * h * kk];
    let mut dh_rec = vec![T::zero(); hb];
    // gout is the packed output's gradient: Y's (H, B, T), then c_T's (H, B).
    let mut dc = gout[hb * t..hb * (t + 1)].to_vec();
    // dx per step, time-major (T, C, B); every row of every step is written by some part.
    let mut dx_steps: Vec<T> = Vec::with_capacity(if need_x { t * cb } else { 0 });
    let r_t = PackedLhs::new(Strided { data: r, row_stride: 1, col_stride: h }, h, 4 * h);
    let w_t = PackedLhs::new(Strided { data: w, row_stride: 1, col_stride: d.c }, d.c, 4 * h);
    // Y's gradient, time-major (T, H, B).
    let mut gy = vec![T::zero(); t * hb];
    {
        let (units, x_chunks) = (row_chunks(h), if need_x { row_chunks(d.c) } else { Vec::new() });
        let (gy_t, dz_step, dst) = (SharedMut::new(&mut gy), SharedMut::new(&mut dz_steps), SharedMut::new(&mut dstacked));
        let (dh, dcs) = (SharedMut::new(&mut dh_rec), SharedMut::new(&mut dc));
        let dx = SharedMut::uninit(&mut dx_steps.spare_capacity_mut()[..if need_x { t * cb } else { 0 }]);
        // Phase 0 reorders Y's gradient; step s (from the last) is phases 1 + 2j (cells and
        // weight gradients) and 2 + 2j (the products with dz_s), j = T − 1 − s.
        let threads = step_threads(d, kk);
        let tickets = Tickets::new(1 + 2 * t, threads);
        // Per chunk of units: how many steps' dh rows are done. A chunk's cells wait for its
        // own rows only, not for a barrier after every product.
        let dh_done: Vec<AtomicUsize> = (0..units.len()).map(|_| AtomicUsize::new(0)).collect();
        lockstep(threads, |step| {
            // The discipline of every SharedMut access below: within a phase a part writes only the rows
            // of the chunks it took (of gy, of dz_steps' current block, of dh, dc, dstacked and
            // dx's block s); all of dz_s is read only after the barrier that ends the cells
            // phase, and its block is written again only after the next step's barrier, which
            // every part reaches after finishing its products. A chunk's dh rows are read by
            // the next cells phase only once their product has published them (dh_done).
            for units in tickets.take(step, 0, units.len()).map(|i| units[i].clone()) {
                let (k0, n) = (units.start, units.len() * b);
                let src = &gout[k0 * b * t..(k0 * b + n) * t];
                for s in 0..t {
                    // SAFETY: phase 0: Y's gradient rows of these units at step s, written only by the part that took
                    // this chunk; gy is read only in later phases, after the barrier below.
                    for (e, v) in unsafe { gy_t.get_mut(s * hb + k0 * b, n) }.iter_mut().enumerate() {
                        *v = src[e * t + s];
                    }
                }
            }
            step.wait();
            // The step input [x_s; 1; h_{s-1}] transposed, (B, K): the right operand of the
            // weight-gradient product.
            let mut input_t = vec![T::zero(); kb];
            for (j, s) in (0..t).rev().enumerate() {
                let block = (s % 2) * 4 * hb;
                transpose_into(&saved.inputs[s * kb..][..kb], kk, b, &mut input_t);
                for (u, units) in tickets.take(step, 1 + 2 * j, units.len()).map(|i| (i, units[i].clone())) {
                    let (k0, n, nu) = (units.start, units.len() * b, units.len());
                    // dh rows of these units from the previous step's product.
                    step.wait_until(&dh_done[u], j);
                    let gs: [&[T]; 4] = std::array::from_fn(|gi| &saved.gates[s * 4 * hb + (gi * h + k0) * b..][..n]);
                    let tc = &saved.cells_activated[s * hb + k0 * b..][..n];
                    let c_prev = if s > 0 { &saved.cells[(s - 1) * hb + k0 * b..][..n] } else { &c0[k0 * b..][..n] };
                    let [dzi, dzf, dzg, dzo]: [&mut [T]; 4] =
                        // SAFETY: this chunk's rows of each gate in dz block s % 2, written only by its taker in this
                        // phase. That block was last read (as dz_{s+2}) in the products two steps back, which every
                        // part finished before the previous step's barrier; products still running from the previous
                        // step read the other block.
                        std::array::from_fn(|gi| unsafe { dz_step.get_mut(block + (gi * h + k0) * b, n) });
                    let cells = LstmCellsBack { gates: gs, tc, c_prev, gate, state };
                    // SAFETY: gy was written in phase 0 and is only read since. This chunk's dh rows were published by
                    // the previous step's product (the Acquire wait above) and no product writes them before the next
                    // barrier; its dc rows are touched only by this chunk's taker in a cells phase, each phase ended by
                    // a barrier.
                    let (gy_s, dh_rec, dc) = unsafe { (gy_t.get(s * hb + k0 * b, n), dh.get_mut(k0 * b, n), dcs.get_mut(k0 * b, n)) };
                    lstm_backward_cells(&cells, gy_s, dh_rec, dc, [&mut *dzi, &mut *dzf, &mut *dzg, &mut *dzo], b);
                    // These units' rows of [dW db dR] += dz_s · [x_s; 1; h_{s-1}]'.
                    for (gi, dz_g) in [&*dzi, &*dzf, &*dzg, &*dzo].into_iter().enumerate() {
                        // SAFETY: these units' rows of gate gi in [dW db dR] (nu rows of K from row gi·H + k0) are written
                        // only by this chunk's taker in a cells phase, the phases apart by barriers; read after the lockstep.
                        let dst_g = unsafe { dst.get_mut((gi * h + k0) * kk, nu * kk) };
                        PackedLhs::direct(Strided::row_major(dz_g, b, false), nu, b).matmul_rows(0..nu, dst_g, kk, true, &input_t, kk, kk);
                    }
                }
                step.wait();
                // SAFETY: all of dz_s was written in the cells phase that the barrier above ended; its block is
                // written again only two steps on, and no part gets there before every part has passed the next
                // step's barrier, i.e. finished these products.
                let dz_s = unsafe { dz_step.get(block, 4 * hb) };
                // dh_{s-1} = R' · dz_s and dx_s = W' · dz_s, by chunks of rows.
                for i in tickets.take(step, 2 + 2 * j, units.len() + x_chunks.len()) {
                    if i < units.len() {
                        let rows = units[i].clone();
                        // SAFETY: the dh rows of chunk i: ticket i goes to this part alone; this step's cells of the chunk
                        // finished before the barrier above, and the next step's read them only after the Release below.
                        r_t.matmul_rows(rows.clone(), unsafe { dh.get_mut(rows.start * b, rows.len() * b) }, b, false, dz_s, b, b);
                        dh_done[i].store(j + 1, Ordering::Release);
                    } else {
                        let rows = x_chunks[i - units.len()].clone();
                        // SAFETY: step s's dx rows of this x chunk: written by this ticket's part alone, and read only
                        // after the lockstep returns.
                        w_t.matmul_rows(rows.clone(), unsafe { dx.get_mut(s * cb + rows.start * b, rows.len() * b) }, b, false, dz_s, b, b);
                    }
                }
            }
        });
    }
    let (mut dw, mut db, mut dr) = (Vec::with_capacity(4 * h * d.c), Vec::with_capacity(4 * h), Vec::with_capacity(4 * h * h));
    for row in dstacked.chunks_exact(kk) {
        dw.extend_from_slice(&row[..d.c]);
        db.push(row[d.c]);
        dr.extend_from_slice(&row[d.c + 1..]);
    }
    let dx = if need_x {
        // SAFETY: the parts wrote every row of every step.
        unsafe { dx_steps.set_len(t * cb) };
        written_by(t * cb, |out| {
            for (s, blk) in dx_steps.chunks_exact(cb).enumerate() {
                for (e, &v) in blk.iter().enumerate() {
                    out[e * t + s].write(v);
                }
            }
        })
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
    /// h_t = o ⊙ σ_c(c_t).
    fn lstm_hidden_update<T: Real>(og: &[T], tc: &[T], h_new: &mut [T]) {
        let n = h_new.len();
        let (og, tc) = (&og[..n], &tc[..n]);
        for e in 0..n {
            h_new[e] = og[e] * tc[e];
        }
    }
}

/// What one backward step through a range of units reads from the forward pass.
struct LstmCellsBack<'a, T> {
    /// Activated gates i, f, g, o (each units × B).
    gates: [&'a [T]; 4],
    /// σ_c(c_t) and c_{t-1}.
    tc: &'a [T],
    c_prev: &'a [T],
    gate: Activation,
    state: Activation,
}

multiversion! {
    /// One backward step through the cells of a range of units (rows of B): from the output
    /// gradient `gy`, the recurrent gradient `dh_rec` and the cell gradient `dc` (updated to
    /// the previous step's), the four gates' pre-activation gradients `dz`.
    fn lstm_backward_cells<T: Real>(cells: &LstmCellsBack<'_, T>, gy: &[T], dh_rec: &mut [T], dc: &mut [T], dz: [&mut [T]; 4], b: usize) {
        // The default activations get their derivatives inlined into the loop.
        match (cells.gate, cells.state) {
            (Activation::Sigmoid, Activation::Tanh) => {
                let one = T::one();
                cell_rows(cells, gy, dh_rec, dc, dz, b, |y| y * (one - y), |y| one - y * y)
            }
            (gate, state) => cell_rows(cells, gy, dh_rec, dc, dz, b, |y| gate.deriv_from_output(y), |y| state.deriv_from_output(y)),
        }
    }
}

/// `lstm_backward_cells` with the gate and state activations' derivatives (from their
/// outputs) `gd` and `sd`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn cell_rows<T: Real>(
    cells: &LstmCellsBack<'_, T>,
    gy: &[T],
    dh_rec: &mut [T],
    dc: &mut [T],
    dz: [&mut [T]; 4],
    b: usize,
    gd: impl Fn(T) -> T,
    sd: impl Fn(T) -> T,
) {
    let [ig, fg, gg, og] = cells.gates;
    let [dzi, dzf, dzg, dzo] = dz;
    for k in 0..dh_rec.len() / b {
        let row = k * b..(k + 1) * b;
        let r = row.clone();
        cell_row(
            &gy[row.clone()],
            &ig[r.clone()],
            &fg[r.clone()],
            &gg[r.clone()],
            &og[r.clone()],
            &cells.tc[r.clone()],
            &cells.c_prev[r.clone()],
            &mut dh_rec[r.clone()],
            &mut dc[r.clone()],
            &mut dzi[r.clone()],
            &mut dzf[r.clone()],
            &mut dzg[r.clone()],
            &mut dzo[row],
            &gd,
            &sd,
        );
    }
}

/// One unit's row (B values) of `lstm_backward_cells`. Every slice is its own parameter so
/// that the compiler knows they do not overlap and vectorises the loop without checks.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn cell_row<T: Real>(
    gy: &[T],
    ig: &[T],
    fg: &[T],
    gg: &[T],
    og: &[T],
    tc: &[T],
    c_prev: &[T],
    dh_rec: &mut [T],
    dc: &mut [T],
    dzi: &mut [T],
    dzf: &mut [T],
    dzg: &mut [T],
    dzo: &mut [T],
    gd: &impl Fn(T) -> T,
    sd: &impl Fn(T) -> T,
) {
    let n = dh_rec.len();
    let (gy, ig, fg, gg, og, tc, c_prev, dc) = (&gy[..n], &ig[..n], &fg[..n], &gg[..n], &og[..n], &tc[..n], &c_prev[..n], &mut dc[..n]);
    let (dzi, dzf, dzg, dzo) = (&mut dzi[..n], &mut dzf[..n], &mut dzg[..n], &mut dzo[..n]);
    for e in 0..n {
        let dh = gy[e] + dh_rec[e];
        let dcc = dc[e] + dh * og[e] * sd(tc[e]);
        dzi[e] = dcc * gg[e] * gd(ig[e]);
        dzf[e] = dcc * c_prev[e] * gd(fg[e]);
        dzg[e] = dcc * ig[e] * sd(gg[e]);
        dzo[e] = dh * tc[e] * gd(og[e]);
        dc[e] = dcc * fg[e];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At a size that runs on two threads (when two cores exist), chunks go to whichever
    /// thread takes them first; each chunk's arithmetic is the same wherever it runs, so
    /// every run must give bit-identical results. A missing ordering between a chunk's writer
    /// and its reader in another thread would show up as a difference.
    #[test]
    fn two_thread_runs_are_bit_identical() {
        let d = Dims { c: 7, h: 96, b: 27, t: 6 };
        assert!(rayon::current_num_threads() < 2 || step_threads(d, stacked_k(d)) == 2, "the size is meant to run on two threads");
        let val = |n: usize, seed: usize, scale: f32| -> Vec<f32> {
            (0..n).map(|i| (((i + seed) * 7919 % 1009) as f32 / 504.5 - 1.0) * scale).collect()
        };
        let (x, h0, c0) = (val(d.c * d.b * d.t, 1, 1.0), val(d.h * d.b, 2, 0.5), val(d.h * d.b, 3, 0.5));
        let (w, r, bias) = (val(4 * d.h * d.c, 4, 0.3), val(4 * d.h * d.h, 5, 0.2), val(4 * d.h, 6, 0.1));
        let gout = val(d.h * d.b * (d.t + 1), 7, 1.0);
        let run = || {
            let (out, saved) = lstm_forward(&x, &h0, &c0, &w, &r, &bias, d, Activation::Tanh, Activation::Sigmoid);
            let saved_ref = LstmSaved {
                gates: &saved.gates[..],
                cells: &saved.cells[..],
                cells_activated: &saved.cells_activated[..],
                inputs: &saved.inputs[..],
            };
            let g = lstm_backward(&gout, &saved_ref, &c0, &w, &r, d, Activation::Tanh, Activation::Sigmoid, true);
            [out, g.dx, g.dh0, g.dc0, g.dw, g.dr, g.db].map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>())
        };
        let first = run();
        for _ in 0..150 {
            assert!(run() == first, "a run differs from the first");
        }
    }
}
