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

from mvmocap.associate import track_people
from mvmocap.bodymodels import load_body_model
from mvmocap.metrics import score_people, visible_people
from mvmocap.synthetic.multi import MultiSpec, make_multi_capture, multi_detections, people_keypoints
from mvmocap.synthetic.rigs import ring_rig

__all__ = ["association_fps", "bench_multi"]


def association_fps(*, people: int = 5, cameras: int = 8, frames: int = 150, repeats: int = 3) -> float:
    """Frames per second of :func:`track_people` alone (module docstring); the median of ``repeats``."""
    spec = MultiSpec(people=people, cameras=cameras, frames=frames)
    rig = ring_rig(cameras, spec.radius, image_size=[spec.image_size] * cameras, distortion=spec.distortion)
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
    from mvmocap.pipeline import run_experiment
    from mvmocap.pipeline.options import RunOptions

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        if data is None:
            root = make_multi_capture(Path(tmp) / "data", load_body_model(model),
                                      MultiSpec(people=people, frames=frames, cameras=cameras, seed=seed))
        else:
            root = Path(data)
        render_seconds = time.perf_counter() - start
        start = time.perf_counter()
        run = run_experiment(RunOptions(root=root, out=Path(tmp) / "output", exp="multi", model=model, videos=False))
        seconds = time.perf_counter() - start
        truth = np.load(root / "gt" / "people.npz")["keypoints3d"]
        rig = load_calibration(root)
    scores = score_people(truth, visible_people(rig, truth), {p.id: (p.fit.keypoints, p.frames) for p in run.people},
                          run.frames)
    return {**scores, "people_found": len(run.people), "people": int(truth.shape[0]),
            "association_fps": round(association_fps(), 1), "seconds": round(seconds, 2),
            "render_seconds": round(render_seconds, 2), "frames": len(run.frames), "cameras": len(rig)}
