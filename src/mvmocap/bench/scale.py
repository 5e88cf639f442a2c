"""``mvmocap bench scale``: a long, wide capture through everything after detection.

A synthetic capture of ``cameras`` cameras x ``minutes`` minutes (the generator's mixed motion,
cameras out of step by up to 0.1 s, 2 px noise, 10% outliers, 5% dropouts) is written as 2D
detections (``annots/``, one file per camera and frame: what the detection cache holds; no
rendering, detection's own cost is ``bench pipeline``'s) and run with ``mvmocap run --keypoints
--sync auto --no-video``: reading the detections, sync, subject choice, triangulation, the windowed
fit, joint angles, the run's page; then exported to BVH, glTF, TRC, C3D and AMASS.

Figures: ``seconds`` (the run and the exports, not the capture's making), ``stage_seconds`` (each
stage of the run, and ``export``; the rest of ``seconds`` is reading the detections), ``peak_rss_mb``
(the process's peak resident memory, Linux ``ru_maxrss``: the capture's making included),
``synth_seconds``, ``sync_error_frames`` (the largest |estimated - true| offset),
``triangulated_mpjpe_mm`` (triangulated keypoints against the truth), ``fit_mpjpe_mm`` (the fitted
body's keypoints against the triangulated ones: the fit followed the whole capture).
Growth with the capture's size: run it at several sizes (each in its own process: the peak is the
process's).
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from mvmocap.synthetic.capture import make_capture, write_capture

__all__ = ["bench_scale"]

_EXPORTS = ("motion.bvh", "body.glb", "markers.trc", "markers.c3d", "amass.npz")


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def bench_scale(*, cameras: int = 9, minutes: float = 3.0, fps: float = 30.0, seed: int = 0,
                model: str | None = None) -> dict:
    """Make, run and export the capture of the module docstring; returns its figures."""
    from mvmocap.export import export_run
    from mvmocap.pipeline import RunOptions, run_experiment

    frames = int(round(minutes * 60 * fps))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        capture = make_capture(frames=frames, cameras=cameras, fps=fps, motion="mixed", max_time_offset=0.1,
                               seed=seed)
        root = write_capture(capture, Path(tmp) / "data")
        synth_seconds = time.perf_counter() - start
        out = Path(tmp) / "output"
        start = time.perf_counter()
        run = run_experiment(RunOptions(root=root, out=out, keypoints=root / "annots", sync="auto", videos=False,
                                        model=model))
        run_seconds = time.perf_counter() - start
        start = time.perf_counter()
        for name in _EXPORTS:
            if name.endswith(".npz") and run.model.name == "anny":
                continue  # AMASS holds SMPL-family parameters
            export_run(out, out / "exports" / name)
        export_seconds = time.perf_counter() - start
    offsets = {c: entry["offset"] for c, entry in run.report["sync"]["cameras"].items()}
    true = dict(zip(capture.rig.names, capture.time_offsets.tolist(), strict=True))
    sync_error = max(abs(offsets[c] - true[c]) for c in capture.rig.names) * fps
    rows = np.asarray(run.frames)
    seen = run.keypoints3d[..., 3] > 0
    triangulated = np.linalg.norm(run.keypoints3d[..., :3] - capture.points3d[rows], axis=-1)[seen]
    fitted = np.linalg.norm(run.fit.keypoints - run.keypoints3d[..., :3], axis=-1)[seen]
    stages = {k: round(v, 2) for k, v in run.timings.items()}
    stages["export"] = round(export_seconds, 2)
    return {"seconds": round(run_seconds + export_seconds, 2), "peak_rss_mb": _peak_rss_mb(),
            "stage_seconds": stages, "cameras": cameras, "minutes": minutes, "frames": frames, "fps": fps,
            "view_frames": frames * cameras, "synth_seconds": round(synth_seconds, 2),
            "sync_error_frames": round(float(sync_error), 3),
            "triangulated_mpjpe_mm": round(float(triangulated.mean() * 1000), 2),
            "fit_mpjpe_mm": round(float(fitted.mean() * 1000), 2), "model": run.model.name}
