"""``OUT/quality.npz``: each camera's quality frame by frame, what the run report plots
(:mod:`mvmocap.report.page`): ``frames`` (F,), ``cameras`` (V,), ``detections`` (F, V) people
detected, ``heldout_px`` (F, V) the median over joints of the held-out error (the person
reconstructed from the other cameras, projected into this one; a multi-person run: the median over
the people there), ``reprojection_px`` (F, V) the same for the triangulation's own reprojection
error, ``left_right_fixed`` (F, V) bool; NaN where nobody is seen."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mvmocap.io import MultiViewKeypoints, write_params_npz
from mvmocap.triangulate import nan_median

__all__ = ["people_detected", "per_frame", "write_quality"]


def people_detected(seq: MultiViewKeypoints) -> np.ndarray:
    """(F, V) how many detector tracks have a keypoint in each view-frame of ``seq``."""
    seen = np.zeros((len(seq.frames), len(seq.cameras)), np.int32)
    for person in seq.people.values():
        seen += (person[..., 2] > 0).any(-1)
    return seen


def per_frame(errors: np.ndarray) -> np.ndarray:
    """(F, V, J) errors (NaN: none) -> (F, V) their median over joints."""
    return nan_median(errors, -1)


def write_quality(out: Path, *, frames: list[int], cameras: list[str], detections: np.ndarray, heldout_px: np.ndarray,
                  reprojection_px: np.ndarray, left_right_fixed: np.ndarray) -> None:
    """Write the module docstring's file (atomically)."""
    write_params_npz(out / "quality.npz", {
        "frames": np.asarray(frames), "cameras": np.asarray(cameras), "detections": np.asarray(detections, np.int32),
        "heldout_px": np.asarray(heldout_px, np.float64), "reprojection_px": np.asarray(reprojection_px, np.float64),
        "left_right_fixed": np.asarray(left_right_fixed, bool)})
