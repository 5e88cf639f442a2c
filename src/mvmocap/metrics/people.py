"""Several people reconstructed against the truth: matched frame by frame, scored as the
multi-person literature does (MPJPE per person, PCP, identity switches, people missed)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from mvmocap.skeletons import BODY25

__all__ = ["score_people", "visible_people"]

_MATCH_M = 0.5  # a run's person within this mean joint distance of a truth person can be them
_PARTS = [("Neck", "Nose"), ("Neck", "MidHip"), *((s + a, s + b) for s in "LR" for a, b in
                                                 (("Shoulder", "Elbow"), ("Elbow", "Wrist"), ("Hip", "Knee"),
                                                  ("Knee", "Ankle")))]


def score_people(truth: np.ndarray, visible: np.ndarray, estimates: dict[int, tuple[np.ndarray, list[int]]],
                 frames: list[int]) -> dict:
    """The figures of the module docstring from (N, F, 25, 3) truth, (N, F) visibility and the
    run's people ``{id: ((F_id, 25, 3) keypoints, the id's frame numbers)}`` over ``frames``."""
    N, F = truth.shape[:2]
    index = {f: k for k, f in enumerate(frames)}
    est = {pid: np.full((F, 25, 3), np.nan) for pid in estimates}
    for pid, (kp, own) in estimates.items():
        est[pid][[index[f] for f in own]] = kp[..., :3]
    ids = sorted(est)
    matched = np.full((N, F), -1)
    for f in range(F):
        present = [pid for pid in ids if np.isfinite(est[pid][f]).all()]
        if not present:
            continue
        cost = np.array([[np.linalg.norm(est[pid][f] - truth[n, f], axis=-1).mean() for pid in present]
                         for n in range(N)])
        rows, cols = linear_sum_assignment(np.where(cost < _MATCH_M, cost, 1e6))
        for n, c in zip(rows, cols, strict=True):
            if cost[n, c] < _MATCH_M:
                matched[n, f] = present[c]
    switches, mpjpe = 0, {}
    parts = np.array([(BODY25.index(a), BODY25.index(b)) for a, b in _PARTS])
    correct = total = 0
    for n in range(N):
        run = matched[n][matched[n] >= 0]
        switches += int((np.diff(run) != 0).sum())
        errors = [np.linalg.norm(est[matched[n, f]][f] - truth[n, f], axis=-1) for f in range(F) if matched[n, f] >= 0]
        mpjpe[str(n)] = round(float(np.mean(errors) * 1000), 2) if errors else None
        for f in np.flatnonzero(visible[n]):
            total += len(parts)
            if matched[n, f] < 0:
                continue
            e = np.linalg.norm(est[matched[n, f]][f] - truth[n, f], axis=-1)
            length = np.linalg.norm(truth[n, f, parts[:, 0]] - truth[n, f, parts[:, 1]], axis=-1)
            correct += int(((e[parts[:, 0]] + e[parts[:, 1]]) / 2 <= 0.5 * length).sum())
    return {"mpjpe_mm": mpjpe, "pcp": round(100.0 * correct / max(total, 1), 2), "id_switches": switches,
            "missed_person_frames": int((visible & (matched < 0)).sum())}


def visible_people(rig, truth: np.ndarray) -> np.ndarray:
    """(N, F): the person's MidHip projects inside the image of at least two cameras."""
    hip = truth[:, :, BODY25.index("MidHip")]
    count = np.zeros(hip.shape[:2], dtype=int)
    for cam in rig:
        uv = cam.project(hip)
        w, h = cam.image_size
        count += (cam.world_to_camera(hip)[..., 2] > 0) & (uv[..., 0] >= 0) & (uv[..., 0] < w) & (uv[..., 1] >= 0) \
            & (uv[..., 1] < h)
    return count >= 2
