//! The wgpu backend plugs in behind `dlarray_core::Device`. It is built in its own issue;
//! until then this crate only reports that no GPU backend is compiled in.

/// Whether this build carries a GPU backend.
pub fn available() -> bool {
    false
}
