// Max and average pooling in MATLAB's layout (row-major): input (S..., C, N) seen as input
// pixels of `inner` = C·N values, output (O..., C, N); three spatial dims (1-D and 2-D
// problems have leading singletons). A window is clipped to the input: padding is never a
// maximum and adds nothing to a sum. Every entry is a gather, one thread per element it
// writes, so the adjoints need no atomics; max pooling finds each window's maximum again
// where it needs it instead of keeping indices. `T` is the scalar type (the prelude's).
//
// params: [0] inner, [1] threads, [2] average pooling divides by the full window (padding
// counts), [3] window size, [4..7) input spatial, [7..10) output spatial, [10..13) pool
// size, [13..16) stride, [16..19) padding before.
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<T>;
@group(0) @binding(2) var<storage, read> src: array<T>;
// The input whose windows' maxima the max entries look for (unused by the average entries, so
// absent from their layouts).
@group(0) @binding(3) var<storage, read> x: array<T>;

const WG: u32 = 256u;

fn thread_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    // Grids past the per-dimension limit continue along y (see `Gpu::grid`).
    return gid.x + gid.y * nwg.x * WG;
}

// Output pixel `p`'s coordinates, outermost first.
fn out_coords(p: u32) -> vec3<u32> {
    return vec3<u32>(p / (params[8] * params[9]), (p / params[9]) % params[8], p % params[9]);
}

// The input range lo..hi that output coordinate `o` covers along dim `d`, clipped.
fn span(o: u32, d: u32) -> vec2<u32> {
    let start = i32(o * params[13u + d]) - i32(params[16u + d]);
    let end = start + i32(params[10u + d]);
    return vec2<u32>(u32(max(start, 0)), u32(min(max(end, 0), i32(params[4u + d]))));
}

// The output range lo..hi whose windows cover input coordinate `i` along dim `d`.
fn covering(i: u32, d: u32) -> vec2<u32> {
    let s = params[13u + d];
    let k = params[10u + d];
    let at = i + params[16u + d];
    let hi = min(at / s + 1u, params[7u + d]);
    let lo = (max(at + 1u, k) - k + s - 1u) / s;
    return vec2<u32>(min(lo, hi), hi);
}

// 1 / the divisor of output pixel `p`'s average: the full window when padding counts, else
// the input elements the window covers (at least one).
fn inv_count(p: u32) -> T {
    if (params[2] != 0u) {
        return T(1.0) / T(f32(params[3]));
    }
    let o = out_coords(p);
    var count = 1u;
    for (var d = 0u; d < 3u; d++) {
        let r = span(o[d], d);
        // A window past the input's end (padding after at least the pool size) covers none.
        count *= select(0u, r.y - r.x, r.y > r.x);
    }
    return T(1.0) / T(f32(max(count, 1u)));
}

// The input pixel holding the maximum of output pixel `p`'s window of `x` at column `q`: the
// first in row-major order; a NaN wins and sticks (as on the CPU).
fn argmax(p: u32, q: u32) -> u32 {
    let inner = params[0];
    let o = out_coords(p);
    let rd = span(o.x, 0u);
    let rh = span(o.y, 1u);
    let rw = span(o.z, 2u);
    var best = x[((rd.x * params[5] + rh.x) * params[6] + rw.x) * inner + q];
    var at = (rd.x * params[5] + rh.x) * params[6] + rw.x;
    for (var id = rd.x; id < rd.y; id++) {
        for (var ih = rh.x; ih < rh.y; ih++) {
            for (var iw = rw.x; iw < rw.y; iw++) {
                let i = (id * params[5] + ih) * params[6] + iw;
                let e = x[i * inner + q];
                if (!is_nan(best) && (e > best || is_nan(e))) {
                    best = e;
                    at = i;
                }
            }
        }
    }
    return at;
}

// dst: (O..., C, N); src: the input.
@compute @workgroup_size(256)
fn avg_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = thread_index(gid, nwg);
    if (idx >= params[1]) {
        return;
    }
    let inner = params[0];
    let q = idx % inner;
    let p = idx / inner;
    let o = out_coords(p);
    let rd = span(o.x, 0u);
    let rh = span(o.y, 1u);
    let rw = span(o.z, 2u);
    var acc = T(0.0);
    for (var id = rd.x; id < rd.y; id++) {
        for (var ih = rh.x; ih < rh.y; ih++) {
            for (var iw = rw.x; iw < rw.y; iw++) {
                acc += src[((id * params[5] + ih) * params[6] + iw) * inner + q];
            }
        }
    }
    dst[idx] = acc * inv_count(p);
}

// dst: the input gradient (S..., C, N); src: the output gradient (O..., C, N).
@compute @workgroup_size(256)
fn avg_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = thread_index(gid, nwg);
    if (idx >= params[1]) {
        return;
    }
    let inner = params[0];
    let q = idx % inner;
    let i = idx / inner;
    let cd = covering(i / (params[5] * params[6]), 0u);
    let ch = covering((i / params[6]) % params[5], 1u);
    let cw = covering(i % params[6], 2u);
    var acc = T(0.0);
    for (var od = cd.x; od < cd.y; od++) {
        for (var oh = ch.x; oh < ch.y; oh++) {
            for (var ow = cw.x; ow < cw.y; ow++) {
                let p = (od * params[8] + oh) * params[9] + ow;
                acc += src[p * inner + q] * inv_count(p);
            }
        }
    }
    dst[idx] = acc;
}

// dst: (O..., C, N), each element `src` where its window of `x` has its maximum (src = x is
// max pooling itself).
@compute @workgroup_size(256)
fn max_gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = thread_index(gid, nwg);
    if (idx >= params[1]) {
        return;
    }
    let inner = params[0];
    let q = idx % inner;
    dst[idx] = src[argmax(idx / inner, q) * inner + q];
}

// dst: the input gradient (S..., C, N): each element adds up the output gradient `src` of
// the windows of `x` whose maximum it is, in output order.
@compute @workgroup_size(256)
fn max_scatter(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = thread_index(gid, nwg);
    if (idx >= params[1]) {
        return;
    }
    let inner = params[0];
    let q = idx % inner;
    let i = idx / inner;
    let cd = covering(i / (params[5] * params[6]), 0u);
    let ch = covering((i / params[6]) % params[5], 1u);
    let cw = covering(i % params[6], 2u);
    var acc = T(0.0);
    for (var od = cd.x; od < cd.y; od++) {
        for (var oh = ch.x; oh < ch.y; oh++) {
            for (var ow = cw.x; ow < cw.y; ow++) {
                let p = (od * params[8] + oh) * params[9] + ow;
                if (argmax(p, q) == i) {
                    acc += src[p * inner + q];
                }
            }
        }
    }
    dst[idx] = acc;
}
