//! Convolution and its two adjoints against a direct CPU reference (in float64) over a grid
//! of 1-D, 2-D and 3-D problems: strides, dilations, paddings with a padding value, groups,
//! bias, and output pixels run in several chunks; float64 where the adapter has it; what the
//! kernels refuse is a typed error.
#![cfg(feature = "gpu")]

mod common;

use common::{assert_close, data, gpu};
use dlarray_gpu::kernels::conv::{forward_chunked, input_grad_chunked, weight_grad_chunked, ConvShape};
use dlarray_gpu::{GpuBuffer, GpuError};

/// A problem: input spatial, channels, batch, kernel, filters, groups, stride, dilation,
/// padding before and after (spatial values for the last `d` dims).
struct Case {
    sp: Vec<usize>,
    c: usize,
    n: usize,
    k: Vec<usize>,
    f: usize,
    groups: usize,
    stride: Vec<usize>,
    dil: Vec<usize>,
    pad: (Vec<usize>, Vec<usize>),
    pad_value: f64,
}

fn three(v: &[usize], fill: usize) -> [usize; 3] {
    let mut out = [fill; 3];
    out[3 - v.len()..].copy_from_slice(v);
    out
}

impl Case {
    fn shape(&self) -> ConvShape {
        let (in_sp, k, stride, dil) = (three(&self.sp, 1), three(&self.k, 1), three(&self.stride, 1), three(&self.dil, 1));
        let (pb, pa) = (three(&self.pad.0, 0), three(&self.pad.1, 0));
        let out_sp = std::array::from_fn(|d| (in_sp[d] + pb[d] + pa[d] - dil[d] * (k[d] - 1) - 1) / stride[d] + 1);
        ConvShape { n: self.n, c: self.c, f: self.f, groups: self.groups, in_sp, out_sp, k, stride, dil, pad: pb }
    }
}

/// Calls `f(output pixel, tap, input pixel or None in the padding)` for every pair.
fn for_each_tap(s: &ConvShape, mut f: impl FnMut(usize, usize, Option<usize>)) {
    let taps: usize = s.k.iter().product();
    let out: usize = s.out_sp.iter().product();
    for o in 0..out {
        let oc = [o / (s.out_sp[1] * s.out_sp[2]), (o / s.out_sp[2]) % s.out_sp[1], o % s.out_sp[2]];
        for t in 0..taps {
            let kc = [t / (s.k[1] * s.k[2]), (t / s.k[2]) % s.k[1], t % s.k[2]];
            let mut at = Some(0usize);
            for d in 0..3 {
                let c = (oc[d] * s.stride[d] + kc[d] * s.dil[d]) as isize - s.pad[d] as isize;
                at = match at {
                    Some(a) if c >= 0 && (c as usize) < s.in_sp[d] => Some(a * s.in_sp[d] + c as usize),
                    _ => None,
                };
            }
            f(o, t, at);
        }
    }
}

/// Weight index of (tap, channel in group, filter in group, group).
fn widx(s: &ConvShape, t: usize, ci: usize, fi: usize, g: usize) -> usize {
    let (cg, fg) = (s.c / s.groups, s.f / s.groups);
    ((t * cg + ci) * fg + fi) * s.groups + g
}

fn forward_ref(x: &[f64], w: &[f64], bias: Option<&[f64]>, s: &ConvShape, pv: f64) -> Vec<f64> {
    let (cg, fg, n) = (s.c / s.groups, s.f / s.groups, s.n);
    let out: usize = s.out_sp.iter().product();
    let mut y = vec![0.0; out * s.f * n];
    for (o, f) in (0..out).flat_map(|o| (0..s.f).map(move |f| (o, f))) {
        for smp in 0..n {
            y[(o * s.f + f) * n + smp] = bias.map_or(0.0, |b| b[f]);
        }
    }
    for_each_tap(s, |o, t, at| {
        for f in 0..s.f {
            let (g, fi) = (f / fg, f % fg);
            for ci in 0..cg {
                let wv = w[widx(s, t, ci, fi, g)];
                for smp in 0..n {
                    let xv = at.map_or(pv, |i| x[(i * s.c + g * cg + ci) * n + smp]);
                    y[(o * s.f + f) * n + smp] += wv * xv;
                }
            }
        }
    });
    y
}

fn input_grad_ref(gy: &[f64], w: &[f64], s: &ConvShape) -> Vec<f64> {
    let (cg, fg, n) = (s.c / s.groups, s.f / s.groups, s.n);
    let mut dx = vec![0.0; s.in_sp.iter().product::<usize>() * s.c * n];
    for_each_tap(s, |o, t, at| {
        let Some(i) = at else { return };
        for f in 0..s.f {
            let (g, fi) = (f / fg, f % fg);
            for ci in 0..cg {
                let wv = w[widx(s, t, ci, fi, g)];
                for smp in 0..n {
                    dx[(i * s.c + g * cg + ci) * n + smp] += wv * gy[(o * s.f + f) * n + smp];
                }
            }
        }
    });
    dx
}

fn weight_grad_ref(x: &[f64], gy: &[f64], s: &ConvShape, pv: f64) -> Vec<f64> {
    let (cg, fg, n) = (s.c / s.groups, s.f / s.groups, s.n);
    let mut dw = vec![0.0; s.k.iter().product::<usize>() * cg * s.f];
    for_each_tap(s, |o, t, at| {
        for f in 0..s.f {
            let (g, fi) = (f / fg, f % fg);
            for ci in 0..cg {
                let mut acc = 0.0;
                for smp in 0..n {
                    let xv = at.map_or(pv, |i| x[(i * s.c + g * cg + ci) * n + smp]);
                    acc += xv * gy[(o * s.f + f) * n + smp];
                }
                dw[widx(s, t, ci, fi, g)] += acc;
            }
        }
    });
    dw
}

fn case(sp: &[usize], c: usize, n: usize, k: &[usize], f: usize, groups: usize) -> Case {
    Case {
        sp: sp.to_vec(),
        c,
        n,
        k: k.to_vec(),
        f,
        groups,
        stride: vec![1],
        dil: vec![1],
        pad: (vec![0; sp.len()], vec![0; sp.len()]),
        pad_value: 0.0,
    }
}

fn cases() -> Vec<Case> {
    let mut v = vec![
        case(&[9], 3, 2, &[3], 4, 1),
        case(&[5, 6], 2, 3, &[3, 2], 3, 1),
        case(&[4, 5, 3], 2, 2, &[2, 3, 2], 2, 1),
        // 1 x 1 kernels, a batch of one, one channel.
        case(&[4, 4], 1, 1, &[1, 1], 1, 1),
        // More columns than one matmul tile (64) and more filters than one.
        case(&[12, 11], 3, 2, &[3, 3], 70, 1),
    ];
    let mut strided = case(&[10, 7], 4, 2, &[3, 2], 6, 2);
    strided.stride = vec![2, 3];
    v.push(strided);
    let mut dilated = case(&[11], 2, 3, &[3], 2, 1);
    dilated.dil = vec![3];
    dilated.stride = vec![2];
    v.push(dilated);
    let mut padded = case(&[5, 4], 3, 2, &[3, 3], 6, 3);
    padded.pad = (vec![1, 2], vec![2, 0]);
    padded.pad_value = 0.75;
    v.push(padded);
    // Depthwise, 3-D, everything at once.
    let mut all = case(&[5, 6, 4], 4, 2, &[2, 3, 2], 8, 4);
    all.stride = vec![1, 2, 1];
    all.dil = vec![2, 1, 1];
    all.pad = (vec![1, 0, 2], vec![0, 1, 1]);
    all.pad_value = -1.5;
    v.push(all);
    v
}

fn up(v: &[f64]) -> GpuBuffer {
    GpuBuffer::from_f32(&v.iter().map(|&x| x as f32).collect::<Vec<_>>()).unwrap()
}

fn as_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

#[test]
fn convolution_and_its_adjoints_match_the_direct_sums() {
    let Some(_) = gpu() else { return };
    for (seed, c) in cases().iter().enumerate() {
        let s = c.shape();
        let seed = seed as u64 * 4;
        let (nx, nw, ny) = (
            s.in_sp.iter().product::<usize>() * s.c * s.n,
            s.k.iter().product::<usize>() * (s.c / s.groups) * s.f,
            s.out_sp.iter().product::<usize>() * s.f * s.n,
        );
        // Values exact in float32, so that the reference sees what the kernels see.
        let x: Vec<f64> = data(nx, seed + 1, -1.0, 1.0).iter().map(|&v| v as f64).collect();
        let w: Vec<f64> = data(nw, seed + 2, -1.0, 1.0).iter().map(|&v| v as f64).collect();
        let b: Vec<f64> = data(s.f, seed + 3, -1.0, 1.0).iter().map(|&v| v as f64).collect();
        let gy: Vec<f64> = data(ny, seed + 4, -1.0, 1.0).iter().map(|&v| v as f64).collect();
        let (xb, wb, bb, gb) = (up(&x), up(&w), up(&b), up(&gy));
        let y_want = forward_ref(&x, &w, Some(&b), &s, c.pad_value);
        let y0_want = forward_ref(&x, &w, None, &s, c.pad_value);
        let dx_want = input_grad_ref(&gy, &w, &s);
        let dw_want = weight_grad_ref(&x, &gy, &s, c.pad_value);
        let out: usize = s.out_sp.iter().product();
        // One chunk, then chunks of 1 and 3 output pixels (a short last chunk).
        for chunk in [None, Some(1), Some(3)] {
            if chunk.is_some_and(|p| p >= out) {
                continue;
            }
            let what = format!("{s:?} chunk {chunk:?}");
            let y = forward_chunked(&xb, &wb, Some(&bb), &s, c.pad_value, chunk).unwrap().to_f32_vec().unwrap();
            assert_close(&y, &as_f32(&y_want), 1e-4, 1e-4, &format!("forward {what}"));
            let y0 = forward_chunked(&xb, &wb, None, &s, c.pad_value, chunk).unwrap().to_f32_vec().unwrap();
            assert_close(&y0, &as_f32(&y0_want), 1e-4, 1e-4, &format!("forward without bias {what}"));
            let dx = input_grad_chunked(&gb, &wb, &s, chunk).unwrap().to_f32_vec().unwrap();
            assert_close(&dx, &as_f32(&dx_want), 1e-4, 1e-4, &format!("input gradient {what}"));
            let dw = weight_grad_chunked(&xb, &gb, &s, c.pad_value, chunk).unwrap().to_f32_vec().unwrap();
            assert_close(&dw, &as_f32(&dw_want), 1e-4, 1e-4, &format!("weight gradient {what}"));
        }
    }
}

#[test]
fn float64_convolution_matches_closely_where_the_adapter_has_it() {
    let Some(g) = gpu() else { return };
    if !g.info().shader_f64 {
        return;
    }
    let c = cases().pop().unwrap();
    let s = c.shape();
    let (nx, nw, ny) = (
        s.in_sp.iter().product::<usize>() * s.c * s.n,
        s.k.iter().product::<usize>() * (s.c / s.groups) * s.f,
        s.out_sp.iter().product::<usize>() * s.f * s.n,
    );
    let mk = |n: usize, seed: u64| -> Vec<f64> { data(n, seed, -1.0, 1.0).iter().map(|&v| v as f64 / 3.0).collect() };
    let (x, w, b, gy) = (mk(nx, 1), mk(nw, 2), mk(s.f, 3), mk(ny, 4));
    let up64 = |v: &[f64]| GpuBuffer::from_f64(v).unwrap();
    let (xb, wb, bb, gb) = (up64(&x), up64(&w), up64(&b), up64(&gy));
    let close = |got: Vec<f64>, want: Vec<f64>, what: &str| {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "{what} element {i}: {g} vs {w}");
        }
    };
    let y = forward_chunked(&xb, &wb, Some(&bb), &s, c.pad_value, Some(2)).unwrap().to_f64_vec().unwrap();
    close(y, forward_ref(&x, &w, Some(&b), &s, c.pad_value), "forward");
    let dx = input_grad_chunked(&gb, &wb, &s, Some(2)).unwrap().to_f64_vec().unwrap();
    close(dx, input_grad_ref(&gy, &w, &s), "input gradient");
    let dw = weight_grad_chunked(&xb, &gb, &s, c.pad_value, Some(2)).unwrap().to_f64_vec().unwrap();
    close(dw, weight_grad_ref(&x, &gy, &s, c.pad_value), "weight gradient");
}

#[test]
fn what_the_kernels_refuse_is_a_typed_error() {
    let Some(g) = gpu() else { return };
    let s = case(&[4], 2, 1, &[2], 2, 1).shape();
    let x = GpuBuffer::from_f32(&[0.0; 8]).unwrap();
    let w = GpuBuffer::from_f32(&[0.0; 8]).unwrap();
    // A length that does not fit the shape, zero extents, groups that do not divide.
    assert!(matches!(forward_chunked(&w, &x, None, &ConvShape { c: 3, ..s.clone() }, 0.0, None), Err(GpuError::InvalidArgument(_))));
    assert!(matches!(forward_chunked(&x, &w, None, &ConvShape { n: 0, ..s.clone() }, 0.0, None), Err(GpuError::InvalidArgument(_))));
    assert!(matches!(forward_chunked(&x, &w, None, &ConvShape { groups: 3, ..s.clone() }, 0.0, None), Err(GpuError::InvalidArgument(_))));
    // One output pixel's column matrix past the binding limit (a long kernel over padding of
    // a one-pixel input, a large batch): refused before wgpu sees it.
    let n = 4096;
    let taps = (g.info().max_storage_buffer_binding_size / (4 * n as u64) + 1) as usize;
    let huge = ConvShape { n, c: 1, f: 1, in_sp: [1, 1, 1], out_sp: [1, 1, 1], k: [1, 1, taps], pad: [0, 0, taps / 2], ..s.clone() };
    let (hx, hw) = (GpuBuffer::from_f32(&vec![1.0; n]).unwrap(), GpuBuffer::from_f32(&vec![1.0; taps]).unwrap());
    let err = forward_chunked(&hx, &hw, None, &huge, 0.0, None).unwrap_err();
    assert!(matches!(err, GpuError::BindingLimit { .. }), "{err:?}");
    assert!(matches!(weight_grad_chunked(&hx, &hx, &huge, 0.0, None), Err(GpuError::BindingLimit { .. })));
    let ok = forward_chunked(&x, &w, None, &s, 0.0, None).unwrap().to_f32_vec().unwrap();
    assert_eq!(ok, vec![0.0; 6]);
}
