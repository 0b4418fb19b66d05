// Reduction template, specialised by `reduce.rs`, which replaces each of these names,
// written in double braces below:
//   T        the scalar type
//   INIT     the identity of the combination (0, 1, -inf, +inf)
//   COMBINE  `combine(a, b)`'s body
//   FINISH   applied to the result (the mean divides by the count)
//
// params (u32 words): [0] output count, [1] reduced count, [2] kept dims, [3] reduced dims,
// [4] offset, [8..16) kept shape, [16..24) kept strides, [24..32) reduced shape,
// [32..40) reduced strides (strides as i32 bit patterns).
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<T>;
@group(0) @binding(2) var<storage, read> src: array<T>;

const WG: u32 = 256u;

var<workgroup> partial: array<T, 256>;

fn combine(a: T, b: T) -> T {
    {{COMBINE}}
}

// Offset within the input of element `linear` of the dimensions at [shape_at..), [stride_at..).
fn offset_of(linear: u32, nd: u32, shape_at: u32, stride_at: u32) -> i32 {
    var rem = linear;
    var off = 0i;
    for (var i = 0u; i < nd; i++) {
        let d = nd - 1u - i;
        let n = params[shape_at + d];
        off += i32(rem % n) * bitcast<i32>(params[stride_at + d]);
        rem = rem / n;
    }
    return off;
}

fn finish(acc: T) -> T {
    return {{FINISH}};
}

// One thread per output element: for short reductions over many outputs.
@compute @workgroup_size(256)
fn per_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = gid.x + gid.y * nwg.x * WG;
    if (o >= params[0]) {
        return;
    }
    let n_red = params[1];
    let base = bitcast<i32>(params[4]) + offset_of(o, params[2], 8u, 16u);
    var acc = {{INIT}};
    for (var r = 0u; r < n_red; r++) {
        acc = combine(acc, src[u32(base + offset_of(r, params[3], 24u, 32u))]);
    }
    dst[o] = finish(acc);
}

// One workgroup per output element, the threads striding over the reduced elements and then
// combining in workgroup memory: for long reductions.
@compute @workgroup_size(256)
fn per_group(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    // `o` is the same for the whole workgroup, so every invocation reaches the barriers.
    let o = wid.x + wid.y * nwg.x;
    let n_out = params[0];
    let n_red = params[1];
    let base = bitcast<i32>(params[4]) + offset_of(min(o, n_out - 1u), params[2], 8u, 16u);
    var acc = {{INIT}};
    if (o < n_out) {
        for (var r = lid; r < n_red; r += WG) {
            acc = combine(acc, src[u32(base + offset_of(r, params[3], 24u, 32u))]);
        }
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            partial[lid] = combine(partial[lid], partial[lid + s]);
        }
        workgroupBarrier();
    }
    if (lid == 0u && o < n_out) {
        dst[o] = finish(partial[0]);
    }
}
