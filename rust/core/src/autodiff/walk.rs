//! The one graph walker: back-propagation of a seed gradient from a tensor to chosen tensors
//! through the recorded graph. `dlgradient` and every composite op's backward rule (the
//! fused recurrent ops differentiate their unfused form) run it.

use std::collections::{HashMap, HashSet};

use super::rules;
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorId};

pub struct Walk<'a> {
    /// The tensors whose gradients are wanted.
    pub targets: &'a [Tensor],
    /// Do not look past the targets: the graph beyond them is not this walk's (a composite's
    /// rule rebuilds its op from aliases of its inputs and must not enter the outer graph).
    pub stop_at_targets: bool,
    /// Hand each rule its inputs that lead to no target untraced, so that it skips their
    /// gradients (first order only: a higher-order graph must keep every dependence).
    pub detach_dead_inputs: bool,
}

/// Every traced tensor `root` depends on (not beyond `stop`), inputs before the ops that use them.
pub(crate) fn topological_order(root: &Tensor, stop: &HashSet<TensorId>) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut seen: HashSet<TensorId> = HashSet::new();
    // Iterative DFS: (tensor, children pushed?) so deep graphs (long RNNs) cannot overflow.
    let mut stack: Vec<(Tensor, bool)> = vec![(root.clone(), false)];
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        if !seen.insert(t.id()) {
            continue;
        }
        stack.push((t.clone(), true));
        if stop.contains(&t.id()) {
            continue;
        }
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

impl Walk<'_> {
    /// Propagates `seed` (the gradient of `root`) back through the graph; returns each
    /// target's gradient (`None` where `root` does not depend on it) and the tensors walked,
    /// in topological order. Rules run in the caller's recording state.
    pub fn run(&self, root: &Tensor, seed: Tensor) -> Result<(Vec<Option<Tensor>>, Vec<Tensor>)> {
        let targets: HashSet<TensorId> = self.targets.iter().map(|x| x.id()).collect();
        let stop = if self.stop_at_targets { targets.clone() } else { HashSet::new() };
        let order = topological_order(root, &stop);
        // The tensors on a path from some target to root: only their gradients are worth computing.
        let mut leads = targets.clone();
        for t in &order {
            if let Some(node) = t.node() {
                if !stop.contains(&t.id()) && node.op.inputs.iter().any(|i| leads.contains(&i.id())) {
                    leads.insert(t.id());
                }
            }
        }
        let mut grads: HashMap<TensorId, Tensor> = HashMap::new();
        grads.insert(root.id(), seed);
        // Gradients of targets that are not propagated further (see `Op::shortcut_target`).
        let mut reported: HashMap<TensorId, Tensor> = HashMap::new();
        for t in order.iter().rev() {
            if stop.contains(&t.id()) {
                continue;
            }
            let node = match t.node() {
                Some(n) if !n.is_leaf() => n,
                _ => continue,
            };
            // A target's gradient is kept for the caller; any other is not needed once propagated.
            let g = match if targets.contains(&t.id()) { grads.get(&t.id()).cloned() } else { grads.remove(&t.id()) } {
                Some(g) => g,
                None => continue,
            };
            if node.is_freed() {
                return Err(Error::autodiff(
                    "dlgradient",
                    format!(
                        "the trace through '{}' was freed by an earlier dlgradient call; pass retain_data=True to the \
                         first call to differentiate the same trace again",
                        node.op.name()
                    ),
                ));
            }
            if !leads.contains(&t.id()) {
                continue;
            }
            let pruned: Vec<Tensor>;
            let inputs = if self.detach_dead_inputs && node.op.inputs.iter().any(|i| i.is_traced() && !leads.contains(&i.id())) {
                pruned = node.op.inputs.iter().map(|i| if leads.contains(&i.id()) { i.clone() } else { i.detach() }).collect();
                &pruned
            } else {
                &node.op.inputs
            };
            // A shortcut sends g straight to the input of input 0's op; input 0 then gets this
            // op's contribution only as a reported value, when it is a target itself.
            let shortcut = node.op.shortcut_target().filter(|s| leads.contains(&s.id()));
            let via_target = shortcut.is_some() && targets.contains(&node.op.inputs[0].id());
            if let Some(target) = shortcut {
                accumulate(&mut grads, target, rules::shortcut(&node.op, inputs, &g)?)?;
            }
            if shortcut.is_none() || via_target || node.op.inputs.len() > 1 {
                let input_grads = rules::backward(&node.op, inputs, t, &g)?;
                for (k, (inp, ig)) in node.op.inputs.iter().zip(input_grads).enumerate() {
                    let ig = match ig {
                        Some(ig) if inp.is_traced() && leads.contains(&inp.id()) => ig,
                        _ => continue,
                    };
                    if shortcut.is_some() && k == 0 {
                        if via_target {
                            accumulate(&mut reported, inp, ig)?;
                        }
                        continue;
                    }
                    accumulate(&mut grads, inp, ig)?;
                }
            }
        }
        let out = self
            .targets
            .iter()
            .map(|x| match (grads.get(&x.id()), reported.get(&x.id())) {
                (Some(g), Some(r)) => g.add(r).map(Some),
                (Some(g), None) | (None, Some(g)) => Ok(Some(g.clone())),
                (None, None) => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((out, order))
    }
}

/// Adds `g` to the gradient gathered so far for `t`.
fn accumulate(grads: &mut HashMap<TensorId, Tensor>, t: &Tensor, g: Tensor) -> Result<()> {
    let g = match grads.remove(&t.id()) {
        Some(prev) => prev.add(&g)?,
        None => g,
    };
    grads.insert(t.id(), g);
    Ok(())
}
