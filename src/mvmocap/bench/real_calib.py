"""``mvmocap bench real-calib --data DIR``: calibration on real recordings against another tool's.

Each folder under ``DIR`` (or ``DIR`` itself) is checked by its layout:

- **caliscope session** (``caliscope_camera_array.toml``, ``caliscope_charuco.toml``,
  ``videos/``): board intrinsics from the videos (``focal_rel_err``: |mean of fx, fy| vs
  caliscope's, per camera, with the views used, ``focal_rel_std``, the fit's own standard
  deviation, and ``focal_uncertainty``, the larger of it and a jackknife over the views) and board
  extrinsics with caliscope's intrinsics (``baseline_err_mm``: the distance between two camera
  centres vs caliscope's, ``rel_rot_deg``: the angle between the two tools'
  relative rotations of the pair; medians over every pair), and the frames where the board was
  found per camera next to those where plain OpenCV finds it (``detectBoard`` with inverted
  markers allowed), ``found_vs_plain`` the ratio.
- **a capture with a reference rig** (a calibration file in ``calibration/`` or the folder, and
  ``videos/``): cameras from people with the reference's intrinsics, with the person's height
  given and without, against the reference after a similarity alignment (``people_centre_err_m``
  and ``people_rot_err_deg``: medians over cameras, ``people_scale_ratio``: the found layout's size
  over the reference's). The height given is ``--height``, or else the subject's height measured
  with the reference rig (the same bone chain :mod:`mvmocap.calib.people` uses), so that it checks
  the calibration, not the height formula. ``reference_heldout_px``: how well the reference rig
  itself predicts each camera's detections of the subject from the other cameras, next to the
  people rig's (its ``checks.heldout_px``). A reference made on another day may no longer match
  the videos, so ``reference_refined`` says how far the reference's poses move when refined to the
  people in the videos (:func:`mvmocap.pipeline.calibration.run_calib_refine`: ``moved_centre_m``,
  ``moved_rot_deg``, medians over cameras) and how far the people rig, made without the reference's
  poses, is from that refined rig (``people_centre_err_m``, ``people_rot_err_deg``).

Outputs (the detection cache included) go to ``--work`` (default a temporary folder); the
recordings are only read.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from mvmocap.associate import choose_subject
from mvmocap.calib.boards import BoardSpec, read_board_file
from mvmocap.calib.people import measured_height
from mvmocap.camera import CalibrationError, CameraRig, load_calibration, write_intrinsics
from mvmocap.io import FrameSource, list_video_cameras, read_keypoints2d
from mvmocap.metrics import pair_errors, similarity_errors
from mvmocap.pipeline.calibration import (
    run_calib_extrinsics,
    run_calib_intrinsics,
    run_calib_people,
    run_calib_refine,
)
from mvmocap.skeletons import BODY25
from mvmocap.triangulate import heldout_errors

__all__ = ["bench_real_calib"]


def _plain_opencv_found(video: Path, board: BoardSpec) -> int:
    """Frames where plain OpenCV's ChArUco detector (inverted markers allowed) finds >= 6 corners."""
    params = cv2.aruco.DetectorParameters()
    params.detectInvertedMarker = True
    detector = cv2.aruco.CharucoDetector(board._charuco(), detectorParams=params)
    found = 0
    for _, rgb in FrameSource(video).frames():
        ids = detector.detectBoard(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))[1]
        found += ids is not None and len(ids) >= 6
    return found


def _caliscope(folder: Path, work: Path) -> dict:
    board = read_board_file(folder / "caliscope_charuco.toml")
    reference = load_calibration(folder / "caliscope_camera_array.toml")
    cams = [n for n in reference.names if n in list_video_cameras(folder)]
    out: dict = {"kind": "caliscope", "cameras": cams}
    start = time.perf_counter()
    try:
        intrinsics = run_calib_intrinsics(folder, board, cams=cams, out=work / "intri.yml")
        out["focal_rel_err"] = {n: round(abs(float(np.mean(np.diag(r.K)[:2] / np.diag(reference[n].K)[:2])) - 1), 4)
                                for n, r in intrinsics.items()}
        out["intrinsics_views_used"] = {n: len(r.per_view) for n, r in intrinsics.items()}
        out["focal_rel_std"] = {n: round(r.focal_std / r.K[0, 0], 4) for n, r in intrinsics.items()}
        out["focal_uncertainty"] = {n: round(r.focal_uncertainty, 4) for n, r in intrinsics.items()}
    except CalibrationError as err:
        out["intrinsics_error"] = str(err)
    out["intrinsics_s"] = round(time.perf_counter() - start, 1)
    write_intrinsics({n: (reference[n].K, reference[n].dist, reference[n].image_size) for n in cams},
                     work / "reference_intri.yml")
    start = time.perf_counter()
    result = run_calib_extrinsics(folder, board, intri=work / "reference_intri.yml", cams=cams,
                                  out=work / "extri.yml")
    out["extrinsics_s"] = round(time.perf_counter() - start, 1)
    pairs = pair_errors(reference, result.rig)
    out["baseline_err_mm"] = round(float(np.median([p["baseline_err_mm"] for p in pairs.values()])), 2)
    out["rel_rot_deg"] = round(float(np.median([p["rel_rot_deg"] for p in pairs.values()])), 3)
    out["pairs"] = pairs
    found = {n: result.views_used[n] + result.views_rejected[n] for n in cams}
    plain = {n: _plain_opencv_found(list_video_cameras(folder)[n], board) for n in cams}
    out["frames_found"] = found
    out["frames_found_plain_opencv"] = plain
    out["found_vs_plain"] = {n: round(found[n] / plain[n], 3) if plain[n] else None for n in cams}
    return out


def _reference_place(folder: Path) -> Path | None:
    """Where the folder's reference calibration is (``calibration/`` or the folder), if anywhere."""
    for place in (folder / "calibration", folder):
        try:
            load_calibration(place)
        except CalibrationError:
            continue
        return place
    return None


def _medians(errors: dict) -> tuple[float, float]:
    """The median centre error (m) and rotation error (degrees) over the cameras of ``similarity_errors``."""
    return (round(float(np.median(list(errors["centre_err_m"].values()))), 4),
            round(float(np.median(list(errors["rot_err_deg"].values()))), 3))


def _people(folder: Path, place: Path, work: Path, height: float | None) -> dict:
    reference = load_calibration(place)
    cams = [n for n in reference.names if n in list_video_cameras(folder)]
    reference = reference.subset(cams)
    write_intrinsics({n: (reference[n].K, reference[n].dist, reference[n].image_size) for n in cams},
                     work / "intri.yml")
    cache = work / "keypoints2d"
    out: dict = {"kind": "reference rig", "cameras": cams}
    rigs: dict[str, CameraRig] = {}
    for label in ("no_height", "height_given"):  # the first run fills the detection cache
        start = time.perf_counter()
        given = None
        if label == "height_given":
            candidates = read_keypoints2d(cache, cams).candidates()
            given = height or measured_height(reference, candidates)
            out["height_m"] = round(given, 3)
        try:
            result, _ = run_calib_people(folder, intri=work / "intri.yml", out=work / f"people_{label}",
                                         height=given, cams=cams, keypoints=cache)
        except CalibrationError as err:
            out[label] = {"error": str(err), "seconds": round(time.perf_counter() - start, 1)}
            continue
        errors = similarity_errors(reference, result.rig)
        rigs[label] = result.rig
        centre, rotation = _medians(errors)
        out[label] = {"people_centre_err_m": centre, "people_rot_err_deg": rotation,
                      "people_scale_ratio": errors["scale_ratio"], "per_camera": errors,
                      "cameras_not_placed": result.unplaced, "checks": result.checks,
                      "seconds": round(time.perf_counter() - start, 1)}
    # What the reference itself achieves on these detections: each camera predicted by the others.
    candidates = read_keypoints2d(cache, cams).candidates()
    subject = choose_subject(reference, candidates).keypoints2d
    errors = heldout_errors(reference, subject, flip=BODY25.flip_index,
                            threshold_px=np.array([0.018 * c.image_diagonal for c in reference]))
    out["reference_heldout_px"] = {n: round(float(np.nanmedian(errors[:, v])), 2) for v, n in enumerate(cams)}
    try:
        refined, _, _ = run_calib_refine(folder, place, out=work / "reference_refined", cams=cams, keypoints=cache)
    except CalibrationError as err:
        out["reference_refined"] = {"error": str(err)}
        return out
    moved = _medians(similarity_errors(reference, refined))
    out["reference_refined"] = {"moved_centre_m": moved[0], "moved_rot_deg": moved[1]}
    if "height_given" in rigs:
        centre, rotation = _medians(similarity_errors(refined, rigs["height_given"]))
        out["reference_refined"] |= {"people_centre_err_m": centre, "people_rot_err_deg": rotation}
    return out


def bench_real_calib(data: str | Path, *, work: str | Path | None = None, height: float | None = None) -> dict:
    """Run every check that applies to the folders of ``data`` (module docstring)."""
    data = Path(data)
    folders = [data] if (data / "videos").is_dir() else sorted(p for p in data.iterdir() if (p / "videos").is_dir())
    if not folders:
        raise CalibrationError(data, "no recording here: expected a folder with videos/, or folders of them")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(work) if work else Path(tmp)
        results = {}
        for folder in folders:
            scratch = base / folder.name
            scratch.mkdir(parents=True, exist_ok=True)
            if (folder / "caliscope_camera_array.toml").is_file() and (folder / "caliscope_charuco.toml").is_file():
                results[folder.name] = _caliscope(folder, scratch)
            elif (place := _reference_place(folder)) is not None:
                # The no-height run goes first: it fills the detection cache the measured height needs.
                results[folder.name] = _people(folder, place, scratch, height)
            else:
                results[folder.name] = {"skipped": "neither a caliscope session nor a capture with a calibration"}
    return results
