//! The process's one GPU device: chosen, created and configured once, on first use.
//!
//! Adapter choice: real GPUs only (discrete, then integrated, then virtual/other), because a
//! CPU adapter such as Mesa's lavapipe is far slower than the CPU backend itself. Setting
//! `DLARRAY_GPU_ADAPTER=any` admits CPU adapters, which is how tests run real shaders on
//! machines without a GPU. The device is created with the adapter's own limits (not WebGPU's
//! defaults, which cap buffers at 256 MiB and bindings at 128 MiB on every adapter).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::batch::Batch;
use crate::error::GpuError;
use crate::pipelines::PipelineCache;
use crate::pool::BufferPool;
use crate::wait::block_on;

/// The environment variable (and its one accepted value) that admits CPU adapters.
pub const ADAPTER_ENV: &str = "DLARRAY_GPU_ADAPTER";

/// What the engine runs on: the adapter and the limits that bound every array and dispatch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuInfo {
    pub name: String,
    /// "vulkan", "metal", "dx12", ...
    pub backend: String,
    /// "discrete", "integrated", "virtual", "cpu" or "other".
    pub device_type: String,
    pub driver: String,
    pub max_buffer_size: u64,
    pub max_storage_buffer_binding_size: u64,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_compute_workgroup_size: [u32; 3],
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroup_storage_size: u32,
    pub min_storage_buffer_offset_alignment: u32,
    pub shader_f16: bool,
    pub shader_f64: bool,
}

/// The device, its queue and the engine's shared state.
pub struct Gpu {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) info: GpuInfo,
    pub(crate) limits: wgpu::Limits,
    pub(crate) pool: BufferPool,
    pub(crate) pipelines: PipelineCache,
    pub(crate) batch: Mutex<Batch>,
    lost: Arc<(AtomicBool, Mutex<String>)>,
    /// Errors no error scope caught (they would otherwise panic in wgpu's default handler).
    uncaptured: Arc<Mutex<Option<GpuError>>>,
    wait_timeout: Mutex<Duration>,
}

static GPU: OnceLock<Result<Gpu, GpuError>> = OnceLock::new();

/// The process's GPU, created on first call; the same error on every call if there is none.
pub fn context() -> Result<&'static Gpu, GpuError> {
    GPU.get_or_init(Gpu::create).as_ref().map_err(Clone::clone)
}

/// Whether a GPU adapter (by the rule above) is present and a device was created on it.
pub fn available() -> bool {
    context().is_ok()
}

/// The adapter and limits of the process's GPU.
pub fn gpu_info() -> Result<GpuInfo, GpuError> {
    Ok(context()?.info.clone())
}

fn device_type_name(t: wgpu::DeviceType) -> &'static str {
    match t {
        wgpu::DeviceType::DiscreteGpu => "discrete",
        wgpu::DeviceType::IntegratedGpu => "integrated",
        wgpu::DeviceType::VirtualGpu => "virtual",
        wgpu::DeviceType::Cpu => "cpu",
        wgpu::DeviceType::Other => "other",
    }
}

/// Preference order among the admitted adapters: lower is better.
fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

impl Gpu {
    fn create() -> Result<Gpu, GpuError> {
        let allow_cpu = std::env::var(ADAPTER_ENV).is_ok_and(|v| v == "any");
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        // Vulkan, Metal and DX12 only: the GL backend (not compiled in) lacks compute features
        // such as f16 and would be chosen silently where Vulkan drivers are missing.
        desc.backends = wgpu::Backends::PRIMARY;
        desc.flags = wgpu::InstanceFlags::empty();
        let instance = wgpu::Instance::new(desc);
        let adapters = block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY));
        let found: Vec<String> = adapters
            .iter()
            .map(|a| {
                let i = a.get_info();
                format!("{} ({:?}, {})", i.name, i.backend, device_type_name(i.device_type))
            })
            .collect();
        let adapter = adapters
            .into_iter()
            .filter(|a| allow_cpu || a.get_info().device_type != wgpu::DeviceType::Cpu)
            .min_by_key(|a| rank(a.get_info().device_type))
            .ok_or_else(|| {
                let seen = if found.is_empty() { "no adapters found".to_string() } else { format!("found {}", found.join(", ")) };
                GpuError::NoAdapter(format!(
                    "{seen}; CPU adapters are used only with {ADAPTER_ENV}=any (install Vulkan drivers, e.g. Mesa's lavapipe, for a CPU adapter)"
                ))
            })?;

        let ai = adapter.get_info();
        let limits = adapter.limits();
        let features = adapter.features() & (wgpu::Features::SHADER_F16 | wgpu::Features::SHADER_F64);
        let (device, queue) = block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("dlarray"),
            required_features: features,
            required_limits: limits.clone(),
            memory_hints: wgpu::MemoryHints::Performance,
            ..Default::default()
        }))
        .map_err(|e| GpuError::RequestDevice(e.to_string()))?;

        let lost = Arc::new((AtomicBool::new(false), Mutex::new(String::new())));
        let lost_cb = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            *lost_cb.1.lock().unwrap_or_else(|p| p.into_inner()) = format!("{reason:?}: {msg}");
            lost_cb.0.store(true, Ordering::SeqCst);
        });
        let uncaptured = Arc::new(Mutex::new(None));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut slot = sink.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert(GpuError::from(e));
        }));

        let info = GpuInfo {
            name: ai.name.clone(),
            backend: ai.backend.to_str().to_string(),
            device_type: device_type_name(ai.device_type).to_string(),
            driver: format!("{} {}", ai.driver, ai.driver_info).trim().to_string(),
            max_buffer_size: limits.max_buffer_size,
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_compute_workgroup_size: [
                limits.max_compute_workgroup_size_x,
                limits.max_compute_workgroup_size_y,
                limits.max_compute_workgroup_size_z,
            ],
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
            min_storage_buffer_offset_alignment: limits.min_storage_buffer_offset_alignment,
            shader_f16: features.contains(wgpu::Features::SHADER_F16),
            shader_f64: features.contains(wgpu::Features::SHADER_F64),
        };
        let batch = Batch::new(&device, &limits);
        Ok(Gpu {
            device,
            queue,
            info,
            limits,
            pool: BufferPool::new(),
            pipelines: PipelineCache::new(),
            batch: Mutex::new(batch),
            lost,
            uncaptured,
            wait_timeout: Mutex::new(Duration::from_secs(120)),
        })
    }

    /// The adapter and limits.
    pub fn info(&self) -> &GpuInfo {
        &self.info
    }

    /// How long a readback waits for the device before giving `GpuError::Timeout`.
    pub fn wait_timeout(&self) -> Duration {
        *self.wait_timeout.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the readback time limit (default 120 s; long kernels on CPU adapters may need more).
    pub fn set_wait_timeout(&self, timeout: Duration) {
        *self.wait_timeout.lock().unwrap_or_else(|p| p.into_inner()) = timeout;
    }

    /// The error that makes every further call fail: a lost device, or an error wgpu reported
    /// outside any error scope (taken, so it is reported once).
    pub(crate) fn check_health(&self) -> Result<(), GpuError> {
        if self.lost.0.load(Ordering::SeqCst) {
            let why = self.lost.1.lock().unwrap_or_else(|p| p.into_inner()).clone();
            return Err(GpuError::DeviceLost(why));
        }
        match self.uncaptured.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Runs `f` inside validation and out-of-memory error scopes, turning what they caught into
    /// a `GpuError` (scopes are per thread, so concurrent callers do not see each other's errors).
    pub(crate) fn scoped<T>(&self, f: impl FnOnce() -> T) -> Result<T, GpuError> {
        self.check_health()?;
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let v = block_on(validation.pop());
        let o = block_on(oom.pop());
        if let Some(e) = o.or(v) {
            // Calls on a lost device fail validation; report the loss rather than its symptom.
            return Err(self.lost_error().unwrap_or_else(|| GpuError::from(e)));
        }
        self.check_health()?;
        Ok(out)
    }

    /// `DeviceLost` if the device is lost. wgpu reports a loss from its maintenance step, so
    /// this first polls the device once without waiting.
    pub(crate) fn lost_error(&self) -> Option<GpuError> {
        let _ = self.device.poll(wgpu::PollType::Poll);
        if self.lost.0.load(Ordering::SeqCst) {
            let why = self.lost.1.lock().unwrap_or_else(|p| p.into_inner()).clone();
            return Some(GpuError::DeviceLost(why));
        }
        None
    }

    /// A buffer size check against the adapter's limits, before wgpu sees the request.
    pub(crate) fn check_binding(&self, bytes: u64) -> Result<(), GpuError> {
        if bytes > self.limits.max_storage_buffer_binding_size {
            return Err(GpuError::BindingLimit {
                requested_bytes: bytes,
                limit_bytes: self.limits.max_storage_buffer_binding_size,
                what: "storage binding limit",
            });
        }
        if bytes > self.limits.max_buffer_size {
            return Err(GpuError::BindingLimit {
                requested_bytes: bytes,
                limit_bytes: self.limits.max_buffer_size,
                what: "buffer size limit",
            });
        }
        Ok(())
    }

    /// Destroys the device, as a driver reset or removal would; every later call gives
    /// `DeviceLost`. Only for tests of that path: nothing can run on this process's GPU after it.
    #[doc(hidden)]
    pub fn destroy_device(&self) {
        self.device.destroy();
    }
}
