"""``mvmocap bench calib``: board calibration on rendered photographs of known cameras.

Intrinsics: 2 cameras (1280x720, different focal lengths, lens distortion, off-centre principal
points), ``views`` board photographs each (2 of them blurred), for a chessboard and a ChArUco
board. Extrinsics: a ring of ``cameras`` cameras, a chessboard carried through the middle for
``frames`` synchronised frames. People: a person moving for ``people_frames`` frames in front of
``cameras`` cameras (1920x1080), 2D keypoints with 4 px noise and 5% outliers, the true height
given. Figures: ``focal_rel_err`` (median over cameras and boards), ``board_centre_err_mm`` /
``board_rot_err_deg`` (largest over cameras, after the rigid alignment of the camera centres to
the truth), ``people_centre_err_mm`` / ``people_rot_err_deg`` (after a similarity alignment),
``people_scale_err`` (relative size of the camera layout), the seconds of each step.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from mvmocap.calib.boards import BoardSpec
from mvmocap.calib.people import PeopleSettings, calibrate_from_people
from mvmocap.camera import Camera, CameraRig, load_calibration, read_intrinsics, write_intrinsics
from mvmocap.metrics import people_errors, pose_errors
from mvmocap.pipeline.calibration import run_calib_extrinsics, run_calib_intrinsics
from mvmocap.synthetic import make_capture, ring_rig
from mvmocap.synthetic.boards import board_seen_by, boards_in_rig, random_board_poses, write_board_images

__all__ = ["bench_calib"]

_SIZE = (1280, 720)


def bench_calib(views: int = 20, cameras: int = 4, frames: int = 40, people_frames: int = 300, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    focal_errors, seconds = [], {}
    truth = CameraRig([
        Camera("cam1", np.array([[1050.0, 0, 660], [0, 1050.0, 345], [0, 0, 1]]),
               np.array([-0.25, 0.08, 5e-4, -5e-4, 0]), np.eye(3), np.zeros(3), _SIZE),
        Camera("cam2", np.array([[820.0, 0, 625], [0, 820.0, 372], [0, 0, 1]]), np.array([0.04, -0.01, 0, 0, 0]),
               np.eye(3), np.zeros(3), _SIZE)])
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("chessboard", "charuco"):
            board = BoardSpec(kind, 9, 6, 0.04, 0.03 if kind == "charuco" else None)
            root = Path(tmp) / kind
            write_board_images(root, board, truth, {c.name: random_board_poses(board, c, views, rng=rng)
                                                    for c in truth}, rng=rng, blurred=(3, 11))
            start = time.perf_counter()
            run_calib_intrinsics(root, board)
            seconds[f"intrinsics_{kind}"] = round(time.perf_counter() - start, 2)
            found = read_intrinsics(root / "intri.yml")
            focal_errors += [abs(found[c.name][0][0, 0] / c.K[0, 0] - 1) for c in truth]
        board = BoardSpec("chessboard", 7, 5, 0.08)
        rig = ring_rig(cameras, 3.0, image_size=_SIZE, distortion=0.05, seed=seed)
        root = Path(tmp) / "extrinsics"
        poses = boards_in_rig(board, rig, frames, rng=rng)
        write_board_images(root, board, rig, {c.name: [p if c.name in board_seen_by(board, rig, p) else None
                                                       for p in poses] for c in rig}, rng=rng)
        write_intrinsics({c.name: (c.K, c.dist, c.image_size) for c in rig}, root / "intri.yml")
        start = time.perf_counter()
        run_calib_extrinsics(root, board)
        seconds["extrinsics"] = round(time.perf_counter() - start, 2)
        centre_mm, rot_deg = pose_errors(rig, load_calibration(root))
    capture = make_capture(frames=people_frames, cameras=cameras, noise_px=4.0, outlier_ratio=0.05, seed=seed)
    start = time.perf_counter()
    people = calibrate_from_people(capture.keypoints2d, [(c.K, c.dist, c.image_size) for c in capture.rig],
                                   capture.rig.names, PeopleSettings(height=capture.spec.height))
    seconds["people"] = round(time.perf_counter() - start, 2)
    people_mm, people_deg, people_scale = people_errors(capture.rig, people.rig)
    return {"focal_rel_err": round(float(np.median(focal_errors)), 5),
            "focal_rel_err_max": round(float(np.max(focal_errors)), 5),
            "board_centre_err_mm": round(centre_mm, 2), "board_rot_err_deg": round(rot_deg, 3),
            "people_centre_err_mm": round(people_mm, 2), "people_rot_err_deg": round(people_deg, 3),
            "people_scale_err": round(people_scale, 4), "seconds": seconds, "views": views, "cameras": cameras,
            "frames": frames, "people_frames": people_frames}
