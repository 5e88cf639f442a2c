"""Summaries of a triangulation: reprojection errors per camera and per joint, missing joints."""

from __future__ import annotations

import numpy as np

from mvmocap.triangulate.triangulate import Triangulation

__all__ = ["reprojection_report"]


def _mean(values: np.ndarray, mask: np.ndarray, axis) -> np.ndarray:
    count = mask.sum(axis)
    total = np.where(mask, values, 0.0).sum(axis)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def reprojection_report(result: Triangulation, cameras: list[str], joints: list[str]) -> dict:
    """JSON-ready summary of a ``(F, ...)`` triangulation.

    Returns per-camera and per-joint mean reprojection error (px) over the observations used,
    the fraction of each camera's observations rejected as outliers, missing-joint counts and
    the frames (indices) where more than half the joints are missing.
    """
    err = result.reprojection_error.reshape(-1, len(cameras), len(joints))
    used = result.views_used.reshape(err.shape)
    seen = np.isfinite(err) | used
    missing = result.missing.reshape(-1, len(joints))
    rejected = seen & ~used
    per_camera_err = _mean(err, used, (0, 2))
    per_joint_err = _mean(err, used, (0, 1))
    seen_per_cam = seen.sum((0, 2))
    report = {
        "frames": int(err.shape[0]),
        "mean_reprojection_error_px": float(_mean(err, used, (0, 1, 2))),
        "missing_fraction": float(missing.mean()) if missing.size else 0.0,
        "per_camera": {
            cam: {
                "reprojection_error_px": _finite(per_camera_err[v]),
                "observations": int(seen_per_cam[v]),
                "rejected_fraction": float(rejected[:, v].sum() / max(seen_per_cam[v], 1)),
            }
            for v, cam in enumerate(cameras)
        },
        "per_joint": {
            joint: {"reprojection_error_px": _finite(per_joint_err[j]), "missing_frames": int(missing[:, j].sum())}
            for j, joint in enumerate(joints)
        },
        "frames_mostly_missing": np.flatnonzero(missing.mean(1) > 0.5).tolist(),
    }
    return report


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None
