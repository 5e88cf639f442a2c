"""Stage orchestration over files: what the ``mvmocap`` commands run."""

from mvmocap.pipeline.triangulation import TriangulationRun, match_cameras, run_triangulation

__all__ = ["TriangulationRun", "match_cameras", "run_triangulation"]
