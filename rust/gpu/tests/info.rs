//! Adapter choice and what `gpu_info` reports.
#![cfg(feature = "gpu")]

mod common;

use common::gpu;

#[test]
fn the_adapter_is_described_with_its_own_limits() {
    let Some(g) = gpu() else { return };
    let info = dlarray_gpu::gpu_info().unwrap();
    assert_eq!(&info, g.info());
    assert!(dlarray_gpu::available());
    assert!(!info.name.is_empty());
    assert!(["vulkan", "metal", "dx12"].contains(&info.backend.as_str()), "{info:?}");
    // WebGPU's defaults are the floor; an adapter's own limits are at least these.
    assert!(info.max_storage_buffer_binding_size >= 128 << 20, "{info:?}");
    assert!(info.max_buffer_size >= 256 << 20, "{info:?}");
    assert!(info.max_compute_workgroups_per_dimension >= 65_535);
    assert!(info.max_compute_invocations_per_workgroup >= 256);
    assert!(info.max_compute_workgroup_storage_size >= 16_384);
    // A CPU adapter is chosen only when asked for.
    if info.device_type == "cpu" {
        assert_eq!(std::env::var(dlarray_gpu::ADAPTER_ENV).as_deref(), Ok("any"));
    }
    eprintln!("{info:#?}");
}
