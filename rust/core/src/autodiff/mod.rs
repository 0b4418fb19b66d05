//! Reverse-mode automatic differentiation.
//!
//! Every op on traced tensors (while the thread is recording, i.e. inside `dlfeval`) attaches
//! a [`Node`] to its result: the op's inputs and its backward rule. A rule is written in the
//! core's own tensor ops, so running it while recording builds a graph of the backward pass,
//! which is what makes derivatives of any order possible.

pub mod grad;
pub mod trace;
pub mod walk;

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::Result;
use crate::tensor::Tensor;

/// A backward rule: given the op's inputs, its output and the gradient of the output,
/// the gradient of each input (`None` where an input takes no gradient).
pub type Rule = dyn Fn(&[Tensor], &Tensor, &Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync;

pub struct Op {
    pub name: &'static str,
    pub inputs: Vec<Tensor>,
    pub rule: Box<Rule>,
    pub shortcut: Option<Shortcut>,
}

/// A second way to the gradient of an input's own input: for an op whose input 0, `v`, was
/// made by a one-input op from `target`, `rule(inputs, output, g)` is the gradient of
/// `target` through both ops at once. `dlgradient` takes it instead of passing `g` through
/// `v` (then `v`'s gradient from this op is only reported, when `v` itself was asked for).
/// It exists for `log(softmax(x))`, whose chain through the probabilities underflows.
pub struct Shortcut {
    pub target: Tensor,
    pub rule: Box<ShortcutRule>,
}

/// A shortcut's rule: given the op's inputs, its output and the gradient of the output, the
/// gradient of the target.
pub type ShortcutRule = dyn Fn(&[Tensor], &Tensor, &Tensor) -> Result<Tensor> + Send + Sync;

impl Op {
    /// The op of a traced input to `dlfeval`: no inputs, nothing to propagate.
    pub fn leaf() -> Op {
        Op { name: "leaf", inputs: vec![], rule: Box::new(|_, _, _| Ok(vec![])), shortcut: None }
    }

    pub fn new(
        name: &'static str,
        inputs: Vec<Tensor>,
        rule: impl Fn(&[Tensor], &Tensor, &Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
    ) -> Op {
        Op { name, inputs, rule: Box::new(rule), shortcut: None }
    }

    pub fn with_shortcut(
        mut self,
        target: &Tensor,
        rule: impl Fn(&[Tensor], &Tensor, &Tensor) -> Result<Tensor> + Send + Sync + 'static,
    ) -> Op {
        self.shortcut = Some(Shortcut { target: target.clone(), rule: Box::new(rule) });
        self
    }

    /// The shortcut, when it applies: `target` is really the input of the op that made input 0.
    pub(crate) fn live_shortcut(&self) -> Option<&Shortcut> {
        let s = self.shortcut.as_ref()?;
        let via = self.inputs.first()?.node()?;
        (via.op.inputs.len() == 1 && via.op.inputs[0].id() == s.target.id()).then_some(s)
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
