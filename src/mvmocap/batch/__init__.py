"""Many captures: ``mvmocap batch SESSION`` over a session's trials (see :mod:`mvmocap.batch.runner`)."""

from mvmocap.batch.runner import run_batch
from mvmocap.batch.trial import BatchOptions, TrialResult, run_trial
from mvmocap.batch.trials import Trial, find_trials

__all__ = ["BatchOptions", "Trial", "TrialResult", "find_trials", "run_batch", "run_trial"]
