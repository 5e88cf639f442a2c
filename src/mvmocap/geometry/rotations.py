"""Batched rotation conversions in NumPy (float64 inside, any leading batch dims).

Axis-angle vectors ``(..., 3)`` have the rotation angle in radians as their norm (the
Rodrigues / SMPL convention). Matrices are ``(..., 3, 3)`` and act on column vectors.
The 6D representation ``(..., 6)`` is the first two columns of the matrix, column by column.
"""

from __future__ import annotations

import numpy as np

_SMALL = 1e-12


def _check_last(x: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"{name}: expected shape (..., {', '.join(map(str, shape))}), got {x.shape}")
    return x


def _skew(v: np.ndarray) -> np.ndarray:
    """(..., 3) -> (..., 3, 3) cross-product matrices."""
    zero = np.zeros_like(v[..., 0])
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    return np.stack(
        [np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1), np.stack([-y, x, zero], -1)], -2
    )


def axis_angle_to_matrix(axis_angle: np.ndarray) -> np.ndarray:
    """Rodrigues' formula. ``(..., 3) -> (..., 3, 3)``; exact at zero angle."""
    aa = _check_last(axis_angle, (3,), "axis_angle")
    theta = np.linalg.norm(aa, axis=-1)[..., None, None]
    k = _skew(aa)
    small = theta < 1e-6
    safe = np.where(small, 1.0, theta)
    # sin(t)/t and (1-cos(t))/t^2 with their Taylor expansions near zero.
    a = np.where(small, 1.0 - theta**2 / 6.0, np.sin(safe) / safe)
    b = np.where(small, 0.5 - theta**2 / 24.0, (1.0 - np.cos(safe)) / safe**2)
    return np.eye(3) + a * k + b * (k @ k)


def matrix_to_axis_angle(matrix: np.ndarray) -> np.ndarray:
    """Inverse of :func:`axis_angle_to_matrix`. ``(..., 3, 3) -> (..., 3)``, angle in [0, pi].

    Stable at 0 and near pi (where the axis is read from the symmetric part).
    """
    m = _check_last(matrix, (3, 3), "matrix")
    vee = np.stack([m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]], -1)
    cos = np.clip((np.trace(m, axis1=-2, axis2=-1) - 1.0) / 2.0, -1.0, 1.0)
    sin = np.linalg.norm(vee, axis=-1) / 2.0
    theta = np.arctan2(sin, cos)  # well conditioned at 0 and pi, unlike arccos
    general = vee * np.where(sin > 1e-6, theta / np.maximum(2.0 * sin, _SMALL), 0.5)[..., None]
    # Near pi the axis comes from the symmetric part, (R + R^T) / 2 = cos I + (1 - cos) n n^T:
    # the largest column of n n^T is parallel to n.
    nnt = ((m + np.swapaxes(m, -1, -2)) / 2.0 - cos[..., None, None] * np.eye(3)) / np.maximum(1.0 - cos, _SMALL)[
        ..., None, None
    ]
    col = np.argmax(np.diagonal(nnt, axis1=-2, axis2=-1), axis=-1)
    n = np.take_along_axis(nnt, col[..., None, None].repeat(3, -2), axis=-1)[..., 0]
    n = n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), _SMALL)
    # Orient the axis to agree with the (small) antisymmetric part where it is informative.
    sign = np.where(np.sum(n * vee, -1) < 0, -1.0, 1.0)[..., None]
    near_pi = (theta > np.pi - 1e-3)[..., None]
    return np.where(near_pi, n * sign * theta[..., None], general)


def rotation_about_axis(angle: np.ndarray, axis: str) -> np.ndarray:
    """Rotation by ``angle`` (..., radians) about the world axis ``'x'``, ``'y'`` or ``'z'``."""
    angle = np.asarray(angle, dtype=np.float64)
    index = "xyz".index(axis)
    aa = np.zeros(angle.shape + (3,))
    aa[..., index] = angle
    return axis_angle_to_matrix(aa)


def rot6d_to_matrix(rot6d: np.ndarray) -> np.ndarray:
    """Gram-Schmidt of two columns. ``(..., 6) -> (..., 3, 3)``."""
    r = _check_last(rot6d, (6,), "rot6d")
    a, b = r[..., 0:3], r[..., 3:6]
    c0 = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), _SMALL)
    b = b - np.sum(c0 * b, -1, keepdims=True) * c0
    c1 = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), _SMALL)
    return np.stack([c0, c1, np.cross(c0, c1)], -1)


def matrix_to_rot6d(matrix: np.ndarray) -> np.ndarray:
    """First two columns. ``(..., 3, 3) -> (..., 6)``."""
    m = _check_last(matrix, (3, 3), "matrix")
    return np.concatenate([m[..., :, 0], m[..., :, 1]], -1)


def matrix_to_quaternion(matrix: np.ndarray) -> np.ndarray:
    """Unit quaternion ``(..., 4)`` as ``(x, y, z, w)`` (glTF's order) with ``w >= 0``, from
    ``(..., 3, 3)`` rotation matrices (Shepperd's method: the largest of the four candidates)."""
    m = _check_last(matrix, (3, 3), "matrix")
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    candidates = np.stack([1 + 2 * m[..., 0, 0] - trace, 1 + 2 * m[..., 1, 1] - trace,
                           1 + 2 * m[..., 2, 2] - trace, 1 + trace], -1)  # 4 x^2, 4 y^2, 4 z^2, 4 w^2
    best = np.argmax(candidates, -1)
    x = np.stack([candidates[..., 0], m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0],
                  m[..., 2, 1] - m[..., 1, 2]], -1)
    y = np.stack([m[..., 0, 1] + m[..., 1, 0], candidates[..., 1], m[..., 1, 2] + m[..., 2, 1],
                  m[..., 0, 2] - m[..., 2, 0]], -1)
    z = np.stack([m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1], candidates[..., 2],
                  m[..., 1, 0] - m[..., 0, 1]], -1)
    w = np.stack([m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1],
                  candidates[..., 3]], -1)
    q = np.take_along_axis(np.stack([x, y, z, w], -2), best[..., None, None].repeat(4, -1), -2)[..., 0, :]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., 3:] < 0, -q, q)


def quaternion_to_matrix(quaternion: np.ndarray) -> np.ndarray:
    """``(..., 4)`` quaternions ``(x, y, z, w)`` (normalised here) to ``(..., 3, 3)`` matrices."""
    q = _check_last(quaternion, (4,), "quaternion")
    x, y, z, w = np.moveaxis(q / np.linalg.norm(q, axis=-1, keepdims=True), -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1)], -2)


def matrix_to_euler_zxy(matrix: np.ndarray) -> np.ndarray:
    """Angles ``(..., 3)`` (radians, in the order z, x, y) with ``R = Rz(a) Rx(b) Ry(c)``: BVH's
    ``Zrotation Xrotation Yrotation`` channels. ``b`` lies in [-pi/2, pi/2]; at ``b = +-pi/2``
    (gimbal lock) ``c`` is 0 and ``a`` carries the remaining turn."""
    m = _check_last(matrix, (3, 3), "matrix")
    b = np.arcsin(np.clip(m[..., 2, 1], -1.0, 1.0))
    locked = np.abs(m[..., 2, 1]) > 1 - 1e-9
    a = np.where(locked, np.arctan2(m[..., 1, 0], m[..., 0, 0]), np.arctan2(-m[..., 0, 1], m[..., 1, 1]))
    c = np.where(locked, 0.0, np.arctan2(-m[..., 2, 0], m[..., 2, 2]))
    return np.stack([a, b, c], -1)


def euler_zxy_to_matrix(angles: np.ndarray) -> np.ndarray:
    """``(..., 3)`` angles (z, x, y; radians) to ``Rz(a) Rx(b) Ry(c)``."""
    a = _check_last(angles, (3,), "angles")
    return (rotation_about_axis(a[..., 0], "z") @ rotation_about_axis(a[..., 1], "x")
            @ rotation_about_axis(a[..., 2], "y"))
