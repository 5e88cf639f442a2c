"""``mvmocap batch SESSION --ray ADDRESS``: the trials of a session as Ray tasks.

One task per trial; inside it, one task per camera detects that camera's frames into the trial's
detection cache (``TRIAL/output/keypoints2d/<cam>``), so a long trial spreads over several
nodes; the trial's task then runs ``mvmocap run`` on it, which finds every camera done. Trials
with precomputed keypoints (``annots/``) or finished before skip the detection tasks. Results go
through the filesystem the session lives on: every node must see it at the same path, and have
mvmocap installed (``pip install 'mvmocap[ray]'``).

A task whose worker or node is lost is run again by Ray (up to ``RETRIES`` times): every stage
writes its outputs atomically and the detection cache keeps what was finished, so a retried
task resumes and gives the same result as an uninterrupted one.

``address``: ``"local"`` starts a Ray instance on this machine for the batch (its CPUs, shut
down after); ``"auto"`` joins the cluster this machine belongs to (``ray start --head`` or
``RAY_ADDRESS``); anything else is a cluster address (``ray://head:10001``, ``head:6379``).
"""

from __future__ import annotations

import builtins
import logging
import os
from collections.abc import Callable

from mvmocap.batch.trial import BatchOptions, TrialResult, is_done, run_trial, trial_run_options
from mvmocap.batch.trials import Trial
from mvmocap.utils import InputError

__all__ = ["RETRIES", "run_on_ray"]

log = logging.getLogger(__name__)

RETRIES = 3  # times Ray runs a lost task again


def _ray():
    os.environ.setdefault("RAY_TQDM_PATCH_PRINT", "0")  # Ray would replace builtins.print in this process
    try:
        import ray
    except ImportError:
        raise InputError("--ray needs Ray: pip install 'mvmocap[ray]'") from None
    return ray


def _detect_task(trial: Trial, options: BatchOptions, camera: str) -> int:
    from mvmocap.pipeline.inputs import detect_run_camera

    return detect_run_camera(trial_run_options(trial, options)[0], camera)


def _trial_task(trial: Trial, options: BatchOptions) -> TrialResult:
    """Detect the trial's cameras as parallel tasks (unless it is done or has no videos), then run it."""
    ray = _ray()
    if trial.keypoints is None and trial.calibration is not None and not is_done(trial, options):
        from mvmocap.pipeline.inputs import run_cameras

        try:
            cameras = run_cameras(trial_run_options(trial, options)[0])
            detect = ray.remote(max_retries=RETRIES)(_detect_task)
            ray.get([detect.remote(trial, options, camera) for camera in cameras])
        except Exception as err:  # noqa: BLE001 - run_trial meets the same problem and reports it
            log.warning("trial %s: detection tasks failed (%s); the trial's own run reports it", trial.name, err)
    return run_trial(trial, options)


def run_on_ray(trials: list[Trial], options: BatchOptions, *, address: str,
               on_result: Callable[[TrialResult], None]) -> dict[str, TrialResult]:
    """Run ``trials`` on the Ray cluster at ``address`` (module docstring); ``on_result`` is called
    with each result as it arrives. A trial lost more than ``RETRIES`` times is a failed result."""
    ray = _ray()
    started, print_function = not ray.is_initialized(), builtins.print
    if started:
        ray.init(address=None if address == "local" else address, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING)
    try:
        task = ray.remote(max_retries=RETRIES)(_trial_task)
        pending = {task.remote(trial, options): trial for trial in trials}
        results: dict[str, TrialResult] = {}
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            trial = pending.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as err:
                result = TrialResult(trial.name, "failed", error=f"lost on the Ray cluster: {type(err).__name__}")
                log.error("trial %s: %s", trial.name, result.error)
            results[trial.name] = result
            on_result(result)
        return results
    finally:
        if started:
            ray.shutdown()
        builtins.print = print_function
