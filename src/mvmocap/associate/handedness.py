"""Left/right assignment of hand detections, consistent across views and frames.

A single view's handedness label is often wrong (and a view may see one hand only), so:

1. with a body, each detection goes to the body wrist (LWrist / RWrist of the same view) its
   own wrist keypoint is nearest to, within ``max_wrist_px``;
2. without a body, the views are grouped by geometry: every way of splitting the detections
   of a frame into two hands (at most 2^V, V <= ``max_views_exhaustive``; beyond that, a greedy
   view-by-view search) is scored by the reprojection error of the two triangulated hands (all
   21 points), a cost for detections no other view confirms and a small cost for going against
   a detection's own label; the most consistent split wins. The two groups are linked from
   frame to frame by the 3D wrist positions (continuity); which track is the left hand is the
   score-weighted vote of all the per-view labels along it, so no single label decides.

Returns per hand a ``(F, V, 21, 3)`` array, confidence 0 where that hand was not seen.
"""

from __future__ import annotations

import itertools

import numpy as np

from mvmocap.camera import CameraRig
from mvmocap.detect.mediapipe_hands import HandDetection
from mvmocap.triangulate import triangulate

__all__ = ["assign_hands"]

_LONELY_PX = 20.0  # cost of an observation no triangulated hand explains
_LABEL_PX = 3.0  # cost of a detection put in the group its own label disagrees with


def _slots_from_labels(dets: list[HandDetection]) -> list[int]:
    """Slot (0 left, 1 right) per detection from the labels; a repeated label gives way to the
    lower-scored detection."""
    slots = [0 if d.label == "L" else 1 for d in dets]
    if len(dets) == 2 and slots[0] == slots[1]:
        weaker = int(np.argmin([d.score for d in dets]))
        slots[weaker] = 1 - slots[weaker]
    return slots


def assign_hands(detections: list[list[list[HandDetection]]], rig: CameraRig,
                 body_wrists: np.ndarray | None = None, max_wrist_px: float = 80.0,
                 max_views_exhaustive: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Assign ``detections[f][v]`` (a list per frame and view, cameras in rig order) to hands.

    Args:
        body_wrists: optional (F, V, 2, 3) body LWrist and RWrist per view (x, y, conf).
    Returns:
        (left, right), each (F, V, 21, 3).
    """
    F, V = len(detections), len(rig)
    hands = np.zeros((2, F, V, 21, 3))
    all_slots = []
    segments = np.zeros(F, dtype=int)  # frames linked by 3D continuity share a segment
    previous = None  # (2, 3) wrists of the last frame with both hands triangulated
    for f in range(F):
        if body_wrists is not None:
            all_slots.append([_by_wrists(detections[f][v], body_wrists[f, v], max_wrist_px) for v in range(V)])
            continue
        slots, wrists = _split_by_geometry(detections[f], rig, max_views_exhaustive)
        linked = previous is not None and np.isfinite(wrists).all()
        if linked and np.linalg.norm(wrists[::-1] - previous, axis=1).sum() < np.linalg.norm(
                wrists - previous, axis=1).sum():
            slots, wrists = _flip(slots), wrists[::-1]
        segments[f] = segments[f - 1] + (0 if linked or f == 0 else 1)
        if np.isfinite(wrists).all():
            previous = wrists
        all_slots.append(slots)
    if body_wrists is None:  # which track is the left hand: the labels' vote over each segment
        votes = np.zeros(segments.max() + 1 if F else 0)
        for f in range(F):
            votes[segments[f]] += _label_vote(detections[f], all_slots[f])
        all_slots = [_flip(s) if votes[segments[f]] < 0 else s for f, s in enumerate(all_slots)]
    for f in range(F):
        for v in range(V):
            for det, s in zip(detections[f][v], all_slots[f][v], strict=True):
                if s is not None:
                    hands[s, f, v] = det.keypoints
    return hands[0], hands[1]


def _flip(slots):
    return [[None if s is None else 1 - s for s in view] for view in slots]


def _by_wrists(dets: list[HandDetection], wrists: np.ndarray, max_px: float) -> list[int | None]:
    """Each detection to the nearest body wrist of its view (greedy on a 2 x 2 at most)."""
    slots: list[int | None] = [None] * len(dets)
    dist = np.array([[np.linalg.norm(d.keypoints[0, :2] - wrists[s, :2]) if wrists[s, 2] > 0 else np.inf
                      for s in (0, 1)] for d in dets]).reshape(len(dets), 2)
    for _ in range(min(len(dets), 2)):
        i, s = np.unravel_index(np.argmin(dist), dist.shape)
        if dist[i, s] > max_px:
            break
        slots[i] = int(s)
        dist[i, :] = np.inf
        dist[:, s] = np.inf
    return slots


def _hypotheses(counts: list[int], exhaustive: bool) -> list[list[list[int]]]:
    """Candidate splits: for each view with detections, which slot its first detection takes."""
    views = [v for v, c in enumerate(counts) if c]
    if not exhaustive:
        return []
    out = []
    for bits in itertools.product((0, 1), repeat=len(views)):
        slots = [[] for _ in counts]
        for v, b in zip(views, bits, strict=True):
            slots[v] = [b] if counts[v] == 1 else [b, 1 - b]
        out.append(slots)
    return out


def _score(dets_per_view, hypotheses, rig) -> tuple[np.ndarray, np.ndarray]:
    """Reprojection cost (H,) of each split and its two triangulated wrists (H, 2, 3)."""
    V = len(rig)
    obs = np.zeros((len(hypotheses), 2, V, 21, 3))
    disagree = np.zeros(len(hypotheses))
    for h, slots in enumerate(hypotheses):
        for v, dets in enumerate(dets_per_view):
            for det, s in zip(dets, slots[v], strict=True):
                obs[h, s, v] = det.keypoints
                disagree[h] += det.score * ((det.label == "L") != (s == 0))
    result = triangulate(rig, obs, robust=False)
    err = np.nan_to_num(result.reprojection_error, nan=0.0)  # (H, 2, V, K)
    seen = obs[..., 2] > 0
    lonely = seen & ~result.views_used  # observations no triangulated point explains
    cost = (np.where(result.views_used, err, 0.0).sum((1, 2, 3)) + _LONELY_PX * lonely.sum((1, 2, 3)))
    cost = cost / np.maximum(seen.sum((1, 2, 3)), 1) + _LABEL_PX * disagree / max(sum(map(len, dets_per_view)), 1)
    wrists = np.where(result.keypoints3d[..., 0, 3:] > 0, result.keypoints3d[..., 0, :3], np.nan)
    return cost, wrists


def _split_by_geometry(dets_per_view, rig, max_views_exhaustive):
    counts = [len(d) for d in dets_per_view]
    views = sum(1 for c in counts if c)
    if views == 0:
        return [[] for _ in counts], np.full((2, 3), np.nan)
    hypotheses = _hypotheses(counts, views <= max_views_exhaustive)
    if not hypotheses:  # many cameras: greedy, one view at a time from the label split
        slots = [_slots_from_labels(d) if d else [] for d in dets_per_view]
        for v, c in enumerate(counts):
            if c:
                trials = [[list(s) for s in slots] for _ in range(2)]
                trials[1][v] = [1 - s for s in trials[1][v]]
                slots = trials[int(np.argmin(_score(dets_per_view, trials, rig)[0]))]
        hypotheses = [slots]
    cost, wrists = _score(dets_per_view, hypotheses, rig)
    best = int(np.argmin(cost))
    return hypotheses[best], wrists[best]


def _label_vote(dets_per_view, slots) -> float:
    """Score-weighted vote that group 0 is the left hand (> 0) or the right one (< 0)."""
    vote = 0.0
    for dets, view_slots in zip(dets_per_view, slots, strict=True):
        for det, s in zip(dets, view_slots, strict=True):
            if s is not None:
                vote += det.score * (1.0 if (det.label == "L") == (s == 0) else -1.0)
    return vote
