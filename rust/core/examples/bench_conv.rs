//! Micro benchmark of the convolution and pooling kernels on the seed network's shapes:
//! `cargo run --release -p dlarray-core --example bench_conv`.

use std::time::Instant;

use dlarray_core::ops::conv::ConvParams;
use dlarray_core::Tensor;

fn rand(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_add(0x9E3779B97F4A7C15);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn tensor(shape: &[usize], seed: u64) -> Tensor {
    Tensor::from_vec(rand(shape.iter().product(), seed), shape.to_vec()).unwrap()
}

/// Best wall time in ms of `reps` runs after `warm` warm-up runs (the best, not the median:
/// on a shared machine the other runs measure the neighbours).
fn time<R>(warm: usize, reps: usize, mut f: impl FnMut() -> R) -> f64 {
    for _ in 0..warm {
        std::hint::black_box(f());
    }
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            std::hint::black_box(f());
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    t[0]
}

fn main() {
    println!("rayon threads: {}", rayon::current_num_threads());
    let (warm, reps) = (5, 31);

    let conv = |name: &str, xs: &[usize], ws: &[usize], p: &ConvParams| {
        let x = tensor(xs, 1);
        let w = tensor(ws, 2);
        let y = x.conv(&w, p).unwrap();
        let g = tensor(y.shape(), 3);
        let fwd = time(warm, reps, || x.conv(&w, p).unwrap());
        let dx = time(warm, reps, || g.conv_input_grad(&w, &xs[..xs.len() - 2], p).unwrap());
        let dw = time(warm, reps, || x.conv_weight_grad(&g, ws, p).unwrap());
        println!(
            "conv {name}: x {xs:?} w {ws:?} -> {:?}\n  forward {fwd:.2} ms | dx {dx:.2} ms | dw {dw:.2} ms | fwd+dw {:.2} ms | fwd+dx+dw {:.2} ms",
            y.shape(),
            fwd + dw,
            fwd + dx + dw
        );
    };
    // MATLAB's layouts: x (S..., C, N), w (K..., C/G, F/G, G).
    conv("seed 5x5 same", &[28, 28, 1, 128], &[5, 5, 1, 20, 1], &ConvParams::new().padding(&[2, 2], &[2, 2]));
    conv("3x3 same, 20->32 ch", &[14, 14, 20, 128], &[3, 3, 20, 32, 1], &ConvParams::new().padding(&[1], &[1]));

    let x = tensor(&[28, 28, 20, 128], 4);
    let (y, idx) = x.maxpool(&[2, 2], &[2, 2], &[], &[]).unwrap();
    let mp = time(warm, reps, || x.maxpool(&[2, 2], &[2, 2], &[], &[]).unwrap());
    let g = tensor(y.shape(), 5);
    let mpb = time(warm, reps, || g.maxunpool(idx.clone(), x.shape()).unwrap());
    let ap = time(warm, reps, || x.avgpool(&[2, 2], &[2, 2], &[], &[], true).unwrap());
    let apb = time(warm, reps, || g.avgpool_backward(x.shape(), &[2, 2], &[2, 2], &[], &[], true).unwrap());
    println!("maxpool 2/2 on {:?}: forward {mp:.2} ms | backward (scatter) {mpb:.2} ms", x.shape());
    println!("avgpool 2/2 on {:?}: forward {ap:.2} ms | backward {apb:.2} ms", x.shape());
}
