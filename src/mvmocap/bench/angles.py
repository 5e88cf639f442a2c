"""``mvmocap bench angles``: joint angles and gait events of a rendered walk, run through the real
pipeline (detection on the rendered frames, sync, triangulation, fit), against the truth.

The truth is the generator's motion read through the same conventions: :func:`mvmocap.angles.joint_angles`
of the true body parameters, :func:`mvmocap.angles.gait.gait_events` of the true body's keypoints.
Figures:
- ``flexion_rmse_deg``: root mean square error of hip, knee and ankle flexion (both sides together);
- ``other_rmse_deg``: the same over every other angle (pelvis orientation, hip adduction and
  rotation, ankle inversion, trunk, shoulders, elbows); ``rmse_deg`` and ``bias_deg`` (the mean
  error) per angle;
- ``gait_event_err_frames``: mean |fitted - true| frame of each true heel strike and toe-off
  (matched to the fitted event of the same foot and kind nearest it); ``gait_event_max_err_frames``,
  ``gait_events_missed`` (no fitted event within 5 frames) and ``gait_events_extra``;
- ``stride_length_err``: the larger over the two feet of |fitted - true| / true mean stride length;
- ``seconds`` (the run, without rendering the capture) and ``render_seconds``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from mvmocap.angles import joint_angles
from mvmocap.angles.gait import GaitEvents, gait_events
from mvmocap.bodymodels import load_body_model
from mvmocap.synthetic.realistic import RealisticSpec, make_realistic_capture

__all__ = ["bench_angles"]

_FLEXIONS = tuple(f"{joint}_flexion_{side}" for joint in ("hip", "knee", "ankle") for side in ("l", "r"))
_MATCH_FRAMES = 5


def _event_errors(truth: GaitEvents, fitted: GaitEvents) -> tuple[list[int], int, int]:
    """|fitted - true| frames of each true event matched within ``_MATCH_FRAMES``, the true events
    missed and the fitted events matched to none."""
    errors, missed, extra = [], 0, 0
    for kind in ("heel_strikes", "toe_offs"):
        for side in ("l", "r"):
            true, got = getattr(truth, kind).get(side, []), list(getattr(fitted, kind).get(side, []))
            used = set()
            for frame in true:
                near = [g for g in got if abs(g - frame) <= _MATCH_FRAMES and g not in used]
                if not near:
                    missed += 1
                    continue
                best = min(near, key=lambda g: abs(g - frame))
                used.add(best)
                errors.append(abs(best - frame))
            extra += len(got) - len(used)
    return errors, missed, extra


def _stride_error(truth: GaitEvents, fitted: GaitEvents) -> float | None:
    errors = []
    for side in ("l", "r"):
        true = truth.summary.get("sides", {}).get(side, {}).get("stride_length_m")
        got = fitted.summary.get("sides", {}).get(side, {}).get("stride_length_m")
        if true and got is not None:
            errors.append(abs(got - true) / true)
    return round(max(errors), 4) if errors else None


def bench_angles(*, frames: int = 150, cameras: int = 5, seed: int = 0, model: str | None = None,
                 motion: str = "walk", data: str | Path | None = None) -> dict:
    """Render (or reuse ``data``, a capture of :func:`make_realistic_capture`) a ``motion``, run it
    with the body experiment and score its angles and gait events (module docstring)."""
    from mvmocap.pipeline import RunOptions, run_experiment

    body = load_body_model(model)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        root = Path(data) if data is not None else make_realistic_capture(
            Path(tmp) / "data", body, RealisticSpec(frames=frames, cameras=cameras, seed=seed, motion=motion))
        render_seconds = time.perf_counter() - start
        start = time.perf_counter()
        run = run_experiment(RunOptions(root=root, out=Path(tmp) / "output", model=model, videos=False, sync="auto"))
        seconds = time.perf_counter() - start
        with np.load(root / "gt" / "params.npz") as npz:
            rows = np.asarray(run.frames)
            truth = {k: np.asarray(npz[k], dtype=np.float64)[rows] for k in ("poses", "Rh", "Th", "keypoints3d")}
            truth["shapes"] = np.asarray(npz["shapes"], dtype=np.float64)
    fps = float(run.report["fps"])
    fit = {"poses": run.fit.poses, "shapes": run.fit.shapes, "Rh": run.fit.Rh, "Th": run.fit.Th}
    true_angles = joint_angles(body, truth, rows, fps)
    fitted_angles = joint_angles(run.model, fit, rows, fps)
    angles = [n for n in true_angles.names if n not in ("pelvis_tx", "pelvis_ty", "pelvis_tz")]
    error = {n: fitted_angles[n] - true_angles[n] for n in angles}
    rmse = {n: float(np.sqrt(np.mean(e ** 2))) for n, e in error.items()}
    flexion = np.concatenate([error[n] for n in _FLEXIONS])
    other = np.concatenate([error[n] for n in angles if n not in _FLEXIONS])
    true_gait, fitted_gait = gait_events(truth["keypoints3d"], fps), gait_events(run.fit.keypoints, fps)
    event_errors, missed, extra = _event_errors(true_gait, fitted_gait)
    return {
        "flexion_rmse_deg": round(float(np.sqrt(np.mean(flexion ** 2))), 2),
        "other_rmse_deg": round(float(np.sqrt(np.mean(other ** 2))), 2),
        "gait_event_err_frames": round(float(np.mean(event_errors)), 2) if event_errors else None,
        "gait_event_max_err_frames": max(event_errors) if event_errors else None,
        "gait_events_true": sum(len(v) for v in (*true_gait.heel_strikes.values(), *true_gait.toe_offs.values())),
        "gait_events_missed": missed, "gait_events_extra": extra,
        "stride_length_err": _stride_error(true_gait, fitted_gait),
        "stride_length_m": {s: v.get("stride_length_m") for s, v in fitted_gait.summary.get("sides", {}).items()},
        "rmse_deg": {n: round(v, 2) for n, v in rmse.items()},
        "bias_deg": {n: round(float(e.mean()), 2) for n, e in error.items()},
        "mpjpe_mm": round(float(np.linalg.norm(run.fit.keypoints - truth["keypoints3d"][..., :3], axis=-1).mean()
                                * 1000), 2),
        "motion": motion, "frames": len(rows), "cameras": len(run.rig), "model": run.model.name,
        "seconds": round(seconds, 2), "render_seconds": round(render_seconds, 2),
    }
