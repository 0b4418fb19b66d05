//! dlarray-core: tensors, CPU kernels and a reverse-mode tape whose backward pass is itself
//! differentiable. Usable from Rust without Python.

pub mod autodiff;
pub mod buffer;
pub mod dl_ops;
pub mod dtype;
pub mod error;
pub mod format;
pub mod gpu_backend;
pub mod guard;
pub mod host_vec;
pub mod indexing;
pub mod kernels;
pub mod labeled;
pub mod limits;
pub mod memory;
pub mod op;
pub mod ops;
pub mod optim;
pub mod shape;
pub mod storage;
pub mod tensor;

pub use autodiff::grad::{gradient, GradOptions};
pub use buffer::Buffer;
pub use dtype::DType;
pub use error::{Error, Result};
pub use format::{Format, Label};
pub use labeled::DlArray;
pub use tensor::{Device, Tensor};
