"""Camera time offsets from 2D keypoint tracks and the calibration.

For two calibrated cameras, a joint seen by both at the same instant lies on the epipolar line of
its other view. For each pair (a, b) and a trial offset, b's track is read at a's frame times
(linear interpolation, :mod:`mvmocap.sync.resample`) and scored by the symmetric point-to-epipolar-
line distance in pixels, truncated at ``truncate`` x the image diagonal, squared and averaged over
the smallest 75% of the joint-frames both see (a trimmed mean: left/right swaps, false detections
and the interpolation of an outlier into its neighbours do not bias it); a pair's cost is the
mean of both directions (a's frames read in b, b's read in a).

Every pair is timed on its own: first on a grid of whole frames over ``[-max_offset,
max_offset]``, then, about its best, on a grid of ``fine_step`` frames refined by a parabola
through the three best points; its standard deviation is found by the block jackknife (the
estimate again with each fifth of the capture left out: it sees the detector's slowly varying
biases, which a curvature of the cost counting every joint-frame as independent does not). The
cameras' offsets are the robust least-squares timeline of all pairs
(:mod:`mvmocap.sync.joint`), so that they do not depend on which cameras are used, with the
closure of every three cameras' pairs as a truth-free check. With three or more cameras whose
offsets are determined, each is then refined against the points triangulated from the others
(:func:`_refine_heldout`), which sees the motion along the epipolar lines that pairs cannot; a
camera it moves further from the pairs' timeline than 3 deviations and a quarter frame keeps the
pairs' offset (then one of the two is biased, and the pairs agree with each other).

Joints: only those that are well defined on the body and move the most carry the timing
(``SyncSettings.joints``: elbows, wrists, knees, ankles and feet). Detectors place the hips, the
shoulders and the face where their view suggests (a hip joint is inside the body, an ear is guessed
when hidden), and such a view-dependent bias moves with the body's turning like a time shift: on
rendered captures the face and trunk joints put a camera's apparent lag 0.3-0.4 frames away from
the truth, the limb joints about 0.1-0.15.

Confidence: a camera whose offset's standard deviation exceeds ``max_uncertainty`` frames, or
that no pair ties to the reference (it never sees the person, or nobody moves), cannot be
synchronised and is left unshifted with a warning.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mvmocap.camera import CameraRig
from mvmocap.geometry import essential_matrix, symmetric_epipolar_px
from mvmocap.skeletons import get_format
from mvmocap.sync.joint import PairOffset, Timeline, solve_timeline, triangle_closures
from mvmocap.sync.resample import sample_track, smooth_track
from mvmocap.utils import InputError, thinning_stride

__all__ = ["TIMING_JOINTS", "CameraOffset", "PairEstimate", "SyncError", "SyncResult", "SyncSettings",
           "WholeFrames", "estimate_offsets", "whole_frame_offsets"]

log = logging.getLogger(__name__)

_TRIM = 0.75  # the cost averages the smallest 75% of the squared distances (outliers, swaps left out)
_BLOCKS = 5  # stretches of time the jackknife leaves out in turn
_HELDOUT_ROUNDS = 4  # rounds of the multi-view refinement over all cameras
_INLIER_FRACTION = 0.018  # the refinement's triangulation inlier threshold, fraction of the image diagonal
_REFINE_SLACK = 0.25  # frames: the refinement may move a camera this much beyond 3 deviations of its pairs'
_WHOLE_FRAME_SIGMA = 1.0  # frames: the least deviation of a whole-frame pair estimate (a sharp minimum of
# the nearest-frame costs can still lie a frame or two off: a bystander, the frames' rounding)
_MIN_RISE = 0.1  # a pair's cost must rise this much (relative) within _RISE_FRAMES of its best, else it is flat
_RISE_FRAMES = 3
_FLAT = 1e-4  # the least relative rise of a whole-frame cost curve (its deviation then 100 frames)
_SIGMA_FLOOR = 0.02  # frames: a pair's standard deviation is taken as no smaller (the fine grid's resolution)
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
    max_uncertainty: frames; a camera whose offset's standard deviation is larger is left unshifted.
    smooth: tracks are smoothed over this many frames (Gaussian sigma) before the search: enough that
        interpolation does not pull offsets towards half frames (:func:`mvmocap.sync.smooth_track`),
        little enough to keep the motion sharp (0.75 frames against 1.5: the largest error per
        rendered capture 0.18-0.43 -> 0.18-0.38 frames, mean 0.33 -> 0.29, over five captures; 0.04-0.2
        -> 0.02-0.08 on six noisy synthetic ones).
    joints: names of the joints timed (module docstring); those the skeleton lacks are skipped.
    max_frames: each camera's offsets are measured on at most this many of its frames, every k-th,
        spread over the whole capture (the costs are linear in the frames measured and the pairs
        quadratic in the cameras: a 9-camera, 3-minute capture at 30 fps spent 4 minutes here;
        1200 frames are 40 s at 30 fps, thousands of joint-frames a pair). Shorter captures use
        every frame.
    """

    max_offset: float = 0.5
    fine_step: float = 0.1
    truncate: float = 0.02
    min_points: int = 200
    max_uncertainty: float = 0.5
    smooth: float = 0.75
    joints: tuple[str, ...] = TIMING_JOINTS
    max_frames: int = 1200

    def __post_init__(self) -> None:
        if isinstance(self.joints, str) or not all(isinstance(j, str) for j in self.joints):
            raise ValueError(f"sync joints must be a list of joint names, got {self.joints!r}")
        object.__setattr__(self, "joints", tuple(self.joints))  # a YAML list becomes a tuple
        if not self.max_offset > 0:
            raise ValueError(f"sync max_offset must be > 0 seconds, got {self.max_offset}")
        if not 0 < self.fine_step <= 0.5:
            raise ValueError(f"sync fine_step must be in (0, 0.5] frames, got {self.fine_step}")
        if self.max_frames < 100:
            raise ValueError(f"sync max_frames must be at least 100, got {self.max_frames}")


@dataclass(frozen=True)
class CameraOffset:
    """One camera's result: ``offset`` seconds (own clock + offset = reference time) with its
    standard deviation ``uncertainty`` (seconds; 0 for the reference, inf where undetermined)."""

    offset: float
    uncertainty: float
    residual_px: float
    residual_px_at_zero: float
    status: str  # "reference", "estimated" or "unshifted" (could not be determined)


@dataclass(frozen=True)
class PairEstimate:
    """One camera pair's own estimate of ``offset[b] - offset[a]`` (seconds) for ``cameras`` (a, b),
    its standard deviation and its weight in the joint timeline (0-1: low for a pair at odds
    with the others)."""

    cameras: tuple[str, str]
    delta: float
    sigma: float
    weight: float


@dataclass(frozen=True)
class SyncResult:
    """Every camera's offset; the pair estimates they were fitted to, and the closure of every
    three cameras' pairs (``delta_ab + delta_bc - delta_ac`` seconds: 0 when they agree)."""

    reference: str
    method: str
    cameras: dict[str, CameraOffset]
    pairs: tuple[PairEstimate, ...] = ()
    closures: tuple[tuple[tuple[str, str, str], float], ...] = ()

    @property
    def offsets(self) -> dict[str, float]:
        return {name: c.offset for name, c in self.cameras.items()}

    @property
    def largest_closure(self) -> float:
        """The largest closure error in seconds (NaN with fewer than three cameras paired)."""
        return max((abs(value) for _, value in self.closures), default=float("nan"))


class _PairCosts:
    """Truncated epipolar costs of camera pairs for trial offsets."""

    def __init__(self, rig: CameraRig, normalized: list[np.ndarray], times: list[np.ndarray], truncate: float,
                 measured: list[np.ndarray]):
        """``measured``: per camera (F_c,) bool, the frames its distances are measured at."""
        self.rig, self.norm, self.times, self.measured = rig, normalized, times, measured
        self._measured_times = [t[m] for t, m in zip(times, measured, strict=True)]
        self._measured_norm = [x[m] for x, m in zip(normalized, measured, strict=True)]
        self.E = {(a, b): essential_matrix(rig[a].R, rig[a].t, rig[b].R, rig[b].t) for a in range(len(rig))
                  for b in range(len(rig)) if a != b}
        self.focal = [float(np.sqrt(c.K[0, 0] * c.K[1, 1])) for c in rig]
        self.cap = [truncate * c.image_diagonal for c in rig]

    def distances(self, c: int, b: int, delta: float, keep: np.ndarray | None = None) -> np.ndarray:
        """Symmetric epipolar distances (px) between b's observations and c read at the same
        reference times, where camera c's offset minus b's is ``delta``; (n,) over joint-frames
        of b's measured frames (those of the (F_b,) mask ``keep`` only, when given)."""
        times, xb = self._measured_times[b], self._measured_norm[b]
        if keep is not None:
            kept = keep[self.measured[b]]
            times, xb = times[kept], xb[kept]
        xc = sample_track(self.norm[c], self.times[c], times - delta)  # b's frames read on c's own clock
        ok = (xc[..., 2] > 0) & (xb[..., 2] > 0)
        return symmetric_epipolar_px(xc[ok], xb[ok], self.E[(c, b)], self.focal[c], self.focal[b])

    def cost(self, c: int, b: int, delta: float, min_points: int, keep: np.ndarray | None = None) -> float:
        """Trimmed truncated cost of the pair; NaN when they share fewer than ``min_points``."""
        d = self.distances(c, b, delta, keep)
        if len(d) < min_points:
            return np.nan
        return _trimmed_cost(d, 0.5 * (self.cap[c] + self.cap[b]))


def estimate_offsets(rig: CameraRig, tracks: list[np.ndarray], times: list[np.ndarray], *,
                     settings: SyncSettings | None = None, reference: int = 0,
                     skeleton: str | None = None) -> SyncResult:
    """Time offsets of every camera against ``rig[reference]``.

    Args:
        tracks: per camera (F_c, J, 3) one person's 2D keypoints (distorted pixels, confidence), or
            (F_c, P, J, 3) several people's, slot p the same person in every camera (confidence 0
            where a camera does not see them): every person's joints are timed together.
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
    tracks = [smooth_track(_people_as_joints(np.asarray(kp)[..., timed, :]), s.smooth) for kp in tracks]
    normalized = []
    for cam, kp in zip(rig, tracks, strict=True):
        xy = cam.undistort_points(kp[..., :2], normalized=True)
        normalized.append(np.concatenate([xy, kp[..., 2:3]], -1))
    times = [np.asarray(t, dtype=np.float64) for t in times]
    steps = [float(np.median(np.diff(t))) if len(t) > 1 else 1 / 30 for t in times]
    measured = [_measured(len(t), s.max_frames) for t in times]
    costs = _PairCosts(rig, normalized, times, s.truncate, measured)
    whole = whole_frame_offsets(lambda c, b, delta: costs.cost(c, b, delta, s.min_points), steps, s.max_offset, V,
                                reference)
    start, beyond = whole.offsets, whole.beyond
    for c, cam in enumerate(rig):
        if c in beyond or c != reference and abs(start[c]) >= (np.floor(s.max_offset / steps[c]) - 0.5) * steps[c]:
            found = "against the other cameras" if c in beyond else f"{start[c]:+.3f} s"
            raise SyncError(f"camera {cam.name}: best time offset {found} lies at or beyond the edge of "
                            f"the search range +-{s.max_offset} s; the true offset may be larger: raise "
                            "--max-offset, or check the camera films the same take")
    centres = {(p.a, p.b): p.delta for p in whole.pairs}
    if whole.flat:
        log.info("sync: pairs %s left out: their cost hardly changes with the offset (a camera off its calibration, "
                 "or nobody moving in both views)", ", ".join(f"{rig[a].name}-{rig[b].name}" for a, b in whole.flat))
    pairs = []
    for a, b in itertools.combinations(range(V), 2):
        if (a, b) in whole.flat:
            continue
        found = _pair_estimate(costs, a, b, centre=centres.get((a, b), start[b] - start[a]), offsets=start,
                               step=max(steps[a], steps[b]), settings=s)
        if found is not None:
            pairs.append(found)
    timeline = solve_timeline(pairs, V, reference)
    offsets = timeline.offsets.copy()
    undetermined = [c for c in range(V) if c != reference and not timeline.sigma[c] <= s.max_uncertainty * steps[c]]
    for c in undetermined:
        log.warning("camera %s: time offset cannot be determined (its offset %+.2f frames has a standard deviation "
                    "of %.2f frames; too little shared motion seen); using it unshifted", rig[c].name,
                    offsets[c] / steps[c], timeline.sigma[c] / steps[c])
        offsets[c] = 0.0
    determined = [c for c in range(V) if c not in undetermined]
    method = "epipolar pairs, joint timeline"
    if len(determined) >= 3:
        paired = offsets.copy()
        _refine_heldout(rig, tracks, times, offsets, determined, reference, steps, s)
        method += ", multi-view refinement"
        for c in determined:
            limit = 3 * timeline.sigma[c] + _REFINE_SLACK * steps[c]
            if abs(offsets[c] - paired[c]) > limit:  # one of the two is biased: the pairs agree with each other
                log.info("sync: camera %s kept at the pairs' offset %+.2f frames (the multi-view refinement moved it "
                         "%+.2f frames, more than %.2f)", rig[c].name, paired[c] / steps[c],
                         (offsets[c] - paired[c]) / steps[c], limit / steps[c])
                offsets[c] = paired[c]
    return _result(rig, costs, offsets, timeline, pairs, undetermined, reference, method)


def _result(rig: CameraRig, costs: _PairCosts, offsets: np.ndarray, timeline: Timeline, pairs: list[PairOffset],
            undetermined: list[int], reference: int, method: str) -> SyncResult:
    """The :class:`SyncResult` of the final ``offsets`` (their deviations: the pairs' ``timeline``)."""
    V = len(rig)
    results = {}
    for c, cam in enumerate(rig):
        status = "reference" if c == reference else "unshifted" if c in undetermined else "estimated"
        residual0 = _median_residual(costs, c, np.zeros(V), V)
        results[cam.name] = CameraOffset(float(offsets[c]), float(timeline.sigma[c]),
                                         _median_residual(costs, c, offsets, V), residual0, status)
    names = rig.names
    pair_results = tuple(PairEstimate((names[p.a], names[p.b]), p.delta, p.sigma, float(w))
                         for p, w in zip(pairs, timeline.weights, strict=True))
    closures = tuple(((names[a], names[b], names[c]), value) for (a, b, c), value in triangle_closures(pairs))
    return SyncResult(names[reference], method, results, pair_results, closures)


@dataclass(frozen=True)
class WholeFrames:
    """:func:`whole_frame_offsets`' result.

    offsets: (V,) seconds on each camera's whole frames, the reference's 0.
    pairs: the pairs' own whole-frame estimates the offsets come from.
    beyond: the cameras whose every pair has its best on the edge of the range (their true offset
        may lie beyond it).
    flat: the pairs (a, b) left out because their cost hardly depends on the offset.
    """

    offsets: np.ndarray
    pairs: list[PairOffset]
    beyond: list[int]
    flat: set[tuple[int, int]]


def whole_frame_offsets(pair_cost: Callable[[int, int, float], float], steps: list[float], max_offset: float,
                        V: int, reference: int) -> WholeFrames:
    """Every camera's offset on whole frames, from each pair of cameras timed on its own.

    Each pair (a, b) is searched on its own over whole frames of the slower camera in
    ``[-max_offset, max_offset]``, scored by the mean of ``pair_cost(b, a, delta)`` and
    ``pair_cost(a, b, -delta)`` (``pair_cost(c, b, o_c - o_b)``; NaN: the pair shares too
    little); a pair whose best lies on the edge of the range is left out. The offsets are the
    robust timeline of the pairs (:func:`mvmocap.sync.joint.solve_timeline`, each pair a frame
    uncertain over the square root of its curve's relative rise one frame either side of the
    best, and no less than a frame: flat minima count little), each rounded to its camera's
    whole frames. Timed pair by pair, no camera is timed against others still at a wrong start
    (with cameras seconds apart, timing each against all the others at 0 settled on a set
    consistent among themselves but a gait cycle away from the reference), and no chain of
    cameras decides another's offset alone. A pair whose cost rises less than :data:`_MIN_RISE`
    (relative) within :data:`_RISE_FRAMES` frames either side of its best is left out as ``flat``:
    what it sees does not depend on time (on a real capture, a camera three degrees off its
    calibration left one pair's cost within 2% over +-10 frames, its best 8 frames off; the
    other pairs rose 27-42%)."""
    pairs, inside, on_edge, flat = [], set(), set(), set()
    for a, b in itertools.combinations(range(V), 2):
        step = max(steps[a], steps[b])
        grid = np.arange(-np.floor(max_offset / step), np.floor(max_offset / step) + 1) * step
        values = np.array([_mean_finite([pair_cost(b, a, d), pair_cost(a, b, -d)]) for d in grid])
        if not np.isfinite(values).any():
            continue
        k = int(np.nanargmin(values))
        around = values[[max(k - _RISE_FRAMES, 0), min(k + _RISE_FRAMES, len(grid) - 1)]]
        if np.nanmean(around) < (1 + _MIN_RISE) * values[k]:
            flat.add((a, b))
        elif 0 < k < len(grid) - 1:
            deviation = step * max(1 / np.sqrt(_rise(values, k)), _WHOLE_FRAME_SIGMA)
            pairs.append(PairOffset(a, b, float(grid[k]), deviation))
            inside.update((a, b))
        else:
            on_edge.update((a, b))
    timeline = solve_timeline(pairs, V, reference)
    offsets = np.round(timeline.offsets / np.asarray(steps)) * np.asarray(steps)
    return WholeFrames(offsets - offsets[reference], pairs, sorted(on_edge - inside), flat)


def _rise(values: np.ndarray, k: int) -> float:
    """How much a cost curve rises one step either side of its minimum at ``k``, relative to the
    minimum (at least :data:`_FLAT`): a flat curve's minimum says little about where the truth is."""
    around = np.nanmean(values[[k - 1, k + 1]])
    rise = (around - values[k]) / max(values[k], 1e-12) if np.isfinite(around) else 0.0
    return max(float(rise), _FLAT)


def _pair_estimate(costs: _PairCosts, a: int, b: int, *, centre: float, offsets: np.ndarray, step: float,
                   settings: SyncSettings) -> PairOffset | None:
    """Pair (a, b)'s ``o_b - o_a`` to a fraction of a frame about ``centre`` (:func:`_fine_search`
    on the mean of both directions' costs) and its standard deviation by the block jackknife:
    estimated again with each of :data:`_BLOCKS` stretches of time left out (``offsets``: the
    cameras' current offsets, to put their frames on one timeline; a stretch without which no
    minimum lies within a frame counts as a frame off). None if they share too little or the
    cost has no minimum within a frame of ``centre``."""
    s = settings

    def cost(delta: float, keep: tuple[np.ndarray, np.ndarray] | None = None) -> float:
        keep_a, keep_b = keep if keep is not None else (None, None)
        return _mean_finite([costs.cost(b, a, delta, s.min_points, keep_a), costs.cost(a, b, -delta, s.min_points,
                                                                                       keep_b)])

    best = _fine_search(cost, centre, step, s.fine_step)
    if best is None:
        return None
    on_timeline = [costs.times[x] + offsets[x] for x in (a, b)]
    lo = min(t.min() for t in on_timeline)
    edges = np.linspace(lo, max(t.max() for t in on_timeline) + 1e-9, _BLOCKS + 1)
    again = []
    for k in range(_BLOCKS):
        keep = tuple(~((t >= edges[k]) & (t < edges[k + 1])) for t in on_timeline)
        other = _fine_search(lambda delta, keep=keep: cost(delta, keep), best, step, s.fine_step)
        again.append(best + step if other is None else other)  # no minimum within a frame: a frame off
    again = np.array(again)
    sigma = float(np.sqrt((len(again) - 1) / len(again) * ((again - again.mean()) ** 2).sum()))
    return PairOffset(a, b, best, max(sigma, _SIGMA_FLOOR * step))


def _people_as_joints(kp: np.ndarray) -> np.ndarray:
    """(F, J, 3) one person's track as it is; (F, P, J, 3) several people's as (F, P * J, 3): the
    costs pair a joint only with the same joint of the same slot in the other camera."""
    if kp.ndim == 4:
        return kp.reshape(kp.shape[0], -1, kp.shape[-1])
    if kp.ndim != 3:
        raise ValueError(f"a camera's track must be (F, J, 3) or (F, P, J, 3), got {kp.shape}")
    return kp


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


def _fine_search(cost: Callable[[float], float], centre: float, step: float, fine_step: float) -> float | None:
    """Minimise ``cost(offset)`` on a grid of ``fine_step`` frames within one frame (``step``
    seconds) of ``centre``, refined by a parabola through the three best points. Returns the
    offset, or None if no cost is finite or the best lies on the grid's edge (no minimum within
    a frame of ``centre``: the cost keeps falling away from it)."""
    grid = centre + np.arange(-1.0, 1.0 + 1e-9, fine_step) * step
    values = np.array([cost(g) for g in grid])
    if not np.isfinite(values).any():
        return None
    k = int(np.nanargmin(values))
    if k in (0, len(grid) - 1):
        return None
    best = float(grid[k])
    if 0 < k < len(grid) - 1 and np.isfinite(values[k - 1:k + 2]).all():
        y0, y1, y2 = values[k - 1:k + 2]
        if y0 - 2 * y1 + y2 > 0:
            best += float(np.clip(0.5 * (y0 - y2) / (y0 - 2 * y1 + y2), -0.5, 0.5)) * fine_step * step
    return best


def _trimmed_cost(d: np.ndarray, cap: float) -> float:
    """Trimmed mean of capped squared distances (module docstring); NaN for too few."""
    if len(d) < 10:
        return float("nan")
    d = np.minimum(d, cap) ** 2
    k = int(_TRIM * (len(d) - 1))
    return float(np.partition(d, k)[: k + 1].mean())


def _refine_heldout(rig: CameraRig, tracks: list[np.ndarray], times: list[np.ndarray], offsets: np.ndarray,
                    cameras: list[int], reference: int, steps: list[float], s: SyncSettings) -> None:
    """Refine the offsets of ``cameras`` (3 or more, the reference among them; in place) so that
    each camera's detections best match the projection of the points triangulated from the other
    ``cameras`` at their offsets: a multi-view residual, which also sees motion along the epipolar
    lines that the pairs miss (on rendered captures the largest error fell from 0.36-0.38 to
    0.18-0.32 frames), at the reference's measured frame times (:func:`_measured`). Each moves within a
    frame of the pairs' timeline per round. The reference is refined like the others and the
    offsets then counted from it again: held fixed, its own detector bias would pull every other
    camera with it."""
    from mvmocap.triangulate import triangulate

    diag = np.array([c.image_diagonal for c in rig])
    query = times[reference][_measured(len(times[reference]), s.max_frames)]
    for _ in range(_HELDOUT_ROUNDS):
        for c in cameras:
            others = [b for b in cameras if b != c]
            kp = np.stack([sample_track(tracks[b], times[b], query - offsets[b]) for b in others], axis=1)
            X = triangulate(rig.subset([rig.names[b] for b in others]), kp,
                            threshold_px=_INLIER_FRACTION * diag[others]).keypoints3d
            cam = rig[c]
            proj = cam.project(X[..., :3])
            ok = (X[..., 3] > 0) & (cam.world_to_camera(X[..., :3])[..., 2] > 0)

            def cost(value: float, c=c, proj=proj, ok=ok) -> float:
                obs = sample_track(tracks[c], times[c], query - value)
                seen = ok & (obs[..., 2] > 0)
                return _trimmed_cost(np.linalg.norm(obs[..., :2] - proj, axis=-1)[seen], s.truncate * diag[c])

            found = _fine_search(cost, offsets[c], steps[c], s.fine_step)
            if found is not None:
                offsets[c] = found
    offsets[cameras] -= offsets[reference]


def _measured(frames: int, max_frames: int) -> np.ndarray:
    """(frames,) bool: every k-th frame, ``max_frames`` at most (:class:`SyncSettings`)."""
    return np.arange(frames) % thinning_stride(frames, max_frames) == 0


def _median_residual(costs: _PairCosts, c: int, offsets: np.ndarray, V: int) -> float:
    """Median symmetric epipolar distance (px) of camera c against every other camera."""
    d = [costs.distances(c, b, offsets[c] - offsets[b]) for b in range(V) if b != c]
    d = np.concatenate(d) if d else np.zeros(0)
    return float(np.median(d)) if d.size else float("nan")
