// Elementwise kernel template, specialised per op, dtype and layout by `elementwise.rs`, which
// replaces each of these names, written in double braces below:
//   T        the scalar type (f32, f64)
//   INPUTS   the input bindings src0, src1, ... (bindings 2, 3, ...)
//   HELPERS  functions the op's expression needs
//   LOADS    `let x0 = ...;` for each input, at the output element's position
//   EXPR     the value written, in terms of x0, x1, x2
//
// params (u32 words): [0] element count, [1] number of dimensions, [2..10) output shape,
// then for input k: [10 + 9k] offset, [11 + 9k .. 19 + 9k) strides (i32 bit patterns).
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<{{T}}>;
{{INPUTS}}

const WG: u32 = 256u;

// The element of input k that output element `linear` (row-major over the output) reads.
fn offset_of(k: u32, linear: u32) -> u32 {
    let base = 10u + 9u * k;
    let nd = params[1];
    var rem = linear;
    var off = bitcast<i32>(params[base]);
    for (var i = 0u; i < nd; i++) {
        let d = nd - 1u - i;
        let n = params[2u + d];
        off += i32(rem % n) * bitcast<i32>(params[base + 1u + d]);
        rem = rem / n;
    }
    return u32(off);
}

{{HELPERS}}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // Grids past the per-dimension limit continue along y (see `Gpu::grid`).
    let idx = gid.x + gid.y * nwg.x * WG;
    if (idx >= params[0]) {
        return;
    }
    {{LOADS}}
    dst[idx] = {{EXPR}};
}
