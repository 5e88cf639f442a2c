"""Closed-form rigid alignment per frame (weighted Kabsch), used to start the global stage.

A proper rotation (det +1) is enforced, so a subject facing any way, upside down included, is
aligned without ever being mirrored.
"""

from __future__ import annotations

import numpy as np

__all__ = ["kabsch", "fill_missing_frames"]


def kabsch(src: np.ndarray, dst: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rotation and translation with ``dst ~ R @ src + t`` per frame.

    Args:
        src: (F or 1, N, 3) model points; dst: (F, N, 3) observed points; weights: (F, N) >= 0.
    Returns:
        R (F, 3, 3), t (F, 3), ok (F,): False where fewer than 3 points have weight.
    """
    src = np.broadcast_to(src, dst.shape)
    w = weights / np.maximum(weights.sum(1, keepdims=True), 1e-12)
    mu_s = (w[..., None] * src).sum(1)
    mu_d = (w[..., None] * dst).sum(1)
    H = np.einsum("fn,fni,fnj->fij", w, src - mu_s[:, None], dst - mu_d[:, None])
    U, _, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(Vt.transpose(0, 2, 1) @ U.transpose(0, 2, 1)))
    D = np.zeros_like(H)
    D[:, 0, 0] = D[:, 1, 1] = 1.0
    D[:, 2, 2] = np.where(d == 0, 1.0, d)
    R = Vt.transpose(0, 2, 1) @ D @ U.transpose(0, 2, 1)
    t = mu_d - np.einsum("fij,fj->fi", R, mu_s)
    ok = (weights > 0).sum(1) >= 3
    return R, t, ok


def fill_missing_frames(values: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Copy each frame without a valid value from the nearest valid frame. (F, ...) arrays."""
    if ok.all() or not ok.any():
        return values
    valid = np.flatnonzero(ok)
    nearest = valid[np.abs(np.arange(len(ok))[:, None] - valid[None]).argmin(1)]
    return values[nearest]
