"""Stage orchestration over files: what the ``mvmocap`` commands run."""

from mvmocap.pipeline.fitting import FitRun, run_fit, write_fit
from mvmocap.pipeline.launch import run_experiment
from mvmocap.pipeline.options import RunOptions
from mvmocap.pipeline.run import RunOutput
from mvmocap.pipeline.triangulation import TriangulationRun, match_cameras, run_triangulation

__all__ = [
    "FitRun",
    "RunOptions",
    "RunOutput",
    "TriangulationRun",
    "match_cameras",
    "run_experiment",
    "run_fit",
    "run_triangulation",
    "write_fit",
]
