//! The fused LSTM kernels alone at the size (T 50, B 32, C 16, H 128), forward and
//! backward, minimum over repetitions.
//!
//!     cargo run --release -p dlarray-core --example bench_lstm_kernel

use dlarray_core::kernels::recurrent::{lstm_backward, lstm_forward, Activation, Dims, LstmSaved};
use std::time::Instant;

/// Reused buffers, as in the extension module.
#[global_allocator]
static ALLOCATOR: dlarray_core::memory::BlockCache = dlarray_core::memory::BlockCache::new();

fn main() {
    let d = Dims { c: 16, h: 128, b: 32, t: 50 };
    let val = |n: usize, scale: f32| -> Vec<f32> { (0..n).map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * scale).collect() };
    let (x, h0, c0) = (val(d.c * d.b * d.t, 1.0), val(d.h * d.b, 0.0), val(d.h * d.b, 0.0));
    let (w, r, bias) = (val(4 * d.h * d.c, 0.1), val(4 * d.h * d.h, 0.1), val(4 * d.h, 0.0));
    let gout = val(d.h * d.b * (d.t + 1), 1.0);
    let (mut fwd, mut bwd) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..200 {
        let t = Instant::now();
        let (_, saved) = lstm_forward(&x, &h0, &c0, &w, &r, &bias, d, Activation::Tanh, Activation::Sigmoid);
        fwd = fwd.min(t.elapsed().as_secs_f64());
        let saved = LstmSaved {
            gates: &saved.gates[..],
            cells: &saved.cells[..],
            cells_activated: &saved.cells_activated[..],
            inputs: &saved.inputs[..],
        };
        let t = Instant::now();
        std::hint::black_box(lstm_backward(&gout, &saved, &c0, &w, &r, d, Activation::Tanh, Activation::Sigmoid, false));
        bwd = bwd.min(t.elapsed().as_secs_f64());
    }
    println!("lstm forward {:.3} ms, backward {:.3} ms (best of 200)", fwd * 1e3, bwd * 1e3);
}
