"""Rough camera time offsets, in whole frames, from everyone each camera detected: no subject chosen.

Choosing the subject pairs the views frame by frame, which compares other moments when the
cameras were started by hand seconds apart; a subject chosen so is partly wrong, and offsets
timed on it go wrong with it. This search needs no subject and no track identities: for camera
``b``'s frame and camera ``c``'s nearest frame at a trial offset, every pair of people (one
detected in each view, the second's left/right labels as given or swapped) is scored by its mean
squared epipolar distance over the timed joints both see (capped, as in
:mod:`mvmocap.sync.estimate`), the people of the two views are paired one to one, cheapest
first, and the trial offset is scored by the trimmed mean over every frame's pairs. Every
person counts, not only each frame's best pair: someone standing still fits any offset, and
taking the best pair alone timed the cameras on them (a walker beside them was never looked
at). A person with no counterpart falls in the trimmed part; a frame with no pair at all counts
the cap. Each pair of cameras is timed on its own and the offsets are the pairs'
robust timeline, as in :func:`mvmocap.sync.estimate_offsets`, on whole frames only: it says which moments to pair, and
the subject-based estimate then times the cameras to a tenth of a frame.
"""

from __future__ import annotations

import numpy as np

from mvmocap.camera import CameraRig
from mvmocap.geometry import essential_matrix
from mvmocap.skeletons import get_format
from mvmocap.sync.estimate import SyncSettings, _timed_joints, _trimmed_cost, whole_frame_offsets
from mvmocap.sync.resample import nearest_frames

__all__ = ["rough_offsets"]

_MIN_SHARED_JOINTS = 4  # a pair of people seen on fewer timed joints in common is not compared
_MIN_FRAMES = 10  # frames two cameras must pair for a trial offset to count
_MOST_FRAMES = 300  # a longer sequence is scored on this many of its frames, evenly spread


class _CrowdCosts:
    """Capped epipolar costs between everyone two cameras detected, for trial offsets."""

    def __init__(self, rig: CameraRig, people: list[np.ndarray], times: list[np.ndarray], flip: np.ndarray,
                 truncate: float):
        self.flip = flip
        self.times = times
        self.scored = [np.unique(np.linspace(0, len(t) - 1, min(len(t), _MOST_FRAMES)).round().astype(int))
                       for t in times]  # each camera's frames that pair with the others'
        self.norm = []
        for cam, kp in zip(rig, people, strict=True):
            xy = cam.undistort_points(kp[..., :2], normalized=True)
            self.norm.append(np.concatenate([xy, np.ones_like(xy[..., :1])], -1))  # homogeneous
        self.seen = [kp[..., 2] > 0 for kp in people]
        self.E = {(a, b): essential_matrix(rig[a].R, rig[a].t, rig[b].R, rig[b].t) for a in range(len(rig))
                  for b in range(len(rig)) if a != b}
        self.focal = [float(np.sqrt(c.K[0, 0] * c.K[1, 1])) for c in rig]
        self.cap = [truncate * c.image_diagonal for c in rig]
        self.steps = [float(np.median(np.diff(t))) if len(t) > 1 else 1 / 30 for t in times]

    def cost(self, c: int, b: int, delta: float) -> float:
        """Trimmed mean over b's frames of the best pair's cost, c read at its nearest frame where
        camera c's offset minus b's is ``delta``; NaN when fewer than ``_MIN_FRAMES`` pair up."""
        frames_b = self.scored[b]
        query = self.times[b][frames_b] - delta  # b's frames on c's own clock
        tc = self.times[c]
        if len(tc) < 2:
            return float("nan")
        near = nearest_frames(tc, query)
        paired = np.abs(tc[near] - query) <= 0.5 * self.steps[c] + 1e-9
        paired &= self.seen[c][near].any((1, 2)) & self.seen[b][frames_b].any((1, 2))
        if paired.sum() < _MIN_FRAMES:
            return float("nan")
        xc, sc = self.norm[c][near[paired]], self.seen[c][near[paired]]  # (n, Pc, J, 3), (n, Pc, J)
        xb, sb = self.norm[b][frames_b[paired]], self.seen[b][frames_b[paired]]  # (n, Pb, J, 3)
        cap = 0.5 * (self.cap[c] + self.cap[b])
        pair_cost = np.full(xc.shape[:2] + xb.shape[1:2], np.inf)  # (n, Pc, Pb)
        for labels in (slice(None), self.flip):  # b's labels as given, then left/right swapped
            d = self._distances(c, b, xc, xb[:, :, labels])  # (n, Pc, Pb, J)
            both = sc[:, :, None, :] & sb[:, None, :, labels]
            shared = both.sum(-1)
            squared = np.where(both, np.minimum(d, cap) ** 2, 0.0).sum(-1) / np.maximum(shared, 1)
            squared[shared < _MIN_SHARED_JOINTS] = np.inf
            pair_cost = np.minimum(pair_cost, squared)
        matched = _matched(pair_cost)  # (n, min(Pc, Pb)), inf: no one left to pair
        found = np.isfinite(matched)
        samples = np.concatenate([np.minimum(matched[found], cap ** 2), np.full(int((~found.any(1)).sum()), cap ** 2)])
        return _trimmed_cost(np.sqrt(samples), cap)  # a frame with no pair at all counts the cap

    def _distances(self, c: int, b: int, xc: np.ndarray, xb: np.ndarray) -> np.ndarray:
        """(n, Pc, Pb, J) symmetric epipolar distances in pixels between every person of ``xc``
        (n, Pc, J, 3) and of ``xb`` (n, Pb, J, 3), homogeneous normalised coordinates."""
        E = self.E[(c, b)]  # x_b^T E x_c = 0
        line_b = (xc @ E.T)[:, :, None]  # (n, Pc, 1, J, 3): lines in b
        line_c = (xb @ E)[:, None]  # (n, 1, Pb, J, 3): lines in c
        num = np.abs((xb[:, None] * line_b).sum(-1))
        d_b = num / np.maximum(np.linalg.norm(line_b[..., :2], axis=-1), 1e-12) * self.focal[b]
        d_c = num / np.maximum(np.linalg.norm(line_c[..., :2], axis=-1), 1e-12) * self.focal[c]
        return 0.5 * (d_b + d_c)


def _matched(cost: np.ndarray) -> np.ndarray:
    """(n, min(P, Q)) the costs of each frame's people paired one to one, cheapest pair first
    (greedy), from (n, P, Q) costs between the P people of one view and the Q of the other; inf
    where no pair is left."""
    cost = cost.copy()
    n, P, Q = cost.shape
    rows = np.arange(n)
    out = np.full((n, min(P, Q)), np.inf)
    for k in range(min(P, Q)):
        i, j = np.unravel_index(cost.reshape(n, -1).argmin(1), (P, Q))
        out[:, k] = cost[rows, i, j]
        cost[rows, i, :] = np.inf
        cost[rows, :, j] = np.inf
    return out


def rough_offsets(rig: CameraRig, people: list[np.ndarray], times: list[np.ndarray], *,
                  settings: SyncSettings | None = None, reference: int = 0,
                  skeleton: str | None = None) -> np.ndarray:
    """Whole-frame offsets (seconds, (V,), the reference's 0) of every camera from everyone it
    detected (module docstring); a camera that pairs with no other stays at 0.

    Args:
        people: per camera (F_c, P_c, J, 3) every person detected (distorted pixels, confidence),
            person slots in any order from frame to frame; the work grows with P_c squared, so
            detector ids are best packed first (:func:`mvmocap.associate.packed_candidates`).
        times: per camera (F_c,) frame times in seconds on that camera's clock.
        skeleton: the keypoint format; with it only ``settings.joints`` are timed and swapped
            left/right labels are matched too.
    """
    s = settings or SyncSettings()
    V = len(rig)
    if len(people) != V or len(times) != V:
        raise ValueError(f"need everyone's detections and a time axis per camera ({V}), got {len(people)} and "
                         f"{len(times)}")
    num_joints = people[0].shape[-2]
    timed = _timed_joints(skeleton, s.joints, num_joints)
    flip_all = get_format(skeleton).flip_index if skeleton is not None else np.arange(num_joints)
    position = {int(j): k for k, j in enumerate(timed)}
    flip = np.array([position.get(int(flip_all[j]), k) for k, j in enumerate(timed)])
    times = [np.asarray(t, dtype=np.float64) for t in times]
    costs = _CrowdCosts(rig, [np.asarray(kp, dtype=np.float64)[..., timed, :] for kp in people], times, flip,
                        s.truncate)
    memo: dict[tuple[int, int, float], float] = {}  # each pair's cost is asked for both ways round

    def pair_cost(c: int, b: int, delta: float) -> float:
        if c > b:  # the same frames paired the other way round
            c, b, delta = b, c, -delta
        key = (c, b, round(delta, 6))
        if key not in memo:
            memo[key] = costs.cost(c, b, delta)
        return memo[key]

    return whole_frame_offsets(pair_cost, costs.steps, s.max_offset, V, reference).offsets  # the search's own
    # edge is no error here: the subject-based estimate says so, with its finer costs

