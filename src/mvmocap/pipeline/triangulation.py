"""The triangulation stage over files: calibration + 2D keypoint folders -> keypoints3d/."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from mvmocap.camera import CameraRig, load_calibration
from mvmocap.camera.naming import NameMatchError, match_names
from mvmocap.io import DataError, MultiViewKeypoints, list_camera_folders, read_keypoints2d, write_keypoints3d
from mvmocap.skeletons import get_format
from mvmocap.triangulate import TriangulateSettings, Triangulation, reprojection_report, triangulate
from mvmocap.utils import atomic_write_text

__all__ = ["TriangulationRun", "input_names", "match_cameras", "rig_named_as", "run_triangulation",
           "triangulate_sequence"]

log = logging.getLogger(__name__)


@dataclass
class TriangulationRun:
    """What :func:`run_triangulation` produced."""

    rig: CameraRig
    keypoints: MultiViewKeypoints
    result: Triangulation
    report: dict
    out: Path


def input_names(known: list[str], found: list[str], where: Path) -> dict[str, str]:
    """``{known name: the inputs' name}`` for the calibration's cameras ``known`` that the inputs
    ``found`` (videos, image or keypoint folders) name otherwise, where the names differ only in
    form (:mod:`mvmocap.camera.naming`: ``cam01`` for ``cam1``...), with a line saying how; names
    that match only partly are an error naming ``where`` and listing both sides."""
    try:
        pairs, how = match_names(known, found)
    except NameMatchError as err:
        raise DataError(where, f"the calibration's cameras {known} and the inputs' {found} do not match: {err}. "
                               "Rename one side, or use --cams") from None
    renamed = {k: name for name, k in pairs.items() if name != k}
    if renamed:
        log.info("cameras matched by %s: %s", how,
                 ", ".join(f"calibration {k} = input {v}" for k, v in renamed.items()))
    return renamed


def rig_named_as(rig: CameraRig, found: list[str], calib_path: Path) -> CameraRig:
    """``rig`` with its cameras named as the inputs ``found`` name them (:func:`input_names`)."""
    renamed = input_names(rig.names, found, calib_path)
    return CameraRig([replace(c, name=renamed.get(c.name, c.name)) for c in rig]) if renamed else rig


def match_cameras(
    rig: CameraRig, keypoint_cameras: list[str], calib_path: Path, requested: list[str] | None
) -> CameraRig:
    """The rig of the cameras to use, named as the inputs name them (:func:`rig_named_as`), in rig
    order when not requested explicitly.

    A camera with keypoints but no calibration is an error (it cannot be used); a calibrated
    camera without keypoints is skipped with a warning.
    """
    rig = rig_named_as(rig, keypoint_cameras, calib_path)
    return rig.subset(_chosen_names(rig, keypoint_cameras, calib_path, requested))


def _chosen_names(rig: CameraRig, keypoint_cameras: list[str], calib_path: Path,
                  requested: list[str] | None) -> list[str]:
    if requested:
        unknown = [c for c in requested if c not in rig]
        if unknown:
            raise DataError(calib_path, f"cameras {unknown} requested but not calibrated; calibrated: {rig.names}")
        absent = [c for c in requested if c not in keypoint_cameras]
        if absent:
            raise DataError(calib_path.parent, f"cameras {absent} requested but have no keypoint folder")
        return list(requested)
    uncalibrated = [c for c in keypoint_cameras if c not in rig]
    if uncalibrated:
        raise DataError(
            calib_path,
            f"keypoint folders {uncalibrated} have no calibration here (calibrated: {rig.names}); "
            "add them to the calibration or pick cameras with --cams",
        )
    unused = [c for c in rig.names if c not in keypoint_cameras]
    if unused:
        log.warning("calibrated cameras %s have no keypoint folder; triangulating without them", unused)
    return [c for c in rig.names if c in keypoint_cameras]


_FIXED_THRESHOLD = TriangulateSettings(threshold_px=20.0)  # mvmocap triangulate: --threshold 20 px


def run_triangulation(data: str | Path, keypoints: str | Path, out: str | Path, *, calib: str | Path | None = None,
                      cameras: list[str] | None = None, person: int | None = None, common_frames: bool = False,
                      settings: TriangulateSettings = _FIXED_THRESHOLD) -> TriangulationRun:
    """``mvmocap triangulate``: read the calibration (``calib``, default ``data``) and the 2D
    keypoints of ``cameras`` (default: every camera with keypoints), triangulate ``person``
    (default: the most confidently detected) as ``settings`` say (robust or plain, the inlier
    threshold, the views a joint needs), write ``out/keypoints3d/<frame>.json`` and
    ``out/triangulation_report.json``. Returns the arrays and report for further stages."""
    data, keypoints, out = Path(data), Path(keypoints), Path(out)
    calib_path = Path(calib) if calib is not None else data
    rig = match_cameras(load_calibration(calib_path), list_camera_folders(keypoints), calib_path, cameras)
    names = rig.names
    if len(names) < 2:
        raise DataError(keypoints, f"need at least 2 cameras with keypoints and calibration, found {names}")
    if settings.min_views > len(names):
        raise DataError(keypoints, f"--min-views {settings.min_views} but only {len(names)} cameras {names}: every "
                                   "joint would be missing; lower --min-views")
    seq = read_keypoints2d(keypoints, names, common_frames=common_frames)
    if person is not None and person not in seq.people:
        raise DataError(keypoints, f"no person {person}; ids present: {sorted(seq.people)}")
    seq = MultiViewKeypoints(seq.cameras, seq.frames, {0: seq.person(person)}, seq.skeleton, seq.times)
    rig = rig.subset(names)
    return triangulate_sequence(rig, seq, out, robust=settings.robust, threshold_px=settings.thresholds(rig),
                                min_views=settings.min_views)


def triangulate_sequence(rig: CameraRig, seq: MultiViewKeypoints, out: Path, *, robust: bool = True,
                         threshold_px: float | np.ndarray = 20.0, min_views: int = 2) -> TriangulationRun:
    """Triangulate person 0 of ``seq`` (cameras in ``rig`` order; ``threshold_px`` one value or
    one per camera), write ``out/keypoints3d/`` and ``out/triangulation_report.json``."""
    kp2d = seq.person(0)
    fmt = get_format(seq.skeleton)
    names = rig.names
    start = time.perf_counter()
    result = triangulate(rig, kp2d, robust=robust, threshold_px=threshold_px, min_views=min_views)
    seconds = time.perf_counter() - start
    report = reprojection_report(result, names, list(fmt.joints))
    thresholds = np.broadcast_to(np.asarray(threshold_px, dtype=float), (len(names),))
    report.update({"skeleton": fmt.name, "cameras": names, "seconds": seconds, "robust": robust,
                   "threshold_px": {n: round(float(t), 2) for n, t in zip(names, thresholds, strict=True)}})
    write_keypoints3d(out / "keypoints3d", result.keypoints3d, seq.frames)
    atomic_write_text(out / "triangulation_report.json", json.dumps(report, indent=2))
    log.info("triangulated %d frames x %d joints from %d cameras in %.2f s; mean reprojection error %.2f px, "
             "%.1f%% joints missing", len(kp2d), fmt.num_joints, len(names), seconds,
             report["mean_reprojection_error_px"], 100 * report["missing_fraction"])
    return TriangulationRun(rig, seq, result, report, out)
