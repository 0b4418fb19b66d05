//! Group statistics and per-group affine maps for normalising over any set of axes (layer,
//! group and instance normalisation). A row-major array is split into groups: elements that
//! share their indices along the kept axes. Adjacent axes of the same kind are merged, and the
//! data is walked in rows of the last merged axis: along a row either the group is constant
//! (a reduced axis) or the groups are consecutive (a kept axis), so every row is a tight loop.
//! Statistics accumulate in f64, over blocks of a fixed number of rows merged in order, so
//! they do not depend on the number of threads.

use rayon::prelude::*;

use super::norm::split_centre;
use super::parallel::use_rayon;
use crate::dtype::Real;
use crate::shape::StridedIter;

const BLOCK_ELEMS: usize = 1 << 14;

/// How the elements of an array fall into groups.
#[derive(Clone, Debug)]
pub struct Groups {
    /// Merged dims, outer ones (all but the last) and the last, and each outer dim's stride
    /// in group numbering (0 along reduced dims).
    outer_shape: Vec<usize>,
    outer_gstride: Vec<usize>,
    inner: usize,
    inner_kept: bool,
    pub groups: usize,
    /// Elements per group.
    pub size: usize,
}

impl Groups {
    /// Groups of `shape` when reducing over `axes` (the other axes are kept).
    pub fn new(shape: &[usize], axes: &[usize]) -> Groups {
        let (mut dims, mut kept): (Vec<usize>, Vec<bool>) = (vec![], vec![]);
        for (i, &d) in shape.iter().enumerate() {
            let k = !axes.contains(&i);
            if d == 1 {
                continue;
            }
            if kept.last() == Some(&k) {
                *dims.last_mut().expect("a previous dim") *= d;
            } else {
                dims.push(d);
                kept.push(k);
            }
        }
        if dims.is_empty() {
            dims.push(1);
            kept.push(false);
        }
        let mut gstride = vec![0; dims.len()];
        let mut acc = 1;
        for i in (0..dims.len()).rev() {
            if kept[i] {
                gstride[i] = acc;
                acc *= dims[i];
            }
        }
        let groups = acc;
        let total: usize = dims.iter().product();
        let n = dims.len();
        Groups {
            outer_shape: dims[..n - 1].to_vec(),
            outer_gstride: gstride[..n - 1].to_vec(),
            inner: dims[n - 1],
            inner_kept: kept[n - 1],
            groups,
            size: total / groups.max(1),
        }
    }

    fn rows(&self) -> usize {
        self.outer_shape.iter().product()
    }

    /// Calls `f(first element, first group)` for rows `r0..r1`.
    fn walk(&self, r0: usize, r1: usize, mut f: impl FnMut(usize, usize)) {
        let it = StridedIter::starting_at(&self.outer_shape, [self.outer_gstride.clone()], r0);
        for (r, [g]) in (r0..r1).zip(it) {
            f(r * self.inner, g);
        }
    }

    /// Row ranges of about `BLOCK_ELEMS` elements: the unit of parallel work and of the fixed
    /// order in which partial sums are added.
    fn row_ranges(&self) -> Vec<(usize, usize)> {
        let rows = self.rows();
        let per = (BLOCK_ELEMS / self.inner.max(1)).max(1);
        (0..rows).step_by(per).map(|r| (r, (r + per).min(rows))).collect()
    }
}

/// `P` per-group sums: `term(first element, row length, first group, sums)` adds one row's
/// contributions. Row ranges are folded in parallel, one set of sums per range.
fn group_sums<const P: usize>(gr: &Groups, term: impl Fn(usize, usize, usize, &mut [Vec<f64>; P]) + Sync + Send) -> [Vec<f64>; P] {
    let ranges = gr.row_ranges();
    let zeros = || std::array::from_fn(|_| vec![0.0; gr.groups]);
    let part = |&(r0, r1): &(usize, usize)| {
        let mut acc: [Vec<f64>; P] = zeros();
        gr.walk(r0, r1, |start, g| term(start, gr.inner, g, &mut acc));
        acc
    };
    let par = ranges.len() > 1 && use_rayon(gr.rows() * gr.inner);
    let parts: Vec<[Vec<f64>; P]> = if par { ranges.par_iter().map(part).collect() } else { ranges.iter().map(part).collect() };
    let mut it = parts.into_iter();
    let mut total = it.next().unwrap_or_else(zeros);
    for p in it {
        for (t, q) in total.iter_mut().zip(p) {
            for (a, b) in t.iter_mut().zip(q) {
                *a += b;
            }
        }
    }
    total
}

/// `Σ f(j)` for `j < n` in the data's precision with eight lanes (SIMD), returned as f64.
#[inline(always)]
fn lane_sum<T: Real>(n: usize, f: impl Fn(usize) -> T) -> f64 {
    const L: usize = 8;
    let mut acc = [T::zero(); L];
    let full = n / L * L;
    let mut i = 0;
    while i < full {
        for (l, a) in acc.iter_mut().enumerate() {
            *a = *a + f(i + l);
        }
        i += L;
    }
    let mut s = 0.0;
    for j in full..n {
        s += f(j).to_f64();
    }
    acc.iter().map(|a| a.to_f64()).sum::<f64>() + s
}

/// Per-group mean and biased variance, in two passes: the mean, then the deviations from it,
/// whose own sum corrects the mean and the variance for the first pass's rounding (the
/// corrected two-pass algorithm), so a large offset costs no accuracy and a constant group
/// has variance 0.
pub fn group_moments<T: Real>(x: &[T], gr: &Groups) -> (Vec<f64>, Vec<f64>) {
    let kept = gr.inner_kept;
    let [sums] = group_sums::<1>(gr, |s, n, g, [acc]| {
        if kept {
            for (a, &v) in acc[g..g + n].iter_mut().zip(&x[s..s + n]) {
                *a += v.to_f64();
            }
        } else {
            acc[g] += lane_sum(n, |j| x[s + j]);
        }
    });
    let m = gr.size.max(1) as f64;
    let mean: Vec<f64> = sums.iter().map(|s| s / m).collect();
    let [d1, d2] = group_sums::<2>(gr, |s, n, g, [a1, a2]| {
        if kept {
            let (a1, a2) = (&mut a1[g..g + n], &mut a2[g..g + n]);
            for (((a, b), &v), &mu) in a1.iter_mut().zip(a2.iter_mut()).zip(&x[s..s + n]).zip(&mean[g..g + n]) {
                let d = v.to_f64() - mu;
                *a += d;
                *b += d * d;
            }
        } else {
            let (hi, lo) = split_centre::<T>(mean[g]);
            let d = |j: usize| (x[s + j] - hi) - lo;
            a1[g] += lane_sum(n, d);
            a2[g] += lane_sum(n, |j| d(j) * d(j));
        }
    });
    let corrected = mean.iter().zip(d1.iter().zip(&d2)).map(|(&mu, (&s1, &s2))| {
        let md = s1 / m;
        (mu + md, (s2 / m - md * md).max(0.0))
    });
    corrected.unzip()
}

/// Per group `(Σ g, Σ g·(x − mean))`: what the backward pass needs.
pub fn group_grad_sums<T: Real>(g: &[T], x: &[T], mean: &[f64], gr: &Groups) -> Vec<(f64, f64)> {
    let kept = gr.inner_kept;
    let [sg, sgx] = group_sums::<2>(gr, |s, n, grp, [ag, agx]| {
        if kept {
            let (ag, agx) = (&mut ag[grp..grp + n], &mut agx[grp..grp + n]);
            for ((((a, b), &gv), &v), &mu) in ag.iter_mut().zip(agx.iter_mut()).zip(&g[s..s + n]).zip(&x[s..s + n]).zip(&mean[grp..grp + n])
            {
                let gv = gv.to_f64();
                *a += gv;
                *b += gv * (v.to_f64() - mu);
            }
        } else {
            let (hi, lo) = split_centre::<T>(mean[grp]);
            ag[grp] += lane_sum(n, |j| g[s + j]);
            agx[grp] += lane_sum(n, |j| g[s + j] * ((x[s + j] - hi) - lo));
        }
    });
    sg.into_iter().zip(sgx).collect()
}

/// `a·(x − centre) + b + c·g` elementwise with `(a, b, c)` and `centre` the element's group's
/// (`g` absent: `c` unused). Centring first keeps a large offset from cancelling in `a·x + b`.
pub fn group_affine<T: Real>(x: &[T], g: Option<&[T]>, coef: &[(f64, f64, f64)], centre: &[f64], gr: &Groups) -> Vec<T> {
    let mut out = vec![T::zero(); x.len()];
    // Separate coefficient arrays, so rows along a kept axis load them as vectors.
    let ca: Vec<T> = coef.iter().map(|c| T::from_f64(c.0)).collect();
    let cb: Vec<T> = coef.iter().map(|c| T::from_f64(c.1)).collect();
    let cc: Vec<T> = coef.iter().map(|c| T::from_f64(c.2)).collect();
    let (hi, lo): (Vec<T>, Vec<T>) = centre.iter().map(|&m| split_centre::<T>(m)).unzip();
    let inner = gr.inner;
    let fill = |r0: usize, dst: &mut [T]| {
        let rows = dst.len() / inner.max(1);
        let mut k = 0;
        gr.walk(r0, r0 + rows, |s, grp| {
            let d = &mut dst[k * inner..(k + 1) * inner];
            let xs = &x[s..s + inner];
            k += 1;
            if gr.inner_kept {
                let r = grp..grp + inner;
                let (a, b, c, h, l) = (&ca[r.clone()], &cb[r.clone()], &cc[r.clone()], &hi[r.clone()], &lo[r]);
                match g {
                    None => {
                        for (((((o, &v), &a), &b), &h), &l) in d.iter_mut().zip(xs).zip(a).zip(b).zip(h).zip(l) {
                            *o = a * ((v - h) - l) + b;
                        }
                    }
                    Some(g) => {
                        let gs = &g[s..s + inner];
                        let coefs = a.iter().zip(b).zip(c).zip(h).zip(l);
                        for (((o, &v), &gv), ((((&a, &b), &c), &h), &l)) in d.iter_mut().zip(xs).zip(gs).zip(coefs) {
                            *o = a * ((v - h) - l) + b + c * gv;
                        }
                    }
                }
            } else {
                let (a, b, c, h, l) = (ca[grp], cb[grp], cc[grp], hi[grp], lo[grp]);
                match g {
                    None => {
                        for (o, &v) in d.iter_mut().zip(xs) {
                            *o = a * ((v - h) - l) + b;
                        }
                    }
                    Some(g) => {
                        for ((o, &v), &gv) in d.iter_mut().zip(xs).zip(&g[s..s + inner]) {
                            *o = a * ((v - h) - l) + b + c * gv;
                        }
                    }
                }
            }
        });
    };
    if inner == 0 || out.is_empty() {
        return out;
    }
    let rows_per = (8192 / inner).max(1);
    if use_rayon(x.len()) {
        out.par_chunks_mut(rows_per * inner).enumerate().for_each(|(i, d)| fill(i * rows_per, d));
    } else {
        fill(0, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_of_a_groupnorm_layout() {
        // (H, W, G, C/G, B) reducing H, W, C/G: groups (G, B).
        let gr = Groups::new(&[3, 2, 2, 3, 4], &[0, 1, 3]);
        assert_eq!((gr.groups, gr.size), (8, 18));
        let x: Vec<f64> = (0..144).map(|i| ((i * 7919) % 101) as f64).collect();
        let (mean, var) = group_moments(&x, &gr);
        for g in 0..2 {
            for b in 0..4 {
                let x = &x;
                let vals: Vec<f64> = (0..6).flat_map(|hw| (0..3).map(move |c| x[((hw * 2 + g) * 3 + c) * 4 + b])).collect();
                let mu = vals.iter().sum::<f64>() / 18.0;
                let v = vals.iter().map(|a| (a - mu) * (a - mu)).sum::<f64>() / 18.0;
                assert!((mean[g * 4 + b] - mu).abs() < 1e-9 && (var[g * 4 + b] - v).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn large_offsets_keep_their_statistics_and_centre_exactly() {
        // float32 (4, 6) reduced over axis 1 (reduced rows) and over axis 0 (kept rows):
        // group 0 is constant 1e5 + 0.3, the others 1e5 plus small steps.
        for axes in [vec![1usize], vec![0]] {
            let x: Vec<f32> = (0..24)
                .map(|e| {
                    let grp = if axes == [1] { e / 6 } else { e % 6 };
                    if grp == 0 {
                        100000.3
                    } else {
                        100000.0 + ((e * 5 % 7) as f32) * 0.125
                    }
                })
                .collect();
            let shape = [4usize, 6];
            let gr = Groups::new(&shape, &axes);
            let (mean, var) = group_moments(&x, &gr);
            assert_eq!((mean[0], var[0]), (100000.3f32 as f64, 0.0), "{axes:?}");
            let y = group_affine(&x, None, &vec![(316.0, 0.0, 0.0); gr.groups], &mean, &gr);
            for (e, &v) in x.iter().enumerate() {
                let grp = if axes == [1] { e / 6 } else { e % 6 };
                let vals: Vec<f64> = (0..24).filter(|&f| (if axes == [1] { f / 6 } else { f % 6 }) == grp).map(|f| x[f] as f64).collect();
                let mu = vals.iter().sum::<f64>() / vals.len() as f64;
                let vr = vals.iter().map(|a| (a - mu) * (a - mu)).sum::<f64>() / vals.len() as f64;
                // float32 accuracy relative to the spread, whatever the offset.
                let ok = (mean[grp] - mu).abs() <= 1e-6 * vr.sqrt() && (var[grp] - vr).abs() <= 1e-6 * vr;
                assert!(ok, "{axes:?} group {grp}: {} {} vs {mu} {vr}", mean[grp], var[grp]);
                assert!((y[e] as f64 - 316.0 * (v as f64 - mu)).abs() <= 1e-4 * (1.0 + (316.0 * (v as f64 - mu)).abs()), "{axes:?} {e}");
            }
        }
    }
}
