//! A recorded trace as data: listing it, and running it again on new inputs.
//!
//! [`forward`] is the one place that maps an [`OpKind`] to the op that computes it, so a trace
//! replays op by op through the same kernels that recorded it. Values that were not traced
//! when recorded (constants, and values computed from them) are replayed as they were.

use std::collections::HashMap;
use std::fmt::Write;

use super::walk::topological_order;
use super::Op;
use crate::error::{Error, Result};
use crate::op::OpKind;
use crate::tensor::{Tensor, TensorId};

/// The output of `kind` on `inputs`; `recorded` is the op's recorded output (the value of
/// [`OpKind::ConstantGradient`], which no input determines).
pub fn forward(kind: &OpKind, inputs: &[Tensor], recorded: &Tensor) -> Result<Tensor> {
    use OpKind::*;
    let x = || inputs.first().ok_or_else(|| Error::value(kind.name(), "replayed without inputs"));
    match kind {
        Leaf => Err(Error::value("replay", "a leaf has no op to replay; pass it among the inputs")),
        Alias => {
            let x = x()?;
            Ok(Tensor::from_op_shared(x.shared_buffer(), x.shape().to_vec(), Alias, &[x]))
        }
        ConstantGradient => Ok(Tensor::from_op_shared(recorded.shared_buffer(), recorded.shape().to_vec(), ConstantGradient, &[x()?])),
        Unary(op) => x()?.unary(*op),
        AbsComplex => x()?.abs_complex(),
        ReluGrad => inputs[0].relu_grad(&inputs[1]),
        LeakyRelu { scale } => x()?.leaky_relu(*scale),
        LeakyReluSlope { scale } => x()?.leaky_relu_slope(*scale),
        StopGradient => Ok(x()?.stop_gradient()),
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
        PoolGather { idx } => x()?.pool_gather(idx.clone(), recorded.shape().to_vec()),
        AvgPool { window, padding_value_counts } => x()?.avgpool_impl(window, *padding_value_counts),
        AvgPoolBackward { window, padding_value_counts, input_shape } => {
            x()?.avgpool_backward_impl(input_shape, window, *padding_value_counts)
        }
        Batchnorm { axis, epsilon } => Ok(inputs[0].batchnorm_train(&inputs[1], &inputs[2], *axis, *epsilon)?.0),
        BatchnormMean { axis } => Ok(x()?.batch_statistics(*axis)?.0),
        BatchnormVar { axis } => Ok(x()?.batch_statistics(*axis)?.1),
        Standardize { axes, epsilon } => x()?.standardize(axes, *epsilon),
        Lstm { dims, state, gate } => Ok(Tensor::lstm_fused(inputs, *dims, *state, *gate)),
        Gru { mode, state, gate, .. } => {
            Ok(Tensor::gru(&inputs[0], &inputs[1], &inputs[2], &inputs[3], &inputs[4], *mode, *state, *gate)?.0)
        }
    }
}

/// Runs the trace that made `outputs` again with `new_inputs` in place of `inputs` (traced
/// tensors of the trace, usually its leaves; same shapes and dtypes). Returns the new outputs,
/// recorded when recording is on.
pub fn replay(outputs: &[Tensor], inputs: &[Tensor], new_inputs: &[Tensor]) -> Result<Vec<Tensor>> {
    const OP: &str = "replay";
    if inputs.len() != new_inputs.len() {
        return Err(Error::value(OP, format!("{} inputs but {} replacements", inputs.len(), new_inputs.len())));
    }
    let mut values: HashMap<TensorId, Tensor> = HashMap::new();
    for (k, (old, new)) in inputs.iter().zip(new_inputs).enumerate() {
        if old.shape() != new.shape() || old.dtype() != new.dtype() {
            return Err(Error::shape(
                OP,
                format!(
                    "replacement {k} has shape {:?} ({}), the recorded input {:?} ({})",
                    new.shape(),
                    new.dtype(),
                    old.shape(),
                    old.dtype()
                ),
            ));
        }
        values.insert(old.id(), new.clone());
    }
    let stop = values.keys().copied().collect();
    for out in outputs {
        for t in topological_order(out, &stop) {
            if values.contains_key(&t.id()) {
                continue;
            }
            let value = match t.node() {
                Some(node) if !node.is_leaf() => {
                    let args: Vec<Tensor> = node.op.inputs.iter().map(|i| values.get(&i.id()).unwrap_or(i).clone()).collect();
                    forward(&node.op.kind, &args, &t).map_err(|e| e.within(OP))?
                }
                _ => t.clone(),
            };
            values.insert(t.id(), value);
        }
    }
    Ok(outputs.iter().map(|o| values[&o.id()].clone()).collect())
}

/// The trace that made `root`, one op a line in the order they ran:
/// `%3 = multiply(%1, %2)  [2, 3] float32`, leaves as `%1 = leaf  [2, 3] float32`.
/// Inputs that were not traced show as `const[shape]`.
pub fn listing(root: &Tensor) -> String {
    let order = topological_order(root, &Default::default());
    let number: HashMap<TensorId, usize> = order.iter().enumerate().map(|(i, t)| (t.id(), i)).collect();
    let mut text = String::new();
    for (i, t) in order.iter().enumerate() {
        let Some(node) = t.node() else { continue };
        let op: &Op = &node.op;
        let args: Vec<String> = op
            .inputs
            .iter()
            .map(|x| match number.get(&x.id()) {
                Some(k) if x.is_traced() => format!("%{k}"),
                _ => format!("const{:?}", x.shape()),
            })
            .collect();
        let attrs = op.kind.attributes();
        let sep = if attrs.is_empty() || args.is_empty() { "" } else { ", " };
        let call =
            if matches!(op.kind, OpKind::Leaf) { "leaf".to_string() } else { format!("{}({}{sep}{attrs})", op.name(), args.join(", ")) };
        let _ = writeln!(text, "%{i} = {call}  {:?} {}", t.shape(), t.dtype());
    }
    text
}
