"""Rigid transforms as (R, t) pairs and their robust average, for the calibration solvers.

A transform ``T = (R, t)`` maps ``x -> R @ x + t``; ``compose(A, B)`` is ``A after B``.
"""

from __future__ import annotations

import numpy as np

from mvmocap.geometry import matrix_to_axis_angle

__all__ = ["compose", "invert", "rotation_angle_deg", "consensus", "similarity"]


def compose(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    return a[0] @ b[0], a[0] @ b[1] + a[1]


def invert(a: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    return a[0].T, -a[0].T @ a[1]


def rotation_angle_deg(R: np.ndarray) -> float:
    return float(np.degrees(np.linalg.norm(matrix_to_axis_angle(R))))


def similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """``(s, R, d)`` with ``dst ~ s R src + d`` in the least-squares sense (Umeyama), for (N, 3)
    point sets, N >= 3 not on one line."""
    src0, dst0 = src - src.mean(0), dst - dst.mean(0)
    U, S, Vt = np.linalg.svd(dst0.T @ src0)
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt))])
    R = U @ D @ Vt
    s = float(np.trace(np.diag(S) @ D) / np.sum(src0 ** 2))
    return s, R, dst.mean(0) - s * R @ src.mean(0)


def consensus(candidates: list[tuple[np.ndarray, np.ndarray]], *, max_angle_deg: float = 3.0,
              max_shift: float = 0.05) -> tuple[tuple[np.ndarray, np.ndarray], list[int]]:
    """The average of the largest group of mutually close transforms (within ``max_angle_deg``
    and ``max_shift`` metres of one member) and the indices of that group. Rotations are averaged
    by projecting their sum back onto SO(3)."""
    n = len(candidates)
    close = np.zeros((n, n), bool)
    for i in range(n):
        for j in range(n):
            close[i, j] = (rotation_angle_deg(candidates[i][0].T @ candidates[j][0]) < max_angle_deg
                           and np.linalg.norm(candidates[i][1] - candidates[j][1]) < max_shift)
    members = np.flatnonzero(close[int(np.argmax(close.sum(1)))])
    U, _, Vt = np.linalg.svd(sum(candidates[i][0] for i in members))
    R = U @ np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt))]) @ Vt
    t = np.mean([candidates[i][1] for i in members], axis=0)
    return (R, t), [int(i) for i in members]
