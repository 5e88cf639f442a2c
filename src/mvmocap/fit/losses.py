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


def _weighted_mean(cost: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return (cost * weight).sum() / weight.sum().clamp_min(1e-9)


def keypoints3d_loss(pred: torch.Tensor, target: torch.Tensor, sigma: float | None = None) -> torch.Tensor:
    """Confidence-weighted 3D keypoint error.

    Args:
        pred: (F, K, 3) model keypoints.
        target: (F, K, 4) observed x, y, z and confidence (0 = missing).
        sigma: Geman-McClure scale in metres, or None for squared error.
    """
    squared = (pred - target[..., :3]).square().sum(-1)
    return _weighted_mean(geman_mcclure(squared, sigma), target[..., 3])


def reprojection_loss(projected: torch.Tensor, target: torch.Tensor, sigma: float | None = None) -> torch.Tensor:
    """Confidence-weighted 2D error in pixels.

    Args:
        projected: (F, V, K, 2) model keypoints projected into every camera.
        target: (F, V, K, 3) detections x, y, confidence (0 = missing).
        sigma: Geman-McClure scale in pixels, or None.
    """
    squared = (projected - target[..., :2]).square().sum(-1)
    return _weighted_mean(geman_mcclure(squared, sigma), target[..., 2])


def limb_length_loss(lengths: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted squared difference of (L,) model limb lengths and targets, metres^2."""
    return _weighted_mean((lengths - target).square(), weight)


def _differences(x: torch.Tensor, order: int) -> torch.Tensor:
    if order not in (1, 2):
        raise ValueError(f"smoothness order must be 1 or 2, got {order}")
    if x.shape[0] <= order:
        return x[:0]
    return x[1:] - x[:-1] if order == 1 else x[2:] - 2 * x[1:-1] + x[:-2]


def rotation_smoothness(rotations: torch.Tensor, order: int = 1) -> torch.Tensor:
    """Mean squared Frobenius norm of the first or second time difference of rotation matrices.

    ``rotations`` (F, J, 3, 3). Matrices, unlike axis-angle vectors, do not jump at 2 pi.
    """
    d = _differences(rotations, order)
    return d.square().sum((-1, -2)).mean() if d.numel() else rotations.sum() * 0.0


def position_smoothness(points: torch.Tensor, order: int = 2) -> torch.Tensor:
    """Mean squared norm of the first (velocity) or second (acceleration) time difference of
    (F, ..., 3) positions, per frame step."""
    d = _differences(points, order)
    return d.square().sum(-1).mean() if d.numel() else points.sum() * 0.0
