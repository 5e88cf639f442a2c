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
   median of their joints), gated by ``max_speed`` times the time since the track was last seen,
   plus 0.15 m, for gaps up to ``max_gap`` frames; the tracks seen most recently choose first,
   nearest first (a one-frame false cluster whose centre the subject passes a few frames later
   must not take the subject's track over).
3. The subject is the track with the most supporting view-frames: the person who triangulates
   consistently in the most views over the sequence, never the most confident detection of a
   view. Everyone else (bystanders, false detections, people seen by one view) is dropped.

Cost per frame: ``O(V^2 P^2)`` proposals, each scored against ``V P`` candidates over J joints,
so ``O(V^3 P^3 J)``; 9 cameras x 4 people x 25 joints is about 1.2 M distance evaluations a frame,
vectorised. Frames are processed in chunks to bound memory.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from mvmocap.camera import CameraRig
from mvmocap.geometry import essential_matrix
from mvmocap.skeletons import get_format
from mvmocap.triangulate import triangulate
from mvmocap.triangulate.dlt import observation_matrices, project_normalized, solve_summed

__all__ = [
    "SubjectChoice",
    "SubjectSettings",
    "box_sizes",
    "choose_subject",
    "cluster_frame_people",
    "cluster_members",
    "link_tracks",
    "mirror_distance",
    "packed_candidates",
    "undistorted_candidates",
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
        (...,) distance in pixels; inf where fewer than 3 joints are confident.
    """
    xy = detections[..., :2]
    direct = xy - points
    mirrored = xy - points[..., flip, :]
    squared = np.minimum(np.einsum("...k,...k->...", direct, direct), np.einsum("...k,...k->...", mirrored, mirrored))
    # the median of squares, then the root: the median itself (for an even count, nearly)
    return np.sqrt(_median_of_confident(squared, detections[..., 2] > min_confidence))


def _median_of_confident(d: np.ndarray, confident: np.ndarray) -> np.ndarray:
    """(..., J) distances -> (...,) their median over the confident joints (the mean of the two
    middle ones for an even count); inf where fewer than 3 are confident. Sorting 25 values beats
    ``nanmedian`` by an order of magnitude on these many small rows."""
    count = confident.sum(-1)
    ordered = np.sort(np.where(confident & np.isfinite(d), d, np.inf), axis=-1)
    lo = np.maximum((count - 1) // 2, 0)[..., None]
    hi = np.maximum(count // 2, 0)[..., None]
    with np.errstate(invalid="ignore"):
        med = 0.5 * (np.take_along_axis(ordered, lo, -1) + np.take_along_axis(ordered, hi, -1))[..., 0]
    return np.where(count >= 3, med, np.inf)


def box_sizes(candidates: np.ndarray, min_confidence: float) -> np.ndarray:
    """(..., J, 3) -> (...,) bounding-box diagonal of the confident joints (0 if under 3)."""
    ok = candidates[..., 2] > min_confidence
    big, small = np.where(ok[..., None], candidates[..., :2], -np.inf), np.where(ok[..., None], candidates[..., :2],
                                                                                 np.inf)
    diag = np.linalg.norm(big.max(-2) - small.min(-2), axis=-1)
    return np.where(ok.sum(-1) >= 3, diag, 0.0)


def undistorted_candidates(rig: CameraRig, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(F, V, P, J, 3) -> normalised coordinates (F, V, P, J, 2) and undistorted pixels with
    confidence (F, V, P, J, 3): association compares in undistorted pixels, so that proposals
    are projected without the iterative distortion model."""
    xn = np.stack([cam.undistort_points(candidates[:, v, ..., :2], normalized=True) for v, cam in enumerate(rig)], 1)
    K = np.stack([cam.K for cam in rig])  # (V, 3, 3)
    pix = np.einsum("vij,fvpkj->fvpki", K[:, :2, :2], xn) + K[None, :, None, None, :2, 2]
    return xn, np.concatenate([pix, candidates[..., 2:3]], -1)


def _epipolar_px(lines_b: np.ndarray, xb: np.ndarray, lines_a: np.ndarray, focal_a: float, focal_b: float
                 ) -> np.ndarray:
    """(f, Pa, Pb, J) symmetric epipolar distances in pixels: view a's points as (f, Pa, J, 3)
    lines in view b, view b's (f, Pb, J, 3) homogeneous points, and those as lines in view a."""
    num = np.abs(np.einsum("fpjk,fqjk->fpqj", lines_b, xb))
    return 0.5 * (num / np.maximum(np.linalg.norm(lines_b[..., None, :, :2], axis=-1), 1e-12) * focal_b
                  + num / np.maximum(np.linalg.norm(lines_a[:, None, ..., :2], axis=-1), 1e-12) * focal_a)


def _frame_picks(norm: np.ndarray, support: np.ndarray, origins: np.ndarray, min_views: int
                 ) -> list[tuple[int, np.ndarray]]:
    """The clusters of each frame of a chunk, ``(frame in chunk, views)``, from the proposals'
    (n, V, P) normalised distances and support and their (n, 5) origins (frame first)."""
    picks = []
    for k in np.unique(origins[:, 0]):
        rows = np.flatnonzero(origins[:, 0] == k)
        picks += [(int(k), views) for views in _greedy_clusters(norm[rows], support[rows], origins[rows, 1:],
                                                                min_views)]
    return picks


@dataclass(frozen=True)
class _Views:
    """What :func:`cluster_frame_people` prepares once for all frames: the cameras (``Rt`` (V, 3, 4),
    ``K`` (V, 3, 3), ``focal`` (V,), ``essentials`` per pair), the candidates' normalised ``xn``
    (F, V, P, J, 2) and undistorted pixels ``pix`` (F, V, P, J, 3), their box ``sizes`` (F, V, P)."""

    rig: CameraRig
    settings: SubjectSettings
    flip: np.ndarray
    Rt: np.ndarray
    K: np.ndarray
    focal: np.ndarray
    essentials: dict[tuple[int, int], np.ndarray]
    xn: np.ndarray
    pix: np.ndarray
    sizes: np.ndarray

    def proposals(self, sl: slice) -> tuple[np.ndarray, np.ndarray] | None:
        """Two-view proposals of the frames ``sl`` from the pairs of detections that agree with the
        epipolar geometry (an epipolar distance bounds the proposal's own reprojection errors from
        below): points (n, J, 4) and origins (n, 5) (frame in chunk, view a, view b, cand i, cand j);
        None if there is none."""
        s, flip, focal = self.settings, self.flip, self.focal
        cand, xn, size, usable = self.pix[sl], self.xn[sl], self.sizes[sl], self.sizes[sl] > 0
        f, V, P, J = cand.shape[:4]
        conf = np.where(cand[..., 2] > s.min_confidence, cand[..., 2], 0.0)  # (f, V, P, J)
        homog = np.concatenate([xn, np.ones(xn.shape[:-1] + (1,))], -1)  # (f, V, P, J, 3)
        A = observation_matrices(xn.reshape(f, V, P * J, 2).transpose(0, 2, 1, 3), self.Rt).reshape(f, P, J, V, 4, 4)
        X_parts, origin_parts = [], []
        for (a, b), E in self.essentials.items():
            lines_b = homog[:, a] @ E.T  # (f, P, J, 3): a's points as lines in b
            for swapped in (False, True):
                jb = flip if swapped else np.arange(J)
                xb = homog[:, b][:, :, jb]  # (f, P, J, 3)
                lines_a = xb @ E  # b's points as lines in a
                d = _epipolar_px(lines_b, xb, lines_a, focal[a], focal[b])  # (f, Pa, Pb, J)
                both = (conf[:, a, :, None] > 0) & (conf[:, b][:, :, jb][:, None] > 0)
                epipolar = _median_of_confident(d, both) / np.maximum(
                    np.minimum(size[:, a, :, None], size[:, b, None, :]), 1e-9)
                k, i, j = np.nonzero((epipolar < 2 * s.gate) & usable[:, a, :, None] & usable[:, b, None, :])
                if not len(k):
                    continue
                M = conf[k, a, i][..., None, None] * A[k, i, :, a] + conf[k, b, j][:, jb][..., None, None] * A[k, j][
                    :, jb, b]
                X, ok = solve_summed(M)  # (n, J, 3)
                found = both[k, i, j] & ok
                X_parts.append(np.concatenate([X, found[..., None].astype(float)], -1))
                origin_parts.append(np.stack([k, np.full_like(k, a), np.full_like(k, b), i, j], -1))
        return (np.concatenate(X_parts), np.concatenate(origin_parts)) if X_parts else None

    def clusters(self, start: int, stop: int) -> list[tuple[int, tuple[np.ndarray, np.ndarray]]]:
        """The clusters of frames ``start:stop``, as (frame, cluster) pairs: every proposal against
        every detection of its frame, in every view, grouped and verified."""
        s, sl = self.settings, slice(start, stop)
        found = self.proposals(sl)
        if found is None:
            return []
        X, origins = found
        cand, size = self.pix[sl], self.sizes[sl]
        proj_n, depth = project_normalized(X[..., :3], self.Rt)  # (n, J, V, 2), (n, J, V)
        proj = np.einsum("vij,nkvj->nvki", self.K[:, :2, :2], proj_n) + self.K[None, :, None, :2, 2]  # (n, V, J, 2)
        in_front = (np.moveaxis(depth, -1, 1) > 0) & (X[:, None, :, 3] > 0)  # (n, V, J)
        projected_size = box_sizes(np.concatenate([proj, in_front[..., None].astype(float)], -1), 0.5)[..., None]
        proj = np.where(in_front[..., None], proj, 1e9)
        # float32: the distances need pixels, not micro-pixels, and half the memory traffic is most of the cost
        dist = mirror_distance(cand.astype(np.float32)[origins[:, 0]], proj[:, :, None].astype(np.float32), self.flip,
                               s.min_confidence)  # (n, V, P)
        # relative to the smaller of the detection and the proposal as seen by that camera: a large
        # person near the camera must not get a generous gate for a small one behind them
        scale = np.minimum(size[origins[:, 0]], np.where(projected_size > 0, projected_size, np.inf))
        norm = dist / np.maximum(scale, 1e-9)
        support = (norm < s.gate) & (size > 0)[origins[:, 0]]
        picks = _frame_picks(norm, support, origins, s.min_views)
        return [(start + k, cluster) for (k, _), cluster in zip(picks, _verify_all(self.rig, cand, picks, self.flip, s),
                                                                 strict=True) if cluster is not None]


def cluster_frame_people(rig: CameraRig, candidates: np.ndarray, skeleton: str = "body25",
                         settings: SubjectSettings | None = None, *, threads: int = 1
                         ) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Per frame, the people seen consistently by several views.

    Args:
        candidates: (F, V, P, J, 3) detections.
        threads: chunks of frames clustered at once (NumPy releases the GIL in its kernels); the
            same clusters with any number.
    Returns:
        per frame a list of clusters ``(views (V,) candidate index or -1, centre (3,))``,
        best supported first.
    """
    s = settings or SubjectSettings()
    F, V, P, J = candidates.shape[:4]
    out: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(F)]
    if V < 2 or P == 0:
        return out
    K = np.stack([cam.K for cam in rig])
    xn, pix = undistorted_candidates(rig, candidates)
    pairs = list(itertools.combinations(range(V), 2))
    views = _Views(rig, s, get_format(skeleton).flip_index, np.stack([cam.Rt for cam in rig]), K,
                   np.sqrt(K[:, 0, 0] * K[:, 1, 1]),
                   {(a, b): essential_matrix(rig[a].R, rig[a].t, rig[b].R, rig[b].t) for a, b in pairs}, xn, pix,
                   box_sizes(pix, s.min_confidence))
    chunk = max(1, 400_000 // (len(pairs) * P * P * J))
    with ThreadPoolExecutor(max(1, threads)) as pool:
        for found in pool.map(lambda start: views.clusters(start, min(start + chunk, F)), range(0, F, chunk)):
            for frame, cluster in found:
                out[frame].append(cluster)
    return out


def _verify_all(rig: CameraRig, cand: np.ndarray, picks: list[tuple[int, np.ndarray]], flip: np.ndarray,
                s: SubjectSettings) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Re-triangulate each cluster robustly from all its detections and keep those that agree with
    the result within the gate (a two-view proposal can be skewed enough to admit a detection of
    someone standing in front of the person); one batched triangulation for all clusters.
    ``cand`` (f, V, P, J, 3) in undistorted pixels; ``picks`` (frame in chunk, (V,) candidate per
    view). Returns per pick (views, centre) or None."""
    if not picks:
        return []
    undistorted = rig.without_distortion()
    kp = np.stack([cluster_members(cand[k], views, s.min_confidence) for k, views in picks])  # (n, V, J, 3)
    X = triangulate(undistorted, kp).keypoints3d  # (n, J, 4)
    found = X[..., 3] > 0
    proj = undistorted.project(X[..., :3])  # (V, n, J, 2)
    proj_size = box_sizes(np.concatenate([proj, np.broadcast_to(found[None, ..., None], proj.shape[:-1] + (1,))], -1),
                       0.5)  # (V, n)
    det_size = box_sizes(kp, s.min_confidence).T  # (V, n)
    d = mirror_distance(np.where(found[None, ..., None], np.moveaxis(kp, 1, 0), 0.0), proj, flip, s.min_confidence)
    size = np.minimum(det_size, np.where(proj_size > 0, proj_size, np.inf))
    agree = d < s.gate * size  # (V, n)
    results: list[tuple[np.ndarray, np.ndarray] | None] = []
    redo = []
    for n, (_, views) in enumerate(picks):
        members = views >= 0
        if members.sum() < 3:  # two views cannot outvote each other
            results.append((views, X[n]) if members.sum() >= s.min_views else None)
            continue
        kept = np.where(members & agree[:, n], views, -1)
        if (kept >= 0).sum() < s.min_views:
            results.append(None)
        elif (kept == views).all():
            results.append((views, X[n]))
        else:
            results.append((kept, None))
            redo.append(n)
    if redo:
        again = triangulate(undistorted, np.stack([cluster_members(cand[picks[n][0]], results[n][0], s.min_confidence)
                                                   for n in redo])).keypoints3d
        for n, Xn in zip(redo, again, strict=True):
            results[n] = (results[n][0], Xn)
    return [None if r is None else (r[0], _skeleton_centre(r[1])) for r in results]


def cluster_members(cand: np.ndarray, views: np.ndarray, min_confidence: float) -> np.ndarray:
    """(V, J, 3): each view's chosen detection of the cluster (zeros where none), joints below
    ``min_confidence`` left out."""
    kp = np.zeros((len(views),) + cand.shape[2:])
    members = np.flatnonzero(views >= 0)
    kp[members] = cand[members, views[members]]
    kp[..., 2] = np.where(kp[..., 2] > min_confidence, kp[..., 2], 0.0)
    return kp


def _skeleton_centre(X: np.ndarray) -> np.ndarray:
    """The median of a (J, 4) skeleton's found joints (the origin if none)."""
    found = X[:, 3] > 0
    return np.median(X[found, :3], axis=0) if found.any() else np.zeros(3)


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
                    options.append((gap, d, c, t))
        used_clusters: set[int] = set()
        for _, _, c, t in sorted(options):  # tracks seen most recently choose first, nearest first
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


def packed_candidates(candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Detector track ids come and go: each view-frame's detections packed to the front, so the
    work scales with the people present at once, not with every id ever seen.

    Returns (F, V, P', J, 3) packed candidates (P' the most detections of a view-frame, at least
    1), (F, V, P') the original index of each packed slot and (F, V, P) which candidates are detected."""
    if candidates.shape[2] == 0:
        candidates = np.zeros(candidates.shape[:2] + (1,) + candidates.shape[3:])
    detected = candidates[..., 2].max(-1) > 0  # (F, V, P)
    slots = np.argsort(~detected, axis=-1, kind="stable")  # (F, V, P) original index per packed slot
    packed_p = max(1, int(detected.sum(-1).max())) if detected.size else 1
    slots = slots[..., :packed_p]
    packed = np.take_along_axis(candidates, slots[..., None, None], axis=2)
    packed[~np.take_along_axis(detected, slots, axis=2)] = 0.0
    return packed, slots, detected


def choose_subject(rig: CameraRig, candidates: np.ndarray, *, skeleton: str = "body25", fps: float = 30.0,
                   settings: SubjectSettings | None = None, threads: int = 1) -> SubjectChoice:
    """The single subject's detections among ``(F, V, P, J, 3)`` candidates (module docstring);
    ``threads`` as :func:`cluster_frame_people`'s."""
    s = settings or SubjectSettings()
    candidates = np.asarray(candidates, dtype=np.float64)
    if candidates.ndim != 5 or candidates.shape[-1] != 3 or candidates.shape[1] != len(rig):
        raise ValueError(f"candidates must be (F, V={len(rig)}, P, J, 3), got {candidates.shape}")
    F, V, P, J = candidates.shape[:4]
    if P == 0:  # nobody detected anywhere: a documented, empty result
        candidates = np.zeros((F, V, 1, J, 3))
    packed, slots, detected = packed_candidates(candidates)
    packed_p = packed.shape[2]
    picked = np.full((F, V), -1, dtype=np.intp)
    if packed_p == 1 and V < 3:  # nothing to decide between; two views cannot outvote each other
        picked[packed[:, :, 0, :, 2].max(-1) > 0] = 0
        num_tracks = 1
    else:
        clusters = cluster_frame_people(rig, packed, skeleton, s, threads=threads)
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
