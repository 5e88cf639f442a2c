"""Two-view geometry of calibrated cameras."""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["essential_matrix", "symmetric_epipolar_px"]


def essential_matrix(R_a: np.ndarray, t_a: np.ndarray, R_b: np.ndarray, t_b: np.ndarray) -> np.ndarray:
    """(3, 3) E with ``x_b^T E x_a = 0`` for the normalised coordinates of one point seen by two
    cameras whose world -> camera poses are (R_a, t_a) and (R_b, t_b)."""
    R = R_b @ R_a.T
    t = t_b - R @ t_a
    return np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]]) @ R


def symmetric_epipolar_px(x_a: np.ndarray, x_b: np.ndarray, E: np.ndarray, focal_a: float, focal_b: float
                          ) -> np.ndarray:
    """(n,) symmetric epipolar distances in pixels of n matched points: ``x_a`` (n, 2+) and ``x_b``
    (n, 2+) normalised coordinates in views a and b (further columns ignored), ``E`` from
    :func:`essential_matrix` (``x_b^T E x_a = 0``): the mean of b's point's distance to a's
    epipolar line (times ``focal_b``) and a's to b's (times ``focal_a``). A compiled loop: the sync
    scores thousands of trial offsets, each a few thousand points."""
    return _symmetric_epipolar(np.ascontiguousarray(x_a, dtype=np.float64), np.ascontiguousarray(x_b, dtype=np.float64),
                               np.ascontiguousarray(E, dtype=np.float64), float(focal_a), float(focal_b))


@numba.njit(cache=True, nogil=True)
def _symmetric_epipolar(x_a, x_b, E, focal_a, focal_b):  # pragma: no cover - compiled
    out = np.empty(x_a.shape[0])
    for i in range(x_a.shape[0]):
        xa, ya, xb, yb = x_a[i, 0], x_a[i, 1], x_b[i, 0], x_b[i, 1]
        line_b0 = E[0, 0] * xa + E[0, 1] * ya + E[0, 2]  # E x_a: a's point as a line in b
        line_b1 = E[1, 0] * xa + E[1, 1] * ya + E[1, 2]
        line_b2 = E[2, 0] * xa + E[2, 1] * ya + E[2, 2]
        line_a0 = E[0, 0] * xb + E[1, 0] * yb + E[2, 0]  # E^T x_b: b's point as a line in a
        line_a1 = E[0, 1] * xb + E[1, 1] * yb + E[2, 1]
        num = abs(xb * line_b0 + yb * line_b1 + line_b2)
        d_b = num / max(np.sqrt(line_b0 * line_b0 + line_b1 * line_b1), 1e-12) * focal_b
        d_a = num / max(np.sqrt(line_a0 * line_a0 + line_a1 * line_a1), 1e-12) * focal_a
        out[i] = 0.5 * (d_a + d_b)
    return out
