"""``mvmocap run``: one run of any experiment kind, the one way into the runs of every kind.

:func:`run_experiment` checks the set-up once (dataset and output folders, experiment, options for
its kind, calibration: :func:`mvmocap.pipeline.stages.prepare_run`), holds the output folder's
lock, and hands the set-up to the run of the experiment's kind (:mod:`mvmocap.pipeline.run`,
:mod:`mvmocap.pipeline.hands`, :mod:`mvmocap.pipeline.bodyhands`, :mod:`mvmocap.pipeline.multi`),
each a short sequence of stages over one :class:`mvmocap.pipeline.context.RunContext`. This module
sits above them all, so that none of them imports another's caller.
"""

from __future__ import annotations

from contextlib import ExitStack

from mvmocap.console import log_to_file
from mvmocap.pipeline.bodyhands import run_body_hands
from mvmocap.pipeline.experiment import Experiment
from mvmocap.pipeline.hands import run_hands
from mvmocap.pipeline.multi import run_multi
from mvmocap.pipeline.options import RunOptions
from mvmocap.pipeline.run import run_body
from mvmocap.pipeline.stages import prepare_run
from mvmocap.report import write_report_page
from mvmocap.utils import output_lock

__all__ = ["run_experiment"]

_RUNS = {"body": run_body, "hands": run_hands, "body+hands": run_body_hands, "multi": run_multi}


def run_experiment(options: RunOptions, experiment: Experiment | None = None, *, log_file: bool = False):
    """``mvmocap run``: the experiment's kind picks the run (``body``, ``body+hands``: a
    :class:`RunOutput`; ``hands``: one per hand side; ``multi``: a :class:`MultiOutput`), holding
    the output folder's lock (:func:`mvmocap.utils.output_lock`) throughout, and writes the run's
    page ``OUT/report.html`` last; with ``log_file`` the run's log also goes to ``OUT/log.txt``.
    Every check of the set-up comes first, before the lock creates the output folder."""
    setup = prepare_run(options, experiment)
    with ExitStack() as stack:
        stack.enter_context(output_lock(options.output))  # one run writes an output folder at a time
        if log_file:
            stack.enter_context(log_to_file(options.output / "log.txt"))
        result = _RUNS[setup.experiment.kind](setup)
        write_report_page(options.output)  # OUT/report.html, from the files the run wrote
        return result
