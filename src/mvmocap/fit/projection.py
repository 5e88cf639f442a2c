"""Differentiable projection of 3D points into a calibrated rig (PyTorch), with distortion."""

from __future__ import annotations

import torch

from mvmocap.camera import CameraRig, distort
from mvmocap.camera.distortion import distortion_jacobian

__all__ = ["project_rig", "project_rig_jacobian"]


def project_rig(points: torch.Tensor, rig: CameraRig) -> torch.Tensor:
    """(F, K, 3) world points -> (F, V, K, 2) distorted pixels, as ``Camera.project``."""
    views = []
    for cam in rig:
        like = dict(dtype=points.dtype, device=points.device)
        R, t, K = (torch.as_tensor(x, **like) for x in (cam.R, cam.t, cam.K))
        xc = points @ R.T + t
        xy = xc[..., :2] / xc[..., 2:].clamp_min(1e-6)
        if cam.has_distortion:
            xy = distort(xy, cam.dist)
        views.append(_to_pixels(xy, K))
    return torch.stack(views, 1)


def _to_pixels(xy: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """(..., 2) distorted normalised coordinates -> (..., 2) pixels by ``K`` (skew included)."""
    return torch.stack([K[0, 0] * xy[..., 0] + K[0, 1] * xy[..., 1] + K[0, 2], K[1, 1] * xy[..., 1] + K[1, 2]], -1)


def project_rig_jacobian(points: torch.Tensor, rig: CameraRig) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`project_rig` and its derivative: (F, V, K, 2) pixels and (F, V, K, 2, 3) ``d pixel / d point``,
    by the chain rule (pixels from distorted normalised coordinates, the distortion's own Jacobian,
    the perspective division (nothing through a depth clamped at 1e-6, as autograd), the rotation)."""
    views, jacobians = [], []
    for cam in rig:
        like = dict(dtype=points.dtype, device=points.device)
        R, t, K = (torch.as_tensor(x, **like) for x in (cam.R, cam.t, cam.K))
        xc = points @ R.T + t
        depth = xc[..., 2:].clamp_min(1e-6)
        xy = xc[..., :2] / depth
        # d xy / d xc: [I / z | -xy / z], the last column 0 where the depth is clamped
        division = torch.cat([torch.eye(2, **like).expand(xy.shape[:-1] + (2, 2)) / depth[..., None],
                              (-xy / depth * (xc[..., 2:] >= 1e-6))[..., None]], -1)
        if cam.has_distortion:
            division = distortion_jacobian(xy, cam.dist) @ division
            xy = distort(xy, cam.dist)
        views.append(_to_pixels(xy, K))
        jacobians.append(K[:2, :2] @ division @ R)
    return torch.stack(views, 1), torch.stack(jacobians, 1)
