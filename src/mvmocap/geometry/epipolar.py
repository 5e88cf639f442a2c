"""Two-view geometry of calibrated cameras."""

from __future__ import annotations

import numpy as np

__all__ = ["essential_matrix"]


def essential_matrix(R_a: np.ndarray, t_a: np.ndarray, R_b: np.ndarray, t_b: np.ndarray) -> np.ndarray:
    """(3, 3) E with ``x_b^T E x_a = 0`` for the normalised coordinates of one point seen by two
    cameras whose world -> camera poses are (R_a, t_a) and (R_b, t_b)."""
    R = R_b @ R_a.T
    t = t_b - R @ t_a
    return np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]]) @ R
