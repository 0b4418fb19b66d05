//! Arrays on the device: a pooled storage buffer with its element type and length. Dropping a
//! `GpuBuffer` returns its memory to the pool; reading it back waits for the work queued so far.

use crate::context::{context, Gpu};
use crate::error::GpuError;
use crate::pool::{bucket_size, BufferPool, Usage};

/// Element types the kernels are generated for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F64,
}

impl DType {
    pub fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// The WGSL scalar type.
    pub(crate) fn wgsl(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }
}

/// A contiguous run of `len` elements of `dtype` in device memory.
pub struct GpuBuffer {
    raw: Option<wgpu::Buffer>,
    bucket: u64,
    len: usize,
    dtype: DType,
}

impl std::fmt::Debug for GpuBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuBuffer").field("dtype", &self.dtype).field("len", &self.len).field("bucket", &self.bucket).finish()
    }
}

impl Gpu {
    /// Refuses float64 on adapters without `shader-f64`, naming the adapter.
    pub(crate) fn check_dtype(&self, dtype: DType, op: &str) -> Result<(), GpuError> {
        if dtype == DType::F64 && !self.info.shader_f64 {
            return Err(GpuError::UnsupportedDType { dtype: dtype.name(), op: op.to_string(), adapter: self.info.name.clone() });
        }
        Ok(())
    }
}

impl GpuBuffer {
    /// A buffer for `len` elements whose contents are unspecified (every kernel writes all of
    /// its output). Sizes past the adapter's binding limit are refused here, before wgpu sees them.
    pub(crate) fn uninit(gpu: &Gpu, dtype: DType, len: usize) -> Result<GpuBuffer, GpuError> {
        gpu.check_dtype(dtype, "allocate")?;
        let bytes = (len as u64).checked_mul(dtype.size() as u64).ok_or(GpuError::BindingLimit {
            requested_bytes: u64::MAX,
            limit_bytes: gpu.limits.max_buffer_size,
            what: "buffer size limit",
        })?;
        gpu.check_binding(bytes)?;
        let bucket = bucket_size(bytes, gpu.limits.max_buffer_size);
        let raw = match gpu.pool.take(Usage::Storage, bucket) {
            Some(b) => b,
            None => {
                let b = gpu.scoped(|| BufferPool::create(&gpu.device, Usage::Storage, bucket)).map_err(|e| {
                    if let GpuError::OutOfMemory { .. } = e {
                        GpuError::OutOfMemory { requested_bytes: bucket }
                    } else {
                        e
                    }
                })?;
                gpu.pool.note_allocation(bucket);
                b
            }
        };
        Ok(GpuBuffer { raw: Some(raw), bucket, len, dtype })
    }

    /// A buffer of `len` zeros.
    pub fn zeros(dtype: DType, len: usize) -> Result<GpuBuffer, GpuError> {
        let gpu = context()?;
        let buf = GpuBuffer::uninit(gpu, dtype, len)?;
        gpu.record_clear(buf.raw(), buf.size_bytes())?;
        Ok(buf)
    }

    /// Uploads `data` (recorded in the current batch, so it is ordered after the work before it).
    pub fn from_f32(data: &[f32]) -> Result<GpuBuffer, GpuError> {
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_ne_bytes()).collect();
        Self::upload(DType::F32, data.len(), &bytes)
    }

    /// Uploads float64 data; `UnsupportedDType` where the adapter has no `shader-f64`.
    pub fn from_f64(data: &[f64]) -> Result<GpuBuffer, GpuError> {
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_ne_bytes()).collect();
        Self::upload(DType::F64, data.len(), &bytes)
    }

    /// Uploads u32 words (positions for the indexing kernels, which read them as `u32`); the
    /// buffer counts as float32 for its size only.
    pub(crate) fn from_words(data: &[u32]) -> Result<GpuBuffer, GpuError> {
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_ne_bytes()).collect();
        Self::upload(DType::F32, data.len(), &bytes)
    }

    fn upload(dtype: DType, len: usize, bytes: &[u8]) -> Result<GpuBuffer, GpuError> {
        let gpu = context()?;
        let buf = GpuBuffer::uninit(gpu, dtype, len)?;
        if !bytes.is_empty() {
            gpu.record_upload(buf.raw(), bytes)?;
        }
        Ok(buf)
    }

    /// Reads the buffer back as float32 (it must hold float32).
    pub fn to_f32_vec(&self) -> Result<Vec<f32>, GpuError> {
        self.expect_dtype(DType::F32)?;
        let bytes = self.read_bytes()?;
        Ok(bytes.chunks_exact(4).map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]])).collect())
    }

    /// Reads the buffer back as float64 (it must hold float64).
    pub fn to_f64_vec(&self) -> Result<Vec<f64>, GpuError> {
        self.expect_dtype(DType::F64)?;
        let bytes = self.read_bytes()?;
        Ok(bytes.chunks_exact(8).map(|c| f64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect())
    }

    fn expect_dtype(&self, dtype: DType) -> Result<(), GpuError> {
        if self.dtype != dtype {
            return Err(GpuError::InvalidArgument(format!("the buffer holds {}, not {}", self.dtype.name(), dtype.name())));
        }
        Ok(())
    }

    fn read_bytes(&self) -> Result<Vec<u8>, GpuError> {
        if self.len == 0 {
            return Ok(Vec::new());
        }
        context()?.read_back(self.raw(), self.size_bytes())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Bytes of the elements (not of the pooled bucket behind them).
    pub fn size_bytes(&self) -> u64 {
        (self.len * self.dtype.size()) as u64
    }

    pub(crate) fn raw(&self) -> &wgpu::Buffer {
        self.raw.as_ref().expect("a GpuBuffer holds its buffer until dropped")
    }
}

impl Drop for GpuBuffer {
    fn drop(&mut self) {
        if let (Some(raw), Ok(gpu)) = (self.raw.take(), context()) {
            gpu.pool.give_back(Usage::Storage, self.bucket, raw);
        }
    }
}
