//! Chains of elementwise ops of a compiled trace, run as one pass over memory.
//!
//! A compiled trace (see [`super::replay::Plan`]) runs op by op: `tanh(x) * w + b` reads and
//! writes three arrays and makes three tensors. When a value made by an elementwise op is read
//! by nothing but one other elementwise op of the same shape and dtype, the two can be one
//! step: the group is evaluated a block of elements at a time, the intermediate values living
//! in block-sized registers that stay in the cache, and only the group's result is written out.
//!
//! Each element goes through the same scalar functions as in the ops themselves (the tables in
//! `ops::unary` and `ops::binary`), in the same order, so a fused run computes the same bits.
//! A fused step has no backward rule: plans use their fused steps only when nothing records.

use std::sync::Arc;

use rayon::prelude::*;

use crate::buffer::Buffer;
use crate::dtype::{DType, Real};
use crate::error::{Error, Result};
use crate::kernels::parallel::use_rayon;
use crate::op::OpKind;
use crate::ops::binary::{real_binary_op, BinaryOp, RealBinaryLoop};
use crate::ops::unary::{real_unary, relu_grad_at, RealUnaryLoop, UnaryOp};
use crate::shape::numel;
use crate::tensor::Tensor;

/// Elements per register: a group's registers together stay well inside the L2 cache.
const BLOCK: usize = 512;
/// Blocks per parallel task (each task allocates its registers once).
const TASK_BLOCKS: usize = 16;
/// The most ops one group takes; a longer chain becomes several groups.
pub(super) const MAX_GROUP: usize = 32;

/// Where an operand of a fused op comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Src {
    /// The group's `k`-th argument: an array of the group's shape, a single element that
    /// every element of the group reads, or an array broadcast to the group's shape.
    Arg(usize),
    /// The value of the group's `k`-th op.
    Reg(usize),
}

/// One elementwise op of a group.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Instr {
    Unary(UnaryOp, Src),
    Binary(BinaryOp, Src, Src),
    /// `g` where `x > 0`, else 0 (relu's backward; operands `g`, `x`).
    ReluGrad(Src, Src),
}

impl Instr {
    /// The instruction for `kind` on `srcs`, if `kind` is an elementwise op a group can take.
    pub(super) fn of(kind: &OpKind, srcs: &[Src]) -> Option<Instr> {
        match (kind, srcs) {
            (OpKind::Unary(op), &[x]) => Some(Instr::Unary(*op, x)),
            (OpKind::Binary(op), &[a, b]) => Some(Instr::Binary(*op, a, b)),
            (OpKind::ReluGrad, &[g, x]) => Some(Instr::ReluGrad(g, x)),
            _ => None,
        }
    }
}

/// Whether `kind` is an elementwise op that a group can take.
pub(super) fn is_elementwise(kind: &OpKind) -> bool {
    matches!(kind, OpKind::Unary(_) | OpKind::Binary(_) | OpKind::ReluGrad)
}

/// How a group's argument covers the group's elements.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ArgLayout {
    /// Of the group's shape: element `i` is the argument's element `i`.
    Full,
    /// One element, read by every element.
    Each,
    /// Broadcast (numpy's rule): per dim of the group's shape, the step in the argument's
    /// elements (0 along a broadcast dim).
    Broadcast(Vec<usize>),
}

impl ArgLayout {
    /// The layout of an argument of shape `arg` in a group of shape `shape`, if it broadcasts.
    fn of(arg: &[usize], shape: &[usize]) -> Option<ArgLayout> {
        if arg == shape {
            return Some(ArgLayout::Full);
        }
        if numel(arg) == 1 {
            return Some(ArgLayout::Each);
        }
        if arg.len() > shape.len() {
            return None;
        }
        let lead = shape.len() - arg.len();
        let mut steps = vec![0; shape.len()];
        let mut step = 1;
        for d in (0..arg.len()).rev() {
            match arg[d] {
                n if n == shape[lead + d] => steps[lead + d] = step,
                1 => {}
                _ => return None,
            }
            step *= arg[d];
        }
        Some(ArgLayout::Broadcast(steps))
    }
}

/// A group of elementwise ops: its value is that of the last one.
#[derive(Debug, Clone)]
pub(super) struct Fused {
    pub(super) instrs: Vec<Instr>,
    pub(super) arg_layouts: Vec<ArgLayout>,
    pub(super) shape: Vec<usize>,
    pub(super) dtype: DType,
}

impl Fused {
    /// The group's value on `args` (the arrays its compiled arguments stood for; host arrays
    /// of the compiled shapes and dtype), untraced.
    pub(super) fn run(&self, args: &[Tensor]) -> Result<Tensor> {
        let n = numel(&self.shape);
        let data = match self.dtype {
            DType::F32 => Buffer::F32(self.eval(&self.typed_args::<f32>(args)?, n).into()),
            DType::F64 => Buffer::F64(self.eval(&self.typed_args::<f64>(args)?, n).into()),
            other => return Err(Error::dtype("fused elementwise", format!("compiled for real dtypes, got {other}"))),
        };
        Ok(Tensor::untraced(Arc::new(data), self.shape.clone()))
    }

    fn typed_args<'a, T: Real + crate::buffer::IntoBuffer>(&self, args: &'a [Tensor]) -> Result<Vec<&'a [T]>> {
        args.iter().map(|a| a.typed::<T>()).collect()
    }

    fn eval<T: Real>(&self, args: &[&[T]], n: usize) -> Vec<T> {
        let mut out = vec![T::zero(); n];
        let task = BLOCK * TASK_BLOCKS;
        // The work is every op over every element: a long chain pays for the split sooner.
        if use_rayon(n * self.instrs.len()) && n > task {
            out.par_chunks_mut(task).enumerate().for_each(|(t, chunk)| self.eval_blocks(args, t * task, chunk));
        } else {
            self.eval_blocks(args, 0, &mut out);
        }
        out
    }

    /// Elements `start..start + out.len()` into `out`, a block at a time.
    fn eval_blocks<T: Real>(&self, args: &[&[T]], start: usize, out: &mut [T]) {
        let last = self.instrs.len() - 1;
        // Registers as wide as a block, or as the whole run when it is shorter.
        let width = BLOCK.min(out.len());
        let mut regs = vec![T::zero(); last * width];
        // A broadcast argument's elements for the block, gathered once per block.
        let mut spread: Vec<Vec<T>> =
            self.arg_layouts.iter().map(|l| if matches!(l, ArgLayout::Broadcast(_)) { vec![T::zero(); width] } else { vec![] }).collect();
        for (b, block) in out.chunks_mut(BLOCK).enumerate() {
            let (at, len) = (start + b * BLOCK, block.len());
            for (a, layout) in self.arg_layouts.iter().enumerate() {
                if let ArgLayout::Broadcast(steps) = layout {
                    gather_broadcast(args[a], &self.shape, steps, at, &mut spread[a][..len]);
                }
            }
            for (k, instr) in self.instrs.iter().enumerate() {
                let (done, rest) = regs.split_at_mut(k * width);
                let dst: &mut [T] = if k == last { &mut *block } else { &mut rest[..len] };
                let read = |src: Src| -> Operand<'_, T> {
                    match src {
                        Src::Arg(a) => match self.arg_layouts[a] {
                            ArgLayout::Full => Operand::Slice(&args[a][at..at + len]),
                            ArgLayout::Each => Operand::Each(args[a][0]),
                            ArgLayout::Broadcast(_) => Operand::Slice(&spread[a][..len]),
                        },
                        Src::Reg(r) => Operand::Slice(&done[r * width..r * width + len]),
                    }
                };
                match *instr {
                    Instr::Unary(op, x) => match read(x) {
                        Operand::Slice(src) => real_unary(op, Into { src, dst }),
                        // A group's ops all have its shape, so a unary op never reads a
                        // single-element argument (it would have that argument's shape).
                        Operand::Each(_) => unreachable!("a fused unary op reads an array"),
                    },
                    Instr::Binary(op, a, b) => real_binary_op(op, Zip { a: read(a), b: read(b), dst }),
                    Instr::ReluGrad(g, x) => Zip { a: read(g), b: read(x), dst }.zip(relu_grad_at),
                }
            }
        }
    }
}

/// The elements `at..at + dst.len()` of `src` broadcast to `shape` (`steps`: see
/// [`ArgLayout::Broadcast`]), a run along the last dim at a time.
fn gather_broadcast<T: Copy>(src: &[T], shape: &[usize], steps: &[usize], at: usize, dst: &mut [T]) {
    let last = shape.len() - 1;
    // The multi-index of element `at`, and the argument's element there.
    let mut index = vec![0; shape.len()];
    let mut rem = at;
    for d in (0..shape.len()).rev() {
        index[d] = rem % shape[d];
        rem /= shape[d];
    }
    let mut from: usize = index.iter().zip(steps).map(|(i, s)| i * s).sum();
    let mut filled = 0;
    while filled < dst.len() {
        let run = (shape[last] - index[last]).min(dst.len() - filled);
        let out = &mut dst[filled..filled + run];
        match steps[last] {
            0 => out.fill(src[from]),
            _ => out.copy_from_slice(&src[from..from + run]),
        }
        filled += run;
        // Next run: the last dim starts again and the dims before it count up.
        from -= index[last] * steps[last];
        index[last] = 0;
        for d in (0..last).rev() {
            index[d] += 1;
            from += steps[d];
            if index[d] < shape[d] {
                break;
            }
            from -= index[d] * steps[d];
            index[d] = 0;
        }
    }
}

/// An operand of a fused op within one block.
#[derive(Clone, Copy)]
enum Operand<'a, T> {
    Slice(&'a [T]),
    /// One value for every element.
    Each(T),
}

/// A unary op from one register into another.
struct Into<'a, T> {
    src: &'a [T],
    dst: &'a mut [T],
}

impl<T: Real> RealUnaryLoop<T> for Into<'_, T> {
    type Out = ();
    fn map(self, f: impl Fn(T) -> T + Sync + Send) {
        for (d, &s) in self.dst.iter_mut().zip(self.src) {
            *d = f(s);
        }
    }
    fn slice(self, f: fn(&[T], &mut [T])) {
        f(self.src, self.dst)
    }
}

/// A binary op of two operands into a register.
struct Zip<'a, T> {
    a: Operand<'a, T>,
    b: Operand<'a, T>,
    dst: &'a mut [T],
}

impl<T: Real> RealBinaryLoop<T> for Zip<'_, T> {
    type Out = ();
    fn zip(self, f: impl Fn(T, T) -> T + Sync + Send) {
        match (self.a, self.b) {
            (Operand::Slice(a), Operand::Slice(b)) => {
                for ((d, &x), &y) in self.dst.iter_mut().zip(a).zip(b) {
                    *d = f(x, y);
                }
            }
            (Operand::Slice(a), Operand::Each(y)) => {
                for (d, &x) in self.dst.iter_mut().zip(a) {
                    *d = f(x, y);
                }
            }
            (Operand::Each(x), Operand::Slice(b)) => {
                for (d, &y) in self.dst.iter_mut().zip(b) {
                    *d = f(x, y);
                }
            }
            (Operand::Each(x), Operand::Each(y)) => self.dst.fill(f(x, y)),
        }
    }
}

/// One step of a compiled trace, as the grouping sees it.
pub(super) struct StepView<'a> {
    pub kind: &'a OpKind,
    pub args: &'a [usize],
    pub out: usize,
}

/// What becomes of a step when its trace's elementwise chains are fused.
pub(super) enum Fate {
    /// Runs as it is.
    Keep,
    /// Computed inside the group of a later step.
    Absorbed,
    /// Runs the group that ends with it, on these slots.
    Group(Fused, Vec<usize>),
}

/// Groups the elementwise chains of `steps`. `meta` is every slot's shape and dtype;
/// `outputs` are the slots the plan returns (never absorbed: they must be kept).
pub(super) fn group(steps: &[StepView], meta: &[(Vec<usize>, DType)], outputs: &[usize]) -> Vec<Fate> {
    let mut uses = vec![0usize; meta.len()];
    for s in steps {
        for &a in s.args {
            uses[a] += 1;
        }
    }
    for &o in outputs {
        uses[o] += 2;
    }
    let mut producer = vec![None; meta.len()];
    for (i, s) in steps.iter().enumerate() {
        producer[s.out] = Some(i);
    }
    // An elementwise op of real arrays whose operands broadcast to its shape.
    let fusable = |s: &StepView| {
        let (shape, dtype) = &meta[s.out];
        is_elementwise(s.kind)
            && matches!(dtype, DType::F32 | DType::F64)
            && s.args.iter().all(|&a| meta[a].1 == *dtype && ArgLayout::of(&meta[a].0, shape).is_some())
    };
    let mut fates: Vec<Fate> = steps.iter().map(|_| Fate::Keep).collect();
    // From the last step back: a consumer takes in its producers before they are visited.
    for root in (0..steps.len()).rev() {
        if !matches!(fates[root], Fate::Keep) || !fusable(&steps[root]) {
            continue;
        }
        let mut builder = Builder { steps, meta, uses: &uses, producer: &producer, instrs: vec![], args: vec![], absorbed: vec![] };
        let shape = &meta[steps[root].out].0;
        let mut taken = 1;
        builder.emit(root, shape, &mut taken, &fusable);
        if builder.absorbed.is_empty() {
            continue;
        }
        for &i in &builder.absorbed {
            fates[i] = Fate::Absorbed;
        }
        let arg_layouts =
            builder.args.iter().map(|&a| ArgLayout::of(&meta[a].0, shape).expect("a fusable step's operands broadcast")).collect();
        let fused = Fused { instrs: builder.instrs, arg_layouts, shape: shape.clone(), dtype: meta[steps[root].out].1 };
        fates[root] = Fate::Group(fused, builder.args);
    }
    fates
}

/// Builds one group: its ops in an order where each comes after the ops it reads.
struct Builder<'a, 'b> {
    steps: &'a [StepView<'b>],
    meta: &'a [(Vec<usize>, DType)],
    uses: &'a [usize],
    producer: &'a [Option<usize>],
    instrs: Vec<Instr>,
    args: Vec<usize>,
    absorbed: Vec<usize>,
}

impl Builder<'_, '_> {
    /// Emits step `i` after the producers it takes in; returns the register of its value.
    fn emit(&mut self, i: usize, shape: &[usize], taken: &mut usize, fusable: &dyn Fn(&StepView) -> bool) -> usize {
        let step = &self.steps[i];
        let mut srcs = Vec::with_capacity(step.args.len());
        for &a in step.args {
            let inline =
                self.producer[a].filter(|&p| self.uses[a] == 1 && self.meta[a].0 == shape && *taken < MAX_GROUP && fusable(&self.steps[p]));
            srcs.push(match inline {
                Some(p) => {
                    *taken += 1;
                    self.absorbed.push(p);
                    Src::Reg(self.emit(p, shape, taken, fusable))
                }
                None => Src::Arg(self.args.iter().position(|&s| s == a).unwrap_or_else(|| {
                    self.args.push(a);
                    self.args.len() - 1
                })),
            });
        }
        self.instrs.push(Instr::of(step.kind, &srcs).expect("a fusable step is elementwise"));
        self.instrs.len() - 1
    }
}
