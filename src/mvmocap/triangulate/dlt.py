"""Confidence-weighted linear triangulation (DLT) as batched normal equations.

Each observation of a point in view v, in undistorted normalised coordinates ``(x, y)`` and with
extrinsics ``[R | t]``, gives two linear equations ``(x P3 - P1) . X~ = 0`` and
``(y P3 - P2) . X~ = 0`` on the homogeneous point ``X~ = (X, 1)``. Their outer products sum to a
4x4 matrix per observation, ``A_v``; any weighted subset of views is then triangulated by summing
``w_v A_v`` and solving the 3x3 normal equations. That makes trying many view subsets cheap.

The algebraic residual of a view equals depth times the normalised error, so weighting views by
``(f / depth)^2`` turns the least-squares problem into (first-order) pixel reprojection error;
:func:`reweighted_dlt` iterates that.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "observation_matrices",
    "project_normalized",
    "reweighted_dlt",
    "solve_summed",
    "solve_weighted",
    "squared_pixel_errors",
]


def observation_matrices(xn: np.ndarray, Rt: np.ndarray) -> np.ndarray:
    """Per-observation DLT matrices.

    Args:
        xn: (N, V, 2) undistorted normalised image coordinates.
        Rt: (V, 3, 4) extrinsics ``[R | t]``.
    Returns:
        (N, V, 4, 4) symmetric matrices ``r1 r1^T + r2 r2^T``.
    """
    r1 = xn[..., 0:1] * Rt[:, 2] - Rt[:, 0]  # (N, V, 4)
    r2 = xn[..., 1:2] * Rt[:, 2] - Rt[:, 1]
    return r1[..., :, None] * r1[..., None, :] + r2[..., :, None] * r2[..., None, :]


def solve_weighted(A: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Triangulate from weighted observation matrices.

    Args:
        A: (N, V, 4, 4) from :func:`observation_matrices`.
        weights: (N, ..., V) non-negative weights (extra dims, e.g. hypotheses, broadcast).
    Returns:
        X: (N, ..., 3) points; ok: (N, ...) False where the system is singular (fewer than two
        non-parallel rays), X is then 0.
    """
    extra = weights.ndim - 2
    A = A.reshape(A.shape[:1] + (1,) * extra + A.shape[1:])
    return solve_summed(np.einsum("...v,...vij->...ij", weights, A))


def solve_summed(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Point from a summed (..., 4, 4) DLT matrix: the normal equations with w = 1.

    Returns X (..., 3) and ok (...,); X is 0 where ok is False (singular system).
    """
    return _solve3(M[..., :3, :3], -M[..., :3, 3])


def _solve3(M: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched 3x3 solve of ``M x = rhs`` by Cramer's rule with a relative singularity test (the
    cross products of the columns written out: ``np.cross`` on (..., 3) rows cost more than the
    rest of the solve)."""
    (a0, a1, a2), (b0, b1, b2), (c0, c1, c2) = ([M[..., r, k] for r in range(3)] for k in range(3))  # columns a, b, c
    bc = (b1 * c2 - b2 * c1, b2 * c0 - b0 * c2, b0 * c1 - b1 * c0)  # b x c
    det = a0 * bc[0] + a1 * bc[1] + a2 * bc[2]
    scale = np.abs(a0 + b1 + c2) ** 3
    ok = np.abs(det) > 1e-10 * np.maximum(scale, 1e-300)
    safe = np.where(ok, det, 1.0)
    r0, r1, r2 = rhs[..., 0], rhs[..., 1], rhs[..., 2]
    x = np.stack([r0 * bc[0] + r1 * bc[1] + r2 * bc[2],  # r . (b x c)
                  a0 * (r1 * c2 - r2 * c1) + a1 * (r2 * c0 - r0 * c2) + a2 * (r0 * c1 - r1 * c0),  # a . (r x c)
                  a0 * (b1 * r2 - b2 * r1) + a1 * (b2 * r0 - b0 * r2) + a2 * (b0 * r1 - b1 * r0)], -1)  # a . (b x r)
    return np.where(ok[..., None], x / safe[..., None], 0.0), ok


def project_normalized(X: np.ndarray, Rt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, ..., 3) points -> ((N, ..., V, 2) normalised projections, (N, ..., V) depths).
    (One matrix product for all views: the robust search projects every proposal into every view.)"""
    V = len(Rt)
    xc = (X.reshape(-1, 3) @ Rt[:, :, :3].reshape(3 * V, 3).T).reshape(X.shape[:-1] + (V, 3)) + Rt[:, :, 3]
    z = xc[..., 2]
    safe = np.where(np.abs(z) < 1e-12, 1e-12, z)
    return xc[..., :2] / safe[..., None], z


def squared_pixel_errors(proj: np.ndarray, xn: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Squared reprojection error in (undistorted) pixels (what a threshold test and a truncated
    cost need).

    Args:
        proj: (N, ..., V, 2) projected normalised coordinates.
        xn: (N, V, 2) observed normalised coordinates (broadcast over the middle dims).
        K: (V, 3, 3) intrinsics.
    Returns:
        (N, ..., V) squared Euclidean pixel distances.
    """
    extra = proj.ndim - 3
    d = proj - xn.reshape(xn.shape[:1] + (1,) * extra + xn.shape[1:])
    du = K[:, 0, 0] * d[..., 0] + K[:, 0, 1] * d[..., 1]
    dv = K[:, 1, 1] * d[..., 1]
    return du * du + dv * dv


def reweighted_dlt(
    A: np.ndarray, weights: np.ndarray, Rt: np.ndarray, focal: np.ndarray, iterations: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted DLT, then ``iterations`` re-solves with weights ``w * (f / depth)^2``.

    Args:
        A: (N, V, 4, 4); weights: (N, V); Rt: (V, 3, 4); focal: (V,) focal lengths in pixels.
    Returns:
        X: (N, 3), ok: (N,).
    """
    X, ok = solve_weighted(A, weights)
    for _ in range(iterations):
        _, z = project_normalized(X, Rt)
        scale = (focal / np.maximum(np.abs(z), 1e-6)) ** 2
        scale /= np.maximum(scale.max(-1, keepdims=True), 1e-300)  # keep the system well scaled
        X_new, ok_new = solve_weighted(A, weights * scale)
        X = np.where(ok_new[..., None], X_new, X)
        ok = ok | ok_new
    return X, ok
