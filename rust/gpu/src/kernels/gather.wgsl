// Indexing by positions along the middle axis of row-major arrays viewed as (outer, n, inner):
// the source and the result differ only in that axis (n rows in one, k in the other).
// `gather.rs` prepends the prelude, which names the scalar type T.
//
// params (u32 words): [0] outer, [1] n, [2] inner, [3] k, [4] threads.
// words: u32 positions, laid out per entry point (below).
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<T>;
@group(0) @binding(2) var<storage, read> src: array<T>;
@group(0) @binding(3) var<storage, read> words: array<u32>;

const WG: u32 = 256u;

fn thread_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

// (outer, row, inner) of element t of an (outer, rows, params[2]) array.
fn position(t: u32, rows: u32) -> vec3<u32> {
    let inner = params[2];
    return vec3<u32>(t / (inner * rows), (t / inner) % rows, t % inner);
}

// dst (outer, k, inner) takes row words[j] of src (outer, n, inner) as its row j.
@compute @workgroup_size(256)
fn take_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = thread_index(gid, nwg);
    if (t >= params[4]) {
        return;
    }
    let p = position(t, params[3]);
    dst[t] = src[(p.x * params[1] + words[p.y]) * params[2] + p.z];
}

// dst (outer, n, inner) is the sum, over the rows j of src (outer, k, inner) placed at row r,
// of those rows, added in ascending j (the host's order, so the bits agree); zero where no
// row is placed. words: [0, n] the start of each row's run in the list that follows (n + 1
// words), then the list of source rows j grouped by their row r.
@compute @workgroup_size(256)
fn add_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = thread_index(gid, nwg);
    if (t >= params[4]) {
        return;
    }
    let n = params[1];
    let p = position(t, n);
    var acc = T(0.0);
    for (var q = words[p.y]; q < words[p.y + 1u]; q++) {
        acc = acc + src[(p.x * params[3] + words[n + 1u + q]) * params[2] + p.z];
    }
    dst[t] = acc;
}

// dst[words[2p]] = src[words[2p + 1]] for each pair p: the targets are distinct (the last
// write of repeated targets was chosen on the host), so no two threads write one element.
@compute @workgroup_size(256)
fn put(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = thread_index(gid, nwg);
    if (p >= params[4]) {
        return;
    }
    dst[words[2u * p]] = src[words[2u * p + 1u]];
}

// Row j of src (outer, k, inner) is written as row start + j of dst (outer, n, inner), with
// params [5] start: one part of a concatenation (or the middle of a padding).
@compute @workgroup_size(256)
fn place_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = thread_index(gid, nwg);
    if (t >= params[4]) {
        return;
    }
    let p = position(t, params[3]);
    dst[(p.x * params[1] + params[5] + p.y) * params[2] + p.z] = src[t];
}
