//! The tensor handle: shape, dtype, storage (host or GPU, shared) and (when traced) its place in
//! the autodiff graph. Cloning a `Tensor` is cheap (one reference count).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::autodiff::{trace, Node, Op, OpKind, Saved};
use crate::buffer::{Buffer, IntoBuffer};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::shape::numel;
pub use crate::storage::Device;
use crate::storage::{DeviceArray, Storage};

pub type TensorId = u64;

fn next_id() -> TensorId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

pub(crate) struct TensorInner {
    pub(crate) id: TensorId,
    pub(crate) shape: Vec<usize>,
    pub(crate) data: Storage,
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

    /// Zeros of this tensor's shape and dtype, on its device.
    pub fn zeros_like(&self) -> Tensor {
        Self::zeros(self.shape(), self.dtype()).on_device_of(self)
    }

    /// Ones of this tensor's shape and dtype, on its device.
    pub fn ones_like(&self) -> Tensor {
        Self::ones(self.shape(), self.dtype()).on_device_of(self)
    }

    /// A fresh untraced tensor placed on `other`'s device (its host data becomes the GPU
    /// array's host copy, uploaded when a GPU kernel needs it).
    pub(crate) fn on_device_of(self, other: &Tensor) -> Tensor {
        self.on_device(other.device())
    }

    /// [`Tensor::on_device_of`] for a device named directly.
    pub(crate) fn on_device(self, device: Device) -> Tensor {
        match (&self.0.data, device) {
            (Storage::Host(host), Device::Gpu) if !self.is_traced() => {
                Tensor::untraced_storage(Storage::Device(Arc::new(DeviceArray::mirror_of(host.clone()))), self.shape().to_vec())
            }
            _ => self,
        }
    }

    pub(crate) fn untraced(data: Arc<Buffer>, shape: Vec<usize>) -> Tensor {
        Self::untraced_storage(Storage::Host(data), shape)
    }

    pub(crate) fn untraced_storage(data: Storage, shape: Vec<usize>) -> Tensor {
        Tensor(Arc::new(TensorInner { id: next_id(), shape, data, node: None, softmax_of: None }))
    }

    /// The result of an op: recorded on the tape when recording is on and an input is traced.
    pub(crate) fn from_op(data: Buffer, shape: Vec<usize>, kind: OpKind, inputs: &[&Tensor]) -> Tensor {
        debug_assert_eq!(data.len(), numel(&shape));
        Self::from_op_saved(Arc::new(data), shape, kind, inputs, Saved::default)
    }

    /// [`Tensor::from_op`] for a result that shares its storage (a reshape) or that a GPU
    /// kernel made.
    pub(crate) fn from_op_storage(data: impl Into<Storage>, shape: Vec<usize>, kind: OpKind, inputs: &[&Tensor]) -> Tensor {
        Self::from_op_saved(data, shape, kind, inputs, Saved::default)
    }

    /// [`Tensor::from_op`] keeping `saved()` for the backward kernel (made only when recorded).
    /// A result computed on the host from an input on the GPU belongs on the GPU (MATLAB's
    /// rule: one operand on the GPU puts the result there).
    pub(crate) fn from_op_saved(
        data: impl Into<Storage>,
        shape: Vec<usize>,
        kind: OpKind,
        inputs: &[&Tensor],
        saved: impl FnOnce() -> Saved,
    ) -> Tensor {
        let mut data = data.into();
        if let Storage::Host(host) = &data {
            // A transfer is placed where it was asked to go.
            if !matches!(kind, OpKind::ToDevice { .. }) && Self::any_on_gpu(inputs.iter().copied()) {
                data = Storage::Device(Arc::new(DeviceArray::mirror_of(host.clone())));
            }
        }
        let node = if trace::is_recording() && inputs.iter().any(|t| t.is_traced()) {
            Some(Node::new(Op { kind, inputs: inputs.iter().map(|&t| t.clone()).collect(), saved: saved() }))
        } else {
            None
        };
        Tensor(Arc::new(TensorInner { id: next_id(), shape, data, node, softmax_of: None }))
    }

    /// This tensor's data on `device`, recorded (the gradient goes back to where the input
    /// was). Refused, with the reason, where the GPU cannot be used or cannot hold the dtype.
    pub fn to_device(&self, device: Device) -> Result<Tensor> {
        if self.device() == device {
            return Ok(self.clone());
        }
        let data = self.0.data.placed(device)?;
        Ok(Tensor::from_op_storage(data, self.shape().to_vec(), OpKind::ToDevice { device }, &[self]))
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
            node: None,
            softmax_of: self.0.softmax_of.clone(),
        }))
    }

    /// The same data, recorded as an op that passes no gradient back: a value that a backward
    /// rule holds constant, yet which a replayed trace recomputes (unlike [`Tensor::detach`]).
    pub fn stop_gradient(&self) -> Tensor {
        Tensor::from_op_storage(self.storage().clone(), self.shape().to_vec(), OpKind::StopGradient, &[self])
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
        self.0.data.device()
    }
    /// Whether any of `ts` is on the GPU, which puts an op's result there (MATLAB's rule).
    pub(crate) fn any_on_gpu<'a>(ts: impl IntoIterator<Item = &'a Tensor>) -> bool {
        ts.into_iter().any(|t| t.device() == Device::Gpu)
    }
    /// The elements in host memory (a GPU array is read back once, on first use).
    pub fn buffer(&self) -> Result<&Buffer> {
        Ok(self.0.data.host()?)
    }
    /// [`Tensor::buffer`], shared.
    pub fn shared_buffer(&self) -> Result<Arc<Buffer>> {
        Ok(self.0.data.host()?.clone())
    }
    /// Where the elements are (a reshape shares them as they are).
    pub fn storage(&self) -> &Storage {
        &self.0.data
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

    /// The typed host data; `None` for another dtype (or a GPU array that cannot be read back).
    pub fn as_slice<T: IntoBuffer>(&self) -> Option<&[T]> {
        T::slice_of(self.buffer().ok()?)
    }

    pub fn to_f64_vec(&self) -> Result<Vec<f64>> {
        Ok(self.buffer()?.to_f64_vec())
    }

    /// The value of a one-element tensor.
    pub fn item(&self) -> Result<crate::dtype::C64> {
        if self.numel() != 1 {
            return Err(Error::shape("item", format!("only one-element arrays convert to scalars, got shape {:?}", self.shape())));
        }
        Ok(self.buffer()?.to_c64_vec()[0])
    }

    pub fn is_scalar_like(&self) -> bool {
        self.numel() == 1
    }

    /// The typed host data; the dtype is checked by the caller.
    pub(crate) fn typed<T: Element + IntoBuffer>(&self) -> Result<&[T]> {
        T::slice_of(self.buffer()?).ok_or_else(|| Error::internal("typed", format!("{} data read as another dtype", self.dtype())))
    }
}
