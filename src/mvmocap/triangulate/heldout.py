"""Held-out reprojection: reconstruct each camera's points from the other cameras, project them into
it and compare with its own detections. The one quality measure a user can trust without ground
truth: a view never checks itself."""

from __future__ import annotations

import warnings

import numpy as np

from mvmocap.camera import CameraRig
from mvmocap.triangulate.triangulate import Observations, triangulate_observations

__all__ = ["detection_errors", "heldout_errors", "heldout_summary", "leave_one_out", "nan_median"]


def leave_one_out(rig: CameraRig, keypoints2d: np.ndarray, views: list[int] | None = None, **options) -> np.ndarray:
    """(F, V, J, 3) detections -> (V, F, J, 4): for each camera (of ``views``, default all), the
    points triangulated from all the *other* cameras (``options`` as for :func:`triangulate`; a
    per-camera ``threshold_px`` array is cut to the other cameras). Needs at least 3 cameras; with
    fewer, and for cameras not in ``views``, every point is missing."""
    kp = np.asarray(keypoints2d, dtype=np.float64)
    F, V, J = kp.shape[:3]
    out = np.zeros((V, F, J, 4))
    if V < 3:
        return out
    threshold = options.pop("threshold_px", 20.0)
    observations = Observations.of(rig, kp)  # undistorted once for every camera left out
    for v in range(V) if views is None else views:
        others = [i for i in range(V) if i != v]
        thr = threshold[others] if np.ndim(threshold) else threshold
        X, _, conf = triangulate_observations(observations.views(others), threshold_px=thr, **options)
        out[v] = np.concatenate([X, conf[:, None]], -1).reshape(F, J, 4)
    return out


def heldout_errors(rig: CameraRig, keypoints2d: np.ndarray, flip: np.ndarray | None = None,
                   views: list[int] | None = None, **options) -> np.ndarray:
    """(F, V, J) pixel distance between each detection and the projection of the same joint
    reconstructed without that camera; NaN where either is missing.

    ``flip``: the format's mirror index; given, a view-frame whose detection matches better with
    left and right swapped is compared swapped back (a swap is then not counted as error).
    ``views``: only these cameras (the others' columns stay NaN).
    """
    kp = np.asarray(keypoints2d, dtype=np.float64)
    ref = leave_one_out(rig, kp, views, **options)  # (V, F, J, 4)
    F, V, J = kp.shape[:3]
    err = np.full((F, V, J), np.nan)
    for v in range(V) if views is None else views:
        cam = rig[v]
        ok = (ref[v, ..., 3] > 0) & (cam.world_to_camera(ref[v, ..., :3])[..., 2] > 0)
        err[:, v] = detection_errors(kp[:, v], cam.project(ref[v, ..., :3]), ok, flip)
    return err


def detection_errors(detections: np.ndarray, projected: np.ndarray, valid: np.ndarray,
                     flip: np.ndarray | None = None) -> np.ndarray:
    """(F, J) pixel distance between one camera's (F, J, 3) detections and (F, J, 2) projected
    points, NaN where a detection is missing or ``valid`` (F, J) is false. ``flip`` given, a frame
    whose detection matches better with left and right swapped is compared swapped back."""
    seen = detections[..., 2] > 0
    d = np.where(valid & seen, np.linalg.norm(detections[..., :2] - projected, axis=-1), np.nan)
    if flip is None:
        return d
    d_flip = np.linalg.norm(detections[:, flip, :2] - projected, axis=-1)
    d_flip = np.where(valid & seen[:, flip], d_flip, np.nan)
    both = np.isfinite(d).any(-1) & np.isfinite(d_flip).any(-1)
    swapped = np.zeros(len(d), dtype=bool)
    swapped[both] = np.nanmedian(d_flip[both], -1) < np.nanmedian(d[both], -1)
    return np.where(swapped[:, None], d_flip, d)


def nan_median(values: np.ndarray, axis: int) -> np.ndarray:
    """The median over ``axis`` of the finite values, NaN where there is none (quietly)."""
    if values.shape[axis] == 0:
        return np.full(np.delete(values.shape, axis), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN slice is "not seen"
        return np.nanmedian(np.where(np.isfinite(values), values, np.nan), axis=axis)


def heldout_summary(errors: np.ndarray, cameras: list[str]) -> dict:
    """JSON-ready: median held-out error per camera (px) and their mean over cameras."""
    per_camera = {}
    for v, cam in enumerate(cameras):
        e = errors[:, v][np.isfinite(errors[:, v])]
        per_camera[cam] = float(np.median(e)) if e.size else None
    values = [x for x in per_camera.values() if x is not None]
    return {"heldout_px": float(np.mean(values)) if values else None, "per_camera": per_camera}
