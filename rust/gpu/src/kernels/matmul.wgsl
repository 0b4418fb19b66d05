// Tiled matrix product C[b] = A[b] @ B[b] over a batch (numpy's matmul broadcasting), `T` the
// scalar type. A workgroup of 16 x 16 threads computes a 64 x 64 tile of C, each thread a
// 4 x 4 block held in four vec4 registers; the K dimension is walked in steps of 16, staging
// a 64 x 16 tile of A and a 16 x 64 tile of B in workgroup memory, so each loaded element is
// used 64 times. A and B may be any strided views (transposes cost nothing); C is row-major.
//
// params (u32 words): [0] M, [1] N, [2] K, [3] batch dims, [4] A offset, [5] B offset,
// [6] A stride along M, [7] A stride along K, [8] B stride along K, [9] B stride along N,
// [16..24) batch shape, [24..32) A batch strides, [32..40) B batch strides (i32 bit patterns).
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read_write> c: array<T>;
@group(0) @binding(2) var<storage, read> a: array<T>;
@group(0) @binding(3) var<storage, read> b: array<T>;

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;

var<workgroup> a_tile: array<T, 1024>; // [k][m], BK x BM
var<workgroup> b_tile: array<T, 1024>; // [k][n], BK x BN

fn p(i: u32) -> i32 {
    return bitcast<i32>(params[i]);
}

// Writes the in-range columns of one row of a thread's block.
fn store_row(c_base: u32, gm: u32, gn0: u32, m_len: u32, n_len: u32, v: vec4<T>) {
    if (gm >= m_len) {
        return;
    }
    let o = c_base + gm * n_len + gn0;
    for (var j = 0u; j < 4u; j++) {
        if (gn0 + j < n_len) {
            c[o + j] = v[j];
        }
    }
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let m_len = params[0];
    let n_len = params[1];
    let k_len = params[2];
    let batch = wid.z;

    // Offsets of this batch element in A and B (the batch dimensions, row-major).
    var a_base = p(4u);
    var b_base = p(5u);
    var rem = batch;
    let nb = params[3];
    for (var i = 0u; i < nb; i++) {
        let d = nb - 1u - i;
        let n = params[16u + d];
        let j = i32(rem % n);
        a_base += j * p(24u + d);
        b_base += j * p(32u + d);
        rem = rem / n;
    }
    let a_m = p(6u);
    let a_k = p(7u);
    let b_k = p(8u);
    let b_n = p(9u);

    let row0 = wid.y * BM;
    let col0 = wid.x * BN;
    let tid = lid.y * 16u + lid.x;

    // The thread's 4 x 4 block: one vec4 per row, columns lid.x * 4 .. + 4.
    var acc0 = vec4<T>(T(0.0));
    var acc1 = vec4<T>(T(0.0));
    var acc2 = vec4<T>(T(0.0));
    var acc3 = vec4<T>(T(0.0));

    for (var k0 = 0u; k0 < k_len; k0 += BK) {
        // 256 threads stage 1024 elements of each tile, 4 each; out-of-range elements are 0.
        for (var i = 0u; i < 4u; i++) {
            let e = tid + i * 256u;
            let am = e / BK;
            let ak = e % BK;
            let gm = row0 + am;
            let gk = k0 + ak;
            var av = T(0.0);
            if (gm < m_len && gk < k_len) {
                av = a[u32(a_base + i32(gm) * a_m + i32(gk) * a_k)];
            }
            a_tile[ak * BM + am] = av;
            let bk = e / BN;
            let bn = e % BN;
            let hk = k0 + bk;
            let hn = col0 + bn;
            var bv = T(0.0);
            if (hk < k_len && hn < n_len) {
                bv = b[u32(b_base + i32(hk) * b_k + i32(hn) * b_n)];
            }
            b_tile[bk * BN + bn] = bv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            let ao = kk * BM + lid.y * 4u;
            let bo = kk * BN + lid.x * 4u;
            let bv = vec4<T>(b_tile[bo], b_tile[bo + 1u], b_tile[bo + 2u], b_tile[bo + 3u]);
            acc0 = fma(vec4<T>(a_tile[ao]), bv, acc0);
            acc1 = fma(vec4<T>(a_tile[ao + 1u]), bv, acc1);
            acc2 = fma(vec4<T>(a_tile[ao + 2u]), bv, acc2);
            acc3 = fma(vec4<T>(a_tile[ao + 3u]), bv, acc3);
        }
        workgroupBarrier();
    }

    let c_base = batch * m_len * n_len;
    let gm0 = row0 + lid.y * 4u;
    let gn0 = col0 + lid.x * 4u;
    store_row(c_base, gm0, gn0, m_len, n_len, acc0);
    store_row(c_base, gm0 + 1u, gn0, m_len, n_len, acc1);
    store_row(c_base, gm0 + 2u, gn0, m_len, n_len, acc2);
    store_row(c_base, gm0 + 3u, gn0, m_len, n_len, acc3);
}
