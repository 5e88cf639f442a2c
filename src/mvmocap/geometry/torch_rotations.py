"""Batched rotation conversions in PyTorch, differentiable, device and dtype from the input.

Same conventions as :mod:`mvmocap.geometry.rotations` (axis-angle ``(..., 3)``, matrices
``(..., 3, 3)`` acting on column vectors, 6D = first two columns).
"""

from __future__ import annotations

import torch

__all__ = ["axis_angle_to_matrix_t", "left_jacobian_t", "matrix_to_axis_angle_t", "rot6d_to_matrix_t",
           "matrix_to_rot6d_t", "skew_t"]


def _check(x: torch.Tensor, shape: tuple[int, ...], name: str) -> None:
    if tuple(x.shape[x.dim() - len(shape):]) != shape:
        raise ValueError(f"{name}: expected shape (..., {', '.join(map(str, shape))}), got {tuple(x.shape)}")


def axis_angle_to_matrix_t(axis_angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula, ``(..., 3) -> (..., 3, 3)``, with finite gradients at zero angle."""
    _check(axis_angle, (3,), "axis_angle")
    theta2 = (axis_angle * axis_angle).sum(-1, keepdim=True)[..., None]  # (..., 1, 1)
    small = theta2 < 1e-8
    theta2_safe = torch.where(small, torch.ones_like(theta2), theta2)
    theta = theta2_safe.sqrt()
    # sin(t)/t and (1 - cos t)/t^2, Taylor-expanded near zero (keeps gradients finite there).
    a = torch.where(small, 1.0 - theta2 / 6.0, torch.sin(theta) / theta)
    b = torch.where(small, 0.5 - theta2 / 24.0, (1.0 - torch.cos(theta)) / theta2_safe)
    x, y, z = axis_angle.unbind(-1)
    zero = torch.zeros_like(x)
    k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(axis_angle.shape[:-1] + (3, 3))
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    return eye + a * k + b * (k @ k)


def skew_t(v: torch.Tensor) -> torch.Tensor:
    """Cross-product matrices ``[v]_x``, ``(..., 3) -> (..., 3, 3)``: ``[v]_x w = v x w``."""
    _check(v, (3,), "v")
    x, y, z = v.unbind(-1)
    zero = torch.zeros_like(x)
    return torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(v.shape[:-1] + (3, 3))


def left_jacobian_t(axis_angle: torch.Tensor) -> torch.Tensor:
    """Left Jacobian of SO(3), ``(..., 3) -> (..., 3, 3)``: ``exp(r + d) = exp(J(r) d) exp(r)`` to
    first order in ``d``, i.e. ``J(r) = I + (1 - cos t) / t^2 [r]_x + (t - sin t) / t^3 [r]_x^2``."""
    _check(axis_angle, (3,), "axis_angle")
    theta2 = (axis_angle * axis_angle).sum(-1, keepdim=True)[..., None]
    small = theta2 < 1e-8
    theta2_safe = torch.where(small, torch.ones_like(theta2), theta2)
    theta = theta2_safe.sqrt()
    b = torch.where(small, 0.5 - theta2 / 24.0, (1.0 - torch.cos(theta)) / theta2_safe)
    c = torch.where(small, 1.0 / 6.0 - theta2 / 120.0, (theta - torch.sin(theta)) / (theta2_safe * theta))
    k = skew_t(axis_angle)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    return eye + b * k + c * (k @ k)


def matrix_to_axis_angle_t(matrix: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`axis_angle_to_matrix_t`, angle in [0, pi]; stable at 0 and pi."""
    _check(matrix, (3, 3), "matrix")
    m = matrix
    vee = torch.stack([m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]], -1)
    cos = ((m.diagonal(dim1=-2, dim2=-1).sum(-1) - 1.0) / 2.0).clamp(-1.0, 1.0)
    sin = vee.norm(dim=-1) / 2.0
    theta = torch.atan2(sin, cos)
    factor = torch.where(sin > 1e-6, theta / (2.0 * sin).clamp_min(1e-12), torch.full_like(theta, 0.5))
    general = vee * factor[..., None]
    eye = torch.eye(3, dtype=m.dtype, device=m.device)
    nnt = ((m + m.transpose(-1, -2)) / 2.0 - cos[..., None, None] * eye) / (1.0 - cos).clamp_min(1e-12)[..., None, None]
    col = nnt.diagonal(dim1=-2, dim2=-1).argmax(-1)
    n = torch.gather(nnt, -1, col[..., None, None].expand(m.shape[:-2] + (3, 1)))[..., 0]
    n = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    sign = torch.where((n * vee).sum(-1, keepdim=True) < 0, -1.0, 1.0).to(m.dtype)
    near_pi = (theta > torch.pi - 1e-3)[..., None]
    return torch.where(near_pi, n * sign * theta[..., None], general)


def rot6d_to_matrix_t(rot6d: torch.Tensor) -> torch.Tensor:
    """Gram-Schmidt of two columns, ``(..., 6) -> (..., 3, 3)``."""
    _check(rot6d, (6,), "rot6d")
    a, b = rot6d[..., :3], rot6d[..., 3:]
    c0 = torch.nn.functional.normalize(a, dim=-1)
    c1 = torch.nn.functional.normalize(b - (c0 * b).sum(-1, keepdim=True) * c0, dim=-1)
    return torch.stack([c0, c1, torch.linalg.cross(c0, c1, dim=-1)], -1)


def matrix_to_rot6d_t(matrix: torch.Tensor) -> torch.Tensor:
    """First two columns, ``(..., 3, 3) -> (..., 6)``."""
    _check(matrix, (3, 3), "matrix")
    return torch.cat([matrix[..., :, 0], matrix[..., :, 1]], -1)
