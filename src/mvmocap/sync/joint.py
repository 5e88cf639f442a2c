"""One timeline for every camera from the offsets of camera pairs.

Each pair of cameras that shares enough of the subject gives its own estimate of the difference
of their offsets, ``delta = o_b - o_a``, with a standard deviation. A camera's offset is then
not taken from one chain of comparisons (which makes it depend on the cameras used: two
subsets of one rig disagreed by two frames on real footage) but from all pairs at once: the
offsets minimise ``sum_p w_p ((o_b - o_a - delta_p) / sigma_p)^2`` with the reference at 0 and
robust weights ``w_p`` (Cauchy, iteratively reweighted) that let a pair whose estimate is off
(a repeated movement, a part of the capture where the views disagree) count for little.

Truth-free checks come with it: each camera's standard deviation (the inverse of the weighted
normal matrix, scaled up by the residuals when they are larger than the pairs' own deviations
predict), the **closure** of every triangle of pairs (``delta_ab + delta_bc - delta_ac``: zero
for consistent estimates), and the cameras that no pair ties to the reference.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

__all__ = ["PairOffset", "Timeline", "solve_timeline", "triangle_closures"]

_CAUCHY = 2.385  # the Cauchy weight's scale, in standard deviations (95% efficiency on Gaussian residuals)
_ROUNDS = 30  # reweighting rounds


@dataclass(frozen=True)
class PairOffset:
    """One pair's estimate: ``delta = o_b - o_a`` seconds, with standard deviation ``sigma``."""

    a: int
    b: int
    delta: float
    sigma: float


@dataclass(frozen=True)
class Timeline:
    """Every camera's offset from the pairs (:func:`solve_timeline`).

    offsets: (V,) seconds, the reference's 0; a camera no pair ties to the reference has 0.
    sigma: (V,) standard deviations in seconds (0 for the reference, inf where undetermined).
    weights: (P,) each pair's final robust weight in [0, 1].
    residuals: (P,) ``o_b - o_a - delta`` of each pair, seconds.
    """

    offsets: np.ndarray
    sigma: np.ndarray
    weights: np.ndarray
    residuals: np.ndarray


def solve_timeline(pairs: list[PairOffset], num_cameras: int, reference: int) -> Timeline:
    """The robust least-squares timeline of ``pairs`` (module docstring).

    The reweighting starts both from the plain least-squares solution and from the pairs with the
    reference taken directly; the solution with the smaller robust loss is kept."""
    V = num_cameras
    if not pairs:
        return Timeline(np.zeros(V), np.where(np.arange(V) == reference, 0.0, np.inf), np.zeros(0), np.zeros(0))
    a = np.array([p.a for p in pairs])
    b = np.array([p.b for p in pairs])
    delta = np.array([p.delta for p in pairs])
    sigma = np.array([p.sigma for p in pairs])
    design = np.zeros((len(pairs), V))
    design[np.arange(len(pairs)), b] += 1.0
    design[np.arange(len(pairs)), a] -= 1.0
    free = np.array([c for c in range(V) if c != reference])
    tied = _tied_to(reference, a, b, V)

    solved = free[tied[free]]  # cameras a chain of pairs ties to the reference: the others stay at 0
    linked = tied[a] & tied[b]  # the pairs among them

    def weighted_solve(weights: np.ndarray) -> np.ndarray:
        w = np.where(linked, weights / sigma ** 2, 0.0)
        A = design[:, solved]
        normal = A.T @ (w[:, None] * A) + 1e-12 * np.eye(len(solved))
        x = np.zeros(V)
        if len(solved):
            x[solved] = np.linalg.solve(normal, A.T @ (w * delta))
        return x

    def reweighted(start: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        x = start
        for _ in range(_ROUNDS):
            r = (design @ x - delta) / sigma
            weights = 1.0 / (1.0 + (r / _CAUCHY) ** 2)
            x_new = weighted_solve(weights)
            if np.allclose(x_new, x, atol=1e-9, rtol=0):
                break
            x = x_new
        r = (design @ x - delta) / sigma
        return x, 1.0 / (1.0 + (r / _CAUCHY) ** 2), float(np.log1p((r / _CAUCHY) ** 2).sum())

    direct = np.zeros(V)
    for p in pairs:
        if p.a == reference:
            direct[p.b] = p.delta
        elif p.b == reference:
            direct[p.a] = -p.delta
    starts = [weighted_solve(np.ones(len(pairs))), direct]
    x, weights, _ = min((reweighted(s) for s in starts), key=lambda found: found[2])
    residuals = design @ x - delta
    return Timeline(x, _camera_sigma(design, sigma, weights, residuals, free, tied), weights, residuals)


def _tied_to(reference: int, a: np.ndarray, b: np.ndarray, V: int) -> np.ndarray:
    """(V,) whether a chain of pairs ties each camera to the reference."""
    tied = np.zeros(V, bool)
    tied[reference] = True
    while True:
        grown = tied.copy()
        grown[b[tied[a]]] = True
        grown[a[tied[b]]] = True
        if (grown == tied).all():
            return tied
        tied = grown


def _camera_sigma(design: np.ndarray, sigma: np.ndarray, weights: np.ndarray, residuals: np.ndarray,
                  free: np.ndarray, tied: np.ndarray) -> np.ndarray:
    """(V,) standard deviations of the offsets: the inverse weighted normal matrix, scaled by the
    weighted residuals' variance when it exceeds 1 (the pairs' deviations were optimistic)."""
    V = design.shape[1]
    w = weights / sigma ** 2
    A = design[:, free]
    normal = A.T @ (w[:, None] * A)
    dof = float(weights.sum()) - float(tied[free].sum())
    scale = max(1.0, float((w * residuals ** 2).sum()) / dof) if dof > 0.5 else 1.0
    out = np.full(V, np.inf)
    out[~np.isin(np.arange(V), free)] = 0.0
    inside = tied[free]
    if inside.any():
        sub = normal[np.ix_(inside, inside)]
        cov = np.linalg.pinv(sub) * scale
        out[free[inside]] = np.sqrt(np.maximum(np.diag(cov), 0.0))
    return out


def triangle_closures(pairs: list[PairOffset]) -> list[tuple[tuple[int, int, int], float]]:
    """``((a, b, c), delta_ab + delta_bc - delta_ac)`` in seconds for every three cameras whose
    three pairs all have an estimate, a < b < c."""
    found = {(p.a, p.b): p.delta for p in pairs} | {(p.b, p.a): -p.delta for p in pairs}
    cameras = sorted({p.a for p in pairs} | {p.b for p in pairs})
    out = []
    for a, b, c in itertools.combinations(cameras, 3):
        if (a, b) in found and (b, c) in found and (a, c) in found:
            out.append(((a, b, c), found[(a, b)] + found[(b, c)] - found[(a, c)]))
    return out
