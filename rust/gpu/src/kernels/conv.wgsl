// Convolution in MATLAB's layout (row-major): input (S..., C, N), weights (K..., C/G, F/G, G),
// output (O..., F, N), three spatial dims (1-D and 2-D problems have leading singletons).
// `conv.rs` runs each pass over chunks of output pixels p0 .. p0 + pc, so that a chunk's
// column matrix fits one binding, and does the products with the engine's matmul:
//   im2col  the chunk's column matrix [G, rows, pc, N], rows = (tap, channel in group),
//           tap-major as the weights' (K..., C/G) are; padding reads as the padding value
//   place   the chunk's product [F, pc, N] into the output (O..., F, N), plus the bias
//   col2im  the input gradient (S..., C, N) from the chunk's column gradient: one thread per
//           input element adds up the taps that read it (a gather, so no atomics)
// `T` is the scalar type (the prelude's); `conv.rs` replaces the names in double braces:
// EXTRA (the bias binding or nothing) and BIAS (`+ bias[fch]` or nothing).
//
// params.u: [0] N, [1] C, [2] C/G, [3] rows, [4] pc, [5] p0, [6] G, [7] threads, [8] F/G,
// [9] F, [10] output pixels, [11] col2im adds to what dst holds (not the first chunk),
// [12..15) input spatial, [15..18) output spatial, [18..21) kernel, [21..24) stride,
// [24..27) dilation, [27..30) padding before; then the value the padding reads as.
struct Params {
    u: array<u32, 32>,
    pad_value: T,
}

@group(0) @binding(0) var<storage, read> params: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<T>;
@group(0) @binding(2) var<storage, read> src: array<T>;
{{EXTRA}}

const WG: u32 = 256u;

fn thread_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    // Grids past the per-dimension limit continue along y (see `Gpu::grid`).
    return gid.x + gid.y * nwg.x * WG;
}

// The input pixel that output pixel `p` reads at tap `t`, or -1 in the padding.
fn input_pixel(p: u32, t: u32) -> i32 {
    var pix = p;
    var tap = t;
    var at = 0i;
    var scale = 1i;
    for (var d = 2i; d >= 0; d--) {
        let o = pix % params.u[15 + d];
        pix = pix / params.u[15 + d];
        let k = tap % params.u[18 + d];
        tap = tap / params.u[18 + d];
        let c = i32(o * params.u[21 + d] + k * params.u[24 + d]) - i32(params.u[27 + d]);
        let size = i32(params.u[12 + d]);
        if (c < 0 || c >= size) {
            return -1;
        }
        at += c * scale;
        scale *= size;
    }
    return at;
}

@compute @workgroup_size(256)
fn im2col(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = thread_index(gid, nwg);
    if (idx >= params.u[7]) {
        return;
    }
    let n = params.u[0];
    let cg = params.u[2];
    let pc = params.u[4];
    let s = idx % n;
    var q = idx / n;
    let pl = q % pc;
    q = q / pc;
    let r = q % params.u[3];
    let g = q / params.u[3];
    let i = input_pixel(params.u[5] + pl, r / cg);
    var v = params.pad_value;
    if (i >= 0) {
        v = src[(u32(i) * params.u[1] + g * cg + r % cg) * n + s];
    }
    dst[idx] = v;
}

@compute @workgroup_size(256)
fn place(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = thread_index(gid, nwg);
    if (idx >= params.u[7]) {
        return;
    }
    let n = params.u[0];
    let pc = params.u[4];
    let s = idx % n;
    let pl = (idx / n) % pc;
    // (group, filter in group) is the output channel.
    let fch = idx / (n * pc);
    dst[((params.u[5] + pl) * params.u[9] + fch) * n + s] = src[idx] {{BIAS}};
}

@compute @workgroup_size(256)
fn col2im(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = thread_index(gid, nwg);
    if (idx >= params.u[7]) {
        return;
    }
    let n = params.u[0];
    let c_all = params.u[1];
    let cg = params.u[2];
    let rows = params.u[3];
    let pc = params.u[4];
    let p0 = params.u[5];
    let s = idx % n;
    let ch = (idx / n) % c_all;
    var pix = idx / (n * c_all);
    let g = ch / cg;
    let ci = ch % cg;
    var coord = array<i32, 3>(0, 0, 0);
    for (var d = 2i; d >= 0; d--) {
        coord[d] = i32(pix % params.u[12 + d]);
        pix = pix / params.u[12 + d];
    }
    let taps = params.u[18] * params.u[19] * params.u[20];
    var acc = T(0.0);
    if (params.u[11] != 0u) {
        acc = dst[idx];
    }
    for (var t = 0u; t < taps; t++) {
        // Tap t reads this element from output pixel o (per dim) where
        // o·stride + k·dilation − pad = coordinate.
        var tap = t;
        var p = 0u;
        var scale = 1u;
        var hit = true;
        for (var d = 2i; d >= 0; d--) {
            let k = tap % params.u[18 + d];
            tap = tap / params.u[18 + d];
            let num = coord[d] + i32(params.u[27 + d]) - i32(k * params.u[24 + d]);
            let stride = i32(params.u[21 + d]);
            let o = num / stride;
            if (num < 0 || o * stride != num || o >= i32(params.u[15 + d])) {
                hit = false;
            }
            p += u32(max(o, 0)) * scale;
            scale *= params.u[15 + d];
        }
        if (hit && p >= p0 && p < p0 + pc) {
            acc += src[((g * rows + t * cg + ci) * pc + p - p0) * n + s];
        }
    }
    dst[idx] = acc;
}
