"""Everyone in the scene: people found across views per frame, followed over time with stable ids.

Input: every view's detections ``(F, V, P, J, 3)`` (candidate ids per view mean nothing across views).

1. Per frame, the people seen consistently by several views: :func:`mvmocap.associate.cluster_frame_people`
   (two-view proposals verified against every view, greedily taken; left/right swaps tolerated).
   Each cluster is triangulated (robust, confidence-weighted) to a 3D skeleton.
2. Over time, tracks follow the clusters frame by frame: each live track predicts its skeleton
   by its centre's velocity (constant velocity over the frames since it was last seen); the
   cost of a track and a cluster is the mean 3D distance of their common joints, gated by
   ``max_speed`` times the time since the track was seen plus 0.2 m; tracks and clusters are
   paired by an optimal (Hungarian) assignment, so that two people crossing keep their ids
   where a nearest-first choice could swap them. A cluster left over starts a track; a track
   unseen for more than ``max_gap`` frames is closed.
3. Re-identification: a track that starts within ``reid_seconds`` of a closed track's end, near
   where a person walking at ``max_speed`` could be, and with the same median bone lengths
   (within ``bone_tolerance``), continues the closed track's identity (an occlusion of a few
   seconds). Tracks seen in fewer than ``min_track_frames`` frames are dropped (a false cluster,
   a passer-by seen for a moment), and at most ``max_people`` are kept, those with the most
   supporting view-frames, with a warning naming how many were left out.

Ids count from 0 in order of first appearance. A person seen by a single view in a frame is not
a cluster: nobody is invented from one view.

Cost per frame: the clustering's ``O(V^3 P^3 J)`` (see :mod:`mvmocap.associate.subject`), one
robust triangulation per cluster, and a ``T x C x J`` cost matrix with an ``O(n^3)`` assignment
(n = people in view): no combinatorial search over views or people.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from mvmocap.associate.subject import SubjectSettings, cluster_frame_people, packed_candidates
from mvmocap.camera import CameraRig
from mvmocap.skeletons import get_format
from mvmocap.triangulate import triangulate

__all__ = ["People", "PeopleSettings", "track_people"]

log = logging.getLogger(__name__)

_GATE_SLACK = 0.2  # metres added to the speed gate (pose changes, triangulation noise)


@dataclass(frozen=True)
class PeopleSettings:
    """How everyone is followed over time (``mvmocap run --exp multi``).

    max_people: at most this many people are kept (those seen in the most view-frames)
    min_track_frames: a track seen in fewer frames is dropped (a false cluster, someone seen for a moment)
    max_gap: frames a person may go unseen and keep their track
    reid_seconds: a new track this soon after a lost one, with the same bone lengths, continues its id
    bone_tolerance: median bone lengths within this relative difference are the same person's
    max_speed: metres per second a person's centre may move
    fit_processes: people fitted at once in worker processes (0: one per core; 1: one after another here)
    """

    max_people: int = 10
    min_track_frames: int = 15
    max_gap: int = 15
    reid_seconds: float = 3.0
    bone_tolerance: float = 0.08
    max_speed: float = 4.0
    fit_processes: int = 0

    def __post_init__(self) -> None:
        if self.fit_processes < 0:
            raise ValueError(f"fit_processes: must be 0 (one per core) or more, got {self.fit_processes!r}")
        for key in ("max_people", "min_track_frames", "max_gap"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key}: must be a whole number >= 1, got {getattr(self, key)!r}")
        for key in ("reid_seconds", "bone_tolerance", "max_speed"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{key}: must be above 0, got {getattr(self, key)!r}")


@dataclass
class People:
    """Everyone followed through a sequence.

    Attributes:
        ids: person ids, in order of first appearance.
        keypoints2d: id -> (F, V, J, 3) that person's detection per view-frame (confidence 0: none).
        seen: id -> (F,) bool, the frames where the person is a cluster (seen by ``min_views`` views).
        keypoints3d: id -> (F, J, 4) the clusters' triangulation (confidence 0 where unseen).
        report: JSON-ready counts (people, tracks dropped, re-identifications, per person frames).
    """

    ids: list[int]
    keypoints2d: dict[int, np.ndarray]
    seen: dict[int, np.ndarray]
    keypoints3d: dict[int, np.ndarray]
    report: dict = field(default_factory=dict)


@dataclass
class _Track:
    frames: list[int] = field(default_factory=list)
    clusters: list[int] = field(default_factory=list)  # cluster index in each of its frames
    joints: list[np.ndarray] = field(default_factory=list)  # (J, 4) per frame
    centres: list[np.ndarray] = field(default_factory=list)

    def predicted(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """(J, 4) skeleton and (3,) centre moved on by the centre's velocity to ``frame``."""
        velocity = np.zeros(3)
        if len(self.frames) >= 2 and self.frames[-1] > self.frames[-2]:
            velocity = (self.centres[-1] - self.centres[-2]) / (self.frames[-1] - self.frames[-2])
            velocity[2] = 0.0  # on the ground: crouching is not moving
        shift = velocity * (frame - self.frames[-1])
        joints = self.joints[-1].copy()
        joints[:, :3] += shift
        return joints, self.centres[-1] + shift


def _centre(X: np.ndarray) -> np.ndarray:
    found = X[:, 3] > 0
    return np.median(X[found, :3], axis=0) if found.any() else np.zeros(3)


def _pose_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean 3D distance of the joints both (J, 4) skeletons have; inf if fewer than 3."""
    both = (a[:, 3] > 0) & (b[:, 3] > 0)
    if both.sum() < 3:
        return float(np.linalg.norm(_centre(a) - _centre(b))) if (a[:, 3] > 0).any() and (b[:, 3] > 0).any() \
            else np.inf
    return float(np.linalg.norm(a[both, :3] - b[both, :3], axis=-1).mean())


def _bone_lengths(joints: list[np.ndarray], limbs: np.ndarray) -> np.ndarray:
    """(L,) median length of each bone over a track's skeletons (NaN for a bone never seen)."""
    X = np.stack(joints)  # (n, J, 4)
    ok = (X[:, limbs[:, 0], 3] > 0) & (X[:, limbs[:, 1], 3] > 0)
    length = np.linalg.norm(X[:, limbs[:, 0], :3] - X[:, limbs[:, 1], :3], axis=-1)
    with np.errstate(all="ignore"):
        return np.array([np.median(length[ok[:, k], k]) if ok[:, k].any() else np.nan for k in range(len(limbs))])


def _same_build(a: np.ndarray, b: np.ndarray, tolerance: float) -> float:
    """Median relative difference of two tracks' bone lengths (inf if they share too few bones)."""
    both = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    if both.sum() < 4:
        return np.inf
    difference = float(np.median(np.abs(a[both] - b[both]) / (0.5 * (a[both] + b[both]))))
    return difference if difference <= tolerance else np.inf


def _cluster_skeletons(rig: CameraRig, packed: np.ndarray, clusters, min_confidence: float) -> list[list[np.ndarray]]:
    """Per frame, per cluster, the (J, 4) robust triangulation of its members (one batched call)."""
    F, V, _, J, _ = packed.shape
    index = [(f, c) for f in range(F) for c in range(len(clusters[f]))]
    if not index:
        return [[] for _ in range(F)]
    kp = np.zeros((len(index), V, J, 3))
    for n, (f, c) in enumerate(index):
        views = clusters[f][c][0]
        members = np.flatnonzero(views >= 0)
        kp[n, members] = packed[f, members, views[members]]
    kp[..., 2] = np.where(kp[..., 2] > min_confidence, kp[..., 2], 0.0)
    X = triangulate(rig, kp).keypoints3d  # (N, J, 4)
    out: list[list[np.ndarray]] = [[] for _ in range(F)]
    for n, (f, _c) in enumerate(index):
        out[f].append(X[n])
    return out


def _follow(skeletons: list[list[np.ndarray]], fps: float, s: PeopleSettings) -> list[_Track]:
    """Step 2 of the module docstring: tracks over the per-frame skeletons."""
    live: list[_Track] = []
    done: list[_Track] = []
    for f, frame in enumerate(skeletons):
        still = []
        for track in live:
            (still if f - track.frames[-1] <= s.max_gap else done).append(track)
        live = still
        matched: set[int] = set()
        if live and frame:
            cost = np.full((len(live), len(frame)), np.inf)
            for t, track in enumerate(live):
                predicted, _ = track.predicted(f)
                gate = s.max_speed * (f - track.frames[-1]) / fps + _GATE_SLACK
                for c, X in enumerate(frame):
                    d = _pose_distance(predicted, X)
                    if d <= gate:
                        cost[t, c] = d
            finite = np.isfinite(cost)
            if finite.any():
                rows, cols = linear_sum_assignment(np.where(finite, cost, 1e6))
                for t, c in zip(rows, cols, strict=True):
                    if finite[t, c]:
                        track = live[t]
                        track.frames.append(f)
                        track.clusters.append(int(c))
                        track.joints.append(frame[c])
                        track.centres.append(_centre(frame[c]))
                        matched.add(int(c))
        for c, X in enumerate(frame):
            if c not in matched:
                live.append(_Track([f], [c], [X], [_centre(X)]))
    return sorted(done + live, key=lambda t: t.frames[0])


def _reidentify(tracks: list[_Track], limbs: np.ndarray, fps: float,
                s: PeopleSettings) -> tuple[list[list[_Track]], int]:
    """Step 3: chains of tracks that are one person (each chain's tracks in time order)."""
    bones = [_bone_lengths(t.joints, limbs) for t in tracks]
    chains: list[list[int]] = []
    merged = 0
    for k, track in enumerate(tracks):
        best, best_score = None, np.inf
        for chain in chains:
            last = tracks[chain[-1]]
            gap = track.frames[0] - last.frames[-1]
            if gap <= 0 or gap > s.reid_seconds * fps:
                continue
            if np.linalg.norm(track.centres[0][:2] - last.centres[-1][:2]) > s.max_speed * gap / fps + _GATE_SLACK:
                continue
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a bone no track of the chain saw
                chain_bones = np.nanmedian(np.stack([bones[i] for i in chain]), 0)
            score = _same_build(chain_bones, bones[k], s.bone_tolerance)
            if score < best_score:
                best, best_score = chain, score
        if best is not None:
            best.append(k)
            merged += 1
        else:
            chains.append([k])
    return [[tracks[i] for i in chain] for chain in chains], merged


def track_people(rig: CameraRig, candidates: np.ndarray, *, skeleton: str = "body25", fps: float = 30.0,
                 association: SubjectSettings | None = None, settings: PeopleSettings | None = None) -> People:
    """Everyone in ``(F, V, P, J, 3)`` candidates, followed with stable ids (module docstring)."""
    a = association or SubjectSettings()
    s = settings or PeopleSettings()
    candidates = np.asarray(candidates, dtype=np.float64)
    if candidates.ndim != 5 or candidates.shape[-1] != 3 or candidates.shape[1] != len(rig):
        raise ValueError(f"candidates must be (F, V={len(rig)}, P, J, 3), got {candidates.shape}")
    F, V, _, J = candidates.shape[:4]
    packed, slots, detected = packed_candidates(candidates)
    clusters = cluster_frame_people(rig, packed, skeleton, a)
    skeletons = _cluster_skeletons(rig, packed, clusters, a.min_confidence)
    tracks = _follow(skeletons, fps, s)
    limbs = np.array(get_format(skeleton).limbs, dtype=np.intp).reshape(-1, 2)
    chains, reidentified = _reidentify(tracks, limbs, fps, s)
    people = [c for c in chains if sum(len(t.frames) for t in c) >= s.min_track_frames]
    short = len(chains) - len(people)
    support = [sum(int((clusters[f][c][0] >= 0).sum()) for t in chain for f, c in zip(t.frames, t.clusters,
                                                                                           strict=True))
               for chain in people]
    order = np.argsort(support, kind="stable")[::-1]
    kept = sorted((people[i] for i in order[:s.max_people]), key=lambda chain: chain[0].frames[0])
    if len(people) > s.max_people:
        log.warning("%d people are followed, more than max_people %d: the %d seen in the most view-frames are "
                    "kept, %d left out", len(people), s.max_people, s.max_people, len(people) - s.max_people)
    result = People([], {}, {}, {})
    for pid, chain in enumerate(kept):
        picked = np.full((F, V), -1, dtype=np.intp)
        seen = np.zeros(F, dtype=bool)
        X = np.zeros((F, J, 4))
        for track in chain:
            for f, c, joints in zip(track.frames, track.clusters, track.joints, strict=True):
                views = clusters[f][c][0]
                picked[f] = np.where(views >= 0, slots[f, np.arange(V), np.maximum(views, 0)], -1)
                seen[f] = True
                X[f] = joints
        kp = np.zeros((F, V, J, 3))
        fi, vi = np.nonzero(picked >= 0)
        kp[fi, vi] = candidates[fi, vi, picked[fi, vi]]
        result.ids.append(pid)
        result.keypoints2d[pid], result.seen[pid], result.keypoints3d[pid] = kp, seen, X
    result.report = {
        "people": len(kept), "tracks": len(tracks), "reidentified": reidentified,
        "dropped_short_tracks": short, "dropped_over_max_people": max(0, len(people) - s.max_people),
        "frames_seen": {str(pid): int(result.seen[pid].sum()) for pid in result.ids},
        "view_frames_assigned": {str(pid): int((result.keypoints2d[pid][..., 2].max(-1) > 0).sum())
                                 for pid in result.ids},
        "detections": int(detected.sum()),
    }
    return result
