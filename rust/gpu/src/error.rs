//! The one error type of the GPU engine. Every failure of wgpu (no adapter, a validation or
//! out-of-memory error, a lost device, a wait that ran out of time) ends up here as a value:
//! the engine never lets wgpu panic and never waits without a time limit.

use std::fmt;

/// Why a GPU operation could not run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GpuError {
    /// This build has no GPU backend (the crate's `gpu` feature is off).
    NotCompiled,
    /// No adapter could be used: none found, or only CPU adapters while
    /// `DLARRAY_GPU_ADAPTER=any` is not set. The text says what was found.
    NoAdapter(String),
    /// The adapter refused to create a device.
    RequestDevice(String),
    /// The device was lost (driver reset, removal, or destroyed); nothing more runs on it.
    DeviceLost(String),
    /// The device could not allocate memory.
    OutOfMemory { requested_bytes: u64 },
    /// An array larger than the adapter lets one buffer or one binding hold.
    BindingLimit { requested_bytes: u64, limit_bytes: u64, what: &'static str },
    /// A dispatch larger than the adapter's workgroup grid can express.
    DispatchLimit { workgroups: u64, limit: u64 },
    /// The data type cannot run on this adapter (for example float64 without `shader-f64`).
    UnsupportedDType { dtype: &'static str, op: String, adapter: String },
    /// wgpu rejected a call: a bug in the engine or in the arguments it was given.
    Validation(String),
    /// A wait for the device did not finish within the engine's time limit.
    Timeout { millis: u64 },
    /// Arguments that do not describe a valid operation (shapes, axes, lengths).
    InvalidArgument(String),
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuError::NotCompiled => f.write_str("this build of dlarray has no GPU backend (feature `gpu` is off)"),
            GpuError::NoAdapter(why) => write!(f, "no usable GPU adapter: {why}"),
            GpuError::RequestDevice(why) => write!(f, "the GPU adapter refused to create a device: {why}"),
            GpuError::DeviceLost(why) => write!(f, "the GPU device was lost: {why}"),
            GpuError::OutOfMemory { requested_bytes } => {
                write!(f, "the GPU is out of memory (allocating {requested_bytes} bytes)")
            }
            GpuError::BindingLimit { requested_bytes, limit_bytes, what } => {
                write!(f, "an array of {requested_bytes} bytes exceeds the GPU's {what} of {limit_bytes} bytes")
            }
            GpuError::DispatchLimit { workgroups, limit } => {
                write!(f, "a GPU dispatch of {workgroups} workgroups exceeds the adapter's grid ({limit} per dimension)")
            }
            GpuError::UnsupportedDType { dtype, op, adapter } => {
                write!(f, "{dtype} is not supported for `{op}` on the GPU adapter \"{adapter}\"")
            }
            GpuError::Validation(msg) => write!(f, "GPU validation error: {msg}"),
            GpuError::Timeout { millis } => write!(f, "the GPU did not finish within {millis} ms"),
            GpuError::InvalidArgument(msg) => write!(f, "invalid GPU operation: {msg}"),
        }
    }
}

impl std::error::Error for GpuError {}

#[cfg(feature = "gpu")]
impl From<wgpu::Error> for GpuError {
    fn from(e: wgpu::Error) -> Self {
        match e {
            wgpu::Error::OutOfMemory { .. } => GpuError::OutOfMemory { requested_bytes: 0 },
            wgpu::Error::Validation { description, .. } => GpuError::Validation(description),
            wgpu::Error::Internal { description, .. } => GpuError::Validation(description),
        }
    }
}
