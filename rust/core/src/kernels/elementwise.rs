//! Elementwise maps: unary, and binary with numpy broadcasting. Contiguous fast paths, a
//! strided path for broadcasting, rayon above a size threshold.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::parallel::{use_rayon, PAR_CHUNK};
use crate::shape::{broadcast_strides, numel, StridedIter};

/// A vector of `n` elements that `fill` writes in full. The memory is not zeroed first (a
/// freshly reused heap block would otherwise cost a memset pass).
pub(crate) fn written_by<U: Copy>(n: usize, fill: impl FnOnce(&mut [MaybeUninit<U>])) -> Vec<U> {
    let mut res: Vec<U> = Vec::with_capacity(n);
    fill(&mut res.spare_capacity_mut()[..n]);
    // SAFETY: `fill` initialised all n elements (its contract); U is Copy (no drop concerns).
    unsafe { res.set_len(n) };
    res
}

/// A vector of `n` elements built chunk by chunk by `fill(first index, chunk)`, which must
/// write every element of its chunk; in parallel for large outputs. Each chunk is a plain
/// loop the compiler can vectorise.
pub(crate) fn fill_chunks<U: Copy + Send + Sync>(n: usize, fill: impl Fn(usize, &mut [MaybeUninit<U>]) + Sync + Send) -> Vec<U> {
    written_by(n, |spare| {
        if use_rayon(n) {
            spare.par_chunks_mut(PAR_CHUNK).enumerate().for_each(|(c, chunk)| fill(c * PAR_CHUNK, chunk));
        } else {
            fill(0, spare);
        }
    })
}

pub fn map<T: Copy + Send + Sync, U: Copy + Send + Sync>(x: &[T], f: impl Fn(T) -> U + Sync + Send) -> Vec<U> {
    fill_chunks(x.len(), |start, out| {
        let len = out.len();
        for (o, &v) in out.iter_mut().zip(&x[start..start + len]) {
            o.write(f(v));
        }
    })
}

/// Merges adjacent output dims along which every operand's strides stay contiguous with each
/// other (so a broadcast bias over (P, F, N) becomes three dims at most), dropping size-1 dims.
fn collapse_n<const K: usize>(out: &[usize], strides: [Vec<usize>; K]) -> (Vec<usize>, [Vec<usize>; K]) {
    let mut sh: Vec<usize> = vec![];
    let mut st: [Vec<usize>; K] = std::array::from_fn(|_| vec![]);
    for (d_i, &d) in out.iter().enumerate() {
        if d == 1 {
            continue;
        }
        if let Some(&pd) = sh.last() {
            let k = sh.len() - 1;
            if (0..K).all(|o| st[o][k] == strides[o][d_i] * d) {
                sh[k] = pd * d;
                for o in 0..K {
                    st[o][k] = strides[o][d_i];
                }
                continue;
            }
        }
        sh.push(d);
        for o in 0..K {
            st[o].push(strides[o][d_i]);
        }
    }
    if sh.is_empty() {
        sh.push(1);
        for o in st.iter_mut() {
            o.push(0);
        }
    }
    (sh, st)
}

/// Fills an output of `out`'s shape row by row over the last collapsed dim:
/// `row(dst, bases, from)` writes `dst` = elements `from..from + dst.len()` of the row whose
/// operands start at `bases`; `inner` (returned alongside) gives each operand's stride along
/// rows (0: constant, 1: contiguous, else strided). Rows are batched into parallel chunks.
fn fill_rows<U: Copy + Send + Sync, const K: usize>(
    out: &[usize],
    strides: [Vec<usize>; K],
    row: impl Fn(&mut [MaybeUninit<U>], [usize; K], usize, &[usize; K]) + Sync + Send,
) -> Vec<U> {
    let n = numel(out);
    if n == 0 {
        return Vec::new();
    }
    let (shape, st) = collapse_n(out, strides);
    let (&inner, outer_shape) = shape.split_last().expect("collapse_n keeps one dim");
    let inner_st: [usize; K] = std::array::from_fn(|o| st[o][st[o].len() - 1]);
    let outer_st: [Vec<usize>; K] = std::array::from_fn(|o| st[o][..st[o].len() - 1].to_vec());
    fill_chunks(n, |start, chunk| {
        // The chunk may start and end inside rows.
        let mut rows = StridedIter::starting_at(outer_shape, outer_st.clone(), start / inner);
        let (mut done, mut from) = (0, start % inner);
        while done < chunk.len() {
            let bases = rows.next().expect("rows cover the output");
            let len = (inner - from).min(chunk.len() - done);
            row(&mut chunk[done..done + len], bases, from, &inner_st);
            done += len;
            from = 0;
        }
    })
}

/// `f(a, b)` over the broadcast of `a` (shape `sa`) and `b` (shape `sb`) to `out`. Runs over
/// rows of the last collapsed dim, each row a tight loop with each operand either contiguous
/// or constant along it.
pub fn zip_broadcast<T: Copy + Send + Sync, S: Copy + Send + Sync, U: Copy + Send + Sync>(
    a: &[T],
    sa: &[usize],
    b: &[S],
    sb: &[usize],
    out: &[usize],
    f: impl Fn(T, S) -> U + Sync + Send,
) -> Vec<U> {
    let n = numel(out);
    if sa == out && sb == out {
        return fill_chunks(n, |start, o| {
            let end = start + o.len();
            for ((o, &x), &y) in o.iter_mut().zip(&a[start..end]).zip(&b[start..end]) {
                o.write(f(x, y));
            }
        });
    }
    let strides = [broadcast_strides(sa, out), broadcast_strides(sb, out)];
    fill_rows(out, strides, |o: &mut [MaybeUninit<U>], [pa, pb], from, &[ia, ib]| {
        let len = o.len();
        match (ia, ib) {
            (1, 1) => o.iter_mut().zip(&a[pa + from..pa + from + len]).zip(&b[pb + from..pb + from + len]).for_each(|((o, &x), &y)| {
                o.write(f(x, y));
            }),
            (1, 0) => {
                let y = b[pb];
                o.iter_mut().zip(&a[pa + from..pa + from + len]).for_each(|(o, &x)| {
                    o.write(f(x, y));
                })
            }
            (0, 1) => {
                let x = a[pa];
                o.iter_mut().zip(&b[pb + from..pb + from + len]).for_each(|(o, &y)| {
                    o.write(f(x, y));
                })
            }
            _ => o.iter_mut().enumerate().for_each(|(j, o)| {
                o.write(f(a[pa + (from + j) * ia], b[pb + (from + j) * ib]));
            }),
        }
    })
}

/// Three-way broadcast for `where(cond, a, b)`: same-shape operands take one flat loop;
/// otherwise rows of the last collapsed dim.
pub fn where_broadcast<T: Copy + Send + Sync + Default>(
    c: &[bool],
    sc: &[usize],
    a: &[T],
    sa: &[usize],
    b: &[T],
    sb: &[usize],
    out: &[usize],
) -> Vec<T> {
    let n = numel(out);
    if sc == out && sa == out && sb == out {
        return fill_chunks(n, |start, o| {
            let end = start + o.len();
            for (((o, &k), &x), &y) in o.iter_mut().zip(&c[start..end]).zip(&a[start..end]).zip(&b[start..end]) {
                o.write(if k { x } else { y });
            }
        });
    }
    let strides = [broadcast_strides(sc, out), broadcast_strides(sa, out), broadcast_strides(sb, out)];
    fill_rows(out, strides, |o: &mut [MaybeUninit<T>], [pc, pa, pb], from, &[ic, ia, ib]| {
        if (ic, ia, ib) == (1, 1, 1) {
            let len = o.len();
            let (c, a, b) = (&c[pc + from..pc + from + len], &a[pa + from..pa + from + len], &b[pb + from..pb + from + len]);
            for (((o, &k), &x), &y) in o.iter_mut().zip(c).zip(a).zip(b) {
                o.write(if k { x } else { y });
            }
        } else {
            for (j, o) in o.iter_mut().enumerate() {
                let j = from + j;
                o.write(if c[pc + j * ic] { a[pa + j * ia] } else { b[pb + j * ib] });
            }
        }
    })
}

/// Merges adjacent dims that are contiguous in the source and drops size-1 dims, so the
/// copy loops run over as few, as long rows as possible.
fn collapse(shape: &[usize], strides: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut sh: Vec<usize> = Vec::with_capacity(shape.len());
    let mut st: Vec<usize> = Vec::with_capacity(shape.len());
    for (&d, &s) in shape.iter().zip(strides) {
        if d == 1 {
            continue;
        }
        if let (Some(&pd), Some(&ps)) = (sh.last(), st.last()) {
            if ps == s * d {
                let k = sh.len() - 1;
                sh[k] = pd * d;
                st[k] = s;
                continue;
            }
        }
        sh.push(d);
        st.push(s);
    }
    (sh, st)
}

/// Materialises the strided view of `x` given by `strides` over `out` (starting at
/// `offset`): what permute, broadcast_to and narrow use. Rows of the last (collapsed) dim
/// are copied in tight loops; rows are spread over threads when large.
pub fn gather_strided<T: Copy + Send + Sync + Default>(x: &[T], out: &[usize], strides: &[usize], offset: usize) -> Vec<T> {
    let n = numel(out);
    let mut res = vec![T::default(); n];
    if n == 0 {
        return res;
    }
    let (shape, st) = collapse(out, strides);
    let Some((&inner, outer_shape)) = shape.split_last() else {
        res[0] = x[offset];
        return res;
    };
    let inner_st = st[st.len() - 1];
    if inner_st > 1 {
        // A transpose: rows would be read with a large stride. If some other dim is contiguous
        // in the source, copy tile by tile so both sides stay in cache.
        if let Some(j) = st[..st.len() - 1].iter().position(|&s| s == 1) {
            transpose_tiled(x, &mut res, &shape, &st, offset, j);
            return res;
        }
    }
    let outer_st = [st[..st.len() - 1].to_vec()];
    let outer_shape = outer_shape.to_vec();
    let fill = |first_row: usize, chunk: &mut [T]| {
        let rows = StridedIter::starting_at(&outer_shape, outer_st.clone(), first_row);
        for (row, [base]) in chunk.chunks_mut(inner).zip(rows) {
            let b = offset + base;
            match inner_st {
                1 => row.copy_from_slice(&x[b..b + inner]),
                0 => row.fill(x[b]),
                s => row.iter_mut().enumerate().for_each(|(j, v)| *v = x[b + j * s]),
            }
        }
    };
    if use_rayon(n) {
        let rows_per_chunk = (PAR_CHUNK / inner).max(1);
        res.par_chunks_mut(rows_per_chunk * inner).enumerate().for_each(|(c, chunk)| fill(c * rows_per_chunk, chunk));
    } else {
        fill(0, &mut res);
    }
    res
}

/// `res`'s pointer, shared by the tile tasks of `transpose_tiled`.
struct SendPtr<T>(*mut T);
// SAFETY: the only SendPtr points into `res` in `transpose_tiled` (T: Send + Sync there), which outlives the parallel loop
// that uses it; the tasks only write through it, each element of `res` by exactly one (k, ai, bi).
unsafe impl<T> Send for SendPtr<T> {}
// SAFETY: shared by reference between the tile tasks for the same reason: the pointer itself is never changed, and the
// writes through it go to distinct in-bounds elements, none read while the loop runs.
unsafe impl<T> Sync for SendPtr<T> {}

/// Copies the strided view (collapsed `shape`/`st`) into row-major `res` when source dim `j`
/// is contiguous and the last dim is not: 32 × 32 tiles of (dim j, last dim), so reads run
/// along j and writes along the last dim, each within a cache-sized block.
fn transpose_tiled<T: Copy + Send + Sync>(x: &[T], res: &mut [T], shape: &[usize], st: &[usize], offset: usize, j: usize) {
    const TILE: usize = 32;
    let nd = shape.len();
    let out_st = crate::shape::strides(shape);
    let (a, b) = (shape[j], shape[nd - 1]);
    let (sb, os_a) = (st[nd - 1], out_st[j]);
    let rest: Vec<usize> = (0..nd - 1).filter(|&d| d != j).collect();
    let rest_shape: Vec<usize> = rest.iter().map(|&d| shape[d]).collect();
    let rest_src: Vec<usize> = rest.iter().map(|&d| st[d]).collect();
    let rest_dst: Vec<usize> = rest.iter().map(|&d| out_st[d]).collect();
    let bases: Vec<[usize; 2]> = StridedIter::new(&rest_shape, [rest_src, rest_dst]).collect();
    let a_blocks = a.div_ceil(TILE);
    let dst = SendPtr(res.as_mut_ptr());
    let copy_block = |k: usize| {
        let [src0, dst0] = bases[k / a_blocks];
        let a0 = (k % a_blocks) * TILE;
        let a1 = (a0 + TILE).min(a);
        let dst = &dst;
        for b0 in (0..b).step_by(TILE) {
            let b1 = (b0 + TILE).min(b);
            for ai in a0..a1 {
                let src = offset + src0 + ai;
                let out = dst0 + ai * os_a;
                for bi in b0..b1 {
                    // SAFETY: each (k, ai, bi) writes a distinct in-bounds element of `res`.
                    unsafe { *dst.0.add(out + bi) = x[src + bi * sb] };
                }
            }
        }
    };
    let blocks = bases.len() * a_blocks;
    if use_rayon(res.len()) {
        (0..blocks).into_par_iter().for_each(copy_block);
    } else {
        (0..blocks).for_each(copy_block);
    }
}
