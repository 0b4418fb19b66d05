//! MATLAB's functional optimizers (`adamupdate`, `rmspropupdate`, `sgdmupdate`) over a whole
//! parameter set in one call.
//!
//! Each step reads every parameter, its gradient and its state once and writes the new
//! parameter and state once: one fused pass per element, cut into cache-sized chunks that
//! rayon spreads over threads (chunks of large tensors and whole small tensors alike). Steps
//! are never recorded on the tape: they work on the data of their inputs, and their results
//! are plain untraced tensors.
//!
//! Value semantics: inputs are never modified. An output buffer comes from, in order:
//! 1. an input tensor the caller handed over and nobody else holds (its `Arc`s are unique),
//!    updated in place — the natural case for Rust callers that move their state in;
//! 2. the buffer pool ([`pool`]): buffers of earlier steps whose last user has dropped them;
//! 3. a new allocation.
//!
//! Parameters on the GPU step there instead: one backend kernel per parameter reads the device
//! buffers of the parameter, gradient and state and writes new ones, with no readback.
//!
//! Every host output buffer is parked in the pool, so the generation a caller drops after the next
//! step is recycled by the step after that: a training loop reaches a steady state with no
//! allocation at all.

pub mod pool;
pub mod rules;

use std::sync::Arc;

use rayon::prelude::*;

use crate::buffer::{Buffer, IntoBuffer};
use crate::dtype::{DType, Real};
use crate::error::{Error, Result};
use crate::kernels::parallel::{use_rayon, PAR_CHUNK};
use crate::storage::{Device, Storage};
use crate::tensor::Tensor;

pub use rules::{Adam, RmsProp, Rule, RuleKind, Sgdm};

/// The result of a step: the new parameters, and the new state arrays (`states[k][i]` is
/// state `k` of parameter `i`).
#[derive(Debug)]
pub struct Stepped {
    pub params: Vec<Tensor>,
    pub states: Vec<Vec<Tensor>>,
}

/// One Adam step (`adamupdate`); `m`, `v` hold `None` where the state is MATLAB's `[]` (zeros).
/// `lrs` is the learning rate of each parameter (global rate × learn-rate factor).
pub fn adam_step(
    op: &str,
    params: Vec<Tensor>,
    grads: &[Tensor],
    m: Vec<Option<Tensor>>,
    v: Vec<Option<Tensor>>,
    lrs: &[f64],
    rule: &Adam,
) -> Result<Stepped> {
    check_decay(op, "gradDecay", rule.grad_decay)?;
    check_decay(op, "sqGradDecay", rule.sq_grad_decay)?;
    check_epsilon(op, rule.epsilon)?;
    if !(rule.iteration.is_finite() && rule.iteration >= 1.0 && rule.iteration.fract() == 0.0) {
        return Err(Error::value(op, format!("iteration must be a positive integer (counting from 1), got {}", rule.iteration)));
    }
    step(op, rule, params, grads, vec![m, v], lrs)
}

/// One RMSProp step (`rmspropupdate`).
pub fn rmsprop_step(
    op: &str,
    params: Vec<Tensor>,
    grads: &[Tensor],
    avg_sq: Vec<Option<Tensor>>,
    lrs: &[f64],
    rule: &RmsProp,
) -> Result<Stepped> {
    check_decay(op, "sqGradDecay", rule.sq_grad_decay)?;
    check_epsilon(op, rule.epsilon)?;
    step(op, rule, params, grads, vec![avg_sq], lrs)
}

/// One SGD-with-momentum step (`sgdmupdate`, velocity form).
pub fn sgdm_step(op: &str, params: Vec<Tensor>, grads: &[Tensor], vel: Vec<Option<Tensor>>, lrs: &[f64], rule: &Sgdm) -> Result<Stepped> {
    if !(rule.momentum.is_finite() && (0.0..=1.0).contains(&rule.momentum)) {
        return Err(Error::value(op, format!("momentum must be in [0, 1], got {}", rule.momentum)));
    }
    step(op, rule, params, grads, vec![vel], lrs)
}

fn check_decay(op: &str, name: &str, d: f64) -> Result<()> {
    if d.is_finite() && (0.0..1.0).contains(&d) {
        Ok(())
    } else {
        Err(Error::value(op, format!("{name} must be in [0, 1), got {d}")))
    }
}

fn check_epsilon(op: &str, e: f64) -> Result<()> {
    if e.is_finite() && e > 0.0 {
        Ok(())
    } else {
        Err(Error::value(op, format!("epsilon must be a positive number, got {e}")))
    }
}

/// Where a chunk of an output buffer gets its starting values from.
enum Source {
    /// The output buffer already holds them (an input updated in place, or fresh zeros).
    InPlace,
    /// A shared input buffer that must not change.
    Shared(Arc<Buffer>),
    /// MATLAB's `[]` state: zeros.
    Zeros,
}

/// One output array: its buffer and where its starting values come from.
struct Output {
    buf: Buffer,
    src: Source,
}

struct Prepared {
    shape: Vec<usize>,
    /// Where the parameter is, and so where its updated value and states go.
    device: Device,
    lr: f64,
    grad: Arc<Buffer>,
    param: Output,
    states: Vec<Output>,
}

/// An output buffer for `input` (or for zeros when `input` is `None`) of `dtype` and `len`.
fn output_for(input: Option<Tensor>, dtype: DType, len: usize) -> Result<Output> {
    if let Some(t) = input {
        if t.dtype() == dtype {
            // Moved in and held by nobody else: update in place.
            let storage = match Arc::try_unwrap(t.0) {
                Ok(inner) => inner.data,
                Err(inner) => inner.data.clone(),
            };
            return Ok(match storage {
                Storage::Host(host) => match Arc::try_unwrap(host) {
                    Ok(buf) => Output { buf, src: Source::InPlace },
                    Err(shared) => Output { buf: fresh(dtype, len), src: Source::Shared(shared) },
                },
                // The update runs on the host copy of a GPU array.
                device => Output { buf: fresh(dtype, len), src: Source::Shared(device.host()?.clone()) },
            });
        }
        // A state or parameter of another precision: converted once, then used as a source.
        let converted = Arc::new(t.buffer()?.cast(dtype));
        return Ok(Output { buf: fresh(dtype, len), src: Source::Shared(converted) });
    }
    Ok(match pool::global().take(dtype, len) {
        Some(buf) => Output { buf, src: Source::Zeros },
        None => Output { buf: Buffer::zeros(dtype, len), src: Source::InPlace },
    })
}

/// A buffer whose contents will be overwritten: recycled from the pool when possible.
fn fresh(dtype: DType, len: usize) -> Buffer {
    pool::global().take(dtype, len).unwrap_or_else(|| Buffer::zeros(dtype, len))
}

fn describe(t: &Tensor) -> String {
    format!("shape {:?} ({})", t.shape(), t.dtype())
}

fn step<R: Rule>(
    op: &str,
    rule: &R,
    params: Vec<Tensor>,
    grads: &[Tensor],
    states: Vec<Vec<Option<Tensor>>>,
    lrs: &[f64],
) -> Result<Stepped> {
    let n = params.len();
    debug_assert_eq!(states.len(), R::N_STATES);
    if grads.len() != n {
        return Err(Error::shape(op, format!("{n} parameters but {} gradients", grads.len())));
    }
    if lrs.len() != n {
        return Err(Error::shape(op, format!("{n} parameters but {} learning rates", lrs.len())));
    }
    for (k, s) in states.iter().enumerate() {
        if s.len() != n {
            return Err(Error::shape(op, format!("{n} parameters but {} arrays in state {}", s.len(), k + 1)));
        }
    }
    // Validate everything before any buffer is taken, so an error leaves the pool untouched.
    for i in 0..n {
        let p = &params[i];
        if p.dtype().is_complex() {
            return Err(Error::dtype(op, format!("parameter {i} is {}; the update functions support float32 and float64", p.dtype())));
        }
        if grads[i].shape() != p.shape() {
            return Err(Error::shape(op, format!("gradient {i} has {} but its parameter has {}", describe(&grads[i]), describe(p))));
        }
        if grads[i].dtype().is_complex() {
            return Err(Error::dtype(op, format!("gradient {i} is {}; real gradients are required", grads[i].dtype())));
        }
        for (k, s) in states.iter().enumerate() {
            if let Some(s) = &s[i] {
                if s.shape() != p.shape() || s.dtype().is_complex() {
                    return Err(Error::shape(
                        op,
                        format!("state {} of parameter {i} has {} but the parameter has {}", k + 1, describe(s), describe(p)),
                    ));
                }
            }
        }
        if !lrs[i].is_finite() || lrs[i] < 0.0 {
            return Err(Error::value(op, format!("learning rate must be a nonnegative number, got {} for parameter {i}", lrs[i])));
        }
    }

    // Parameters on the GPU step there, one kernel each, without a readback; the rest step
    // on the host below.
    let mut results: Vec<Option<(Tensor, Vec<Tensor>)>> = Vec::with_capacity(n);
    for i in 0..n {
        let given: Vec<Option<&Tensor>> = states.iter().map(|s| s[i].as_ref()).collect();
        results.push(on_gpu(op, rule, &params[i], &grads[i], &given, lrs[i])?);
    }

    // Gather buffers: per parameter, the gradient (in the parameter's dtype) and one output
    // per parameter and state.
    let mut state_iters: Vec<_> = states.into_iter().map(|s| s.into_iter()).collect();
    let mut prepared = Vec::with_capacity(n);
    let mut host_at = Vec::with_capacity(n);
    for (i, p) in params.into_iter().enumerate() {
        let given: Vec<Option<Tensor>> = state_iters.iter_mut().map(|it| it.next().flatten()).collect();
        if results[i].is_some() {
            continue;
        }
        let (dtype, len, shape, device) = (p.dtype(), p.numel(), p.shape().to_vec(), p.device());
        let grad = if grads[i].dtype() == dtype { grads[i].shared_buffer()? } else { Arc::new(grads[i].buffer()?.cast(dtype)) };
        let param = output_for(Some(p), dtype, len)?;
        let states = given.into_iter().map(|s| output_for(s, dtype, len)).collect::<Result<_>>()?;
        prepared.push(Prepared { shape, device, lr: lrs[i], grad, param, states });
        host_at.push(i);
    }

    let total: usize = prepared.iter().map(|p| p.grad.len()).sum();
    run_typed::<f32, R>(rule, &mut prepared, total);
    run_typed::<f64, R>(rule, &mut prepared, total);

    // Wrap the results and park their buffers for reuse by later steps.
    let mut parked = Vec::with_capacity(prepared.len() * (1 + R::N_STATES));
    for (p, i) in prepared.into_iter().zip(host_at) {
        let buf = Arc::new(p.param.buf);
        parked.push(buf.clone());
        let param = Tensor::untraced(buf, p.shape.clone()).on_device(p.device);
        let states = p
            .states
            .into_iter()
            .map(|s| {
                let buf = Arc::new(s.buf);
                parked.push(buf.clone());
                Tensor::untraced(buf, p.shape.clone()).on_device(p.device)
            })
            .collect();
        results[i] = Some((param, states));
    }
    pool::global().park(parked);
    let mut out_params = Vec::with_capacity(n);
    let mut out_states: Vec<Vec<Tensor>> = (0..R::N_STATES).map(|_| Vec::with_capacity(n)).collect();
    for (param, states) in results.into_iter().flatten() {
        out_params.push(param);
        for (k, s) in states.into_iter().enumerate() {
            out_states[k].push(s);
        }
    }
    debug_assert_eq!(out_params.len(), n);
    Ok(Stepped { params: out_params, states: out_states })
}

/// The step of a parameter on the GPU, by the backend's kernel of the rule: `None` where the
/// parameter is on the host or the backend leaves these operands to the host kernel.
fn on_gpu<R: Rule>(
    op: &str,
    rule: &R,
    param: &Tensor,
    grad: &Tensor,
    states: &[Option<&Tensor>],
    lr: f64,
) -> Result<Option<(Tensor, Vec<Tensor>)>> {
    let consts = rule.consts::<f64>(lr);
    let Some((p, s)) = crate::gpu_backend::optim_step(op, R::KIND, &consts, param, grad, states)? else { return Ok(None) };
    let shape = param.shape().to_vec();
    let states = s.into_iter().map(|s| Tensor::untraced_storage(s, shape.clone())).collect();
    Ok(Some((Tensor::untraced_storage(p, shape), states)))
}

/// Where a chunk's starting values come from, as a typed slice.
enum ChunkSource<'a, T> {
    InPlace,
    Copy(&'a [T]),
    Zeros,
}

struct Chunk<'a, T> {
    lr: f64,
    g: &'a [T],
    p: (&'a mut [T], ChunkSource<'a, T>),
    s0: (&'a mut [T], ChunkSource<'a, T>),
    s1: (&'a mut [T], ChunkSource<'a, T>),
}

/// The element types the optimizers run on, with mutable access to a buffer of that type.
trait OptimElement: Real + IntoBuffer {
    fn slice_mut(b: &mut Buffer) -> Option<&mut [Self]>;
}

impl OptimElement for f32 {
    fn slice_mut(b: &mut Buffer) -> Option<&mut [f32]> {
        match b {
            Buffer::F32(v) => Some(v.make_mut()),
            _ => None,
        }
    }
}

impl OptimElement for f64 {
    fn slice_mut(b: &mut Buffer) -> Option<&mut [f64]> {
        match b {
            Buffer::F64(v) => Some(v.make_mut()),
            _ => None,
        }
    }
}

/// Splits `out` (and its source) into `count` chunks of `PAR_CHUNK` elements; a missing array
/// (an unused second state) gives empty chunks.
fn split<'a, T: OptimElement>(out: Option<&'a mut Output>, count: usize) -> Vec<(&'a mut [T], ChunkSource<'a, T>)> {
    let Some(out) = out else {
        return (0..count).map(|_| (<&mut [T]>::default(), ChunkSource::InPlace)).collect();
    };
    let src: Option<&'a [T]> = match &out.src {
        Source::Shared(b) => Some(T::slice_of(b).expect("source cast to the parameter's dtype")),
        _ => None,
    };
    let zeros = matches!(out.src, Source::Zeros);
    let dst = T::slice_mut(&mut out.buf).expect("output buffer has the parameter's dtype");
    dst.chunks_mut(PAR_CHUNK)
        .enumerate()
        .map(|(c, d)| {
            let s = match (src, zeros) {
                (Some(s), _) => ChunkSource::Copy(&s[c * PAR_CHUNK..c * PAR_CHUNK + d.len()]),
                (None, true) => ChunkSource::Zeros,
                (None, false) => ChunkSource::InPlace,
            };
            (d, s)
        })
        .collect()
}

fn fill<T: Real>(dst: &mut [T], src: &ChunkSource<'_, T>) {
    match src {
        ChunkSource::InPlace => {}
        ChunkSource::Copy(s) => dst.copy_from_slice(s),
        ChunkSource::Zeros => dst.fill(T::zero()),
    }
}

/// The starting values of a chunk of `n` elements as a slice, unless they are in the output.
fn as_source<'a, T>(s: &ChunkSource<'a, T>, zeros: &'a [T], n: usize) -> Option<&'a [T]> {
    match s {
        ChunkSource::Copy(x) => Some(&x[..n]),
        ChunkSource::Zeros => Some(&zeros[..n]),
        ChunkSource::InPlace => None,
    }
}

/// The rule over one chunk. When no output already holds its starting values (the usual case:
/// the caller keeps its inputs), one loop reads the sources and writes the outputs; otherwise
/// the other outputs are filled first and the loop runs in place.
fn run_chunk<'a, T: Real, R: Rule>(rule: &R, c: Chunk<'a, T>, zeros: &'a [T]) {
    let Chunk { lr, g, p: (p, ps), s0: (s0, ss0), s1: (s1, ss1) } = c;
    let k = rule.consts::<T>(lr);
    let n = p.len();
    let g = &g[..n];
    match (as_source(&ps, zeros, n), as_source(&ss0, zeros, n), as_source(&ss1, zeros, n)) {
        (Some(pi), Some(a), Some(b)) if R::N_STATES == 2 => {
            let (s0, s1) = (&mut s0[..n], &mut s1[..n]);
            for i in 0..n {
                let (np, na, nb) = R::elem(&k, pi[i], g[i], a[i], b[i]);
                p[i] = np;
                s0[i] = na;
                s1[i] = nb;
            }
        }
        (Some(pi), Some(a), _) if R::N_STATES == 1 => {
            let s0 = &mut s0[..n];
            for i in 0..n {
                let (np, na, _) = R::elem(&k, pi[i], g[i], a[i], T::zero());
                p[i] = np;
                s0[i] = na;
            }
        }
        _ => {
            fill(p, &ps);
            fill(s0, &ss0);
            fill(s1, &ss1);
            if R::N_STATES == 2 {
                let (s0, s1) = (&mut s0[..n], &mut s1[..n]);
                for i in 0..n {
                    (p[i], s0[i], s1[i]) = R::elem(&k, p[i], g[i], s0[i], s1[i]);
                }
            } else {
                let s0 = &mut s0[..n];
                for i in 0..n {
                    let (np, na, _) = R::elem(&k, p[i], g[i], s0[i], T::zero());
                    p[i] = np;
                    s0[i] = na;
                }
            }
        }
    }
}

/// Runs the rule over every parameter of dtype `T`: chunks of all parameters in one rayon
/// pass when the set is large, sequentially otherwise.
fn run_typed<T: OptimElement, R: Rule>(rule: &R, prepared: &mut [Prepared], total: usize) {
    let mut chunks: Vec<Chunk<'_, T>> = Vec::new();
    for p in prepared.iter_mut().filter(|p| p.grad.dtype() == T::DTYPE) {
        let g = T::slice_of(&p.grad).expect("gradient cast to the parameter's dtype");
        let count = g.len().div_ceil(PAR_CHUNK);
        let mut states = p.states.iter_mut();
        let ps = split::<T>(Some(&mut p.param), count);
        let s0 = split::<T>(states.next(), count);
        let s1 = split::<T>(states.next(), count);
        for (c, ((pc, s0c), s1c)) in ps.into_iter().zip(s0).zip(s1).enumerate() {
            let g = &g[c * PAR_CHUNK..c * PAR_CHUNK + pc.0.len()];
            chunks.push(Chunk { lr: p.lr, g, p: pc, s0: s0c, s1: s1c });
        }
    }
    if chunks.is_empty() {
        return;
    }
    let zeros = vec![T::zero(); PAR_CHUNK.min(total)];
    let work = |c: Chunk<'_, T>| run_chunk(rule, c, &zeros);
    if use_rayon(total) && chunks.len() > 1 {
        chunks.into_par_iter().for_each(work);
    } else {
        chunks.into_iter().for_each(work);
    }
}

#[cfg(test)]
mod tests;
