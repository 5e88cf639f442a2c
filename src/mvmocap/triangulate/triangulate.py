"""Multi-view triangulation of 2D keypoints: plain weighted DLT and a robust variant.

Robust mode, for every point at once (vectorised; no loop over frames or joints):

1. every pair among the (at most ``proposal_views``) most confident views that see the point
   proposes a 3D point (two-view DLT): at most 15 proposals by default, however many cameras;
2. each proposal is scored over all views by a truncated quadratic of its pixel reprojection
   error (MSAC: ``sum min(e^2, threshold^2)``), so the proposal that most views agree with,
   and agree with closely, wins; no 2^V subsets are ever enumerated;
3. the views within ``threshold_px`` of the winner are the inliers; the point is re-solved from
   them with confidence weights, inliers are re-checked against the refined point, and it is
   solved once more.

Weights: a detector's error scales with the person's size in the image (it sees a fixed-size
crop), so its error in normalised image coordinates scales with 1 / depth, and the DLT's
algebraic residual (depth x normalised error) has the same spread in every view: the plain
confidence-weighted DLT weighs the views right. Re-weighting to pixel-error least squares
(``refine_iterations``, weights (focal / depth)^2) assumes the same pixel noise in every camera
instead and lets the high-resolution cameras dominate: on the rendered realistic captures (mixed
resolutions, the real detector) it raised the triangulated error by 1-3 mm (5-13%), so it is off
by default.

A point seen by fewer than ``min_views`` consistent views is reported missing (confidence 0,
coordinates 0): it is never invented.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from mvmocap.camera import CameraRig
from mvmocap.triangulate.dlt import (
    observation_matrices,
    project_normalized,
    reweighted_dlt,
    squared_pixel_errors,
)
from mvmocap.triangulate.proposals import best_proposal_inliers

__all__ = ["Observations", "Triangulation", "triangulate", "triangulate_dlt", "triangulate_observations"]

_CHUNK_ELEMENTS = 2_000_000  # bound on the values of the DLT matrices held at once (points x views x 4 x 4)


@dataclass
class Triangulation:
    """Result of :func:`triangulate` for keypoints of shape ``(..., V, J, 3)``.

    Attributes:
        keypoints3d: (..., J, 4) x, y, z in metres and confidence (mean confidence of the views
            used; 0 where the joint is missing).
        views_used: (..., V, J) bool, the observations the point was solved from.
        reprojection_error: (..., V, J) pixel distance between the observation and the
            projection of the point (with distortion); NaN where either is missing.
    """

    keypoints3d: np.ndarray
    views_used: np.ndarray
    reprojection_error: np.ndarray

    @property
    def joint_error(self) -> np.ndarray:
        """(..., J) mean reprojection error over the views used; NaN for missing joints."""
        err = np.where(self.views_used, self.reprojection_error, 0.0).sum(-2)
        count = self.views_used.sum(-2)
        return np.where(count > 0, err / np.maximum(count, 1), np.nan)

    @property
    def missing(self) -> np.ndarray:
        """(..., J) True where the joint could not be triangulated."""
        return self.keypoints3d[..., 3] <= 0


def _check_inputs(rig: CameraRig, keypoints2d: np.ndarray) -> np.ndarray:
    kp = np.asarray(keypoints2d, dtype=np.float64)
    if kp.ndim < 3 or kp.shape[-1] != 3:
        raise ValueError(f"keypoints2d must be (..., V, J, 3) with x, y, confidence; got shape {kp.shape}")
    if kp.shape[-3] != len(rig):
        raise ValueError(
            f"keypoints2d has {kp.shape[-3]} views but the rig has {len(rig)} cameras ({rig.names}); "
            "select the same cameras in the same order"
        )
    return kp


def triangulate_dlt(rig: CameraRig, keypoints2d: np.ndarray, min_views: int = 2) -> Triangulation:
    """Plain confidence-weighted DLT over every view that sees the point (no outlier rejection)."""
    return triangulate(rig, keypoints2d, robust=False, min_views=min_views, refine_iterations=0)


@dataclass(frozen=True)
class Observations:
    """Points' observations ready to triangulate: N points (the leading axes and joints,
    flattened) in V views.

    Attributes:
        cameras: Rt (V, 3, 4), K (V, 3, 3), focal (V,) of the views.
        conf: (N, V) confidence, 0 where missing (or not finite); uv: (N, V, 2) distorted pixels
            (0 where missing); xn: (N, V, 2) undistorted normalised coordinates.
    """

    cameras: tuple[np.ndarray, np.ndarray, np.ndarray]
    conf: np.ndarray
    uv: np.ndarray
    xn: np.ndarray

    @classmethod
    def of(cls, rig: CameraRig, keypoints2d: np.ndarray) -> Observations:
        """From ``(..., V, J, 3)`` keypoints (views in rig order)."""
        kp = _check_inputs(rig, keypoints2d)
        V = kp.shape[-3]
        obs = np.moveaxis(kp, -3, -2).reshape(-1, V, 3)  # (N, V, 3) with N = prod(lead) * J
        conf = np.where(np.isfinite(obs[..., 2]) & (obs[..., 2] > 0), obs[..., 2], 0.0)
        conf = np.where(np.all(np.isfinite(obs[..., :2]), -1), conf, 0.0)
        uv = np.where(conf[..., None] > 0, obs[..., :2], 0.0)
        xn = np.moveaxis(rig.undistort_points(np.moveaxis(uv, 1, 0), normalized=True), 0, 1)  # (N, V, 2)
        Rt = np.stack([c.Rt for c in rig]) if V else np.zeros((0, 3, 4))
        K = np.stack([c.K for c in rig]) if V else np.zeros((0, 3, 3))
        focal = np.sqrt(K[:, 0, 0] * K[:, 1, 1])
        return cls((Rt, K, focal), conf, uv, xn)

    def views(self, index: list[int]) -> Observations:
        """The same points seen by the views ``index`` only."""
        return Observations(tuple(c[index] for c in self.cameras), self.conf[:, index], self.uv[:, index],
                            self.xn[:, index])


def triangulate(
    rig: CameraRig,
    keypoints2d: np.ndarray,
    *,
    robust: bool = True,
    threshold_px: float = 20.0,
    min_views: int = 2,
    refine_iterations: int = 0,
    proposal_views: int = 6,
) -> Triangulation:
    """Triangulate ``(..., V, J, 3)`` keypoints (views in rig order) to ``(..., J, 4)``.

    Args:
        rig: the calibrated cameras, in the order of the view axis.
        keypoints2d: distorted pixel coordinates and confidences; confidence <= 0 is missing.
        robust: reject outlier observations (see module docstring); False is plain weighted DLT.
        threshold_px: inlier threshold on the reprojection error, in pixels.
        min_views: fewer consistent views than this leaves the joint missing (>= 2).
        refine_iterations: passes re-weighting to pixel-error least squares (module docstring).
        proposal_views: two-view proposals come from pairs among this many most confident views.
    """
    kp = _check_inputs(rig, keypoints2d)
    lead, (V, J) = kp.shape[:-3], kp.shape[-3:-1]
    observations = Observations.of(rig, kp)
    X, used, point_conf = triangulate_observations(observations, robust=robust, threshold_px=threshold_px,
                                                   min_views=min_views, refine_iterations=refine_iterations,
                                                   proposal_views=proposal_views)
    found = point_conf > 0
    reproj = np.moveaxis(rig.project(X), 0, 1)  # (N, V, 2)
    err = np.linalg.norm(reproj - observations.uv, axis=-1)
    err = np.where((observations.conf > 0) & found[:, None], err, np.nan)

    def per_view(a: np.ndarray) -> np.ndarray:  # (N, V) -> (..., V, J)
        return np.moveaxis(a.reshape(lead + (J, V)), -1, -2)

    keypoints3d = np.concatenate([X, point_conf[:, None]], -1).reshape(lead + (J, 4))
    return Triangulation(keypoints3d, per_view(used), per_view(err))


def triangulate_observations(observations: Observations, *, robust: bool = True, threshold_px: float = 20.0,
                             min_views: int = 2, refine_iterations: int = 0,
                             proposal_views: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`triangulate` on prepared observations: X (N, 3), used (N, V) and each point's
    confidence (N,), 0 (and X 0) where fewer than ``min_views`` consistent views see it."""
    if min_views < 2:
        raise ValueError(f"min_views must be at least 2, got {min_views}")
    conf, xn = observations.conf, observations.xn
    N, V = conf.shape
    # Pairs of positions in each point's confidence ranking of the views.
    pairs = np.array(list(itertools.combinations(range(min(V, proposal_views)), 2)), dtype=np.intp).reshape(-1, 2)
    X = np.zeros((N, 3))
    used = np.zeros((N, V), dtype=bool)
    chunk = max(256, _CHUNK_ELEMENTS // max(1, V * 16))
    for start in range(0, N, chunk):
        s = slice(start, start + chunk)
        X[s], used[s] = _solve_chunk(xn[s], conf[s], observations.cameras, pairs, robust=robust,
                                     threshold_px=threshold_px, min_views=min_views,
                                     refine_iterations=refine_iterations)
    found = used.sum(-1) >= min_views
    point_conf = np.where(found, (conf * used).sum(-1) / np.maximum(used.sum(-1), 1), 0.0)
    return np.where(found[:, None], X, 0.0), used & found[:, None], point_conf


def _solve_chunk(xn, conf, cameras, pairs, *, robust, threshold_px, min_views, refine_iterations):
    """Triangulate one chunk. xn (n, V, 2), conf (n, V), ``cameras`` (Rt (V, 3, 4), K (V, 3, 3),
    focal (V,)) -> X (n, 3), used (n, V)."""
    Rt, K, focal = cameras
    A = observation_matrices(xn, Rt)
    seen = conf > 0
    if robust and len(pairs):
        inliers = _best_pair_inliers(A, xn, conf, Rt, K, pairs, threshold_px)
    else:
        inliers = seen
    X, ok = reweighted_dlt(A, conf * inliers, Rt, focal, refine_iterations)
    if robust:
        # Re-admit views consistent with the refined point, drop those that are not; solve again.
        proj, z = project_normalized(X, Rt)
        inliers = seen & (squared_pixel_errors(proj, xn, K) < np.square(threshold_px)) & (z > 0) & ok[:, None]
        X, ok = reweighted_dlt(A, conf * inliers, Rt, focal, refine_iterations)
    _, z = project_normalized(X, Rt)
    used = inliers & ok[:, None] & (z > 0)
    return X, used & (used.sum(-1, keepdims=True) >= min_views)


def _best_pair_inliers(A, xn, conf, Rt, K, pairs, threshold_px):
    """Score two-view proposals over all views; return (n, V) inliers of the best one
    (:mod:`mvmocap.triangulate.proposals`).

    ``pairs`` (H, 2) index positions in each point's ranking of views by confidence.
    """
    ranking = np.argsort(-conf, axis=1, kind="stable")
    return best_proposal_inliers(A, xn, conf, Rt, K, ranking[:, pairs[:, 0]], ranking[:, pairs[:, 1]], threshold_px)
