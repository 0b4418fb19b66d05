// Softmax (or log-softmax) along the middle axis of a row-major array viewed as
// (outer, n, inner): each of the outer·inner columns of n elements is one group. Specialised
// by `softmax.rs`, which replaces each of these names, written in double braces below:
//   T       the scalar type
//   FINISH  an element's result from its value v, the group's maximum m, the sum s of
//           exp(v − m) and its reciprocal inv
//
// params (u32 words): [0] outer, [1] n, [2] inner, [3] columns (outer · inner).
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<T>;
@group(0) @binding(2) var<storage, read> src: array<T>;

const WG: u32 = 256u;

var<workgroup> partial: array<T, 256>;

// The larger value, NaN if either is (a NaN input makes its whole group NaN, as on the CPU).
fn bigger(a: T, b: T) -> T {
    return select(a, b, b > a || is_nan(b));
}

fn finish(v: T, m: T, s: T, inv: T) -> T {
    return {{FINISH}};
}

// The offset of the first element of column `c`.
fn base_of(c: u32) -> u32 {
    let n = params[1];
    let inner = params[2];
    return (c / inner) * n * inner + c % inner;
}

// One thread per column: for short groups.
@compute @workgroup_size(256)
fn per_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let c = gid.x + gid.y * nwg.x * WG;
    if (c >= params[3]) {
        return;
    }
    let n = params[1];
    let inner = params[2];
    let base = base_of(c);
    var m = T(bitcast<f32>(0xff800000u));
    for (var k = 0u; k < n; k++) {
        m = bigger(m, src[base + k * inner]);
    }
    var s = T(0.0);
    for (var k = 0u; k < n; k++) {
        s += exp(src[base + k * inner] - m);
    }
    let inv = T(1.0) / s;
    for (var k = 0u; k < n; k++) {
        let at = base + k * inner;
        dst[at] = finish(src[at], m, s, inv);
    }
}

// One workgroup per column, the threads striding over its elements and combining the
// maximum and then the sum in workgroup memory: for long groups.
@compute @workgroup_size(256)
fn per_group(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    // `c` is the same for the whole workgroup, so every invocation reaches the barriers.
    let c = wid.x + wid.y * nwg.x;
    let columns = params[3];
    let n = params[1];
    let inner = params[2];
    let base = base_of(min(c, columns - 1u));
    let live = c < columns;
    var m = T(bitcast<f32>(0xff800000u));
    if (live) {
        for (var k = lid; k < n; k += WG) {
            m = bigger(m, src[base + k * inner]);
        }
    }
    partial[lid] = m;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h = h / 2u) {
        if (lid < h) {
            partial[lid] = bigger(partial[lid], partial[lid + h]);
        }
        workgroupBarrier();
    }
    m = partial[0];
    workgroupBarrier();
    var s = T(0.0);
    if (live) {
        for (var k = lid; k < n; k += WG) {
            s += exp(src[base + k * inner] - m);
        }
    }
    partial[lid] = s;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h = h / 2u) {
        if (lid < h) {
            partial[lid] = partial[lid] + partial[lid + h];
        }
        workgroupBarrier();
    }
    s = partial[0];
    let inv = T(1.0) / s;
    if (live) {
        for (var k = lid; k < n; k += WG) {
            let at = base + k * inner;
            dst[at] = finish(src[at], m, s, inv);
        }
    }
}
