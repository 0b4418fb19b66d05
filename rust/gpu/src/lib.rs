//! dlarray's GPU engine on wgpu (Vulkan, Metal, DX12), built with the crate's `gpu` feature.
//!
//! The engine is independent of the core's tensor type: arrays are [`GpuBuffer`]s (pooled
//! device memory) described by a [`Layout`] (shape, strides, offset, in elements), and every
//! op is a free function in [`kernels`] that records a dispatch and returns a new contiguous
//! buffer (with its shape where broadcasting decides it). Work is submitted in batches;
//! reading a buffer back ([`GpuBuffer::to_f32_vec`]) or [`Gpu::synchronize`] waits for it.
//! Without the feature (or without a usable adapter) [`available`] is false and every entry
//! point reports why.
//!
//! A backend op on device storage is one call, for example
//!
//! ```ignore
//! let (out, shape) = kernels::elementwise::binary(BinaryOp::Add, &a, &a_layout, &b, &b_layout)?;
//! // the caller keeps `out` with `Layout::contiguous(&shape)`
//! ```

mod error;
pub use error::GpuError;

#[cfg(feature = "gpu")]
mod batch;
#[cfg(feature = "gpu")]
mod buffer;
#[cfg(feature = "gpu")]
mod context;
#[cfg(feature = "gpu")]
pub mod kernels;
#[cfg(feature = "gpu")]
mod pipelines;
#[cfg(feature = "gpu")]
mod pool;
#[cfg(feature = "gpu")]
mod wait;

#[cfg(feature = "gpu")]
pub use batch::{BatchStats, MAX_DISPATCHES};
#[cfg(feature = "gpu")]
pub use buffer::{DType, GpuBuffer};
#[cfg(feature = "gpu")]
pub use context::{available, context, gpu_info, Gpu, GpuInfo, ADAPTER_ENV};
#[cfg(feature = "gpu")]
pub use kernels::Layout;
#[cfg(feature = "gpu")]
pub use pool::PoolStats;

/// Counters of the engine since the process started.
#[cfg(feature = "gpu")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuStats {
    pub pool: PoolStats,
    pub batch: BatchStats,
    /// Shader modules compiled (each pipeline once).
    pub pipelines_compiled: u64,
}

#[cfg(feature = "gpu")]
impl Gpu {
    pub fn stats(&self) -> GpuStats {
        GpuStats { pool: self.pool.stats(), batch: self.batch_stats(), pipelines_compiled: self.pipelines.compiled() }
    }

    /// Releases the pool's idle buffers to the driver.
    pub fn trim_pool(&self) {
        self.pool.trim();
    }
}

/// Whether this build carries a GPU backend and a usable adapter was found.
#[cfg(not(feature = "gpu"))]
pub fn available() -> bool {
    false
}

/// Without the `gpu` feature there is no adapter to describe.
#[cfg(not(feature = "gpu"))]
pub fn gpu_info() -> Result<std::convert::Infallible, GpuError> {
    Err(GpuError::NotCompiled)
}

#[cfg(all(test, not(feature = "gpu")))]
mod tests {
    #[test]
    fn without_the_feature_no_gpu_is_available() {
        // Whoever requires a GPU must build the feature: a build without it fails that run.
        assert_ne!(
            std::env::var("DLARRAY_REQUIRE_GPU").as_deref(),
            Ok("1"),
            "DLARRAY_REQUIRE_GPU=1 but dlarray-gpu was built without its `gpu` feature"
        );
        assert!(!super::available());
        assert_eq!(super::gpu_info().unwrap_err(), super::GpuError::NotCompiled);
    }
}
