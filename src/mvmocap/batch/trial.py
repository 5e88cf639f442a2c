"""One trial of ``mvmocap batch``: its run options, whether it is done, and the run itself.

Each trial is one ``mvmocap run`` into ``TRIAL/output`` (its own calibration and ``sync.yml``, or
the nearest parent's: :mod:`mvmocap.batch.trials`). A trial whose output holds a report made with
the same options (``output/.batch.json``) is skipped as done; an interrupted or changed one is run
again and its stage caches (detection) make that cheap. A trial's own failure comes back as a
failed result, never an exception.

Every trial's fit runs on one PyTorch thread, in a worker or in this process alike: the
optimiser's path depends on the thread count (a different count moved the fitted keypoints by up
to 2 mm), and so the results of ``--workers N`` equal a serial run's exactly.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass

import numpy as np

from mvmocap.batch.trials import Trial
from mvmocap.io.project_config import ProjectConfig
from mvmocap.utils import atomic_write_text, output_lock

__all__ = ["BatchOptions", "TrialResult", "is_done", "run_trial", "trial_run_options"]

log = logging.getLogger(__name__)
MARKER = ".batch.json"


@dataclass(frozen=True)
class BatchOptions:
    """What every trial is run with (keyword-only to build)."""

    exp: str | None = None  # None: body, or multi where the trial's Config.toml says multi_person = true
    model: str | None = None
    videos: bool = False

    def key(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrialResult:
    trial: str
    status: str  # "done", "skipped (done before)" or "failed"
    frames: int = 0
    cameras: int = 0
    reprojection_px: float | None = None
    heldout_px: float | None = None
    fit_error_mm: float | None = None
    seconds: float = 0.0
    error: str = ""


def _figures(report: dict) -> dict:
    frames = report.get("frames") or []
    return {"frames": frames[1] - frames[0] + 1 if frames else 0, "cameras": len(report.get("cameras", [])),
            "reprojection_px": report.get("triangulation", {}).get("mean_reprojection_error_px"),
            "heldout_px": report.get("heldout", {}).get("heldout_px"),
            "fit_error_mm": report.get("fit_error_mm")}


def trial_run_options(trial: Trial, options: BatchOptions, *, detect_workers: int = 1):
    """The :class:`~mvmocap.pipeline.RunOptions` of one trial and the Pose2Sim settings applied
    (``"file: key"``): the batch's options, with what the trial's ``Config.toml`` files say (frame
    range, frame rate, multi-person when ``--exp`` is not given). ``detect_workers``: the trial's
    cameras detected in this many processes (1: the batch runs trials side by side; 0: one per
    core, for trials run one after another); the same detections either way."""
    from mvmocap.pipeline import RunOptions

    project = trial.project or ProjectConfig()
    multi = options.exp is None and bool(project.multi_person)
    applied = project.named("frame_range", "frame_rate", *(["multi_person"] if multi else []))
    run = RunOptions(root=trial.root, out=trial.root / "output", exp=options.exp or ("multi" if multi else "body"),
                     model=options.model, calib=trial.calibration, keypoints=trial.keypoints, videos=options.videos,
                     sync_file=trial.sync, frames=project.frames, fps=project.fps, workers=detect_workers)
    return run, applied


def is_done(trial: Trial, options: BatchOptions) -> bool:
    """Whether the trial's output is a finished run made with ``options``."""
    out = trial.root / "output"
    try:
        return json.loads((out / MARKER).read_text()) == options.key() and (out / "report.json").is_file()
    except (OSError, ValueError):
        return False


def run_trial(trial: Trial, options: BatchOptions, *, detect_workers: int = 1) -> TrialResult:
    """Run one trial (or skip it when its output was made with ``options``; ``detect_workers``: as
    :func:`trial_run_options`); never raises for the trial's own problems: they come back as a failed
    result with the message."""
    start = time.perf_counter()
    out = trial.root / "output"
    marker = out / MARKER
    try:
        if is_done(trial, options):
            report = json.loads((out / "report.json").read_text())
            return TrialResult(trial.name, "skipped (done before)", **_figures(report))
        from mvmocap.console import log_to_file
        from mvmocap.pipeline import run_experiment
        from mvmocap.threads import single_threaded

        if trial.calibration is None:
            raise FileNotFoundError(f"{trial.root}: no calibration in the trial or the folders above it "
                                    "(intri.yml + extri.yml, a .toml or a .qca.txt, or a calibration/ sub-folder)")
        with single_threaded():  # module docstring
            run_options, applied = trial_run_options(trial, options, detect_workers=detect_workers)
            with output_lock(out), log_to_file(out / "log.txt"):
                if applied:
                    log.info("trial %s: from Pose2Sim's settings %s", trial.name, ", ".join(applied))
                run = run_experiment(run_options)
        report = {**run.report, "project_settings_used": applied}
        if hasattr(run, "fit"):  # a single-person run: how far the fitted body lies from the keypoints
            seen = run.keypoints3d[..., 3] > 0
            report["fit_error_mm"] = float(np.median(np.linalg.norm(run.fit.keypoints - run.keypoints3d[..., :3],
                                                                    axis=-1)[seen]) * 1000) if seen.any() else None
        atomic_write_text(out / "report.json", json.dumps(report, indent=1))
        atomic_write_text(marker, json.dumps(options.key()))
        return TrialResult(trial.name, "done", **_figures(report), seconds=round(time.perf_counter() - start, 2))
    except Exception as err:  # noqa: BLE001 - one trial's failure must not stop the batch
        log.error("trial %s failed: %s", trial.name, err)
        return TrialResult(trial.name, "failed", seconds=round(time.perf_counter() - start, 2),
                           error=f"{type(err).__name__}: {err}")
