"""OpenCV lens distortion on normalised image coordinates.

Coefficients ``(k1, k2, p1, p2[, k3[, k4, k5, k6]])`` as in ``cv2.projectPoints``: radial part
``(1 + k1 r^2 + k2 r^4 + k3 r^6) / (1 + k4 r^2 + k5 r^4 + k6 r^6)`` plus tangential ``p1, p2``.
Normalised coordinates are ``x_cam[:2] / x_cam[2]``.
"""

from __future__ import annotations

import numba
import numpy as np

MAX_COEFFS = 8


def padded_coefficients(dist) -> np.ndarray:
    """``dist`` (0, 4, 5 or 8 values) -> (8,) float64 with zeros appended."""
    d = np.asarray(dist, dtype=np.float64).reshape(-1)
    if d.size not in (0, 4, 5, 8):
        raise ValueError(
            f"distortion must have 0, 4, 5 or 8 coefficients (k1 k2 p1 p2 [k3 [k4 k5 k6]]), got {d.size}"
        )
    return np.concatenate([d, np.zeros(MAX_COEFFS - d.size)])


def _radial_and_derivative(r2: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k1, k2, _, _, k3, k4, k5, k6 = c
    num = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    den = 1.0 + r2 * (k4 + r2 * (k5 + r2 * k6))
    dnum = k1 + r2 * (2.0 * k2 + 3.0 * r2 * k3)
    dden = k4 + r2 * (2.0 * k5 + 3.0 * r2 * k6)
    return num / den, (dnum * den - num * dden) / den**2


def _stack_last(a, b):
    if type(a).__module__.startswith("torch"):
        import torch  # only reached for tensors, so NumPy users never import torch

        return torch.stack([a, b], -1)
    return np.stack([a, b], -1)


def distort(xy, dist):
    """Apply distortion. ``xy`` (..., 2) normalised -> (..., 2) distorted normalised.

    Works on NumPy arrays (a compiled loop) and on torch tensors (differentiable in ``xy``) alike.
    """
    if isinstance(xy, np.ndarray):
        return _pointwise(_distort_points, xy, padded_coefficients(dist))
    c = [float(v) for v in padded_coefficients(dist)]
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    radial, _ = _radial_and_derivative(r2, c)
    p1, p2 = c[2], c[3]
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return _stack_last(xd, yd)


def distortion_jacobian(xy, dist):
    """``d distort(xy) / d xy``: (..., 2) normalised -> (..., 2, 2) (symmetric), NumPy or torch alike."""
    c = [float(v) for v in padded_coefficients(dist)]
    x, y = xy[..., 0], xy[..., 1]
    radial, dradial = _radial_and_derivative(x * x + y * y, c)
    p1, p2 = c[2], c[3]
    j00 = radial + 2.0 * x * x * dradial + 2.0 * p1 * y + 6.0 * p2 * x
    j11 = radial + 2.0 * y * y * dradial + 6.0 * p1 * y + 2.0 * p2 * x
    j01 = 2.0 * x * y * dradial + 2.0 * p1 * x + 2.0 * p2 * y
    return _stack_last(_stack_last(j00, j01), _stack_last(j01, j11))


def undistort(xy_distorted: np.ndarray, dist, iterations: int = 8) -> np.ndarray:
    """Invert :func:`distort` by Newton's method. (..., 2) -> (..., 2), a compiled loop over points.

    Converges to machine precision within the lens's valid field of view; points where the
    distortion model folds over (far outside the image) keep the best iterate.
    """
    c = padded_coefficients(dist)
    target = np.asarray(xy_distorted, dtype=np.float64)
    if not np.any(c):
        return target.copy()
    return _pointwise(_undistort_points, target, c, iterations)


def _pointwise(kernel, xy: np.ndarray, *args) -> np.ndarray:
    """Run a (N, 2) -> (N, 2) kernel on (..., 2) points (a small call costs microseconds, not the
    milliseconds of a few dozen NumPy operations)."""
    flat = np.ascontiguousarray(np.asarray(xy, dtype=np.float64).reshape(-1, 2))
    return kernel(flat, *args).reshape(np.shape(xy))


@numba.njit(cache=True, nogil=True)
def _lens(x, y, c):  # pragma: no cover - compiled
    """Distorted (xd, yd) of one point and the symmetric Jacobian (j00, j01, j11), as
    :func:`distort` and :func:`distortion_jacobian`."""
    k1, k2, p1, p2, k3, k4, k5, k6 = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    r2 = x * x + y * y
    num = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    den = 1.0 + r2 * (k4 + r2 * (k5 + r2 * k6))
    dnum = k1 + r2 * (2.0 * k2 + 3.0 * r2 * k3)
    dden = k4 + r2 * (2.0 * k5 + 3.0 * r2 * k6)
    radial, dradial = num / den, (dnum * den - num * dden) / den**2
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    j00 = radial + 2.0 * x * x * dradial + 2.0 * p1 * y + 6.0 * p2 * x
    j11 = radial + 2.0 * y * y * dradial + 6.0 * p1 * y + 2.0 * p2 * x
    j01 = 2.0 * x * y * dradial + 2.0 * p1 * x + 2.0 * p2 * y
    return xd, yd, j00, j01, j11


@numba.njit(cache=True, nogil=True)
def _distort_points(xy, c):  # pragma: no cover - compiled
    out = np.empty_like(xy)
    for i in range(xy.shape[0]):
        xd, yd, _, _, _ = _lens(xy[i, 0], xy[i, 1], c)
        out[i, 0], out[i, 1] = xd, yd
    return out


@numba.njit(cache=True, nogil=True)
def _undistort_points(target, c, iterations):  # pragma: no cover - compiled
    out = np.empty_like(target)
    for i in range(target.shape[0]):
        x, y = target[i, 0], target[i, 1]
        for _ in range(iterations):
            xd, yd, j00, j01, j11 = _lens(x, y, c)
            rx, ry = xd - target[i, 0], yd - target[i, 1]
            det = j00 * j11 - j01 * j01
            if abs(det) > 1e-12:
                x, y = x - (j11 * rx - j01 * ry) / det, y - (j00 * ry - j01 * rx) / det
        out[i, 0], out[i, 1] = x, y
    return out
