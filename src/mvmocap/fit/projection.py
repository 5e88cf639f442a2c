"""Differentiable projection of 3D points into a calibrated rig (PyTorch), with distortion."""

from __future__ import annotations

import torch

from mvmocap.camera import CameraRig, distort

__all__ = ["project_rig"]


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
        u = K[0, 0] * xy[..., 0] + K[0, 1] * xy[..., 1] + K[0, 2]
        v = K[1, 1] * xy[..., 1] + K[1, 2]
        views.append(torch.stack([u, v], -1))
    return torch.stack(views, 1)
