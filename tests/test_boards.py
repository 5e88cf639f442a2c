"""Boards as real footage shows them: small in a large image, printed inverted, seen from behind,
in cameras turned by a quarter turn (each failed on real recordings before the searches below)."""

import json

import numpy as np
import pytest

from mvmocap.calib.boards import BoardFinder, BoardSpec, read_board_file
from mvmocap.camera import Camera, CameraRig, load_calibration, write_intrinsics
from mvmocap.cli.main import main
from mvmocap.geometry import axis_angle_to_matrix
from mvmocap.metrics import pair_errors
from mvmocap.synthetic.boards import BoardCamera, BoardPose, board_seen_by, write_board_images


def _portrait_phone() -> Camera:
    K = np.array([[1500.0, 0, 543.5], [0, 1500.0, 959.5], [0, 0, 1]])
    return Camera("phone", K, np.zeros(5), np.eye(3), np.zeros(3), (1088, 1920))


def _corner_error(board: BoardSpec, camera: Camera, pose: BoardPose, detection) -> float:
    """Largest distance (px) of the detected corners from the true ones, in the better of the
    orders the board allows."""
    truth = camera.project(board.object_points() @ pose.R.T + pose.t)
    return min(float(np.abs(detection.corners - truth[ids]).max()) for ids in board.orderings(detection.ids))


def _poses(count, rng, *, distance, back=False, spread=(0.4, 0.8)):
    poses = []
    for _ in range(count):
        R = axis_angle_to_matrix(np.radians(30) * rng.uniform(-1, 1, 3) * np.array([1, 1, 0.3]))
        if back:  # turned to face away from the camera
            R = axis_angle_to_matrix(np.array([0.0, np.pi, 0.0])) @ R
        t = np.array([rng.uniform(-1, 1) * spread[0], rng.uniform(-1, 1) * spread[1], rng.uniform(*distance)])
        poses.append(BoardPose(R, t))
    return poses


def test_a_small_chessboard_in_a_full_resolution_portrait_photo():
    """A 4 x 7 chessboard of 6 cm squares 5.5-7.5 m from a 1088x1920 phone: 12-16 px squares, which
    the 800-px search copy loses."""
    board, camera = BoardSpec("chessboard", 4, 7, 0.06), _portrait_phone()
    rng = np.random.default_rng(0)
    photographer = BoardCamera(board, camera)
    poses = _poses(6, rng, distance=(5.5, 7.5))
    photos = [photographer.photo(p, rng=rng, blur=1.0) for p in poses]
    reduced_only = [board.detect(photo, searches=("reduced",)) for photo in photos]
    assert sum(d is None for d in reduced_only) >= 2  # what the search found before
    finder = BoardFinder(board)
    for photo, pose in zip(photos, poses, strict=True):
        found = finder(photo)
        assert found is not None and _corner_error(board, camera, pose, found) < 0.5
    assert finder.searched == 6 and sum(finder.found_by.values()) == 6


@pytest.mark.parametrize("kind", ["chessboard", "charuco"])
def test_boards_printed_inverted_are_found_without_an_option(kind):
    board = BoardSpec(kind, 5, 4, 0.05, 0.037 if kind == "charuco" else None, "DICT_4X4_50")
    camera = Camera("c", np.array([[700.0, 0, 479.5], [0, 700.0, 269.5], [0, 0, 1]]), np.zeros(5), np.eye(3),
                    np.zeros(3), (960, 540))
    rng = np.random.default_rng(1)
    photographer = BoardCamera(board, camera, inverted=True)
    for pose in _poses(4, rng, distance=(0.8, 1.2), spread=(0.15, 0.08)):
        photo = photographer.photo(pose, rng=rng, blur=0.8)
        found = board.detect(photo)
        assert found is not None
        if kind == "charuco":  # plain OpenCV settings (the old search) see no marker
            assert board.detect(photo, searches=("front",)) is None and found.search == "front inverted"
        assert len(found.ids) >= 6 and _corner_error(board, camera, pose, found) < 0.6


def test_a_charuco_board_seen_from_behind_by_a_camera_turned_a_quarter_turn():
    """A double-sided (or translucent) board turned away from the camera shows its print mirrored;
    its corners are found at their true places, with their ids, in a camera rolled by 90 degrees."""
    board = BoardSpec("charuco", 3, 4, 0.054, 0.0405, "DICT_4X4_1000")
    K = np.array([[700.0, 0, 639.5], [0, 700.0, 359.5], [0, 0, 1]])
    turned = Camera("turned", K, np.array([0.1, -0.05, 0, 0, 0]), axis_angle_to_matrix(np.array([0, 0, np.pi / 2])),
                    np.zeros(3), (1280, 720))
    rng = np.random.default_rng(2)
    photographer = BoardCamera(board, turned, inverted=True)
    for pose in _poses(3, rng, distance=(1.0, 1.4), back=True, spread=(0.1, 0.1)):
        pose = BoardPose(turned.R.T @ pose.R, turned.R.T @ pose.t)  # the same place in front of the lens
        photo = photographer.photo(pose, rng=rng, blur=0.8)
        assert all(board.detect(photo, searches=(s,)) is None for s in ("front", "front inverted"))
        found = board.detect(photo)
        assert found is not None and found.search == "back inverted"
        assert _corner_error(board, turned, pose, found) < 0.6


@pytest.mark.slow
def test_extrinsics_of_an_inverted_board_seen_from_both_sides(tmp_path):
    """Four cameras around a caliscope-style board (written as caliscope's board file), printed
    inverted; the board is turned so that some cameras see it from behind. Every camera is placed."""
    (tmp_path / "charuco.toml").write_text('columns = 4\nrows = 5\ndictionary = "DICT_4X4_1000"\naruco_scale = 0.75\n'
                                           'square_size_override_cm = 5.4\ninverted = true\nunits = "inch"\n')
    board = read_board_file(tmp_path / "charuco.toml")
    assert (board.cols, board.rows, board.dictionary) == (3, 4, "DICT_4X4_1000")
    assert board.square == pytest.approx(0.054) and board.marker == pytest.approx(0.0405)
    K = np.array([[640.0, 0, 319.5], [0, 640.0, 179.5], [0, 0, 1]])
    cameras = []
    for k, angle in enumerate(np.radians([0, 50, 180, 230])):  # two in front of the board's plane, two behind
        centre = 1.3 * np.array([np.sin(angle), 0.0, -np.cos(angle)]) + np.array([0, -0.1 * k, 0])
        z = -centre / np.linalg.norm(centre)
        x = np.cross([0.0, 1.0, 0.0], z)
        x /= np.linalg.norm(x)
        R = np.stack([x, np.cross(z, x), z])
        cameras.append(Camera(f"cam{k}", K, np.zeros(5), R, -R @ centre, (640, 360)))
    rig = CameraRig(cameras)
    rng = np.random.default_rng(3)
    mid = np.array([board.cols * board.square / 2, board.rows * board.square / 2, 0])
    poses = []
    while len(poses) < 14:
        R = axis_angle_to_matrix(np.array([0, rng.uniform(-0.9, 0.9), 0]) + rng.uniform(-0.25, 0.25, 3))
        pose = BoardPose(R, rng.uniform(-0.08, 0.08, 3) - R @ mid)
        seen = board_seen_by(board, rig, pose, from_behind=True)
        if len(seen) >= 2:
            poses.append((pose, seen))
    write_board_images(tmp_path, board, rig, {c.name: [p if c.name in seen else None for p, seen in poses]
                                              for c in rig}, rng=rng, inverted=True)
    write_intrinsics({c.name: (c.K, c.dist, c.image_size) for c in rig}, tmp_path / "intri.yml")
    assert main(["calib", "extrinsics", str(tmp_path), "--board", str(tmp_path / "charuco.toml")]) == 0
    found = load_calibration(tmp_path)
    errors = pair_errors(rig, found)
    assert max(e["baseline_err_mm"] for e in errors.values()) < 5, errors
    assert max(e["rel_rot_deg"] for e in errors.values()) < 0.3, errors
    report = json.loads((tmp_path / "extri_report.json").read_text())["cameras"]
    assert sum(report[c]["found_by"].get("back inverted", 0) for c in rig.names) >= 5, report
    assert all(report[c]["views_used"] >= 2 for c in rig.names), report
