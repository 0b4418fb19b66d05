//! Compute pipelines, compiled once per (kernel, dtype, variant) and kept for the process.
//! Shader compilation is the slowest step of a first dispatch (a driver JIT), so no kernel
//! source is ever compiled twice.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::buffer::DType;
use crate::context::Gpu;
use crate::error::GpuError;

/// What identifies one generated shader.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PipelineKey {
    pub kernel: &'static str,
    pub dtype: DType,
    /// The op and the layout specialisation, e.g. "add/strided".
    pub variant: String,
    /// The module's entry point.
    pub entry: &'static str,
}

pub(crate) struct PipelineCache {
    map: Mutex<HashMap<PipelineKey, Arc<wgpu::ComputePipeline>>>,
    compiled: AtomicU64,
}

impl PipelineCache {
    pub(crate) fn new() -> Self {
        PipelineCache { map: Mutex::new(HashMap::new()), compiled: AtomicU64::new(0) }
    }

    /// How many shader modules have been compiled so far.
    pub(crate) fn compiled(&self) -> u64 {
        self.compiled.load(Ordering::Relaxed)
    }
}

impl Gpu {
    /// The pipeline for `key`, compiling `source()` on first use. Compilation errors (a WGSL
    /// construct the adapter lacks, for instance) are returned, not cached, and not panics.
    pub(crate) fn pipeline(&self, key: PipelineKey, source: impl FnOnce() -> String) -> Result<Arc<wgpu::ComputePipeline>, GpuError> {
        // Held while compiling, so two threads asking for the same key compile it once.
        let mut map = self.pipelines.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = map.get(&key) {
            return Ok(p.clone());
        }
        let label = format!("{}:{}:{}", key.kernel, key.dtype.wgsl(), key.variant);
        let wgsl = source();
        let pipeline = self
            .scoped(|| {
                let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(&label),
                    source: wgpu::ShaderSource::Wgsl(wgsl.into()),
                });
                self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(&label),
                    layout: None,
                    module: &module,
                    entry_point: Some(key.entry),
                    compilation_options: Default::default(),
                    cache: None,
                })
            })
            .map_err(|e| match e {
                GpuError::Validation(msg) => GpuError::Validation(format!("compiling {label}: {msg}")),
                other => other,
            })?;
        self.pipelines.compiled.fetch_add(1, Ordering::Relaxed);
        let pipeline = Arc::new(pipeline);
        map.insert(key, pipeline.clone());
        Ok(pipeline)
    }
}
