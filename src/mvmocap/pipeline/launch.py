"""``mvmocap run``: one run of any experiment kind, holding its output folder's lock.

The runs of each kind (:mod:`mvmocap.pipeline.run`, :mod:`mvmocap.pipeline.hands`,
:mod:`mvmocap.pipeline.bodyhands`, :mod:`mvmocap.pipeline.multi`) build on
:mod:`mvmocap.pipeline.stages`; this module sits above them all, so that none of them imports
another's caller.
"""

from __future__ import annotations

from mvmocap.pipeline.bodyhands import run_body_hands
from mvmocap.pipeline.experiment import Experiment, load_experiment
from mvmocap.pipeline.hands import run_hands
from mvmocap.pipeline.multi import run_multi
from mvmocap.pipeline.options import RunOptions
from mvmocap.pipeline.run import run_capture
from mvmocap.pipeline.stages import check_folders
from mvmocap.utils import output_lock

__all__ = ["run_experiment"]

_RUNS = {"body": run_capture, "hands": run_hands, "body+hands": run_body_hands, "multi": run_multi}


def run_experiment(options: RunOptions, experiment: Experiment | None = None):
    """``mvmocap run``: the experiment's kind picks the run (``body``, ``body+hands``: a
    :class:`RunOutput`; ``hands``: one per hand side; ``multi``: a :class:`MultiOutput`), holding
    the output folder's lock (:func:`mvmocap.utils.output_lock`) throughout."""
    experiment = experiment or load_experiment(options.exp)
    run = _RUNS[experiment.kind]
    check_folders(options)  # before the lock creates the output folder
    with output_lock(options.output):  # one run writes an output folder at a time
        return run(options, experiment)
