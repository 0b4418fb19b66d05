//! `dlgradient`: walk the graph from `y` back to the requested tensors.

use std::collections::{HashMap, HashSet};

use super::trace;
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorId};

pub struct GradOptions {
    pub retain_data: bool,
    pub enable_higher_derivatives: bool,
}

/// Every traced tensor `y` depends on, inputs before the ops that use them.
fn topological_order(y: &Tensor) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut seen: HashSet<TensorId> = HashSet::new();
    // Iterative DFS: (tensor, children pushed?) so deep graphs (long RNNs) cannot overflow.
    let mut stack: Vec<(Tensor, bool)> = vec![(y.clone(), false)];
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        if !seen.insert(t.id()) {
            continue;
        }
        stack.push((t.clone(), true));
        if let Some(node) = t.node() {
            for inp in &node.op.inputs {
                if inp.is_traced() && !seen.contains(&inp.id()) {
                    stack.push((inp.clone(), false));
                }
            }
        }
    }
    order
}

/// Gradients of the real scalar `y` with respect to each of `xs`.
pub fn gradient(y: &Tensor, xs: &[Tensor], opts: &GradOptions) -> Result<Vec<Tensor>> {
    const OP: &str = "dlgradient";
    if !trace::in_dlfeval() {
        return Err(Error::autodiff(OP, "dlgradient must be called inside a function evaluated by dlfeval"));
    }
    if y.numel() != 1 {
        return Err(Error::autodiff(
            OP,
            format!("y must be a scalar, got shape {:?}; reduce it first, e.g. with sum()", y.shape()),
        ));
    }
    if y.dtype().is_complex() {
        return Err(Error::autodiff(OP, "y must be real, got a complex value; take real() or abs() first"));
    }
    for (i, x) in xs.iter().enumerate() {
        if !x.is_traced() {
            return Err(Error::autodiff(
                OP,
                format!(
                    "input {i} (shape {:?}) is not traced: pass arrays that were inputs of dlfeval or computed from them",
                    x.shape()
                ),
            ));
        }
    }
    if !y.is_traced() {
        return Err(Error::autodiff(
            OP,
            "y is not traced: it does not depend on the inputs of dlfeval (to differentiate a gradient, \
             compute it with enable_higher_derivatives=True)",
        ));
    }

    let order = topological_order(y);
    let higher = opts.enable_higher_derivatives;
    // The tensors on a path from some x to y: only their gradients are worth computing.
    let mut leads: HashSet<TensorId> = xs.iter().map(|x| x.id()).collect();
    for t in &order {
        if let Some(node) = t.node() {
            if node.op.inputs.iter().any(|i| leads.contains(&i.id())) {
                leads.insert(t.id());
            }
        }
    }
    let mut grads: HashMap<TensorId, Tensor> = HashMap::new();
    grads.insert(y.id(), Tensor::ones(y.shape(), y.dtype()));

    trace::with_recording(higher, || -> Result<()> {
        for t in order.iter().rev() {
            let node = match t.node() {
                Some(n) if !n.is_leaf() => n,
                _ => continue,
            };
            let g = match grads.get(&t.id()) {
                Some(g) => g.clone(),
                None => continue,
            };
            if node.is_freed() {
                return Err(Error::autodiff(
                    OP,
                    format!(
                        "the trace through '{}' was freed by an earlier dlgradient call; pass retain_data=True to the \
                         first call to differentiate the same trace again",
                        node.op.name
                    ),
                ));
            }
            if !leads.contains(&t.id()) {
                continue;
            }
            // First order: inputs that lead to no x are handed over untraced, so the rule skips
            // their gradients (a data input's gradient costs as much as the weights'). With
            // higher derivatives every input stays traced: the gradient's own graph must keep
            // its dependence on them for later differentiation.
            let pruned: Vec<Tensor>;
            let inputs = if !higher && node.op.inputs.iter().any(|i| i.is_traced() && !leads.contains(&i.id())) {
                pruned = node.op.inputs.iter().map(|i| if leads.contains(&i.id()) { i.clone() } else { i.detach() }).collect();
                &pruned
            } else {
                &node.op.inputs
            };
            let input_grads = (node.op.rule)(inputs, t, &g)?;
            for (inp, ig) in node.op.inputs.iter().zip(input_grads) {
                let ig = match ig {
                    Some(ig) if inp.is_traced() && leads.contains(&inp.id()) => ig,
                    _ => continue,
                };
                let ig = match grads.remove(&inp.id()) {
                    Some(prev) => prev.add(&ig)?,
                    None => ig,
                };
                grads.insert(inp.id(), ig);
            }
            if !higher {
                // Intermediate gradients are not needed once propagated (first order only:
                // with higher derivatives they are part of the recorded graph anyway).
                if !xs.iter().any(|x| x.id() == t.id()) {
                    grads.remove(&t.id());
                }
            }
        }
        Ok(())
    })?;

    if !opts.retain_data && !higher {
        for t in &order {
            if let Some(n) = t.node() {
                if !n.is_leaf() {
                    n.free();
                }
            }
        }
    }

    xs.iter()
        .map(|x| {
            let g = match grads.get(&x.id()) {
                Some(g) => g.clone(),
                None => Tensor::zeros(x.shape(), x.dtype()),
            };
            let g = if g.dtype() != x.dtype() { trace::with_recording(higher, || g.cast(x.dtype()))? } else { g };
            if higher { Ok(traced_constant(g, x)) } else { Ok(g.detach()) }
        })
        .collect()
}

/// With higher derivatives on, every returned gradient must be traced so that it can be
/// differentiated again. A gradient that came out untraced (the zeros of an `x` that `y`
/// does not reach, the ones of `y = sum(x)`, the constant slope of a linear `y`) does not
/// depend on any traced value, so its own derivative is zero: it is attached to `x` by an op
/// that propagates nothing, which makes a further `dlgradient` return exact zeros instead of
/// failing with "y is not traced".
fn traced_constant(g: Tensor, x: &Tensor) -> Tensor {
    if g.is_traced() {
        return g;
    }
    let shape = g.shape().to_vec();
    trace::with_recording(true, || {
        Tensor::from_op_shared(
            g.shared_buffer(),
            shape,
            || crate::autodiff::Op::new("constant_gradient", vec![x.clone()], |_, _, _| Ok(vec![None])),
            &[x],
        )
    })
}
