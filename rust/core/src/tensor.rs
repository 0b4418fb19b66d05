//! The tensor handle: shape, dtype, device, shared storage and (when traced) its place in
//! the autodiff graph. Cloning a `Tensor` is cheap (one reference count).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::autodiff::{trace, Node, Op, OpKind, Saved};
use crate::buffer::{Buffer, IntoBuffer};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::shape::numel;

/// Where a tensor's data lives. The wgpu backend adds a variant; the tape never looks here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Device {
    Cpu,
}

pub type TensorId = u64;

fn next_id() -> TensorId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

pub(crate) struct TensorInner {
    pub(crate) id: TensorId,
    pub(crate) shape: Vec<usize>,
    pub(crate) data: Arc<Buffer>,
    pub(crate) device: Device,
    /// Present when the tensor is traced: a leaf of a `dlfeval` or the result of a recorded op.
    pub(crate) node: Option<Node>,
    /// Set when the data is `softmax(logits)` over `axis` (see [`SoftmaxOf`]).
    pub(crate) softmax_of: Option<SoftmaxOf>,
}

/// What a softmax output remembers of its input, so that `log` of it can be taken from the
/// logits (exact where the probabilities underflow). Tensors are immutable, so the link cannot
/// go stale: an assignment into an array makes a new tensor, which has no link.
#[derive(Clone)]
pub struct SoftmaxOf {
    pub logits: Tensor,
    pub axis: usize,
}

#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<TensorInner>);

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor(shape={:?}, dtype={}, traced={})", self.shape(), self.dtype(), self.is_traced())
    }
}

impl Tensor {
    // ----- construction -------------------------------------------------------------------

    pub fn from_buffer(data: Buffer, shape: Vec<usize>) -> Result<Tensor> {
        crate::limits::check_ndim("dlarray", shape.len())?;
        if data.len() != numel(&shape) {
            return Err(Error::shape("dlarray", format!("{} elements cannot have shape {:?}", data.len(), shape)));
        }
        Ok(Self::untraced(Arc::new(data), shape))
    }

    pub fn from_vec<T: IntoBuffer>(data: Vec<T>, shape: Vec<usize>) -> Result<Tensor> {
        Self::from_buffer(T::into_buffer(data), shape)
    }

    pub fn scalar<T: IntoBuffer>(v: T) -> Tensor {
        Self::untraced(Arc::new(T::into_buffer(vec![v])), vec![])
    }

    /// A 0-d tensor holding `v` as `dtype`.
    pub fn scalar_like(v: f64, dtype: DType) -> Tensor {
        Self::untraced(Arc::new(Buffer::filled(dtype, 1, v)), vec![])
    }

    pub fn full(shape: &[usize], v: f64, dtype: DType) -> Tensor {
        Self::untraced(Arc::new(Buffer::filled(dtype, numel(shape), v)), shape.to_vec())
    }

    pub fn zeros(shape: &[usize], dtype: DType) -> Tensor {
        Self::full(shape, 0.0, dtype)
    }

    pub fn ones(shape: &[usize], dtype: DType) -> Tensor {
        Self::full(shape, 1.0, dtype)
    }

    pub fn zeros_like(&self) -> Tensor {
        Self::zeros(self.shape(), self.dtype())
    }

    pub fn ones_like(&self) -> Tensor {
        Self::ones(self.shape(), self.dtype())
    }

    pub(crate) fn untraced(data: Arc<Buffer>, shape: Vec<usize>) -> Tensor {
        Tensor(Arc::new(TensorInner { id: next_id(), shape, data, device: Device::Cpu, node: None, softmax_of: None }))
    }

    /// The result of an op: recorded on the tape when recording is on and an input is traced.
    pub(crate) fn from_op(data: Buffer, shape: Vec<usize>, kind: OpKind, inputs: &[&Tensor]) -> Tensor {
        debug_assert_eq!(data.len(), numel(&shape));
        Self::from_op_saved(Arc::new(data), shape, kind, inputs, Saved::default)
    }

    /// [`Tensor::from_op`] for a result that shares its storage (a reshape).
    pub(crate) fn from_op_shared(data: Arc<Buffer>, shape: Vec<usize>, kind: OpKind, inputs: &[&Tensor]) -> Tensor {
        Self::from_op_saved(data, shape, kind, inputs, Saved::default)
    }

    /// [`Tensor::from_op`] keeping `saved()` for the backward kernel (made only when recorded).
    pub(crate) fn from_op_saved(
        data: Arc<Buffer>,
        shape: Vec<usize>,
        kind: OpKind,
        inputs: &[&Tensor],
        saved: impl FnOnce() -> Saved,
    ) -> Tensor {
        let node = if trace::is_recording() && inputs.iter().any(|t| t.is_traced()) {
            Some(Node::new(Op { kind, inputs: inputs.iter().map(|&t| t.clone()).collect(), saved: saved() }))
        } else {
            None
        };
        Tensor(Arc::new(TensorInner { id: next_id(), shape, data, device: Device::Cpu, node, softmax_of: None }))
    }

    /// Marks a freshly made op result as `softmax(logits)` over `axis`.
    pub(crate) fn with_softmax_of(mut self, logits: &Tensor, axis: usize) -> Tensor {
        let inner = Arc::get_mut(&mut self.0).expect("a fresh result has one owner");
        inner.softmax_of = Some(SoftmaxOf { logits: logits.clone(), axis });
        self
    }

    /// A traced leaf sharing this tensor's data: what `dlfeval` hands to the user's function.
    /// It keeps a softmax link (the values are unchanged), so a loss takes the same path inside
    /// and outside `dlfeval`.
    pub fn traced_leaf(&self) -> Tensor {
        Tensor(Arc::new(TensorInner {
            id: next_id(),
            shape: self.shape().to_vec(),
            data: self.0.data.clone(),
            device: self.device(),
            node: Some(Node::new(Op::leaf())),
            softmax_of: self.0.softmax_of.clone(),
        }))
    }

    /// The same data with the trace removed (a softmax link is kept: the values are unchanged).
    pub fn detach(&self) -> Tensor {
        if !self.is_traced() {
            return self.clone();
        }
        Tensor(Arc::new(TensorInner {
            id: next_id(),
            shape: self.shape().to_vec(),
            data: self.0.data.clone(),
            device: self.device(),
            node: None,
            softmax_of: self.0.softmax_of.clone(),
        }))
    }

    /// The same data, recorded as an op that passes no gradient back: a value that a backward
    /// rule holds constant, yet which a replayed trace recomputes (unlike [`Tensor::detach`]).
    pub fn stop_gradient(&self) -> Tensor {
        Tensor::from_op_shared(self.shared_buffer(), self.shape().to_vec(), OpKind::StopGradient, &[self])
    }

    // ----- accessors ----------------------------------------------------------------------

    pub fn id(&self) -> TensorId {
        self.0.id
    }
    pub fn shape(&self) -> &[usize] {
        &self.0.shape
    }
    pub fn ndim(&self) -> usize {
        self.0.shape.len()
    }
    pub fn numel(&self) -> usize {
        self.0.data.len()
    }
    pub fn dtype(&self) -> DType {
        self.0.data.dtype()
    }
    pub fn device(&self) -> Device {
        self.0.device
    }
    pub fn buffer(&self) -> &Buffer {
        &self.0.data
    }
    pub fn shared_buffer(&self) -> Arc<Buffer> {
        self.0.data.clone()
    }
    pub fn is_traced(&self) -> bool {
        self.0.node.is_some()
    }
    pub(crate) fn node(&self) -> Option<&Node> {
        self.0.node.as_ref()
    }
    /// The logits and axis when this tensor is a softmax output.
    pub fn softmax_of(&self) -> Option<&SoftmaxOf> {
        self.0.softmax_of.as_ref()
    }

    /// The typed data slice; panics only on a dtype mismatch, which callers rule out.
    pub fn as_slice<T: IntoBuffer>(&self) -> Option<&[T]> {
        T::slice_of(&self.0.data)
    }

    pub fn to_f64_vec(&self) -> Vec<f64> {
        self.0.data.to_f64_vec()
    }

    /// The value of a one-element tensor.
    pub fn item(&self) -> Result<crate::dtype::C64> {
        if self.numel() != 1 {
            return Err(Error::shape("item", format!("only one-element arrays convert to scalars, got shape {:?}", self.shape())));
        }
        Ok(self.0.data.to_c64_vec()[0])
    }

    pub fn is_scalar_like(&self) -> bool {
        self.numel() == 1
    }

    pub(crate) fn typed<T: Element + IntoBuffer>(&self) -> &[T] {
        T::slice_of(&self.0.data).expect("dtype checked by caller")
    }
}
