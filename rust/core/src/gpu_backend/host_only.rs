//! The backend interface in a build without the GPU engine: nothing runs on a GPU, and moving
//! an array there is refused with the reason.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernels::conv::ConvGeom;
use crate::kernels::pool::PoolGeom;
use crate::ops::{BinaryOp, CompareOp, ReduceOp, UnaryOp};
use crate::optim::rules::RuleKind;
use crate::storage::Storage;
use crate::tensor::Tensor;

/// Never: this build has no GPU backend.
pub fn available() -> bool {
    false
}

pub fn info() -> Result<Vec<(&'static str, String)>> {
    Err(Error::device("gpu_info", "this build of dlarray has no GPU backend (built without the `gpu` feature)"))
}

pub fn stats() -> Result<Vec<(&'static str, u64)>> {
    Err(Error::device("gpu_stats", "this build of dlarray has no GPU backend (built without the `gpu` feature)"))
}

pub fn check_dtype(_dtype: DType) -> Result<()> {
    Err(Error::device("gpuArray", "this build of dlarray has no GPU backend (built without the `gpu` feature)"))
}

pub(crate) fn unary(_: UnaryOp, _: &Tensor) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn binary(_: BinaryOp, _: &Tensor, _: &Tensor) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn compare(_: CompareOp, _: &Tensor, _: &Tensor) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn relu_grad(_: &Tensor, _: &Tensor) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn leaky_relu(_: &Tensor, _: f64, _: bool) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn take_rows(_: &Tensor, _: (usize, usize, usize), _: &[usize]) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn add_rows(_: &Tensor, _: (usize, usize, usize), _: &[usize]) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn index_put(_: &Tensor, _: &[usize], _: &Tensor) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn narrow(_: &Tensor, _: usize, _: usize, _: usize) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn pad_axis(_: &Tensor, _: usize, _: usize, _: usize) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn concat(_: &[&Tensor], _: usize) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn broadcast_to(_: &Tensor, _: &[usize]) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn where_(_: &Tensor, _: &Tensor, _: &Tensor) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn reduce(_: ReduceOp, _: &Tensor, _: &[usize]) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn matmul(_: &Tensor, _: &Tensor, _: bool, _: bool) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn standardize(_: &Tensor, _: &[usize], _: f64) -> Result<Option<Storage>> {
    Ok(None)
}

pub(crate) fn batchnorm_train(
    _: &Tensor,
    _: &Tensor,
    _: &Tensor,
    _: (usize, usize, usize),
    _: f64,
) -> Result<Option<(Storage, Storage, Storage)>> {
    Ok(None)
}
pub(crate) fn permute(_: &Tensor, _: &[usize]) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn softmax(_: &Tensor, _: usize, _: bool) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn optim_step(
    _: &str,
    _: RuleKind,
    _: &[f64; 6],
    _: &Tensor,
    _: &Tensor,
    _: &[Option<&Tensor>],
) -> Result<Option<(Storage, Vec<Storage>)>> {
    Ok(None)
}
pub(crate) fn conv(_: &Tensor, _: &Tensor, _: Option<&Tensor>, _: &ConvGeom, _: f64) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn conv_input_grad(_: &Tensor, _: &Tensor, _: &ConvGeom) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn conv_weight_grad(_: &Tensor, _: &Tensor, _: &ConvGeom, _: f64) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn avgpool(_: &Tensor, _: &PoolGeom, _: bool) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn avgpool_backward(_: &Tensor, _: &PoolGeom, _: bool) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn maxpool_gather(_: &Tensor, _: &Tensor, _: &PoolGeom) -> Result<Option<Storage>> {
    Ok(None)
}
pub(crate) fn maxpool_backward(_: &Tensor, _: &Tensor, _: &PoolGeom) -> Result<Option<Storage>> {
    Ok(None)
}
