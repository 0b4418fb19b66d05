//! Running a recorded trace again on new inputs.
//!
//! [`forward`] is the one place that maps an [`OpKind`] to the op that computes it, so a trace
//! replays op by op through the same kernels that recorded it. Values that were not traced
//! when recorded (constants, and values computed from them) are replayed as they were.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::fusion::{self, Fate, Fused, StepView};
use super::trace::is_recording;
use super::walk::topological_order;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::op::OpKind;
use crate::ops::pool::PoolWindow;
use crate::storage::Device;
use crate::tensor::{Tensor, TensorId};

/// The output of `kind` on `inputs`. `recorded` is the op's recorded output, which the value
/// of [`OpKind::ConstantGradient`] and the shape of [`OpKind::PoolGather`] are.
pub fn forward(kind: &OpKind, inputs: &[Tensor], recorded: Option<&Tensor>) -> Result<Tensor> {
    use OpKind::*;
    let x = || inputs.first().ok_or_else(|| Error::value(kind.name(), "replayed without inputs"));
    let recorded = || recorded.ok_or_else(|| Error::value(kind.name(), "replayed without its recorded output"));
    match kind {
        Leaf => Err(Error::value("replay", "a leaf has no op to replay; pass it among the inputs")),
        Alias => {
            let x = x()?;
            Ok(Tensor::from_op_storage(x.storage().clone(), x.shape().to_vec(), Alias, &[x]))
        }
        ConstantGradient => {
            let value = recorded()?;
            Ok(Tensor::from_op_storage(value.storage().clone(), value.shape().to_vec(), ConstantGradient, &[x()?]))
        }
        Unary(op) => x()?.unary(*op),
        AbsComplex => x()?.abs_complex(),
        ReluGrad => inputs[0].relu_grad(&inputs[1]),
        LeakyRelu { scale } => x()?.leaky_relu(*scale),
        LeakyReluSlope { scale } => x()?.leaky_relu_slope(*scale),
        StopGradient => Ok(x()?.stop_gradient()),
        ToDevice { device } => x()?.to_device(*device),
        Binary(op) => inputs[0].binary(*op, &inputs[1]),
        Compare(op) => inputs[0].compare(*op, &inputs[1]),
        Where => Tensor::where_(&inputs[2], &inputs[0], &inputs[1]),
        Cast { to } => x()?.cast(*to),
        Conj => x()?.conj(),
        Real => x()?.real(),
        Imag => x()?.imag(),
        Complex => Tensor::complex(&inputs[0], &inputs[1]),
        Reduce { op, axes } => x()?.reduce_keep(*op, axes),
        Cumsum { axis, reverse } => x()?.cumsum(*axis, *reverse),
        Reshape { shape } => x()?.reshape(shape),
        Permute { perm } => x()?.permute(perm),
        BroadcastTo { shape } => x()?.broadcast_to(shape),
        Flip { axes } => x()?.flip(axes),
        Narrow { axis, start, len } => x()?.narrow(*axis, *start, *len),
        Pad { axis, before, after } => x()?.pad_axis(*axis, *before, *after),
        Concat { axis } => Tensor::concat(inputs, *axis),
        Take { idx, shape } => x()?.take(idx.clone(), shape.clone()),
        ScatterAdd { idx, shape } => x()?.scatter_add(idx.clone(), shape.clone()),
        IndexPut { idx } => inputs[0].index_put(idx.clone(), &inputs[1]),
        TakeAxis { axis, idx } => x()?.take_axis(*axis, idx.clone()),
        IndexAddAxis { axis, idx, n } => x()?.index_add_axis(*axis, idx.clone(), *n),
        Matmul { transpose_a, transpose_b } => inputs[0].matmul_t(&inputs[1], *transpose_a, *transpose_b),
        Softmax { axis } => x()?.softmax(*axis),
        LogSoftmax { axis } => x()?.log_softmax(*axis),
        SoftmaxLog { axis } => x()?
            .softmax_log(*axis)?
            .ok_or_else(|| Error::value("log_softmax", "the replayed input is not a softmax output; replay the softmax that made it too")),
        Conv { params } => inputs[0].conv_bias(&inputs[1], inputs.get(2), params),
        ConvInputGrad { params, input_spatial } => inputs[0].conv_input_grad(&inputs[1], input_spatial, params),
        ConvWeightGrad { params, weight_shape } => inputs[0].conv_weight_grad(&inputs[1], weight_shape, params),
        MaxPool { window } => x()?.maxpool_window(window),
        MaxPoolBackward { window } => inputs[0].maxpool_backward(&inputs[1], window, None),
        MaxPoolGather { window } => inputs[0].maxpool_gather(&inputs[1], window),
        MaxUnpool { idx, shape } => x()?.maxunpool(idx.clone(), shape),
        PoolGather { idx } => x()?.pool_gather(idx.clone(), recorded()?.shape().to_vec()),
        AvgPool { window, padding_value_counts } => x()?.avgpool_impl(window, *padding_value_counts),
        AvgPoolBackward { window, padding_value_counts, input_shape } => {
            x()?.avgpool_backward_impl(input_shape, window, *padding_value_counts)
        }
        Batchnorm { axis, epsilon } => Ok(inputs[0].batchnorm_train(&inputs[1], &inputs[2], *axis, *epsilon)?.0),
        BatchnormMean { axis } => Ok(x()?.batch_statistics(*axis)?.0),
        BatchnormVar { axis } => Ok(x()?.batch_statistics(*axis)?.1),
        BatchnormParamGrads { axis, epsilon } => inputs[0].batchnorm_param_grads(&inputs[1], *axis, *epsilon),
        BatchnormInputGrad { axis, epsilon } => inputs[0].batchnorm_input_grad(&inputs[1], &inputs[2], &inputs[3], *axis, *epsilon),
        Standardize { axes, epsilon } => x()?.standardize(axes, *epsilon),
        Lstm { dims, state, gate } => Tensor::lstm_fused(inputs, *dims, *state, *gate),
        Gru { mode, state, gate, .. } => {
            Ok(Tensor::gru(&inputs[0], &inputs[1], &inputs[2], &inputs[3], &inputs[4], *mode, *state, *gate)?.0)
        }
    }
}

/// A recorded trace compiled for running again: the ops that lead from the inputs to the
/// outputs (nothing else: dead ops are dropped), identical ops on identical arguments merged,
/// each value held only until its last use. It keeps the ops and the constants they read,
/// not the recorded values, so the trace it came from can be freed.
///
/// Each plan has two forms: op by op (`steps`), which records when recording is on, and with
/// its elementwise chains fused into single passes (`fused`, see [`fusion`]), which a run
/// takes when nothing records and every value is on the host.
pub struct Plan {
    /// The shape and dtype each replacement input must have.
    inputs: Vec<(Vec<usize>, DType)>,
    input_slots: Vec<usize>,
    constants: Vec<(usize, Tensor)>,
    steps: Vec<Step>,
    fused: Option<Vec<Step>>,
    outputs: Vec<usize>,
    slots: usize,
    /// Positions the maxpools keep for their backward ([`Work::MaxPoolKeeping`]).
    kept: usize,
    /// The elements the ops write in one run (op by op): the size of the run's work.
    elements: usize,
}

struct Step {
    work: Work,
    args: Vec<usize>,
    out: usize,
    /// Slots no later step reads.
    release: Vec<usize>,
}

#[derive(Clone)]
enum Work {
    Op {
        kind: OpKind,
        /// The recorded output, for the ops whose value it is ([`forward`]'s `recorded`).
        recorded: Option<Tensor>,
    },
    Fused(Fused),
    /// A host maxpool that keeps the positions of its maxima in `kept[keep]`, for the backward
    /// of the same input and window (which would otherwise find them again).
    MaxPoolKeeping {
        window: PoolWindow,
        keep: usize,
    },
    /// maxpool's backward scattering `g` to the positions in `kept[from]`.
    MaxPoolScatter {
        window: PoolWindow,
        from: usize,
    },
}

/// Values a run's steps hand on beside their outputs (a maxpool's positions).
type Kept = Vec<Option<Arc<Vec<usize>>>>;

impl Step {
    fn run(&self, args: &[Tensor], kept: &mut Kept) -> Result<Tensor> {
        match &self.work {
            Work::Op { kind, recorded } => forward(kind, args, recorded.as_ref()),
            Work::Fused(group) => group.run(args),
            Work::MaxPoolKeeping { window, keep } => {
                if args[0].device() != Device::Cpu {
                    return forward(&OpKind::MaxPool { window: window.clone() }, args, None);
                }
                let (y, idx) = args[0].maxpool_indexed(window)?;
                kept[*keep] = Some(idx);
                Ok(y)
            }
            Work::MaxPoolScatter { window, from } => args[0].maxpool_backward(&args[1], window, kept[*from].as_ref()),
        }
    }
}

/// Links each maxpool backward to the maxpool of the same input and window, so that the
/// forward keeps the positions of its maxima for it; returns how many positions are kept.
fn link_maxpools(steps: &mut [Step]) -> usize {
    let mut keeps = 0;
    for b in 0..steps.len() {
        let (window, x) = match &steps[b].work {
            Work::Op { kind: OpKind::MaxPoolBackward { window }, .. } => (window.clone(), steps[b].args[1]),
            _ => continue,
        };
        let forward = steps[..b].iter().position(|f| {
            f.args == [x] && matches!(&f.work, Work::Op { kind: OpKind::MaxPool { window: w }, .. } | Work::MaxPoolKeeping { window: w, .. } if *w == window)
        });
        let Some(f) = forward else { continue };
        let keep = match &steps[f].work {
            Work::MaxPoolKeeping { keep, .. } => *keep,
            _ => {
                steps[f].work = Work::MaxPoolKeeping { window: window.clone(), keep: keeps };
                keeps += 1;
                keeps - 1
            }
        };
        steps[b].work = Work::MaxPoolScatter { window, from: keep };
    }
    keeps
}

/// Sets each step's `release`: the slots it is the last to read (never an output).
fn set_releases(steps: &mut [Step], slots: usize, outputs: &[usize]) {
    let mut last_use = vec![None; slots];
    for (i, step) in steps.iter().enumerate() {
        for &a in &step.args {
            last_use[a] = Some(i);
        }
    }
    for &o in outputs {
        last_use[o] = None;
    }
    for step in steps.iter_mut() {
        step.release.clear();
    }
    for (slot, last) in last_use.into_iter().enumerate() {
        if let Some(i) = last {
            steps[i].release.push(slot);
        }
    }
}

const OP: &str = "replay";

impl Plan {
    /// The plan of the trace that made `outputs`, to be run with new values for `inputs`
    /// (traced tensors of the trace, usually its leaves).
    pub fn compile(outputs: &[Tensor], inputs: &[Tensor]) -> Plan {
        let mut slot_of: HashMap<TensorId, usize> = HashMap::new();
        let mut slots = 0;
        let mut input_slots = Vec::with_capacity(inputs.len());
        for x in inputs {
            let s = *slot_of.entry(x.id()).or_insert_with(|| {
                slots += 1;
                slots - 1
            });
            input_slots.push(s);
        }
        let stop: HashSet<TensorId> = slot_of.keys().copied().collect();
        let (mut constants, mut steps) = (Vec::new(), Vec::<Step>::new());
        // Every slot's shape and dtype, for the fusion of elementwise chains.
        let mut meta: Vec<(Vec<usize>, DType)> = inputs.iter().map(|x| (x.shape().to_vec(), x.dtype())).collect();
        let mut merged: HashMap<(String, Vec<usize>), usize> = HashMap::new();
        let mut constant = |t: &Tensor, slot_of: &mut HashMap<TensorId, usize>, slots: &mut usize, meta: &mut Vec<_>| -> usize {
            *slot_of.entry(t.id()).or_insert_with(|| {
                constants.push((*slots, t.detach()));
                meta.push((t.shape().to_vec(), t.dtype()));
                *slots += 1;
                *slots - 1
            })
        };
        for out in outputs {
            for t in topological_order(out, &stop) {
                if slot_of.contains_key(&t.id()) {
                    continue;
                }
                let node = match t.node() {
                    Some(node) if !node.is_leaf() => node,
                    // A leaf of another trace, or an untraced output: a constant.
                    _ => {
                        constant(&t, &mut slot_of, &mut slots, &mut meta);
                        continue;
                    }
                };
                let args: Vec<usize> = node.op.inputs.iter().map(|i| constant(i, &mut slot_of, &mut slots, &mut meta)).collect();
                let kind = node.op.kind.clone();
                let recorded = matches!(kind, OpKind::ConstantGradient | OpKind::PoolGather { .. }).then(|| t.detach());
                // The same op on the same values computes the same result (no op draws random
                // numbers); an op that reads its recorded value is never merged.
                let key = (recorded.is_none() && !matches!(kind, OpKind::Alias)).then(|| (format!("{kind:?}"), args.clone()));
                if let Some(&s) = key.as_ref().and_then(|k| merged.get(k)) {
                    slot_of.insert(t.id(), s);
                    continue;
                }
                slot_of.insert(t.id(), slots);
                if let Some(k) = key {
                    merged.insert(k, slots);
                }
                steps.push(Step { work: Work::Op { kind, recorded }, args, out: slots, release: vec![] });
                meta.push((t.shape().to_vec(), t.dtype()));
                slots += 1;
            }
        }
        let outputs: Vec<usize> = outputs.iter().map(|o| slot_of[&o.id()]).collect();
        let kept = link_maxpools(&mut steps);
        set_releases(&mut steps, slots, &outputs);
        let on_host = constants.iter().all(|(_, c)| c.device() == Device::Cpu);
        let fused = on_host.then(|| Self::fuse(&steps, &meta, slots, &outputs));
        let elements = steps.iter().map(|s| crate::shape::numel(&meta[s.out].0)).sum();
        let inputs = inputs.iter().map(|x| (x.shape().to_vec(), x.dtype())).collect();
        Plan { inputs, input_slots, constants, steps, fused, outputs, slots, kept, elements }
    }

    /// `steps` with their elementwise chains fused.
    fn fuse(steps: &[Step], meta: &[(Vec<usize>, DType)], slots: usize, outputs: &[usize]) -> Vec<Step> {
        const NONE: &OpKind = &OpKind::Leaf;
        let views: Vec<StepView> = steps
            .iter()
            .map(|s| StepView { kind: if let Work::Op { kind, .. } = &s.work { kind } else { NONE }, args: &s.args, out: s.out })
            .collect();
        let mut fused = Vec::with_capacity(steps.len());
        for (step, fate) in steps.iter().zip(fusion::group(&views, meta, outputs)) {
            match fate {
                Fate::Absorbed => {}
                Fate::Group(group, args) => fused.push(Step { work: Work::Fused(group), args, out: step.out, release: vec![] }),
                Fate::Keep => fused.push(Step { work: step.work.clone(), args: step.args.clone(), out: step.out, release: vec![] }),
            }
        }
        set_releases(&mut fused, slots, outputs);
        fused
    }

    /// The number of ops a run executes op by op.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// The number of steps a run executes with its elementwise chains fused (each a pass over
    /// memory), and how many of them are fused groups.
    pub fn fused_len(&self) -> (usize, usize) {
        let steps = self.fused.as_ref().unwrap_or(&self.steps);
        (steps.len(), steps.iter().filter(|s| matches!(s.work, Work::Fused(_))).count())
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The elements the ops write in one run: what a caller weighs a run's cost by.
    pub fn elements(&self) -> usize {
        self.elements
    }

    /// The outputs for `new_inputs` (same shapes and dtypes as the compiled inputs), recorded
    /// when recording is on.
    pub fn run(&self, new_inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        if new_inputs.len() != self.inputs.len() {
            return Err(Error::value(OP, format!("{} inputs but {} replacements", self.inputs.len(), new_inputs.len())));
        }
        for (k, ((shape, dtype), new)) in self.inputs.iter().zip(new_inputs).enumerate() {
            if new.shape() != shape.as_slice() || new.dtype() != *dtype {
                return Err(Error::shape(
                    OP,
                    format!("replacement {k} has shape {:?} ({}), the recorded input {shape:?} ({dtype})", new.shape(), new.dtype()),
                ));
            }
        }
        let mut values: Vec<Option<Tensor>> = vec![None; self.slots];
        for (&s, x) in self.input_slots.iter().zip(new_inputs) {
            values[s] = Some(x.clone());
        }
        for (s, c) in &self.constants {
            values[*s] = Some(c.clone());
        }
        let steps = match &self.fused {
            Some(fused) if !is_recording() && new_inputs.iter().all(|x| x.device() == Device::Cpu) => fused,
            _ => &self.steps,
        };
        let mut kept: Kept = vec![None; self.kept];
        for step in steps {
            let args: Vec<Tensor> = step.args.iter().map(|&a| values[a].clone().expect("computed before use")).collect();
            let y = step.run(&args, &mut kept).map_err(|e| e.within(OP))?;
            values[step.out] = Some(y);
            for &r in &step.release {
                values[r] = None;
            }
        }
        Ok(self.outputs.iter().map(|&o| values[o].clone().expect("an output is kept")).collect())
    }
}

/// Runs the trace that made `outputs` again with `new_inputs` in place of `inputs` (traced
/// tensors of the trace, usually its leaves; same shapes and dtypes). Returns the new outputs,
/// recorded when recording is on.
pub fn replay(outputs: &[Tensor], inputs: &[Tensor], new_inputs: &[Tensor]) -> Result<Vec<Tensor>> {
    Plan::compile(outputs, inputs).run(new_inputs)
}
