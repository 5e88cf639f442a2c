"""``mvmocap bench multi``: several Anny people walking across each other's paths, rendered by a ring
of cameras, run through the real pipeline (``mvmocap run --exp multi``: detection on the
rendered frames, association, tracking, triangulation, a fit per person) and scored against the truth.

Figures (each truth person is matched, frame by frame, to the run's person nearest them by an
optimal assignment on the mean joint distance, within 0.5 m):
- ``mpjpe_mm``: per truth person, the fitted body25 keypoints' mean error over their matched frames;
- ``pcp``: percentage of correct parts (Shelf / Campus): a part (head, torso, upper and lower
  arms and legs) is correct when the mean error of its two ends is at most half its length;
  over every truth person and frame where the person is visible (in front of two cameras);
- ``id_switches``: times a truth person's matched id changes between consecutive matched frames;
- ``missed_person_frames``: frames where a visible truth person is matched to nobody;
- ``association_fps``: frames per second of association and tracking alone (``track_people``) on
  5 people x 8 cameras of projected detections with occlusions (no rendering or detection);
- ``seconds`` (the run) and ``render_seconds``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from mvmocap.associate import track_people
from mvmocap.bodymodels import load_body_model
from mvmocap.skeletons import BODY25
from mvmocap.synthetic.multi import MultiSpec, make_multi_capture, multi_detections, people_keypoints
from mvmocap.synthetic.rigs import ring_rig

__all__ = ["association_fps", "bench_multi", "score_people", "visible_people"]

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


def association_fps(*, people: int = 5, cameras: int = 8, frames: int = 150, repeats: int = 3) -> float:
    """Frames per second of :func:`track_people` alone (module docstring); the median of ``repeats``."""
    spec = MultiSpec(people=people, cameras=cameras, frames=frames)
    rig = ring_rig(cameras, spec.radius, image_sizes=[spec.image_size] * cameras, distortion=spec.distortion)
    candidates = multi_detections(rig, people_keypoints(spec))
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        track_people(rig, candidates, fps=spec.fps)
        seconds.append(time.perf_counter() - start)
    return frames / float(np.median(seconds))


def bench_multi(*, people: int = 3, frames: int = 150, cameras: int = 6, seed: int = 0,
                data: str | Path | None = None, model: str | None = None) -> dict:
    """Render (or reuse ``data``, made by :func:`make_multi_capture`), run and score the scene."""
    from mvmocap.camera import load_calibration
    from mvmocap.pipeline.multi import run_multi
    from mvmocap.pipeline.stages import RunOptions

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        if data is None:
            root = make_multi_capture(Path(tmp) / "data", load_body_model(model),
                                      MultiSpec(people=people, frames=frames, cameras=cameras, seed=seed))
        else:
            root = Path(data)
        render_seconds = time.perf_counter() - start
        start = time.perf_counter()
        run = run_multi(RunOptions(root=root, out=Path(tmp) / "output", exp="multi", model=model, videos=False))
        seconds = time.perf_counter() - start
        truth = np.load(root / "gt" / "people.npz")["keypoints3d"]
        rig = load_calibration(root)
    scores = score_people(truth, visible_people(rig, truth), {p.id: (p.fit.keypoints, p.frames) for p in run.people},
                          run.frames)
    return {**scores, "people_found": len(run.people), "people": int(truth.shape[0]),
            "association_fps": round(association_fps(), 1), "seconds": round(seconds, 2),
            "render_seconds": round(render_seconds, 2), "frames": len(run.frames), "cameras": len(rig)}
