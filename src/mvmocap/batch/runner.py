"""``mvmocap batch SESSION``: run every trial of a session (:mod:`mvmocap.batch.trial`), locally in
worker processes or on a Ray cluster (:mod:`mvmocap.batch.cluster`).

One failing trial is reported and the others go on. ``SESSION/batch_report.json`` and ``.csv``
hold one row per trial. Workers are separate processes (spawned), so a trial that crashes its
process is reported as failed instead of stopping the batch; every trial's fit runs on one
PyTorch thread, so the results of ``--workers N`` equal a serial run's exactly: use as many
workers as cores.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path

from mvmocap.batch.trial import BatchOptions, TrialResult, run_trial
from mvmocap.batch.trials import find_trials
from mvmocap.console import progress
from mvmocap.utils import InputError, atomic_write_text

__all__ = ["run_batch"]

log = logging.getLogger(__name__)
_COLUMNS = ("trial", "status", "frames", "cameras", "reprojection_px", "heldout_px", "fit_error_mm", "seconds",
            "error")


def _write_reports(session: Path, results: list[TrialResult]) -> None:
    rows = [asdict(r) for r in results]
    atomic_write_text(session / "batch_report.json", json.dumps(rows, indent=1))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(session / "batch_report.csv", buffer.getvalue())


def run_batch(session: str | Path, *, options: BatchOptions | None = None, workers: int = 1,
              ray: str | None = None) -> list[TrialResult]:
    """Run every trial of ``session`` with ``workers`` processes (1: in this process), or as tasks
    on the Ray cluster ``ray`` (an address, ``"auto"`` or ``"local"``: :mod:`mvmocap.batch.cluster`);
    returns the results in trial order and writes the session's reports."""
    session = Path(session).resolve()
    options = options or BatchOptions()
    from mvmocap.pipeline.experiment import load_experiment

    kind = load_experiment(options.exp).kind  # a bad experiment file fails before any trial
    if kind != "body":
        raise InputError(f"--exp {options.exp}: mvmocap batch runs body experiments; run each trial of a {kind} "
                         "experiment with mvmocap run TRIAL --exp ...")
    trials = find_trials(session)
    if not trials:
        raise FileNotFoundError(f"{session}: no trial found (a folder with videos/, images/, annots/, FreeMoCap's "
                                "synchronized_videos/ or two or more videos side by side)")
    log.info("batch: %d trials in %s, %s", len(trials), session, f"Ray ({ray})" if ray else f"{workers} worker(s)")
    results: dict[str, TrialResult] = {}
    with progress(len(trials), desc="batch", unit="trial") as bar:
        if ray:
            from mvmocap.batch.cluster import run_on_ray

            results = run_on_ray(trials, options, address=ray, on_result=lambda _: bar.update(1))
        elif workers <= 1:
            for trial in trials:
                results[trial.name] = run_trial(trial, options, detect_workers=0)  # cameras on every core
                bar.update(1)
        else:
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                futures = {pool.submit(run_trial, trial, options): trial for trial in trials}
                for future in as_completed(futures):
                    trial = futures[future]
                    try:
                        results[trial.name] = future.result()
                    except Exception as err:  # noqa: BLE001 - a worker process died
                        results[trial.name] = TrialResult(trial.name, "failed", error=f"worker lost: {err}")
                    bar.update(1)
    ordered = [results[t.name] for t in trials]
    _write_reports(session, ordered)
    return ordered
