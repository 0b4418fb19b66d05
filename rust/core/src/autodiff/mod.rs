//! Reverse-mode automatic differentiation.
//!
//! Every op on traced tensors (while the thread is recording, i.e. inside `dlfeval`) attaches
//! a [`Node`] to its result: the op as data ([`OpKind`]) and its inputs. Its backward rule
//! ([`rules`]) is written in the core's own tensor ops, so running it while recording builds
//! a graph of the backward pass, which is what makes derivatives of any order possible. The
//! recorded graph can be listed and replayed on new inputs ([`replay`]).

pub(crate) mod fusion;
pub mod grad;
pub mod listing;
pub mod replay;
pub(crate) mod rules;
pub mod trace;
pub mod walk;

use std::sync::atomic::{AtomicBool, Ordering};

pub use crate::op::{OpKind, Saved};
use crate::tensor::Tensor;

/// A recorded op: what it computed ([`OpKind`]), from which inputs, and what its forward
/// kernel kept for the backward one.
pub struct Op {
    pub kind: OpKind,
    pub inputs: Vec<Tensor>,
    pub saved: Saved,
}

impl Op {
    /// The op of a traced input to `dlfeval`: no inputs, nothing to propagate.
    pub fn leaf() -> Op {
        Op::new(OpKind::Leaf, vec![])
    }

    pub fn new(kind: OpKind, inputs: Vec<Tensor>) -> Op {
        Op { kind, inputs, saved: Saved::Nothing }
    }

    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// A second way to the gradient of an input's own input, when it applies. For `log` of a
    /// softmax output `p` (input 0) made from `logits`, the gradient of the logits through
    /// both ops at once ([`rules::shortcut`]); `dlgradient` takes it instead of passing `g`
    /// through `p`, whose chain underflows with the probabilities (then `p`'s gradient from
    /// this op is only reported, when `p` itself was asked for). Returns the logits.
    pub(crate) fn shortcut_target(&self) -> Option<&Tensor> {
        let OpKind::SoftmaxLog { axis } = self.kind else { return None };
        let via = self.inputs.first()?.node()?;
        match via.op.kind {
            OpKind::Softmax { axis: a } if a == axis && via.op.inputs.len() == 1 => via.op.inputs.first(),
            _ => None,
        }
    }
}

pub struct Node {
    pub(crate) op: Op,
    /// Set once a `dlgradient` without `retain_data` has walked through this node.
    freed: AtomicBool,
}

impl Node {
    pub(crate) fn new(op: Op) -> Node {
        Node { op, freed: AtomicBool::new(false) }
    }
    pub(crate) fn is_freed(&self) -> bool {
        self.freed.load(Ordering::Relaxed)
    }
    pub(crate) fn free(&self) {
        self.freed.store(true, Ordering::Relaxed)
    }
    pub fn is_leaf(&self) -> bool {
        self.op.inputs.is_empty()
    }
}

pub use grad::gradient;
