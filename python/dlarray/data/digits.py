"""Synthetic handwritten-digit data sets in the shape of MATLAB's example data.

MATLAB's ``digitTrain4DArrayData`` / ``digitTest4DArrayData`` ship 5000 synthetic 28x28
digit images each, with labels and rotation angles. That data is not redistributable, so
this module draws its own stand-in, deterministically, on the machine:

* each digit class has one or more *skeletons*: a few control points and the strokes
  (smooth Catmull-Rom curves or straight polylines) that join them;
* per sample the control points are jittered, the skeleton is stretched, slanted,
  rotated by the returned angle (uniform in [-45, 45] degrees, counter-clockwise as
  displayed, as MATLAB's ``imrotate``), scaled and shifted;
* the strokes are rendered with a stroke width of its own per sample, anti-aliased
  through the distance from each pixel to the nearest stroke segment;
* a little Gaussian noise is added and the result clipped to [0, 1].

Rendering is vectorised over all samples of one skeleton at once (a Python loop runs
over the few dozen stroke segments only), so 5000 images take well under two seconds.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from .._matlab_names import accept_matlab_names

# Several names a line, as the table was written.
# fmt: off
__all__ = ["IMAGE_SIZE", "MAX_ANGLE", "NUM_CLASSES", "NUM_OBSERVATIONS", "digitTest4DArrayData",
           "digitTrain4DArrayData"]
# fmt: on

IMAGE_SIZE = 28
NUM_OBSERVATIONS = 5000
NUM_CLASSES = 10
MAX_ANGLE = 45.0

# Distinct seeds so that the test set is not a copy of the training set.
_TRAIN_SEED = 20_19_0001
_TEST_SEED = 20_19_0002


class _Skeleton(NamedTuple):
    """Control points in digit units (x right, y down; height spans y in [-1, 1])."""

    points: np.ndarray  # (K, 2)
    strokes: tuple[tuple[tuple[int, ...], bool], ...]  # (control-point indices, closed)


def _ellipse(cx, cy, rx, ry, angles_deg):
    """Points on an ellipse; angle 0 is to the right, 90 is *up* (y grows downward)."""
    a = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    return np.stack([cx + rx * np.cos(a), cy - ry * np.sin(a)], axis=1)


def _skeleton(point_groups, strokes):
    points = np.concatenate([np.asarray(g, dtype=np.float64).reshape(-1, 2) for g in point_groups])
    return _Skeleton(points, tuple((tuple(ix), closed) for ix, closed in strokes))


def _range(start, count):
    return tuple(range(start, start + count))


def _build_skeletons():
    """Skeletons per digit as (weight, skeleton) pairs.

    The shapes are chosen so that classes that are easy to confuse stay apart: a 1 has
    no long top bar (a 7 does), a 4 is open at the top (a 9 has a closed loop), a 3 is
    open on the left (an 8 is two closed loops), a 5 has a flat bar and a corner (a 6 a
    smooth curve into a closed bottom loop).
    """
    s = {}
    # 0: one closed oval.
    s[0] = [(1.0, _skeleton([_ellipse(0, 0, 0.48, 0.95, np.arange(90, 450, 45))], [(_range(0, 8), True)]))]
    # 1: a plain bar; a bar with a short flag; a flag and a foot.
    plain = _skeleton([[(0.05, -1.0), (0.0, 0.0), (-0.05, 1.0)]], [((0, 1, 2), False)])
    flag = _skeleton([[(-0.28, -0.62), (0.06, -1.0), (0.0, 0.0), (-0.04, 1.0)]], [((0, 1), False), ((1, 2, 3), False)])
    foot = _skeleton(
        [[(-0.28, -0.62), (0.06, -1.0), (0.0, 0.0), (-0.04, 1.0), (-0.3, 1.0), (0.26, 1.0)]],
        [((0, 1), False), ((1, 2, 3), False), ((4, 3, 5), False)],
    )
    s[1] = [(0.55, plain), (0.35, flag), (0.1, foot)]
    # 2: hook over the top, diagonal to the bottom left, flat base.
    s[2] = [
        (
            1.0,
            _skeleton(
                [
                    [
                        (-0.42, -0.55),
                        (-0.22, -0.9),
                        (0.08, -1.0),
                        (0.36, -0.82),
                        (0.42, -0.45),
                        (0.22, -0.05),
                        (-0.12, 0.45),
                        (-0.46, 0.95),
                        (0.48, 0.95),
                    ]
                ],
                [(_range(0, 8), False), ((7, 8), False)],
            ),
        )
    ]
    # 3: two bowls open to the left, meeting in a cusp in the middle.
    s[3] = [
        (
            1.0,
            _skeleton(
                [
                    [
                        (-0.4, -0.78),
                        (-0.08, -1.0),
                        (0.3, -0.9),
                        (0.4, -0.55),
                        (0.2, -0.15),
                        (-0.12, -0.04),
                        (0.3, 0.12),
                        (0.46, 0.5),
                        (0.3, 0.88),
                        (-0.05, 1.0),
                        (-0.44, 0.78),
                    ]
                ],
                [(_range(0, 6), False), ((5,) + _range(6, 5), False)],
            ),
        )
    ]
    # 4: open top: left diagonal down to the bar, bar, long right upright.
    s[4] = [
        (
            1.0,
            _skeleton(
                [[(-0.16, -1.0), (-0.5, 0.3), (0.52, 0.3), (0.28, -0.8), (0.26, 1.0)]], [((0, 1), False), ((1, 2), False), ((3, 4), False)]
            ),
        )
    ]
    # 5: flat top bar, short left upright, bowl open to the left.
    s[5] = [
        (
            1.0,
            _skeleton(
                [
                    [
                        (0.45, -1.0),
                        (-0.3, -1.0),
                        (-0.38, -0.15),
                        (0.0, -0.3),
                        (0.36, -0.12),
                        (0.48, 0.35),
                        (0.3, 0.82),
                        (-0.05, 1.0),
                        (-0.46, 0.8),
                    ]
                ],
                [((0, 1), False), ((1, 2), False), ((2,) + _range(3, 6), False)],
            ),
        )
    ]
    # 6: curve from the top right down the left side into a closed bottom loop.
    s[6] = [
        (
            1.0,
            _skeleton(
                [
                    [
                        (0.32, -1.0),
                        (-0.08, -0.68),
                        (-0.38, -0.1),
                        (-0.42, 0.5),
                        (-0.15, 0.95),
                        (0.22, 0.92),
                        (0.44, 0.52),
                        (0.28, 0.1),
                        (-0.1, 0.06),
                        (-0.4, 0.38),
                    ]
                ],
                [(_range(0, 10), False)],
            ),
        )
    ]
    # 7: long top bar and a diagonal; sometimes the European cross bar.
    seven = _skeleton([[(-0.45, -1.0), (0.5, -1.0), (0.18, -0.1), (-0.08, 1.0)]], [((0, 1), False), ((1, 2, 3), False)])
    crossed = _skeleton(
        [[(-0.45, -1.0), (0.5, -1.0), (0.18, -0.1), (-0.08, 1.0), (-0.12, -0.02), (0.42, -0.02)]],
        [((0, 1), False), ((1, 2, 3), False), ((4, 5), False)],
    )
    s[7] = [(0.8, seven), (0.2, crossed)]
    # 8: two stacked closed loops, the lower one wider.
    s[8] = [
        (
            1.0,
            _skeleton(
                [_ellipse(0, -0.5, 0.36, 0.46, np.arange(270, 630, 60)), _ellipse(0, 0.47, 0.46, 0.5, np.arange(90, 450, 45))],
                [(_range(0, 6), True), (_range(6, 8), True)],
            ),
        )
    ]
    # 9: closed top loop, stem from its right side down (straight or curved).
    loop = _ellipse(-0.04, -0.5, 0.42, 0.46, np.arange(0, 360, 60))
    s[9] = [
        (0.6, _skeleton([loop, [(0.34, 0.25), (0.22, 1.0)]], [(_range(0, 6), True), ((0, 6, 7), False)])),
        (0.4, _skeleton([loop, [(0.36, 0.35), (0.05, 0.95), (-0.3, 0.85)]], [(_range(0, 6), True), ((0, 6, 7, 8), False)])),
    ]
    return s


_SKELETONS = _build_skeletons()


@functools.lru_cache(maxsize=None)
def _spline_weights(num_points: int, closed: bool, samples_per_span: int) -> np.ndarray:
    """Matrix W (N_out, K) so that W @ control_points samples a Catmull-Rom curve.

    The curve passes through every control point. Open curves get mirrored phantom
    end points; closed curves wrap around and end where they start.
    """
    k = num_points
    if k == 2 or samples_per_span == 1:
        # Straight polyline: the control points themselves.
        idx = list(range(k)) + ([0] if closed else [])
        w = np.zeros((len(idx), k))
        w[np.arange(len(idx)), idx] = 1.0
        return w
    spans = k if closed else k - 1
    t = np.arange(samples_per_span) / samples_per_span
    # Uniform Catmull-Rom basis for neighbours P0, P1, P2, P3 (curve from P1 to P2).
    basis = 0.5 * np.stack([-t + 2 * t**2 - t**3, 2 - 5 * t**2 + 3 * t**3, t + 4 * t**2 - 3 * t**3, -(t**2) + t**3], axis=1)  # (m, 4)
    rows = []
    for span in range(spans):
        w = np.zeros((samples_per_span, k))
        for j, offset in enumerate((-1, 0, 1, 2)):
            i = span + offset
            if closed:
                w[:, i % k] += basis[:, j]
            elif i < 0:  # phantom P_-1 = 2 P_0 - P_1
                w[:, 0] += 2 * basis[:, j]
                w[:, 1] -= basis[:, j]
            elif i >= k:  # phantom P_k = 2 P_(k-1) - P_(k-2)
                w[:, k - 1] += 2 * basis[:, j]
                w[:, k - 2] -= basis[:, j]
            else:
                w[:, i] += basis[:, j]
        rows.append(w)
    end = np.zeros((1, k))
    end[0, 0 if closed else k - 1] = 1.0
    rows.append(end)
    return np.concatenate(rows)


def _segments(skeleton: _Skeleton, ctrl: np.ndarray):
    """Stroke segments (start (B, S, 2), end (B, S, 2)) from per-sample control points."""
    starts, ends = [], []
    for indices, closed in skeleton.strokes:
        straight = len(indices) == 2
        w = _spline_weights(len(indices), closed, 1 if straight else 3)
        pts = np.einsum("nk,bkd->bnd", w, ctrl[:, list(indices), :])
        starts.append(pts[:, :-1])
        ends.append(pts[:, 1:])
    return np.concatenate(starts, axis=1), np.concatenate(ends, axis=1)


def _min_sq_distance(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Squared distance (B, H, W) from each pixel centre to the nearest segment.

    For a segment a + t d, t in [0, 1]:  t* = clip(((p - a) . d) / |d|^2, 0, 1) and
    |p - a - t* d|^2 = |p - a|^2 - |d|^2 t* (2u - t*), with u the unclipped t*.
    The per-axis terms broadcast (B, 1, W) against (B, H, 1), so each segment costs a
    handful of full-size operations.
    """
    b = starts.shape[0]
    grid = np.arange(IMAGE_SIZE, dtype=np.float32)
    d = (ends - starts).astype(np.float32)
    len2 = np.maximum(np.einsum("bsd,bsd->bs", d, d), 1e-6).astype(np.float32)
    best = np.full((b, IMAGE_SIZE, IMAGE_SIZE), np.inf, dtype=np.float32)
    u = np.empty_like(best)
    t = np.empty_like(best)
    q = np.empty_like(best)
    for s in range(starts.shape[1]):
        ax = starts[:, s, 0].astype(np.float32)[:, None, None]
        ay = starts[:, s, 1].astype(np.float32)[:, None, None]
        rx = grid[None, None, :] - ax  # (B, 1, W) column offsets
        ry = grid[None, :, None] - ay  # (B, H, 1) row offsets
        inv = (1.0 / len2[:, s])[:, None, None]
        np.add(rx * (d[:, s, 0, None, None] * inv), ry * (d[:, s, 1, None, None] * inv), out=u)
        np.clip(u, 0.0, 1.0, out=t)
        np.add(rx * rx, ry * ry, out=q)
        np.multiply(u, 2.0, out=u)
        np.subtract(u, t, out=u)
        np.multiply(u, t, out=u)
        np.multiply(u, len2[:, s, None, None], out=u)
        np.subtract(q, u, out=q)
        np.minimum(best, q, out=best)
    return np.maximum(best, 0.0, out=best)


def _render(skeleton: _Skeleton, angles_deg: np.ndarray, rng: np.random.Generator):
    """Draw len(angles_deg) samples of one skeleton; returns float32 (B, H, W)."""
    b = angles_deg.shape[0]
    k = skeleton.points.shape[0]
    # Handwriting wobble: each control point moves on its own.
    ctrl = skeleton.points[None] + rng.normal(0.0, 0.055, size=(b, k, 2))
    # Writer style: width, height, slant.
    sx = rng.uniform(0.75, 1.2, size=(b, 1))
    sy = rng.uniform(0.9, 1.08, size=(b, 1))
    slant = rng.uniform(-0.12, 0.12, size=(b, 1))
    x = ctrl[..., 0] * sx - slant * ctrl[..., 1] * sy
    y = ctrl[..., 1] * sy
    # Rotation counter-clockwise as displayed (rows grow downward).
    th = np.deg2rad(angles_deg)[:, None]
    c, s_ = np.cos(th), np.sin(th)
    xr = x * c + y * s_
    yr = -x * s_ + y * c
    scale = rng.uniform(8.0, 9.8, size=(b, 1))  # pixels per digit unit
    centre = (IMAGE_SIZE - 1) / 2 + rng.uniform(-1.5, 1.5, size=(b, 2))
    pix = np.stack([xr * scale + centre[:, :1], yr * scale + centre[:, 1:]], axis=-1)

    starts, ends = _segments(skeleton, pix)
    dist = np.sqrt(_min_sq_distance(starts, ends))
    half_width = rng.uniform(0.8, 1.8, size=(b, 1, 1)).astype(np.float32)
    # Linear ramp one pixel wide around the stroke edge: anti-aliasing.
    return np.clip(half_width + 0.5 - dist, 0.0, 1.0)


def _generate(seed: int, n: int = NUM_OBSERVATIONS):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(NUM_CLASSES, dtype=np.int64), n // NUM_CLASSES)
    labels = np.concatenate([labels, np.arange(n - labels.size, dtype=np.int64)])
    labels = labels[rng.permutation(n)]  # mixed classes, as a datastore would read
    angles = rng.uniform(-MAX_ANGLE, MAX_ANGLE, size=n)
    images = np.empty((n, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    for digit in range(NUM_CLASSES):
        members = np.flatnonzero(labels == digit)
        variants = _SKELETONS[digit]
        weights = np.array([w for w, _ in variants])
        choice = rng.choice(len(variants), size=members.size, p=weights / weights.sum())
        for v, (_, skeleton) in enumerate(variants):
            idx = members[choice == v]
            if idx.size:
                images[idx] = _render(skeleton, angles[idx], rng)
    images += rng.normal(0.0, 0.03, size=images.shape).astype(np.float32)
    np.clip(images, 0.0, 1.0, out=images)
    # MATLAB layout: height x width x channels x observations.
    x = np.ascontiguousarray(images.transpose(1, 2, 0)[:, :, None, :])
    return x, labels, angles


@functools.lru_cache(maxsize=2)
def _cached(seed: int):
    x, labels, angles = _generate(seed)
    for a in (x, labels, angles):
        a.setflags(write=False)
    return x, labels, angles


def digitTrain4DArrayData():
    """Training digits: ``(X, labels, angles)``, MATLAB's ``digitTrain4DArrayData``.

    Returns
    -------
    X : float32 array (28, 28, 1, 5000), values in [0, 1], white digits on black,
        observations along the last axis (MATLAB's h x w x c x N layout).
    labels : int64 array (5000,), digits 0-9, 500 of each, in mixed order.
        (MATLAB returns a categorical; 0-based integer labels are this library's
        convention and index ``numpy.eye(10)`` directly.)
    angles : float64 array (5000,), rotation of each digit in degrees, in [-45, 45],
        counter-clockwise positive as in MATLAB's ``imrotate``.

    The images are synthetic and generated on first call (deterministic, well under
    two seconds), then cached; every call returns fresh copies. MATLAB's X is double;
    float32 is returned here because it is what training uses.
    """
    return tuple(a.copy() for a in _cached(_TRAIN_SEED))


def digitTest4DArrayData():
    """Test digits: same layout as :func:`digitTrain4DArrayData`, drawn with another seed.

    MATLAB's ``digitTest4DArrayData``.
    """
    return tuple(a.copy() for a in _cached(_TEST_SEED))


accept_matlab_names(globals())
