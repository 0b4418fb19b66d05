//! A recorded trace as text, one op a line (what `dltrace` shows).

use std::collections::HashMap;
use std::fmt::Write;

use super::walk::topological_order;
use super::Op;
use crate::op::OpKind;
use crate::tensor::{Tensor, TensorId};

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
