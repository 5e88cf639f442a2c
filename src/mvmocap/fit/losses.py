"""Data and temporal losses of the body fit (PyTorch, batched over frames, all means).

Every loss is normalised (a mean over frames and keypoints or joints), so weights do not depend
on the sequence length. Units: metres for 3D terms, pixels for 2D terms.
"""

from __future__ import annotations

import torch

__all__ = [
    "geman_mcclure",
    "keypoints3d_loss",
    "reprojection_loss",
    "limb_length_loss",
    "rotation_smoothness",
    "position_smoothness",
]


def geman_mcclure(squared: torch.Tensor, sigma: float | None) -> torch.Tensor:
    """Robust cost of squared residuals: ``sigma^2 r^2 / (sigma^2 + r^2)``; plain ``r^2`` when
    ``sigma`` is None. Quadratic near zero, saturating at ``sigma^2`` for outliers."""
    if sigma is None:
        return squared
    s2 = sigma * sigma
    return s2 * squared / (s2 + squared)


def _weighted_mean(cost: torch.Tensor, weight: torch.Tensor, per_frame: bool) -> torch.Tensor:
    """``sum(cost * weight) / sum(weight)``, or each frame's share of it (F,) (axis 0 is time)."""
    shares = (cost * weight).reshape(len(cost), -1).sum(1) / weight.sum().clamp_min(1e-9)
    return shares if per_frame else shares.sum()


def keypoints3d_loss(pred: torch.Tensor, target: torch.Tensor, sigma: float | None = None, *,
                     per_frame: bool = False) -> torch.Tensor:
    """Confidence-weighted 3D keypoint error.

    Args:
        pred: (F, K, 3) model keypoints.
        target: (F, K, 4) observed x, y, z and confidence (0 = missing).
        sigma: Geman-McClure scale in metres, or None for squared error.
        per_frame: return each frame's share (F,) of the loss instead of the loss.
    """
    squared = (pred - target[..., :3]).square().sum(-1)
    return _weighted_mean(geman_mcclure(squared, sigma), target[..., 3], per_frame)


def reprojection_loss(projected: torch.Tensor, target: torch.Tensor, sigma: float | None = None, *,
                      per_frame: bool = False) -> torch.Tensor:
    """Confidence-weighted 2D error in pixels.

    Args:
        projected: (F, V, K, 2) model keypoints projected into every camera.
        target: (F, V, K, 3) detections x, y, confidence (0 = missing).
        sigma: Geman-McClure scale in pixels, or None.
        per_frame: return each frame's share (F,) of the loss instead of the loss.
    """
    squared = (projected - target[..., :2]).square().sum(-1)
    return _weighted_mean(geman_mcclure(squared, sigma), target[..., 2], per_frame)


def limb_length_loss(lengths: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted squared difference of (L,) model limb lengths and targets, metres^2."""
    return _weighted_mean((lengths - target).square(), weight, per_frame=False)


def _differences(x: torch.Tensor, order: int) -> torch.Tensor:
    if order not in (1, 2):
        raise ValueError(f"smoothness order must be 1 or 2, got {order}")
    if x.shape[0] <= order:
        return x[:0]
    return x[1:] - x[:-1] if order == 1 else x[2:] - 2 * x[1:-1] + x[:-2]


def _mean_over_steps(cost: torch.Tensor, frames: int, order: int, per_frame: bool) -> torch.Tensor:
    """The mean of ``cost`` (F - order, ...), or each frame's share (F,): a difference counts for
    the frame at its centre."""
    if not cost.numel():
        return cost.new_zeros(frames) if per_frame else cost.sum()
    shares = cost.reshape(len(cost), -1).sum(1) / cost.numel()
    if not per_frame:
        return shares.sum()
    out = cost.new_zeros(frames)
    out[order // 2:order // 2 + len(shares)] = shares
    return out


def rotation_smoothness(rotations: torch.Tensor, order: int = 1, *, per_frame: bool = False) -> torch.Tensor:
    """Mean squared Frobenius norm of the first or second time difference of rotation matrices.

    ``rotations`` (F, J, 3, 3). Matrices, unlike axis-angle vectors, do not jump at 2 pi.
    ``per_frame``: each frame's share (F,) instead.
    """
    d = _differences(rotations, order)
    return _mean_over_steps(d.square().sum((-1, -2)), len(rotations), order, per_frame)


def position_smoothness(points: torch.Tensor, order: int = 2, *, per_frame: bool = False) -> torch.Tensor:
    """Mean squared norm of the first (velocity) or second (acceleration) time difference of
    (F, ..., 3) positions, per frame step. ``per_frame``: each frame's share (F,) instead."""
    d = _differences(points, order)
    return _mean_over_steps(d.square().sum(-1), len(points), order, per_frame)
