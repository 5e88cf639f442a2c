"""Confidence-weighted Whittaker smoothing of keypoint trajectories (exact, O(F)).

``x = argmin sum_t w_t |y_t - x_t|^2 + lam sum_t |x_{t+1} - 2 x_t + x_{t-1}|^2``, solved as the
pentadiagonal system ``(W + lam D2^T D2) x = W y`` by a banded Cholesky factorisation, vectorised
over all trajectories. Weight 0 (missing or rejected) frames are interpolated. This is the
keypoint-acceleration term of the fit solved in closed form; the fitter uses it to give its
later passes smooth targets, which the pose passes then match in a few iterations.
"""

from __future__ import annotations

import numpy as np

__all__ = ["lambda_for_cutoff", "robust_smooth", "whittaker_smooth"]


def lambda_for_cutoff(cutoff_hz: float, fps: float) -> float:
    """The smoothing weight whose frequency response is 1/2 at ``cutoff_hz`` for ``fps`` frames/s."""
    omega = 2 * np.pi * min(cutoff_hz / fps, 0.5)
    return 1.0 / (2.0 - 2.0 * np.cos(omega)) ** 2


def whittaker_smooth(y: np.ndarray, w: np.ndarray, lam: float) -> np.ndarray:
    """Smooth ``y`` (F, ...) with weights ``w`` (F, ...) along axis 0."""
    y = np.asarray(y, dtype=np.float64)
    F = y.shape[0]
    if F < 3 or lam <= 0:
        return y.copy()
    w = np.broadcast_to(np.asarray(w, dtype=np.float64), y.shape).reshape(F, -1)
    flat = y.reshape(F, -1)
    # Diagonals of D2^T D2 (second differences): main, first and second off-diagonals.
    d0 = np.full(F, 6.0)
    d0[[0, -1]] = 1.0
    d0[[1, -2]] = 5.0
    d1 = np.full(F - 1, -4.0)
    d1[[0, -1]] = -2.0
    d2 = np.ones(F - 2)
    a0 = lam * d0[:, None] + w + 1e-9  # (F, n) main diagonal per series
    a1 = np.broadcast_to(lam * d1[:, None], (F - 1, flat.shape[1]))
    a2 = np.broadcast_to(lam * d2[:, None], (F - 2, flat.shape[1]))
    # Banded Cholesky: L with diagonal l0 and sub-diagonals l1, l2.
    l0 = np.zeros_like(a0)
    l1 = np.zeros_like(a1)
    l2 = np.zeros_like(a2)
    for i in range(F):  # a recurrence along time, vectorised over all trajectories
        if i >= 2:
            l2[i - 2] = a2[i - 2] / l0[i - 2]
        if i >= 1:
            l1[i - 1] = (a1[i - 1] - (l2[i - 2] * l1[i - 2] if i >= 2 else 0.0)) / l0[i - 1]
        s = a0[i] - l1[i - 1] ** 2 if i >= 1 else a0[i].copy()
        if i >= 2:
            s = s - l2[i - 2] ** 2
        l0[i] = np.sqrt(np.maximum(s, 1e-300))
    b = w * flat
    z = np.zeros_like(b)
    for i in range(F):  # forward substitution
        acc = b[i] - (l1[i - 1] * z[i - 1] if i >= 1 else 0.0) - (l2[i - 2] * z[i - 2] if i >= 2 else 0.0)
        z[i] = acc / l0[i]
    x = np.zeros_like(b)
    for i in range(F - 1, -1, -1):  # back substitution
        acc = z[i] - (l1[i] * x[i + 1] if i + 1 < F else 0.0) - (l2[i] * x[i + 2] if i + 2 < F else 0.0)
        x[i] = acc / l0[i]
    return x.reshape(y.shape)


def robust_smooth(kp: np.ndarray, lam: float, sigma: float = 0.05, iterations: int = 3) -> np.ndarray:
    """Smooth (F, K, 4) keypoints (x, y, z, confidence) ignoring outliers.

    Iteratively reweighted: each round weights every observation by its confidence times the
    Geman-McClure weight ``(sigma^2 / (sigma^2 + r^2))^2`` of its residual to the last smooth
    curve. Returns (F, K, 4) with the smoothed positions and a support in [0, 1] (the local
    density of trusted observations) as confidence.
    """
    conf = kp[..., 3]
    weight = conf.copy()
    xyz = kp[..., :3]
    for _ in range(iterations):
        xyz = whittaker_smooth(kp[..., :3], weight[..., None], lam)
        r2 = np.square(xyz - kp[..., :3]).sum(-1)
        weight = conf * (sigma**2 / (sigma**2 + r2)) ** 2
    support = np.clip(whittaker_smooth(weight, np.ones_like(weight), lam), 0.0, 1.0)
    return np.concatenate([xyz, support[..., None]], -1)
