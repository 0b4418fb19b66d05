// Batch normalisation with batch statistics, of a row-major array viewed as (outer, C,
// inner): one workgroup per channel, its threads striding over the channel's outer·inner
// elements. The mean and then the squared deviations from it are summed in workgroup memory
// (two passes: the variance never comes from E[x²] − E[x]², which cancels), then the channel
// is written as scale·invstd·(x − mean) + offset, the CPU kernel's form. Specialised by
// `norm.rs`, which replaces each of these names, written in double braces below:
//   T    the scalar type
//   EPS  epsilon, a literal
//
// params (u32 words): [0] outer, [1] C, [2] inner.
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<T>;
@group(0) @binding(2) var<storage, read_write> mean_out: array<T>;
@group(0) @binding(3) var<storage, read_write> var_out: array<T>;
@group(0) @binding(4) var<storage, read> src: array<T>;
@group(0) @binding(5) var<storage, read> shift: array<T>;
@group(0) @binding(6) var<storage, read> scale: array<T>;

const WG: u32 = 256u;

var<workgroup> partial: array<T, 256>;

// The offset of the channel's `j`-th element.
fn at(j: u32, ch: u32) -> u32 {
    let inner = params[2];
    return ((j / inner) * params[1] + ch) * inner + j % inner;
}

// Sums the workgroup's partial values; every invocation gets the total.
fn total(v: T, lid: u32) -> T {
    partial[lid] = v;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h = h / 2u) {
        if (lid < h) {
            partial[lid] = partial[lid] + partial[lid + h];
        }
        workgroupBarrier();
    }
    let t = partial[0];
    workgroupBarrier();
    return t;
}

@compute @workgroup_size(256)
fn train(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    // `ch` is the same for the whole workgroup, so every invocation reaches the barriers.
    let ch = wid.x + wid.y * nwg.x;
    let c = params[1];
    let live = ch < c;
    let m = params[0] * params[2];
    var s = T(0.0);
    if (live) {
        for (var j = lid; j < m; j += WG) {
            s += src[at(j, ch)];
        }
    }
    let mean = total(s, lid) / T(m);
    var d = T(0.0);
    if (live) {
        for (var j = lid; j < m; j += WG) {
            let e = src[at(j, ch)] - mean;
            d += e * e;
        }
    }
    let variance = total(d, lid) / T(m);
    if (!live) {
        return;
    }
    let a = scale[ch] / sqrt(variance + T({{EPS}}));
    let b = shift[ch];
    for (var j = lid; j < m; j += WG) {
        let k = at(j, ch);
        dst[k] = a * (src[k] - mean) + b;
    }
    if (lid == 0u) {
        mean_out[ch] = mean;
        var_out[ch] = variance;
    }
}
