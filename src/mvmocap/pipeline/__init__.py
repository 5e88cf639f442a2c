"""Stage orchestration over files: what the ``mvmocap`` commands run."""

from mvmocap.pipeline.fitting import FitRun, run_fit, write_fit
from mvmocap.pipeline.triangulation import TriangulationRun, match_cameras, run_triangulation

__all__ = ["FitRun", "TriangulationRun", "match_cameras", "run_fit", "run_triangulation", "write_fit"]
