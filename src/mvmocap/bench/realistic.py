"""``mvmocap bench realistic``: a rendered capture with desynchronised cameras, a bystander, mixed
resolutions (portrait phones too), lens distortion and sensor noise, run through the real pipeline
(detection on the rendered frames, subject choice, sync, swap fixing, triangulation, fit).

Figures:
- ``sync_error_frames``: the largest |estimated - true| camera offset, in frames;
- ``heldout_px``: per camera, the subject reconstructed from the other cameras and projected into
  it, median distance to its own detections of the subject (a view-frame whose detection is
  left/right swapped is compared swapped back); the mean over cameras;
- ``heldout_px_dlt``: the same from plain confidence-weighted DLT on the same detections (the
  subject's, before synchronisation and swap fixing);
- ``mpjpe_mm``: the fitted body25 keypoints against the truth; ``triangulated_mpjpe_mm`` too;
- ``heldout_px_truth``: the same comparison against the projected truth instead of a
  reconstruction: the detector's own error, the scale ``heldout_px`` is to be read against (it
  is not a strict floor: where the detectors share a bias across views, a reconstruction of the
  detections lies nearer them than the truth does);
- ``detector_lag_frames``: per camera, the time shift (frames) that best aligns its detections of the
  limb joints with the projected truth: a view-dependent detector bias that follows the motion
  looks like a lag; ``sync_floor_frames`` is the largest difference of a camera's lag from the
  first camera's, the sync error a perfect estimator would still make on these detections;
- ``subject_switches``: view-frames whose assigned detection is nearer the bystander's projection
  than the subject's (both at that camera's own frame times: its frames show the scene then);
- ``seconds`` (the pipeline, without rendering the capture) and ``render_seconds``.

``--start-spread S`` runs the capture as if its cameras had been started up to ``S`` seconds apart
(``started_late_frames``: the leading frames each camera lost); each camera is read to its own
end, and ``mpjpe_mm`` covers the frames the run fits (from the first triangulated one to the last);
``heldout_px_dlt`` then pairs frames by number, seconds apart, and says only what no sync costs.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from mvmocap.associate import mirror_distance
from mvmocap.bodymodels import load_body_model
from mvmocap.skeletons import get_format
from mvmocap.sync import TIMING_JOINTS
from mvmocap.synthetic.realistic import RealisticSpec, make_realistic_capture, started_apart
from mvmocap.triangulate import detection_errors, heldout_errors, heldout_summary
from mvmocap.utils import InputError

__all__ = ["bench_realistic"]

_LAG_STEPS = np.round(np.arange(-1.0, 1.0 + 1e-9, 0.02), 2)  # trial detector lags, frames


def _own_frames(at_camera_times: dict[str, np.ndarray], cameras: list[str], frames: list[int]) -> list[np.ndarray]:
    """Per camera, the positions in ``frames`` of the frames that camera filmed (one started late
    has fewer: ``gt/camera_times.npz`` holds its frames only)."""
    frames = np.asarray(frames)
    return [np.flatnonzero(frames < len(at_camera_times[f"subject_{cam}"])) for cam in cameras]


def _subject_switches(rig, detections: np.ndarray, at_camera_times: dict[str, np.ndarray], frames: np.ndarray,
                      rows: list[np.ndarray]) -> int:
    """View-frames whose (F, V, J, 3) detection (each camera at its own frame times, ``frames`` of
    them, camera v's at the positions ``rows[v]``: :func:`_own_frames`) lies nearer the bystander's
    projection than the subject's, both at that camera's times."""
    if f"bystander_{rig.names[0]}" not in at_camera_times:
        return 0
    flip = get_format("body25").flip_index
    switches = 0
    for v, cam in enumerate(rig):
        own, at = detections[rows[v], v], frames[rows[v]]
        to_subject = mirror_distance(own, cam.project(at_camera_times[f"subject_{cam.name}"][at]), flip, 0.0)
        to_bystander = mirror_distance(own, cam.project(at_camera_times[f"bystander_{cam.name}"][at]), flip, 0.0)
        switches += int(((own[..., 2].max(-1) > 0) & (to_bystander < to_subject)).sum())
    return switches


def _truth_errors(rig, detections: np.ndarray, truth_at_camera: list[np.ndarray], rows: list[np.ndarray],
                  flip: np.ndarray) -> np.ndarray:
    """(F, V, J) distance of each camera's (F, V, J, 3) detections to its truth projected: camera v's
    (len(rows[v]), J, 3) truth at the positions ``rows[v]`` (NaN where it filmed nothing)."""
    table = np.full(detections.shape[:3], np.nan)
    for v, cam in enumerate(rig):
        valid = cam.world_to_camera(truth_at_camera[v])[..., 2] > 0
        table[rows[v], v] = detection_errors(detections[rows[v], v], cam.project(truth_at_camera[v]), valid, flip)
    return table


def _detector_lags(rig, detections: np.ndarray, truth_at_camera: list[np.ndarray],
                   rows: list[np.ndarray]) -> dict[str, float]:
    """Per camera, the shift d (frames) minimising the capped mean squared distance between its
    frame-k detections of the timing joints and the truth at k + d (linear between samples);
    ``truth_at_camera`` and ``rows`` as in :func:`_truth_errors`."""
    fmt = get_format("body25")
    joints = [fmt.index(n) for n in TIMING_JOINTS if n in fmt]
    lags = {}
    for v, cam in enumerate(rig):
        proj = cam.project(truth_at_camera[v])[:, joints]  # (F_v, J', 2)
        det = detections[rows[v], v][:, joints]
        F = len(proj)
        inner = np.arange(2, F - 2)  # every trial shift stays inside the truth samples
        cap = 0.02 * cam.image_diagonal
        costs = []
        for d in _LAG_STEPS:
            at = inner + d
            lo = np.floor(at).astype(int)
            w = (at - lo)[:, None, None]
            points = (1 - w) * proj[lo] + w * proj[lo + 1]
            ok = det[inner, :, 2] > 0.3
            e = np.linalg.norm(det[inner, :, :2] - points, axis=-1)[ok]
            costs.append(np.mean(np.minimum(e, cap) ** 2) if e.size else np.inf)
        lags[cam.name] = float(_LAG_STEPS[int(np.argmin(costs))])
    return lags


def bench_realistic(*, frames: int = 150, cameras: int = 5, seed: int = 0, data: str | Path | None = None,
                    model: str | None = None, exp: str | Path = "body", start_spread: float = 0.0) -> dict:
    """Render (or reuse ``data``, a capture made by :func:`make_realistic_capture`), run it with the
    body experiment ``exp`` and score it; returns the figures of the module docstring.

    ``start_spread``: seconds; every camera but the first starts up to this much late (leading
    frames dropped, :func:`started_apart`), as phones started by hand do, and the sync search range
    is widened to ``start_spread`` + 0.5 s."""
    from mvmocap.pipeline import RunOptions, run_experiment
    from mvmocap.pipeline.experiment import load_experiment

    experiment = load_experiment(exp)  # before the render: a wrong file is named at once
    if experiment.kind != "body":
        raise InputError(f"{exp}: a {experiment.kind} experiment; bench realistic runs body experiments")
    if start_spread < 0:
        raise InputError(f"--start-spread must be 0 or more seconds, got {start_spread}")
    dropped = {}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        if data is None:
            root = make_realistic_capture(Path(tmp) / "data", load_body_model(model),
                                          RealisticSpec(frames=frames, cameras=cameras, seed=seed))
        else:
            root = Path(data)
        if start_spread > 0:
            dropped = started_apart(root, Path(tmp) / "started_apart", start_spread)
            root = Path(tmp) / "started_apart"
            wider = max(experiment.sync.max_offset, start_spread + 0.5)
            experiment = dataclasses.replace(experiment, sync=dataclasses.replace(experiment.sync, max_offset=wider))
        render_seconds = time.perf_counter() - start
        start = time.perf_counter()
        run = run_experiment(RunOptions(root=root, out=Path(tmp) / "output", exp=exp, model=model, videos=False,
                                     sync="auto"), experiment)
        seconds = time.perf_counter() - start
        truth = np.load(root / "gt" / "params.npz")["keypoints3d"][np.asarray(run.frames)]  # the run's frames
        with np.load(root / "gt" / "camera_times.npz") as npz:
            at_camera_times = dict(npz)
        made = json.loads((root / "gt" / "offsets.json").read_text())
    true_offsets, fps = made["offsets"], made["spec"]["fps"]
    rig, prepared = run.rig, run.prepared
    sync_error = max(abs(prepared.offsets[c] - true_offsets[c]) for c in rig.names) * fps
    flip = get_format("body25").flip_index
    dlt = heldout_summary(heldout_errors(rig, prepared.raw, flip, robust=False, refine_iterations=0), rig.names)
    raw_frames = np.asarray(prepared.detections.frames)  # prepared.raw's: every camera's own frames
    rows = _own_frames(at_camera_times, rig.names, raw_frames)
    truth_at_camera = [at_camera_times[f"subject_{c}"][raw_frames[r]] for c, r in zip(rig.names, rows, strict=True)]
    floor = heldout_summary(_truth_errors(rig, prepared.raw, truth_at_camera, rows, flip), rig.names)
    lags = _detector_lags(rig, prepared.raw, truth_at_camera, rows)
    seen = run.keypoints3d[..., 3] > 0
    tri_err = np.linalg.norm(run.keypoints3d[..., :3] - truth, axis=-1)[seen]
    fit_err = np.linalg.norm(run.fit.keypoints - truth, axis=-1)
    return {
        "sync_error_frames": round(float(sync_error), 3),
        "heldout_px": round(float(run.report["heldout"]["heldout_px"]), 2),
        "heldout_px_dlt": round(float(dlt["heldout_px"]), 2),
        "heldout_px_truth": round(float(floor["heldout_px"]), 2),
        "sync_floor_frames": round(max(abs(lag - lags[rig.names[0]]) for lag in lags.values()), 2),
        "detector_lag_frames": lags,
        "heldout_per_camera": {c: round(v, 2) for c, v in run.report["heldout"]["per_camera"].items() if v},
        "heldout_dlt_per_camera": {c: round(v, 2) for c, v in dlt["per_camera"].items() if v},
        "mpjpe_mm": round(float(fit_err.mean() * 1000), 2),
        "triangulated_mpjpe_mm": round(float(tri_err.mean() * 1000), 2),
        "subject_switches": _subject_switches(rig, prepared.raw, at_camera_times, raw_frames, rows),
        "view_frames_assigned": run.report["subject"]["view_frames_assigned"],
        "left_right_fixed": run.report.get("left_right", {}).get("view_frames_fixed", 0),
        "offsets_frames": {c: round(prepared.offsets[c] * fps, 3) for c in rig.names},
        "true_offsets_frames": {c: round(true_offsets[c] * fps, 3) for c in rig.names},
        "seconds": round(seconds, 2), "render_seconds": round(render_seconds, 2),
        "frames": len(run.frames), "cameras": len(rig),
        "start_spread": start_spread, "started_late_frames": dropped,
    }
