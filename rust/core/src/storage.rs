//! Where a tensor's elements live: host memory, or the GPU.
//!
//! A device array keeps up to two copies, each made on first use and never changed after
//! (arrays are immutable): the device buffer, which the GPU kernels read and write, and a host
//! mirror, which every op without a GPU kernel reads. An op's result on the host that belongs
//! on the device (because an input was there) starts with only its host copy and is uploaded
//! when a GPU kernel first needs it, so a run of host-only ops never round-trips through the
//! device, and a run of GPU ops never reads back until the user does.

use std::sync::{Arc, OnceLock};

use crate::buffer::Buffer;
use crate::dtype::DType;
use crate::error::{Error, Result};

/// Where a tensor's data lives. The tape never looks here: backward rules are written in the
/// differentiable ops, which run wherever their inputs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Device {
    Cpu,
    Gpu,
}

impl Device {
    pub fn name(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Gpu => "gpu",
        }
    }

    pub fn from_name(name: &str) -> Option<Device> {
        match name {
            "cpu" => Some(Device::Cpu),
            "gpu" => Some(Device::Gpu),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Storage {
    Host(Arc<Buffer>),
    Device(Arc<DeviceArray>),
}

/// The elements of a GPU array: a device buffer, a host mirror, or both (always at least one).
#[derive(Debug)]
pub struct DeviceArray {
    dtype: DType,
    len: usize,
    host: OnceLock<Arc<Buffer>>,
    #[cfg(feature = "gpu")]
    gpu: OnceLock<dlarray_gpu::GpuBuffer>,
}

impl From<Arc<Buffer>> for Storage {
    fn from(b: Arc<Buffer>) -> Storage {
        Storage::Host(b)
    }
}

impl From<Buffer> for Storage {
    fn from(b: Buffer) -> Storage {
        Storage::Host(Arc::new(b))
    }
}

impl Storage {
    pub fn dtype(&self) -> DType {
        match self {
            Storage::Host(b) => b.dtype(),
            Storage::Device(d) => d.dtype,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Storage::Host(b) => b.len(),
            Storage::Device(d) => d.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn device(&self) -> Device {
        match self {
            Storage::Host(_) => Device::Cpu,
            Storage::Device(_) => Device::Gpu,
        }
    }

    /// The host copy of the elements (read back from the GPU once, on first use).
    pub fn host(&self) -> Result<&Arc<Buffer>> {
        match self {
            Storage::Host(b) => Ok(b),
            Storage::Device(d) => d.host(),
        }
    }

    /// The same elements on `device` (the host copy is shared, not copied; an upload waits
    /// until a GPU kernel needs the data).
    pub fn placed(&self, device: Device) -> Result<Storage> {
        match (self, device) {
            (Storage::Host(_), Device::Cpu) | (Storage::Device(_), Device::Gpu) => Ok(self.clone()),
            (Storage::Device(d), Device::Cpu) => Ok(Storage::Host(d.host()?.clone())),
            (Storage::Host(b), Device::Gpu) => Ok(Storage::Device(Arc::new(DeviceArray::from_host(b.clone())?))),
        }
    }
}

impl DeviceArray {
    /// A GPU array whose host copy is `host` (uploaded when a GPU kernel first reads it).
    /// Refused, with the reason, where this build or machine has no GPU or the adapter cannot
    /// hold the dtype.
    pub fn from_host(host: Arc<Buffer>) -> Result<DeviceArray> {
        crate::gpu_backend::check_dtype(host.dtype())?;
        Ok(DeviceArray::mirror_of(host))
    }

    /// A GPU array whose host copy is `host`, unchecked: the result of a host kernel on
    /// inputs already on the GPU. A dtype the GPU cannot hold (complex) stays in its host copy:
    /// the dispatch sends such arrays to the host kernels.
    pub(crate) fn mirror_of(host: Arc<Buffer>) -> DeviceArray {
        let array = DeviceArray::empty(host.dtype(), host.len());
        let _ = array.host.set(host);
        array
    }

    fn empty(dtype: DType, len: usize) -> DeviceArray {
        DeviceArray {
            dtype,
            len,
            host: OnceLock::new(),
            #[cfg(feature = "gpu")]
            gpu: OnceLock::new(),
        }
    }

    fn host(&self) -> Result<&Arc<Buffer>> {
        if let Some(h) = self.host.get() {
            return Ok(h);
        }
        let read = self.read_back()?;
        // Another thread may have read it meanwhile; both copies are equal, the first is kept.
        let _ = self.host.set(Arc::new(read));
        Ok(self.host.get().expect("set above"))
    }

    #[cfg(feature = "gpu")]
    fn read_back(&self) -> Result<Buffer> {
        let gpu = self.gpu.get().ok_or_else(|| Error::internal("gpu", "a device array holds neither copy of its data"))?;
        crate::gpu_backend::download(gpu)
    }

    #[cfg(not(feature = "gpu"))]
    fn read_back(&self) -> Result<Buffer> {
        Err(Error::internal("gpu", "a device array without its host copy in a build without the GPU backend"))
    }
}

#[cfg(feature = "gpu")]
impl DeviceArray {
    /// A GPU array holding `buffer` (a GPU kernel's result).
    pub fn from_gpu(buffer: dlarray_gpu::GpuBuffer, dtype: DType) -> DeviceArray {
        let array = DeviceArray::empty(dtype, buffer.len());
        let _ = array.gpu.set(buffer);
        array
    }

    /// The device buffer (uploaded from the host copy once, on first use).
    pub fn gpu(&self) -> Result<&dlarray_gpu::GpuBuffer> {
        if let Some(g) = self.gpu.get() {
            return Ok(g);
        }
        let host = self.host.get().ok_or_else(|| Error::internal("gpu", "a device array holds neither copy of its data"))?;
        let uploaded = crate::gpu_backend::upload(host)?;
        let _ = self.gpu.set(uploaded);
        Ok(self.gpu.get().expect("set above"))
    }
}
