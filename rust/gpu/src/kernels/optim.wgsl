// Fused optimizer step over one parameter, specialised by `optim.rs`, which replaces each of
// these names, written in double braces below:
//   T        the scalar type (f32, f64)
//   OUTPUTS  the new states' bindings s0_out, s1_out (bindings 2, 3 where present)
//   INPUTS   the inputs p_in, g_in and the states s0_in, s1_in that are given (MATLAB's `[]`
//            state is zeros and has no binding)
//   LOADS    `let s0 = ...;` for each state: its input, or zero
//   RULE     the update: from p, g, s0, s1 and the constants k[0..6), sets np, n0, n1
//   STORES   the writes of the new states
//
// params: the element count, a pad word, then the rule's six constants as T (offset 8 keeps
// them aligned for f64).
struct Params {
    n: u32,
    pad: u32,
    k: array<T, 6>,
}

@group(0) @binding(0) var<storage, read> params: Params;
@group(0) @binding(1) var<storage, read_write> p_out: array<T>;
{{OUTPUTS}}
{{INPUTS}}

const WG: u32 = 256u;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // Grids past the per-dimension limit continue along y (see `Gpu::grid`).
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= params.n) {
        return;
    }
    let k = params.k;
    let p = p_in[i];
    let g = g_in[i];
    {{LOADS}}
    var np = p;
    var n0 = s0;
    var n1 = s1;
    {{RULE}}
    p_out[i] = np;
    {{STORES}}
}
