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
}

impl Op {
    /// The op of a traced input to `dlfeval`: no inputs, nothing to propagate.
    pub fn leaf() -> Op {
        Op { name: "leaf", inputs: vec![], rule: Box::new(|_, _, _| Ok(vec![])) }
    }

    pub fn new(
        name: &'static str,
        inputs: Vec<Tensor>,
        rule: impl Fn(&[Tensor], &Tensor, &Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
    ) -> Op {
        Op { name, inputs, rule: Box::new(rule) }
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
