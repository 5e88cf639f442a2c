"""Everyone in the scene: people found across views per frame, followed over time with stable ids.

Input: every view's detections ``(F, V, P, J, 3)`` (candidate ids per view mean nothing across views).
Frame by frame:

1. Followed people first: each live track predicts its skeleton (its centre moved on by its
   velocity over the last two observations) and projects it into every view; each view's
   detections are matched to the predictions by an optimal (Hungarian) assignment on the
   mirror-tolerant median joint distance relative to the person's size, within twice the
   association ``gate``. Each track is triangulated (robust, confidence-weighted) from its
   matches, views that disagree with the result by more than the gate are dropped and it is
   triangulated again; a track keeps the frame when ``min_views`` views remain and its bones have
   human lengths (with fewer, the detections within the gate of the prediction are kept as 2D
   evidence for the fit, not triangulated). Predictions keep two people apart when they cross, where clustering each
   frame afresh mixes their detections.
2. What is left: the detections no track took are clustered across views
   (:func:`mvmocap.associate.cluster_frame_people`: two-view proposals verified against every
   view); a cluster whose bones are mostly outside human lengths (detections of two people that
   happened to agree) is dropped, one within 0.25 m of a person followed in this frame is that
   person seen again, and every other cluster starts a track. A track unseen for more than
   ``max_gap`` frames is closed.
3. Re-identification: a track that starts within ``reid_seconds`` of a closed track's end, near
   where a person walking at ``max_speed`` could be, and with the same median lengths of the long
   bones (within ``bone_tolerance``), continues the closed track's identity (an occlusion of a
   few seconds; of several such tracks, the one lost most recently). Tracks seen in fewer than
   ``min_track_frames`` frames are dropped (a false cluster, someone seen for a moment), and at
   most ``max_people`` are kept, those with the most supporting view-frames, with a warning
   naming how many were left out.

Ids count from 0 in order of first appearance. A person seen by a single view in a frame is not
a cluster: nobody is invented from one view. A person unseen for more than ``max_gap_seconds``
(and re-identified after it) is split there (:func:`split_long_gaps`): the later part gets its
own id and the report (``split_at_gaps``) says which part it continues, so that no fit invents
the motion across the gap.

Cost per frame: ``O(V T P J)`` for the followed people (T tracks) with ``V`` assignments of
``O(n^3)`` (n = people in view) and one batched triangulation; the clustering of step 2
(``O(V^3 P^3 J)`` at worst, see :mod:`mvmocap.associate.subject`) only runs on the detections left
over, usually none once everyone is followed. No combinatorial search over views or people.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from mvmocap.associate.subject import (
    SubjectSettings,
    box_sizes,
    cluster_frame_people,
    cluster_members,
    mirror_distance,
    packed_candidates,
    undistorted_candidates,
)
from mvmocap.camera import CameraRig
from mvmocap.settings import require_at_least_one, require_positive
from mvmocap.skeletons import get_format
from mvmocap.triangulate import triangulate

__all__ = ["People", "PeopleSettings", "track_people"]

log = logging.getLogger(__name__)

_GATE_SLACK = 0.2  # metres added to the speed gate (pose changes, triangulation noise)
_MIRROR_MARGIN = 0.7  # a detection is taken left/right swapped when that matches the prediction this much better
_RECENCY = 0.05  # re-identification score per second since a track was lost: the most recent one wins a tie
_SAME_PERSON_M = 0.25  # two skeletons of a frame this close (median joint distance) are one person
# Bone lengths (metres) a person can have: a cluster of detections of two different people
# triangulates to a skeleton with several bones outside these (children to tall adults, with slack).
_HUMAN_BONES = {("LShoulder", "LElbow"): (0.15, 0.5), ("RShoulder", "RElbow"): (0.15, 0.5),
                ("LElbow", "LWrist"): (0.12, 0.45), ("RElbow", "RWrist"): (0.12, 0.45),
                ("LHip", "LKnee"): (0.2, 0.65), ("RHip", "RKnee"): (0.2, 0.65),
                ("LKnee", "LAnkle"): (0.2, 0.65), ("RKnee", "RAnkle"): (0.2, 0.65),
                ("LShoulder", "RShoulder"): (0.15, 0.6), ("Neck", "MidHip"): (0.25, 0.8)}


@dataclass(frozen=True)
class PeopleSettings:
    """How everyone is followed over time (``mvmocap run --exp multi``).

    max_people: at most this many people are kept (those seen in the most view-frames)
    min_track_frames: a track seen in fewer frames is dropped (a false cluster, someone seen for a moment)
    max_gap: frames a person may go unseen and keep their track
    max_gap_seconds: a person unseen longer than this (re-identified after it) is split there: the later
        part gets its own id, reported as continuing the earlier (a fit would invent the motion between)
    reid_seconds: a new track this soon after a lost one, with the same bone lengths, continues its id
    bone_tolerance: median bone lengths within this relative difference are the same person's
    max_speed: metres per second a person may walk while unseen (re-identification)
    fit_processes: people fitted at once in worker processes (0: one per core; 1: one after another here)
    """

    max_people: int = 10
    min_track_frames: int = 15
    max_gap: int = 15
    max_gap_seconds: float = 1.0
    reid_seconds: float = 3.0
    bone_tolerance: float = 0.08
    max_speed: float = 4.0
    fit_processes: int = 0

    def __post_init__(self) -> None:
        if self.fit_processes < 0:
            raise ValueError(f"fit_processes: must be 0 (one per core) or more, got {self.fit_processes!r}")
        require_at_least_one(self, "max_people", "min_track_frames", "max_gap")
        require_positive(self, "max_gap_seconds", "reid_seconds", "bone_tolerance", "max_speed")


@dataclass
class People:
    """Everyone followed through a sequence.

    Attributes:
        ids: person ids, in order of first appearance.
        keypoints2d: id -> (F, V, J, 3) that person's detection per view-frame (confidence 0: none),
            also in frames where fewer than ``min_views`` views saw them (evidence for a 2D fit).
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
    views: list[np.ndarray] = field(default_factory=list)  # (V,) packed candidate per view in each frame (-1: none)
    joints: list[np.ndarray] = field(default_factory=list)  # (J, 4) per frame
    centres: list[np.ndarray] = field(default_factory=list)
    glimpses: dict[int, np.ndarray] = field(default_factory=dict)  # frame -> (V,): seen by too few views to triangulate

    def add(self, frame: int, views: np.ndarray, joints: np.ndarray) -> None:
        self.frames.append(frame)
        self.views.append(views)
        self.joints.append(joints)
        self.centres.append(_centre(joints))

    def predicted(self, frame: int) -> np.ndarray:
        """(J, 4) the last skeleton moved on to ``frame`` by the centre's velocity over the last
        two observations (on the ground: crouching is not moving)."""
        velocity = np.zeros(3)
        if len(self.frames) >= 2:
            velocity = (self.centres[-1] - self.centres[-2]) / (self.frames[-1] - self.frames[-2])
            velocity[2] = 0.0
        joints = self.joints[-1].copy()
        joints[:, :3] += velocity * (frame - self.frames[-1])
        return joints


def _centre(X: np.ndarray) -> np.ndarray:
    found = X[:, 3] > 0
    return np.median(X[found, :3], axis=0) if found.any() else np.zeros(3)


def _pose_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Median 3D distance of the joints both (J, 4) skeletons have (a few badly triangulated joints
    do not move it); the distance of their centres if they share fewer than 3, inf if one is empty."""
    both = (a[:, 3] > 0) & (b[:, 3] > 0)
    if both.sum() < 3:
        return float(np.linalg.norm(_centre(a) - _centre(b))) if (a[:, 3] > 0).any() and (b[:, 3] > 0).any() \
            else np.inf
    return float(np.median(np.linalg.norm(a[both, :3] - b[both, :3], axis=-1)))


def _identity_bones(skeleton: str) -> np.ndarray:
    """(L, 2) the bones that tell people apart by build: the long ones of ``_HUMAN_BONES`` (the
    face's and feet's short bones are mostly triangulation noise), else every limb of the format."""
    fmt = get_format(skeleton)
    bones = [(fmt.index(a), fmt.index(b)) for a, b in _HUMAN_BONES if a in fmt and b in fmt]
    return np.array(bones if len(bones) >= 4 else fmt.limbs, dtype=np.intp).reshape(-1, 2)


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


def _cluster_skeletons(rig: CameraRig, cand: np.ndarray, clusters, min_confidence: float) -> list[np.ndarray]:
    """Each cluster's (J, 4) robust triangulation from its members (``cand`` (V, P, J, 3); one call)."""
    if not clusters:
        return []
    kp = np.stack([cluster_members(cand, views, min_confidence) for views, _ in clusters])
    return list(triangulate(rig, kp).keypoints3d)


def _merge_duplicates(clusters: list, skeletons: list[np.ndarray]) -> list:
    """Clusters of one frame whose skeletons lie within ``_SAME_PERSON_M`` of each other are one
    person seen through two sets of views: the better supported one (earlier in the list) takes
    the other's views it lacks."""
    kept: list[tuple[np.ndarray, np.ndarray]] = []
    kept_skeletons: list[np.ndarray] = []
    for (views, centre), X in zip(clusters, skeletons, strict=True):
        same = next((k for k, Y in enumerate(kept_skeletons) if _pose_distance(X, Y) < _SAME_PERSON_M), None)
        if same is None:
            kept.append((views.copy(), centre))
            kept_skeletons.append(X)
        else:
            into = kept[same][0]
            into[into < 0] = views[into < 0]
    return kept


def _plausible(X: np.ndarray, skeleton: str) -> bool:
    """Whether a (J, 4) skeleton could be one person: most of its measurable bones of
    ``_HUMAN_BONES`` have a human length (a skeleton without them is kept)."""
    fmt = get_format(skeleton)
    bones = [(fmt.index(a), fmt.index(b), lo, hi) for (a, b), (lo, hi) in _HUMAN_BONES.items() if a in fmt and b in fmt]
    lengths = [(np.linalg.norm(X[i, :3] - X[j, :3]), lo, hi) for i, j, lo, hi in bones if X[i, 3] > 0 and X[j, 3] > 0]
    if len(lengths) < 3:
        return True
    return sum(lo <= length <= hi for length, lo, hi in lengths) >= 0.5 * len(lengths)


def _mirrored(cand: np.ndarray, proj: np.ndarray, views: np.ndarray, flip: np.ndarray,
              min_confidence: float) -> np.ndarray:
    """(T, V) whether each track's detection in each view (``views`` (T, V), -1: none; ``cand``
    (V, P, J, 3)) matches the track's predicted projection ``proj`` (V, T, J, 2) clearly better
    with its left and right swapped (median joint distance under :data:`_MIRROR_MARGIN` of the
    direct one): a view seeing the person from the front labels them the other way, and
    triangulated unswapped their shoulders come out a metre apart (a real capture: the track then
    lost the person as implausible in every frame two views saw them)."""
    out = np.zeros(views.shape, dtype=bool)
    t, v = np.nonzero(views >= 0)
    det, points, same = cand[v, views[t, v]], proj[v, t], np.arange(len(flip))  # (n, J, 3), (n, J, 2)
    direct = mirror_distance(det, points, same, min_confidence)
    swapped = mirror_distance(det[:, flip], points, same, min_confidence)
    out[t, v] = swapped < _MIRROR_MARGIN * direct
    return out


def _extend_tracks(rig: CameraRig, cand: np.ndarray, tracks: list[_Track], f: int, flip: np.ndarray,
                   skeleton: str, a: SubjectSettings) -> tuple[list[int], np.ndarray]:
    """Frame ``f``: each view's detections (``cand`` (V, P, J, 3)) matched to the live tracks'
    predictions by an optimal assignment per view (within twice the association gate, relative to
    the person's size), each track triangulated from its matches, views that disagree with the
    result dropped. Returns the tracks extended and the (V, P) detections they took."""
    V, P = cand.shape[:2]
    taken = np.zeros((V, P), dtype=bool)
    if not tracks:
        return [], taken
    predicted = np.stack([t.predicted(f) for t in tracks])  # (T, J, 4)
    proj = rig.project(predicted[..., :3])  # (V, T, J, 2)
    valid = (rig.depths(predicted[..., :3]) > 0) & (predicted[None, ..., 3] > 0)
    size_det = box_sizes(cand, a.min_confidence)  # (V, P)
    size_proj = box_sizes(np.concatenate([proj, valid[..., None].astype(float)], -1), 0.5)  # (V, T)
    dist = mirror_distance(cand[:, None], proj[:, :, None], flip, a.min_confidence)  # (V, T, P)
    norm = dist / np.maximum(np.minimum(size_det[:, None], np.where(size_proj > 0, size_proj, np.inf)[..., None]),
                             1e-9)
    views = np.full((len(tracks), V), -1, dtype=np.intp)
    for v in range(V):
        ok = (norm[v] < 2 * a.gate) & (size_det[v] > 0)[None]
        if ok.any():
            rows, cols = linear_sum_assignment(np.where(ok, norm[v], 1e6))
            keep = ok[rows, cols]
            views[rows[keep], v] = cols[keep]
    first = views.copy()  # (T, V) the assignment to the predictions, before verification
    mirrored = _mirrored(cand, proj, views, flip, a.min_confidence)  # (T, V) left/right labelled the other way
    extended = []
    for _ in range(2):  # triangulate, drop the views that disagree, triangulate again
        members = np.stack([cluster_members(cand, row, a.min_confidence) for row in views])  # (T, V, J, 3)
        members = np.where(mirrored[..., None, None], members[:, :, flip], members)
        X = triangulate(rig, members).keypoints3d  # (T, J, 4)
        back = rig.project(X[..., :3])  # (V, T, J, 2)
        found = X[..., 3] > 0
        d = mirror_distance(np.where(found[None, ..., None], np.moveaxis(members, 1, 0), 0.0), back, flip,
                            a.min_confidence)  # (V, T)
        shown = np.concatenate([back, np.broadcast_to(found[None, ..., None], back.shape[:-1] + (1,))], -1)
        size = np.minimum(box_sizes(np.moveaxis(members, 1, 0), a.min_confidence), box_sizes(shown, 0.5))
        agree = (d < a.gate * size).T  # (T, V)
        if ((views >= 0) <= agree).all():
            break
        views = np.where(agree, views, -1)
    for t, track in enumerate(tracks):
        if (views[t] >= 0).sum() >= a.min_views and _plausible(X[t], skeleton):
            track.add(f, views[t].copy(), X[t])
            taken[np.flatnonzero(views[t] >= 0), views[t][views[t] >= 0]] = True
            extended.append(t)
        else:  # seen by too few views to triangulate: the detections close to the prediction are kept as 2D
            close = np.where((first[t] >= 0) & (norm[np.arange(V), t, np.maximum(first[t], 0)] < a.gate), first[t], -1)
            if (close >= 0).any():
                track.glimpses[f] = close
                taken[np.flatnonzero(close >= 0), close[close >= 0]] = True
    return extended, taken


def _track_online(rig: CameraRig, packed: np.ndarray, skeleton: str, a: SubjectSettings,
                  s: PeopleSettings) -> list[_Track]:
    """Steps 1-2 of the module docstring: frame by frame, live tracks take their detections first;
    what is left is clustered across views and starts new tracks."""
    F = packed.shape[0]
    flip = get_format(skeleton).flip_index
    live: list[_Track] = []
    done: list[_Track] = []
    for f in range(F):
        still = []
        for track in live:
            (still if f - track.frames[-1] <= s.max_gap else done).append(track)
        live = still
        cand = packed[f]
        extended, taken = _extend_tracks(rig, cand, live, f, flip, skeleton, a)
        leftover = np.where(taken[..., None, None], 0.0, cand)
        if ((leftover[..., 2].max(-1) > 0).sum(-1) > 0).sum() < a.min_views:
            continue
        clusters = cluster_frame_people(rig, leftover[None], skeleton, a)[0]
        clusters = _merge_duplicates(clusters, _cluster_skeletons(rig, leftover, clusters, a.min_confidence))
        skeletons = _cluster_skeletons(rig, leftover, clusters, a.min_confidence)
        current = [live[t].joints[-1] for t in extended]
        for (views, _), X in zip(clusters, skeletons, strict=True):
            if not _plausible(X, skeleton):  # detections of two people that happened to agree
                continue
            if any(_pose_distance(X, Y) < _SAME_PERSON_M for Y in current):  # a followed person seen again
                continue
            track = _Track()
            track.add(f, views.copy(), X)
            live.append(track)
            current.append(X)
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
            # the same build within the tolerance; among such, the track lost most recently
            score = _same_build(chain_bones, bones[k], s.bone_tolerance) + _RECENCY * gap / fps
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
    # in undistorted pixels once for the whole sequence: per frame, projections and triangulations
    # then need no iterative distortion model (most of the cost otherwise)
    tracks = _track_online(rig.without_distortion(), undistorted_candidates(rig, packed)[1], skeleton, a, s)
    chains, reidentified = _reidentify(tracks, _identity_bones(skeleton), fps, s)
    people = [c for c in chains if sum(len(t.frames) for t in c) >= s.min_track_frames]
    short = len(chains) - len(people)
    support = [sum(int((views >= 0).sum()) for t in chain for views in t.views) for chain in people]
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
            for f, views in track.glimpses.items():  # 2D evidence of the frames between (for the fit)
                picked[f] = np.where(views >= 0, slots[f, np.arange(V), np.maximum(views, 0)], -1)
            for f, views, joints in zip(track.frames, track.views, track.joints, strict=True):
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
    return split_long_gaps(result, max(1, int(round(s.max_gap_seconds * fps))))


def split_long_gaps(people: People, max_gap_frames: int) -> People:
    """``people`` with every person split where they go unseen for more than ``max_gap_frames``
    frames: each part its own id (all renumbered from 0 in order of first appearance), its 2D
    evidence the frames from its first to its last seen frame; ``report["continues"]`` maps a
    later part's id to the id of the part before it, with the gap (a fit would otherwise invent
    the motion across it)."""
    parts = []  # (first frame, old id, slice of frames)
    for pid in people.ids:
        seen = np.flatnonzero(people.seen[pid])
        if not seen.size:
            continue
        breaks = np.flatnonzero(np.diff(seen) > max_gap_frames + 1)
        starts, stops = np.r_[seen[0], seen[breaks + 1]], np.r_[seen[breaks], seen[-1]] + 1
        parts += [(int(a), pid, slice(int(a), int(b))) for a, b in zip(starts, stops, strict=True)]
    parts.sort(key=lambda part: (part[0], part[1]))
    if len(parts) == len(people.ids):
        return people
    out = People([], {}, {}, {}, dict(people.report))
    last_part: dict[int, tuple[int, slice]] = {}  # old id -> (new id, frames) of its latest part
    continues = {}
    for new_id, (_, old, frames) in enumerate(parts):
        out.ids.append(new_id)
        for name in ("keypoints2d", "seen", "keypoints3d"):
            full = getattr(people, name)[old]
            part = np.zeros_like(full)
            part[frames] = full[frames]
            getattr(out, name)[new_id] = part
        if old in last_part:
            before, before_frames = last_part[old]
            continues[str(new_id)] = {"continues": before, "gap_frames": int(frames.start - before_frames.stop)}
        last_part[old] = (new_id, frames)
    log.info("people: %d split where unseen for more than %d frames (the parts are not joined by the fit)",
             len(continues), max_gap_frames)
    out.report.update({
        "people": len(out.ids), "split_at_gaps": continues,
        "frames_seen": {str(pid): int(out.seen[pid].sum()) for pid in out.ids},
        "view_frames_assigned": {str(pid): int((out.keypoints2d[pid][..., 2].max(-1) > 0).sum()) for pid in out.ids},
    })
    return out
