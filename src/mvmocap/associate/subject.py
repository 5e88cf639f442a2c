"""The same person across views and over time, and the subject of a single-person capture.

Input: every view's detections side by side, ``(F, V, P, J, 3)`` (P candidates per view-frame;
candidate ids are per view, e.g. a detector's tracks, and mean nothing across views).

1. Per frame, every pair of views (a, b) and every pair of candidates (one in each) proposes a
   3D skeleton by two-view triangulation, twice: as labelled and with b's left/right labels
   swapped (a swapped detection must still find its person). Each proposal is projected into
   every view; a candidate supports it when their distance is below ``gate`` times the size
   (bounding-box diagonal) of the smaller of the candidate and the projected proposal, the
   distance being the median over joints of
   the nearer of the joint and its mirror joint (so left/right swaps do not break association).
   Proposals are taken greedily, most supporting views first (then the smallest distance); a
   taken proposal claims one candidate per supporting view, and proposals that need a claimed
   candidate are re-scored without it. Each taken proposal with at least ``min_views`` views is
   a *cluster*: a person seen in that frame.
2. Over time, clusters are linked into tracks by the ground distance of their centres (the
   median of their joints; nearest first, gated by ``max_speed`` times the time since the track
   was last seen, plus 0.15 m, for gaps up to ``max_gap`` frames).
3. The subject is the track with the most supporting view-frames: the person who triangulates
   consistently in the most views over the sequence, never the most confident detection of a
   view. Everyone else (bystanders, false detections, people seen by one view) is dropped.

Cost per frame: ``O(V^2 P^2)`` proposals, each scored against ``V P`` candidates over J joints,
so ``O(V^3 P^3 J)``; 9 cameras x 4 people x 25 joints is about 1.2 M distance evaluations a frame,
vectorised. Frames are processed in chunks to bound memory.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from mvmocap.camera import CameraRig
from mvmocap.skeletons import get_format
from mvmocap.triangulate import triangulate

__all__ = [
    "SubjectChoice",
    "SubjectSettings",
    "choose_subject",
    "cluster_frame_people",
    "link_tracks",
    "mirror_distance",
]


@dataclass(frozen=True)
class SubjectSettings:
    """How detections are associated into people (see the module docstring).

    gate: a candidate supports a 3D proposal within ``gate`` x its bounding-box diagonal.
    min_views: a person seen by fewer views in a frame is not a cluster.
    min_confidence: joints below this confidence are ignored for association.
    max_speed: metres per second a person's centre may move between linked frames.
    max_gap: frames a track may go unseen and still be continued.
    """

    gate: float = 0.12
    min_views: int = 2
    min_confidence: float = 0.3
    max_speed: float = 4.0
    max_gap: int = 60

    def __post_init__(self) -> None:
        if not 0 < self.gate < 1:
            raise ValueError(f"associate.gate must be in (0, 1) (a fraction of the person's size), got {self.gate}")
        if self.min_views < 2:
            raise ValueError(f"associate.min_views must be at least 2, got {self.min_views}")


@dataclass
class SubjectChoice:
    """The subject's detections and how they were found.

    Attributes:
        keypoints2d: (F, V, J, 3) the subject's detection per view-frame (confidence 0: none).
        assignment: (F, V) index of the chosen candidate, -1 where none.
        tracks: number of people tracks found (subject included).
        report: JSON-ready counts (view-frames assigned, candidates seen, dropped).
    """

    keypoints2d: np.ndarray
    assignment: np.ndarray
    tracks: int
    report: dict


def mirror_distance(detections: np.ndarray, points: np.ndarray, flip: np.ndarray, min_confidence: float
                    ) -> np.ndarray:
    """Median over joints of the pixel distance between a detection and projected points,
    each joint taking the nearer of its own and its mirror joint's projection.

    Args:
        detections: (..., J, 3) x, y, confidence.
        points: (..., J, 2) projected pixels (broadcast against ``detections``).
        flip: (J,) mirror joint index (``KeypointFormat.flip_index``).
    Returns:
        (...,) distance in pixels; inf where no joint is confident.
    """
    direct = np.linalg.norm(detections[..., :2] - points, axis=-1)
    mirrored = np.linalg.norm(detections[..., :2] - points[..., flip, :], axis=-1)
    d = np.where(detections[..., 2] > min_confidence, np.minimum(direct, mirrored), np.nan)
    enough = np.isfinite(d).sum(-1) >= 3
    with np.errstate(all="ignore"):
        med = np.nanmedian(np.where(enough[..., None], d, 0.0), axis=-1)
    return np.where(enough, med, np.inf)


def _sizes(candidates: np.ndarray, min_confidence: float) -> np.ndarray:
    """(..., J, 3) -> (...,) bounding-box diagonal of the confident joints (0 if under 3)."""
    ok = candidates[..., 2] > min_confidence
    big, small = np.where(ok[..., None], candidates[..., :2], -np.inf), np.where(ok[..., None], candidates[..., :2],
                                                                                 np.inf)
    diag = np.linalg.norm(big.max(-2) - small.min(-2), axis=-1)
    return np.where(ok.sum(-1) >= 3, diag, 0.0)


def cluster_frame_people(rig: CameraRig, candidates: np.ndarray, skeleton: str = "body25",
                         settings: SubjectSettings | None = None) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Per frame, the people seen consistently by several views.

    Args:
        candidates: (F, V, P, J, 3) detections.
    Returns:
        per frame a list of clusters ``(views (V,) candidate index or -1, centre (3,))``,
        best supported first.
    """
    s = settings or SubjectSettings()
    F, V, P, J = candidates.shape[:4]
    flip = get_format(skeleton).flip_index
    out: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(F)]
    if V < 2 or P == 0:
        return out
    sizes = _sizes(candidates, s.min_confidence)  # (F, V, P)
    usable = sizes > 0
    pairs = list(itertools.combinations(range(V), 2))
    per_frame = 2 * len(pairs) * P * P * V * P * J  # distance evaluations per frame
    chunk = max(1, 2_000_000 // per_frame)
    for start in range(0, F, chunk):
        sl = slice(start, min(start + chunk, F))
        cand = candidates[sl]  # (f, V, P, J, 3)
        f = cand.shape[0]
        proposals, origins = [], []
        for a, b in pairs:
            ka = np.broadcast_to(cand[:, a, :, None], (f, P, P, J, 3))
            for swapped in (False, True):
                kb = cand[:, b][:, :, flip] if swapped else cand[:, b]
                kb = np.broadcast_to(kb[:, None], (f, P, P, J, 3))
                pair = np.stack([ka, kb], axis=-3)  # (f, P, P, 2, J, 3)
                conf = np.where(pair[..., 2] > s.min_confidence, pair[..., 2], 0.0)
                pair = np.concatenate([pair[..., :2], conf[..., None]], -1)
                X = triangulate(rig.subset([rig.names[a], rig.names[b]]), pair, robust=False,
                                refine_iterations=0).keypoints3d  # (f, P, P, J, 4)
                proposals.append(X.reshape(f, P * P, J, 4))
                ij = np.stack(np.meshgrid(np.arange(P), np.arange(P), indexing="ij"), -1).reshape(-1, 2)
                origins.extend((a, b, int(i), int(j)) for i, j in ij)
        X = np.concatenate(proposals, axis=1)  # (f, H, J, 4)
        H = X.shape[1]
        found = X[..., 3] > 0
        proj = rig.project(X[..., :3])  # (V, f, H, J, 2)
        depth = rig.depths(X[..., :3])  # (V, f, H, J)
        in_front = (depth > 0) & found[None]
        projected = np.concatenate([proj, in_front[..., None].astype(float)], -1)
        projected_size = np.moveaxis(_sizes(projected, 0.5), 0, 2)[..., None]  # (f, H, V, 1)
        proj = np.where(in_front[..., None], proj, 1e9)
        # distance of every candidate to every proposal: (f, H, V, P)
        det = cand[:, None]  # (f, 1, V, P, J, 3)
        pts = np.moveaxis(proj, 0, 2)[:, :, :, None]  # (f, H, V, 1, J, 2)
        dist = mirror_distance(det, pts, flip, s.min_confidence)
        # relative to the smaller of the detection and the proposal as seen by that camera: a large
        # person near the camera must not get a generous gate for a small one behind them
        scale = np.minimum(sizes[sl][:, None], np.where(projected_size > 0, projected_size, np.inf))
        norm = dist / np.maximum(scale, 1e-9)
        support = (norm < s.gate) & usable[sl][:, None]
        origin = np.array(origins).reshape(H, 4)
        for k in range(f):
            picks = _greedy_clusters(norm[k], support[k], origin, s.min_views)
            out[start + k] = [c for c in (_verify(rig, cand[k], views, flip, s) for views in picks) if c]
    return out


def _verify(rig: CameraRig, cand: np.ndarray, views: np.ndarray, flip: np.ndarray, s: SubjectSettings):
    """Re-triangulate a cluster robustly from all its detections and keep those that agree with
    the result within the gate (a two-view proposal can be skewed enough to admit a detection of
    someone standing in front of the person). cand (V, P, J, 3). Returns (views, centre) or None."""
    members = np.flatnonzero(views >= 0)
    if len(members) < 3:
        return _with_centre(rig, cand, views, s) if len(members) >= s.min_views else None
    kept = views.copy()
    kp = _members(cand, views, s.min_confidence)
    X = triangulate(rig, kp).keypoints3d  # (J, 4)
    found = X[:, 3] > 0
    for v in members:
        proj = rig[v].project(X[:, :3])
        size = min(_sizes(kp[v], s.min_confidence), _sizes(np.concatenate([proj, found[:, None]], -1), 0.5) or np.inf)
        d = mirror_distance(np.where(found[:, None], kp[v], 0.0), proj, flip, s.min_confidence)
        if not d < s.gate * size:
            kept[v] = -1
    if (kept >= 0).sum() < s.min_views:
        return None
    return _with_centre(rig, cand, kept, s, X if (kept == views).all() else None)


def _members(cand: np.ndarray, views: np.ndarray, min_confidence: float) -> np.ndarray:
    """(V, J, 3): each view's chosen detection of the cluster (zeros where none), joints below
    ``min_confidence`` left out."""
    kp = np.zeros((len(views),) + cand.shape[2:])
    members = np.flatnonzero(views >= 0)
    kp[members] = cand[members, views[members]]
    kp[..., 2] = np.where(kp[..., 2] > min_confidence, kp[..., 2], 0.0)
    return kp


def _with_centre(rig: CameraRig, cand: np.ndarray, views: np.ndarray, s: SubjectSettings, X: np.ndarray | None = None):
    """(views, centre): the centre is the median of the joints triangulated from the cluster."""
    if X is None:
        X = triangulate(rig, _members(cand, views, s.min_confidence)).keypoints3d
    found = X[:, 3] > 0
    return views, (np.median(X[found, :3], axis=0) if found.any() else np.zeros(3))


def _greedy_clusters(norm: np.ndarray, support: np.ndarray, origin: np.ndarray, min_views: int) -> list[np.ndarray]:
    """One frame: norm, support (H, V, P); origin (H, 4) = (view a, view b, cand i, cand j).
    Returns each taken proposal's (V,) candidate per view (-1: none), best first."""
    V, P = norm.shape[1:]
    claimed = np.zeros((V, P), dtype=bool)
    alive = np.ones(len(norm), dtype=bool)
    clusters = []
    while alive.any():
        ok = support & ~claimed[None]
        best_d = np.where(ok, norm, np.inf).min(-1)  # (H, V)
        views = np.isfinite(best_d)
        # a proposal must be supported by the two detections it came from
        own = views[np.arange(len(norm)), origin[:, 0]] & views[np.arange(len(norm)), origin[:, 1]]
        count = np.where(alive & own, views.sum(-1), 0)
        if count.max() < min_views:
            break
        mean_d = np.where(views, best_d, 0).sum(-1) / np.maximum(views.sum(-1), 1)
        score = count - np.minimum(mean_d, 0.999)  # more views first, then closer
        h = int(np.argmax(np.where(count >= min_views, score, -np.inf)))
        pick = np.where(views[h], np.argmin(np.where(ok[h], norm[h], np.inf), -1), -1)
        for v in np.flatnonzero(pick >= 0):
            claimed[v, pick[v]] = True
        clusters.append(pick)
        alive[h] = False
        a, b, i, j = origin.T
        alive &= ~(claimed[a, i] | claimed[b, j])
    return clusters


def link_tracks(clusters: list[list[tuple[np.ndarray, np.ndarray]]], fps: float, settings: SubjectSettings
                ) -> list[dict[int, int]]:
    """Link per-frame clusters into tracks: each track is ``{frame: cluster index}``."""
    tracks: list[dict[int, int]] = []
    last: list[tuple[int, np.ndarray]] = []  # per track: (frame, centre)
    for f, frame in enumerate(clusters):
        taken: set[int] = set()
        options = []
        for c, (_, centre) in enumerate(frame):
            for t, (lf, lc) in enumerate(last):
                gap = f - lf
                if gap > settings.max_gap:
                    continue
                d = float(np.linalg.norm(centre[:2] - lc[:2]))  # on the ground: crouching is not moving
                if d <= settings.max_speed * gap / fps + 0.15:
                    options.append((d, c, t))
        used_clusters: set[int] = set()
        for _, c, t in sorted(options):
            if c in used_clusters or t in taken:
                continue
            tracks[t][f] = c
            last[t] = (f, frame[c][1])
            used_clusters.add(c)
            taken.add(t)
        for c, (_, centre) in enumerate(frame):
            if c not in used_clusters:
                tracks.append({f: c})
                last.append((f, centre))
    return tracks


def choose_subject(rig: CameraRig, candidates: np.ndarray, *, skeleton: str = "body25", fps: float = 30.0,
                   settings: SubjectSettings | None = None) -> SubjectChoice:
    """The single subject's detections among ``(F, V, P, J, 3)`` candidates (module docstring)."""
    s = settings or SubjectSettings()
    candidates = np.asarray(candidates, dtype=np.float64)
    if candidates.ndim != 5 or candidates.shape[-1] != 3 or candidates.shape[1] != len(rig):
        raise ValueError(f"candidates must be (F, V={len(rig)}, P, J, 3), got {candidates.shape}")
    F, V, P, J = candidates.shape[:4]
    if P == 0:  # nobody detected anywhere: a documented, empty result
        candidates = np.zeros((F, V, 1, J, 3))
        P = 1
    detected = candidates[..., 2].max(-1) > 0  # (F, V, P)
    # Detector track ids come and go: pack each view-frame's detections to the front, so the
    # work scales with the people present at once, not with every id ever seen.
    slots = np.argsort(~detected, axis=-1, kind="stable")  # (F, V, P) original index per packed slot
    packed_p = max(1, int(detected.sum(-1).max())) if detected.size else 1
    slots = slots[..., :packed_p]
    packed = np.take_along_axis(candidates, slots[..., None, None], axis=2)
    packed[~np.take_along_axis(detected, slots, axis=2)] = 0.0
    picked = np.full((F, V), -1, dtype=np.intp)
    if packed_p == 1 and V < 3:  # nothing to decide between; two views cannot outvote each other
        picked[packed[:, :, 0, :, 2].max(-1) > 0] = 0
        num_tracks = 1
    else:
        clusters = cluster_frame_people(rig, packed, skeleton, s)
        tracks = link_tracks(clusters, fps, s)
        num_tracks = len(tracks)
        if tracks:
            support = [sum(int((clusters[f][c][0] >= 0).sum()) for f, c in t.items()) for t in tracks]
            subject = tracks[int(np.argmax(support))]
            for f, c in subject.items():
                picked[f] = clusters[f][c][0]
    fi, vi = np.nonzero(picked >= 0)
    assignment = np.full((F, V), -1, dtype=np.intp)
    assignment[fi, vi] = slots[fi, vi, picked[fi, vi]]
    keypoints = np.zeros((F, V, J, 3))
    fi, vi = np.nonzero(assignment >= 0)
    keypoints[fi, vi] = candidates[fi, vi, assignment[fi, vi]]
    report = {
        "view_frames_assigned": int((assignment >= 0).sum()),
        "view_frames_with_detections": int(detected.any(-1).sum()),
        "detections": int(detected.sum()),
        "detections_dropped": int(detected.sum() - (assignment >= 0).sum()),
        "max_people_per_view": int(detected.sum(-1).max()) if detected.size else 0,
    }
    return SubjectChoice(keypoints, assignment, num_tracks, report)
