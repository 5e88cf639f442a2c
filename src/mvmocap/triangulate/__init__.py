"""Batched, confidence-weighted, robust triangulation with reprojection reports."""

from mvmocap.triangulate.report import reprojection_report
from mvmocap.triangulate.triangulate import Triangulation, triangulate, triangulate_dlt

__all__ = ["Triangulation", "reprojection_report", "triangulate", "triangulate_dlt"]
