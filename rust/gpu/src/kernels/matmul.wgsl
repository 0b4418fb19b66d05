// Tiled matrix product C[b] = A[b] @ B[b] over a batch (numpy's matmul broadcasting), `T` the
// scalar type. A workgroup of 16 x 16 threads computes a 64 x 64 tile of C, each thread a
// 4 x 4 block held in registers; the K dimension is walked in steps of 16, staging a 64 x 16
// tile of A and a 16 x 64 tile of B in workgroup memory, so each loaded element is used 64
// times. A and B may be any strided views (transposes cost nothing); C is row-major.
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

    var acc: array<T, 16>;
    for (var i = 0u; i < 16u; i++) {
        acc[i] = T(0.0);
    }

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
            var ar: array<T, 4>;
            var br: array<T, 4>;
            for (var i = 0u; i < 4u; i++) {
                ar[i] = a_tile[kk * BM + lid.y * 4u + i];
                br[i] = b_tile[kk * BN + lid.x * 4u + i];
            }
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) {
                    acc[i * 4u + j] = fma(ar[i], br[j], acc[i * 4u + j]);
                }
            }
        }
        workgroupBarrier();
    }

    let c_base = batch * m_len * n_len;
    for (var i = 0u; i < 4u; i++) {
        let gm = row0 + lid.y * 4u + i;
        for (var j = 0u; j < 4u; j++) {
            let gn = col0 + lid.x * 4u + j;
            if (gm < m_len && gn < n_len) {
                c[c_base + gm * n_len + gn] = acc[i * 4u + j];
            }
        }
    }
}
