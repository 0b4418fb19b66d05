//! Taking rows, adding them back and writing at positions, against host loops: repeated and
//! unused positions, flat and (outer, n, inner) views, empty index lists; the sums come out
//! in the host's order (bitwise equal); concatenation and zero padding along a middle axis;
//! bad positions are typed errors.
#![cfg(feature = "gpu")]

mod common;

use common::{data, gpu};
use dlarray_gpu::kernels::gather::{add_rows, concat_rows, pad_rows, put, take_rows, Rows};
use dlarray_gpu::{GpuBuffer, GpuError};

fn take_ref(x: &[f32], r: Rows, idx: &[usize]) -> Vec<f32> {
    let mut out = Vec::new();
    for o in 0..r.outer {
        for &j in idx {
            out.extend_from_slice(&x[(o * r.n + j) * r.inner..(o * r.n + j + 1) * r.inner]);
        }
    }
    out
}

fn add_ref(v: &[f32], r: Rows, idx: &[usize]) -> Vec<f32> {
    let mut out = vec![0.0f32; r.outer * r.n * r.inner];
    for o in 0..r.outer {
        for (j, &t) in idx.iter().enumerate() {
            for i in 0..r.inner {
                out[(o * r.n + t) * r.inner + i] += v[(o * idx.len() + j) * r.inner + i];
            }
        }
    }
    out
}

const CASES: &[(Rows, &[usize])] = &[
    (Rows { outer: 1, n: 10, inner: 1 }, &[3, 0, 9, 3, 3, 7]),
    (Rows { outer: 3, n: 5, inner: 4 }, &[4, 4, 1, 0, 4]),
    (Rows { outer: 2, n: 6, inner: 1 }, &[5]),
    (Rows { outer: 1, n: 4, inner: 300 }, &[2, 3, 2, 0, 1, 1, 2]),
    (Rows { outer: 2, n: 3, inner: 2 }, &[]),
];

#[test]
fn rows_are_taken_and_added_back_as_on_the_host() {
    if gpu().is_none() {
        return;
    }
    for (k, &(r, idx)) in CASES.iter().enumerate() {
        let x = data(r.outer * r.n * r.inner, k as u64 + 1, -2.0, 2.0);
        let got = take_rows(&GpuBuffer::from_f32(&x).unwrap(), r, idx).unwrap().to_f32_vec().unwrap();
        assert_eq!(got, take_ref(&x, r, idx), "take {r:?} {idx:?}");
        let v = data(r.outer * idx.len() * r.inner, k as u64 + 11, -2.0, 2.0);
        let got = add_rows(&GpuBuffer::from_f32(&v).unwrap(), r, idx).unwrap().to_f32_vec().unwrap();
        assert_eq!(got, add_ref(&v, r, idx), "add {r:?} {idx:?}: the same bits, summed in the host's order");
    }
}

#[test]
fn a_put_copies_the_base_and_the_last_write_wins() {
    if gpu().is_none() {
        return;
    }
    let base = data(12, 3, -1.0, 1.0);
    let idx = [4usize, 0, 4, 11, 4];
    let values = [10.0f32, 20.0, 30.0, 40.0, 50.0];
    let b = GpuBuffer::from_f32(&base).unwrap();
    let got = put(&b, &idx, &GpuBuffer::from_f32(&values).unwrap()).unwrap().to_f32_vec().unwrap();
    let mut want = base.clone();
    for (&i, &v) in idx.iter().zip(&values) {
        want[i] = v;
    }
    assert_eq!(got, want);
    assert_eq!(b.to_f32_vec().unwrap(), base, "the base is not written");
    let none = put(&b, &[], &GpuBuffer::from_f32(&[]).unwrap()).unwrap().to_f32_vec().unwrap();
    assert_eq!(none, base);
}

#[test]
fn bad_positions_and_sizes_are_typed_errors() {
    if gpu().is_none() {
        return;
    }
    let x = GpuBuffer::from_f32(&data(6, 1, 0.0, 1.0)).unwrap();
    let bad = |e: GpuError| assert!(matches!(e, GpuError::InvalidArgument(_)), "{e}");
    bad(take_rows(&x, Rows::flat(6), &[6]).unwrap_err());
    bad(take_rows(&x, Rows::flat(5), &[0]).unwrap_err());
    bad(add_rows(&x, Rows { outer: 2, n: 4, inner: 1 }, &[0, 1, 4]).unwrap_err());
    bad(put(&x, &[1, 2], &GpuBuffer::from_f32(&[1.0]).unwrap()).unwrap_err());
    bad(put(&x, &[9], &GpuBuffer::from_f32(&[1.0]).unwrap()).unwrap_err());
}

#[test]
fn parts_are_joined_and_padded_along_the_middle_axis() {
    if gpu().is_none() {
        return;
    }
    let (outer, inner, sizes) = (3usize, 5usize, [2usize, 0, 4, 1]);
    let parts: Vec<Vec<f32>> = sizes.iter().enumerate().map(|(p, &k)| data(outer * k * inner, p as u64 + 5, -1.0, 1.0)).collect();
    let bufs: Vec<GpuBuffer> = parts.iter().map(|p| GpuBuffer::from_f32(p).unwrap()).collect();
    let refs: Vec<&GpuBuffer> = bufs.iter().collect();
    let got = concat_rows(&refs, outer, &sizes, inner).unwrap().to_f32_vec().unwrap();
    let mut want = Vec::new();
    for o in 0..outer {
        for (p, &k) in parts.iter().zip(&sizes) {
            want.extend_from_slice(&p[o * k * inner..(o + 1) * k * inner]);
        }
    }
    assert_eq!(got, want);
    let got = pad_rows(&bufs[2], outer, 4, inner, 1, 2).unwrap().to_f32_vec().unwrap();
    let zeros = vec![0.0f32; inner];
    let mut want = Vec::new();
    for o in 0..outer {
        want.extend_from_slice(&zeros);
        want.extend_from_slice(&parts[2][o * 4 * inner..(o + 1) * 4 * inner]);
        want.extend_from_slice(&zeros);
        want.extend_from_slice(&zeros);
    }
    assert_eq!(got, want);
    let bad = concat_rows(&refs, outer, &[2, 0, 3, 1], inner).unwrap_err();
    assert!(matches!(bad, GpuError::InvalidArgument(_)), "{bad}");
}
