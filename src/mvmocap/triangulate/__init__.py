"""Batched, confidence-weighted, robust triangulation with reprojection reports."""

from mvmocap.triangulate.heldout import detection_errors, heldout_errors, heldout_summary, leave_one_out, nan_median
from mvmocap.triangulate.report import reprojection_report
from mvmocap.triangulate.settings import TriangulateSettings
from mvmocap.triangulate.triangulate import Triangulation, triangulate, triangulate_dlt

__all__ = [
    "TriangulateSettings",
    "Triangulation",
    "detection_errors",
    "heldout_errors",
    "heldout_summary",
    "nan_median",
    "leave_one_out",
    "reprojection_report",
    "triangulate",
    "triangulate_dlt",
]
