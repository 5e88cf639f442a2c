"""Camera time offsets from 2D keypoint tracks and the calibration.

For two calibrated cameras, a joint seen by both at the same instant lies on the epipolar line of
its other view. For each pair (a, b) and a trial offset, b's track is read at a's frame times
(linear interpolation, :mod:`mvmocap.sync.resample`) and scored by the symmetric point-to-epipolar-
line distance in pixels, truncated at ``truncate`` x the image diagonal, squared and averaged over
the smallest 75% of the joint-frames both see (a trimmed mean: left/right swaps, false detections
and the interpolation of an outlier into its neighbours do not bias it). A camera's cost is
the sum over its pairs with every other camera. Offsets are found camera by camera: first each
against the cameras already placed (the reference first, fixed at 0), then against all the others
(coordinate descent), on a grid of whole frames over ``[-max_offset, max_offset]``; then on a grid
of ``fine_step`` frames about the optimum, refined to a fraction of that by a parabola through the
three best points.

Joints: only those that are well defined on the body and move the most carry the timing
(``SyncSettings.joints``: elbows, wrists, knees, ankles and feet). Detectors place the hips, the
shoulders and the face where their view suggests (a hip joint is inside the body, an ear is guessed
when hidden), and such a view-dependent bias moves with the body's turning like a time shift: on
rendered captures the face and trunk joints put a camera's apparent lag 0.3-0.4 frames away from
the truth, the limb joints about 0.1-0.15.

Confidence: ``sharpness`` is how much the cost rises one frame away from the optimum, relative to
the cost at the optimum; a camera whose sharpness or overlap is too small (it never sees the
person, or nobody moves) cannot be synchronised and is left unshifted with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mvmocap.camera import CameraRig
from mvmocap.skeletons import get_format
from mvmocap.sync.resample import sample_track, smooth_track
from mvmocap.utils import InputError

__all__ = ["TIMING_JOINTS", "CameraOffset", "SyncError", "SyncResult", "SyncSettings", "estimate_offsets",
           "whole_frame_offsets"]

log = logging.getLogger(__name__)

_TRIM = 0.75  # the cost averages the smallest 75% of the squared distances (outliers, swaps left out)
_HELDOUT_ROUNDS = 4  # rounds of the multi-view refinement over all cameras
_INLIER_FRACTION = 0.018  # triangulation inlier threshold, fraction of the image diagonal (as in run)
_MIN_TIMING_JOINTS = 4  # a skeleton with fewer of SyncSettings.joints is timed on all its joints

TIMING_JOINTS = tuple(side + part for part in ("Elbow", "Wrist", "Knee", "Ankle", "BigToe", "SmallToe", "Heel")
                      for side in "LR")


class SyncError(InputError):
    """The cameras cannot be synchronised as asked; the message names the camera and the fix."""


@dataclass(frozen=True)
class SyncSettings:
    """How offsets are searched (see the module docstring).

    max_offset: seconds; the search covers [-max_offset, max_offset] per camera.
    fine_step: frames between the fine grid's trial offsets.
    truncate: distances are capped at this fraction of the image diagonal.
    min_points: joint-frames two cameras must share for an offset to count.
    min_sharpness: below this the camera's offset is undetermined.
    smooth: tracks are smoothed over this many frames (Gaussian sigma) before the search: enough that
        interpolation does not pull offsets towards half frames (:func:`mvmocap.sync.smooth_track`),
        little enough to keep the motion sharp (0.75 frames against 1.5: the largest error per
        rendered capture 0.18-0.43 -> 0.18-0.38 frames, mean 0.33 -> 0.29, over five captures; 0.04-0.2
        -> 0.02-0.08 on six noisy synthetic ones).
    joints: names of the joints timed (module docstring); those the skeleton lacks are skipped.
    """

    max_offset: float = 0.5
    fine_step: float = 0.1
    truncate: float = 0.02
    min_points: int = 200
    min_sharpness: float = 0.05
    smooth: float = 0.75
    joints: tuple[str, ...] = TIMING_JOINTS

    def __post_init__(self) -> None:
        if isinstance(self.joints, str) or not all(isinstance(j, str) for j in self.joints):
            raise ValueError(f"sync joints must be a list of joint names, got {self.joints!r}")
        object.__setattr__(self, "joints", tuple(self.joints))  # a YAML list becomes a tuple
        if not self.max_offset > 0:
            raise ValueError(f"sync max_offset must be > 0 seconds, got {self.max_offset}")
        if not 0 < self.fine_step <= 0.5:
            raise ValueError(f"sync fine_step must be in (0, 0.5] frames, got {self.fine_step}")


@dataclass(frozen=True)
class CameraOffset:
    """One camera's result: ``offset`` seconds (own clock + offset = reference time)."""

    offset: float
    sharpness: float
    residual_px: float
    residual_px_at_zero: float
    status: str  # "reference", "estimated" or "unshifted" (could not be determined)


@dataclass(frozen=True)
class SyncResult:
    reference: str
    method: str
    cameras: dict[str, CameraOffset]

    @property
    def offsets(self) -> dict[str, float]:
        return {name: c.offset for name, c in self.cameras.items()}


def _essential(rig: CameraRig, a: int, b: int) -> np.ndarray:
    """E with x_b^T E x_a = 0 for normalised coordinates of cameras a and b."""
    ca, cb = rig[a], rig[b]
    R = cb.R @ ca.R.T
    t = cb.t - R @ ca.t
    tx = np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])
    return tx @ R


class _PairCosts:
    """Truncated epipolar costs of camera pairs for trial offsets."""

    def __init__(self, rig: CameraRig, normalized: list[np.ndarray], times: list[np.ndarray], truncate: float):
        self.rig, self.norm, self.times = rig, normalized, times
        self.E = {(a, b): _essential(rig, a, b) for a in range(len(rig)) for b in range(len(rig)) if a != b}
        self.focal = [float(np.sqrt(c.K[0, 0] * c.K[1, 1])) for c in rig]
        self.cap = [truncate * c.image_diagonal for c in rig]

    def distances(self, c: int, b: int, delta: float) -> np.ndarray:
        """Symmetric epipolar distances (px) between b's observations and c read at the same
        reference times, where camera c's offset minus b's is ``delta``; (n,) over joint-frames."""
        query = self.times[b] - delta  # b's frames on c's own clock
        xc = sample_track(self.norm[c], self.times[c], query)  # (F_b, J, 3)
        xb = self.norm[b]
        ok = (xc[..., 2] > 0) & (xb[..., 2] > 0)
        pc = np.concatenate([xc[ok][:, :2], np.ones((ok.sum(), 1))], 1)
        pb = np.concatenate([xb[ok][:, :2], np.ones((ok.sum(), 1))], 1)
        E = self.E[(c, b)]  # x_b^T E x_c = 0
        line_b = pc @ E.T
        line_c = pb @ E
        num = np.abs((pb * line_b).sum(-1))
        d_b = num / np.maximum(np.linalg.norm(line_b[:, :2], axis=-1), 1e-12) * self.focal[b]
        d_c = num / np.maximum(np.linalg.norm(line_c[:, :2], axis=-1), 1e-12) * self.focal[c]
        return 0.5 * (d_b + d_c)

    def cost(self, c: int, b: int, delta: float, min_points: int) -> float:
        """Trimmed truncated cost of the pair; NaN when they share fewer than ``min_points``."""
        d = self.distances(c, b, delta)
        if len(d) < min_points:
            return np.nan
        return _trimmed_cost(d, 0.5 * (self.cap[c] + self.cap[b]))


def estimate_offsets(rig: CameraRig, tracks: list[np.ndarray], times: list[np.ndarray], *,
                     settings: SyncSettings | None = None, reference: int = 0,
                     skeleton: str | None = None) -> SyncResult:
    """Time offsets of every camera against ``rig[reference]``.

    Args:
        tracks: per camera (F_c, J, 3) one person's 2D keypoints (distorted pixels, confidence).
        times: per camera (F_c,) frame times in seconds on that camera's clock.
        skeleton: the tracks' keypoint format; with it only ``settings.joints`` are timed.
    Raises:
        SyncError: a camera's best offset lies at the edge of the search range (the true one may be
            beyond ``max_offset``).
    """
    s = settings or SyncSettings()
    V = len(rig)
    if len(tracks) != V or len(times) != V:
        raise ValueError(f"need one track and one time axis per camera ({V}), got {len(tracks)} and {len(times)}")
    timed = _timed_joints(skeleton, s.joints, tracks[0].shape[-2])
    tracks = [smooth_track(kp[..., timed, :], s.smooth) for kp in tracks]
    normalized = []
    for cam, kp in zip(rig, tracks, strict=True):
        xy = cam.undistort_points(kp[..., :2], normalized=True)
        normalized.append(np.concatenate([xy, kp[..., 2:3]], -1))
    times = [np.asarray(t, dtype=np.float64) for t in times]
    steps = [float(np.median(np.diff(t))) if len(t) > 1 else 1 / 30 for t in times]
    costs = _PairCosts(rig, normalized, times, s.truncate)
    offsets = np.zeros(V)

    def camera_cost(c: int, value: float) -> float:
        """Mean pair cost of camera c at offset ``value`` against every other camera."""
        return _mean_finite([costs.cost(c, b, value - offsets[b], s.min_points) for b in range(V) if b != c])

    others = [c for c in range(V) if c != reference]
    frames_out = {c: np.floor(s.max_offset / steps[c]) for c in others}  # whole frames searched either way
    coarse = {c: np.arange(-frames_out[c], frames_out[c] + 1) * steps[c] for c in others}
    offsets[:] = whole_frame_offsets(lambda c, b, delta: costs.cost(c, b, delta, s.min_points), coarse, V, reference)
    sharp = {c: 0.0 for c in others}
    for _ in range(3):  # fine grids about the optimum, then a parabola
        for c in others:
            found = _fine_search(lambda value, c=c: camera_cost(c, value), offsets[c], steps[c], s.fine_step)
            if found is not None:
                offsets[c], sharp[c] = found

    if V >= 3:
        sharp.update(_refine_heldout(rig, tracks, times, offsets, reference, steps, s))

    results = {}
    for c, cam in enumerate(rig):
        residual = _median_residual(costs, c, offsets, V)
        residual0 = _median_residual(costs, c, np.zeros(V), V)
        if c == reference:
            results[cam.name] = CameraOffset(0.0, float("inf"), residual, residual0, "reference")
            continue
        if abs(offsets[c]) >= (frames_out[c] - 0.5) * steps[c]:
            raise SyncError(f"camera {cam.name}: best time offset {offsets[c]:+.3f} s lies at or beyond the edge of "
                                      f"the search range +-{s.max_offset} s; the true offset may be larger: raise "
                                      "--max-offset, or check the camera films the same take")
        if not np.isfinite(residual) or sharp[c] < s.min_sharpness:
            log.warning("camera %s: time offset cannot be determined (too little shared motion seen: "
                        "sharpness %.3f); using it unshifted", cam.name, sharp[c])
            results[cam.name] = CameraOffset(0.0, sharp[c], residual0, residual0, "unshifted")
            offsets[c] = 0.0
            continue
        results[cam.name] = CameraOffset(float(offsets[c]), sharp[c], residual, residual0, "estimated")
    return SyncResult(rig[reference].name, "epipolar+multiview" if V >= 3 else "epipolar", results)


def whole_frame_offsets(pair_cost: Callable[[int, int, float], float], grids: dict[int, np.ndarray], V: int,
                        reference: int) -> np.ndarray:
    """(V,) offsets in seconds, each camera's taken from its ``grids[c]`` (trial offsets, the
    reference has none and stays at 0), minimising the mean of ``pair_cost(c, b, o_c - o_b)`` (NaN:
    the pair shares too little) over camera c's partners.

    Camera by camera first against the cameras already placed (the reference first), so that no
    camera is timed against others still at a wrong start: with cameras seconds apart, timing each
    against all the others at 0 settled on a set consistent among themselves but a gait cycle away
    from the reference; then a coordinate descent against all the others."""
    offsets = np.zeros(V)

    def search(c: int, partners: list[int]) -> bool:
        """Move camera c to its best trial offset; False if no partner shares enough with it."""
        values = np.array([_mean_finite([pair_cost(c, b, o - offsets[b]) for b in partners if b != c])
                           for o in grids[c]])
        if not np.isfinite(values).any():
            return False
        offsets[c] = float(grids[c][np.nanargmin(values)])
        return True

    others = [c for c in range(V) if c != reference]
    placed, waiting = [reference], list(others)
    while waiting:
        found = [c for c in waiting if search(c, placed)]
        if not found:
            break  # the rest share too little with the placed cameras; the descent below tries all
        placed += found
        waiting = [c for c in waiting if c not in found]
    for _ in range(4):
        before = offsets.copy()
        for c in others:
            search(c, list(range(V)))
        if np.array_equal(before, offsets):
            break
    return offsets


def _mean_finite(values: list[float]) -> float:
    """The mean of the finite ``values`` (NaN: a pair that shares too little); NaN if none is."""
    found = [v for v in values if np.isfinite(v)]
    return sum(found) / len(found) if found else float("nan")


def _timed_joints(skeleton: str | None, names: tuple[str, ...], num_joints: int) -> np.ndarray:
    """Indices of the joints to time: ``names`` found in ``skeleton``, else every joint."""
    if skeleton is None:
        return np.arange(num_joints)
    fmt = get_format(skeleton)
    found = [fmt.index(n) for n in names if n in fmt]
    if len(found) < _MIN_TIMING_JOINTS:
        log.debug("sync: %s has %d of the timing joints; timing all %d joints", skeleton, len(found), num_joints)
        return np.arange(num_joints)
    return np.array(sorted(found))


def _fine_search(cost, centre: float, step: float, fine_step: float) -> tuple[float, float] | None:
    """Minimise ``cost(offset)`` on a grid of ``fine_step`` frames within one frame (``step``
    seconds) of ``centre``, refined by a parabola through the three best points. Returns the offset
    and its sharpness (the relative rise of the cost one frame away), or None if nothing is finite."""
    grid = centre + np.arange(-1.0, 1.0 + 1e-9, fine_step) * step
    values = np.array([cost(g) for g in grid])
    if not np.isfinite(values).any():
        return None
    k = int(np.nanargmin(values))
    best = float(grid[k])
    if 0 < k < len(grid) - 1 and np.isfinite(values[k - 1:k + 2]).all():
        y0, y1, y2 = values[k - 1:k + 2]
        if y0 - 2 * y1 + y2 > 0:
            best += float(np.clip(0.5 * (y0 - y2) / (y0 - 2 * y1 + y2), -0.5, 0.5)) * fine_step * step
    at_best, away = cost(best), np.nanmean([cost(best - step), cost(best + step)])
    return best, (float((away - at_best) / max(at_best, 1e-12)) if np.isfinite(away) else 0.0)


def _trimmed_cost(d: np.ndarray, cap: float) -> float:
    """Trimmed mean of capped squared distances (module docstring); NaN for too few."""
    if len(d) < 10:
        return float("nan")
    d = np.minimum(d, cap) ** 2
    k = int(_TRIM * (len(d) - 1))
    return float(np.partition(d, k)[: k + 1].mean())


def _refine_heldout(rig: CameraRig, tracks: list[np.ndarray], times: list[np.ndarray], offsets: np.ndarray,
                    reference: int, steps: list[float], s: SyncSettings) -> dict[int, float]:
    """With 3 or more cameras: refine each offset (in place) so that the camera's detections best
    match the projection of the points triangulated from all other cameras at their offsets (a
    multi-view residual, which also sees motion along the epipolar lines). The reference camera is
    refined like the others and the offsets are then counted from it again: held fixed, its own
    detector bias would pull every other camera with it (on the rendered captures the worst
    camera's error fell from 0.52 to 0.36 frames). Returns the sharpness of the other cameras."""
    from mvmocap.triangulate import triangulate

    V = len(rig)
    diag = np.array([c.image_diagonal for c in rig])
    query = times[reference]
    sharp: dict[int, float] = {}
    for _ in range(_HELDOUT_ROUNDS):
        for c in range(V):
            others = [b for b in range(V) if b != c]
            kp = np.stack([sample_track(tracks[b], times[b], query - offsets[b]) for b in others], axis=1)
            X = triangulate(rig.subset([rig.names[b] for b in others]), kp, threshold_px=_INLIER_FRACTION * diag[others]
                            ).keypoints3d
            cam = rig[c]
            proj = cam.project(X[..., :3])
            ok = (X[..., 3] > 0) & (cam.world_to_camera(X[..., :3])[..., 2] > 0)

            def cost(value: float, c=c, proj=proj, ok=ok, cam=cam) -> float:
                obs = sample_track(tracks[c], times[c], query - value)
                seen = ok & (obs[..., 2] > 0)
                return _trimmed_cost(np.linalg.norm(obs[..., :2] - proj, axis=-1)[seen], s.truncate * diag[c])

            found = _fine_search(cost, offsets[c], steps[c], s.fine_step)
            if found is not None:
                offsets[c], sharp[c] = found
    offsets -= offsets[reference]
    sharp.pop(reference, None)
    return sharp


def _median_residual(costs: _PairCosts, c: int, offsets: np.ndarray, V: int) -> float:
    """Median symmetric epipolar distance (px) of camera c against every other camera."""
    d = [costs.distances(c, b, offsets[c] - offsets[b]) for b in range(V) if b != c]
    d = np.concatenate(d) if d else np.zeros(0)
    return float(np.median(d)) if d.size else float("nan")
