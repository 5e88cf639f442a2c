"""Stage orchestration over files: what the ``mvmocap`` commands run.

The names below are imported on first use (PEP 562), so that ``mvmocap.pipeline.options`` and the
command line load without PyTorch: a detection worker process, which imports the program's main
module, then starts in about 1 s instead of 2.7.
"""

from importlib import import_module

_WHERE = {
    "FitRun": "fitting",
    "RunOptions": "options",
    "RunOutput": "run",
    "TriangulationRun": "triangulation",
    "match_cameras": "triangulation",
    "run_experiment": "launch",
    "run_fit": "fitting",
    "run_triangulation": "triangulation",
    "write_fit": "fitting",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
