//! Adapter choice and what `gpu_info` reports.
#![cfg(feature = "gpu")]

mod common;

use std::process::Command;

use common::gpu;
use dlarray_gpu::{GpuError, ADAPTER_ENV};

/// Set in the child process that `cpu_adapters_need_the_opt_in` starts.
const CHILD: &str = "DLARRAY_GPU_TEST_CHILD";

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

#[test]
fn cpu_adapters_need_the_opt_in() {
    let Some(g) = gpu() else { return };
    if g.info().device_type != "cpu" {
        // A real GPU is taken with or without the variable; nothing to refuse here.
        return;
    }
    // This binary again, running only `refusal_child`, without the variable and with values
    // that are not exactly "any": the CPU adapter must be refused each time.
    for value in [None, Some("1"), Some("ANY"), Some("any ")] {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", "refusal_child", "--nocapture", "--test-threads=1"]).env(CHILD, "1").env_remove("DLARRAY_REQUIRE_GPU");
        match value {
            Some(v) => cmd.env(ADAPTER_ENV, v),
            None => cmd.env_remove(ADAPTER_ENV),
        };
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{value:?}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("refused:"), "{value:?}: the child did not run: {stdout}");
    }
}

#[test]
fn refusal_child() {
    if std::env::var(CHILD).as_deref() != Ok("1") {
        return;
    }
    match dlarray_gpu::context() {
        Err(GpuError::NoAdapter(msg)) => {
            assert!(msg.contains("DLARRAY_GPU_ADAPTER=any"), "{msg}");
            assert!(!dlarray_gpu::available());
            println!("refused: {msg}");
        }
        Err(other) => panic!("expected NoAdapter, got {other:?}"),
        Ok(g) => panic!("a CPU adapter was taken without the opt-in: {:?}", g.info()),
    }
}
